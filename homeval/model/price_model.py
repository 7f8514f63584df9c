"""A price model as serving holds it: the fitted estimator, its parts, its interval and
which registered version it is (``homeval.registry.packaging`` loads one from MLflow)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from homeval.data.schema import INPUT_FIELDS
from homeval.model.estimator import ModelParts, PriceInterval


@dataclass(frozen=True)
class ResolvedModel:
    """A concrete model: which registered version (if any) a URI meant at load time."""

    uri: str
    """What to load (``models:/name/version`` when registered, else the given URI)."""
    name: str | None = None
    version: str | None = None
    run_id: str | None = None
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class PriceModel:
    """A loaded price model and what serving needs to know about it."""

    estimator: Any
    parts: ModelParts
    interval: PriceInterval | None
    resolved: ResolvedModel
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def version(self) -> str | None:
        return self.resolved.version

    def predict(self, frame: pd.DataFrame) -> Any:
        """Dollars for a listing table (the slow, general path)."""
        return self.estimator.predict(frame.loc[:, list(INPUT_FIELDS)])
