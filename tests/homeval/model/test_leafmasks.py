"""Leaf masks must give exactly what walking the trees gives, or step aside."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from homeval.model import leafmasks
from homeval.model.trees.flatten import from_lightgbm, from_sklearn_tree


def _probe(rng: np.random.Generator, n: int, width: int) -> np.ndarray:
    grid = rng.normal(size=(n, width))
    grid[rng.random((n, width)) < 0.15] = np.nan
    grid[rng.random((n, width)) < 0.05] = 0.0
    return grid


@pytest.mark.parametrize("missing", [True, False])
def test_lightgbm_through_masks_equals_lightgbm_and_the_walk(missing: bool) -> None:
    import lightgbm as lgb

    rng = np.random.default_rng(1)
    grid = _probe(rng, 3_000, 6)
    y = np.nan_to_num(grid[:, 0], nan=3.0) * 2 + np.nan_to_num(grid[:, 1]) ** 2
    booster = lgb.train(
        {"objective": "regression", "verbose": -1, "num_leaves": 63, "use_missing": missing},
        lgb.Dataset(grid, y),
        num_boost_round=40,
    )
    forest = from_lightgbm(booster)
    assert forest.masks is not None
    walk = dataclasses.replace(forest, masks=None)
    probe = np.vstack([_probe(rng, 500, 6), [[np.inf, -np.inf, 0.0, -0.0, 1e300, np.nan]]])
    expected = booster.predict(probe, num_threads=1)
    np.testing.assert_array_equal(forest.predict(probe), walk.predict(probe))
    np.testing.assert_allclose(forest.predict(probe), expected, rtol=1e-12)
    np.testing.assert_array_equal(forest.predict(probe, threads=2), forest.predict(probe))


def test_a_value_on_a_threshold_goes_left() -> None:
    # one split x0 <= 1.5 (left 10, right 20), then x1 <= -1 on the right (20 | 30)
    masks = leafmasks.build(
        n_features=2,
        roots=[0],
        feature=[0, -1, 1, -1, -1],
        threshold=[1.5, 0.0, -1.0, 0.0, 0.0],
        left=[1, -1, 3, -1, -1],
        right=[2, -1, 4, -1, -1],
        nan_right=[True, False, False, False, False],
        value=[0.0, 10.0, 0.0, 20.0, 30.0],
    )
    assert masks is not None
    rows = np.array(
        [[1.5, 0.0], [1.6, -1.0], [1.6, -0.9], [np.nan, np.nan], [np.nan, 5.0], [-7.0, 9.0]]
    )
    np.testing.assert_array_equal(masks.predict(rows), [10.0, 20.0, 30.0, 20.0, 30.0, 10.0])


def test_small_sklearn_trees_use_masks_deep_ones_walk() -> None:
    from sklearn.tree import DecisionTreeRegressor

    rng = np.random.default_rng(2)
    grid = rng.normal(size=(2_000, 4))
    y = grid[:, 0] * 3 + np.sin(grid[:, 1] * 4)
    probe = rng.normal(size=(300, 4))
    for depth, has_masks in ((6, True), (12, False)):  # 64 leaves at most fit a mask
        tree = DecisionTreeRegressor(max_depth=depth, random_state=0).fit(grid, y)
        forest = from_sklearn_tree(tree)
        assert (forest.masks is not None) is has_masks
        np.testing.assert_allclose(forest.predict(probe), tree.predict(probe), rtol=1e-12)


def test_a_table_over_the_limit_is_not_built(monkeypatch: pytest.MonkeyPatch) -> None:
    import lightgbm as lgb

    rng = np.random.default_rng(3)
    grid = rng.normal(size=(1_000, 3))
    booster = lgb.train(
        {"objective": "regression", "verbose": -1, "num_leaves": 15},
        lgb.Dataset(grid, grid[:, 0]),
        num_boost_round=10,
    )
    monkeypatch.setattr(leafmasks, "MAX_TABLE_BYTES", 1_000)
    forest = from_lightgbm(booster)
    assert forest.masks is None
    np.testing.assert_allclose(forest.predict(grid[:50]), booster.predict(grid[:50]), rtol=1e-12)
