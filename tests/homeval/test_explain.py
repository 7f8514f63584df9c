"""Summing SHAP back to fields: nothing lost, shared features split equally."""

from __future__ import annotations

import math

import numpy as np
import pytest

from homeval.explain import EXPLAINED_FIELDS, explain_rows, field_matrix
from homeval.features import FEATURE_FIELDS, FEATURES


def test_every_feature_lands_whole_on_its_fields() -> None:
    matrix = field_matrix()
    np.testing.assert_allclose(matrix.sum(axis=1), 1.0)
    missing = FEATURES.index("missing_count")
    for field in FEATURE_FIELDS["missing_count"]:
        assert matrix[missing, EXPLAINED_FIELDS.index(field)] == pytest.approx(0.25)
    assert "street" not in EXPLAINED_FIELDS


def test_an_explanation_adds_up_in_logs_and_multiplies_in_dollars() -> None:
    rng = np.random.default_rng(0)
    shap = rng.normal(0, 0.2, size=(3, len(FEATURES)))
    base = 12.0
    logs = base + shap.sum(axis=1)
    for item, log_price in zip(explain_rows(shap, base, logs), logs, strict=True):
        assert base + sum(item["contributions"].values()) == pytest.approx(log_price)
        assert item["base_price"] * math.prod(item["factors"].values()) == pytest.approx(
            item["price"]
        )
        for field, factor in item["factors"].items():
            assert item["dollars"][field] == pytest.approx(item["price"] * (1 - 1 / factor))
