"""``homeval pipeline``: compile the KFP pipeline, run it locally, or submit it to a cluster.

``run --json`` is a contract with the Airflow DAG: logs and progress go to stderr, and the
last line of stdout is one JSON object ``{"run_id", "state", "decisions": {...}}``; the
exit code is 0 when the pipeline succeeded (trained or skipped) and 1 when it failed.
"""

from __future__ import annotations

import json
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import typer
from homeval_contract.thresholds import (
    COLLECT_MAX_BATCHES,
    DRIFT_SHARE_THRESHOLD,
    MIN_CLEAN_ROWS,
    MIN_TEACHER_SHARE,
    Threshold,
    Thresholds,
)
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from homeval.cli.common import command_group, console, err_console, fail, load_settings

app = command_group(help="The KFP pipeline: compile, run locally, submit.", no_args_is_help=True)


def _threshold_option(threshold: Threshold) -> Any:
    """A run's override of a gate, with the bounds the platform and the DAG check too."""
    return typer.Option(
        None,
        min=threshold.low,
        max=threshold.high,
        help=f"{threshold.description.rstrip('.')} [default: {threshold.env}]",
    )


_BATCHES = _threshold_option(COLLECT_MAX_BATCHES)
_MIN_ROWS = _threshold_option(MIN_CLEAN_ROWS)
_TEACHER = _threshold_option(MIN_TEACHER_SHARE)
_DRIFT = _threshold_option(DRIFT_SHARE_THRESHOLD)


def _arguments(
    batches: int | None, min_rows: int | None, teacher: float | None, drift: float | None
) -> dict[str, Any]:
    """Pipeline parameters for the thresholds given; the others stay the platform's."""
    return Thresholds(
        collect_max_batches=batches,
        min_clean_rows=min_rows,
        min_teacher_share=teacher,
        drift_share_threshold=drift,
    ).as_dict()


@app.command("compile")
def compile_command(
    image: str = typer.Option(None, help="Component image [default: HOMEVAL_COMPONENT_IMAGE]"),
    output: Path = typer.Option(
        None, help="Where to write [default: pipelines/house_price_pipeline.yaml]"
    ),
) -> None:
    """Write the compiled pipeline (KFP IR YAML) that clusters run."""
    from pipelines.compile import PACKAGE, compile_pipeline

    settings = load_settings()
    try:
        path = compile_pipeline(image or settings.component_image, output or PACKAGE)
    except ValueError as exc:
        fail(str(exc))
    except OSError as exc:
        fail(f"cannot write {output or PACKAGE}: {exc}")
    console.print(f"compiled pipeline written to {path}")


@app.command("run")
def run_command(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON result line on stdout."),
    collect_max_batches: int = _BATCHES,
    min_clean_rows: int = _MIN_ROWS,
    min_teacher_share: float = _TEACHER,
    drift_share_threshold: float = _DRIFT,
    log: Path = typer.Option(
        None, help="Append the steps' logs to this file instead of the terminal."
    ),
) -> None:
    """Run the whole pipeline on this machine with KFP's local runner."""
    from pipelines.local_run import TASKS, run_locally

    settings = load_settings()
    arguments = _arguments(
        collect_max_batches, min_clean_rows, min_teacher_share, drift_share_threshold
    )
    try:
        log_file = log.open("a", encoding="utf-8") if log is not None else None
    except OSError as exc:
        fail(f"cannot write the log {log}: {exc}")
    with (
        log_file or nullcontext(),
        Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=err_console,
            transient=False,
        ) as progress,
    ):
        rows = {name: progress.add_task(f"{name}: waiting", total=1, start=False) for name in TASKS}

        def on_line(line: str) -> None:
            if log_file is not None:
                log_file.write(line + "\n")
                log_file.flush()
            else:
                progress.console.print(line, markup=False, highlight=False, soft_wrap=True)

        def on_task(task: str, status: str) -> None:
            if task not in rows:
                return
            progress.update(rows[task], description=f"{task}: {status.lower()}")
            if status == "RUNNING":
                progress.start_task(rows[task])
            else:
                progress.update(rows[task], completed=1)
                progress.stop_task(rows[task])

        result = run_locally(settings, arguments, on_line=on_line, on_task=on_task)
        for name, row in rows.items():  # steps behind a closed gate never started
            if not progress.tasks[row].started:
                progress.update(row, description=f"{name}: not run", completed=1)
    if result.error:
        err_console.print(f"[bold red]pipeline failed:[/] {result.error}", soft_wrap=True)
    if as_json:
        print(json.dumps(result.contract()), flush=True)
    else:
        _print_decisions(result.run_id, result.state, result.decisions.to_dict())
    raise typer.Exit(0 if result.succeeded else 1)


