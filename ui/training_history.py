"""The pipeline's decisions over time, flattened for a table and a chart.

``trainlogs.logs`` keeps one row per decision with its metrics as JSON; a person wants
columns ("median % error", "R²") and to see which runs promoted a model and which were
skipped.  Metric columns are named as the pipeline wrote them (prefixes dropped where
the plain name is free), so whatever train logs shows up without code changes here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

import pandas as pd

from homeval.data.store import Store

_PREFIX_ORDER: Final = {"": 0, "challenger_": 0, "test_": 0, "champion_": 1, "baseline_": 2}
"""The promote step logs the new model's metrics first (challenger), then the champion's
and the ZIP-median baseline's: the chart opens on the newcomer's."""
BASE_COLUMNS: Final = ("time", "step", "status", "model_version", "message", "pipeline_run")
MARKED_STATUSES: Final = ("promoted", "kept_champion", "skipped", "trained", "failed")


def _flat_metrics(value: Any) -> dict[str, float]:
    if not isinstance(value, Mapping):
        return {}
    out: dict[str, float] = {}
    for key, item in value.items():
        if isinstance(item, bool):
            continue
        if isinstance(item, int | float):
            out[str(key)] = float(item)
        elif isinstance(item, Mapping):  # {"lightgbm": {"mdape": ...}} → lightgbm.mdape
            for inner, number in _flat_metrics(item).items():
                out[f"{key}.{inner}"] = number
    return out


def history_frame(store: Store, limit: int = 500) -> pd.DataFrame:
    """Newest first: the base columns plus one numeric column per metric seen."""
    log = store.training_log(limit=limit)
    if log.empty:
        return pd.DataFrame(columns=list(BASE_COLUMNS))
    metrics = pd.DataFrame(
        [_flat_metrics(m) for m in log["metrics"]], index=log.index, dtype="float64"
    )
    frame = log.loc[:, [c for c in BASE_COLUMNS if c in log.columns]].copy()
    frame["time"] = pd.to_datetime(frame["time"], utc=True)
    return pd.concat([frame, metrics], axis=1)


def metric_columns(frame: pd.DataFrame) -> list[str]:
    """Metric columns with at least one value, the headline ones first."""
    from ui.metric_labels import HEADLINE_METRICS

    names = [c for c in frame.columns if c not in BASE_COLUMNS and frame[c].notna().any()]

    def rank(name: str) -> tuple[int, int, str]:
        base = name.rsplit(".", 1)[-1]
        for i, head in enumerate(HEADLINE_METRICS):
            if base == head or base.endswith(f"_{head}"):
                prefix = base.removesuffix(head)
                return (i, _PREFIX_ORDER.get(prefix, len(_PREFIX_ORDER)), name)
        return (len(HEADLINE_METRICS), 0, name)

    return sorted(names, key=rank)
