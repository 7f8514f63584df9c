"""The result of ``homeval pipeline run --json``: one JSON object, the last line of stdout.

The platform writes it (``PipelineOutcome.to_dict``), the DAG's local mode parses it
(``parse_outcome``).  Parsing checks it field by field, because the DAG's XCom and logs
promise the decisions the pipeline took (trained or skipped, promoted or not); a platform
that printed something else must fail the task with a message naming the field, not push
half an answer.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any, Final

from homeval_contract.decisions import Decisions

SUCCEEDED: Final = "SUCCEEDED"
FAILED: Final = "FAILED"
STATES: Final = (SUCCEEDED, FAILED)


class ContractError(ValueError):
    """The platform's answer does not follow the ``pipeline run --json`` contract."""


@dataclass(frozen=True)
class PipelineOutcome:
    """One finished pipeline run, as the platform reports it."""

    run_id: str
    state: str
    decisions: Decisions

    @property
    def succeeded(self) -> bool:
        return self.state == SUCCEEDED

    def summary(self) -> str:
        """One log line a person reads to know what the run did."""
        d = self.decisions
        if d.trained:
            model = f"promoted model version {d.model_version}" if d.promoted else "not promoted"
            what = f"trained, {model}"
        elif d.skip_reason:
            what = f"skipped training ({d.skip_reason})"
        else:
            what = "did not train" if not self.succeeded else "skipped training (no reason given)"
        drift = "unknown" if d.drift_detected is None else ("yes" if d.drift_detected else "no")
        share = "" if d.drift_share is None else f", drift share {d.drift_share:.3f}"
        return (
            f"pipeline run {self.run_id} {self.state}: {what}; "
            f"collected {d.collected_rows} rows, {d.clean_rows} clean; drift {drift}{share}"
        )

    def to_dict(self) -> dict[str, Any]:
        """The result object: ``{"run_id", "state", "decisions": {...}}``."""
        return asdict(self)

    def to_line(self) -> str:
        """The result as the one stdout line ``pipeline run --json`` ends with."""
        return json.dumps(self.to_dict())


def _field(data: dict[str, Any], name: str, kinds: tuple[type, ...], where: str) -> Any:
    if name not in data:
        raise ContractError(f"{where} has no field {name!r}")
    value = data[name]
    if isinstance(value, bool) and bool not in kinds:
        raise ContractError(f"{where}.{name} must not be a boolean, got {value!r}")
    if not isinstance(value, kinds):
        names = "/".join("null" if k is type(None) else k.__name__ for k in kinds)
        raise ContractError(f"{where}.{name} must be {names}, got {value!r}")
    return value


def parse_outcome(line: str) -> PipelineOutcome:
    """Parse the last stdout line of ``homeval pipeline run --json``."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ContractError(f"last stdout line is not JSON ({exc.msg}): {line[:200]!r}") from None
    if not isinstance(data, dict):
        raise ContractError(f"last stdout line is JSON but not an object: {line[:200]!r}")
    run_id = _field(data, "run_id", (str,), "result")
    state = _field(data, "state", (str,), "result")
    if state not in STATES:
        raise ContractError(f"result.state must be one of {', '.join(STATES)}, got {state!r}")
    raw = _field(data, "decisions", (dict,), "result")
    none = type(None)
    decisions = Decisions(
        collected_rows=_field(raw, "collected_rows", (int,), "decisions"),
        clean_rows=_field(raw, "clean_rows", (int,), "decisions"),
        drift_detected=_field(raw, "drift_detected", (bool, none), "decisions"),
        drift_share=_float_or_none(_field(raw, "drift_share", (int, float, none), "decisions")),
        trained=_field(raw, "trained", (bool,), "decisions"),
        promoted=_field(raw, "promoted", (bool,), "decisions"),
        model_version=_field(raw, "model_version", (str, none), "decisions"),
        skip_reason=_field(raw, "skip_reason", (str, none), "decisions"),
    )
    return PipelineOutcome(run_id=run_id, state=state, decisions=decisions)


def _float_or_none(value: float | None) -> float | None:
    return None if value is None else float(value)
