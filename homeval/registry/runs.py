"""A training run's record in MLflow: one run per candidate with its numbers and its
model, the baseline's run, the drift reference beside the best model, and the run's row
in the training log.

Training itself (``homeval.model.training``) talks to no tracking server; what it made
becomes ``TrainResult``, plain data that crosses the pipeline's steps as JSON and names
each candidate by its MLflow run and model URI for the promote step.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Final

import pandas as pd

from homeval.data.schema import INPUT_FIELDS
from homeval.data.store import Store
from homeval.drift.result import REFERENCE_ARTIFACT
from homeval.model.training import TrainedCandidates
from homeval.platform.settings import Settings

log = logging.getLogger(__name__)

CLEAN_MAX_ID_TAG: Final = "homeval.clean_max_id"
CANDIDATE_TAG: Final = "homeval.candidate"
PIPELINE_RUN_TAG: Final = "homeval.pipeline_run"


@dataclass
class Candidate:
    """One trained model and how it did on the hold-out."""

    kind: str
    run_id: str
    model_uri: str
    metrics: dict[str, float]
    params: dict[str, Any] = field(default_factory=dict)
    interval: dict[str, float] = field(default_factory=dict)
    fit_seconds: float = 0.0


@dataclass
class TrainResult:
    """Everything the promote step needs, as plain data (it crosses KFP steps as JSON)."""

    candidates: list[Candidate]
    best: str
    selection_metric: str
    baseline: dict[str, float]
    clean_max_id: int
    rows: dict[str, int]
    pipeline_run: str | None = None

    @property
    def best_candidate(self) -> Candidate:
        return next(c for c in self.candidates if c.kind == self.best)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainResult:
        values = dict(data)
        values["candidates"] = [Candidate(**c) for c in values["candidates"]]
        return cls(**values)


def record_candidates(
    trained: TrainedCandidates,
    store: Store,
    settings: Settings,
    *,
    pipeline_run: str | None = None,
) -> TrainResult:
    """Log every candidate (and the baseline) as an MLflow run of the platform's
    experiment, the drift reference beside the best one, and the step's training-log row."""
    import mlflow

    from homeval.registry.packaging import log_price_model
    from homeval.registry.tracking import configure

    configure(settings)
    tags = {PIPELINE_RUN_TAG: pipeline_run or "", CLEAN_MAX_ID_TAG: str(trained.clean_max_id)}
    baseline, rows = trained.baseline, trained.rows
    with mlflow.start_run(
        run_name="zip_median_baseline", tags={**tags, CANDIDATE_TAG: "zip_median"}
    ):
        mlflow.log_metrics({f"test_{k}": v for k, v in baseline.items()})

    candidates: list[Candidate] = []
    for kind, fitted in trained.fitted.items():
        with mlflow.start_run(run_name=kind, tags={**tags, CANDIDATE_TAG: kind}) as run:
            mlflow.log_params(
                {**fitted.params, "kind": kind, **{f"rows_{p}": n for p, n in rows.items()}}
            )
            mlflow.log_metrics({f"test_{k}": v for k, v in fitted.metrics.items()})
            mlflow.log_metrics({f"baseline_{k}": v for k, v in baseline.items()})
            mlflow.log_metric("fit_seconds", fitted.fit_seconds)
            info = log_price_model(
                fitted.estimator,
                kind=kind,
                interval=fitted.interval,
                input_example=trained.train,
                extra={"clean_max_id": trained.clean_max_id, "rows": rows},
            )
        candidates.append(
            Candidate(
                kind=kind,
                run_id=run.info.run_id,
                model_uri=info.model_uri,
                metrics=fitted.metrics,
                params=fitted.params,
                interval=fitted.interval.to_dict(),
                fit_seconds=fitted.fit_seconds,
            )
        )
    metric = settings.selection_metric
    best = next(c for c in candidates if c.kind == trained.best(metric))
    _log_reference(best.run_id, trained.train, settings.drift_sample_rows, settings.train_seed)
    store.log_training(
        step="train",
        status="trained",
        message=(
            f"best candidate {best.kind}: {metric} {best.metrics[metric]:.4f} on "
            f"{rows['test']} hold-out listings (ZIP median {baseline[metric]:.4f})"
        ),
        metrics={**best.metrics, **{f"baseline_{k}": v for k, v in baseline.items()}},
        run_ids={c.kind: c.run_id for c in candidates},
        pipeline_run=pipeline_run,
    )
    return TrainResult(
        candidates=candidates,
        best=best.kind,
        selection_metric=metric,
        baseline=baseline,
        clean_max_id=trained.clean_max_id,
        rows=rows,
        pipeline_run=pipeline_run,
    )


def _log_reference(run_id: str, train: pd.DataFrame, max_rows: int, seed: int) -> None:
    """Keep what the model learnt from, sampled, next to it: the drift reference."""
    import mlflow

    sample = train if len(train) <= max_rows else train.sample(max_rows, random_state=seed)
    columns = ["price", *INPUT_FIELDS]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / Path(REFERENCE_ARTIFACT).name
        sample.loc[:, columns].astype({"prev_sold_date": "string"}).to_parquet(path, index=False)
        with mlflow.start_run(run_id=run_id):
            mlflow.log_artifact(str(path), artifact_path=str(Path(REFERENCE_ARTIFACT).parent))
