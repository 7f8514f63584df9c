"""Train the candidates on the clean listings and score each on the property hold-out.

What a run trained is recorded in MLflow by ``homeval.registry.runs`` (this module talks
to no tracking server, so benchmarks and tests train exactly as the pipeline does).

Candidates are LightGBM and a single decision tree (the interpretable reference); a
ZIP-median price is measured beside them, so every metric has a floor to be read against.
Splits are by property and deterministic: a house is in the same part (train,
calibration, test) in every run, so repeat listings never straddle a split and a later
champion/challenger comparison can score the current champion on a hold-out it never saw.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd
import sqlalchemy as sa

from homeval.data.schema import INPUT_FIELDS
from homeval.data.store import Store
from homeval.data.tables import clean_houses
from homeval.model.calibration import cross_fit_residuals, predicted_residuals, sample_properties
from homeval.model.estimator import (
    MODEL_KINDS,
    SEGMENTS,
    ModelKind,
    PriceInterval,
    conformal_interval,
    fit_candidates,
    price_metrics,
    segment_names,
)
from homeval.platform.settings import Settings

log = logging.getLogger(__name__)

PARTS: Final = ("train", "calibration", "test")


@dataclass
class FittedCandidate:
    """One trained model, its settings, its price interval and how it did on the hold-out."""

    estimator: Any
    params: dict[str, Any]
    interval: PriceInterval
    metrics: dict[str, float]
    fit_seconds: float


@dataclass
class TrainedCandidates:
    """What one training run made, before anything is recorded."""

    fitted: dict[ModelKind, FittedCandidate]
    """Candidate kind -> its model, in ``MODEL_KINDS`` order."""
    baseline: dict[str, float]
    """The ZIP-median price's metrics on the same hold-out."""
    clean_max_id: int
    """The newest clean listing the run could see (its hold-out is rebuilt from it)."""
    rows: dict[str, int]
    train: pd.DataFrame
    """The rows the models were fitted on (the drift reference is sampled from them)."""

    def best(self, metric: str) -> ModelKind:
        """The kind with the lowest ``metric`` on the hold-out."""
        return min(self.fitted, key=lambda kind: self.fitted[kind].metrics[metric])


# --- data ----------------------------------------------------------------------------------


def load_clean(store: Store, *, max_id: int | None = None) -> pd.DataFrame:
    """Training rows: clean feed listings (user rows never reach cleandata)."""
    columns = [
        clean_houses.c.id,
        clean_houses.c.property_id,
        *(clean_houses.c[f] for f in ("price", *INPUT_FIELDS)),
    ]
    query = sa.select(*columns).where(clean_houses.c.data_origin == "teacher")
    if max_id is not None:
        query = query.where(clean_houses.c.id <= max_id)
    frame = store.read_frame(query.order_by(clean_houses.c.id))
    for name in ("price", "bed", "bath", "acre_lot", "house_size"):
        frame[name] = pd.to_numeric(frame[name], errors="coerce").astype("float64")
    return frame


def split_parts(
    property_ids: pd.Series, *, test_share: float, calibration_share: float, seed: int
) -> np.ndarray:
    """'train' / 'calibration' / 'test' per row, fixed per property across runs."""
    if test_share + calibration_share >= 1:
        raise ValueError("test and calibration shares must leave rows to train on")
    hashed = pd.util.hash_pandas_object(
        property_ids.astype(str), index=False, hash_key=f"split{seed:011d}"[:16]
    ).to_numpy()
    unit = (hashed % np.uint64(1_000_003)).astype("float64") / 1_000_003
    return np.where(
        unit < test_share,
        "test",
        np.where(unit < test_share + calibration_share, "calibration", "train"),
    )


def holdout(store: Store, settings: Settings, clean_max_id: int) -> pd.DataFrame:
    """The test part of the data a training run saw: where champion meets challenger."""
    frame = load_clean(store, max_id=clean_max_id)
    parts = _parts(frame, settings)
    return frame.loc[parts == "test"].reset_index(drop=True)


def _parts(frame: pd.DataFrame, settings: Settings) -> np.ndarray:
    return split_parts(
        frame["property_id"],
        test_share=settings.train_test_share,
        calibration_share=settings.train_calibration_share,
        seed=settings.train_seed,
    )


# --- the baseline ------------------------------------------------------------------------


def zip_median_prices(train: pd.DataFrame, target: pd.DataFrame) -> np.ndarray:
    """Median training price of the listing's ZIP, else city, else state, else overall."""
    prediction = pd.Series(np.nan, index=target.index)
    for keys in (["zip_code"], ["state", "city"], ["state"]):
        medians = train.groupby(keys, dropna=True)["price"].median()
        found = target.join(medians.rename("median"), on=keys)["median"]
        prediction = prediction.fillna(found)
    return prediction.fillna(float(train["price"].median())).to_numpy()


# --- training ----------------------------------------------------------------------------


def candidate_params(kind: ModelKind, settings: Settings) -> dict[str, Any]:
    if kind == "lightgbm":
        return {
            "n_estimators": settings.train_n_estimators,
            "num_leaves": settings.train_num_leaves,
        }
    return {"max_depth": settings.train_tree_max_depth}


