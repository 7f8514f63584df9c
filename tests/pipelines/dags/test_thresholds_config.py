"""The worker's deployment variables: read, checked, named when wrong (the per-run
thresholds are homeval_contract's: tests/packages/contract/test_thresholds.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from homeval_trigger.config import ConfigError, TriggerConfig

from tests.pipelines.dags.conftest import PIPELINE_PACKAGE


def test_config_defaults_need_no_environment() -> None:
    config = TriggerConfig.from_env({})
    assert config.platform_bin == "homeval"
    assert config.pipeline_package == PIPELINE_PACKAGE
    assert config.kfp_host == ""
    assert config.mode == "local"
    assert config.schedule == "@daily"
    assert config.database_url == ""


def test_config_reads_the_homeval_variables() -> None:
    config = TriggerConfig.from_env(
        {
            "HOMEVAL_PLATFORM_BIN": "/opt/platform/bin/homeval",
            "HOMEVAL_PIPELINE_PACKAGE": "/opt/airflow/pipelines/p.yaml",
            "HOMEVAL_KFP_HOST": "http://ml-pipeline.kubeflow:8888",
            "HOMEVAL_KFP_EXPERIMENT": "nightly",
            "HOMEVAL_KFP_POLL_S": "2.5",
            "HOMEVAL_DAG_RUN_TIMEOUT_S": "600",
            "HOMEVAL_DAG_SCHEDULE": "0 3 * * *",
            "HOMEVAL_DAG_MODE": "cluster",
            "HOMEVAL_DATABASE_URL": " postgresql://homeval@postgres:5432/homeval ",
        }
    )
    assert config.platform_bin == "/opt/platform/bin/homeval"
    assert config.pipeline_package == Path("/opt/airflow/pipelines/p.yaml")
    assert config.kfp_host == "http://ml-pipeline.kubeflow:8888"
    assert (config.kfp_experiment, config.kfp_poll_s, config.run_timeout_s) == ("nightly", 2.5, 600)
    assert (config.schedule, config.mode) == ("0 3 * * *", "cluster")
    assert config.database_url == "postgresql://homeval@postgres:5432/homeval"


def test_schedule_none_means_manual_runs_only() -> None:
    assert TriggerConfig.from_env({"HOMEVAL_DAG_SCHEDULE": "none"}).schedule is None


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"HOMEVAL_DAG_MODE": "k8s"}, "HOMEVAL_DAG_MODE='k8s' must be one of local, cluster"),
        ({"HOMEVAL_KFP_POLL_S": "soon"}, "HOMEVAL_KFP_POLL_S='soon' is not a number"),
        ({"HOMEVAL_DAG_RUN_TIMEOUT_S": "0"}, "HOMEVAL_DAG_RUN_TIMEOUT_S='0' must be a positive"),
        ({"HOMEVAL_KFP_POLL_S": "nan"}, "must be a positive"),
    ],
)
def test_bad_variables_are_named(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        TriggerConfig.from_env(env)
