"""Train: fit the candidates, log them to MLflow."""

from kfp.dsl import Metrics, Output


def train(pipeline_run: str, job_id: str, metrics: Output[Metrics]) -> str:
    """The training result as JSON (the promote step's input)."""
    import json

    from homeval.platform.settings import Settings
    from homeval.workflow.steps import configure_logging, metrics_of, train_step

    configure_logging()
    result = train_step(Settings(), pipeline_run=pipeline_run or job_id)
    logged = metrics_of(result["baseline"], "zip_median_")
    for candidate in result["candidates"]:
        logged.update(metrics_of(candidate["metrics"], f"{candidate['kind']}_"))
    for name, value in logged.items():
        metrics.log_metric(name, value)
    return json.dumps(result)
