"""Where the DAG learns its deployment: read once from the environment of the Airflow worker.

The Airflow environment cannot import ``homeval.platform.settings`` (it cannot install homeval), so
the few values the DAG needs are read here, under the same ``HOMEVAL_*`` names the platform
uses, with a clear error naming the variable when one is malformed.  Nothing here is an
address or absolute path: every location comes from the environment or is relative to
this file.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Mode = Literal["local", "cluster"]
MODES: tuple[Mode, ...] = ("local", "cluster")

# the compiled pipeline sits next to the DAGs folder in the repository (pipelines/)
_DEFAULT_PACKAGE = Path(__file__).resolve().parents[2] / "house_price_pipeline.yaml"


class ConfigError(ValueError):
    """A deployment variable has a value the DAG cannot use."""


@dataclass(frozen=True)
class TriggerConfig:
    """How the DAG reaches the platform and KFP, and how long it waits for them."""

    platform_bin: str = "homeval"
    pipeline_package: Path = _DEFAULT_PACKAGE
    kfp_host: str = ""
    kfp_experiment: str = "homeval"
    kfp_poll_s: float = 10.0
    run_timeout_s: float = 4 * 3600.0
    schedule: str | None = "@daily"
    mode: Mode = "local"
    database_url: str = ""
    """The platform's store, where cluster runs' decisions are read back (optional)."""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> TriggerConfig:
        """Read ``HOMEVAL_*`` variables; unset or empty ones keep their defaults."""
        env = os.environ if environ is None else environ
        defaults = cls()

        def text(name: str, default: str) -> str:
            value = env.get(name, "").strip()
            return value or default

        def seconds(name: str, default: float) -> float:
            raw = env.get(name, "").strip()
            if not raw:
                return default
            try:
                value = float(raw)
            except ValueError:
                raise ConfigError(f"{name}={raw!r} is not a number of seconds") from None
            if not math.isfinite(value) or value <= 0:
                raise ConfigError(f"{name}={raw!r} must be a positive number of seconds")
            return value

        mode = text("HOMEVAL_DAG_MODE", defaults.mode)
        if mode not in MODES:
            raise ConfigError(f"HOMEVAL_DAG_MODE={mode!r} must be one of {', '.join(MODES)}")
        schedule = text("HOMEVAL_DAG_SCHEDULE", defaults.schedule or "")
        package = env.get("HOMEVAL_PIPELINE_PACKAGE", "").strip()
        return cls(
            platform_bin=text("HOMEVAL_PLATFORM_BIN", defaults.platform_bin),
            pipeline_package=Path(package) if package else defaults.pipeline_package,
            kfp_host=text("HOMEVAL_KFP_HOST", defaults.kfp_host),
            kfp_experiment=text("HOMEVAL_KFP_EXPERIMENT", defaults.kfp_experiment),
            kfp_poll_s=seconds("HOMEVAL_KFP_POLL_S", defaults.kfp_poll_s),
            run_timeout_s=seconds("HOMEVAL_DAG_RUN_TIMEOUT_S", defaults.run_timeout_s),
            schedule=None if schedule.lower() in ("none", "manual") else schedule,
            mode=mode,
            database_url=env.get("HOMEVAL_DATABASE_URL", "").strip(),
        )
