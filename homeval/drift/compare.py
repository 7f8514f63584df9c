"""The comparison: how far apart two listing tables are, column by column, and whether
that is dataset drift.  Pure statistics on two frames (Evidently 0.7 computes the
distances); which rows are compared and what is done with the answer is the check's
(``homeval.drift.check``), the page and the verdict in words are the report's
(``homeval.drift.report``).

Raw fields, not the model's encoded features, are compared: the encoded location
features are target encodings fitted by one model version (comparing them would measure
the encoder as much as the data, and training rows are encoded in-sample while new rows
are not, which alone looks like drift); raw fields mean the same for every version and
are what a person reads in the report.  Every model input is covered through the field(s)
it is built from, plus the target:

* numeric, Wasserstein distance normed by the reference's standard deviation, drift at
  >= 0.1 (a tenth of a standard deviation of mass moved): ``log_price`` (the target),
  ``log_house_size``, ``log_acre_lot``, ``bed``, ``bath``, ``prev_sold_year`` (the
  model's years-since-sale) and ``zip_code`` as a number (the model's ``zip_number``;
  ZIPs are numbered by region, so a shift in where listings come from moves it).  Prices,
  sizes and lots are compared on the log scale, as the model sees prices: on the dollar
  scale one $50M outlier sets the norm and hides any real shift.
* categorical, Jensen-Shannon distance, drift at >= 0.1: ``state``, ``status`` and
  ``missing_fields`` (how many of bed, bath, lot and size are missing: the model's
  ``is_land`` and ``missing_count``).
* ``city`` and ``zip_code`` as categories are left out on purpose: tens of thousands of
  levels over a 50,000-row sample leave most levels with a count of 0 or 1, so two
  samples of one distribution already look far apart; their location signal reaches the
  check through ``state`` and the numeric ZIP.

Dataset drift is the share of drifted columns reaching ``drift_share_threshold`` (0.3 by
default: on generated data a state-mix move drifts ``state``, ``zip_code`` and
``log_price``, 3 of the 10; two samples of one market score below 0.05 everywhere).  A
price-only move drifts ``log_price`` alone, one column in ten, yet it is the move a price
model must follow: with ``drift_on_price`` (the default) a drifted ``log_price`` is drift
by itself, whatever the share.  Its score is the log of the relative price move over the
spread of log prices (sd 1.13 on generated data, 1.16 in the real national sample;
``bench/drift/PRICE_SHIFT.md``: +5 % → 0.04, +10 % → 0.08, +30 % → 0.23), so a market that
moved about 12 % retrains; champion/challenger then decides whether the new model serves.
Both sides are sampled down to ``drift_sample_rows`` (a fixed seed, so a re-run agrees):
the distances settle well before that size, and millions of rows would take minutes.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import pandas as pd

from homeval.drift.result import ColumnDrift, DriftError, DriftResult

NUM_METHOD: Final = "wasserstein"
NUM_THRESHOLD: Final = 0.1
CAT_METHOD: Final = "jensenshannon"
CAT_THRESHOLD: Final = 0.1
SAMPLE_SEED: Final = 20_240_601

PRICE_COLUMN: Final = "log_price"
NUMERIC_COLUMNS: Final = (
    PRICE_COLUMN,
    "log_house_size",
    "log_acre_lot",
    "bed",
    "bath",
    "prev_sold_year",
    "zip_code",
)
CATEGORICAL_COLUMNS: Final = ("state", "status", "missing_fields")
SOURCE_FIELDS: Final[dict[str, tuple[str, ...]]] = {
    "log_price": ("price",),
    "log_house_size": ("house_size",),
    "log_acre_lot": ("acre_lot",),
    "bed": ("bed",),
    "bath": ("bath",),
    "prev_sold_year": ("prev_sold_date",),
    "zip_code": ("zip_code",),
    "state": ("state",),
    "status": ("status",),
    "missing_fields": ("bed", "bath", "acre_lot", "house_size"),
}
"""Listing field(s) each compared column is made from."""
NEEDED_FIELDS: Final = tuple(dict.fromkeys(f for fs in SOURCE_FIELDS.values() for f in fs))


# --- what is compared -----------------------------------------------------------------------


def _log_positive(values: pd.Series) -> pd.Series:
    numbers = pd.to_numeric(values, errors="coerce").astype("float64")
    return np.log(numbers.where(numbers > 0))


def drift_columns(listings: pd.DataFrame) -> pd.DataFrame:
    """Listing rows (clean rows or the reference sample) → the columns the check compares."""
    missing = [f for f in NEEDED_FIELDS if f not in listings.columns]
    if missing:
        raise DriftError(f"listing table lacks column(s) {', '.join(missing)} for the drift check")

    def number(name: str) -> pd.Series:
        return pd.to_numeric(listings[name], errors="coerce").astype("float64")

    sold = pd.to_datetime(listings["prev_sold_date"], errors="coerce")
    out = pd.DataFrame(index=listings.index)
    out["log_price"] = _log_positive(listings["price"])
    out["log_house_size"] = _log_positive(listings["house_size"])
    out["log_acre_lot"] = _log_positive(listings["acre_lot"])
    out["bed"] = number("bed")
    out["bath"] = number("bath")
    out["prev_sold_year"] = sold.dt.year + (sold.dt.dayofyear - 1) / 365.25
    out["zip_code"] = number("zip_code")
    for name in ("state", "status"):
        text = listings[name].astype(object)
        out[name] = text.where(text.notna() & (text.astype(str).str.strip() != ""), None)
    gaps = pd.DataFrame({f: number(f).isna() for f in ("bed", "bath", "acre_lot", "house_size")})
    out["missing_fields"] = gaps.sum(axis=1).astype(int).astype(str)
    return out.replace([np.inf, -np.inf], np.nan).reset_index(drop=True)


def sample(frame: pd.DataFrame, rows: int, seed: int = SAMPLE_SEED) -> pd.DataFrame:
    """At most ``rows`` rows, drawn without replacement with a fixed seed."""
    if len(frame) <= rows:
        return frame
    return frame.sample(n=rows, random_state=seed).reset_index(drop=True)


# --- the comparison -------------------------------------------------------------------------


def compare(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    share_threshold: float,
    sample_rows: int,
    price_alone: bool = False,
) -> tuple[DriftResult, Any]:
    """Compare two listing tables; returns the result and Evidently's snapshot (for HTML).

    Both tables are listing rows (``drift_columns`` is applied here).  The snapshot is
    None when no column could be compared.  ``price_alone``: a drifted ``log_price`` is
    drift whatever the share (see the module docstring).
    """
    if not 0.0 <= share_threshold <= 1.0:
        raise ValueError(f"share_threshold must be between 0 and 1, got {share_threshold}")
    ref = drift_columns(sample(reference, sample_rows))
    cur = drift_columns(sample(current, sample_rows))
    if ref.empty or cur.empty:
        side = "reference" if ref.empty else "current data"
        return DriftResult(None, None, {}, len(ref), len(cur), f"the {side} has no rows"), None

    skipped: dict[str, str] = {}
    compared: list[str] = []
    for name in (*NUMERIC_COLUMNS, *CATEGORICAL_COLUMNS):
        empty = [side for side, f in (("reference", ref), ("current", cur)) if f[name].isna().all()]
        if empty:
            skipped[name] = f"no values in the {' and '.join(empty)} rows"
        else:
            compared.append(name)
    if not compared:
        reason = "no column has values on both sides"
        return (
            DriftResult(None, None, {}, len(ref), len(cur), reason, skipped_columns=skipped),
            None,
        )

    snapshot = _evidently_report(ref, cur, compared, share_threshold)
    scores = _column_scores(snapshot)
    columns: dict[str, ColumnDrift] = {}
    for name in compared:
        numeric = name in NUMERIC_COLUMNS
        threshold = NUM_THRESHOLD if numeric else CAT_THRESHOLD
        score = scores[name]
        columns[name] = ColumnDrift(
            score=score,
            drifted=score >= threshold,  # both methods are distances: larger is farther
            method=NUM_METHOD if numeric else CAT_METHOD,
            threshold=threshold,
            kind="numeric" if numeric else "categorical",
            fields=SOURCE_FIELDS[name],
        )
    drifted = sum(c.drifted for c in columns.values())
    share = drifted / len(columns)
    by_price = price_alone and PRICE_COLUMN in columns and columns[PRICE_COLUMN].drifted
    detected = share >= share_threshold or by_price
    reason = (
        f"{drifted} of {len(columns)} columns drifted (share {share:.2f}, "
        f"threshold {share_threshold:.2f})"
        + (f": {', '.join(n for n, c in columns.items() if c.drifted)}" if drifted else "")
        + ("; the price level moved, which is drift by itself" if by_price else "")
    )
    result = DriftResult(
        detected=detected,
        share=share,
        columns=columns,
        reference_rows=len(ref),
        current_rows=len(cur),
        reason=reason,
        share_threshold=share_threshold,
        skipped_columns=skipped,
        price_moved=by_price,
    )
    return result, snapshot


def _evidently_report(
    ref: pd.DataFrame, cur: pd.DataFrame, columns: list[str], share_threshold: float
) -> Any:
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    numeric = [c for c in columns if c in NUMERIC_COLUMNS]
    categorical = [c for c in columns if c in CATEGORICAL_COLUMNS]
    definition = DataDefinition(numerical_columns=numeric, categorical_columns=categorical)
    preset = DataDriftPreset(
        columns=columns,
        drift_share=share_threshold,
        per_column_method={
            **dict.fromkeys(numeric, NUM_METHOD),
            **dict.fromkeys(categorical, CAT_METHOD),
        },
        per_column_threshold={
            **dict.fromkeys(numeric, NUM_THRESHOLD),
            **dict.fromkeys(categorical, CAT_THRESHOLD),
        },
    )
    report = Report([preset])
    return report.run(
        current_data=Dataset.from_pandas(cur[columns], data_definition=definition),
        reference_data=Dataset.from_pandas(ref[columns], data_definition=definition),
    )


def _column_scores(snapshot: Any) -> dict[str, float]:
    """Per-column distances from the snapshot's ValueDrift metrics."""
    scores: dict[str, float] = {}
    for metric in snapshot.dict()["metrics"]:
        config = metric.get("config", {})
        if config.get("type", "").endswith(":ValueDrift"):
            scores[str(config["column"])] = float(metric["value"])
    return scores


def evidently_page(snapshot: Any) -> str:
    """Evidently's report as one self-contained HTML page (what its ``save_html`` writes)."""
    return str(snapshot.get_html_str(as_iframe=False))
