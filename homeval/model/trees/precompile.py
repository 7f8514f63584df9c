"""Filling numba's cache ahead of time, for the images that ship it."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from homeval.model.trees.flatten import from_lightgbm
from homeval.model.trees.loops import BLOCK, walk


def compile_ahead(players: Sequence[int] | None = None) -> None:
    """Compile every loop a served forest runs, on a throw-away forest, into numba's cache.

    The loops are cached per argument types, not per model, so an image build that calls
    this (with ``NUMBA_CACHE_DIR`` set) ships them compiled: a predictor started from the
    image loads machine code instead of compiling it, seconds off its cold start (the
    cache is used where the CPU matches the build machine's; elsewhere numba compiles as
    before).
    """
    import lightgbm

    rng = np.random.default_rng(0)
    n_features = len(players) if players is not None else 4
    x = rng.normal(size=(256, n_features))
    params = {"objective": "regression", "num_leaves": 7, "min_data_in_leaf": 5, "verbose": -1}
    booster = lightgbm.train(params, lightgbm.Dataset(x, x[:, 0]), num_boost_round=4)
    forest = from_lightgbm(booster, players)
    forest.warm_up()
    rows = x[: 2 * BLOCK]
    forest.predict(rows)
    forest.shap(rows)
    # the loop a forest runs when it has no leaf-mask table
    walk(rows, forest.lay_roots, forest.lay_depth, forest.lay_meta, forest.lay_threshold,
             forest.lay_value)  # fmt: skip
