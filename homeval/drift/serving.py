"""Serving drift: are the listings people price in the UI like the market the model knows?

The pipeline's drift check watches the feed (clean teacher rows).  User rows never reach
cleandata, so nobody would notice if people asked mostly about a state or a kind of house
the model rarely saw.  This compares the newest user rows with the newest clean teacher
rows (raw teacher rows before the first processing run) through the same Evidently check
(``homeval.drift.check.compare``: same columns, methods and thresholds; the price is left out
because user rows have none) and keeps the report and scores in ``reports_dir/serving``,
where the UI shows them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

import sqlalchemy as sa

from homeval.data.store import Store
from homeval.data.tables import clean_houses, raw_houses
from homeval.platform.settings import Settings

if TYPE_CHECKING:  # the drift check (Evidently, scikit-learn: ~100 MB) is imported when a
    import pandas as pd  # check runs, not by the web UI that only shows the last report

    from homeval.drift.check import DriftResult

SERVING_DIR: Final = "serving"


def serving_reports_dir(settings: Settings) -> Path:
    return settings.reports_dir / SERVING_DIR


@dataclass(frozen=True)
class ServingDrift:
    result: DriftResult
    user_rows: int
    reference_rows: int


def _newest(store: Store, table: sa.Table, origin: str, limit: int) -> pd.DataFrame:
    from homeval.drift.check import NEEDED_FIELDS

    columns = [table.c[name] for name in NEEDED_FIELDS]
    query = (
        sa.select(*columns)
        .where(table.c.data_origin == origin)
        .order_by(table.c.id.desc())
        .limit(limit)
    )
    return store.read_frame(query)


def check_serving_drift(store: Store, settings: Settings, *, min_rows: int) -> ServingDrift:
    """Compare user rows with teacher rows; write the report; fewer than ``min_rows`` user
    rows are not judged (the distances' sampling noise would decide)."""
    from homeval.drift.check import DriftResult, compare, write_reports

    rows = settings.drift_sample_rows
    current = _newest(store, raw_houses, "user", rows)
    reference = _newest(store, clean_houses, "teacher", rows)
    if reference.empty:  # before the first processing run: the raw feed rows
        reference = _newest(store, raw_houses, "teacher", rows)
    if len(current) < min_rows or reference.empty:
        missing = (
            f"only {len(current)} priced listings, {min_rows} needed"
            if len(current) < min_rows
            else "no feed listings to compare with"
        )
        result = DriftResult(None, None, {}, len(reference), len(current), missing)
        write_reports(result, None, serving_reports_dir(settings), settings.keep_local_runs)
        return ServingDrift(result, len(current), len(reference))
    current["price"] = None  # user rows have no sale price: the target is not compared
    result, snapshot = compare(
        reference,
        current,
        share_threshold=settings.drift_share_threshold,
        sample_rows=rows,
    )
    result.reason = (
        f"{len(current):,} priced listings compared with {len(reference):,} feed listings; "
        + result.reason
    )
    write_reports(result, snapshot, serving_reports_dir(settings), settings.keep_local_runs)
    return ServingDrift(result, len(current), len(reference))
