"""Tree ensembles flattened into arrays and evaluated by compiled loops: prices and TreeSHAP.

Why not call the library?  At serving sizes its per-call overhead is most of the cost
(LightGBM spends ~150 µs to score one row through its Python wrapper, and ~15 ms to
explain it with ``pred_contrib`` because its trees are deep), while the trees themselves
are a few thousand comparisons.  Here a LightGBM booster or a scikit-learn decision tree
becomes one set of node arrays; ``predict`` walks them in a numba loop (the same
comparisons, the same summation order, so the same numbers as the library), and
``shap`` computes exact path-dependent TreeSHAP per leaf path: each path's unique
features with their zero fractions (products of cover ratios) are precomputed, and for a
row only the "one fractions" (does the row follow this path's splits?) change, so the
Shapley sums reduce to a small polynomial per path instead of TreeSHAP's recursion.

Features may be grouped into players (``players=``): a group is then one player of the
game, the way a person who typed one field sees the several features made of it (the
ZIP's coordinates, county and neighbour levels).  On a path, a group's splits merge like
a feature split twice: the zero fractions multiply and the row follows the group only if
it follows all its splits.  That is exact Shapley over the groups, not the sum of the
features' values, and cheaper: a path's cost grows with the square of its distinct
players.

Nothing here imports LightGBM or scikit-learn at module level: builders take the fitted
objects and read their public dumps.
"""

from __future__ import annotations

import asyncio
import math
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from functools import partial
from itertools import pairwise
from typing import Any, Final

import numba
import numpy as np

