"""A model's metrics as a person reads them: which few matter, what each is called, and its
value in % or dollars (the Models and Training tabs and their charts)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

HEADLINE_METRICS: Final = ("mdape", "r2_log", "within_10pct", "rmse", "mae", "r2")
"""Metric names shown first (training may prefix them, e.g. ``test_mdape``)."""

METRIC_LABELS: Final[dict[str, str]] = {
    "mdape": "median % error",
    "r2_log": "R² (log)",
    "within_10pct": "share within 10 %",
    "rmse": "RMSE",
    "mae": "MAE",
    "r2": "R²",
}


_PREFIXES: Final = ("test_", "holdout_", "val_")
_SHARES: Final = ("mdape", "within_10pct")
_DOLLARS: Final = ("rmse", "mae")


def _plain(key: str) -> str:
    for prefix in _PREFIXES:
        if key.startswith(prefix):
            return key[len(prefix) :]
    return key


def metric_label(key: str) -> str:
    """What a person reads for a logged metric key (``test_mdape`` → "median % error")."""
    return METRIC_LABELS.get(_plain(key), key.replace("_", " "))


def format_metric(key: str, value: float) -> str:
    """A metric's value as a person reads it: shares in %, errors in dollars."""
    name = _plain(key)
    if name in _SHARES:
        return f"{value:.1%}"
    if name in _DOLLARS:
        return f"${value:,.0f}"
    return f"{value:.3f}"


def headline(metrics: Mapping[str, float]) -> dict[str, float]:
    """The few metrics worth a column, by their plain name, whatever the prefix."""
    out: dict[str, float] = {}
    for name in HEADLINE_METRICS:
        for key in (name, *(prefix + name for prefix in _PREFIXES)):
            if key in metrics:
                out[name] = float(metrics[key])
                break
    return out
