"""The model homeval trains and serves: encoder + tree regressor on log price, as one estimator.

The estimator is a scikit-learn ``TransformedTargetRegressor`` around a ``Pipeline``
(``features`` → ``model``): one object takes raw listing fields and returns dollars, so
MLflow, batch scoring and the predictor's slow path all load and call the same thing,
while the predictor's fast path reaches inside for the fitted encoder and the trees.
Prices are modelled on the log scale because errors on houses are relative: $50k off on
a $100k cabin is not the same mistake as on a $5M villa.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

import numpy as np
import pandas as pd
from sklearn.compose import TransformedTargetRegressor
from sklearn.pipeline import Pipeline

from homeval.features import INPUT_FIELDS, ListingEncoder

ModelKind = Literal["lightgbm", "decision_tree"]
MODEL_KINDS: Final = ("lightgbm", "decision_tree")

LIGHTGBM_DEFAULTS: Final[dict[str, Any]] = {
    # Huber on log price: a mispriced or junk listing pulls the fit linearly, not
    # quadratically (measured on the real rows: MdAPE 20.7 % → 20.2 %, bench/quality).
    "objective": "huber",
    "alpha": 0.3,
    "n_estimators": 500,
    "num_leaves": 63,
    "learning_rate": 0.05,
    # Extremely randomised split thresholds with leaves down to 5 listings: on the real
    # rows MdAPE -0.8 pt on average and lower on each of five splits, R²(log) unchanged; on
    # 300k generated rows the same accuracy (bench/quality/experiments/NOTES.md).
    "min_child_samples": 5,
    "extra_trees": True,
    "subsample": 0.8,
    "subsample_freq": 1,
    "colsample_bytree": 0.8,
    "reg_lambda": 1.0,
}
DECISION_TREE_DEFAULTS: Final[dict[str, Any]] = {"max_depth": 14, "min_samples_leaf": 10}


def build_estimator(
    kind: ModelKind = "lightgbm", *, seed: int = 0, n_jobs: int = -1, **params: Any
) -> TransformedTargetRegressor:
    """An unfitted price model: ``fit(listings, prices)``, ``predict(listings) -> prices``."""
    if kind == "lightgbm":
        from lightgbm import LGBMRegressor

        regressor: Any = LGBMRegressor(
            **{**LIGHTGBM_DEFAULTS, **params}, random_state=seed, n_jobs=n_jobs, verbose=-1
        )
    elif kind == "decision_tree":
        from sklearn.tree import DecisionTreeRegressor

        regressor = DecisionTreeRegressor(**{**DECISION_TREE_DEFAULTS, **params}, random_state=seed)
    else:
        raise ValueError(f"unknown model kind {kind!r}; expected one of {MODEL_KINDS}")
    pipeline = Pipeline([("features", ListingEncoder(random_state=seed)), ("model", regressor)])
    return TransformedTargetRegressor(
        regressor=pipeline, func=np.log, inverse_func=np.exp, check_inverse=False
    )


@dataclass(frozen=True)
class ModelParts:
    """A fitted price model taken apart for serving."""

    kind: ModelKind
    encoder: ListingEncoder
    regressor: Any
    """The fitted ``LGBMRegressor`` or ``DecisionTreeRegressor`` (predicts log price)."""

    @property
    def booster(self) -> Any:
        """LightGBM's Booster (only for kind ``lightgbm``)."""
        return self.regressor.booster_


def model_parts(estimator: TransformedTargetRegressor) -> ModelParts:
    pipeline = estimator.regressor_
    regressor = pipeline.named_steps["model"]
    kind: ModelKind = "lightgbm" if hasattr(regressor, "booster_") else "decision_tree"
    return ModelParts(kind=kind, encoder=pipeline.named_steps["features"], regressor=regressor)


def listing_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The model's input columns of a listing table (cleandata rows or a raw batch)."""
    return frame.loc[:, list(INPUT_FIELDS)]


# --- measuring -----------------------------------------------------------------------------


