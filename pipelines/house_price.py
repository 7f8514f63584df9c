"""The house-price pipeline: collect → process → gates → drift → (train → promote).

Two ``dsl.If`` gates decide whether a run trains: the data gates (enough clean rows,
enough feed rows) before the drift check, and the drift check's "training needed" (drift
detected, or no production model yet) before training.  A closed gate is logged to
``trainlogs`` by the step that closed it, and the run still succeeds.

Parameters a run may override are the gates' thresholds and the collect size (the names
the Airflow DAG sends).  Their defaults are negative, which means "the platform's setting":
each step then reads its environment, so one compiled pipeline serves every deployment and
an unset DAG param never overrides the platform's configuration.  ``pipeline_run`` names
the run in ``trainlogs``; left empty (on a cluster), the KFP run id is used.

On a cluster each step gets its configuration from the ``homeval-config`` ConfigMap and
its credentials from the ``homeval-db`` / ``homeval-s3`` / ``homeval-mlflow-writer``
Secrets of the pipeline's namespace (``manifests/base/kubeflow-access``); the local
runner ignores these and the steps inherit the caller's environment instead.  Caching is
off: every step reads or writes state outside KFP (the feed, the store, MLflow), so a
cached answer would be stale.
"""

from collections.abc import Mapping
from typing import Any, Final

from kfp import dsl, kubernetes

from components.build import build_components

PIPELINE_NAME: Final = "house-price-pipeline"
UNSET: Final = -1
"""A threshold left to the platform's setting."""

CONFIG_MAP: Final = "homeval-config"
CONFIG_KEYS: Final = (
    "HOMEVAL_HOME",
    "HOMEVAL_MODEL_NAME",
    "HOMEVAL_MODEL_ALIAS",
    "HOMEVAL_FEED_URL",
    "MLFLOW_TRACKING_URI",
    "HOMEVAL_MLFLOW_ARTIFACT_ROOT",
    "MLFLOW_S3_ENDPOINT_URL",
    "MLFLOW_DISABLE_TELEMETRY",
    "HOME",
)
"""Keys of the ConfigMap every step reads (manifests/base/config/config.yaml)."""
SECRETS: Final[dict[str, tuple[dict[str, str], bool]]] = {
    "homeval-db": ({"url": "HOMEVAL_DATABASE_URL"}, False),
    # artifacts go through the MLflow server; direct S3 credentials are optional
    "homeval-s3": (
        {"access-key-id": "AWS_ACCESS_KEY_ID", "secret-access-key": "AWS_SECRET_ACCESS_KEY"},
        True,
    ),
    # MLflow's auth proxy asks every write for this key; only the pipeline pods have it
    "homeval-mlflow-writer": (
        {
            "username": "MLFLOW_TRACKING_USERNAME",
            "password": "MLFLOW_TRACKING_PASSWORD",  # pragma: allowlist secret
        },
        False,
    ),
}
"""Secret → (key → environment variable, optional)."""

MEMORY_LIMITS: Final = {
    "collect": "2Gi",
    "process": "6Gi",
    "gates": "1Gi",
    "drift": "4Gi",
    "train": "8Gi",
    "promote": "6Gi",
}
"""Per-step memory limits on a cluster, above the peaks of bench/pipeline/RESULTS.md."""


STEP_ENV: Final = {"OMP_WAIT_POLICY": "PASSIVE"}
"""Set on every step.  OpenMP threads (LightGBM's) spin while they wait by default; on a
shared 2-core machine or a CPU-limited pod that spinning starves the threads doing the
work: a 150k-row fit measured 37 s spinning against 4.3 s passive under load."""


def _configure(task: Any, step: str, display_name: str, env: Mapping[str, str]) -> Any:
    task.set_display_name(display_name)
    task.set_caching_options(False)
    for name, value in {**STEP_ENV, **env}.items():
        task.set_env_variable(name, value)
    task.set_memory_limit(MEMORY_LIMITS[step])
    kubernetes.use_config_map_as_env(task, CONFIG_MAP, {k: k for k in CONFIG_KEYS})
    for secret, (keys, optional) in SECRETS.items():
        kubernetes.use_secret_as_env(task, secret, keys, optional=optional)
    return task


def make_pipeline(image: str, env: Mapping[str, str] | None = None) -> Any:
    """The pipeline with every step on ``image`` (a KFP GraphComponent).

    ``env`` is set on every step as plain variables: what the ConfigMap and Secrets give a
    step on a cluster, for a local runner that starts containers (it reads no Kubernetes
    objects). Compiled pipelines leave it empty.
    """
    steps = build_components(image)
    extra = dict(env or {})

    @dsl.pipeline(
        name=PIPELINE_NAME,
        description="homeval: collect Realtor listings, clean them, check drift against "
        "the production model, and train + promote a new model when needed.",
    )
    def house_price_pipeline(
        collect_max_batches: int = UNSET,
        min_clean_rows: int = UNSET,
        min_teacher_share: float = UNSET,
        drift_share_threshold: float = UNSET,
        pipeline_run: str = "",
    ) -> None:
        job_id = dsl.PIPELINE_JOB_ID_PLACEHOLDER
        collected = _configure(
            steps.collect(
                max_batches=collect_max_batches, pipeline_run=pipeline_run, job_id=job_id
            ),
            "collect",
            "collect listings from the feed",
            extra,
        )
        processed = _configure(
            steps.process(pipeline_run=pipeline_run, job_id=job_id).after(collected),
            "process",
            "clean new listings",
            extra,
        )
        data_ok = _configure(
            steps.gates(
                min_clean_rows=min_clean_rows,
                min_teacher_share=min_teacher_share,
                pipeline_run=pipeline_run,
                job_id=job_id,
            ).after(processed),
            "gates",
            "gates: enough clean and feed rows",
            extra,
        )
        with dsl.If(data_ok.output == True, name="enough-data"):  # noqa: E712 (KFP condition)
            drifted = _configure(
                steps.drift(
                    drift_share_threshold=drift_share_threshold,
                    pipeline_run=pipeline_run,
                    job_id=job_id,
                ),
                "drift",
                "drift against the production model",
                extra,
            )
            with dsl.If(drifted.outputs["Output"] == True, name="training-needed"):  # noqa: E712
                trained = _configure(
                    steps.train(pipeline_run=pipeline_run, job_id=job_id),
                    "train",
                    "train candidates",
                    extra,
                )
                _configure(
                    steps.promote(
                        train_result=trained.outputs["Output"],
                        pipeline_run=pipeline_run,
                        job_id=job_id,
                    ),
                    "promote",
                    "champion / challenger",
                    extra,
                )

    return house_price_pipeline
