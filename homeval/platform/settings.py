"""The one place where homeval learns addresses, paths, credentials and thresholds.

Every entry point (CLI, KFP components, predictor, UI, data source, DAG) builds a
``Settings`` from the environment, so the same code runs on a laptop (the defaults:
files under ``.homeval/``, services on loopback) and on a cluster (environment set by the
manifests).  Variables are ``HOMEVAL_<FIELD>``; MLflow and S3 fields also honour their
standard names (``MLFLOW_TRACKING_URI``, ``AWS_ACCESS_KEY_ID`` ...), so existing MLflow
deployments configure homeval without a second set of variables.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from homeval_contract.thresholds import (
    COLLECT_MAX_BATCHES,
    DRIFT_SHARE_THRESHOLD,
    MIN_CLEAN_ROWS,
    MIN_TEACHER_SHARE,
)
from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_LOOPBACK = "127.0.0.1"


def _alias(field: str, *standard: str) -> AliasChoices:
    """Accept ``HOMEVAL_<FIELD>`` first, then the standard variable names."""
    return AliasChoices(f"HOMEVAL_{field.upper()}", *standard)


Fraction = Annotated[float, Field(ge=0.0, le=1.0)]


class Settings(BaseSettings):
    """Typed configuration read from the environment (and an optional ``.env`` file)."""

    model_config = SettingsConfigDict(
        env_prefix="HOMEVAL_",
        env_file=".env",
        extra="ignore",
        populate_by_name=True,
        validate_default=True,
    )

    # --- where local state lives -------------------------------------------------------
    home: Path = Field(
        default=Path(".homeval"),
        description="Folder for everything the embedded mode stores (databases, models, runs).",
    )
    keep_local_runs: int = Field(
        default=20,
        ge=1,
        description="Local pipeline runs (KFP outputs under HOMEVAL_HOME/kfp) and drift "
        "reports of each kind kept; older ones are deleted (MLflow keeps the history).",
    )
    keep_drift_reports: int = Field(
        default=20,
        ge=1,
        description="Drift checks in MLflow that keep their HTML report (~4 MB each); older "
        "checks keep their scores and lose the page.",
    )

    # --- store ------------------------------------------------------------------------
    database_url: str = Field(
        default="",
        description="SQLAlchemy URL of the store; empty means SQLite under HOMEVAL_HOME.",
    )

    # --- the Realtor feed (client side) -------------------------------------------------
    feed_url: str = Field(default=f"http://{_LOOPBACK}:8085", description="Feed base URL.")
    feed_group: int = Field(default=1, ge=1, description="group_number asked from the feed.")
    feed_day: str = Field(default="Tuesday", min_length=1, description="day asked from the feed.")
    feed_timeout_s: float = Field(default=30.0, gt=0, description="Per-request timeout.")
    feed_retries: int = Field(default=5, ge=0, description="Retries of a failed request.")
    feed_backoff_s: float = Field(default=0.5, ge=0, description="First retry delay (doubles).")
    collect_max_batches: int = Field(
        default=20,
        ge=COLLECT_MAX_BATCHES.low,
        le=COLLECT_MAX_BATCHES.high,
        description="Batches one collect step fetches at most.",
    )

    # --- the feed simulator (server side) ----------------------------------------------
    datasource_host: str = Field(default=_LOOPBACK, description="Feed simulator bind address.")
    datasource_port: int = Field(default=8085, ge=1, le=65535, description="Feed simulator port.")
    datasource_csv: Path | None = Field(
        default=None,
        description="Serve rows from this CSV (Kaggle realtor-data, 10 or 12 columns); "
        "empty means the built-in generator.",
    )
    datasource_batch_size: int = Field(
        default=5_000, ge=1, le=1_000_000, description="Rows in one feed batch."
    )
    datasource_batches: int = Field(
        default=200, ge=1, description="Batches a group holds with the built-in generator."
    )
    datasource_seed: int = Field(default=42, description="Seed of the built-in generator.")
    datasource_drift_start_batch: int | None = Field(
        default=None, ge=0, description="Batch from which the drift schedule applies."
    )
    datasource_price_shift_per_batch: float = Field(
        default=0.0, description="Relative price-level change per drifted batch (0.05 = +5%)."
    )
    datasource_drift_states: str = Field(
        default="",
        description="State mix of drifted batches as 'CA:0.5,TX:0.3' (rest as usual).",
    )
    datasource_fail_rate: Fraction = Field(
        default=0.0, description="Share of /data answers replaced by HTTP 503 (tests)."
    )
    datasource_latency_s: float = Field(
        default=0.0, ge=0, description="Delay added to each /data answer (tests)."
    )
    datasource_admin: bool = Field(
        default=False, description="Serve POST /admin/drift (turn drift on at run time)."
    )
    datasource_state_file: Path | None = Field(
        default=None,
        description="Keep the simulator's cursors in this file (a JSON-lines journal) so a "
        "restart resumes; empty means in memory only.",
    )

    # --- MLflow -------------------------------------------------------------------------
    mlflow_tracking_uri: str = Field(
        default="",
        validation_alias=_alias("mlflow_tracking_uri", "MLFLOW_TRACKING_URI"),
        description="Empty means SQLite under HOMEVAL_HOME.",
    )
    mlflow_registry_uri: str = Field(
        default="",
        validation_alias=_alias("mlflow_registry_uri", "MLFLOW_REGISTRY_URI"),
        description="Empty means the tracking URI.",
    )
    mlflow_artifact_root: str = Field(
        default="",
        description="Artifact location of new experiments; empty means HOMEVAL_HOME/mlartifacts.",
    )
    mlflow_experiment: str = Field(default="homeval", description="MLflow experiment of all runs.")
    mlflow_s3_endpoint_url: str = Field(
        default="",
        validation_alias=_alias("mlflow_s3_endpoint_url", "MLFLOW_S3_ENDPOINT_URL"),
        description="S3 endpoint of MLflow's artifacts (MinIO on a cluster).",
    )
    aws_access_key_id: SecretStr | None = Field(
        default=None,
        validation_alias=_alias("aws_access_key_id", "AWS_ACCESS_KEY_ID"),
        description="S3 credentials for the artifacts (from a Secret).",
    )
    aws_secret_access_key: SecretStr | None = Field(
        default=None,
        validation_alias=_alias("aws_secret_access_key", "AWS_SECRET_ACCESS_KEY"),
        description="S3 credentials for the artifacts (from a Secret).",
    )
    mlflow_tracking_username: str | None = Field(
        default=None,
        validation_alias=_alias("mlflow_tracking_username", "MLFLOW_TRACKING_USERNAME"),
        description="User MLflow's auth proxy lets write (the pipeline's, from a Secret).",
    )
    mlflow_tracking_password: SecretStr | None = Field(
        default=None,
        validation_alias=_alias("mlflow_tracking_password", "MLFLOW_TRACKING_PASSWORD"),
        description="Its password (from a Secret); readers need none.",
    )
    mlflow_ui_port: int = Field(
        default=5000, ge=1, le=65535, description="Port of the MLflow UI `homeval up` starts."
    )

    # --- model and gates ----------------------------------------------------------------
    model_name: str = Field(
        default="house-price", min_length=1, description="Registered model name in MLflow."
    )
    model_alias: str = Field(
        default="production", min_length=1, description="Alias of the model that serves."
    )
    min_clean_rows: int = Field(
        default=20_000,
        ge=MIN_CLEAN_ROWS.low,
        le=MIN_CLEAN_ROWS.high,
        description="Gate: clean rows to train.",
    )
    min_teacher_share: float = Field(
        default=0.8,
        ge=MIN_TEACHER_SHARE.low,
        le=MIN_TEACHER_SHARE.high,
        description="Gate: share of feed (teacher) rows needed to train.",
    )
    drift_share_threshold: float = Field(
        default=0.3,
        ge=DRIFT_SHARE_THRESHOLD.low,
        le=DRIFT_SHARE_THRESHOLD.high,
        description="Dataset drift when at least this share of the compared columns drift "
        "(0.3: a market move shifts price and location, about 3 of the 10; "
        "see homeval/drift/compare.py).",
    )
    drift_on_price: bool = Field(
        default=True,
        description="A drifted price level is drift by itself, whatever the share (prices "
        "moved ~12 % or more while the listings stayed alike: the model prices at the old level).",
    )
    drift_sample_rows: int = Field(
        default=50_000, ge=100, description="Rows sampled per side above this size."
    )
    drift_min_rows: int = Field(
        default=5_000,
        ge=1,
        description="New clean rows needed to judge drift (fewer: drift unknown, no retrain).",
    )
    interval_coverage: Fraction = Field(
        default=0.9, description="Target coverage of the conformal prediction interval."
    )
    train_n_estimators: int = Field(default=500, ge=1, description="LightGBM trees.")
    train_num_leaves: int = Field(default=63, ge=2, description="LightGBM leaves per tree.")
    train_tree_max_depth: int = Field(default=14, ge=1, description="DecisionTree depth.")
    train_test_share: Fraction = Field(
        default=0.15, description="Properties held out to compare models (never trained on)."
    )
    train_calibration_share: Fraction = Field(
        default=0.10, description="Properties held out to calibrate the price interval."
    )
    train_seed: int = Field(default=0, description="Seed of splits and models.")
    train_max_rows: int = Field(
        default=750_000,
        ge=0,
        description=(
            "Training listings at most (a sample by property when there are more; 0 = all). "
            "Calibration and test listings are never sampled."
        ),
    )
    selection_metric: str = Field(
        default="mdape",
        pattern="^(mdape|rmse_log|mae_log)$",
        description="Hold-out metric (lower is better) that picks and promotes models.",
    )

    # --- pipeline -----------------------------------------------------------------------
    component_image: str = Field(
        default="ghcr.io/homeval/homeval-components:0.1.0",
        description="Image of the KFP components (also recorded in the compiled pipeline).",
    )
    kfp_host: str = Field(default="", description="KFP API for `pipeline submit`.")

    # --- predictor ----------------------------------------------------------------------
    predictor_host: str = Field(default=_LOOPBACK, description="Predictor bind address.")
    predictor_port: int = Field(default=8080, ge=1, le=65535, description="Predictor port.")
    predictor_url: str = Field(
        default="", description="Where clients reach the predictor; empty means host:port."
    )
    predictor_model_uri: str = Field(
        default="",
        description="Model to serve: models:/NAME@ALIAS, models:/NAME/VERSION or a folder; "
        "empty means models:/<model_name>@<model_alias>.",
    )
    predictor_reload_s: float = Field(default=10.0, ge=0, description="Alias poll period.")
    predictor_max_instances: int = Field(
        default=1_000, ge=1, description="Most instances one request may carry."
    )
    predictor_max_body_bytes: int = Field(
        default=8 * 1024 * 1024,
        ge=1024,
        description="Largest request body the predictor reads; a larger one is a 413 before "
        "it is read (a 100 MB body once took 1.5 GB to parse).",
    )
    predictor_versions: str = Field(
        default="aliased",
        pattern=r"^\s*(none|aliased|all|\d+(\s*,\s*\d+)*)\s*$",
        description="Versions also served as <model_name>-v<N>: none, aliased (every version "
        "with an alias), all (newest predictor_max_versions) or a list like 3,5.",
    )
    predictor_max_versions: int = Field(default=5, ge=1, description="Cap of pinned versions.")
    predictor_threads: int = Field(
        default=2,
        ge=1,
        le=64,
        description="Threads that price requests of 32+ listings off the event loop (one "
        "request each; 256+ listings are split among them) and share one explanation's SHAP "
        "paths (match the container's CPU limit).",
    )
    predictor_access_log: bool = Field(
        default=False, description="One log line per request (costly at one row per request)."
    )

    # --- homeval up ----------------------------------------------------------------------
    up_pipeline_interval_s: float = Field(
        default=1800.0,
        ge=0,
        description="`homeval up` re-runs the pipeline this often (0: only the first run).",
    )
    up_first_model_runs: int = Field(
        default=5, ge=1, description="Pipeline runs `homeval up` tries to get a first model."
    )

    # --- UI -----------------------------------------------------------------------------
    ui_host: str = Field(default=_LOOPBACK, description="Web UI bind address.")
    ui_port: int = Field(default=7860, ge=1, le=65535, description="Web UI port.")
    ui_predictor_timeout_s: float = Field(
        default=5.0, gt=0, description="Seconds the UI waits for the predictor."
    )
    ui_registry_timeout_s: float = Field(
        default=5.0, gt=0, description="Per-request timeout of the UI's MLflow calls (no retries)."
    )
    ui_choices_ttl_s: float = Field(
        default=600.0, ge=0, description="How long the UI caches state/city/ZIP suggestions."
    )
    ui_store_feedback: bool = Field(
        default=True, description="Store each UI prediction as a data_origin='user' row."
    )
    ui_requests_per_client_minute: int = Field(
        default=60,
        ge=1,
        description="Listings one client address may price a minute (page and API); more "
        "are refused with a message to wait.",
    )
    ui_user_rows_per_client_day: int = Field(
        default=200,
        ge=0,
        description="User rows one client address may add in 24 hours; beyond it listings "
        "are still priced, not stored (one client cannot close the teacher-share gate).",
    )
    ui_serving_drift_min_rows: int = Field(
        default=50, ge=1, description="Priced listings needed before serving drift is judged."
    )

    @field_validator("datasource_csv", "datasource_state_file", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if value in ("", None) else value

    @model_validator(mode="after")
    def _fill_local_defaults(self) -> Settings:
        self.home = self.home.expanduser().resolve()
        if not self.database_url:
            self.database_url = f"sqlite:///{self.home / 'homeval.db'}"
        if not self.mlflow_tracking_uri:
            self.mlflow_tracking_uri = f"sqlite:///{self.home / 'mlflow.db'}"
        if not self.mlflow_registry_uri:
            self.mlflow_registry_uri = self.mlflow_tracking_uri
        if not self.mlflow_artifact_root:
            self.mlflow_artifact_root = (self.home / "mlartifacts").as_uri()
        if not self.predictor_url:
            self.predictor_url = f"http://{self.predictor_host}:{self.predictor_port}"
        if not self.predictor_model_uri:
            self.predictor_model_uri = f"models:/{self.model_name}@{self.model_alias}"
        return self

    @property
    def pipeline_root(self) -> Path:
        """Where KFP's local runner keeps its outputs."""
        return self.home / "kfp"

    @property
    def reports_dir(self) -> Path:
        """Where drift reports are kept for the UI."""
        return self.home / "reports"

    def ensure_home(self) -> Path:
        self.home.mkdir(parents=True, exist_ok=True)
        return self.home


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings of this process, read once; tests build ``Settings()`` directly instead."""
    return Settings()
