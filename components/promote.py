"""Promote: register the best candidate, give it the alias only if it beats the champion."""

from kfp.dsl import Metrics, Output


def promote(train_result: str, pipeline_run: str, job_id: str, metrics: Output[Metrics]) -> str:
    """The promotion decision as JSON."""
    import json

    from homeval.platform.settings import Settings
    from homeval.workflow.steps import configure_logging, metrics_of, promote_step

    configure_logging()
    decision = promote_step(
        Settings(), train_result=json.loads(train_result), pipeline_run=pipeline_run or job_id
    )
    logged = {
        "promoted": float(decision["promoted"]),
        **metrics_of(decision["challenger_metrics"], "challenger_"),
        **metrics_of(decision["champion_metrics"], "champion_"),
    }
    for name, value in logged.items():
        metrics.log_metric(name, value)
    return json.dumps(decision)
