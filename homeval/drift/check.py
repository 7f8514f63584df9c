"""Has the market moved away from what the production model learned?

Evidently 0.7 compares the clean listings that arrived since the production model was
trained (*current*) with the sample of its training data logged with it
(``reference/reference.parquet`` in the model's MLflow run, *reference*).

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

*Current* is every clean row stored after the production model's training data was read
(training records the highest clean-row id it read on its run, ``homeval.clean_max_id``;
for a run without the tag, rows processed after the run started).  Fewer than ``drift_min_rows`` new
rows cannot be judged (the distances' sampling noise nears the thresholds), so the
result is "unknown" and the gate keeps the champion until more data arrives.
"""

from __future__ import annotations

import html
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import numpy as np
import pandas as pd
import sqlalchemy as sa

from homeval.data.store import Store
from homeval.data.tables import clean_houses
from homeval.drift.verdict import disagrees_with_share_rule, verdict
from homeval.platform.retention import prune
from homeval.platform.settings import Settings
from homeval.registry.runs import CLEAN_MAX_ID_TAG, REFERENCE_ARTIFACT

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

REPORT_LATEST: Final = "latest.html"
SCORES_LATEST: Final = "latest.json"


class DriftError(RuntimeError):
    """The drift check could not read what it compares (reference or store)."""


@dataclass(frozen=True)
class ColumnDrift:
    """One column's distance between reference and current, and whether it drifted."""

    score: float
    drifted: bool
    method: str
    threshold: float
    kind: str
    """``numeric`` or ``categorical``."""
    fields: tuple[str, ...]
    """The listing field(s) the column is made from."""


@dataclass
class DriftResult:
    """What one drift check found; ``detected`` is None when drift could not be judged."""

    detected: bool | None
    share: float | None
    columns: dict[str, ColumnDrift]
    reference_rows: int
    current_rows: int
    reason: str
    model_version: str | None = None
    reference_run_id: str | None = None
    share_threshold: float | None = None
    skipped_columns: dict[str, str] = field(default_factory=dict)
    """Columns left out of this comparison, with why (e.g. no values on one side)."""
    price_moved: bool = False
    """``log_price`` drifted and counts as drift by itself (``drift_on_price``)."""
    report_path: Path | None = None
    """The Evidently HTML report (the timestamped copy; ``latest.html`` beside it)."""
    scores_path: Path | None = None
    checked_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    pipeline_run: str | None = None

    @property
    def drifted_columns(self) -> list[str]:
        return [name for name, col in self.columns.items() if col.drifted]

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["columns"] = {
            name: {**asdict(col), "fields": list(col.fields)} for name, col in self.columns.items()
        }
        data["drifted_columns"] = self.drifted_columns
        data["report_path"] = str(self.report_path) if self.report_path else None
        data["scores_path"] = str(self.scores_path) if self.scores_path else None
        return data


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


# --- reports for the UI ---------------------------------------------------------------------


def _replace_atomically(source: Path, target: Path) -> None:
    """Copy then rename, so a reader (the UI) never sees half a file."""
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    os.close(fd)
    shutil.copyfile(source, tmp)
    Path(tmp).chmod(0o644)  # mkstemp makes it private; the UI may run as another user
    Path(tmp).replace(target)


VERDICT_ID: Final = "homeval-verdict"


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
    result: DriftResult, snapshot: Any, reports_dir: Path, keep: int | None = None
) -> DriftResult:
    """Keep the HTML report and the per-column scores where the UI reads them.

    Writes ``drift-<UTC time>.html`` / ``.json`` and replaces ``latest.html`` /
    ``latest.json``.  Without a snapshot (nothing compared) only the JSON is written, so
    ``latest.json`` always says what the last check found and ``latest.html`` stays the
    last real report.  With ``keep``, only that many stamped reports of each kind stay.
    """
    reports_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    if snapshot is not None:
        page = reports_dir / f"drift-{stamp}.html"
        evidently_page = snapshot.get_html_str(as_iframe=False)  # what save_html writes
        page.write_text(with_verdict(evidently_page, result), encoding="utf-8")
        _replace_atomically(page, reports_dir / REPORT_LATEST)
        result.report_path = page
    scores = reports_dir / f"drift-{stamp}.json"
    result.scores_path = scores
    scores.write_text(json.dumps(result.to_dict(), indent=2, default=str), encoding="utf-8")
    _replace_atomically(scores, reports_dir / SCORES_LATEST)
    if keep is not None:
        for pattern in ("drift-*.html", "drift-*.json"):
            prune(reports_dir, pattern, keep)
    return result


# --- reading both sides -------------------------------------------------------------------


@dataclass(frozen=True)
class Reference:
    """The production model's training sample and where its training data stopped."""

    rows: pd.DataFrame
    run_id: str
    clean_max_id: int | None
    trained_at: datetime


