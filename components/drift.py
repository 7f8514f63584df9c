"""Drift: compare new clean rows with the champion's reference, decide whether to train;
serving drift (the listings people priced) is checked and published beside it."""

from kfp.dsl import HTML, Metrics, Output


def drift(
    drift_share_threshold: float,
    pipeline_run: str,
    job_id: str,
    scores: Output[Metrics],
    report: Output[HTML],
) -> bool:
    """Whether training is needed (drift detected, or no production model yet)."""
    from pathlib import Path

    from homeval.drift.report import report_html, scores_as_metrics
    from homeval.platform.settings import Settings
    from homeval.workflow.steps import configure_logging, drift_step

    configure_logging()
    result, decision = drift_step(
        Settings(), drift_share_threshold=drift_share_threshold, pipeline_run=pipeline_run or job_id
    )
    for name, value in scores_as_metrics(result).items():
        scores.log_metric(name, value)
    Path(report.path).write_text(report_html(result), encoding="utf-8")
    return decision.passed
