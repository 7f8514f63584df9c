"""The generator's calibration file is what the calibration script writes from the real rows."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import REPO

SCRIPT = REPO / "scripts/calibrate_generator.py"
COMMITTED = REPO / "homeval/data/calibration.json"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("calibrate_generator", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_the_committed_calibration_is_reproducible(
    realtor_national_files: list[Path], tmp_path: Path
) -> None:
    committed = json.loads(COMMITTED.read_text())
    source = committed["source"]
    (csv,) = [p for p in realtor_national_files if p.name == source["file"]]
    assert hashlib.sha256(csv.read_bytes()).hexdigest() == source["sha256"]
    assert source["command"].startswith("uv run python scripts/calibrate_generator.py")

    written = tmp_path / "calibration.json"
    assert _load().main([str(csv), "--output", str(written)]) == 0
    assert written.read_text() == COMMITTED.read_text()


def test_the_calibration_covers_every_state_and_says_where_its_numbers_come_from() -> None:
    from homeval.data.schema import STATES

    states = json.loads(COMMITTED.read_text())["states"]
    assert list(states) == list(STATES)
    for name in ("Massachusetts", "New Jersey", "Pennsylvania"):  # kept out of the sample
        assert states[name]["rows"] == 0
        assert states[name]["levels_from"] == "states.csv (not in the sample)"
        assert states[name]["share_from"].startswith("held-out rows")
    assert sum(s["share"] for s in states.values()) == pytest.approx(1, abs=1e-3)
