"""The batch histogram must expose exactly what prometheus_client's Histogram would."""

from __future__ import annotations

import numpy as np
from prometheus_client import CollectorRegistry, Histogram, generate_latest

from inference.metrics import BatchHistogram

_BUCKETS = (1.0, 2.5, 10.0)


def test_a_batch_of_values_is_exposed_like_a_histogram_observing_each() -> None:
    reference_registry, batch_registry = CollectorRegistry(), CollectorRegistry()
    reference = Histogram("h", "doc", ["model_name"], buckets=_BUCKETS, registry=reference_registry)
    batch = BatchHistogram("h", "doc", ["model_name"], _BUCKETS, registry=batch_registry)
    requests = [
        np.array([0.5, 1.0, 1.0000001, 2.5, 9.0, 10.0, 11.0, 1e9]),  # on and between the bounds
        np.array([3.0]),
        np.array([], dtype="float64"),
        np.random.default_rng(0).choice([0.5, 1.0, 2.0, 2.5, 10.0, 50.0], size=60),
    ]
    for name in ("a", "b"):
        for values in requests:
            batch.labels(name).observe_many(values)
            for value in values.tolist():
                reference.labels(name).observe(value)

    def samples(registry: CollectorRegistry) -> list[str]:
        lines = generate_latest(registry).decode().splitlines()
        return sorted(line for line in lines if not line.startswith("#") and "_created" not in line)

    assert samples(batch_registry) == samples(reference_registry)
    assert 'h_bucket{le="1.0",model_name="a"} 4.0' not in samples(batch_registry)
    assert any(
        line.startswith('h_bucket{le="1.0",model_name="a"}') for line in samples(batch_registry)
    )