from homeval.model import leafmasks

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
    # Gauss-Legendre tables that make the Shapley sums exact integrals (see _shap)
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
        cuts = _row_cuts(len(rows), threads, _MIN_ROWS_PER_THREAD, align=_BLOCK)
        parts = _run_split([partial(self._predict_rows, rows[a:b]) for a, b in pairwise(cuts)])
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    async def predict_async(self, rows: np.ndarray, threads: int = 1) -> np.ndarray:
        """``predict`` on worker threads, awaited: the caller's event loop goes on serving
        other requests while the trees (which release the GIL) run on another core.  A
        server's loop is busier than its trees, so only a large request is split among
        the threads; the others take one thread each."""
        rows = self._inputs(rows)
        threads = max(1, threads)
        cuts = _row_cuts(len(rows), threads, _MIN_ROWS_PER_AWAITED_THREAD, align=_BLOCK)
        workers = _workers(threads)
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
        return _predict(
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
        if len(rows) >= threads * _MIN_ROWS_PER_SHAP_THREAD:
            cuts = _row_cuts(len(rows), threads, _MIN_ROWS_PER_SHAP_THREAD, align=1)
            every = len(self.path_value)
            jobs = [partial(self._shap_paths, rows[a:b], 0, every) for a, b in pairwise(cuts)]
            return np.concatenate(_run_split(jobs))
        # balance the threads by work: a path of d features costs ~d * ceil(d/2)
        marks = np.linspace(0, self.path_work[-1], threads + 1)[1:-1]
        inner = np.searchsorted(self.path_work, marks).tolist()
        bounds = [0, *inner, len(self.path_value)]
        parts = _run_split([partial(self._shap_paths, rows, a, b) for a, b in pairwise(bounds)])
        return np.sum(parts, axis=0) if len(parts) > 1 else parts[0]

    def _shap_paths(self, rows: np.ndarray, first: int, stop: int) -> np.ndarray:
        return _shap(
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


# --- sharing one call among threads -------------------------------------------------------

_MIN_ROWS_PER_THREAD: Final = 32
"""Below this many rows per thread, handing work to another thread costs more than it saves."""
_MIN_ROWS_PER_AWAITED_THREAD: Final = 256
"""An awaited request is split only from here: the server's loop, not its trees, is busy."""
_MIN_ROWS_PER_SHAP_THREAD: Final = 4


class _Workers:
    """Daemon threads serving one queue of jobs, for callers that block on a
    ``concurrent.futures.Future`` and for event loops, whose answer goes back with
    ``call_soon_threadsafe`` (``run_in_executor`` does the same through two chained
    futures and an executor's bookkeeping, a visible share of a busy server's loop)."""

    def __init__(self, n: int) -> None:
        self._jobs: queue.SimpleQueue[tuple[Callable[[], Any], _Settle]] = queue.SimpleQueue()
        for i in range(n):
            threading.Thread(target=self._serve, name=f"fasttrees_{i}", daemon=True).start()

    def submit(self, job: Callable[[], Any]) -> Future[Any]:
        future: Future[Any] = Future()
        self._jobs.put((job, partial(_settle, future)))
        return future

    def submit_awaitable(self, job: Callable[[], Any]) -> asyncio.Future[Any]:
        loop = asyncio.get_running_loop()
        future = loop.create_future()

        def settle(result: Any, exc: BaseException | None) -> None:
            loop.call_soon_threadsafe(_settle, future, result, exc)

        self._jobs.put((job, settle))
        return future

    def _serve(self) -> None:
        while True:
            job, settle = self._jobs.get()
            try:
                result = job()
            except BaseException as exc:  # handed to the waiting caller, not lost here
                settle(None, exc)
            else:
                settle(result, None)


_Settle = Callable[[Any, BaseException | None], Any]


def _settle(
    future: Future[Any] | asyncio.Future[Any], result: Any, exc: BaseException | None
) -> None:
    if future.cancelled():
        return
    if exc is None:
        future.set_result(result)
    else:
        future.set_exception(exc)


_workers_by_count: dict[int, _Workers] = {}
_workers_lock = threading.Lock()


def _workers(n: int) -> _Workers:
    with _workers_lock:
        workers = _workers_by_count.get(n)
        if workers is None:
            workers = _workers_by_count[n] = _Workers(n)
        return workers


def _row_cuts(n: int, threads: int, minimum: int, align: int) -> list[int]:
    """Row boundaries (multiples of ``align``) giving each thread at least ``minimum`` rows."""
    parts = max(1, min(threads, n // minimum))
    step = n / parts
    inner = {min(n, round(step * i / align) * align) for i in range(1, parts)}
    return sorted({0, n} | inner)


def _run_split(jobs: Sequence[Callable[[], np.ndarray]]) -> list[np.ndarray]:
    """Run the first job here and the others on the pool (numba loops release the GIL)."""
    if len(jobs) == 1:
        return [jobs[0]()]
    futures = [_workers(len(jobs) - 1).submit(job) for job in jobs[1:]]
    first = jobs[0]()
    return [first, *(future.result() for future in futures)]


# --- building -----------------------------------------------------------------------------


class _Builder:
    """Collects nodes of many trees, then derives the leaf paths TreeSHAP needs."""

    def __init__(self) -> None:
        self.feature: list[int] = []
        self.threshold: list[float] = []
        self.left: list[int] = []
        self.right: list[int] = []
        self.missing: list[int] = []
        self.default_left: list[bool] = []
        self.value: list[float] = []
        self.cover: list[float] = []
        self.roots: list[int] = []

    def node(
        self,
        *,
        feature: int = -1,
        threshold: float = 0.0,
        missing: int = NAN_MISSING,
        default_left: bool = False,
        value: float = 0.0,
        cover: float = 0.0,
    ) -> int:
        self.feature.append(feature)
        self.threshold.append(threshold)
        self.left.append(-1)
        self.right.append(-1)
        self.missing.append(missing)
        self.default_left.append(default_left)
        self.value.append(value)
        self.cover.append(cover)
        return len(self.feature) - 1

    def build(
        self, n_features: int, float32_inputs: bool, players: Sequence[int] | None = None
    ) -> Forest:
        player = list(range(n_features)) if players is None else [int(p) for p in players]
        if len(player) != n_features or min(player, default=0) < 0:
            raise ValueError(f"players must name a player index for each of {n_features} features")
        n_players = max(player, default=-1) + 1
        path_value: list[float] = []
        path_ptr = [0]
        path_player: list[int] = []
        path_zero: list[float] = []
        cond_ptr = [0]
        cond_feature: list[int] = []
        cond_low: list[float] = []
        cond_high: list[float] = []
        cond_nan_ok: list[bool] = []
        base = 0.0
        for root in self.roots:
            # iterative DFS carrying the splits taken so far
            stack: list[tuple[int, list[tuple[int, bool]]]] = [(root, [])]
            while stack:
                node, taken = stack.pop()
                if self.feature[node] >= 0:
                    stack.append((self.right[node], [*taken, (node, False)]))
                    stack.append((self.left[node], [*taken, (node, True)]))
                    continue
                # a player split on twice is one slot: its zero fractions multiply and the
                # row follows it only if it follows every one of its splits
                zero: dict[int, float] = {}
                bounds: dict[int, dict[int, list[Any]]] = {}
                for parent, went_left in taken:
                    child = self.left[parent] if went_left else self.right[parent]
                    ratio = self.cover[child] / self.cover[parent] if self.cover[parent] else 0.0
                    feature = self.feature[parent]
                    slot = player[feature]
                    zero[slot] = zero.get(slot, 1.0) * ratio
                    cond = bounds.setdefault(slot, {}).setdefault(
                        feature, [-math.inf, math.inf, True]
                    )
                    if went_left:
                        cond[1] = min(cond[1], self.threshold[parent])
                    else:
                        cond[0] = max(cond[0], self.threshold[parent])
                    cond[2] = cond[2] and self._nan_right(parent) != went_left
                for slot, ratio in zero.items():
                    path_player.append(slot)
                    path_zero.append(ratio)
                    for feature, (low, high, nan_ok) in bounds[slot].items():
                        cond_feature.append(feature)
                        cond_low.append(low)
                        cond_high.append(high)
                        cond_nan_ok.append(nan_ok)
                    cond_ptr.append(len(cond_feature))
                path_ptr.append(len(path_player))
                path_value.append(self.value[node])
                base += self.value[node] * (math.prod(zero.values()) if taken else 1.0)
        # paths of one length side by side: the loops' trip counts then repeat from one
        # path to the next (the CPU predicts them) and the sum is the same
        order = np.argsort(np.diff(np.asarray(path_ptr)), kind="stable")
        slots, ptr = _gather(np.asarray(path_ptr, dtype=np.int64), order)
        conds, cptr = _gather(np.asarray(cond_ptr, dtype=np.int64), slots)
        width = max(1, int(np.diff(ptr).max(initial=1)))
        return Forest(
            n_features=n_features,
            roots=np.asarray(self.roots, dtype=np.int32),
            feature=np.asarray(self.feature, dtype=np.int32),
            threshold=np.asarray(self.threshold, dtype=np.float64),
            left=np.asarray(self.left, dtype=np.int32),
            right=np.asarray(self.right, dtype=np.int32),
            missing=np.asarray(self.missing, dtype=np.int8),
            default_left=np.asarray(self.default_left, dtype=np.bool_),
            value=np.asarray(self.value, dtype=np.float64),
            float32_inputs=float32_inputs,
            base_value=base,
            n_players=n_players,
            path_value=np.asarray(path_value, dtype=np.float64)[order],
            path_ptr=ptr.astype(np.int32),
            path_work=_path_work(ptr.tolist()),
            path_player=np.asarray(path_player, dtype=np.int32)[slots],
            path_zero=np.asarray(path_zero, dtype=np.float64)[slots],
            cond_ptr=cptr.astype(np.int32),
            cond_feature=np.asarray(cond_feature, dtype=np.int32)[conds],
            cond_low=np.asarray(cond_low, dtype=np.float64)[conds],
            cond_high=np.asarray(cond_high, dtype=np.float64)[conds],
            cond_nan_ok=np.asarray(cond_nan_ok, dtype=np.bool_)[conds],
            **self._layout(),
            **_quadrature_tables(width),
            masks=leafmasks.build(
                n_features=n_features,
                roots=self.roots,
                feature=self.feature,
                threshold=self.threshold,
                left=self.left,
                right=self.right,
                nan_right=[self._nan_right(n) for n in range(len(self.feature))],
                value=self.value,
            ),
        )

    def _nan_right(self, node: int) -> bool:
        """Does a missing value go right at this split?  (The one rule the walk, the leaf
        masks and TreeSHAP's paths all follow.)"""
        if self.missing[node] == NONE_MISSING:  # read as 0.0, then compared
            return self.threshold[node] < 0.0
        return not self.default_left[node]

    def _layout(self) -> dict[str, np.ndarray]:
        """Renumber nodes tree by tree, breadth first, so a node's children are adjacent
        (right = left + 1) and a step is ``child + goes_right`` with no branch; a leaf's
        child is itself and its threshold +inf, so extra steps stay put."""
        feature: list[int] = []
        threshold: list[float] = []
        child: list[int] = []
        nan_right: list[bool] = []
        value: list[float] = []
        roots: list[int] = []
        depths: list[int] = []
        for root in self.roots:
            roots.append(len(feature))
            order = [(root, 0)]
            position = {root: len(feature)}
            feature.append(0)
            threshold.append(0.0)
            child.append(0)
            nan_right.append(False)
            value.append(0.0)
            depth = 0
            head = 0
            while head < len(order):
                node, level = order[head]
                head += 1
                at = position[node]
                depth = max(depth, level)
                if self.feature[node] < 0:
                    feature[at], threshold[at], child[at] = 0, math.inf, at
                    value[at] = self.value[node]
                    continue
                if self.missing[node] == ZERO_MISSING:
                    raise ValueError("zero-as-missing splits have no branch-free layout")
                feature[at], child[at] = self.feature[node], len(feature)
                threshold[at] = self.threshold[node]
                nan_right[at] = self._nan_right(node)
                for kid in (self.left[node], self.right[node]):
                    position[kid] = len(feature)
                    feature.append(0)
                    threshold.append(0.0)
                    child.append(0)
                    nan_right.append(False)
                    value.append(0.0)
                    order.append((kid, level + 1))
            depths.append(depth)
        if max(feature, default=0) >= 1 << 16:
            raise ValueError("more than 65,536 features have no packed layout")
        meta = (
            np.asarray(feature, dtype=np.int64)
            | (np.asarray(nan_right, dtype=np.int64) << 16)
            | (np.asarray(child, dtype=np.int64) << 17)
        )
        return {
            "lay_meta": meta,
            "lay_threshold": np.asarray(threshold, dtype=np.float64),
            "lay_value": np.asarray(value, dtype=np.float64),
            "lay_roots": np.asarray(roots, dtype=np.int32),
            "lay_depth": np.asarray(depths, dtype=np.int32),
        }


def _gather(ptr: np.ndarray, order: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Blocks ``ptr[i]:ptr[i + 1]`` taken in ``order``: the element indices and new ptr."""
    lengths = np.diff(ptr)[order]
    new_ptr = np.concatenate([[0], np.cumsum(lengths)])
    index = np.repeat(ptr[:-1][order] - new_ptr[:-1], lengths) + np.arange(new_ptr[-1])
    return index, new_ptr


def _path_work(path_ptr: list[int]) -> np.ndarray:
    lengths = np.diff(np.asarray(path_ptr, dtype=np.int64))
    work = lengths * np.maximum(1, (lengths + 1) // 2) + 1
    return np.concatenate([[0], np.cumsum(work)])


def _quadrature_tables(width: int) -> dict[str, np.ndarray]:
    """Gauss-Legendre nodes on [0, 1] for each path length d, and ``(1 - t)^e``.

    The Shapley weight ``s! (d-s-1)! / d!`` is the Beta integral of ``t^s (1-t)^(d-s-1)``,
    so a path's weighted sum over coalitions is the integral over [0, 1] of a polynomial
    of degree d - 1, which Gauss-Legendre with ceil(d/2) nodes computes exactly.  The
    per-feature factors ``t + z (1 - t)`` are formed in the loop: a table of them per path
    was larger than the trees and reading it cost more than the arithmetic.
    """
    nodes = max(1, math.ceil(width / 2))
    weight = np.zeros((width + 1, nodes))
    power = np.zeros((width + 1, nodes, width + 1))
    points = np.zeros((width + 1, nodes))
    for d in range(1, width + 1):
        k = max(1, math.ceil(d / 2))
        x, w = np.polynomial.legendre.leggauss(k)
        t = (x + 1.0) / 2.0
        points[d, :k] = t
        weight[d, :k] = w / 2.0
        for e in range(width + 1):
            power[d, :k, e] = (1.0 - t) ** e
    return {"quad_point": points, "quad_weight": weight, "quad_power": power}


_LGB_MISSING: Final = {"None": NONE_MISSING, "Zero": ZERO_MISSING, "NaN": NAN_MISSING}


def from_lightgbm(booster: Any, players: Sequence[int] | None = None) -> Forest:
    """A LightGBM regression booster (numerical splits only, one output) as a Forest.

    ``players`` (one index per feature) groups features whose TreeSHAP value is wanted as
    one: each group is one player of the Shapley game, not the sum of its features'
    values (see ``Forest.shap``)."""
    dump = booster.dump_model()
    if dump.get("num_tree_per_iteration", 1) != 1:
        raise ValueError("only single-output LightGBM models can be flattened")
    builder = _Builder()
    for tree in dump["tree_info"]:
        builder.roots.append(_lgb_node(builder, tree["tree_structure"]))
    return builder.build(int(dump["max_feature_idx"]) + 1, float32_inputs=False, players=players)


def _lgb_node(builder: _Builder, root: dict[str, Any]) -> int:
    def make(spec: dict[str, Any]) -> int:
        if "split_feature" not in spec:
            return builder.node(
                value=float(spec["leaf_value"]), cover=float(spec.get("leaf_count", 1))
            )
        if spec.get("decision_type", "<=") != "<=":
            raise ValueError("categorical LightGBM splits are not supported by the fast path")
        return builder.node(
            feature=int(spec["split_feature"]),
            threshold=float(spec["threshold"]),
            missing=_LGB_MISSING[spec.get("missing_type", "None")],
            default_left=bool(spec.get("default_left", True)),
            cover=float(spec.get("internal_count", 1)),
        )

    # explicit stack: LightGBM trees can be deeper than Python's comfortable recursion
    top = make(root)
    stack = [(root, top)]
    while stack:
        spec, index = stack.pop()
        if "split_feature" not in spec:
            continue
        for side, attr in (("left_child", builder.left), ("right_child", builder.right)):
            child_spec = spec[side]
            child = make(child_spec)
            attr[index] = child
            stack.append((child_spec, child))
    return top


def from_sklearn_tree(tree_model: Any, players: Sequence[int] | None = None) -> Forest:
    """A fitted scikit-learn ``DecisionTreeRegressor`` (single output) as a Forest."""
    tree = tree_model.tree_
    if tree.n_outputs != 1:
        raise ValueError("only single-output trees can be flattened")
    go_left = getattr(tree, "missing_go_to_left", None)
    builder = _Builder()
    offset = len(builder.feature)
    for i in range(tree.node_count):
        leaf = tree.children_left[i] < 0
        builder.node(
            feature=-1 if leaf else int(tree.feature[i]),
            threshold=float(tree.threshold[i]),
            missing=NAN_MISSING,
            default_left=bool(go_left[i]) if go_left is not None else False,
            value=float(tree.value[i].ravel()[0]),
            cover=float(tree.weighted_n_node_samples[i]),
        )
        if not leaf:
            builder.left[offset + i] = offset + int(tree.children_left[i])
            builder.right[offset + i] = offset + int(tree.children_right[i])
    builder.roots.append(offset)
    return builder.build(int(tree_model.n_features_in_), float32_inputs=True, players=players)


def from_regressor(regressor: Any, players: Sequence[int] | None = None) -> Forest:
    """Whichever regressor homeval trains (LightGBM or a decision tree)."""
    if hasattr(regressor, "booster_"):
        return from_lightgbm(regressor.booster_, players)
    if hasattr(regressor, "tree_"):
        return from_sklearn_tree(regressor, players)
    raise ValueError(f"no fast path for {type(regressor).__name__}")


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
    rows = x[: 2 * _BLOCK]
    forest.predict(rows)
    forest.shap(rows)
    # the loop a forest runs when it has no leaf-mask table
    _predict(rows, forest.lay_roots, forest.lay_depth, forest.lay_meta, forest.lay_threshold,
             forest.lay_value)  # fmt: skip


# --- compiled loops -----------------------------------------------------------------------


_BLOCK: Final = 16  # trees (one row) or rows (many rows) stepped together


@numba.njit(inline="always")
def _step(x: float, meta: int, threshold: float) -> int:
    """Next node, without a branch: left child + 1 when the row goes right."""
    right = (x > threshold) | (math.isnan(x) & (((meta >> 16) & 1) == 1))
    return (meta >> 17) + right


@numba.njit(cache=True, nogil=True)
def _predict(rows, roots, depth, meta, threshold, value):  # type: ignore[no-untyped-def]
    n = rows.shape[0]
    n_trees = roots.shape[0]
    out = np.zeros(n)
    node = np.empty(_BLOCK, dtype=np.int64)
    if n < _BLOCK:
        # few rows: step a block of trees side by side for each row, until all reach leaves
        for i in range(n):
            total = 0.0
            for t0 in range(0, n_trees, _BLOCK):
                width = min(t0 + _BLOCK, n_trees) - t0
                for b in range(width):
                    node[b] = roots[t0 + b]
                while True:
                    for _ in range(4):
                        for b in range(width):
                            at = node[b]
                            node[b] = _step(rows[i, meta[at] & 0xFFFF], meta[at], threshold[at])
                    done = True
                    for b in range(width):
                        if threshold[node[b]] != np.inf:  # leaves carry +inf
                            done = False
                    if done:
                        break
                for b in range(width):
                    total += value[node[b]]
            out[i] = total
        return out
    # many rows: step a block of rows side by side through each tree (same sum order)
    for i0 in range(0, n, _BLOCK):
        width = min(i0 + _BLOCK, n) - i0
        for t in range(n_trees):
            for r in range(width):
                node[r] = roots[t]
            steps = 0
            while steps < depth[t]:
                for _ in range(4):
                    for r in range(width):
                        at = node[r]
                        node[r] = _step(rows[i0 + r, meta[at] & 0xFFFF], meta[at], threshold[at])
                steps += 4
                done = True
                for r in range(width):
                    if threshold[node[r]] != np.inf:
                        done = False
                if done:
                    break
            for r in range(width):
                out[i0 + r] += value[node[r]]
    return out


@numba.njit(cache=True, nogil=True)
def _shap(  # type: ignore[no-untyped-def]
    rows,
    first_path,
    stop_path,
    n_players,
    path_value,
    path_ptr,
    path_player,
    path_zero,
    cond_ptr,
    cond_feature,
    cond_low,
    cond_high,
    cond_nan_ok,
    quad_point,
    quad_weight,
    quad_power,
):
    out = np.zeros((rows.shape[0], n_players))
    s0 = path_ptr[first_path]
    s1 = path_ptr[stop_path]
    held = np.empty(cond_ptr[s1] - cond_ptr[s0], dtype=np.bool_)
    one = np.empty(s1 - s0)
    prod = np.zeros(quad_weight.shape[1])
    for i in range(rows.shape[0]):
        _follows(
            rows[i], s0, s1, cond_ptr, cond_feature, cond_low, cond_high, cond_nan_ok, held, one
        )
        _path_sums(
            out[i],
            one,
            first_path,
            stop_path,
            path_value,
            path_ptr,
            path_player,
            path_zero,
            quad_point,
            quad_weight,
            quad_power,
            prod,
        )
    return out


@numba.njit(cache=True, nogil=True)
def _follows(  # type: ignore[no-untyped-def]
    row, s0, s1, cond_ptr, cond_feature, cond_low, cond_high, cond_nan_ok, held, one
):
    """``one[s - s0]`` = 1.0 if the row follows path player s's splits, else 0.0.

    Every condition first, in one branch-free pass (it vectorises), then an AND per player;
    testing conditions path by path with branches cost twice the Shapley sums."""
    c0 = cond_ptr[s0]
    for c in range(c0, cond_ptr[s1]):
        x = row[cond_feature[c]]
        held[c - c0] = ((cond_low[c] < x) & (x <= cond_high[c])) | ((x != x) & cond_nan_ok[c])
    for s in range(s0, s1):
        follows = held[cond_ptr[s] - c0]
        for c in range(cond_ptr[s] + 1, cond_ptr[s + 1]):
            follows &= held[c - c0]
        one[s - s0] = 1.0 if follows else 0.0


@numba.njit(cache=True, nogil=True, fastmath=True)
def _path_sums(  # type: ignore[no-untyped-def]
    out,
    one,
    first_path,
    stop_path,
    path_value,
    path_ptr,
    path_player,
    path_zero,
    quad_point,
    quad_weight,
    quad_power,
    prod,
):
    """Add each path's Shapley values to ``out`` (one row), given which players it follows.

    For a path of d players, m of them followed, each followed player j gets
    ``v (1 - z_j) ∫ prod_{i followed, i != j} (t + z_i (1 - t)) (1 - t)^(d-m) dt`` and
    each other player ``-v ∫ prod_{i followed} (t + z_i (1 - t)) (1 - t)^(d-1-m) dt``,
    where v is the leaf value times the zero fractions of the players not followed.  The
    arithmetic is branch-free (``o`` is 0.0 or 1.0), so the CPU need not guess which
    players a row follows.  Fast math is safe here: no value is NaN or infinite (the
    conditions, which meet NaN and ±inf, are tested in ``_follows``)."""
    s0 = path_ptr[first_path]
    for p in range(first_path, stop_path):
        start = path_ptr[p]
        d = path_ptr[p + 1] - start
        k = (d + 1) // 2
        for q in range(k):
            prod[q] = 1.0
        m = 0
        scale = 1.0
        for j in range(d):
            z = path_zero[start + j]
            o = one[start + j - s0]
            m += int(o)
            scale *= 1.0 + (1.0 - o) * (z - 1.0)
            for q in range(k):
                prod[q] *= 1.0 + o * (z - 1.0) * (1.0 - quad_point[d, q])
        v = path_value[p] * scale
        missed = 0.0
        if m < d:
            for q in range(k):
                missed += quad_weight[d, q] * quad_power[d, q, d - 1 - m] * prod[q]
            missed *= -v
        for q in range(k):
            prod[q] *= quad_weight[d, q] * quad_power[d, q, d - m]
        for j in range(d):
            z = path_zero[start + j]
            o = one[start + j - s0]
            acc = 0.0
            for q in range(k):
                acc += prod[q] / (1.0 + o * (z - 1.0) * (1.0 - quad_point[d, q]))
            out[path_player[start + j]] += o * v * (1.0 - z) * acc + (1.0 - o) * missed
