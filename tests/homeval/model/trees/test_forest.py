"""A flattened forest must give the libraries' own numbers: prices and TreeSHAP."""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from homeval.data.schema import INPUT_FIELDS
from homeval.model.encoding import to_records
from homeval.model.estimator import model_parts
from homeval.model.trees.flatten import from_lightgbm, from_sklearn_tree
from tests.homeval.helpers import real_listings, small_model


@pytest.fixture(scope="module")
def listings(realtor_files: list[Path]) -> pd.DataFrame:
    return real_listings(realtor_files)


@pytest.fixture(scope="module")
def matrix(listings: pd.DataFrame) -> np.ndarray:
    model = small_model(listings)
    encoder = model_parts(model).encoder
    grid = encoder.encode_records(
        to_records(listings.loc[:, list(INPUT_FIELDS)].sample(400, random_state=0))
    )
    assert np.isnan(grid).any(), "real rows have missing sizes: the NaN routes must be exercised"
    return grid


def test_lightgbm_prices_and_shap_are_lightgbms(listings: pd.DataFrame, matrix: np.ndarray) -> None:
    booster = model_parts(small_model(listings, num_leaves=63, n_estimators=60)).booster
    forest = from_lightgbm(booster)
    expected = booster.predict(matrix, num_threads=1)
    assert forest.masks is not None, "63-leaf trees are priced by leaf masks"
    walk = dataclasses.replace(forest, masks=None)
    for rows in (matrix[:1], matrix[:7], matrix):  # both walk shapes (few rows, many rows)
        np.testing.assert_allclose(forest.predict(rows), expected[: len(rows)], rtol=1e-12)
        np.testing.assert_allclose(walk.predict(rows), expected[: len(rows)], rtol=1e-12)

    contrib = booster.predict(matrix[:60], num_threads=1, pred_contrib=True)
    shap = forest.shap(matrix[:60])
    np.testing.assert_allclose(shap, contrib[:, :-1], atol=1e-9)
    assert forest.base_value == pytest.approx(contrib[0, -1], abs=1e-9)
    np.testing.assert_allclose(shap.sum(axis=1) + forest.base_value, expected[:60], atol=1e-9)


@pytest.mark.parametrize("threads", [2, 3])
def test_threads_share_the_work_and_give_the_same_numbers(
    listings: pd.DataFrame, matrix: np.ndarray, threads: int
) -> None:
    booster = model_parts(small_model(listings, num_leaves=63, n_estimators=60)).booster
    forest = from_lightgbm(booster)
    expected = booster.predict(matrix, num_threads=1)
    for n in (1, 31, 64, 100, len(matrix)):  # under and over the rows a thread needs
        got = forest.predict(matrix[:n], threads=threads)
        np.testing.assert_array_equal(got, forest.predict(matrix[:n]))
        np.testing.assert_allclose(got, expected[:n], rtol=1e-12)
    contrib = booster.predict(matrix[:40], num_threads=1, pred_contrib=True)[:, :-1]
    for n in (1, 3, 8, 40):  # few rows split the leaf paths, more rows split the rows
        np.testing.assert_allclose(forest.shap(matrix[:n], threads=threads), contrib[:n], atol=1e-9)


def test_awaited_prices_are_the_same_prices(listings: pd.DataFrame, matrix: np.ndarray) -> None:
    booster = model_parts(small_model(listings, num_leaves=63, n_estimators=60)).booster
    forest = from_lightgbm(booster)
    many = np.vstack([matrix, matrix])  # enough rows to be split among two threads
    for threads in (1, 2):
        for n in (1, 64, len(many)):
            got = asyncio.run(forest.predict_async(many[:n], threads))
            np.testing.assert_array_equal(got, forest.predict(many[:n]))


def test_a_missing_value_takes_the_trained_default_way() -> None:
    import lightgbm as lgb

    rng = np.random.default_rng(0)
    grid = rng.normal(size=(2_000, 3))
    grid[rng.random(2_000) < 0.3, 0] = np.nan
    y = np.where(np.isnan(grid[:, 0]), 5.0, grid[:, 0]) + grid[:, 1]
    booster = lgb.train(
        {"objective": "regression", "verbose": -1, "num_leaves": 15},
        lgb.Dataset(grid, y),
        num_boost_round=20,
    )
    forest = from_lightgbm(booster)
    probe = np.array([[np.nan, 0.0, 0.0], [0.0, np.nan, np.nan], [1e300, -1e300, 0.0]])
    np.testing.assert_allclose(forest.predict(probe), booster.predict(probe), rtol=1e-12)
    contrib = booster.predict(probe, pred_contrib=True)
    np.testing.assert_allclose(forest.shap(probe), contrib[:, :-1], atol=1e-9)


