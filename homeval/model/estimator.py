"""The model homeval trains and serves: encoder + tree regressor on log price, as one estimator.

The estimator is a scikit-learn ``TransformedTargetRegressor`` around a ``ListingModel``
(``features`` → ``model``): one object takes raw listing fields and returns dollars, so
MLflow, batch scoring and the predictor's slow path all load and call the same thing,
while the predictor's fast path reaches inside for the fitted encoder and the trees.
``ListingModel`` is a pipeline of two steps that also lets the encoder hand the trees
more rows than it was given (``ListingEncoder.training_matrix``: copies of training rows
with their state held out), which scikit-learn's ``Pipeline`` cannot.
Prices are modelled on the log scale because errors on houses are relative: $50k off on
a $100k cabin is not the same mistake as on a $5M villa.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.compose import TransformedTargetRegressor

from homeval.data.schema import INPUT_FIELDS
from homeval.model.features import ListingEncoder
from homeval.model.places import NOVELTY

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
DECISION_TREE_MAX_ROWS: Final = 400_000
"""Rows of the training matrix the decision tree is fitted on at most (a seeded sample):
depth 14 makes at most 16,384 leaves, 24 rows each on average at this size; fitted on the
1.8M rows of a 2.2M-row run it took 116 s of the pipeline's 10-minute budget for nothing
it could use."""


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
    max_rows = DECISION_TREE_MAX_ROWS if kind == "decision_tree" else None
    return TransformedTargetRegressor(
        regressor=ListingModel(ListingEncoder(random_state=seed), regressor, max_rows, seed),
        func=np.log,
        inverse_func=np.exp,
        check_inverse=False,
    )


@dataclass(frozen=True)
class Encoded:
    """A fitted encoder and the training matrix it made (rows and log-price targets)."""

    encoder: ListingEncoder
    matrix: pd.DataFrame
    target: np.ndarray


def encode(encoder: ListingEncoder, X: pd.DataFrame, y: Any) -> Encoded:
    """Fit a copy of ``encoder`` on listings and their log prices; its training matrix."""
    fitted = clone(encoder)
    matrix, target = fitted.training_matrix(X, y)
    return Encoded(fitted, matrix, target)


def fit_candidates(
    kinds: Mapping[str, Mapping[str, Any]],
    listings: pd.DataFrame,
    seed: int,
    seconds: dict[str, float] | None = None,
) -> dict[str, TransformedTargetRegressor]:
    """One estimator per kind (kind → its parameters), fitted on one shared encoding;
    ``seconds`` (if given) receives each kind's time: the encoding plus its own fit."""
    import time

    prices = listings["price"].to_numpy(dtype="float64")
    built = {
        kind: build_estimator(kind, seed=seed, **params)  # type: ignore[arg-type]
        for kind, params in kinds.items()
    }
    if not built:
        return {}
    started = time.perf_counter()
    shared = encode(next(iter(built.values())).regressor.features, listings, np.log(prices))
    encoding = time.perf_counter() - started
    fitted = {}
    for kind, estimator in built.items():
        started = time.perf_counter()
        fitted[kind] = estimator.fit(listings, prices, encoded=shared)
        if seconds is not None:
            seconds[kind] = encoding + time.perf_counter() - started
    return fitted


class ListingModel(RegressorMixin, BaseEstimator):
    """Raw listings → encoder → tree regressor (on log price).

    ``fit`` trains the trees on the encoder's training matrix (every row out of fold plus
    the held-out-state copies), ``predict`` encodes and prices; ``named_steps`` gives the
    fitted steps by the names a scikit-learn ``Pipeline`` would.
    """

    def __init__(
        self,
        features: ListingEncoder,
        model: Any,
        max_rows: int | None = None,
        random_state: int = 0,
    ) -> None:
        self.features = features
        self.model = model
        self.max_rows = max_rows
        self.random_state = random_state

    def fit(self, X: pd.DataFrame, y: Any, encoded: Encoded | None = None) -> ListingModel:
        """``encoded``: the training matrix of these rows already made by ``encode``
        (candidates of one training run share it: encoding costs as much as a fit).
        With ``max_rows``, the trees see a seeded sample of at most that many of its rows."""
        if encoded is None:
            encoded = encode(self.features, X, y)
        self.features_ = encoded.encoder
        matrix, target = encoded.matrix, encoded.target
        if self.max_rows is not None and len(matrix) > self.max_rows:
            rng = np.random.default_rng(self.random_state)
            rows = np.sort(rng.choice(len(matrix), size=self.max_rows, replace=False))
            matrix, target = matrix.iloc[rows], target[rows]
        self.model_ = clone(self.model).fit(matrix, target)
        self.n_features_in_ = self.features_.n_features_in_
        self.feature_names_in_ = self.features_.feature_names_in_
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.model_.predict(self.features_.transform(X)))

    @property
    def named_steps(self) -> dict[str, Any]:
        return {"features": self.features_, "model": self.model_}


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
"""Calibration rows a segment needs for its own interval width (else a wider one's)."""
KINDS: Final = ("house", "land")
SEGMENTS: Final = tuple(f"{kind}:{place}" for kind in KINDS for place in NOVELTY)
"""The interval's segments: what is listed (a house, or land: no beds, baths or living
area) × how well the model knows the place (``places.NOVELTY``)."""


