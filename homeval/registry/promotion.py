"""Champion/challenger: a new model serves only if it is better where it matters.

The best candidate of a training run is registered as a new version of ``house-price``.
It takes the ``production`` alias only if it beats the current production model on the
*same fresh* hold-out: the test properties (which neither model trained on: splits are
fixed per property) among the listings that arrived after the champion was trained —
the market the next prediction will be made in.  When too few such listings exist, the
whole test part is used.  Otherwise the champion keeps serving.  Every decision, either
way, is written to ``trainlogs`` with both models' numbers.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from homeval.data.store import Store
from homeval.model.price_model import ResolvedModel
from homeval.model.training import holdout
from homeval.platform.settings import Settings
from homeval.registry.packaging import MODEL_FORMAT, MODEL_FORMAT_TAG, load_price_model, resolve
from homeval.registry.runs import CANDIDATE_TAG, CLEAN_MAX_ID_TAG, TrainResult

log = logging.getLogger(__name__)

PRODUCTION_SINCE_TAG: Final = "homeval.production_since"
MIN_FRESH_HOLDOUT: Final = 200
"""Fewer fresh test listings than this and the comparison uses the whole test part."""


@dataclass
class PromotionDecision:
    """What promote decided and why."""

    promoted: bool
    version: str | None
    champion_version: str | None
    reason: str
    metric: str
    challenger_metrics: dict[str, float] = field(default_factory=dict)
    champion_metrics: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def production_model(settings: Settings, client: Any | None = None) -> ResolvedModel | None:
    """The model serving now, or None when nothing holds the alias yet (MLflow configured
    by the caller: ``homeval.registry.tracking.configure``)."""
    from mlflow.exceptions import MlflowException

    try:
        return resolve(f"models:/{settings.model_name}@{settings.model_alias}", client)
    except MlflowException as exc:
        if exc.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
            return None
        raise


def promote(
    result: TrainResult | Mapping[str, Any],
    store: Store,
    settings: Settings,
    *,
    pipeline_run: str | None = None,
) -> PromotionDecision:
    """Register the run's best model and move the alias to it if it wins."""
    import mlflow
    from mlflow import MlflowClient

    from homeval.model.estimator import price_metrics

    trained = result if isinstance(result, TrainResult) else TrainResult.from_dict(result)
    pipeline_run = pipeline_run or trained.pipeline_run
    best = trained.best_candidate
    metric = trained.selection_metric
    client = MlflowClient()
    champion = production_model(settings, client)

    version = mlflow.register_model(
        best.model_uri,
        settings.model_name,
        tags={CANDIDATE_TAG: best.kind, "homeval.run_id": best.run_id},
    ).version
    version = str(version)
    for name, value in best.metrics.items():
        client.set_model_version_tag(settings.model_name, version, f"test_{name}", f"{value:.6g}")

    test, scope = holdout(store, settings, trained.clean_max_id), "hold-out"
    seen_by_champion = _clean_max_id(client, champion.run_id) if champion else None
    if seen_by_champion is not None:
        fresh = test[test["id"] > seen_by_champion]
        if len(fresh) >= MIN_FRESH_HOLDOUT:
            test, scope = fresh.reset_index(drop=True), "fresh hold-out"
    challenger = load_price_model(f"models:/{settings.model_name}/{version}", client)
    challenger_metrics = price_metrics(test["price"], challenger.predict(test))

    champion_metrics: dict[str, float] = {}
    if champion is None:
        promoted, reason = True, "first model: nothing holds the production alias yet"
    else:
        try:
            incumbent = load_price_model(champion.uri, client)
            champion_metrics = price_metrics(test["price"], incumbent.predict(test))
        except Exception as exc:  # a champion that cannot load or score cannot defend
            log.warning("champion v%s could not be scored: %s", champion.version, exc)
            promoted = True
            reason = f"champion v{champion.version} could not be scored ({type(exc).__name__})"
        else:
            new, old = challenger_metrics[metric], champion_metrics[metric]
            promoted = new < old
            verdict = "beats" if promoted else "does not beat"
            reason = (
                f"v{version} {verdict} champion v{champion.version} on {len(test)} {scope} "
                f"listings: {metric} {new:.4f} vs {old:.4f}"
            )
    if promoted:
        client.set_registered_model_alias(settings.model_name, settings.model_alias, version)
        client.set_model_version_tag(
            settings.model_name, version, PRODUCTION_SINCE_TAG, datetime.now(UTC).isoformat()
        )
    decision = PromotionDecision(
        promoted=promoted,
        version=version,
        champion_version=champion.version if champion else None,
        reason=reason,
        metric=metric,
        challenger_metrics=challenger_metrics,
        champion_metrics=champion_metrics,
    )
    log.info("promote: %s", reason)
    store.log_training(
        step="promote",
        status="promoted" if promoted else "kept_champion",
        message=reason,
        metrics={
            **{f"challenger_{k}": v for k, v in challenger_metrics.items()},
            **{f"champion_{k}": v for k, v in champion_metrics.items()},
            **{f"baseline_{k}": v for k, v in trained.baseline.items()},
        },
        model_version=version if promoted else (champion.version if champion else None),
        run_ids={c.kind: c.run_id for c in trained.candidates},
        pipeline_run=pipeline_run,
    )
    return decision


def model_format(settings: Settings, model: ResolvedModel, client: Any | None = None) -> int:
    """The ``MODEL_FORMAT`` a registered model was logged with (1 when untagged: older)."""
    from mlflow import MlflowClient

    if not model.run_id:
        return MODEL_FORMAT
    try:
        value = (client or MlflowClient()).get_run(model.run_id).data.tags.get(MODEL_FORMAT_TAG)
    except Exception:  # an unreadable run: assume it is current rather than retrain blindly
        return MODEL_FORMAT
    return int(value) if value and value.isdigit() else 1


def _clean_max_id(client: Any, run_id: str | None) -> int | None:
    """The last clean row a model's training run saw (recorded as a run tag)."""
    if not run_id:
        return None
    try:
        value = client.get_run(run_id).data.tags.get(CLEAN_MAX_ID_TAG)
    except Exception:  # an unreadable run: compare on the whole test part
        return None
    return int(value) if value and value.isdigit() else None
