"""The compiled loops: walking a forest's branch-free layout, and the per-path Shapley sums.

Cached by numba (``cache=True``) per argument types; ``precompile.compile_ahead`` fills the
cache an image ships."""

from __future__ import annotations

import math
from typing import Final

import numba
import numpy as np

BLOCK: Final = 16  # trees (one row) or rows (many rows) stepped together


@numba.njit(inline="always")
def _step(x: float, meta: int, threshold: float) -> int:
    """Next node, without a branch: left child + 1 when the row goes right."""
    right = (x > threshold) | (math.isnan(x) & (((meta >> 16) & 1) == 1))
    return (meta >> 17) + right


@numba.njit(cache=True, nogil=True)
def walk(rows, roots, depth, meta, threshold, value):  # type: ignore[no-untyped-def]
    n = rows.shape[0]
    n_trees = roots.shape[0]
    out = np.zeros(n)
    node = np.empty(BLOCK, dtype=np.int64)
    if n < BLOCK:
        # few rows: step a block of trees side by side for each row, until all reach leaves
        for i in range(n):
            total = 0.0
            for t0 in range(0, n_trees, BLOCK):
                width = min(t0 + BLOCK, n_trees) - t0
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
    for i0 in range(0, n, BLOCK):
        width = min(i0 + BLOCK, n) - i0
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
def tree_shap(  # type: ignore[no-untyped-def]
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
