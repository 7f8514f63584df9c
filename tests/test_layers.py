"""Which way imports flow (docs/ARCHITECTURE.md draws it): the core imports no web,
serving or pipeline framework and no app, and its packages import one way; the apps never
import each other; the Airflow DAG never imports homeval (it runs in its own environment,
where homeval is not installed). Every import counts, those inside functions too, so a
lazy import cannot slip a layer."""

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


CORE_ORDER = ("platform", "data", "model", "registry", "drift", "workflow")
"""homeval's packages, lowest first: each may import only those before it (and the
command line, ``homeval/cli``, wires them all)."""


def imported_modules(source: str) -> Iterator[str]:
    """Every module a source imports by its absolute name (relative ones stay inside)."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


def imported(source: str) -> Iterator[str]:
    """Top-level packages a module imports."""
    yield from (name.split(".")[0] for name in imported_modules(source))


def core_package(module: str) -> str | None:
    """``homeval.model.features`` -> ``model``; None outside the core's packages."""
    parts = module.split(".")
    return parts[1] if parts[0] == "homeval" and len(parts) > 1 else None


def core_violations(sources: dict[str, str]) -> list[str]:
    """Imports of a core package from one listed before it in ``CORE_ORDER``."""
    found = []
    for where, source in sources.items():
        own = where.split("/")[1]
        for module in imported_modules(source):
            other = core_package(module)
            if own not in CORE_ORDER or other not in CORE_ORDER:
                continue
            if CORE_ORDER.index(other) > CORE_ORDER.index(own):
                found.append(f"{where} imports {module}")
    return found


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


def test_the_core_packages_import_one_way() -> None:
    packages = sorted(p.name for p in (REPO / "homeval").iterdir() if (p / "__init__.py").exists())
    assert set(packages) == {*CORE_ORDER, "cli"}  # a new package takes its place in the order
    sources = {
        path.relative_to(REPO).as_posix(): path.read_text()
        for name in CORE_ORDER
        for path in sorted((REPO / "homeval" / name).rglob("*.py"))
    }
    assert not core_violations(sources)


def test_an_import_against_the_core_order_is_caught() -> None:
    source = "def load():\n    from homeval.registry.packaging import load_price_model\n"
    assert core_violations({"homeval/model/pricing.py": source}) == [
        "homeval/model/pricing.py imports homeval.registry.packaging"
    ]
    assert not core_violations({"homeval/registry/x.py": "import homeval.model.features\n"})


def test_a_lazy_import_across_a_layer_is_caught() -> None:
    source = "def handler():\n    import gradio as gr\n    from kserve import Model\n"
    assert set(imported(source)) == {"gradio", "kserve"}
    assert not set(imported("from . import sibling\nfrom .x import y\n"))
