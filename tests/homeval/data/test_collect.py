"""collect(): feed → store with faults on the way; exact counts, nothing twice, nothing lost.

Each test runs on the embedded SQLite store and on a real PostgreSQL, against the real
feed simulator on a loopback port.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.responses import JSONResponse

from homeval.data.collect import BatchOutcome, CollectError, collect
from homeval.data.feed_client import FeedClient, FeedError
from homeval.data.listing_parser import parse_rows
from homeval.data.store import FeedPosition, Store
from homeval.data.tables import raw_batches, raw_houses, raw_rejects
from tests.datasource.server import running, running_feed

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
        store.set_feed_position(FeedPosition(client.data_id(), 1, "Tuesday", 0))
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


def test_another_client_taking_batches_takes_none_from_the_collector(store: Store) -> None:
    """A curl of GET /data moves the feed's cursor; the collector asks by number."""
    settings = {"datasource_batch_size": 100, "datasource_batches": 4}
    with running_feed(**settings) as (url, app), feed_client(url) as client:
        one = collect(store, client, group=1, day="Tuesday", max_batches=1)
        for _ in range(2):  # someone looks at the feed the way the seed's README shows
            assert httpx.get(f"{url}/data", params={"group_number": 1, "day": "Tuesday"}).is_success
        rest = collect(store, client, group=1, day="Tuesday", max_batches=10)
        valid, _ = expected_rows(app, 4)
    assert [o.batch_number for o in one.outcomes + rest.outcomes] == [0, 1, 2, 3]
    assert store.count(raw_houses) == valid


def test_the_position_follows_the_data_not_the_address(store: Store) -> None:
    settings = {"datasource_batch_size": 100, "datasource_batches": 4}
    with running_feed(**settings) as (a, _), feed_client(a) as client:
        collect(store, client, group=1, day="Tuesday", max_batches=2)
    with running_feed(**settings) as (b, _), feed_client(b) as moved:
        rest = collect(store, moved, group=1, day="Tuesday", max_batches=10)
    assert [o.batch_number for o in rest.outcomes] == [2, 3]
    with running_feed(**settings, datasource_seed=99) as (c, _), feed_client(c) as other:
        fresh = collect(store, other, group=1, day="Tuesday", max_batches=1)
    assert [o.batch_number for o in fresh.outcomes] == [0]  # other data starts at its start
    assert fresh.duplicates == 0


def test_a_feed_that_does_not_number_its_batches_is_still_collected(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    """The seed's protocol: no /health, ``batch_number`` ignored, its own cursor."""
    seed = FastAPI()
    served = {"next": 0}
    rows = [["1", "for_sale", 100000.0 + n, 3, 2, 0.1, "9", "Boston", "Massachusetts",
             "02108", 1500, None] for n in range(3)]  # fmt: skip

    @seed.get("/data")
    def data(group_number: int, day: str) -> Any:
        number = served["next"]
        if number >= 2:
            return JSONResponse(status_code=400, content={"detail": "no more data"})
        served["next"] += 1
        batch = [[*row[:2], row[2] + 1000 * number, *row[3:]] for row in rows]
        return {"group_number": group_number, "day": day, "batch_number": number, "data": batch}

    with running(seed) as url, feed_client(url) as client, caplog.at_level("WARNING"):
        httpx.get(f"{url}/data", params={"group_number": 1, "day": "Tuesday"})  # someone else
        summary = collect(store, client, group=1, day="Tuesday", max_batches=5)
        assert client.data_id() == url
    # batch 0 went to the other client: with such a feed that cannot be helped, but it is said
    assert ([o.batch_number for o in summary.outcomes], summary.exhausted) == ([1], True)
    assert store.count(raw_houses) == 3
    assert "does not serve batches by number" in caplog.text
