"""The settings as a Markdown table, generated from ``Settings`` itself.

The README's table is this output between two markers; a test fails when they differ,
so the documentation cannot drift from the code (``make docs`` rewrites it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from pydantic import AliasChoices

from homeval.platform.settings import Settings

START: Final = "<!-- settings-table:start -->"
END: Final = "<!-- settings-table:end -->"


def _variables(name: str, alias: Any) -> str:
    names = [f"HOMEVAL_{name.upper()}"]
    if isinstance(alias, AliasChoices):
        names = [str(choice) for choice in alias.choices]
    return " or ".join(f"`{n}`" for n in names)


def _default(value: Any) -> str:
    if value is None or value == "":
        return "(empty)"
    if isinstance(value, Path):
        return f"`{value}`"
    return f"`{value}`"


def markdown_table() -> str:
    lines = ["| variable | default | what it sets |", "|---|---|---|"]
    for name, field in Settings.model_fields.items():
        description = (field.description or "").replace("|", "\\|")
        lines.append(
            f"| {_variables(name, field.validation_alias)} | {_default(field.default)} | "
            f"{description} |"
        )
    return "\n".join(lines)


def render_into(text: str) -> str:
    """``text`` with the table between the markers replaced by the current one."""
    if START not in text or END not in text:
        raise ValueError(f"the markers {START} and {END} are missing")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{markdown_table()}\n{END}{tail}"


if __name__ == "__main__":
    import sys

    readme = Path(sys.argv[1] if len(sys.argv) > 1 else "README.md")
    readme.write_text(render_into(readme.read_text()))
