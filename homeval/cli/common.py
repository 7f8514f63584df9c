"""What every command shares: settings, the console, and how a command fails."""

from __future__ import annotations

from typing import Any, NoReturn

import typer
from rich.console import Console

from homeval.platform.settings import Settings

console = Console()
err_console = Console(stderr=True)


def command_group(**options: Any) -> typer.Typer:
    """A Typer app with plain help: Typer's rich help reads ``[setting]`` and
    ``[default: HOMEVAL_…]`` as markup and drops them ("fetches at most ."), and prints
    ``<bool>`` beside every flag, ``--help`` included."""
    return typer.Typer(rich_markup_mode=None, **options)


def fail(message: str, code: int = 2) -> NoReturn:
    """Stop with a one-line error (exit 2 for bad input, as the CLI promises)."""
    err_console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)


def refuse_taken_port(host: str, port: int, setting: str) -> None:
    """Exit 1 with one line naming the port and its holder when a server cannot bind it."""
    from homeval.platform.ports import PortInUseError, ensure_free

    try:
        ensure_free(host, port, setting)
    except PortInUseError as exc:
        fail(str(exc), code=1)


def load_settings(**overrides: Any) -> Settings:
    """Settings from the environment (command-line ``overrides`` win), or a clear exit 2
    naming the bad variable."""
    from pydantic import ValidationError

    try:
        return Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        problems = "; ".join(
            f"HOMEVAL_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
            for e in exc.errors()
        )
        fail(f"invalid settings: {problems}")
