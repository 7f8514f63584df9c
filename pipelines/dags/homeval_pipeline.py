"""Airflow DAG ``homeval_pipeline``: start the homeval pipeline on a schedule.

Airflow only schedules; KFP runs the pipeline (collect -> process -> drift -> train ->
promote).  ``mode`` picks where:

* ``local``: runs ``homeval pipeline run --json`` in the platform's own environment
  (KFP's local runner); its logs stream into this task's log, its decisions go to XCom.
* ``cluster``: submits the compiled ``house_price_pipeline.yaml`` to the KFP API with
  ``kfp.Client``, waits, and fails the task when the run fails; at the deadline
  (HOMEVAL_DAG_RUN_TIMEOUT_S) the KFP run is terminated, as ``homeval pipeline submit
  --wait`` does: both use ``homeval_contract`` (packages/contract).

Threshold params left empty use the platform's own settings.  Deployment variables
(read by ``homeval_trigger.config``): HOMEVAL_PLATFORM_BIN, HOMEVAL_PIPELINE_PACKAGE,
HOMEVAL_KFP_HOST, HOMEVAL_KFP_EXPERIMENT, HOMEVAL_KFP_POLL_S, HOMEVAL_DAG_RUN_TIMEOUT_S,
HOMEVAL_DAG_SCHEDULE, HOMEVAL_DAG_MODE.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import Param, TriggerRule, dag, get_current_context, task
from homeval_contract.thresholds import THRESHOLDS, Thresholds
from homeval_trigger.config import MODES, TriggerConfig
from homeval_trigger.kfp_run import ClusterRunError, submit_and_wait
from homeval_trigger.local_run import PlatformRunError, run_platform_pipeline

# parse-time configuration: it shapes the DAG (schedule, defaults of params, timeouts);
# each task reads the worker's environment again when it runs (runtime()).
CONFIG = TriggerConfig.from_env()
# the task may overrun the pipeline's own deadline a little while it stops the child
TASK_TIMEOUT = timedelta(seconds=CONFIG.run_timeout_s + 120)
OUTCOME_KEY = "outcome"
RUNNERS = ("run_local", "run_on_kfp")

log = logging.getLogger("homeval_pipeline")


def runtime() -> TriggerConfig:
    """The worker's configuration now (the DAG processor's environment may differ)."""
    return TriggerConfig.from_env()


PARAMS: dict[str, Param] = {
    "mode": Param(
        CONFIG.mode,
        type="string",
        enum=list(MODES),
        description="local: KFP's local runner in the platform's environment; "
        "cluster: submit the compiled pipeline to the KFP API.",
    ),
    # the gates a run may override: empty means the platform's own setting
    **{name: Param(None, **t.json_schema()) for name, t in THRESHOLDS.items()},
    "kfp_host": Param(CONFIG.kfp_host, type="string", description="KFP API (cluster mode)."),
    "pipeline_package": Param(
        str(CONFIG.pipeline_package),
        type="string",
        minLength=1,
        description="Compiled pipeline submitted in cluster mode.",
    ),
}


@dag(
    dag_id="homeval_pipeline",
    schedule=CONFIG.schedule,
    start_date=datetime(2025, 1, 1, tzinfo=UTC),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 0},
    params=PARAMS,
    tags=["homeval", "kfp"],
    doc_md=__doc__,
)
def homeval_pipeline() -> None:
    @task.branch
    def choose_runner() -> str:
        mode = get_current_context()["params"]["mode"]
        log.info("mode %s", mode)
        return RUNNERS[0] if mode == "local" else RUNNERS[1]

    @task(execution_timeout=TASK_TIMEOUT)
    def run_local() -> dict[str, Any]:
        context = get_current_context()
        ti = context["ti"]
        config = runtime()
        thresholds = Thresholds.from_params(context["params"])
        try:
            outcome = run_platform_pipeline(
                config.platform_bin, thresholds, log, timeout_s=config.run_timeout_s
            )
        except PlatformRunError as exc:
            if exc.outcome is not None:
                ti.xcom_push(key=OUTCOME_KEY, value={"mode": "local", **exc.outcome.to_dict()})
                log.error("%s", exc.outcome.summary())
            log.error("local pipeline run failed: %s", exc)
            raise
        log.info("%s", outcome.summary())
        result = {"mode": "local", **outcome.to_dict()}
        ti.xcom_push(key=OUTCOME_KEY, value=result)
        return result

    @task(execution_timeout=TASK_TIMEOUT)
    def run_on_kfp() -> dict[str, Any]:
        context = get_current_context()
        ti = context["ti"]
        params = context["params"]
        config = runtime()

        def submitted(run_id: str) -> None:
            ti.xcom_push(key="kfp_run_id", value=run_id)

        try:
            outcome = submit_and_wait(
                host=str(params["kfp_host"]).strip(),
                package=Path(params["pipeline_package"]).expanduser(),
                thresholds=Thresholds.from_params(params),
                experiment=config.kfp_experiment,
                run_name=f"homeval {context['run_id']}",
                poll_s=config.kfp_poll_s,
                timeout_s=config.run_timeout_s,
                log=log,
                on_submitted=submitted,
                database_url=config.database_url,
            )
        except ClusterRunError as exc:
            if exc.outcome is not None:
                ti.xcom_push(key=OUTCOME_KEY, value={"mode": "cluster", **exc.outcome.to_dict()})
            log.error("cluster pipeline run failed: %s", exc)
            raise
        result = {"mode": "cluster", **outcome.to_dict()}
        ti.xcom_push(key=OUTCOME_KEY, value=result)
        return result

    @task(trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS)
    def report_outcome() -> dict[str, Any]:
        """One place (this task's XCom) that holds the outcome whichever runner ran."""
        ti = get_current_context()["ti"]
        pulled = ti.xcom_pull(task_ids=list(RUNNERS), key=OUTCOME_KEY) or []
        outcome = next((value for value in pulled if value), None)
        if outcome is None:
            raise RuntimeError(f"no outcome in XCom from {' or '.join(RUNNERS)}")
        log.info(
            "homeval pipeline (%s) run %s: %s", outcome["mode"], outcome["run_id"], outcome["state"]
        )
        if outcome.get("decisions"):
            log.info("decisions: %s", outcome["decisions"])
        return dict(outcome)

    runners = [run_local(), run_on_kfp()]
    choose_runner() >> runners
    runners >> report_outcome()


homeval_pipeline()
