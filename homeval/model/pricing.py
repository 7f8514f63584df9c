"""A loaded price model made ready to serve: lookups-only encoding, compiled trees, SHAP.

``Pricer`` is what the predictor holds per served model.  It never builds a DataFrame or
calls a scikit-learn transformer per request: the encoder's ``encode_batch`` turns the
validated listing columns (or ``encode_records`` listing dicts) into the feature matrix
and ``homeval.model.trees`` prices and explains it.  Before a pricer is handed out it proves the
compiled trees give the library's own prices on probe listings (<= 1e-9 relative); if
not, it falls back to the library (LightGBM with ``num_threads=1``), so a surprise in a
future model costs speed, never correctness.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from homeval.data.listing_batch import ListingBatch, Listings
from homeval.model.estimator import segment_names
from homeval.model.explain import FEATURE_PLAYER, by_player, explain_rows
from homeval.model.feature_names import FEATURES, LAND_COLUMN
from homeval.model.features import novelty
from homeval.model.price_model import PriceModel
from homeval.model.trees.flatten import from_regressor
from homeval.model.trees.forest import Forest

log = logging.getLogger(__name__)

_CHECK_RTOL = 1e-9
OFFLOAD_ROWS = 32
"""From this many listings a request's trees (~2 µs a listing) are worth a thread hand-over
(~30 µs)."""


class ExplainUnavailableError(RuntimeError):
    """This model cannot be explained (no TreeSHAP for its kind)."""


@dataclass(frozen=True)
class Quote:
    """Dollars per listing, and the segment each one's interval is calibrated for."""

    prices: np.ndarray
    land: np.ndarray
    """True for land listings (no beds, baths or living area)."""
    novelty: np.ndarray
    """``places.NOVELTY`` code per listing: how well the model knows its place."""

    @property
    def segments(self) -> np.ndarray:
        """``estimator.SEGMENTS`` name per listing, e.g. ``'house:new_city'``."""
        return segment_names(self.land, self.novelty)


def _quote(features: np.ndarray, log_prices: np.ndarray) -> Quote:
    return Quote(np.exp(log_prices), features[:, LAND_COLUMN] == 1.0, novelty(features))


@dataclass(frozen=True)
class Pricer:
    """One served model version."""

    model: PriceModel
    forest: Forest | None
    """The compiled trees, or None when the library path is used."""
    threads: int = 1
    """Threads one large request (or one explanation) may share (``predictor_threads``)."""

    @property
    def version(self) -> str | None:
        return self.model.version

    @property
    def run_id(self) -> str | None:
        return self.model.resolved.run_id

    @property
    def kind(self) -> str:
        return self.model.parts.kind

    def encode(self, listings: Listings) -> np.ndarray:
        encoder = self.model.parts.encoder
        if isinstance(listings, ListingBatch):
            return encoder.encode_batch(listings)
        return encoder.encode_records(listings)

    def log_prices(self, features: np.ndarray) -> np.ndarray:
        if self.forest is not None:
            return self.forest.predict(features, self.threads)
        return _library_predict(self.model.parts.regressor, features)

    def prices(self, listings: Listings) -> np.ndarray:
        """Dollars per listing."""
        return self.quote(listings).prices

    def quote(self, listings: Listings) -> Quote:
        """Dollars per listing with each one's interval segment."""
        features = self.encode(listings)
        return _quote(features, self.log_prices(features))

    async def quote_async(self, listings: Listings) -> Quote:
        """``quote`` for a server's event loop: a request with many listings has its trees
        run on worker threads (``threads`` of them) while the loop serves other requests;
        a few listings cost less than the hand-over and are priced in place."""
        features = self.encode(listings)
        if self.forest is None or len(features) < OFFLOAD_ROWS:
            log_prices = self.log_prices(features)
        else:
            log_prices = await self.forest.predict_async(features, self.threads)
        return _quote(features, log_prices)

    def bounds(self, quote: Quote) -> tuple[np.ndarray, np.ndarray] | None:
        """The calibrated interval around each price, or None if the model has none."""
        if self.model.interval is None:
            return None
        low, high = self.model.interval.bounds(quote.prices, quote.land, quote.novelty)
        return np.asarray(low), np.asarray(high)

    @property
    def coverage(self) -> float | None:
        return self.model.interval.coverage if self.model.interval else None

    def explain(self, listings: Listings) -> list[dict[str, Any]]:
        """Exact TreeSHAP per field (log scale) with base value and price per listing.

        The compiled trees value ``explain.PLAYERS`` as the players; a model without them
        (a split the compiled trees cannot take) falls back to LightGBM's per-feature
        values summed per player, which add up to the same price but share a player's
        interactions among its features differently."""
        features = self.encode(listings)
        if self.forest is not None:
            contributions = self.forest.shap(features, self.threads)
            base = self.forest.base_value
            log_prices = self.forest.predict(features, self.threads)
        elif self.kind == "lightgbm":
            raw = self.model.parts.booster.predict(features, num_threads=1, pred_contrib=True)
            contributions, base = by_player(raw[:, :-1]), float(raw[0, -1])
            log_prices = raw.sum(axis=1)
        else:
            raise ExplainUnavailableError(f"no TreeSHAP for a {self.kind} model without fast trees")
        rows = explain_rows(contributions, base, log_prices)
        segments = _quote(features, np.asarray(log_prices)).segments
        for row, segment in zip(rows, segments, strict=True):
            row["segment"] = str(segment)
        return rows


def _library_predict(regressor: Any, features: np.ndarray) -> np.ndarray:
    if hasattr(regressor, "booster_"):
        return np.asarray(regressor.booster_.predict(features, num_threads=1))
    import pandas as pd

    return np.asarray(regressor.predict(pd.DataFrame(features, columns=list(FEATURES))))


def probe_records(model: PriceModel, limit: int = 40) -> list[dict[str, Any]]:
    """Listings that reach many branches: every known state, with and without sizes."""
    states = model.parts.encoder.categories["state"][:limit]
    out: list[dict[str, Any]] = []
    for i, state in enumerate(states or ["Connecticut"]):
        out.append({"state": state, "status": "for_sale"})
        out.append(
            {
                "state": state,
                "status": "sold",
                "bed": 1.0 + i % 6,
                "bath": 1.0 + i % 4,
                "acre_lot": 0.1 * (i + 1),
                "house_size": 800.0 + 150 * i,
                "prev_sold_date": f"{2000 + i % 24}-06-01",
            }
        )
    return out


def build_pricer(model: PriceModel, threads: int = 1) -> Pricer:
    """Flatten the trees, check them against the library, compile the loops."""
    try:
        forest: Forest | None = from_regressor(model.parts.regressor, players=FEATURE_PLAYER)
    except ValueError as exc:
        log.warning("model %s: no compiled trees (%s); using the library", model.version, exc)
        return Pricer(model=model, forest=None, threads=threads)
    assert forest is not None
    forest.warm_up()
    features = model.parts.encoder.encode_records(probe_records(model))
    expected = _library_predict(model.parts.regressor, features)
    got = forest.predict(features)
    if not np.allclose(got, expected, rtol=_CHECK_RTOL, atol=0.0):
        worst = float(np.max(np.abs(got - expected) / np.maximum(np.abs(expected), 1e-300)))
        log.warning(
            "model %s: compiled trees differ from the library (%.3g relative); using the library",
            model.version,
            worst,
        )
        return Pricer(model=model, forest=None, threads=threads)
    return Pricer(model=model, forest=forest, threads=threads)