def train_candidates(store: Store, settings: Settings) -> TrainedCandidates:
    """Fit every candidate on the training part, calibrate its interval and score it on
    the property hold-out, beside the ZIP-median baseline."""
    frame = load_clean(store)
    if frame.empty:
        raise ValueError("no clean listings to train on: run collect and process first")
    clean_max_id = int(frame["id"].max())
    parts = _parts(frame, settings)
    data = {part: frame.loc[parts == part].reset_index(drop=True) for part in PARTS}
    rows = {part: len(df) for part, df in data.items()}
    if min(rows.values()) == 0:
        raise ValueError(f"too few properties to split into train/calibration/test: {rows}")
    log.info(
        "training on %s rows (calibration %s, test %s)",
        rows["train"],
        rows["calibration"],
        rows["test"],
    )
    train, calibration, test = data["train"], data["calibration"], data["test"]
    if len(train) > settings.train_max_rows > 0:
        train = sample_properties(train, settings.train_max_rows, settings.train_seed)
        train = train.reset_index(drop=True)
        log.info(
            "training on a sample of %s of the %s training rows (HOMEVAL_TRAIN_MAX_ROWS)",
            len(train),
            rows["train"],
        )
        rows["train_available"], rows["train"] = rows["train"], len(train)

    baseline = price_metrics(test["price"], zip_median_prices(train, test))
    params_by_kind = {kind: candidate_params(kind, settings) for kind in MODEL_KINDS}
    fit_seconds: dict[str, float] = {}
    models = fit_candidates(params_by_kind, train, settings.train_seed, fit_seconds)
    intervals = calibrate_intervals(models, params_by_kind, (train, calibration), settings)
    fitted: dict[ModelKind, FittedCandidate] = {}
    for kind in MODEL_KINDS:
        scored = predicted_residuals(models[kind], test)
        metrics = price_metrics(scored.price, scored.predicted)
        metrics.update(interval_coverage(intervals[kind], scored))
        fitted[kind] = FittedCandidate(
            estimator=models[kind],
            params=params_by_kind[kind],
            interval=intervals[kind],
            metrics=metrics,
            fit_seconds=fit_seconds[kind],  # the shared encoding and this kind's fit
        )
        log.info(
            "%s: %s=%.4f r2_log=%.3f (%.1fs)",
            kind,
            settings.selection_metric,
            metrics[settings.selection_metric],
            metrics["r2_log"],
            fit_seconds[kind],
        )
    return TrainedCandidates(
        fitted=fitted, baseline=baseline, clean_max_id=clean_max_id, rows=rows, train=train
    )


def calibrate_intervals(
    estimators: Mapping[str, Any],
    params: Mapping[str, Mapping[str, Any]],
    parts: tuple[pd.DataFrame, pd.DataFrame],
    settings: Settings,
) -> dict[str, PriceInterval]:
    """Each candidate's price interval, one width per segment: residuals of the calibration
    split (the fitted model) and of place-held-out cross-fits of the training part
    (models of the same kind and settings; ``homeval.model.calibration``)."""
    train, calibration = parts
    crossed = cross_fit_residuals(params, train, settings.train_seed)
    out = {}
    for kind, estimator in estimators.items():
        residuals = predicted_residuals(estimator, calibration) + crossed[kind]
        out[kind] = conformal_interval(
            residuals.price,
            residuals.predicted,
            settings.interval_coverage,
            land=residuals.land,
            novelty=residuals.novelty,
        )
    return out


def train_like_the_pipeline(
    frame: pd.DataFrame, settings: Settings, kinds: tuple[str, ...] = MODEL_KINDS
) -> tuple[dict[str, Any], dict[str, PriceInterval]]:
    """Fit and calibrate the candidates on listings already split off for training: 90/10
    by property into training and calibration rows (benchmarks and tests that must train
    as the pipeline does, without a store or MLflow)."""
    parts = split_parts(
        frame["property_id"],
        test_share=0.0,
        calibration_share=settings.train_calibration_share,
        seed=settings.train_seed,
    )
    train, calibration = frame[parts == "train"], frame[parts == "calibration"]
    params = {kind: candidate_params(kind, settings) for kind in kinds}  # type: ignore[arg-type]
    models = fit_candidates(params, train, settings.train_seed)
    return models, calibrate_intervals(models, params, (train, calibration), settings)


def interval_coverage(interval: PriceInterval, scored: Any) -> dict[str, float]:
    """Share of held-out prices inside the interval: overall and per segment present."""
    low, high = interval.bounds(scored.predicted, scored.land, scored.novelty)
    inside = (scored.price >= low) & (scored.price <= high)
    out = {"interval_coverage": float(np.mean(inside))}
    names = segment_names(scored.land, scored.novelty)
    for segment in SEGMENTS:
        mask = names == segment
        if mask.any():
            out[f"interval_coverage_{segment.replace(':', '_')}"] = float(inside[mask].mean())
    return out
