"""The compiled evaluator must give the libraries' own numbers: prices and TreeSHAP."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from homeval import fasttrees
from homeval.features import INPUT_FIELDS, to_records
from homeval.modeling import model_parts
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
    forest = fasttrees.from_lightgbm(booster)
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
    forest = fasttrees.from_lightgbm(booster)
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
    forest = fasttrees.from_lightgbm(booster)
    many = np.vstack([matrix, matrix])  # enough rows to be split among two threads
    for threads in (1, 2):
        for n in (1, 64, len(many)):
            got = asyncio.run(forest.predict_async(many[:n], threads))
            np.testing.assert_array_equal(got, forest.predict(many[:n]))


def test_an_awaited_job_that_fails_raises_in_its_caller() -> None:
    async def fail() -> None:
        await fasttrees._workers(1).submit_awaitable(lambda: 1 / 0)

    with pytest.raises(ZeroDivisionError):
        asyncio.run(fail())
    with pytest.raises(ZeroDivisionError):  # and in a caller that blocks
        fasttrees._workers(1).submit(lambda: 1 / 0).result()


def test_row_cuts_cover_every_row_once_in_aligned_blocks() -> None:
    assert fasttrees._row_cuts(100, 2, 32, align=16) == [0, 48, 100]
    assert fasttrees._row_cuts(40, 2, 32, align=16) == [0, 40]  # too few rows for two
    assert fasttrees._row_cuts(9, 2, 4, align=1) == [0, 4, 9]
    assert fasttrees._row_cuts(1000, 4, 32, align=16) == [0, 256, 496, 752, 1000]


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
    forest = fasttrees.from_lightgbm(booster)
    probe = np.array([[np.nan, 0.0, 0.0], [0.0, np.nan, np.nan], [1e300, -1e300, 0.0]])
    np.testing.assert_allclose(forest.predict(probe), booster.predict(probe), rtol=1e-12)
    contrib = booster.predict(probe, pred_contrib=True)
    np.testing.assert_allclose(forest.shap(probe), contrib[:, :-1], atol=1e-9)


def test_decision_tree_prices_and_shap_match_sklearn_and_the_shap_package(
    listings: pd.DataFrame, matrix: np.ndarray
) -> None:
    import shap  # the reference implementation; the server never imports it

    regressor = model_parts(small_model(listings, kind="decision_tree", max_depth=12)).regressor
    forest = fasttrees.from_sklearn_tree(regressor)
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
