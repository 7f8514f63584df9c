"""A forest flattened into arrays: prices and exact TreeSHAP for rows, on one or more threads.

Built by ``homeval.model.trees.flatten`` from a fitted model; the loops it runs are in
``homeval.model.trees.loops``."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from functools import partial
from itertools import pairwise
from typing import Final

import numpy as np

from homeval.model import leafmasks
from homeval.model.trees.loops import BLOCK, tree_shap, walk
from homeval.model.trees.threads import (
    MIN_ROWS_PER_AWAITED_THREAD,
    MIN_ROWS_PER_SHAP_THREAD,
    MIN_ROWS_PER_THREAD,
    row_cuts,
    run_split,
    worker_pool,
)

# How a split treats missing values (LightGBM's missing types; scikit-learn is NAN_MISSING).
NONE_MISSING: Final = 0  # NaN is read as 0.0, then compared
ZERO_MISSING: Final = 1  # 0 (and NaN) go the default way
NAN_MISSING: Final = 2  # NaN goes the default way


@dataclass(frozen=True)
class Forest:
    """A sum of regression trees as flat arrays (``feature < 0`` marks a leaf)."""

    n_features: int
    roots: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    left: np.ndarray
    right: np.ndarray
    missing: np.ndarray
    default_left: np.ndarray
    value: np.ndarray
    float32_inputs: bool
    """scikit-learn compares float32 copies of the inputs; LightGBM compares doubles."""
    base_value: float
    """Expected output over the training data (cover-weighted leaves): SHAP's base value."""
    # leaf paths, for TreeSHAP
    n_players: int
    """Columns of ``shap``: the features, or the groups of them ``players`` named."""
    path_value: np.ndarray
    path_ptr: np.ndarray
    path_player: np.ndarray
    path_zero: np.ndarray
    cond_ptr: np.ndarray
    """Per path player: its conditions are ``cond_ptr[j]:cond_ptr[j + 1]`` (one per
    feature of the player split on along the path)."""
    cond_feature: np.ndarray
    cond_low: np.ndarray
    cond_high: np.ndarray
    cond_nan_ok: np.ndarray
    """Per condition: the row follows the path's splits on that feature iff
    low < x <= high, or, for a missing x, iff every split sends missing values the path's
    way.  A player is followed when all its conditions hold."""
    # branch-free layout for prediction: children side by side, leaves loop on themselves
    lay_meta: np.ndarray
    """Per node: feature | nan_right << 16 | left child << 17 (one load per step)."""
    lay_threshold: np.ndarray
    lay_value: np.ndarray
    lay_roots: np.ndarray
    lay_depth: np.ndarray
    # Gauss-Legendre tables that make the Shapley sums exact integrals (see tree_shap)
    quad_point: np.ndarray
    quad_weight: np.ndarray
    quad_power: np.ndarray
    path_work: np.ndarray
    """Cumulative TreeSHAP work before each path (to share paths evenly among threads)."""
    masks: leafmasks.LeafMasks | None = None
    """Per-bin leaf masks (``homeval.model.leafmasks``): prediction without walking the trees,
    when the forest fits their limits."""

    @property
    def n_trees(self) -> int:
        return len(self.roots)

    def _inputs(self, rows: np.ndarray) -> np.ndarray:
        rows = np.ascontiguousarray(rows, dtype=np.float64)
        if rows.ndim != 2 or rows.shape[1] != self.n_features:
            raise ValueError(f"expected a matrix with {self.n_features} columns, got {rows.shape}")
        if self.float32_inputs:
            rows = rows.astype(np.float32).astype(np.float64)
        return rows

    def predict(self, rows: np.ndarray, threads: int = 1) -> np.ndarray:
        """Raw model output per row (log price for homeval's models).

        With ``threads`` > 1 a large batch is cut into row blocks priced side by side (the
        loops release the GIL); each row's sum is the same as on one thread.
        """
        rows = self._inputs(rows)
        cuts = row_cuts(len(rows), threads, MIN_ROWS_PER_THREAD, align=BLOCK)
        parts = run_split([partial(self._predict_rows, rows[a:b]) for a, b in pairwise(cuts)])
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    async def predict_async(self, rows: np.ndarray, threads: int = 1) -> np.ndarray:
        """``predict`` on worker threads, awaited: the caller's event loop goes on serving
        other requests while the trees (which release the GIL) run on another core.  A
        server's loop is busier than its trees, so only a large request is split among
        the threads; the others take one thread each."""
        rows = self._inputs(rows)
        threads = max(1, threads)
        cuts = row_cuts(len(rows), threads, MIN_ROWS_PER_AWAITED_THREAD, align=BLOCK)
        workers = worker_pool(threads)
        if len(cuts) == 2:
            return await workers.submit_awaitable(partial(self._predict_rows, rows))
        jobs = [
            workers.submit_awaitable(partial(self._predict_rows, rows[a:b]))
            for a, b in pairwise(cuts)
        ]
        return np.concatenate(await asyncio.gather(*jobs))

    def _predict_rows(self, rows: np.ndarray) -> np.ndarray:
        if self.masks is not None:
            return self.masks.predict(rows)
        return walk(
            rows, self.lay_roots, self.lay_depth, self.lay_meta, self.lay_threshold, self.lay_value
        )

    def shap(self, rows: np.ndarray, threads: int = 1) -> np.ndarray:
        """Exact path-dependent TreeSHAP: one column per player (per feature unless the
        forest was built with ``players``), rows sum to ``predict(rows) - base_value``.

        With ``threads`` > 1 a few rows (one listing explained in a page) are explained by
        splitting the leaf paths among the threads and adding their partial sums; many
        rows are split by rows.
        """
        rows = self._inputs(rows)
        threads = max(1, threads)
        if len(rows) >= threads * MIN_ROWS_PER_SHAP_THREAD:
            cuts = row_cuts(len(rows), threads, MIN_ROWS_PER_SHAP_THREAD, align=1)
            every = len(self.path_value)
            jobs = [partial(self._shap_paths, rows[a:b], 0, every) for a, b in pairwise(cuts)]
            return np.concatenate(run_split(jobs))
        # balance the threads by work: a path of d features costs ~d * ceil(d/2)
        marks = np.linspace(0, self.path_work[-1], threads + 1)[1:-1]
        inner = np.searchsorted(self.path_work, marks).tolist()
        bounds = [0, *inner, len(self.path_value)]
        parts = run_split([partial(self._shap_paths, rows, a, b) for a, b in pairwise(bounds)])
        return np.sum(parts, axis=0) if len(parts) > 1 else parts[0]

    def _shap_paths(self, rows: np.ndarray, first: int, stop: int) -> np.ndarray:
        return tree_shap(
            rows,
            first,
            stop,
            self.n_players,
            self.path_value,
            self.path_ptr,
            self.path_player,
            self.path_zero,
            self.cond_ptr,
            self.cond_feature,
            self.cond_low,
            self.cond_high,
            self.cond_nan_ok,
            self.quad_point,
            self.quad_weight,
            self.quad_power,
        )

    def warm_up(self) -> None:
        """Compile the loops now (a second or two once per process), not on a request."""
        row = np.zeros((1, self.n_features))
        self.predict(row)
        self.shap(row)
