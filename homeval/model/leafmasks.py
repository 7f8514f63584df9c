"""Forest prediction without walking the trees: one bitmask of surviving leaves per tree.

Walking 500 leaf-wise trees (mean depth 14, paths of ~8 steps) costs ~12 µs a row even
branch-free, because every step waits for the previous one.  QuickScorer (Lucchese et al.,
SIGIR 2015) turned the walk around: number each tree's leaves left to right; a split the
row does *not* take to the left removes its left subtree's leaves from the tree's bitmask;
after all such splits the exit leaf is the lowest bit still set.  Which splits go right
depends only on where the row's value falls among the thresholds of that feature, so
here the masks are precomputed per feature and *bin* (the interval between two adjacent
thresholds of the forest, plus one bin for a missing value): ``table[bin of feature f]``
holds, for every tree at once, the AND of the masks of all its splits on ``f`` that such
a value goes right of.  A row is then one binary search per feature, one AND of a
contiguous row of ``n_trees`` words per feature (vectorised by the compiler), and one
count-trailing-zeros per tree: ~0.25 µs instead of ~12 µs a row for homeval's models,
with the same comparisons (``x > threshold`` ⇔ ``bin > rank of threshold``) and the same
tree-by-tree summation, so the same numbers.

Limits: a tree needs at most 64 leaves (LightGBM's usual ``num_leaves`` <= 63 fits; a deep
scikit-learn tree does not), and the table (bins × trees × 8 bytes; 34 MB for 500 trees
over 46 features) must stay under ``MAX_TABLE_BYTES``.  ``build`` returns None otherwise
and the caller walks the trees.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic

MAX_LEAVES: Final = 64
MAX_TABLE_BYTES: Final = 128 * 1024 * 1024
_ALL: Final = np.uint64(0xFFFF_FFFF_FFFF_FFFF)


@dataclass(frozen=True)
class LeafMasks:
    """The precomputed masks of one forest (see the module docstring)."""

    features: np.ndarray
    """The features any tree splits on (the others cannot change a mask)."""
    cut_ptr: np.ndarray
    cut_value: np.ndarray
    """Sorted distinct thresholds of ``features[j]``: ``cut_value[cut_ptr[j]:cut_ptr[j+1]]``."""
    bin_ptr: np.ndarray
    """First table row of each used feature; its bins are 0..n_cuts (a number) and
    n_cuts + 1 (a missing value)."""
    table: np.ndarray
    leaf_value: np.ndarray
    """Leaf values, ``MAX_LEAVES`` slots per tree, in left-to-right leaf order."""

    @property
    def nbytes(self) -> int:
        return int(self.table.nbytes + self.leaf_value.nbytes + self.cut_value.nbytes)

    def predict(self, rows: np.ndarray) -> np.ndarray:
        """Sum of the trees' leaf values per row (rows: float64, C-contiguous)."""
        return _predict(
            rows,
            self.features,
            self.cut_ptr,
            self.cut_value,
            self.bin_ptr,
            self.table,
            self.leaf_value,
        )