def _print_decisions(run_id: str, state: str, decisions: dict[str, Any]) -> None:
    table = Table(title=f"pipeline run {run_id}: {state}", show_header=False)
    for name, value in decisions.items():
        table.add_row(name.replace("_", " "), "-" if value is None else str(value))
    console.print(table)


@app.command("submit")
def submit_command(
    host: str = typer.Option(
        None, help="KFP API, e.g. http://ml-pipeline-ui [default: HOMEVAL_KFP_HOST]"
    ),
    wait: bool = typer.Option(
        False, "--wait", help="Wait for the run; exit 1 if it fails or outlives --timeout."
    ),
    package: Path = typer.Option(None, help="Compiled pipeline [default: the committed one]"),
    experiment: str = typer.Option("homeval", help="KFP experiment of the run."),
    run_name: str = typer.Option(None, help="Name of the run [default: homeval <time>]"),
    timeout: float = typer.Option(
        3600.0, min=1.0, help="Seconds to wait with --wait; then the run is terminated."
    ),
    poll: float = typer.Option(10.0, min=0.05, help="Seconds between state checks."),
    collect_max_batches: int = _BATCHES,
    min_clean_rows: int = _MIN_ROWS,
    min_teacher_share: float = _TEACHER,
    drift_share_threshold: float = _DRIFT,
) -> None:
    """Send the compiled pipeline to a KFP API with kfp.Client.

    With --wait, a run still going after --timeout is terminated, as the Airflow DAG does
    (both call ``homeval_contract.kfp_run.submit_run``).
    """
    from datetime import UTC, datetime

    from homeval_contract.kfp_run import KfpRun, SubmitError, package_parameters, submit_run

    from pipelines.compile import PACKAGE

    settings = load_settings()
    host = host or settings.kfp_host
    if not host:
        fail("no KFP host: pass --host or set HOMEVAL_KFP_HOST")
    if not host.startswith(("http://", "https://")):  # kfp would guess https and warn
        fail(f"--host / HOMEVAL_KFP_HOST must start with http:// or https://, got {host!r}")
    package = package or PACKAGE
    try:
        package_parameters(package)
    except SubmitError as exc:
        fail(str(exc))
    arguments = _arguments(
        collect_max_batches, min_clean_rows, min_teacher_share, drift_share_threshold
    )
    name = run_name or f"homeval {datetime.now(UTC):%Y-%m-%d %H:%M:%S}"

    def on_state(result: KfpRun) -> None:
        tasks = ", ".join(f"{k}={v}" for k, v in sorted(result.tasks.items()))
        err_console.print(
            f"run {result.run_id}: {result.state}" + (f" ({tasks})" if tasks else ""),
            soft_wrap=True,
            highlight=False,
        )

    try:
        with err_console.status(f"submitting to {host}"):
            result = submit_run(
                host,
                package,
                arguments,
                experiment=experiment,
                run_name=name,
                wait=wait,
                timeout_s=timeout,
                poll_s=poll,
                on_state=on_state,
            )
    except SubmitError as exc:
        fail(str(exc), code=1)
    console.print(f"run {result.run_id} ({name}) on {host}: {result.state}")
    if wait and not result.succeeded:
        fail(
            f"run {result.run_id} ended {result.state}"
            + (f": {result.error}" if result.error else ""),
            code=1,
        )
