"""Every command's help prints what its options say: no flag typed as ``<bool>``, no text
in brackets swallowed as markup (``fetches at most .``), every option's own help whole."""

from __future__ import annotations

import re
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from homeval.cli import app

ROOT = typer.main.get_command(app)


def command_paths(command: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command below ``command`` (Typer's own click: groups have ``commands``)."""
    found = [path]
    for name, sub in getattr(command, "commands", {}).items():
        found += command_paths(sub, (*path, name))
    return found


def command_at(path: tuple[str, ...]) -> Any:
    command = ROOT
    for name in path:
        command = command.commands[name]
    return command


PATHS = command_paths(ROOT)


def test_every_command_is_reached() -> None:
    assert ("pipeline", "run") in PATHS
    assert ("datasource", "serve") in PATHS
    assert len(PATHS) > 12


@pytest.mark.parametrize("path", PATHS, ids=lambda p: " ".join(p) or "homeval")
def test_help_says_what_the_options_say(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(app, [*path, "--help"], env={"COLUMNS": "2000"})
    assert result.exit_code == 0, result.output
    text = result.output
    assert "<bool>" not in text
    assert not re.search(r"\w \.(\s|$)", text), "a space before a full stop: swallowed text"
    flat = " ".join(text.split())
    for param in command_at(path).params:
        own = getattr(param, "help", None)
        if own:
            assert " ".join(own.split()) in flat, f"{param.name}: {own!r} is not shown whole"
