"""Collect: pull feed batches into rawdata."""

from kfp.dsl import Metrics, Output


def collect(max_batches: int, pipeline_run: str, job_id: str, metrics: Output[Metrics]) -> int:
    """Rows stored from the feed; ``max_batches`` < 0 means the platform's setting."""
    from homeval.platform.settings import Settings
    from homeval.workflow.steps import collect_step, configure_logging, metrics_of

    configure_logging()
    totals = collect_step(Settings(), max_batches=max_batches, pipeline_run=pipeline_run or job_id)
    for name, value in metrics_of(totals).items():
        metrics.log_metric(name, value)
    return int(totals["inserted"])
