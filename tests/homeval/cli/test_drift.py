"""``homeval drift serving`` as cron runs it: checks, writes the report, publishes it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from homeval.cli import app
from homeval.data.generator.listings import generate
from homeval.data.listing_parser import parse_frame
from homeval.data.process import process_new
from homeval.data.store import Store
from homeval.platform.settings import Settings

runner = CliRunner()


@pytest.fixture
def home(tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("HOMEVAL_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HOMEVAL_DATABASE_URL", store_url)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    store = Store(store_url)
    store.init()
    for origin, rows, seed in (("teacher", 500, 0), ("user", 70, 1)):
        batch = parse_frame(generate(rows, seed=seed, junk_share=0.0, malformed_share=0.0))
        store.ingest_batch(batch, batch_id=f"{origin}-{seed}", origin=origin)  # type: ignore[arg-type]
    process_new(store)
    store.dispose()
    return Settings()


def test_serving_drift_on_demand(home: Settings) -> None:
    result = runner.invoke(app, ["drift", "serving", "--min-rows", "50"], env={"COLUMNS": "2000"})
    assert result.exit_code == 0, result.output
    assert "70 priced listings compared with" in result.output
    assert "report: " in result.output
    scores = json.loads((home.reports_dir / "serving" / "latest.json").read_text())
    assert scores["detected"] is not None
    as_json = runner.invoke(app, ["drift", "serving", "--min-rows", "100", "--json"])
    assert as_json.exit_code == 0, as_json.output
    found = json.loads(as_json.output.strip().splitlines()[-1])
    assert found["detected"] is None
    assert found["reason"] == "only 70 priced listings, 100 needed"


def test_an_unreachable_store_is_one_line_and_exit_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOMEVAL_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("HOMEVAL_DATABASE_URL", "postgresql://u@127.0.0.1:1/x")
    result = runner.invoke(app, ["drift", "serving"])
    assert result.exit_code == 1, result.output
    assert "serving drift not checked" in result.output
