"""``homeval up``: the whole platform on this machine, in one command.

It prepares the store, starts the feed simulator (unless HOMEVAL_FEED_URL already
answers), then MLflow's UI, the predictor and the web UI together, runs the pipeline
until a model is in production (the predictor picks it up from the registry's alias),
prints every address once all answer, then re-runs the pipeline on a schedule while they
serve.  Ctrl-C or SIGTERM stops every process it started.  Running it again
resumes: the store (with the collector's place in the feed), the registry and the
simulator's cursors live under HOMEVAL_HOME, and a model already in production is served
at once.

``--data-only`` is the first half: feed and a round of collection, nothing trained.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from homeval.cli.common import console, err_console, fail, load_settings

if TYPE_CHECKING:
    from homeval.platform.launcher import Supervisor
    from homeval.platform.services import PipelineSchedule
    from homeval.platform.settings import Settings


def up(
    batches: Annotated[
        int | None,
        typer.Option(
            min=1, help="Batches --data-only collects [default: HOMEVAL_COLLECT_MAX_BATCHES]"
        ),
    ] = None,
    data_only: Annotated[
        bool, typer.Option("--data-only", help="Start the feed and collect; train nothing.")
    ] = False,
    retrain_every: Annotated[
        float | None,
        typer.Option(
            min=0,
            help="Seconds between pipeline runs, 0: none [default: HOMEVAL_UP_PIPELINE_INTERVAL_S]",
        ),
    ] = None,
    ready_timeout: Annotated[
        float, typer.Option(min=1, help="Seconds a service may take to answer.")
    ] = 60.0,
) -> None:
    """Start the platform locally: feed, MLflow, pipeline, predictor and UI. Ctrl-C stops it."""
    from homeval.cli.data import log_warnings, run_collect
    from homeval.platform.launcher import LaunchError, Supervisor, signals_raise_interrupt
    from homeval.platform.services import ProductionQuery

    settings = load_settings()
    home = settings.ensure_home()
    log_warnings()

    supervisor = Supervisor(home / "logs")
    schedule: PipelineSchedule | None = None
    query: ProductionQuery | None = None
    addresses = Table(title="homeval is up", show_header=False, title_justify="left")
    code = 0
    with signals_raise_interrupt():
        try:
            if not data_only:  # MLflow is read in a child while the store and feed get ready
                query = ProductionQuery()
            where = _prepare_store(settings, here=data_only)
            addresses.add_row("feed", _start_feed(settings, supervisor, ready_timeout))
            if data_only:
                run_collect(settings, batches or settings.collect_max_batches, restart=False)
            else:
                interval = (
                    settings.up_pipeline_interval_s if retrain_every is None else retrain_every
                )
                assert query is not None
                schedule = _start_platform(
                    settings, supervisor, ready_timeout, interval, addresses, query.version()
                )
            addresses.add_row("store", where)
            addresses.add_row("logs", str(home / "logs"))
            console.print(addresses)
            console.print("Ctrl-C stops everything.")
            supervisor.watch()
        except KeyboardInterrupt:
            console.print("stopping ...")
        except LaunchError as exc:
            err_console.print(f"[bold red]error:[/] {exc}")
            code = 1
        finally:
            if query is not None:
                query.close()
            if schedule is not None:
                schedule.stop()
            supervisor.stop_all()
    console.print("stopped: no service left running")
    raise typer.Exit(code)


def _prepare_store(settings: Settings, *, here: bool) -> str:
    """``homeval db init`` in a child process, its words on this terminal: the store's
    module needs pandas, which would stay in this supervisor's memory (~90 MB) for as long
    as the platform runs.  Exits with the child's code when the store is not ready.
    ``here``: this process collects (``--data-only``) and loads the store's module anyway,
    so the store is opened in it instead."""
    import subprocess

    from homeval.cli.data import prepare_store, store_address
    from homeval.platform.services import HOMEVAL

    if here:
        return prepare_store(settings)
    where = store_address(settings)
    done = subprocess.run([*HOMEVAL, "db", "init"], check=False)
    if done.returncode != 0:
        raise typer.Exit(done.returncode)
    return where


def _start_feed(settings: Settings, supervisor: Supervisor, ready_timeout: float) -> str:
    from homeval.platform.launcher import url_answers
    from homeval.platform.services import feed_service, is_local

    feed_url = settings.feed_url.rstrip("/")
    if url_answers(f"{feed_url}/health"):
        console.print(f"[green]✓[/] feed already running at {feed_url}")
    elif not is_local(feed_url):
        fail(
            f"the feed at {feed_url} does not answer, and homeval up only starts "
            "a feed on this machine (HOMEVAL_FEED_URL=http://127.0.0.1:PORT)"
        )
    else:
        with console.status("starting the feed simulator ..."):
            supervisor.start_ready(feed_service(settings, ready_timeout))
        console.print(f"[green]✓[/] feed simulator started at {feed_url}")
    return feed_url


def _start_platform(
    settings: Settings,
    supervisor: Supervisor,
    ready_timeout: float,
    interval: float,
    addresses: Table,
    current: str | None,
) -> PipelineSchedule | None:
    """MLflow's UI, the predictor and the web UI started together, a model in production,
    then the schedule.  ``current`` is the version in production, read before: reading it
    creates (and migrates) a new MLflow store once, where three processes opening it
    together would race on its schema migration and one of them die."""
    from homeval.platform.services import (
        PipelineSchedule,
        mlflow_service,
        mlflow_ui_url,
        predictor_service,
        ui_service,
        ui_url,
    )

    # everything starts at once, before any training (a taken port is refused here,
    # by the supervisor): the predictor waits for a production model by itself (it polls
    # the alias), the web UI and MLflow's need nothing from the pipeline, and a second
    # `up` serves within seconds instead of one service after another
    mlflow = mlflow_service(settings, ready_timeout)
    if mlflow is not None:
        supervisor.start(mlflow)
        addresses.add_row("MLflow UI", mlflow_ui_url(settings))
    else:
        addresses.add_row("MLflow", settings.mlflow_tracking_uri)
    supervisor.start(predictor_service(settings, ready_timeout))
    supervisor.start(ui_service(settings, ready_timeout))
    _first_model(settings, current)
    with console.status("waiting for the predictor, the web UI and MLflow's UI ..."):
        for name in ("predictor", "ui", "mlflow"):
            if name in supervisor.services:
                supervisor.wait_ready(name)
    console.print(f"[green]✓[/] predictor serving at {settings.predictor_url}")
    model = f"{settings.predictor_url}/v1/models/{settings.model_name}"
    addresses.add_row("web UI", ui_url(settings))
    addresses.add_row("predictor", f"{model}:predict  {model}:explain")
    addresses.add_row("metrics", f"{settings.predictor_url}/metrics  {ui_url(settings)}/metrics")
    if interval <= 0:
        return None
    log_path = settings.home / "logs" / "pipeline.log"
    schedule = PipelineSchedule(
        interval, log_path, lambda outcome: console.print(f"[cyan]•[/] {outcome.summary()}")
    )
    schedule.start()
    addresses.add_row("pipeline", f"runs every {interval:g} s, log {log_path}")
    return schedule


def _first_model(settings: Settings, current: str | None) -> None:
    """Run the pipeline until a model holds the production alias (at once if one does)."""
    from homeval.platform.launcher import LaunchError
    from homeval.platform.services import production_version, run_pipeline

    if current is not None:
        console.print(f"[green]✓[/] model v{current} is in production: serving it")
        return
    for attempt in range(1, settings.up_first_model_runs + 1):
        log_path = settings.home / "logs" / "pipeline.log"
        console.print(f"training a first model: pipeline run {attempt} (step logs: {log_path})")
        outcome = run_pipeline(log_path)  # progress on this terminal; Ctrl-C reaches it too
        if not outcome.succeeded:
            raise LaunchError(f"{outcome.summary()}; see {log_path}")
        console.print(f"[cyan]•[/] {outcome.summary()}")
        if production_version() is not None:
            return
    raise LaunchError(
        f"no model reached production after {settings.up_first_model_runs} pipeline runs: "
        "the feed may not hold enough rows for the gates (see the summaries above)"
    )