def build(
    *,
    n_features: int,
    roots: Sequence[int],
    feature: Sequence[int],
    threshold: Sequence[float],
    left: Sequence[int],
    right: Sequence[int],
    nan_right: Sequence[bool],
    value: Sequence[float],
) -> LeafMasks | None:
    """Masks for a forest given as node lists (``feature < 0`` marks a leaf); None if the
    forest is outside the limits above.  ``nan_right[n]``: a missing value goes right."""
    feature_arr = np.asarray(feature, dtype=np.int64)
    threshold_arr = np.asarray(threshold, dtype=np.float64)
    split = feature_arr >= 0
    used = np.unique(feature_arr[split])
    if len(used) and (used[-1] >= n_features):
        raise ValueError(f"a split uses feature {used[-1]} of {n_features}")
    cuts = [np.unique(threshold_arr[split & (feature_arr == f)]) for f in used]
    n_bins = np.array([len(c) + 2 for c in cuts], dtype=np.int64)
    bin_ptr = np.zeros(len(used) + 1, dtype=np.int64)
    bin_ptr[1:] = np.cumsum(n_bins)
    n_trees = len(roots)
    if int(bin_ptr[-1]) * n_trees * 8 > MAX_TABLE_BYTES:
        return None
    slot = {int(f): j for j, f in enumerate(used)}
    table = np.full((int(bin_ptr[-1]), n_trees), _ALL, dtype=np.uint64)
    leaf_value = np.zeros((n_trees, MAX_LEAVES), dtype=np.float64)
    for t, root in enumerate(roots):
        # in-order walk: number the leaves; a split's left subtree holds leaves [lo, hi)
        leaves = 0
        spans: dict[int, tuple[int, int]] = {}
        stack: list[tuple[int, int]] = [(root, -1)]  # (node, its first leaf once left is done)
        while stack:
            node, first = stack.pop()
            if feature_arr[node] < 0:
                if leaves == MAX_LEAVES:
                    return None
                leaf_value[t, leaves] = value[node]
                leaves += 1
            elif first < 0:
                stack.append((right[node], -1))
                stack.append((node, leaves))
                stack.append((left[node], -1))
            else:
                spans[node] = (first, leaves)
        for node, (lo, hi) in spans.items():
            keep = _ALL ^ np.uint64(((1 << (hi - lo)) - 1) << lo)
            j = slot[int(feature_arr[node])]
            rank = int(np.searchsorted(cuts[j], threshold_arr[node]))
            base, n_cut = int(bin_ptr[j]), len(cuts[j])
            table[base + rank + 1 : base + n_cut + 1, t] &= keep  # values above the threshold
            if nan_right[node]:
                table[base + n_cut + 1, t] &= keep
    cut_ptr = np.zeros(len(used) + 1, dtype=np.int64)
    cut_ptr[1:] = np.cumsum([len(c) for c in cuts])
    return LeafMasks(
        features=used.astype(np.int64),
        cut_ptr=cut_ptr,
        cut_value=np.concatenate(cuts) if cuts else np.empty(0),
        bin_ptr=bin_ptr,
        table=table,
        leaf_value=leaf_value.ravel(),
    )


@intrinsic
def _trailing_zeros(typingctx, x):  # type: ignore[no-untyped-def]
    """LLVM's cttz: the index of the lowest set bit (one instruction on x86-64)."""
    sig = types.uint64(types.uint64)

    def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
        fnty = ir.FunctionType(ir.IntType(64), [ir.IntType(64), ir.IntType(1)])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.cttz.i64")
        return builder.call(fn, [args[0], ir.Constant(ir.IntType(1), 0)])

    return sig, codegen


@numba.njit(cache=True, nogil=True)
def _predict(rows, features, cut_ptr, cut_value, bin_ptr, table, leaf_value):  # type: ignore[no-untyped-def]
    n = rows.shape[0]
    n_trees = table.shape[1]
    out = np.zeros(n)
    alive = np.empty(n_trees, dtype=np.uint64)
    for i in range(n):
        alive[:] = 0xFFFF_FFFF_FFFF_FFFF
        for j in range(features.shape[0]):
            x = rows[i, features[j]]
            lo = cut_ptr[j]
            hi = cut_ptr[j + 1]
            if math.isnan(x):
                b = hi - lo + 1
            else:
                a, c = lo, hi  # bin = number of thresholds below x
                while a < c:
                    mid = (a + c) >> 1
                    if cut_value[mid] < x:
                        a = mid + 1
                    else:
                        c = mid
                b = a - lo
            masks = table[bin_ptr[j] + b]
            for t in range(n_trees):
                alive[t] &= masks[t]
        total = 0.0
        for t in range(n_trees):
            total += leaf_value[t * 64 + _trailing_zeros(alive[t])]  # type: ignore[call-arg]
        out[i] = total
    return out
