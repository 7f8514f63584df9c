"""The drift report: the HTML page with homeval's verdict on top, the scores beside it,
the verdict in words, and reading a report folder back.

A check leaves, in its reports folder, ``latest.html`` (Evidently's page with homeval's
verdict banner at its top; also the KFP HTML artifact) and ``latest.json`` (the
``DriftResult``: verdict, share of drifted columns, reason, and per column score /
drifted / method / threshold), plus time-stamped copies of both.  The market-drift check
writes to ``reports_dir``, the serving-drift check to ``reports_dir/serving``.

The UI's Drift tab (from ``latest.json``) and the report's banner must say the same
thing.  Evidently's own "Dataset Drift" line applies only the share-of-columns rule;
homeval can also count a moved price level as drift by itself (``drift_on_price``), so
without homeval's verdict beside it the report would read "NOT detected" on a run that
retrained.

Nothing here imports Evidently or MLflow: the web UI reads reports with this module.
"""

from __future__ import annotations

import contextlib
import html
import json
import math
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import pandas as pd

from homeval.drift.result import DriftResult
from homeval.platform.retention import prune
from homeval.platform.settings import Settings

REPORT_NAME: Final = "latest.html"
SCORES_NAME: Final = "latest.json"
SERVING_DIR: Final = "serving"
SCORE_COLUMNS: Final = ["column", "score", "threshold", "drifted", "method"]
VERDICT_ID: Final = "homeval-verdict"
NO_CHECK_YET: Final = "No drift check yet: the pipeline's drift step writes one."


def serving_reports_dir(settings: Settings) -> Path:
    """Where the serving-drift check keeps its report (the market check's is ``reports_dir``)."""
    return settings.reports_dir / SERVING_DIR


# --- the verdict in words -------------------------------------------------------------------


def verdict(
    detected: bool | None,
    share: float | None,
    share_threshold: float | None,
    price_moved: bool,
    reason: str = "",
) -> str:
    """One sentence: drift or not, and by which rule."""
    if detected is None:
        reason = reason.rstrip(".")
        return f"Drift not judged: {reason}." if reason else "Drift not judged."
    shares = f"{share:.0%} of the columns drifted" if share is not None else ""
    limit = f" (threshold {share_threshold:.0%})" if share_threshold else ""
    if detected and price_moved:
        head = "Drift detected: the price level moved"
        return f"{head}; {shares}{limit}." if shares else f"{head}."
    head = "Dataset drift detected" if detected else "No dataset drift"
    return f"{head}: {shares}{limit}." if shares else f"{head}."


def disagrees_with_share_rule(
    detected: bool | None, share: float | None, share_threshold: float | None
) -> bool:
    """True when homeval's verdict differs from what the share rule alone (Evidently's) says."""
    if detected is None or share is None or share_threshold is None:
        return False
    return detected != (share >= share_threshold)


# --- writing a report -----------------------------------------------------------------------


def _replace_atomically(source: Path, target: Path) -> None:
    """Copy then rename, so a reader (the UI) never sees half a file."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    os.close(fd)
    shutil.copyfile(source, tmp)
    Path(tmp).chmod(0o644)  # mkstemp makes it private; the UI may run as another user
    Path(tmp).replace(target)


def verdict_banner(result: DriftResult) -> str:
    """homeval's verdict as a block for the top of Evidently's page.

    Evidently's "Dataset Drift" line knows only the share rule; when homeval judged
    otherwise (a moved price level) the banner says so, so the report never contradicts
    the pipeline's decision.
    """
    sentence = verdict(result.detected, result.share, result.share_threshold, result.price_moved)
    colour = "#757575" if result.detected is None else "#c62828" if result.detected else "#2e7d32"
    parts = [f"<strong>homeval: {html.escape(sentence)}</strong>"]
    if result.reason:
        parts.append(f"<div>{html.escape(result.reason)}</div>")
    if result.price_moved and disagrees_with_share_rule(
        result.detected, result.share, result.share_threshold
    ):
        parts.append(
            "<div>Evidently's &ldquo;Dataset Drift&rdquo; line below counts drifted columns "
            "only; homeval also counts a drifted price level (<code>log_price</code>) as "
            "drift by itself (<code>HOMEVAL_DRIFT_ON_PRICE</code>).</div>"
        )
    style = (
        "font-family:system-ui,sans-serif;font-size:15px;line-height:1.5;margin:12px 16px;"
        f"padding:10px 16px;border-left:6px solid {colour};background:#f5f5f5;color:#212121"
    )
    return f'<div id="{VERDICT_ID}" role="status" style="{style}">{"".join(parts)}</div>'


def with_verdict(page: str, result: DriftResult) -> str:
    """Evidently's page with ``verdict_banner`` as the first thing in its body."""
    start = page.find("<body")
    end = page.find(">", start) + 1 if start >= 0 else 0
    return page[:end] + verdict_banner(result) + page[end:]


