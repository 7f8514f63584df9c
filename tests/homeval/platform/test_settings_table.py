from __future__ import annotations

import pytest

from homeval.platform.settings import Settings
from homeval.platform.settings_table import END, START, markdown_table, render_into
from tests.conftest import REPO


def test_every_setting_is_documented() -> None:
    table = markdown_table()
    for name, field in Settings.model_fields.items():
        assert f"`HOMEVAL_{name.upper()}`" in table
        assert field.description, f"{name} has no description"
    assert "`MLFLOW_TRACKING_URI`" in table  # standard names are listed too


def test_the_readme_table_is_current() -> None:
    readme = (REPO / "README.md").read_text()
    assert render_into(readme) == readme, "README settings table is stale: run `make docs`"


def test_markers_are_required() -> None:
    with pytest.raises(ValueError, match="markers"):
        render_into("no table here")
    assert render_into(f"a\n{START}\nold\n{END}\nb").startswith(f"a\n{START}\n| variable")
