"""The ``homeval`` command: wires the command groups; each lives in its own module."""

from __future__ import annotations

from typing import Annotated

import typer

from homeval import __version__
from homeval.cli import data, db, drift, up
from homeval.cli import pipeline as pipeline_command
from homeval.cli import serve as serve_command
from homeval.cli import ui as ui_command
from homeval.cli.common import command_group

app = command_group(
    name="homeval",
    help="homeval: predict US house prices from Realtor.com listings, end to end.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"homeval {__version__}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Print homeval's version and exit.",
            callback=_print_version,
            is_eager=True,
        ),
    ] = False,
) -> None:
    """Options of the command itself (before any subcommand)."""


app.add_typer(db.app, name="db")
app.add_typer(pipeline_command.app, name="pipeline")
app.add_typer(drift.app, name="drift")
app.add_typer(data.app)  # generate, collect
app.add_typer(data.datasource_app, name="datasource")
app.command("up")(up.up)
app.command("serve")(serve_command.serve)
app.command("ui")(ui_command.ui)


def main() -> None:
    """Console-script entry point."""
    app()
