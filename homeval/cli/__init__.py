"""The ``homeval`` command: wires the command groups; each lives in its own module."""

from __future__ import annotations

import typer

from homeval.cli import data, db, up
from homeval.cli import pipeline as pipeline_command
from homeval.cli import serve as serve_command
from homeval.cli import ui as ui_command

app = typer.Typer(
    name="homeval",
    help="homeval: predict US house prices from Realtor.com listings, end to end.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)
app.add_typer(db.app, name="db")
app.add_typer(pipeline_command.app, name="pipeline")
app.add_typer(data.app)  # generate, collect
app.add_typer(data.datasource_app, name="datasource")
app.command("up")(up.up)
app.command("serve")(serve_command.serve)
app.command("ui")(ui_command.ui)


def main() -> None:
    """Console-script entry point."""
    app()
