"""The predictor's Prometheus metrics (the Grafana dashboards are built on these names).

KServe's own step histograms (request_preprocess_seconds, request_predict_seconds,
request_postprocess_seconds, request_explain_seconds {model_name}) come from kserve itself;
everything homeval adds is here.
"""

from __future__ import annotations

import contextlib
import threading
from bisect import bisect_left
from collections.abc import Iterator, Sequence

import numpy as np
from prometheus_client import REGISTRY, Counter, Gauge, Histogram, disable_created_metrics
from prometheus_client.core import HistogramMetricFamily
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

# Without this every counter and histogram also exposes a *_created series (a start
# timestamp per label set): twice the series to store, and no dashboard reads them.
disable_created_metrics()

_FEW = 8


class BatchHistogram(Collector):
    """A labelled histogram fed a whole request's values in one call.

    ``prometheus_client.Histogram.observe`` takes a lock and a bucket search per value
    (~1 µs): for a 100-listing request that was a tenth of the request.  Here the values
    are bucketed with numpy and added under one lock; the exposition is the same as a
    Histogram's (``_bucket{le=...}``, ``_count``, ``_sum``).
    """

    def __init__(
        self,
        name: str,
        documentation: str,
        labelnames: Sequence[str],
        buckets: Sequence[float],
        registry: object = REGISTRY,
    ) -> None:
        self.name = name
        self.documentation = documentation
        self.labelnames = tuple(labelnames)
        self.bounds = np.asarray(sorted(buckets), dtype="float64")
        self.edges = self.bounds.tolist()
        self._children: dict[tuple[str, ...], BatchHistogram.Child] = {}
        self._lock = threading.Lock()
        if registry is not None:
            registry.register(self)  # type: ignore[attr-defined]

    class Child:
        def __init__(self, parent: BatchHistogram) -> None:
            self._parent = parent
            self.counts = np.zeros(len(parent.bounds) + 1, dtype=np.int64)  # last: above all
            self.total = 0.0

        def observe_many(self, values: np.ndarray) -> None:
            # bucket i holds bounds[i-1] < v <= bounds[i] (Prometheus' "le")
            if len(values) <= _FEW:  # numpy's calls cost more than a bisect per value
                bounds = self._parent.edges
                with self._parent._lock:
                    for value in values.tolist():
                        self.counts[bisect_left(bounds, value)] += 1
                        self.total += value
                return
            slots = np.searchsorted(self._parent.bounds, values, side="left")
            counts = np.bincount(slots, minlength=len(self.counts))
            total = float(np.sum(values))
            with self._parent._lock:
                self.counts += counts
                self.total += total

    def labels(self, *values: str) -> BatchHistogram.Child:
        key = tuple(str(v) for v in values)
        if len(key) != len(self.labelnames):
            raise ValueError(f"{self.name} takes labels {self.labelnames}, got {key}")
        with self._lock:
            child = self._children.get(key)
            if child is None:
                child = self._children[key] = BatchHistogram.Child(self)
            return child

    def collect(self) -> Iterator[HistogramMetricFamily]:
        family = HistogramMetricFamily(self.name, self.documentation, labels=self.labelnames)
        with self._lock:
            snapshot = [(k, c.counts.copy(), c.total) for k, c in self._children.items()]
        edges = [*(floatToGoString(b) for b in self.bounds), "+Inf"]
        for key, counts, total in snapshot:
            cumulative = np.cumsum(counts).tolist()
            family.add_metric(
                list(key), buckets=list(zip(edges, cumulative, strict=True)), sum_value=total
            )
        yield family


REQUESTS = Counter(
    "homeval_predictor_requests_total",
    "Requests answered, by model, endpoint (predict, explain, infer) and HTTP code; "
    "not-ready answers are counted apart (homeval_predictor_not_ready_total).",
    ["model_name", "endpoint", "code"],
)
NOT_READY = Counter(
    "homeval_predictor_not_ready_total",
    "Requests answered 503 because no model was loaded yet (start, scale-up, rollout).",
    ["model_name", "endpoint"],
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
PREDICTED_PRICE = BatchHistogram(
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
    "Model loads after the alias moved (or the first), by outcome (success, failure; "
    "fallback: the alias's version did not load and an older one serves).",
    ["model_name", "outcome"],
)


def forget_model(model_name: str) -> None:
    """A served name is gone (a pinned version no longer selected): its model-info series
    go too, so no dashboard shows a version as served that is not."""
    for family in MODEL_INFO.collect():
        for sample in family.samples:
            if sample.labels.get("model_name") == model_name:
                labels = sample.labels
                with contextlib.suppress(KeyError):
                    MODEL_INFO.remove(labels["model_name"], labels["version"], labels["run_id"])


def record_error(model_name: str, endpoint: str, code: int, kind: str) -> None:
    """One refused or failed request (the caller has made ``model_name`` a known name).

    A predictor that is loading answers 503 on every rollout and scale-up: that is not a
    server error, and counted as ``code="503"`` it would page whoever watches 5xx.  It is
    counted apart, and its own alert waits longer than any start takes."""
    ERRORS.labels(model_name, kind).inc()
    if kind == "not_ready":
        NOT_READY.labels(model_name, endpoint).inc()
        return
    REQUESTS.labels(model_name, endpoint, str(code)).inc()