def write_reports(
    result: DriftResult, page: str | None, reports_dir: Path, keep: int | None = None
) -> DriftResult:
    """Keep the HTML report and the per-column scores where the UI reads them.

    ``page`` is Evidently's page (``compare.evidently_page``); the verdict banner is put at
    its top.  Writes ``drift-<UTC time>.html`` / ``.json`` and replaces ``latest.html`` /
    ``latest.json``.  Without a page (nothing compared) only the JSON is written, so
    ``latest.json`` always says what the last check found and ``latest.html`` stays the
    last real report.  With ``keep``, only that many stamped reports of each kind stay.
    """
    reports_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    if page is not None:
        stamped = reports_dir / f"drift-{stamp}.html"
        stamped.write_text(with_verdict(page, result), encoding="utf-8")
        _replace_atomically(stamped, reports_dir / REPORT_NAME)
        result.report_path = stamped
    scores = reports_dir / f"drift-{stamp}.json"
    result.scores_path = scores
    scores.write_text(json.dumps(result.to_dict(), indent=2, default=str), encoding="utf-8")
    _replace_atomically(scores, reports_dir / SCORES_NAME)
    if keep is not None:
        for pattern in ("drift-*.html", "drift-*.json"):
            prune(reports_dir, pattern, keep)
    return result


def report_html(result: DriftResult) -> str:
    """The check's HTML: Evidently's report, or a short page saying why there is none."""
    if result.report_path is not None and result.report_path.is_file():
        return result.report_path.read_text(encoding="utf-8")
    reason = html.escape(result.reason)
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<title>homeval drift</title></head><body><h1>Drift not judged</h1>"
        f"<p>{reason}</p></body></html>"
    )


def scores_as_metrics(result: DriftResult) -> Mapping[str, float]:
    """Flat numbers for KFP's Metrics artifact and the training log."""
    out: dict[str, float] = {f"drift_{n}": c.score for n, c in result.columns.items()}
    if result.share is not None:
        out["drift_share"] = result.share
    out["drift_reference_rows"] = float(result.reference_rows)
    out["drift_current_rows"] = float(result.current_rows)
    return out


# --- reading a report folder ----------------------------------------------------------------


@dataclass(frozen=True)
class DriftSummary:
    report: Path | None
    """The HTML report, when there is one."""
    updated: datetime | None = None
    scores: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=SCORE_COLUMNS))
    """One row per compared column, the most drifted first."""
    detected: bool | None = None
    """Dataset drift: True/False, or None when the check could not judge."""
    share: float | None = None
    share_threshold: float | None = None
    reason: str = ""
    rows: tuple[int | None, int | None] = (None, None)
    """Reference and current rows compared."""
    price_moved: bool = False
    """The price level drifted, which is drift by itself whatever the share."""
    problem: str | None = None

    def verdict(self) -> str:
        """One sentence for the page (the same words as the report's banner)."""
        return verdict(
            self.detected, self.share, self.share_threshold, self.price_moved, self.reason
        )


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(float(value)) else None


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else None


def score_frame(columns: Any) -> pd.DataFrame:
    """``{"log_price": {"score": .., "drifted": .., ...}}`` → a table, most drifted first."""
    rows = []
    if isinstance(columns, Mapping):
        for name, item in columns.items():
            if not isinstance(item, Mapping) or _finite(item.get("score")) is None:
                continue
            rows.append(
                {
                    "column": str(name),
                    "score": _finite(item.get("score")),
                    "threshold": _finite(item.get("threshold")),
                    "drifted": bool(item.get("drifted")),
                    "method": str(item.get("method") or ""),
                }
            )
    frame = pd.DataFrame(rows, columns=SCORE_COLUMNS)
    return frame.sort_values("score", ascending=False, ignore_index=True)


def read_drift_summary(reports_dir: Path) -> DriftSummary:
    """Whatever the last drift check left; ``problem`` says what is missing or unreadable."""
    report = reports_dir / REPORT_NAME
    scores_path = reports_dir / SCORES_NAME
    html = report if report.is_file() else None
    if html is None and not scores_path.is_file():
        return DriftSummary(report=None, problem=NO_CHECK_YET)
    newest = max(p.stat().st_mtime for p in (report, scores_path) if p.is_file())
    updated = datetime.fromtimestamp(newest, UTC)
    if not scores_path.is_file():
        return DriftSummary(
            report=html, updated=updated, problem="The report has no scores file beside it."
        )
    try:
        data = json.loads(scores_path.read_text(encoding="utf-8"))
        if not isinstance(data, Mapping):
            raise ValueError("not a JSON object")
    except (OSError, ValueError) as exc:
        return DriftSummary(
            report=html, updated=updated, problem=f"The drift scores are unreadable ({exc})."
        )
    checked = data.get("checked_at")
    if isinstance(checked, str):
        with contextlib.suppress(ValueError):
            updated = datetime.fromisoformat(checked)
    detected = data.get("detected")
    return DriftSummary(
        report=html,
        updated=updated,
        scores=score_frame(data.get("columns")),
        detected=detected if isinstance(detected, bool) else None,
        share=_finite(data.get("share")),
        share_threshold=_finite(data.get("share_threshold")),
        reason=str(data.get("reason") or ""),
        rows=(_int(data.get("reference_rows")), _int(data.get("current_rows"))),
        price_moved=data.get("price_moved") is True,
    )
