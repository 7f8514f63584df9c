"""Which way imports flow (docs/ARCHITECTURE.md draws it): the core imports no web,
serving or pipeline framework and no app, and its packages import one way; the apps never
import each other; the Airflow DAG never imports homeval (it runs in its own environment,
where homeval is not installed) but may import homeval_contract, which imports neither
homeval nor any app; the web UI never reaches Evidently (drift is computed by the
pipeline, the UI reads reports), not even through a homeval module it imports. Every
import counts, those inside functions too, so a lazy import cannot slip a layer."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import REPO

APPS = {"ui", "inference", "datasource", "components", "pipelines"}
FRAMEWORKS = {"fastapi", "starlette", "uvicorn", "gradio", "kserve", "kfp", "airflow"}
CONTRACT = "packages/contract/src/homeval_contract"

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
    # the DAG may import homeval_contract (installed in its environment), never homeval
    "pipelines/dags": (APPS | {"homeval"}, ()),
    # what the platform and the DAG share: below both of them, so it imports neither
    # homeval nor any app nor any framework but kfp (lazily, when a run is submitted)
    CONTRACT: (APPS | {"homeval"} | FRAMEWORKS - {"kfp"}, ()),
}


CORE_ORDER = ("platform", "data", "model", "drift", "registry", "workflow")
"""homeval's packages, lowest first: each may import only those before it (and the
command line, ``homeval/cli``, wires them all)."""


def imported_modules(source: str) -> Iterator[str]:
    """Dotted modules a module imports (``from a.b import c`` gives ``a.b`` and ``a.b.c``:
    ``c`` may be a module or a name in ``a.b``; only modules that exist are followed)."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


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
            if module_file(module) is None:  # a name imported from a module, or not ours
                continue
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


MLFLOW_FROM: tuple[str, ...] = ("homeval/registry/", "homeval/cli/mlflow_ui.py")
"""The only places that import MLflow: the registry package, and the command that runs
MLflow's own web server locally."""


@pytest.mark.parametrize("folder", ["homeval", *sorted(APPS)])
def test_only_the_registry_talks_to_mlflow(folder: str) -> None:
    found = violations(folder, {"mlflow"}, ())
    assert not [hit for hit in found if not hit.startswith(MLFLOW_FROM)]


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


# --- what the UI reaches through homeval ------------------------------------------------------

NEVER_REACHED: dict[str, set[str]] = {
    # app folder: top-level packages it must not reach, directly or through homeval modules
    "ui": {"evidently"},
}


def module_file(name: str) -> Path | None:
    """The source of a homeval module (a package's ``__init__``), or None."""
    if name.split(".")[0] != "homeval":
        return None
    base = REPO.joinpath(*name.split("."))
    for path in (base.with_suffix(".py"), base / "__init__.py"):
        if path.is_file():
            return path
    return None


def reached(start: Path, banned: set[str]) -> list[str]:
    """Import chains from ``start`` through homeval modules to a banned package."""
    chains: list[str] = []
    seen: set[Path] = set()
    todo: list[tuple[Path, tuple[str, ...]]] = [(start, (start.relative_to(REPO).as_posix(),))]
    while todo:
        path, chain = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in imported_modules(path.read_text()):
            if name.split(".")[0] in banned:
                chains.append(" -> ".join((*chain, name)))
            elif (found := module_file(name)) is not None:
                # a package's parents run first: ``import homeval.drift.x`` runs homeval.drift
                parts = name.split(".")
                for depth in range(1, len(parts)):
                    parent = module_file(".".join(parts[:depth]))
                    if parent is not None:
                        todo.append((parent, (*chain, ".".join(parts[:depth]))))
                todo.append((found, (*chain, name)))
    return chains


@pytest.mark.parametrize("folder", list(NEVER_REACHED))
def test_an_app_never_reaches_a_banned_library_through_homeval(folder: str) -> None:
    found = []
    for path in sorted((REPO / folder).rglob("*.py")):
        found += reached(path, NEVER_REACHED[folder])
    assert not found, "\n".join(found)


def test_a_banned_library_two_homeval_modules_away_is_found() -> None:
    """The drift check imports Evidently (in a function) through ``homeval.drift.compare``."""
    probe = REPO / "homeval" / "drift" / "check.py"
    chains = reached(probe, {"evidently"})
    assert any(c.endswith("homeval.drift.compare -> evidently") for c in chains), chains
    assert not reached(REPO / "homeval" / "drift" / "report.py", {"evidently"})


def test_a_lazy_import_across_a_layer_is_caught() -> None:
    source = "def handler():\n    import gradio as gr\n    from kserve import Model\n"
    assert set(imported(source)) == {"gradio", "kserve"}
    assert not set(imported("from . import sibling\nfrom .x import y\n"))


def test_the_dag_and_the_contract_are_checked_where_they_import() -> None:
    """The DAG's rule allows homeval_contract; the contract's forbids homeval and the apps."""
    banned, _ = LAYERS["pipelines/dags"]
    assert "homeval_contract" not in banned
    assert {"homeval", *APPS} <= LAYERS[CONTRACT][0]
    dag = (REPO / "pipelines/dags/homeval_pipeline.py").read_text()
    assert "homeval_contract" in set(imported(dag)), "the DAG uses the shared contract"
