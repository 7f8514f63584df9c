from __future__ import annotations

from pathlib import Path

import pandas as pd

from homeval.data.listing_parser import parse_frame, parse_rows, read_listings_csv
from homeval.data.schema import STATES, ParsedBatch
from homeval.data.store import Store
from homeval.data.tables import clean_houses
from ui.location_choices import EMPTY, CachedLocationChoices, load_location_choices


def _teacher_rows(files: list[Path]) -> pd.DataFrame:
    return parse_frame(read_listings_csv(files[0])).rows.head(3000)


def test_an_empty_store_offers_every_state_and_free_text(store_url: str) -> None:
    store = Store(store_url)
    store.init()
    choices = load_location_choices(store)
    assert choices is EMPTY
    assert set(choices.states) == set(STATES)
    assert choices.default_state is None
    assert choices.cities_of("Texas") == ()
    store.dispose()


def test_places_come_from_raw_teacher_rows_before_processing(
    store_url: str, realtor_files: list[Path]
) -> None:
    store = Store(store_url)
    store.init()
    rows = _teacher_rows(realtor_files)
    store.ingest_batch(ParsedBatch(rows=rows, rejected=[]), batch_id="b1")
    choices = load_location_choices(store)
    assert choices.source == "rawdata"
    counts = rows["state"].value_counts()
    assert choices.states[0] == counts.index[0]  # most listed first
    assert set(choices.states) == set(counts.index)
    state = choices.states[0]
    in_state = rows[rows["state"] == state]
    top_city = in_state["city"].value_counts().index[0]
    assert choices.cities_of(state)[0] == top_city
    city_zips = set(in_state.loc[in_state["city"] == top_city, "zip_code"].dropna())
    assert set(choices.zips_of(state, top_city)) == city_zips
    # an unknown city falls back to the state's ZIPs
    assert set(choices.zips_of(state, "Nowhere")) == set(in_state["zip_code"].dropna())
    store.dispose()


def test_clean_rows_win_and_user_rows_never_suggest_places(store_url: str) -> None:
    store = Store(store_url)
    store.init()
    frame = pd.DataFrame(
        {"raw_id": [1, 2], "listing_key": ["a", "b"], "property_id": ["p", "q"],
         "batch_id": ["b", "b"], "data_origin": ["teacher", "user"],
         "state": ["Texas", "Ohio"], "city": ["Austin", "Akron"], "zip_code": ["78701", "44301"]}
    )  # fmt: skip
    with store.begin() as conn:
        store.insert_frame(conn, clean_houses, frame)
    choices = load_location_choices(store)
    assert choices.source == "cleandata"
    assert choices.states == ("Texas",)
    assert choices.cities_of("Texas") == ("Austin",)
    assert choices.zips_of("Texas", "Austin") == ("78701",)
    store.dispose()


def test_the_cache_reads_once_per_ttl_and_keeps_working_when_the_store_fails(
    tmp_path: Path,
) -> None:
    now = [0.0]
    store = Store(f"sqlite:///{tmp_path / 'a.db'}")
    store.init()
    cache = CachedLocationChoices(store, ttl_s=60, clock=lambda: now[0])
    first = cache.get()
    assert cache.get() is first
    # make the store unreadable: drop the table the query needs
    with store.begin() as conn:
        conn.exec_driver_sql("DROP TABLE rawdata.houses")
    assert cache.get() is first  # still cached
    now[0] = 61.0
    failed = cache.get()
    assert failed.problem is not None
    assert "not reachable" in failed.problem
    assert failed.states == first.states  # the form still offers states
    store.dispose()


def test_a_zero_ttl_always_reads(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'b.db'}")
    store.init()
    cache = CachedLocationChoices(store, ttl_s=0.0)
    assert cache.get() is EMPTY
    row = ["1", "sold", "", "1", "1", "1", "1", "Reno", "Nevada", "89501", "900", ""]
    store.ingest_batch(parse_rows([row]), batch_id="x")
    assert cache.get().states == ("Nevada",)
    store.dispose()
