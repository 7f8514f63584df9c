from __future__ import annotations

import threading
from pathlib import Path

import pytest
import sqlalchemy as sa

from homeval.data.listing_parser import parse_frame, parse_rows, read_listings_csv
from homeval.data.store import FeedPosition, Store, StoreError, batch_key
from homeval.data.tables import clean_houses, raw_houses, raw_rejects, train_logs

ROW = [
    None,
    "sold",
    250000,
    3,
    2,
    0.2,
    None,
    "Hartford",
    "Connecticut",
    "06103",
    1500,
    "2019-06-28",
]


@pytest.fixture
def store(store_url: str) -> Store:
    s = Store(store_url)
    s.init()
    s.init()  # idempotent
    return s


def test_schemas_hold_the_tables(store: Store) -> None:
    inspector = sa.inspect(store.engine)
    assert "houses" in inspector.get_table_names(schema="rawdata")
    assert "houses" in inspector.get_table_names(schema="cleandata")
    assert "logs" in inspector.get_table_names(schema="trainlogs")


def test_ingest_is_idempotent_per_batch(store: Store) -> None:
    rows = [ROW, [*ROW[:2], 300000, *ROW[3:]]]
    key = batch_key(rows)
    first = store.ingest_batch(parse_rows(rows), batch_id=key, source="test")
    again = store.ingest_batch(parse_rows(rows), batch_id=key, source="test")
    assert (first.inserted, first.duplicate) == (2, False)
    assert (again.inserted, again.duplicate) == (0, True)
    assert store.count(raw_houses) == 2
    frame = store.read_raw()
    assert sorted(frame["price"]) == [250000.0, 300000.0]
    assert set(frame["data_origin"]) == {"teacher"}


def test_rejects_are_kept_with_reasons_and_the_rest_stored(store: Store) -> None:
    rows = [ROW, [*ROW[:2], "lots", *ROW[3:]], ROW[:4]]
    result = store.ingest_batch(parse_rows(rows), batch_id=batch_key(rows), raw_rows=rows)
    assert (result.inserted, result.rejected) == (1, 2)
    rejects = store.read_frame(sa.select(raw_rejects).order_by(raw_rejects.c.row_number))
    assert list(rejects["row_number"]) == [1, 2]
    assert "price: not a number" in rejects["reasons"][0]
    assert "lots" in rejects["payload"][0]


def test_failed_batch_leaves_nothing(store: Store) -> None:
    rows = [ROW]
    parsed = parse_rows(rows)
    with pytest.raises(ValueError, match="data_origin"):
        store.ingest_batch(parsed, batch_id="b", origin="robot")  # type: ignore[arg-type]
    parsed.rows["price"] = ["not-a-float-for-the-database"]
    with pytest.raises(StoreError, match="was not stored"):
        store.ingest_batch(parsed, batch_id="b2")
    assert store.count(raw_houses) == 0
    # the batch id was not burnt by the failure: the same batch can come again
    assert store.ingest_batch(parse_rows(rows), batch_id="b2").inserted == 1


def test_the_feed_position_moves_only_with_a_stored_batch(store: Store) -> None:
    assert store.feed_position("feed-a", 1, "Tuesday") == 0
    parsed = parse_rows([ROW])
    parsed.rows["price"] = ["not-a-float-for-the-database"]
    with pytest.raises(StoreError):
        store.ingest_batch(parsed, batch_id="b", position=FeedPosition("feed-a", 1, "Tuesday", 1))
    assert store.feed_position("feed-a", 1, "Tuesday") == 0, "rolled back with the rows"
    stored = store.ingest_batch(
        parse_rows([ROW]), batch_id="b", position=FeedPosition("feed-a", 1, "Tuesday", 1)
    )
    assert stored.inserted == 1
    again = store.ingest_batch(
        parse_rows([ROW]), batch_id="b", position=FeedPosition("feed-a", 1, "Tuesday", 2)
    )
    assert again.duplicate
    assert store.feed_position("feed-a", 1, "Tuesday") == 2, "a duplicate moves it too"
    assert store.feed_position("feed-a", 2, "Tuesday") == 0
    assert store.feed_position("feed-b", 1, "Tuesday") == 0
    store.set_feed_position(FeedPosition("feed-a", 1, "Tuesday", 0))
    assert store.feed_position("feed-a", 1, "Tuesday") == 0


def test_concurrent_duplicate_batches_store_once(store: Store) -> None:
    rows = [ROW] * 50
    key = batch_key(rows)
    results = []

    def send() -> None:
        results.append(store.ingest_batch(parse_rows(rows), batch_id=key))

    threads = [threading.Thread(target=send) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(not r.duplicate for r in results) == 1
    assert store.count(raw_houses) == 50


def test_user_rows_keep_prediction_apart_from_price(store: Store) -> None:
    row = [None, "for_sale", None, 3, 2, 0.2, None, "Hartford", "CT", "06103", 1500, None]
    store.ingest_batch(
        parse_rows([row]),
        batch_id="ui-1",
        origin="user",
        extra={"predicted_price": [321000.0], "model_version": ["3"]},
    )
    got = store.read_raw().iloc[0]
    assert got["data_origin"] == "user"
    assert got["price"] is None or got["price"] != got["price"]
    assert got["predicted_price"] == 321000.0
    assert store.origin_counts() == {"teacher": 0, "user": 1}


def test_training_log_round_trip(store: Store) -> None:
    store.log_training(step="promote", status="promoted", message="beat champion",
                       metrics={"mdape": 0.12, "nan": float("nan")}, model_version="2",
                       run_ids={"lightgbm": "abc"})  # fmt: skip
    store.log_training(step="gate", status="skipped", message="no drift")
    log = store.training_log()
    assert list(log["status"]) == ["skipped", "promoted"]
    assert log["metrics"][1] == {"mdape": 0.12, "nan": None}
    assert log["run_ids"][1] == {"lightgbm": "abc"}
    assert store.count(train_logs) == 2
    assert store.count(clean_houses) == 0


def test_every_real_row_ingests(store: Store, realtor_files: list[Path]) -> None:
    total = 0
    for path in realtor_files:
        parsed = parse_frame(read_listings_csv(path))
        result = store.ingest_batch(parsed, batch_id=path.name, source=path.name)
        assert result.inserted == len(parsed.rows)
        total += result.inserted
    # 41,695 north-eastern rows and the 9,263 of the national sample
    assert store.count(raw_houses) == total == 50_958
    back = store.read_raw()
    assert back["state"].notna().all()
    assert back["price"].notna().sum() == total - 6  # six national rows have no price


def test_init_adds_the_client_index_to_a_store_of_an_older_homeval(store: Store) -> None:
    with store.begin() as conn:
        conn.execute(sa.text("DROP INDEX rawdata.ix_batches_source_ingested_at"))
    store.init()
    indexes = sa.inspect(store.engine).get_indexes("batches", schema="rawdata")
    assert "ix_batches_source_ingested_at" in {i["name"] for i in indexes}
