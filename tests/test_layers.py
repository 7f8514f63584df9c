"""Which way imports flow: the core imports no web, serving or pipeline framework and no
app; the apps never import each other; the Airflow DAG never imports homeval (it runs in
its own environment, where homeval is not installed). Every import counts, those inside
functions too, so a lazy import cannot slip a layer."""

from __future__ import annotations

import ast
from collections.abc import Iterator

import pytest

from tests.conftest import REPO

APPS = {"ui", "inference", "datasource", "components", "pipelines"}
FRAMEWORKS = {"fastapi", "starlette", "uvicorn", "gradio", "kserve", "kfp", "airflow"}

LAYERS: dict[str, tuple[set[str], tuple[str, ...]]] = {
    # folder: (top-level packages it must not import, sub-folders exempt)
    "homeval": (FRAMEWORKS | APPS, ("homeval/cli",)),  # the CLI wires the apps
    "ui": (APPS - {"ui"} | {"kserve", "kfp", "airflow"}, ()),
    "inference": (APPS - {"inference"} | {"gradio", "kfp", "airflow"}, ()),
    "datasource": (APPS - {"datasource"} | {"gradio", "kserve", "kfp", "airflow"}, ()),
    "components": (APPS - {"components"} | {"gradio", "kserve", "airflow"}, ()),
    # a pipeline is made of the components; the DAG folder has its own rule
    "pipelines": (
        APPS - {"pipelines", "components"} | {"gradio", "kserve", "airflow"},
        ("pipelines/dags",),
    ),
    "pipelines/dags": (APPS | {"homeval"}, ()),
}


def imported(source: str) -> Iterator[str]:
    """Top-level packages a module imports (absolute imports; relative ones stay inside)."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module.split(".")[0]


def violations(folder: str, banned: set[str], exempt: tuple[str, ...]) -> list[str]:
    found = []
    for path in sorted((REPO / folder).rglob("*.py")):
        where = path.relative_to(REPO).as_posix()
        if any(where.startswith(f"{e}/") for e in exempt):
            continue
        found += [
            f"{where} imports {name}" for name in imported(path.read_text()) if name in banned
        ]
    return found


@pytest.mark.parametrize("folder", list(LAYERS))
def test_imports_flow_one_way(folder: str) -> None:
    banned, exempt = LAYERS[folder]
    assert (REPO / folder).is_dir()
    assert not violations(folder, banned, exempt)


def test_a_lazy_import_across_a_layer_is_caught() -> None:
    source = "def handler():\n    import gradio as gr\n    from kserve import Model\n"
    assert set(imported(source)) == {"gradio", "kserve"}
    assert not set(imported("from . import sibling\nfrom .x import y\n"))
