"""How a price model travels through MLflow: logged by training, loaded by serving.

The estimator goes in as MLflow's scikit-learn flavour (so ``mlflow models serve`` and
``mlflow.pyfunc`` work on it as on any model), with the calibrated interval and the
feature map in the model's metadata, where a loader finds them without opening the run.
Versions are resolved before loading, so "production" is pinned to one version for the
whole load even if the alias moves meanwhile.
"""

from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata as pkg_metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import pandas as pd

from homeval.model.estimator import ModelKind, PriceInterval, model_parts
from homeval.model.price_model import PriceModel, ResolvedModel

if TYPE_CHECKING:
    from homeval.model.pricing import Pricer
from homeval.data.schema import INPUT_FIELDS
from homeval.model.feature_names import FEATURE_FIELDS, FEATURES

MODEL_ARTIFACT: Final = "model"
MODEL_FORMAT: Final = 3
"""The format this homeval logs: bump when a model it logs could not be loaded by an older
homeval, so that one says so instead of failing on an import (3: the model's classes in
homeval's domain packages; 2: place knowledge, novelty segments; 1: before issue 17)."""
OLDEST_SERVED_FORMAT: Final = 2
"""The oldest format this homeval still loads; older models must be retrained."""
FORMAT_2_MODULES: Final = {
    "homeval.modeling": "homeval.model.estimator",
    "homeval.features": "homeval.model.features",
    "homeval.geography": "homeval.model.geography",
    "homeval.places": "homeval.model.places",
}
"""Where the classes a format-2 model pickled by reference (under homeval 0.1's flat module
names) live now."""
MODEL_FORMAT_TAG: Final = "homeval.model_format"
"""Run tag (and model metadata key) holding a logged model's ``MODEL_FORMAT``."""
_MODELS_URI: Final = re.compile(
    r"^models:/(?P<name>[^/@]+)(?:@(?P<alias>[^/]+)|/(?P<version>\d+))$"
)


def pip_requirements() -> list[str]:
    """Exact versions of what the model needs to load; resolving them is what makes
    log_model slow when MLflow has to guess."""
    names = ("lightgbm", "scikit-learn", "pandas", "numpy", "scipy", "cloudpickle")
    return [f"{n}=={pkg_metadata.version(n)}" for n in names]


def log_price_model(
    estimator: Any,
    *,
    kind: ModelKind,
    interval: PriceInterval,
    input_example: pd.DataFrame,
    extra: dict[str, Any] | None = None,
) -> Any:
    """Log a fitted estimator into the active MLflow run; returns MLflow's ModelInfo."""
    import mlflow
    from mlflow.models import infer_signature

    example = input_example.loc[:, list(INPUT_FIELDS)].head(5)
    signature = infer_signature(example, estimator.predict(example))
    mlflow.set_tag(MODEL_FORMAT_TAG, str(MODEL_FORMAT))
    meta = {
        "homeval_model_kind": kind,
        "homeval_model_format": MODEL_FORMAT,
        "interval": interval.to_dict(),
        "features": list(FEATURES),
        "feature_fields": {k: list(v) for k, v in FEATURE_FIELDS.items()},
        "input_fields": list(INPUT_FIELDS),
        **(extra or {}),
    }
    return mlflow.sklearn.log_model(
        estimator,
        name=MODEL_ARTIFACT,
        serialization_format="cloudpickle",
        signature=signature,
        input_example=example,
        pip_requirements=pip_requirements(),
        metadata=meta,
    )


class OutdatedModelError(ValueError):
    """A model logged by a homeval whose model format this one cannot serve."""


@contextmanager
def _module_names_of(model_format: int) -> Iterator[None]:
    """While a model of an older format unpickles, its classes' old module names resolve
    to the modules that hold them now; afterwards those names are gone again, so no new
    code can import them by accident."""
    if model_format != 2:
        yield
        return
    added = [old for old in FORMAT_2_MODULES if old not in sys.modules]
    for old in added:
        sys.modules[old] = importlib.import_module(FORMAT_2_MODULES[old])
    try:
        yield
    finally:
        for old in added:
            sys.modules.pop(old, None)


def resolve(uri: str, client: Any | None = None) -> ResolvedModel:
    """Pin ``models:/name@alias`` to its current version; other URIs pass through."""
    match = _MODELS_URI.match(uri)
    if match is None:
        return ResolvedModel(uri=uri)
    from mlflow import MlflowClient

    client = client or MlflowClient()
    name = match["name"]
    if match["alias"]:
        mv = client.get_model_version_by_alias(name, match["alias"])
    else:
        mv = client.get_model_version(name, match["version"])
    return ResolvedModel(
        uri=f"models:/{name}/{mv.version}",
        name=name,
        version=str(mv.version),
        run_id=mv.run_id,
        aliases=tuple(getattr(mv, "aliases", ()) or ()),
    )


def load_price_model(uri: str, client: Any | None = None) -> PriceModel:
    """Load ``models:/NAME@ALIAS``, ``models:/NAME/VERSION``, ``runs:/…`` or a model folder."""
    import mlflow
    from mlflow.models import Model

    resolved = resolve(uri, client)
    local = Path(mlflow.artifacts.download_artifacts(artifact_uri=resolved.uri))
    meta = dict(Model.load(str(local / "MLmodel")).metadata or {})
    # logged by homeval's log_price_model without a format: before formats existed (1);
    # a folder saved by hand carries no homeval metadata: try it
    logged = int(
        meta.get("homeval_model_format", 1 if "homeval_model_kind" in meta else MODEL_FORMAT)
    )
    if not OLDEST_SERVED_FORMAT <= logged <= MODEL_FORMAT:
        which = f"version {resolved.version}" if resolved.version else uri
        served = f"{OLDEST_SERVED_FORMAT}–{MODEL_FORMAT}"
        raise OutdatedModelError(
            f"model {which} was logged by {'an older' if logged < MODEL_FORMAT else 'a newer'} "
            f"homeval (model format {logged}; this one serves {served}): run the "
            "pipeline to train a model of this version"
        )
    with _module_names_of(logged):
        estimator = mlflow.sklearn.load_model(str(local))
    interval = PriceInterval.from_dict(meta["interval"]) if "interval" in meta else None
    return PriceModel(
        estimator=estimator,
        parts=model_parts(estimator),
        interval=interval,
        resolved=resolved,
        metadata=meta,
    )


def load_pricer(uri: str, client: Any | None = None, threads: int = 1) -> Pricer:
    """Load a registered version (or folder) and make it ready to serve."""
    from homeval.model.pricing import build_pricer

    return build_pricer(load_price_model(uri, client), threads)