def test_decision_tree_prices_and_shap_match_sklearn_and_the_shap_package(
    listings: pd.DataFrame, matrix: np.ndarray
) -> None:
    import shap  # the reference implementation; the server never imports it

    regressor = model_parts(small_model(listings, kind="decision_tree", max_depth=12)).regressor
    forest = from_sklearn_tree(regressor)
    np.testing.assert_allclose(forest.predict(matrix), regressor.predict(matrix), rtol=1e-12)

    complete = matrix[~np.isnan(matrix).any(axis=1)][:40]
    explainer = shap.TreeExplainer(regressor, feature_perturbation="tree_path_dependent")
    expected = explainer.shap_values(complete)
    np.testing.assert_allclose(forest.shap(complete), expected, atol=1e-9)
    assert forest.base_value == pytest.approx(float(np.ravel(explainer.expected_value)[0]))
    with_missing = matrix[:40]
    np.testing.assert_allclose(
        forest.shap(with_missing).sum(axis=1) + forest.base_value,
        regressor.predict(with_missing),
        atol=1e-9,
    )


def _expected_given(tree: dict[str, object], row: np.ndarray, known: set[int]) -> float:
    """Path-dependent expectation of one LightGBM tree when only the ``known`` features of
    ``row`` are given: a known feature's split follows the row, another's averages both
    sides by their training counts (the game TreeSHAP's values are the Shapley values of)."""
    if "split_feature" not in tree:
        return float(tree["leaf_value"])  # type: ignore[arg-type]
    left, right = tree["left_child"], tree["right_child"]
    feature = int(tree["split_feature"])  # type: ignore[call-overload]
    if feature in known:
        x = row[feature]
        missing = tree["missing_type"]
        if np.isnan(x) and missing == "None":
            x = 0.0
        if (np.isnan(x) and missing == "NaN") or (missing == "Zero" and (np.isnan(x) or x == 0)):
            go_left = bool(tree["default_left"])
        else:
            go_left = bool(x <= tree["threshold"])  # type: ignore[operator]
        return _expected_given(left if go_left else right, row, known)  # type: ignore[arg-type]
    counts = [float(c.get("internal_count", c.get("leaf_count"))) for c in (left, right)]  # type: ignore[union-attr]
    sides = [_expected_given(c, row, known) for c in (left, right)]  # type: ignore[arg-type]
    return (counts[0] * sides[0] + counts[1] * sides[1]) / sum(counts)


def _shapley_by_enumeration(booster, row: np.ndarray, players: list[int]) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Shapley values of the player game by summing over every coalition (the definition)."""
    trees = [tree["tree_structure"] for tree in booster.dump_model()["tree_info"]]
    n = max(players) + 1
    worth = {}
    for size in range(n + 1):
        for coalition in itertools.combinations(range(n), size):
            known = {f for f, p in enumerate(players) if p in coalition}
            worth[coalition] = sum(_expected_given(tree, row, known) for tree in trees)
    out = np.zeros(n)
    for j in range(n):
        others = [p for p in range(n) if p != j]
        for size in range(n):
            weight = math.factorial(size) * math.factorial(n - size - 1) / math.factorial(n)
            for coalition in itertools.combinations(others, size):
                with_j = tuple(sorted((*coalition, j)))
                out[j] += weight * (worth[with_j] - worth[coalition])
    return out


def test_the_oracle_is_lightgbms_treeshap_when_each_feature_plays_alone(
    listings: pd.DataFrame, matrix: np.ndarray
) -> None:
    import lightgbm as lgb

    small = matrix[:, :5]
    booster = lgb.train(
        {"objective": "regression", "verbose": -1, "num_leaves": 7, "min_data_in_leaf": 5},
        lgb.Dataset(small, np.log(listings["price"].to_numpy()[: len(small)])),
        num_boost_round=4,
    )
    contrib = booster.predict(small[:6], pred_contrib=True)[:, :-1]
    for row, expected in zip(small[:6], contrib, strict=True):
        np.testing.assert_allclose(_shapley_by_enumeration(booster, row, list(range(5))), expected)


def test_grouped_players_get_the_shapley_values_of_the_group_game(
    listings: pd.DataFrame, matrix: np.ndarray
) -> None:
    booster = model_parts(small_model(listings, num_leaves=15, n_estimators=12)).booster
    players = [i % 5 for i in range(matrix.shape[1])]  # every player splits on many features
    forest = from_lightgbm(booster, players)
    assert forest.n_players == 5
    rows = matrix[:8]
    assert np.isnan(rows).any(), "missing values must be followed by the group's conditions"
    got = forest.shap(rows)
    for row, values in zip(rows, got, strict=True):
        np.testing.assert_allclose(
            values, _shapley_by_enumeration(booster, row, players), atol=1e-9
        )
    np.testing.assert_allclose(forest.shap(rows, threads=2), got, atol=1e-12)
    np.testing.assert_allclose(
        got.sum(axis=1) + forest.base_value, booster.predict(rows, num_threads=1), atol=1e-9
    )
    # not the features' values summed: the group's members share their interactions
    summed = from_lightgbm(booster).shap(rows) @ np.eye(5)[players]
    assert not np.allclose(got, summed, atol=1e-6)


def test_players_must_cover_every_feature(listings: pd.DataFrame) -> None:
    booster = model_parts(small_model(listings, n_estimators=2)).booster
    with pytest.raises(ValueError, match="players"):
        from_lightgbm(booster, [0, 1])