def price_metrics(y_true: Any, y_pred: Any) -> dict[str, float]:
    """How good a set of prices is, on the dollar and on the log scale."""
    true = np.asarray(y_true, dtype="float64")
    pred = np.asarray(y_pred, dtype="float64")
    log_true, log_pred = np.log(true), np.log(pred)
    ape = np.abs(pred - true) / true

    def r2(a: np.ndarray, b: np.ndarray) -> float:
        total = float(np.sum((a - a.mean()) ** 2))
        return 1.0 - float(np.sum((a - b) ** 2)) / total if total > 0 else float("nan")

    return {
        "rmse": float(np.sqrt(np.mean((pred - true) ** 2))),
        "mae": float(np.mean(np.abs(pred - true))),
        "mdape": float(np.median(ape)),
        "r2": r2(true, pred),
        "rmse_log": float(np.sqrt(np.mean((log_pred - log_true) ** 2))),
        "mae_log": float(np.mean(np.abs(log_pred - log_true))),
        "r2_log": r2(log_true, log_pred),
        "within_10pct": float(np.mean(ape <= 0.10)),
        "n": float(len(true)),
    }


MIN_SEGMENT_ROWS: Final = 100
"""Calibration rows a segment needs for its own interval width (else the overall one)."""


@dataclass(frozen=True)
class PriceInterval:
    """Split-conformal interval on the log scale: price × exp(±halfwidth), per segment.

    The half-width is the calibration residuals' conformal quantile, so on exchangeable
    data at least ``coverage`` of true prices fall inside.  Land listings (no beds, baths
    or living area) are priced far less surely than houses; one width for both leaves
    land under-covered and houses with a range wider than they need, so each segment gets
    its own quantile (Mondrian conformal) when the calibration split holds enough of it,
    and ``log_halfwidth`` (all listings) otherwise.
    """

    coverage: float
    log_halfwidth: float
    house_log_halfwidth: float | None = None
    land_log_halfwidth: float | None = None

    def halfwidths(self, land: Any = None) -> Any:
        """Per-listing log half-width; ``land`` marks land listings (None: all alike)."""
        if land is None or (self.house_log_halfwidth is None and self.land_log_halfwidth is None):
            return self.log_halfwidth
        house = self.log_halfwidth if self.house_log_halfwidth is None else self.house_log_halfwidth
        plot = self.log_halfwidth if self.land_log_halfwidth is None else self.land_log_halfwidth
        return np.where(np.asarray(land, dtype=bool), plot, house)

    def bounds(self, price: Any, land: Any = None) -> tuple[Any, Any]:
        factor = np.exp(self.halfwidths(land))
        return np.asarray(price) / factor, np.asarray(price) * factor

    def to_dict(self) -> dict[str, float]:
        out = {"coverage": self.coverage, "log_halfwidth": self.log_halfwidth}
        if self.house_log_halfwidth is not None:
            out["house_log_halfwidth"] = self.house_log_halfwidth
        if self.land_log_halfwidth is not None:
            out["land_log_halfwidth"] = self.land_log_halfwidth
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PriceInterval:
        def optional(key: str) -> float | None:
            return float(data[key]) if data.get(key) is not None else None

        return cls(
            coverage=float(data["coverage"]),
            log_halfwidth=float(data["log_halfwidth"]),
            house_log_halfwidth=optional("house_log_halfwidth"),
            land_log_halfwidth=optional("land_log_halfwidth"),
        )


def _conformal_quantile(residuals: np.ndarray, coverage: float) -> float:
    n = len(residuals)
    level = min(1.0, np.ceil((n + 1) * coverage) / n)
    return float(np.quantile(residuals, level, method="higher"))


def conformal_interval(
    y_true: Any,
    y_pred: Any,
    coverage: float,
    land: Any = None,
    min_segment_rows: int = MIN_SEGMENT_ROWS,
) -> PriceInterval:
    """Calibrate the interval on held-out prices the model never trained on.

    With ``land`` (one flag per held-out listing), houses and land get their own width
    where the held-out prices hold at least ``min_segment_rows`` of that segment.
    """
    residuals = np.abs(
        np.log(np.asarray(y_true, "float64")) - np.log(np.asarray(y_pred, "float64"))
    )
    if len(residuals) == 0:
        raise ValueError("conformal calibration needs at least one held-out price")
    overall = _conformal_quantile(residuals, coverage)
    if land is None:
        return PriceInterval(coverage, overall)
    is_land = np.asarray(land, dtype=bool)
    if is_land.shape != residuals.shape:
        raise ValueError(f"{len(is_land)} land flags for {len(residuals)} held-out prices")
    widths = [
        _conformal_quantile(residuals[mask], coverage)
        if int(mask.sum()) >= min_segment_rows
        else None
        for mask in (~is_land, is_land)
    ]
    return PriceInterval(coverage, overall, *widths)
