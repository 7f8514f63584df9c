"""The registered price models as a person wants to see them: which one prices houses now,
since when, and how good each one was.

MLflow keeps versions, aliases and run metrics, but not when an alias moved; the
pipeline's training log does (its ``promoted`` rows), so "production since" comes from
there, falling back to the version's last registry update when the log has no row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import pandas as pd

from homeval.data.store import Store

_UNREACHABLE: Final = (
    "Failed to establish",
    "Connection refused",
    "Max retries exceeded",
    "timed out",
    "Name or service not known",
)
"""How MLflow's HTTP client words a server that is down or too slow."""


class RegistryUnavailableError(RuntimeError):
    """The model registry could not be read; the message says where it was looked for."""


@dataclass(frozen=True)
class VersionInfo:
    version: str
    aliases: tuple[str, ...]
    created_at: datetime | None
    run_id: str | None
    kind: str | None
    metrics: dict[str, float] = field(default_factory=dict)
    production_since: datetime | None = None
    since_source: str | None = None
    """``trainlogs`` (the promotion was logged) or ``registry`` (last registry update)."""


def _ts(millis: Any) -> datetime | None:
    return None if not millis else datetime.fromtimestamp(int(millis) / 1000, UTC)


def promotion_times(store: Store) -> dict[str, datetime]:
    """Latest ``promoted`` time per model version, from ``trainlogs``."""
    log = store.training_log()
    if log.empty:
        return {}
    promoted = log[(log["status"] == "promoted") & log["model_version"].notna()]
    out: dict[str, datetime] = {}
    for version, when in zip(promoted["model_version"], promoted["time"], strict=True):
        stamp = pd.Timestamp(when)
        stamp = stamp.tz_localize(UTC) if stamp.tzinfo is None else stamp
        key = str(version)
        if key not in out or stamp.to_pydatetime() > out[key]:
            out[key] = stamp.to_pydatetime()
    return out


def list_versions(
    client: Any,
    model_name: str,
    *,
    production_alias: str = "production",
    promotions: Mapping[str, datetime] | None = None,
    limit: int = 50,
) -> list[VersionInfo]:
    """Registered versions, newest first, with aliases, run metrics and production time.

    ``client`` is an ``mlflow.MlflowClient``.  An unknown model gives an empty list (no
    model trained yet); any other failure raises ``RegistryUnavailableError``.
    """
    from mlflow.exceptions import MlflowException

    try:
        versions = client.search_model_versions(
            f"name = '{model_name}'", max_results=limit, order_by=["version_number DESC"]
        )
        # search results leave aliases out; the registered model has them all
        alias_map = dict(client.get_registered_model(model_name).aliases or {}) if versions else {}
    except MlflowException as exc:
        if getattr(exc, "error_code", "") == "RESOURCE_DOES_NOT_EXIST":
            return []
        text = str(exc.message)
        if any(sign in text for sign in _UNREACHABLE):
            raise RegistryUnavailableError("the model registry is not reachable") from exc
        raise RegistryUnavailableError(
            f"the model registry could not be read: {text[:200]}"
        ) from exc
    except Exception as exc:  # requests/urllib3 errors when the server is down
        raise RegistryUnavailableError(
            f"the model registry is not reachable ({type(exc).__name__})"
        ) from exc
    promotions = promotions or {}
    out: list[VersionInfo] = []
    for mv in versions:
        metrics: dict[str, float] = {}
        kind: str | None = None
        if mv.run_id:
            try:
                run = client.get_run(mv.run_id)
                metrics = dict(run.data.metrics)
                kind = run.data.params.get("kind") or run.data.tags.get("homeval.model_kind")
            except MlflowException:
                pass  # the run was deleted; the version stays listable
        version = str(mv.version)
        aliases = tuple(sorted(a for a, v in alias_map.items() if str(v) == version))
        since: datetime | None = None
        since_source: str | None = None
        if production_alias in aliases:
            if version in promotions:
                since, since_source = promotions[version], "trainlogs"
            else:
                since, since_source = _ts(mv.last_updated_timestamp), "registry"
        out.append(
            VersionInfo(
                version=version,
                aliases=aliases,
                created_at=_ts(mv.creation_timestamp),
                run_id=mv.run_id,
                kind=kind or (mv.tags or {}).get("kind"),
                metrics=metrics,
                production_since=since,
                since_source=since_source,
            )
        )
    out.sort(key=lambda v: -int(v.version) if v.version.isdigit() else 0)
    return out
