"""``homeval drift``: drift checks on demand (the pipeline's drift step runs them too).

``homeval drift serving`` compares the listings people priced in the UI with what the
production model learnt from, keeps the report in ``HOMEVAL_HOME/reports/serving`` and
publishes it to MLflow, where the UI's Drift tab reads it.  Run it from cron to refresh
the report between pipeline runs.  ``--json`` prints what was found as one JSON object.
"""

from __future__ import annotations

import json

import typer

from homeval.cli.common import command_group, console, fail, load_settings

app = command_group(help="Drift checks on demand.", no_args_is_help=True)


@app.command("serving")
def serving(
    min_rows: int | None = typer.Option(
        None, min=1, help="Priced listings needed [default: HOMEVAL_UI_SERVING_DRIFT_MIN_ROWS]"
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Check serving drift now and publish its report (exit 0 whether or not it drifted)."""
    import sqlalchemy as sa

    from homeval.data.store import StoreError
    from homeval.drift.report import verdict
    from homeval.drift.result import DriftError
    from homeval.workflow.serving_drift import serving_drift_step

    settings = load_settings(ui_serving_drift_min_rows=min_rows)
    try:
        found = serving_drift_step(settings)
    except (StoreError, sa.exc.SQLAlchemyError, DriftError) as exc:
        fail(f"serving drift not checked: {exc}", code=1)
    result = found.result
    if as_json:
        typer.echo(json.dumps(result.to_dict(), default=str))
        return
    said = verdict(result.detected, result.share, result.share_threshold, result.price_moved)
    console.print(said if result.detected is None else f"{said} {result.reason}")
    if result.detected is None:
        console.print(result.reason)
    if result.report_path is not None:
        console.print(f"report: {result.report_path}")
