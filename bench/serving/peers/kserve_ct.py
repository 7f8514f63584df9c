"""Peer: a plain KServe custom model, written the usual way — the request's instances go
into a DataFrame, through a fitted scikit-learn ColumnTransformer pipeline, into LightGBM.
Default ModelServer settings (its per-request latency logging included)."""

from __future__ import annotations

import argparse
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from kserve import Model, ModelServer


class ColumnTransformerModel(Model):
    def __init__(self, name: str, path: Path) -> None:
        super().__init__(name)
        self.path = path
        self.pipeline = None
        self.load()

    def load(self) -> bool:
        self.pipeline = joblib.load(self.path)
        self.ready = True
        return self.ready

    def predict(self, payload, headers=None):
        frame = pd.DataFrame(payload["instances"])
        prices = np.exp(self.pipeline.predict(frame))
        return {"predictions": prices.tolist()}


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--model_dir", type=Path, required=True)
    parser.add_argument("--http_port", type=int, required=True)
    args, _ = parser.parse_known_args()
    model = ColumnTransformerModel("house-price", args.model_dir / "model.joblib")
    ModelServer(http_port=args.http_port, enable_grpc=False, workers=1).start([model])
