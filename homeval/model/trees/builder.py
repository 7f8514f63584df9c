"""Building a Forest: nodes of many trees collected, then the leaf paths TreeSHAP needs, the
branch-free layout prediction walks and the quadrature tables of the Shapley sums."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from homeval.model import leafmasks
from homeval.model.trees.forest import NAN_MISSING, NONE_MISSING, ZERO_MISSING, Forest


class Builder:
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
