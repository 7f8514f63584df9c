"""The Grafana dashboards in the repository and the queries inside them."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.conftest import REPO

GRAFANA = REPO / "manifests/base/grafana"
DASHBOARD_DIR = GRAFANA / "dashboards"


@dataclass(frozen=True)
class Query:
    dashboard: str
    panel: str
    datasource: str
    text: str

    def __str__(self) -> str:
        return f"{self.dashboard} / {self.panel}: {self.text}"


def dashboard_files() -> list[Path]:
    return sorted(DASHBOARD_DIR.glob("*.json"))


def load(path: Path) -> dict[str, Any]:
    doc = json.loads(path.read_text())
    assert isinstance(doc, dict)
    return doc


def queries(path: Path) -> list[Query]:
    """Every PromQL expression and SQL statement of a dashboard (panels and variables)."""
    doc = load(path)
    found = []
    for panel in doc.get("panels", []):
        for target in panel.get("targets", []):
            uid = (target.get("datasource") or panel.get("datasource") or {}).get("uid", "")
            text = target.get("expr") or target.get("rawSql")
            if text:
                found.append(Query(doc["uid"], panel["title"], uid, text))
    return found


def template_queries(path: Path) -> list[Query]:
    doc = load(path)
    found = []
    for var in doc.get("templating", {}).get("list", []):
        query = var.get("query")
        text = query.get("query") if isinstance(query, dict) else query
        if text:
            found.append(Query(doc["uid"], f"${var['name']}", var["datasource"]["uid"], text))
    return found


def promql(text: str, rate_interval: str = "1m", model: str = "house-price") -> str:
    """A Grafana PromQL expression with its variables filled as Grafana would."""
    return (
        text.replace("$__rate_interval", rate_interval)
        .replace("$__interval", rate_interval)
        .replace("$model", model)
    )


def sql(text: str) -> str:
    """A Grafana SQL statement with the time macros expanded as Grafana does (last 7 days)."""
    return re.sub(
        r"\$__timeFilter\((\w+)\)",
        r"\1 BETWEEN now() - interval '7 days' AND now() + interval '1 hour'",
        text,
    )


PROMQL_FUNCTIONS = frozenset(
    [
        "sum",
        "rate",
        "increase",
        "histogram_quantile",
        "max",
        "min",
        "avg",
        "count",
        "by",
        "without",
        "label_values",
        "on",
        "ignoring",
        "group_left",
        "group_right",
        "le",
    ]
)


def metric_names(expr: str) -> set[str]:
    """Metric names an expression reads (identifiers that are not functions or labels)."""
    no_strings = re.sub(r'"[^"]*"', '""', expr)
    no_labels = re.sub(r"\{[^}]*\}", "", no_strings)
    no_ranges = re.sub(r"\[[^\]]*\]", "", no_labels)
    no_grouping = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", no_ranges)
    words = set(re.findall(r"\b[a-zA-Z_:][a-zA-Z0-9_:]*\b", no_grouping))
    return {w for w in words if w not in PROMQL_FUNCTIONS and "_" in w}


METRICS_CONTRACT = {
    # predictor (port 8080, /metrics): KServe's own step histograms ...
    "request_preprocess_seconds",
    "request_predict_seconds",
    "request_postprocess_seconds",
    "request_explain_seconds",
    # ... and homeval's
    "homeval_predictor_requests_total",
    "homeval_predictor_not_ready_total",
    "homeval_predictor_request_seconds",
    "homeval_predictions_total",
    "homeval_prediction_errors_total",
    "homeval_model_info",
    "homeval_predicted_price_dollars",
    "homeval_model_reloads_total",
    # UI (port 7860, /metrics)
    "homeval_ui_requests_total",
    "homeval_ui_predictions_total",
    "homeval_ui_errors_total",
    "homeval_ui_predictor_latency_seconds",
}
"""The metric names the services promise (README, "Deploy to a cluster"); histogram
series add _bucket/_sum/_count."""


def family(series: str) -> str:
    """The metric family of a series name (histogram suffixes dropped)."""
    for suffix in ("_bucket", "_sum", "_count"):
        if series.endswith(suffix) and series.removesuffix(suffix) in METRICS_CONTRACT:
            return series.removesuffix(suffix)
    return series