def segment_names(land: Any, novelty: Any) -> np.ndarray:
    """``SEGMENTS`` name per listing from its land flag and novelty code."""
    code = np.asarray(land, dtype=bool).astype(int) * len(NOVELTY) + np.asarray(novelty, int)
    return np.asarray(SEGMENTS, dtype=object)[code]


@dataclass(frozen=True)
class PriceInterval:
    """Split-conformal interval on the log scale: price × exp(±halfwidth), per segment.

    The half-width is the calibration residuals' conformal quantile, so on exchangeable
    data at least ``coverage`` of true prices fall inside.  One width for every listing
    would be wrong twice over: land (no beds, baths or living area) is priced far less
    surely than houses, and a listing in a place the model never saw less surely than one
    in a ZIP it learnt from.  So each segment (``SEGMENTS``) gets its own quantile
    (Mondrian conformal), measured on calibration listings whose place was as new to the
    model that priced them (``training.calibration_residuals``); a segment with fewer
    than ``MIN_SEGMENT_ROWS`` of them takes the wider of its kind's and its novelty's.
    Models of before novelty segments carry only ``house_``/``land_log_halfwidth``.
    """

    coverage: float
    log_halfwidth: float
    house_log_halfwidth: float | None = None
    land_log_halfwidth: float | None = None
    segments: Mapping[str, float] = field(default_factory=dict)
    """Half-width per segment name (every one of ``SEGMENTS`` when set)."""
    segment_rows: Mapping[str, int] = field(default_factory=dict)
    """Calibration listings each segment's width was measured on (0: borrowed)."""

    def halfwidths(self, land: Any = None, novelty: Any = None) -> Any:
        """Per-listing log half-width; ``land`` marks land listings and ``novelty`` gives
        each one's ``NOVELTY`` code (None: all alike / unknown)."""
        if land is None:
            return self.log_halfwidth
        if self.segments and novelty is not None:
            table = np.array([self.segments[name] for name in SEGMENTS])
            code = np.asarray(land, dtype=bool).astype(int) * len(NOVELTY) + np.asarray(
                novelty, dtype=int
            )
            return table[code]
        if self.house_log_halfwidth is None and self.land_log_halfwidth is None:
            return self.log_halfwidth
        house = self.log_halfwidth if self.house_log_halfwidth is None else self.house_log_halfwidth
        plot = self.log_halfwidth if self.land_log_halfwidth is None else self.land_log_halfwidth
        return np.where(np.asarray(land, dtype=bool), plot, house)

    def bounds(self, price: Any, land: Any = None, novelty: Any = None) -> tuple[Any, Any]:
        factor = np.exp(self.halfwidths(land, novelty))
        return np.asarray(price) / factor, np.asarray(price) * factor

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"coverage": self.coverage, "log_halfwidth": self.log_halfwidth}
        if self.house_log_halfwidth is not None:
            out["house_log_halfwidth"] = self.house_log_halfwidth
        if self.land_log_halfwidth is not None:
            out["land_log_halfwidth"] = self.land_log_halfwidth
        if self.segments:
            out["segments"] = dict(self.segments)
            out["segment_rows"] = dict(self.segment_rows)
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
            segments={k: float(v) for k, v in (data.get("segments") or {}).items()},
            segment_rows={k: int(v) for k, v in (data.get("segment_rows") or {}).items()},
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
    novelty: Any = None,
    min_segment_rows: int = MIN_SEGMENT_ROWS,
) -> PriceInterval:
    """Calibrate the interval on held-out prices the model never trained on.

    With ``land`` (one flag per held-out listing), houses and land get their own width
    where the held-out prices hold at least ``min_segment_rows`` of that kind; with
    ``novelty`` too (``NOVELTY`` codes), every segment of ``SEGMENTS`` does, and within a
    kind a segment is never narrower than a better-known one (``NOVELTY`` order).
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

    def width(mask: np.ndarray) -> float | None:
        if int(mask.sum()) < min_segment_rows:
            return None
        return _conformal_quantile(residuals[mask], coverage)

    house, plot = width(~is_land), width(is_land)
    if novelty is None:
        return PriceInterval(coverage, overall, house, plot)
    code = np.asarray(novelty, dtype=int)
    if code.shape != residuals.shape:
        raise ValueError(f"{len(code)} novelty codes for {len(residuals)} held-out prices")
    kind_width = {
        "house": overall if house is None else house,
        "land": overall if plot is None else plot,
    }
    segments: dict[str, float] = {}
    rows: dict[str, int] = {}
    for kind, kind_mask in (("house", ~is_land), ("land", is_land)):
        known = 0.0
        for c, place in enumerate(NOVELTY):
            mask = kind_mask & (code == c)
            own = width(mask)
            name = f"{kind}:{place}"
            rows[name] = int(mask.sum()) if own is not None else 0
            if own is None:
                place_width = width(code == c)
                own = max(kind_width[kind], place_width if place_width is not None else overall)
            # knowing less of a place never narrows its range: a thin segment's quantile
            # is noisy, and a newer place priced tighter than a better-known one is
            # never what the rows mean
            known = max(known, own)
            segments[name] = known
    return PriceInterval(coverage, overall, house, plot, segments, rows)
