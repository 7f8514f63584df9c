"""Residuals for the price interval, measured on listings whose place was held out.

A split-conformal interval is only as honest as its calibration rows are like the
listings it will be used on.  Held-out *properties* are like listings of known places;
a national feed also brings ZIPs, cities and whole states the model never saw, and there
the model errs more — an interval calibrated on known places alone held 75 % of prices
in unseen states instead of 90 %.  So the calibration residuals also come from
cross-fitting by place: the training listings are cut into folds where a share of the
states, of the cities and of the ZIPs fall whole into one fold, a model of the same kind
is fitted without each fold and prices it, and each held-out listing is then as new to
that model as its fold made it (a whole state unseen, a city, a ZIP, or just the
property).  ``conformal_interval`` takes one width per segment from these residuals
together with the calibration split's.

On a large table the folds are cut from a sample (``max_rows``): the residuals of a
place the model never saw depend on what it knows around it, not on a million more rows
of known places, and the pipeline has a time budget.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
import pandas as pd

from homeval.data.properties import property_ids_of
from homeval.model.encoding import city_key
from homeval.model.features import land_mask, novelty

FOLDS: Final = 4
HELD_OUT_SHARES: Final = {"state": 0.25, "city": 0.25, "zip": 0.25}
"""Share of the states (then of the remaining cities, then of the remaining ZIPs) whose
listings fall whole into one fold; the other listings are split by property."""
MAX_ROWS: Final = 40_000


@dataclass(frozen=True)
class Residuals:
    """Held-out prices and what a model that never saw them said."""

    price: np.ndarray
    predicted: np.ndarray
    land: np.ndarray
    novelty: np.ndarray

    def __add__(self, other: Residuals) -> Residuals:
        return Residuals(
            *(
                np.concatenate([getattr(self, f), getattr(other, f)])
                for f in ("price", "predicted", "land", "novelty")
            )
        )


def predicted_residuals(estimator: Any, frame: pd.DataFrame) -> Residuals:
    """A fitted model's prices for ``frame``, with each listing's segment as it saw it."""
    from homeval.model.estimator import model_parts

    encoded = model_parts(estimator).encoder.transform(frame)
    return Residuals(
        price=frame["price"].to_numpy(dtype="float64"),
        predicted=np.asarray(estimator.predict(frame), dtype="float64"),
        land=land_mask(frame),
        novelty=novelty(encoded.to_numpy()),
    )


def place_folds(
    frame: pd.DataFrame,
    seed: int,
    n_folds: int = FOLDS,
    shares: dict[str, float] = HELD_OUT_SHARES,
) -> np.ndarray:
    """Fold per listing: whole states, cities or ZIPs for a share of them, else by property."""
    keys = {
        "state": frame["state"].astype(str),
        "city": pd.Series(
            [str(city_key(s, c)) for s, c in zip(frame["state"], frame["city"], strict=True)],
            index=frame.index,
        ),
        "zip": frame["zip_code"].astype(str),
    }
    folds = _hashed(property_ids_of(frame), f"p{seed}") % n_folds
    grouped = np.zeros(len(frame), dtype=bool)
    for level in ("state", "city", "zip"):
        key = keys[level]
        chosen = (_hashed(key, f"{level}{seed}") % 1_000_003) / 1_000_003 < shares[level]
        take = chosen & ~grouped
        folds = np.where(take, _hashed(key, f"{level}f{seed}") % n_folds, folds)
        grouped |= take
    return folds.astype(int)


def cross_fit_residuals(
    kinds: Mapping[str, Mapping[str, Any]],
    train: pd.DataFrame,
    seed: int,
    *,
    n_folds: int = FOLDS,
    max_rows: int = MAX_ROWS,
) -> dict[str, Residuals]:
    """Per kind (kind → its parameters): residuals of every (sampled) training listing from
    a model of that kind fitted without its fold (the kinds share each fold's encoding)."""
    from homeval.model.estimator import fit_candidates

    frame = sample_properties(train, max_rows, seed).reset_index(drop=True)
    folds = place_folds(frame, seed, n_folds)
    out: dict[str, Residuals] = {}
    for fold in range(n_folds):
        held = folds == fold
        if not held.any() or held.all():
            continue
        models = fit_candidates(kinds, frame.loc[~held], seed)
        for kind, model in models.items():
            part = predicted_residuals(model, frame.loc[held])
            out[kind] = out[kind] + part if kind in out else part
    if len(out) < len(kinds):
        raise ValueError("too few listings to cross-fit the interval's calibration")
    return out


def sample_properties(frame: pd.DataFrame, max_rows: int, seed: int) -> pd.DataFrame:
    """About ``max_rows`` of the listings, whole properties at a time (all of them when
    there are no more, or ``max_rows`` is 0): a seeded sample that keeps a property's
    listings together, the same in every run of one seed."""
    if max_rows <= 0 or len(frame) <= max_rows:
        return frame
    unit = (_hashed(property_ids_of(frame), f"sample{seed}") % 1_000_003) / 1_000_003
    return frame.loc[unit < max_rows / len(frame)]


def _hashed(values: pd.Series, salt: str) -> np.ndarray:
    key = f"{salt:>16}"[:16]
    series = pd.Series(values).astype(str).reset_index(drop=True)
    return pd.util.hash_pandas_object(series, index=False, hash_key=key).to_numpy()
