"""What every command shares: settings, the console, and how a command fails."""

from __future__ import annotations

from typing import Any, NoReturn

import typer
from rich.console import Console

from homeval.settings import Settings

console = Console()
err_console = Console(stderr=True)


def fail(message: str, code: int = 2) -> NoReturn:
    """Stop with a one-line error (exit 2 for bad input, as the CLI promises)."""
    err_console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(code)


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
