"""Collect: pull batches from the feed into ``rawdata`` until enough or none are left.

The first step of the pipeline and of ``homeval collect``.  Collection is exactly-once
whatever dies: the collector keeps its place in each feed in the store, written in the
transaction that stores the batch, and asks the feed for batches by number.  Killed
before a commit, it asks for the same batch again; after, for the next.  Nobody else's
``GET /data`` (a curl, a second collector) can take a batch from it.  Each batch is also
stored under the hash of its content, so a batch seen twice (``--restart``, a feed that
does not number its batches) is stored once and counted as a duplicate; rows that fail
validation are kept in ``rawdata.rejects`` with their reasons while the rest is stored.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from homeval.data.feed_client import FeedBatch, FeedClient
from homeval.data.listing_parser import parse_rows
from homeval.data.store import FeedPosition, Store, StoreError, batch_key

log = logging.getLogger("homeval.data.collect")


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


def store_batch(
    store: Store, batch: FeedBatch, *, source: str, position: FeedPosition | None = None
) -> BatchOutcome:
    """Validate and store one feed batch, once per content, and ``position`` with it."""
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
        position=position,
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
    """Fetch up to ``max_batches`` batches of (group, day) into the store, from where the
    store says this collector stopped.

    When the feed has no next batch, stop — or, with ``restart_when_exhausted``, start
    over from batch 0 once and go on (batches already stored are recognised and stored
    once).  Feed failures raise ``FeedError`` (after the client's retries); a batch the
    store refuses raises ``CollectError`` naming it, and collecting again resumes there.
    """
    if max_batches < 1:
        raise ValueError(f"max_batches must be at least 1, got {max_batches}")
    summary = CollectSummary()
    feed = client.data_id()
    number = _stored_position(store, feed, group, day)
    warned = False
    while summary.batches < max_batches:
        answer = client.fetch(group, day, number)
        if not isinstance(answer, FeedBatch):
            summary.exhausted = True
            log.info("feed exhausted for group %d/%s at batch %d: %s", group, day, number,
                     answer.detail)  # fmt: skip
            if restart_when_exhausted and not summary.restarted:
                client.restart(group, day)  # for feeds that keep the place themselves
                number = 0
                summary.restarted = True
                log.info("collecting group %d/%s from batch 0 again", group, day)
                continue
            break
        served = answer.batch_number
        if served != number and not warned:
            warned = True  # a feed of the seed's protocol: it hands out its own next batch
            log.warning("asked the feed for batch %d of group %d/%s and got batch %s: it "
                        "does not serve batches by number, so a batch another client takes "
                        "is not collected here", number, group, day, served)  # fmt: skip
        number = (served if served is not None else number) + 1
        try:
            outcome = store_batch(store, answer, source=client.base_url,
                                  position=FeedPosition(feed, group, day, number))  # fmt: skip
        except StoreError as exc:
            raise CollectError(
                f"batch {served} of group {group}/{day} was fetched but not stored ({exc}); "
                "collecting again asks for it again"
            ) from exc
        summary.add(outcome)
        log.info("batch %s: %d rows, %d stored, %d rejected%s", outcome.batch_number,
                 outcome.rows, outcome.inserted, outcome.rejected,
                 " (already stored)" if outcome.duplicate else "")  # fmt: skip
        if progress is not None:
            progress(outcome)
    return summary


def _stored_position(store: Store, feed: str, group: int, day: str) -> int:
    try:
        return store.feed_position(feed, group, day)
    except StoreError as exc:
        raise CollectError(f"cannot resume group {group}/{day}: {exc}") from exc
