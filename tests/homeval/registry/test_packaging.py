from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import cloudpickle
import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow import MlflowClient

from homeval.model.estimator import conformal_interval, price_metrics
from homeval.platform.settings import Settings
from homeval.registry.packaging import load_price_model, log_price_model, resolve
from homeval.registry.tracking import configure
from tests.homeval.helpers import real_listings, small_model


@pytest.fixture(scope="module")
def listings(realtor_files: list[Path]) -> pd.DataFrame:
    return real_listings(realtor_files)


def test_logged_model_loads_by_alias_and_predicts_the_same(listings: pd.DataFrame) -> None:
    settings = Settings()
    configure(settings)
    model = small_model(listings)
    interval = conformal_interval(listings["price"], model.predict(listings), 0.9)
    with mlflow.start_run() as run:
        info = log_price_model(model, kind="lightgbm", interval=interval, input_example=listings)
    version = mlflow.register_model(info.model_uri, settings.model_name)
    client = MlflowClient()
    client.set_registered_model_alias(settings.model_name, "production", version.version)

    loaded = load_price_model(f"models:/{settings.model_name}@production")
    assert loaded.version == str(version.version)
    assert loaded.resolved.run_id == run.info.run_id
    assert loaded.parts.kind == "lightgbm"
    assert loaded.interval == interval
    np.testing.assert_allclose(loaded.predict(listings), model.predict(listings))
    assert resolve("/some/folder").version is None


def test_metrics_and_interval_are_what_they_claim() -> None:
    rng = np.random.default_rng(0)
    true = np.exp(rng.normal(12, 1, 5_000))
    pred = true * np.exp(rng.normal(0, 0.2, 5_000))
    metrics = price_metrics(true, pred)
    assert metrics["mdape"] == pytest.approx(0.135, abs=0.01)  # median |e^N(0,.2) - 1|
    assert metrics["r2_log"] == pytest.approx(1 - 0.04, abs=0.01)
    interval = conformal_interval(true[:2500], pred[:2500], 0.9)
    low, high = interval.bounds(pred[2500:])
    covered = np.mean((true[2500:] >= low) & (true[2500:] <= high))
    assert 0.87 <= covered <= 0.93


def test_a_model_of_an_older_homeval_is_refused_and_retrained(listings: pd.DataFrame) -> None:
    """A version logged before model formats (metadata without one) cannot be served by
    this code: loading says why, and the drift gate's reading of it asks for training."""
    from homeval.registry.packaging import MODEL_FORMAT, MODEL_FORMAT_TAG, OutdatedModelError
    from homeval.registry.promotion import model_format, production_model

    settings = Settings()
    configure(settings)
    model = small_model(listings.head(3_000))
    interval = conformal_interval(
        listings["price"].head(3_000), model.predict(listings.head(3_000)), 0.9
    )
    with mlflow.start_run():
        current = log_price_model(model, kind="lightgbm", interval=interval, input_example=listings)
    with mlflow.start_run() as old_run:  # as homeval logged models before formats existed
        mlflow.sklearn.log_model(
            model, name="model", serialization_format="cloudpickle",
            metadata={"homeval_model_kind": "lightgbm", "interval": interval.to_dict()},
        )  # fmt: skip
    client = MlflowClient()
    new = mlflow.register_model(current.model_uri, settings.model_name)
    old = mlflow.register_model(f"runs:/{old_run.info.run_id}/model", settings.model_name)
    assert client.get_run(new.run_id).data.tags[MODEL_FORMAT_TAG] == str(MODEL_FORMAT)

    with pytest.raises(OutdatedModelError, match=r"older homeval \(model format 1"):
        load_price_model(f"models:/{settings.model_name}/{old.version}")
    client.set_registered_model_alias(settings.model_name, "production", old.version)
    served = production_model(settings)
    assert served is not None
    assert model_format(settings, served) == 1
    client.set_registered_model_alias(settings.model_name, "production", new.version)
    assert model_format(settings, production_model(settings)) == MODEL_FORMAT  # type: ignore[arg-type]


def test_a_folder_saved_by_hand_loads(listings: pd.DataFrame, tmp_path: Path) -> None:
    """No homeval metadata at all (``mlflow.sklearn.save_model``): served, without interval."""
    model = small_model(listings.head(3_000))
    mlflow.sklearn.save_model(model, str(tmp_path / "m"), serialization_format="cloudpickle")
    loaded = load_price_model(str(tmp_path / "m"))
    assert loaded.interval is None
    np.testing.assert_allclose(loaded.predict(listings.head(50)), model.predict(listings.head(50)))


@contextmanager
def _pickled_as_format_2() -> Iterator[None]:
    """Pickle as homeval 0.1 did: the classes and functions of the modules a model
    references named by their modules of then (``homeval.features``, …)."""
    from homeval.registry.packaging import FORMAT_2_MODULES

    renamed: list[tuple[Any, str, str]] = []
    for old, new in FORMAT_2_MODULES.items():
        module = importlib.import_module(new)
        sys.modules[old] = module
        renamed += [
            (value, old, new)
            for value in vars(module).values()
            if callable(value) and getattr(value, "__module__", None) == new
        ]
    try:
        for value, old, _ in renamed:
            value.__module__ = old
        yield
    finally:
        for value, _, new in renamed:
            value.__module__ = new
        for old in FORMAT_2_MODULES:
            sys.modules.pop(old, None)


def test_a_model_of_the_previous_format_loads_from_its_old_module_names(
    listings: pd.DataFrame, tmp_path: Path
) -> None:
    """Format 2 models (homeval 0.1) pickled their classes under flat module names that
    no longer exist; they load, and predict as before, without those names staying."""
    model = small_model(listings.head(3_000))
    interval = conformal_interval(
        listings["price"].head(3_000), model.predict(listings.head(3_000)), 0.9
    )
    folder = tmp_path / "v2"
    meta = {"homeval_model_kind": "lightgbm", "homeval_model_format": 2,
            "interval": interval.to_dict()}  # fmt: skip
    with _pickled_as_format_2():
        mlflow.sklearn.save_model(
            model, str(folder), serialization_format="cloudpickle", metadata=meta
        )
    raw = (folder / "model.pkl").read_bytes()
    assert b"homeval.features" in raw
    assert b"homeval.model." not in raw
    with pytest.raises(ModuleNotFoundError, match="homeval"):
        cloudpickle.loads(raw)  # the old names alone do not resolve

    loaded = load_price_model(str(folder))
    assert loaded.interval == interval
    np.testing.assert_allclose(loaded.predict(listings.head(50)), model.predict(listings.head(50)))
    assert "homeval.features" not in sys.modules


def test_a_model_of_a_newer_format_is_refused(listings: pd.DataFrame, tmp_path: Path) -> None:
    from homeval.registry.packaging import MODEL_FORMAT, OutdatedModelError

    model = small_model(listings.head(3_000))
    meta = {"homeval_model_kind": "lightgbm", "homeval_model_format": MODEL_FORMAT + 1}
    mlflow.sklearn.save_model(
        model, str(tmp_path / "m"), serialization_format="cloudpickle", metadata=meta
    )
    with pytest.raises(OutdatedModelError, match=r"newer homeval \(model format"):
        load_price_model(str(tmp_path / "m"))
