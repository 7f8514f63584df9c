"""Per-run thresholds and the worker's deployment variables: read, checked, passed on."""

from __future__ import annotations

from pathlib import Path

import pytest
from homeval_trigger.config import ConfigError, TriggerConfig
from homeval_trigger.thresholds import ThresholdError, Thresholds

from tests.dags.conftest import PIPELINE_PACKAGE


def test_unset_thresholds_leave_the_platform_settings_alone() -> None:
    assert Thresholds().as_env() == {}
    assert Thresholds.from_params({"mode": "local", "min_clean_rows": None}).as_dict() == {}


def test_set_thresholds_become_the_platform_variables() -> None:
    thresholds = Thresholds.from_params(
        {
            "min_clean_rows": 500,
            "min_teacher_share": 0.75,
            "drift_share_threshold": 1,
            "collect_max_batches": 3.0,
            "kfp_host": "ignored",
        }
    )
    assert thresholds.as_env() == {
        "HOMEVAL_MIN_CLEAN_ROWS": "500",
        "HOMEVAL_MIN_TEACHER_SHARE": "0.75",
        "HOMEVAL_DRIFT_SHARE_THRESHOLD": "1.0",
        "HOMEVAL_COLLECT_MAX_BATCHES": "3",
    }


def test_cluster_arguments_are_the_thresholds_the_pipeline_takes() -> None:
    thresholds = Thresholds(min_clean_rows=10, min_teacher_share=0.5)
    arguments, refused = thresholds.as_arguments({"min_clean_rows", "other"})
    assert arguments == {"min_clean_rows": 10}
    assert refused == ["min_teacher_share"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"min_clean_rows": -1}, r"min_clean_rows=-1 is outside"),
        ({"min_clean_rows": 2.5}, "min_clean_rows must be a whole number"),
        ({"min_clean_rows": "100"}, "min_clean_rows must be a number"),
        ({"min_teacher_share": 1.2}, "min_teacher_share=1.2 is outside"),
        ({"drift_share_threshold": True}, "drift_share_threshold must be a number"),
        ({"collect_max_batches": 0}, "collect_max_batches=0 is outside"),
    ],
)
def test_bad_thresholds_are_named(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ThresholdError, match=message):
        Thresholds(**kwargs)  # type: ignore[arg-type]


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
