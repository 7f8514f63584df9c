"""Small builders shared by tests: real rows, a quickly trained model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from homeval.data.listing_parser import parse_frame, read_listings_csv
from homeval.data.process import process_new
from homeval.data.store import Store
from homeval.platform.settings import Settings


def real_listings(files: list[Path]) -> pd.DataFrame:
    """Every distinct real row with a plausible price, parsed as the store keeps them."""
    frames = [parse_frame(read_listings_csv(f)).rows for f in files]
    rows = pd.concat(frames, ignore_index=True).drop_duplicates()
    return rows[rows["price"].between(10_000, 20_000_000)].reset_index(drop=True)


def small_model(frame: pd.DataFrame, kind: str = "lightgbm", **params: object):  # type: ignore[no-untyped-def]
    """A model fitted in a second or two (few trees), for tests of what wraps it."""
    from homeval.model.estimator import build_estimator

    defaults: dict[str, object] = (
        {"n_estimators": 30, "num_leaves": 15} if kind == "lightgbm" else {"max_depth": 6}
    )
    model = build_estimator(kind, **{**defaults, **params})  # type: ignore[arg-type]
    model.fit(frame, frame["price"].to_numpy(dtype=np.float64))
    return model


def cleaned_store(settings: Settings, files: list[Path]) -> Store:
    """A store holding the real extracts, ingested and cleaned as the pipeline does."""
    store = Store.from_settings(settings)
    store.init()
    for path in files:
        store.ingest_batch(parse_frame(read_listings_csv(path)), batch_id=path.name)
    process_new(store)
    return store
