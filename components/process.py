"""Process: clean the raw rows not processed yet."""

from kfp.dsl import Metrics, Output


def process(pipeline_run: str, job_id: str, metrics: Output[Metrics]) -> int:
    """Clean rows in the store after this step."""
    from homeval.platform.settings import Settings
    from homeval.workflow.steps import configure_logging, metrics_of, process_step

    configure_logging()
    summary = process_step(Settings(), pipeline_run=pipeline_run or job_id)
    logged = {**metrics_of(summary), **metrics_of(summary["dropped"], "dropped_")}
    for name, value in logged.items():
        metrics.log_metric(name, value)
    return int(summary["clean_total"])
