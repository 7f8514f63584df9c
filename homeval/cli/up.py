"""``homeval up``: the local platform in one command (first version: store, feed, collect).

It prepares the store, starts the feed simulator unless HOMEVAL_FEED_URL already answers,
collects a round of batches with a progress bar, prints where everything is, and keeps
the services running until Ctrl-C or SIGTERM, when it stops every child it started.
Running it again resumes: the simulator keeps its cursors under HOMEVAL_HOME and the
store keeps each batch once.
"""

from __future__ import annotations

import sys
from typing import Annotated
from urllib.parse import urlsplit

import typer
from rich.table import Table

from homeval.cli.common import console, err_console, fail, load_settings

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1", "0.0.0.0")  # noqa: S104 - names, not binds


def up(
    batches: Annotated[
        int | None,
        typer.Option(min=1, help="Batches to collect [default: HOMEVAL_COLLECT_MAX_BATCHES]"),
    ] = None,
    ready_timeout: Annotated[
        float, typer.Option(min=1, help="Seconds a service may take to answer.")
    ] = 60.0,
) -> None:
    """Start the platform locally: store, feed simulator, a first collect. Ctrl-C stops it."""
    from homeval.cli.data import log_warnings, open_store, run_collect
    from homeval.launcher import (
        LaunchError,
        Service,
        Supervisor,
        signals_raise_interrupt,
        url_answers,
    )

    settings = load_settings()
    home = settings.ensure_home()
    log_warnings()
    _, where = open_store(settings)
    console.print(f"[green]✓[/] store ready: {where}")

    feed_url = settings.feed_url.rstrip("/")
    supervisor = Supervisor(home / "logs")
    code = 0
    with signals_raise_interrupt():
        try:
            if url_answers(f"{feed_url}/health"):
                console.print(f"[green]✓[/] feed already running at {feed_url}")
            else:
                parts = urlsplit(feed_url)
                if parts.hostname not in LOCAL_HOSTS or parts.port is None:
                    fail(
                        f"the feed at {feed_url} does not answer, and homeval up only starts "
                        "a feed on this machine (HOMEVAL_FEED_URL=http://127.0.0.1:PORT)"
                    )
                env = {
                    "HOMEVAL_DATASOURCE_HOST": parts.hostname or "127.0.0.1",
                    "HOMEVAL_DATASOURCE_PORT": str(parts.port),
                    "HOMEVAL_DATASOURCE_STATE_FILE": str(
                        settings.datasource_state_file or home / "datasource-cursors.json"
                    ),
                }
                with console.status("starting the feed simulator ..."):
                    supervisor.start_ready(
                        Service(
                            name="feed",
                            command=[sys.executable, "-m", "datasource"],
                            env=env,
                            ready_url=f"{feed_url}/health",
                            ready_timeout_s=ready_timeout,
                        )
                    )
                console.print(f"[green]✓[/] feed simulator started at {feed_url}")

            run_collect(settings, batches or settings.collect_max_batches, restart=False)

            table = Table(title="homeval is up", show_header=False, title_justify="left")
            table.add_row("feed", feed_url)
            table.add_row("store", where)
            table.add_row("logs", str(home / "logs"))
            console.print(table)
            console.print("Ctrl-C stops everything.")
            supervisor.watch()
        except KeyboardInterrupt:
            console.print("stopping ...")
        except LaunchError as exc:
            err_console.print(f"[bold red]error:[/] {exc}")
            code = 1
        finally:
            supervisor.stop_all()
    console.print("stopped: no service left running")
    raise typer.Exit(code)