def load_reference(run_id: str, settings: Settings) -> Reference | None:
    """The reference sample logged with run ``run_id``; None when the run has none."""
    import mlflow
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    from homeval.registry.tracking import configure

    configure(settings, create_experiment=False)
    client = MlflowClient()
    try:
        run = client.get_run(run_id)
    except MlflowException as exc:
        raise DriftError(f"cannot read MLflow run {run_id}: {exc}") from exc
    with tempfile.TemporaryDirectory(prefix="homeval-reference-") as tmp:
        try:
            path = mlflow.artifacts.download_artifacts(
                run_id=run_id, artifact_path=REFERENCE_ARTIFACT, dst_path=tmp
            )
        except (MlflowException, OSError):
            return None
        rows = pd.read_parquet(path)
    tag = run.data.tags.get(CLEAN_MAX_ID_TAG)
    return Reference(
        rows=rows,
        run_id=run_id,
        clean_max_id=int(tag) if tag not in (None, "") else None,
        trained_at=datetime.fromtimestamp(run.info.start_time / 1000, tz=UTC),
    )


def new_clean_rows(
    store: Store,
    *,
    after_id: int | None = None,
    after_time: datetime | None = None,
    limit: int,
    seed: int = SAMPLE_SEED,
) -> tuple[pd.DataFrame, int]:
    """Clean rows newer than the reference (by id, else by time), sampled to ``limit``.

    Returns the (sampled) rows and how many new rows there were in all.  Only ids are
    read for the whole range, so millions of new rows cost one column scan.
    """
    where: Any
    if after_id is not None:
        where = clean_houses.c.id > after_id
    elif after_time is not None:
        utc = after_time.astimezone(UTC)
        # SQLite keeps UTC as naive text; PostgreSQL compares instants
        where = clean_houses.c.processed_at > (
            utc if store.dialect == "postgresql" else utc.replace(tzinfo=None)
        )
    else:
        where = sa.true()
    with store.engine.connect() as conn:
        ids = np.fromiter(
            (row[0] for row in conn.execute(sa.select(clean_houses.c.id).where(where))),
            dtype=np.int64,
        )
    total = len(ids)
    if total > limit:
        ids = np.sort(np.random.default_rng(seed).choice(ids, size=limit, replace=False))
    columns = [clean_houses.c[f] for f in NEEDED_FIELDS]
    frames: list[pd.DataFrame] = []
    for start in range(0, len(ids), 10_000):
        chunk = [int(i) for i in ids[start : start + 10_000]]
        frames.append(store.read_frame(sa.select(*columns).where(clean_houses.c.id.in_(chunk))))
    rows = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=NEEDED_FIELDS)
    return rows, total


# --- the check the pipeline runs ------------------------------------------------------------

_UNSET: Any = object()


def check_drift(
    store: Store,
    settings: Settings,
    *,
    production: Any = _UNSET,
    pipeline_run: str | None = None,
) -> DriftResult:
    """Drift of the clean rows that arrived since the production model was trained.

    ``production`` is the production model (``homeval.registry.promotion.production_model``'s
    answer; looked up when not given): None means there is none, so there is no reference
    and ``detected`` is None.  Reports go to ``settings.reports_dir``.
    """
    if production is _UNSET:
        from homeval.registry.promotion import production_model

        production = production_model(settings)
    threshold = settings.drift_share_threshold

    def unjudged(reason: str, **known: Any) -> DriftResult:
        result = DriftResult(None, None, {}, 0, 0, reason, share_threshold=threshold, **known)
        result.pipeline_run = pipeline_run
        return write_reports(result, None, settings.reports_dir, settings.keep_local_runs)

    if production is None:
        return unjudged("no reference: there is no production model yet")
    version = getattr(production, "version", None)
    run_id = getattr(production, "run_id", None)
    if not run_id:
        return unjudged(f"no reference: production model v{version} has no MLflow run")
    reference = load_reference(run_id, settings)
    if reference is None:
        return unjudged(
            f"no reference: run {run_id} of production model v{version} has no "
            f"{REFERENCE_ARTIFACT}",
            model_version=version,
            reference_run_id=run_id,
        )
    current, new_rows = new_clean_rows(
        store,
        after_id=reference.clean_max_id,
        after_time=reference.trained_at if reference.clean_max_id is None else None,
        limit=settings.drift_sample_rows,
    )
    known = {"model_version": version, "reference_run_id": run_id}
    if new_rows < settings.drift_min_rows:
        return unjudged(
            f"only {new_rows:,} new clean rows since production model v{version} was "
            f"trained; {settings.drift_min_rows:,} needed to judge drift",
            **known,
        )
    result, snapshot = compare(
        reference.rows,
        current,
        share_threshold=threshold,
        sample_rows=settings.drift_sample_rows,
        price_alone=settings.drift_on_price,
    )
    result.model_version = version
    result.reference_run_id = run_id
    result.pipeline_run = pipeline_run
    result.reason = f"{result.reason}; {new_rows:,} new rows vs production model v{version}"
    return write_reports(result, snapshot, settings.reports_dir, settings.keep_local_runs)


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
