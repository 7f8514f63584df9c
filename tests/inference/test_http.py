"""The predictor over real HTTP on loopback: v1 predict/explain, v2 infer, probes, metrics."""

from __future__ import annotations

import httpx
import numpy as np
import pandas as pd

from homeval.features import INPUT_FIELDS, to_records
from tests.inference.conftest import Registry, Served


def sample(listings: pd.DataFrame, n: int, seed: int = 0) -> list[dict[str, object]]:
    rows = to_records(listings.loc[:, list(INPUT_FIELDS)].sample(n, random_state=seed))
    for row in rows:
        if row["prev_sold_date"] is not None:
            row["prev_sold_date"] = str(row["prev_sold_date"])
    return rows


def test_predict_matches_the_registered_model(served: Served, registry: Registry) -> None:
    from homeval.packaging import load_price_model

    registry.use()
    model = load_price_model("models:/house-price@production")
    rows = sample(registry.listings, 50)
    response = httpx.post(
        served.url + "/v1/models/house-price:predict", json={"instances": rows}, timeout=30
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["model_version"] == model.version
    expected = model.predict(pd.DataFrame(rows))
    np.testing.assert_allclose(body["predictions"], expected, rtol=1e-9)
