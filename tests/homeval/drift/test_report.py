"""The report: the verdict in words, the banner on Evidently's page, the files a check
leaves (reading them back is ``test_report_reading``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from homeval.drift.report import (
    REPORT_NAME,
    SCORES_NAME,
    disagrees_with_share_rule,
    report_html,
    scores_as_metrics,
    verdict,
    with_verdict,
    write_reports,
)
from homeval.drift.result import ColumnDrift, DriftResult


def test_the_share_rule_in_words() -> None:
    assert verdict(True, 0.4, 0.3, False) == (
        "Dataset drift detected: 40% of the columns drifted (threshold 30%)."
    )
    assert verdict(False, 0.1, 0.3, False) == (
        "No dataset drift: 10% of the columns drifted (threshold 30%)."
    )


def test_a_moved_price_level_is_named_as_the_reason() -> None:
    assert verdict(True, 0.1, 0.3, True) == (
        "Drift detected: the price level moved; 10% of the columns drifted (threshold 30%)."
    )


def test_an_unjudged_check_gives_its_reason() -> None:
    assert verdict(None, None, None, False, "only 12 new rows.") == (
        "Drift not judged: only 12 new rows."
    )
    assert verdict(None, None, None, False) == "Drift not judged."


@pytest.mark.parametrize(
    ("detected", "share", "expected"),
    [
        (True, 0.1, True),
        (True, 0.4, False),
        (False, 0.1, False),
        (False, 0.4, True),
        (None, 0.4, False),
    ],
)
def test_disagreement_with_the_share_rule(
    detected: bool | None, share: float, expected: bool
) -> None:
    assert disagrees_with_share_rule(detected, share, 0.3) is expected


def test_the_verdict_goes_first_in_any_page() -> None:
    result = DriftResult(True, 0.5, {}, 10, 10, "5 of 10 columns <drifted>", share_threshold=0.3)
    page = with_verdict("<html><body class='x'><p>report</p></body></html>", result)
    assert page.startswith("<html><body class='x'><div id=\"homeval-verdict\"")
    assert "&lt;drifted&gt;" in page  # reasons are escaped
    assert page.endswith("<p>report</p></body></html>")
    assert with_verdict("<p>bare</p>", result).endswith("</div><p>bare</p>")


def _result() -> DriftResult:
    column = ColumnDrift(0.25, True, "wasserstein", 0.1, "numeric", ("price",))
    return DriftResult(True, 0.1, {"log_price": column}, 800, 700, "1 of 10 columns drifted",
                       share_threshold=0.3, price_moved=True)  # fmt: skip


def test_a_check_leaves_its_page_and_scores_and_replaces_latest(tmp_path: Path) -> None:
    first = write_reports(_result(), "<html><body><p>evidently</p></body></html>", tmp_path)
    assert first.report_path is not None
    assert first.report_path.name.startswith("drift-")
    latest = (tmp_path / REPORT_NAME).read_text(encoding="utf-8")
    assert latest == first.report_path.read_text(encoding="utf-8")
    assert "homeval: Drift detected: the price level moved" in latest
    assert "counts drifted columns only" in latest  # Evidently's share line disagrees
    scores = json.loads((tmp_path / SCORES_NAME).read_text())
    assert scores["columns"]["log_price"]["fields"] == ["price"]
    assert scores["drifted_columns"] == ["log_price"]
    assert scores["price_moved"] is True

    # nothing compared: new scores, the last real page stays
    unjudged = DriftResult(None, None, {}, 0, 0, "only 3 new rows")
    write_reports(unjudged, None, tmp_path)
    assert json.loads((tmp_path / SCORES_NAME).read_text())["detected"] is None
    assert (tmp_path / REPORT_NAME).read_text(encoding="utf-8") == latest
    assert (tmp_path / REPORT_NAME).stat().st_mode & 0o777 == 0o644  # readable by the UI


def test_only_keep_stamped_reports_stay(tmp_path: Path) -> None:
    for _ in range(3):
        write_reports(_result(), "<html><body></body></html>", tmp_path, keep=1)
    assert len(list(tmp_path.glob("drift-*.html"))) == 1
    assert len(list(tmp_path.glob("drift-*.json"))) == 1


def test_the_kfp_artifact_is_the_page_or_why_there_is_none(tmp_path: Path) -> None:
    written = write_reports(_result(), "<html><body>page</body></html>", tmp_path)
    assert "page" in report_html(written)
    unjudged = DriftResult(None, None, {}, 0, 0, "no <reference>")
    page = report_html(unjudged)
    assert "Drift not judged" in page
    assert "no &lt;reference&gt;" in page


def test_scores_become_flat_metrics() -> None:
    assert scores_as_metrics(_result()) == {
        "drift_log_price": 0.25,
        "drift_share": 0.1,
        "drift_reference_rows": 800.0,
        "drift_current_rows": 700.0,
    }
