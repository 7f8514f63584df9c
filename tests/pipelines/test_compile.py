"""The compiled pipeline: committed, current, loadable, and what a cluster needs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from kfp import components

from pipelines.compile import PACKAGE, compile_text, image_of
from pipelines.house_price import CONFIG_KEYS, CONFIG_MAP, PIPELINE_NAME, SECRETS
from tests.conftest import REPO

HOMEVAL = str(Path(sys.executable).parent / "homeval")
PARAMETERS = {
    "collect_max_batches",
    "min_clean_rows",
    "min_teacher_share",
    "drift_share_threshold",
    "pipeline_run",
}
STEPS = {"collect", "process", "gates", "drift", "train", "promote"}


def spec(text: str) -> dict:
    docs = list(yaml.safe_load_all(text))
    return docs[0]


def platform(text: str) -> dict:
    return list(yaml.safe_load_all(text))[1]["platforms"]["kubernetes"]["deploymentSpec"]


def test_the_committed_pipeline_is_current() -> None:
    """Compiling for the image the committed file names gives the committed file.

    (The images workflow retags that image after each build; any other difference
    means someone changed the pipeline and did not run `homeval pipeline compile`.)
    """
    committed = PACKAGE.read_text(encoding="utf-8")
    assert compile_text(image_of(committed)) == committed, (
        "pipelines/house_price_pipeline.yaml is stale: run `homeval pipeline compile`"
    )


def test_it_loads_back_with_the_kfp_sdk() -> None:
    loaded = components.load_component_from_file(str(PACKAGE))
    assert loaded.name == PIPELINE_NAME
    assert set(loaded.component_spec.inputs or {}) == PARAMETERS
    for name in PARAMETERS - {"pipeline_run"}:
        assert loaded.component_spec.inputs[name].default == -1  # the platform's setting


def test_every_step_runs_on_the_chosen_image() -> None:
    text = compile_text("registry.example:5000/team/homeval-components:test-1")
    executors = spec(text)["deploymentSpec"]["executors"]
    assert {name.removeprefix("exec-") for name in executors} == STEPS
    assert {e["container"]["image"] for e in executors.values()} == {
        "registry.example:5000/team/homeval-components:test-1"
    }
    assert image_of(text) == "registry.example:5000/team/homeval-components:test-1"
    for executor in executors.values():  # no pip install at step start (offline clusters)
        assert "pip install" not in " ".join(executor["container"]["command"])
        assert {"name": "OMP_WAIT_POLICY", "value": "PASSIVE"} in executor["container"]["env"]


def test_two_gates_guard_training_and_nothing_is_cached() -> None:
    text = PACKAGE.read_text(encoding="utf-8")
    root = spec(text)["root"]["dag"]["tasks"]
    assert root["condition-1"]["triggerPolicy"]["condition"] == (
        "inputs.parameter_values['pipelinechannel--gates-Output'] == true"
    )
    inner = spec(text)["components"]["comp-condition-1"]["dag"]["tasks"]
    assert set(inner) == {"drift", "condition-2"}
    assert inner["condition-2"]["triggerPolicy"]["condition"] == (
        "inputs.parameter_values['pipelinechannel--drift-Output'] == true"
    )
    trained = spec(text)["components"]["comp-condition-2"]["dag"]["tasks"]
    assert set(trained) == {"train", "promote"}
    tasks = {**root, **inner, **trained}
    steps = {name: task for name, task in tasks.items() if name in STEPS}
    assert set(steps) == STEPS
    for task in steps.values():
        assert task["cachingOptions"] == {}  # enableCache false is written as an empty object


def test_steps_get_config_and_credentials_from_the_cluster() -> None:
    executors = platform(PACKAGE.read_text(encoding="utf-8"))["executors"]
    assert {name.removeprefix("exec-") for name in executors} == STEPS
    for executor in executors.values():
        (config,) = executor["configMapAsEnv"]
        assert config["configMapName"] == CONFIG_MAP
        assert {k["configMapKey"] for k in config["keyToEnv"]} == set(CONFIG_KEYS)
        secrets = {s["secretName"]: s for s in executor["secretAsEnv"]}
        assert set(secrets) == set(SECRETS)
        assert {"envVar": "HOMEVAL_DATABASE_URL", "secretKey": "url"} in (
            secrets["homeval-db"]["keyToEnv"]
        )


def test_the_configmap_the_steps_read_has_every_key() -> None:
    """A key the manifests lack would keep every step's pod from starting."""
    config = yaml.safe_load((REPO / "manifests/base/config/config.yaml").read_text())
    assert config["metadata"]["name"] == CONFIG_MAP
    assert set(CONFIG_KEYS) <= set(config["data"])


def test_image_of_needs_exactly_one_image() -> None:
    with pytest.raises(ValueError, match="one component image"):
        image_of("      image: a\n      image: b\n")
    with pytest.raises(ValueError, match="one component image"):
        image_of("no images here\n")


def test_compile_command_writes_the_file(tmp_path: Path) -> None:
    target = tmp_path / "out" / "pipeline.yaml"
    result = subprocess.run(
        [
            HOMEVAL,
            "pipeline",
            "compile",
            "--image",
            "example/homeval-components:x",
            "--output",
            str(target),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert image_of(target.read_text()) == "example/homeval-components:x"


def test_compile_refuses_a_blank_image(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            HOMEVAL,
            "pipeline",
            "compile",
            "--image",
            "not an image",
            "--output",
            str(tmp_path / "p.yaml"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "component image must be an image reference" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "p.yaml").exists()
