"""The predictor's Prometheus metrics (the Grafana dashboards are built on these names).

KServe's own step histograms (request_preprocess_seconds, request_predict_seconds,
request_postprocess_seconds, request_explain_seconds {model_name}) come from kserve itself;
everything homeval adds is here.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

REQUESTS = Counter(
    "homeval_predictor_requests_total",
    "Requests answered, by model, endpoint (predict, explain, infer) and HTTP code.",
    ["model_name", "endpoint", "code"],
)
REQUEST_SECONDS = Histogram(
    "homeval_predictor_request_seconds",
    "Time from decoded body to response inside the model (all steps).",
    ["model_name", "endpoint"],
    buckets=(0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
PREDICTIONS = Counter(
    "homeval_predictions_total",
    "Listings priced (rows, not requests), by model and version.",
    ["model_name", "version"],
)
ERRORS = Counter(
    "homeval_prediction_errors_total",
    "Requests refused or failed, by kind (invalid_input, not_ready, not_found, internal).",
    ["model_name", "kind"],
)
MODEL_INFO = Gauge(
    "homeval_model_info",
    "1 for the version each served name answers with right now.",
    ["model_name", "version", "run_id"],
)
PREDICTED_PRICE = Histogram(
    "homeval_predicted_price_dollars",
    "Prices the predictor gave.",
    ["model_name"],
    buckets=(
        25e3, 50e3, 100e3, 150e3, 200e3, 300e3, 400e3, 500e3, 750e3,
        1e6, 1.5e6, 2e6, 3e6, 5e6, 1e7, 2e7,
    ),
)  # fmt: skip
RELOADS = Counter(
    "homeval_model_reloads_total",
    "Model loads after the alias moved (or the first), by outcome (success, failure).",
    ["model_name", "outcome"],
)


def record_error(model_name: str, endpoint: str, code: int, kind: str) -> None:
    """One refused or failed request (the caller has made ``model_name`` a known name)."""
    REQUESTS.labels(model_name, endpoint, str(code)).inc()
    ERRORS.labels(model_name, kind).inc()
