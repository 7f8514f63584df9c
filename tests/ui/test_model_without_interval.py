"""A model saved without a calibrated interval (a plain folder) is still priced by the page,
without a range, instead of failing on the predictor's "has no interval"."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from homeval.registry.packaging import pip_requirements
from tests.conftest import free_port, without_platform_settings
from tests.homeval.helpers import real_listings, small_model
from tests.ui.conftest import HOMEVAL, wait_ready
from tests.ui.test_handlers import FORM
from ui.handlers import Services, price_listing


@pytest.fixture(scope="module")
def folder_predictor(
    realtor_files: list[Path], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    import mlflow

    root = tmp_path_factory.mktemp("folder-model")
    model = small_model(real_listings(realtor_files))
    folder = root / "model"
    mlflow.sklearn.save_model(
        model, str(folder), serialization_format="cloudpickle", pip_requirements=pip_requirements()
    )
    port = free_port()
    env = {
        **without_platform_settings(),
        "HOMEVAL_HOME": str(root / "home"),
        "HOMEVAL_PREDICTOR_VERSIONS": "none",
        "MLFLOW_DISABLE_TELEMETRY": "true",
    }
    child = subprocess.Popen(
        [str(HOMEVAL), "serve", "--port", str(port), "--model-uri", str(folder)],
        env=env, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, child, timeout_s=120)
        yield url
    finally:
        child.terminate()
        child.wait(timeout=20)


def test_a_model_without_interval_is_priced_without_a_range(
    folder_predictor: str, tmp_path: Path, seeded_store: str
) -> None:
    from homeval.platform.settings import Settings

    settings = Settings(
        home=tmp_path / "h", database_url=seeded_store, predictor_url=folder_predictor
    )
    services = Services.from_settings(settings)
    view = price_listing(services, FORM, "house-price")
    assert view.ok, view.message
    assert view.prediction is not None
    assert view.prediction.lower is None
    assert "Estimated price: $" in view.headline()
    assert "likely range" not in view.headline()
    assert view.fall is not None
    assert view.stored
    services.close()
