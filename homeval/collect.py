"""Collect: pull batches from the feed into ``rawdata`` until enough or none are left.

The first step of the pipeline and of ``homeval collect``.  Each batch is stored under
the hash of its content, so a batch the feed sends twice (after a restart, a retry, a
second ``make up``) is stored once and counted as a duplicate; rows that fail validation
are kept in ``rawdata.rejects`` with their reasons while the rest of the batch is stored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from homeval.schema import parse_rows
from homeval.source import FeedBatch, FeedClient
from homeval.store import Store, StoreError, batch_key

log = logging.getLogger("homeval.collect")


@dataclass(frozen=True)
class BatchOutcome:
    """What one fetched batch did to the store."""

    batch_number: int | None
    batch_id: str
    rows: int
    inserted: int
    rejected: int
    duplicate: bool


@dataclass
class CollectSummary:
    """Totals of one collect run; ``exhausted`` means the feed ran out of batches on the way."""

    batches: int = 0
    inserted: int = 0
    rejected: int = 0
    duplicates: int = 0
    exhausted: bool = False
    restarted: bool = False
    outcomes: list[BatchOutcome] = field(default_factory=list)

    def add(self, outcome: BatchOutcome) -> None:
        self.outcomes.append(outcome)
        self.batches += 1
        self.inserted += outcome.inserted
        self.rejected += outcome.rejected
        self.duplicates += int(outcome.duplicate)


class CollectError(RuntimeError):
    """A fetched batch could not be stored (the batches before it are stored)."""


def store_batch(store: Store, batch: FeedBatch, *, source: str) -> BatchOutcome:
    """Validate and store one feed batch, once per content."""
    parsed = parse_rows(batch.rows)
    key = batch_key(batch.rows)
    result = store.ingest_batch(
        parsed,
        batch_id=key,
        origin="teacher",
        source=source,
        group_number=batch.group_number,
        day=batch.day,
        batch_number=batch.batch_number,
        raw_rows=batch.rows,
    )
    return BatchOutcome(
        batch_number=batch.batch_number,
        batch_id=key,
        rows=len(batch.rows),
        inserted=result.inserted,
        rejected=len(parsed.rejected),
        duplicate=result.duplicate,
    )


def collect(
    store: Store,
    client: FeedClient,
    *,
    group: int,
    day: str,
    max_batches: int,
    restart_when_exhausted: bool = False,
    progress: Callable[[BatchOutcome], None] | None = None,
) -> CollectSummary:
    """Fetch up to ``max_batches`` batches of (group, day) into the store.

    When the feed is exhausted, stop — or, with ``restart_when_exhausted``, restart it
    once and go on (replayed batches are recognised and stored once).  Feed failures raise
    ``FeedError`` (after the client's retries); a batch the store refuses raises
    ``CollectError`` naming it, and replaying it later is safe.
    """
    if max_batches < 1:
        raise ValueError(f"max_batches must be at least 1, got {max_batches}")
    summary = CollectSummary()
    while summary.batches < max_batches:
        answer = client.fetch(group, day)
        if not isinstance(answer, FeedBatch):
            summary.exhausted = True
            log.info("feed exhausted for group %d/%s: %s", group, day, answer.detail)
            if restart_when_exhausted and not summary.restarted:
                client.restart(group, day)
                summary.restarted = True
                log.info("feed restarted for group %d/%s", group, day)
                continue
            break
        try:
            outcome = store_batch(store, answer, source=client.base_url)
        except StoreError as exc:
            raise CollectError(
                f"batch {answer.batch_number} of group {group}/{day} was fetched but not "
                f"stored ({exc}); collecting again after a feed restart replays it safely"
            ) from exc
        summary.add(outcome)
        log.info("batch %s: %d rows, %d stored, %d rejected%s", outcome.batch_number,
                 outcome.rows, outcome.inserted, outcome.rejected,
                 " (already stored)" if outcome.duplicate else "")  # fmt: skip
        if progress is not None:
            progress(outcome)
    return summary
