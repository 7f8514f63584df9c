"""collect(): feed → store with faults on the way; exact counts, nothing twice, nothing lost.

Each test runs on the embedded SQLite store and on a real PostgreSQL, against the real
feed simulator on a loopback port.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from homeval.collect import BatchOutcome, CollectError, collect
from homeval.schema import parse_rows
from homeval.source import FeedClient, FeedError
from homeval.store import Store, raw_batches, raw_houses, raw_rejects
from tests.datasource.server import running_feed

BATCHES = 6
SIZE = 400


@pytest.fixture
def store(store_url: str) -> Store:
    s = Store(store_url)
    s.init()
    return s


def expected_rows(app: object, batches: int, *, group: int = 1, day: str = "Tuesday"):
    """What the feed's data holds: (valid rows, rejected rows), computed from its source."""
    source = app.state.feed.source  # type: ignore[attr-defined]
    drift = app.state.feed.drift  # type: ignore[attr-defined]
    valid = rejected = 0
    for number in range(batches):
        parsed = parse_rows(source.batch(group, day, number, drift))
        valid += len(parsed.rows)
        rejected += len(parsed.rejected)
    return valid, rejected


def feed_client(url: str, **options: object) -> FeedClient:
    defaults: dict[str, object] = {"timeout_s": 5.0, "retries": 40, "backoff_s": 0.0}
    return FeedClient(url, **{**defaults, **options})  # type: ignore[arg-type]


def test_flaky_feed_exact_counts_no_duplicates(store: Store) -> None:
    settings = {
        "datasource_batch_size": SIZE,
        "datasource_batches": BATCHES,
        "datasource_fail_rate": 0.4,
    }
    seen: list[BatchOutcome] = []
    with running_feed(**settings) as (url, app), feed_client(url) as client:
        summary = collect(
            store, client, group=1, day="Tuesday", max_batches=100, progress=seen.append
        )
        valid, rejected = expected_rows(app, BATCHES)
    assert (summary.batches, summary.duplicates, summary.exhausted) == (BATCHES, 0, True)
    assert [o.batch_number for o in seen] == list(range(BATCHES))
    assert summary.inserted == valid == store.count(raw_houses)
    assert summary.rejected == rejected == store.count(raw_rejects)
    assert rejected > 0  # the generator's malformed rows were kept aside, with reasons
    assert valid + rejected == BATCHES * SIZE

    batches = store.read_frame(sa.select(raw_batches).order_by(raw_batches.c.batch_number))
    assert list(batches["batch_number"]) == list(range(BATCHES))
    assert set(batches["group_number"]) == {1}
    assert set(batches["day"]) == {"Tuesday"}
    assert set(batches["source"]) == {url}
    assert batches["batch_id"].is_unique
    raw = store.read_raw()
    assert raw.groupby("batch_id").size().sort_index().tolist() == (
        batches.set_index("batch_id")["rows"].sort_index().tolist()
    )


def test_rejected_rows_keep_their_reasons_and_payload(store: Store) -> None:
    settings = {"datasource_batch_size": 3000, "datasource_batches": 1}
    with running_feed(**settings) as (url, _), feed_client(url) as client:
        summary = collect(store, client, group=1, day="Tuesday", max_batches=1)
    rejects = store.read_frame(sa.select(raw_rejects))
    assert len(rejects) == summary.rejected > 0
    assert rejects["reasons"].str.contains(":").all()
    assert rejects["payload"].notna().all()
    assert summary.inserted + summary.rejected == 3000


def test_replayed_batches_are_stored_once(store: Store) -> None:
    settings = {"datasource_batch_size": SIZE, "datasource_batches": 3}
    with running_feed(**settings) as (url, _), feed_client(url) as client:
        first = collect(store, client, group=1, day="Tuesday", max_batches=10)
        count = store.count(raw_houses)
        client.restart(1, "Tuesday")
        again = collect(store, client, group=1, day="Tuesday", max_batches=10)
    assert (first.batches, first.duplicates) == (3, 0)
    assert (again.batches, again.duplicates, again.inserted) == (3, 3, 0)
    assert store.count(raw_houses) == count
    assert store.count(raw_batches) == 3


def test_restart_when_exhausted_goes_round_once(store: Store) -> None:
    settings = {"datasource_batch_size": 100, "datasource_batches": 2}
    with running_feed(**settings) as (url, _), feed_client(url) as client:
        summary = collect(
            store, client, group=1, day="Tuesday", max_batches=50, restart_when_exhausted=True
        )
    assert summary.restarted
    assert summary.exhausted
    assert (summary.batches, summary.duplicates) == (4, 2)
    assert store.count(raw_batches) == 2


def test_max_batches_stops_early_and_the_next_run_resumes(store: Store) -> None:
    settings = {"datasource_batch_size": 100, "datasource_batches": 5}
    with running_feed(**settings) as (url, app), feed_client(url) as client:
        one = collect(store, client, group=1, day="Tuesday", max_batches=2)
        two = collect(store, client, group=1, day="Tuesday", max_batches=10)
        valid, _ = expected_rows(app, 5)
    assert (one.batches, one.exhausted) == (2, False)
    assert (two.batches, two.exhausted, two.duplicates) == (3, True, 0)
    assert store.count(raw_houses) == valid


def test_timeouts_lose_no_batch(store: Store) -> None:
    settings = {"datasource_batch_size": 200, "datasource_batches": 3, "datasource_latency_s": 0.4}
    with running_feed(**settings) as (url, app):
        with feed_client(url, timeout_s=0.1, retries=1) as hasty, pytest.raises(FeedError):
            collect(store, hasty, group=1, day="Tuesday", max_batches=3)
        assert store.count(raw_houses) == 0
        with feed_client(url, timeout_s=5) as patient:
            summary = collect(store, patient, group=1, day="Tuesday", max_batches=10)
        valid, _ = expected_rows(app, 3)
    assert [o.batch_number for o in summary.outcomes] == [0, 1, 2]
    assert store.count(raw_houses) == valid


def test_groups_and_days_are_collected_separately(store: Store) -> None:
    settings = {"datasource_batch_size": 100, "datasource_batches": 2}
    with running_feed(**settings) as (url, _), feed_client(url) as client:
        a = collect(store, client, group=1, day="Tuesday", max_batches=5)
        b = collect(store, client, group=2, day="Tuesday", max_batches=5)
    assert (a.batches, b.batches, b.duplicates) == (2, 2, 0)  # other group, other rows
    groups = store.read_frame(sa.select(raw_batches.c.group_number))["group_number"]
    assert sorted(groups) == [1, 1, 2, 2]


def test_a_batch_the_store_refuses_is_named(store: Store) -> None:
    with store.begin() as conn:  # a real failure: the table the rows go to is gone
        conn.execute(sa.text("DROP TABLE rawdata.houses"))
    refused = "batch 0 of group 1/Tuesday was fetched but not stored"
    with (
        running_feed() as (url, _),
        feed_client(url) as client,
        pytest.raises(CollectError, match=refused),
    ):
        collect(store, client, group=1, day="Tuesday", max_batches=2)
    assert store.count(raw_batches) == 0  # the failed batch left nothing behind


def test_max_batches_must_be_positive(store: Store) -> None:
    with pytest.raises(ValueError, match="max_batches"):
        collect(store, feed_client("http://127.0.0.1:9"), group=1, day="x", max_batches=0)
