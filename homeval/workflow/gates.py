"""The pipeline's gates: when a run may train, as pure functions of numbers it already has.

Training costs minutes and every promotion moves the model users see, so a run trains
only when the data is worth learning from and there is something to learn:

* enough clean rows (a model fitted on a few hundred listings prices nothing well);
* mostly feed rows: ``user`` rows are what people typed into the UI, unverified, so a
  store dominated by them is not a market sample;
* drift detected since the production model was trained, or no production model yet, or
  a production model logged by an older homeval (one this version cannot serve).

Each gate answers with a ``GateDecision`` whose reason is a sentence for the training log
and the UI, so a skipped run says why it skipped.  No I/O here: the KFP components and the
tests call the same functions with the numbers the store and the drift check report.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class GateDecision:
    """Whether a gate let the run through, which gate, and a sentence saying why."""

    passed: bool
    reason: str
    gate: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def enough_rows(clean_rows: int, min_rows: int) -> GateDecision:
    """At least ``min_rows`` clean listings to learn from."""
    if clean_rows < 0 or min_rows < 0:
        raise ValueError(f"row counts cannot be negative (clean_rows={clean_rows}, min={min_rows})")
    if clean_rows >= min_rows:
        return GateDecision(True, f"{clean_rows:,} clean rows (at least {min_rows:,})", "rows")
    return GateDecision(
        False, f"only {clean_rows:,} clean rows, {min_rows:,} needed to train", "rows"
    )


def teacher_share_ok(counts: Mapping[str, int], min_share: float) -> GateDecision:
    """Feed (``teacher``) rows make up at least ``min_share`` of the raw rows.

    ``counts`` is rows per data origin (``Store.origin_counts()``); origins other than
    ``teacher`` all count against the share.
    """
    if not 0.0 <= min_share <= 1.0:
        raise ValueError(f"min_share must be between 0 and 1, got {min_share}")
    if any(n < 0 for n in counts.values()):
        raise ValueError(f"row counts cannot be negative: {dict(counts)}")
    total = sum(counts.values())
    teacher = counts.get("teacher", 0)
    if total == 0:
        if min_share == 0.0:
            return GateDecision(True, "no raw rows, and no teacher share is required", "teacher")
        return GateDecision(False, "no raw rows yet, so no teacher share", "teacher")
    share = teacher / total
    if share >= min_share:
        return GateDecision(
            True, f"teacher rows are {share:.1%} of {total:,} (at least {min_share:.0%})", "teacher"
        )
    return GateDecision(
        False,
        f"teacher rows are only {share:.1%} of {total:,} raw rows, {min_share:.0%} needed",
        "teacher",
    )


def needs_training(
    drift_detected: bool | None,
    has_production: bool,
    *,
    outdated: str = "",
    note: str = "",
) -> GateDecision:
    """Train when there is no production model yet, when it is outdated, or when drift
    was detected.

    ``drift_detected`` is None when drift could not be judged (no reference, too few new
    rows); with a production model in place that is not a reason to replace it.
    ``outdated`` says why the production model cannot serve with this homeval (logged by
    an older one), empty when it can.  ``note`` (e.g. the drift check's own reason) is
    appended to the sentence.
    """
    suffix = f": {note}" if note else ""
    if not has_production:
        return GateDecision(True, f"no production model yet{suffix}", "drift")
    if outdated:
        return GateDecision(True, outdated, "drift")
    if drift_detected is True:
        return GateDecision(True, f"drift detected{suffix}", "drift")
    if drift_detected is False:
        return GateDecision(False, f"no drift since the production model{suffix}", "drift")
    return GateDecision(False, f"drift could not be judged{suffix}", "drift")


def first_failure(*decisions: GateDecision) -> GateDecision | None:
    """The first gate that stopped the run, or None when all passed."""
    return next((d for d in decisions if not d.passed), None)
