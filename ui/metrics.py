"""What the UI tells Prometheus: what people asked, what they got, what broke, how slow the
predictor looked from here.  The dashboards query exactly these names."""

from __future__ import annotations

from typing import Final

from prometheus_client import Counter, Histogram, disable_created_metrics

# Without this every counter and histogram also exposes a *_created series (a start
# timestamp per label set): twice the series to store, and no dashboard reads them.
disable_created_metrics()

REQUESTS: Final = Counter(
    "homeval_ui_requests_total", "Actions people started in the web UI.", ["action"]
)
PREDICTIONS: Final = Counter(
    "homeval_ui_predictions_total", "Prices shown to people in the web UI."
)
ERRORS: Final = Counter(
    "homeval_ui_errors_total",
    "Failures the web UI showed as a message, by kind.",
    ["kind"],
)
PREDICTOR_LATENCY: Final = Histogram(
    "homeval_ui_predictor_latency_seconds",
    "Predictor round trips as the UI sees them (network included), by call.",
    ["call"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)

ACTIONS: Final = ("price", "models", "training", "drift", "serving_drift", "choices")
ERROR_KINDS: Final = (
    "invalid_input",
    "predictor_unavailable",
    "predictor_timeout",
    "predictor_rejected",
    "predictor_not_found",
    "predictor_not_ready",
    "predictor_failed",
    "predictor_bad_response",
    "registry",
    "store",
    "drift_report",
    "internal",
)


def prime() -> None:
    """Create every label set at zero so dashboards show 0, not "no data", before the first
    request of a kind."""
    for action in ACTIONS:
        REQUESTS.labels(action=action)
    for kind in ERROR_KINDS:
        ERRORS.labels(kind=kind)
    for call in ("predict", "explain"):
        PREDICTOR_LATENCY.labels(call=call)
