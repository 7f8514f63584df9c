from __future__ import annotations

import json
from pathlib import Path

from homeval.drift.report import read_drift_summary

RESULT = {
    "detected": True,
    "share": 0.4,
    "share_threshold": 0.3,
    "reason": "4 of 10 columns drifted",
    "reference_rows": 5000,
    "current_rows": 2000,
    "checked_at": "2026-11-26T10:00:00+00:00",
    "columns": {
        "log_price": {"score": 0.31, "drifted": True, "method": "wasserstein",
                      "threshold": 0.1, "kind": "numeric", "fields": ["price"]},
        "state": {"score": 0.02, "drifted": False, "method": "jensenshannon",
                  "threshold": 0.1, "kind": "categorical", "fields": ["state"]},
        "bed": {"score": None, "drifted": False, "method": "wasserstein"},
    },
}  # fmt: skip


def test_no_check_yet_says_so(tmp_path: Path) -> None:
    summary = read_drift_summary(tmp_path / "reports")
    assert summary.report is None
    assert summary.problem is not None
    assert "No drift check yet" in summary.problem


def test_report_and_scores_are_read(tmp_path: Path) -> None:
    (tmp_path / "latest.html").write_text("<html>report</html>")
    (tmp_path / "latest.json").write_text(json.dumps(RESULT))
    summary = read_drift_summary(tmp_path)
    assert summary.report == tmp_path / "latest.html"
    assert summary.problem is None
    assert list(summary.scores["column"]) == ["log_price", "state"]  # most drifted first
    assert bool(summary.scores.loc[0, "drifted"])
    assert summary.scores.loc[0, "threshold"] == 0.1
    assert summary.rows == (5000, 2000)
    assert summary.updated is not None
    assert summary.updated.isoformat() == "2026-11-26T10:00:00+00:00"
    assert (
        summary.verdict() == "Dataset drift detected: 40% of the columns drifted (threshold 30%)."
    )


def test_a_moved_price_level_says_why_drift_is_detected_below_the_share(tmp_path: Path) -> None:
    only_price = {**RESULT, "share": 0.1, "price_moved": True}
    (tmp_path / "latest.json").write_text(json.dumps(only_price))
    summary = read_drift_summary(tmp_path)
    assert summary.price_moved
    assert summary.verdict() == (
        "Drift detected: the price level moved; 10% of the columns drifted (threshold 30%)."
    )


def test_an_unjudged_check_and_a_broken_file_are_explained(tmp_path: Path) -> None:
    (tmp_path / "latest.json").write_text(
        json.dumps({"detected": None, "share": None, "columns": {}, "reason": "only 12 new rows"})
    )
    summary = read_drift_summary(tmp_path)
    assert summary.report is None
    assert summary.verdict() == "Drift not judged: only 12 new rows."
    (tmp_path / "latest.json").write_text("{not json")
    broken = read_drift_summary(tmp_path)
    assert broken.problem is not None
    assert "unreadable" in broken.problem
