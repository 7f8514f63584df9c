from __future__ import annotations

import pytest
import sqlalchemy as sa

from homeval.data.schema import SchemaError
from homeval.data.store import Store, StoreError
from homeval.data.tables import raw_houses
from ui.feedback import recent_user_rows, record_prediction

LISTING = {
    "brokered_by": None, "status": "for_sale", "bed": 3.0, "bath": 2.0, "acre_lot": 0.25,
    "street": None, "city": "Hartford", "state": "Connecticut", "zip_code": "06106",
    "house_size": 1800.0, "prev_sold_date": "2015-06-01",
}  # fmt: skip


def test_a_prediction_is_stored_as_a_user_row_without_a_sale_price(store_url: str) -> None:
    store = Store(store_url)
    store.init()
    result = record_prediction(store, LISTING, predicted_price=250_000.0, model_version="3")
    assert result.inserted == 1
    assert not result.duplicate
    rows = recent_user_rows(store)
    assert len(rows) == 1
    row = rows[0]
    assert row["data_origin"] == "user"
    assert row["price"] is None
    assert row["predicted_price"] == pytest.approx(250_000.0)
    assert row["model_version"] == "3"
    assert row["state"] == "Connecticut"
    assert row["zip_code"] == "06106"
    assert str(row["prev_sold_date"]) == "2015-06-01"
    assert store.origin_counts() == {"teacher": 0, "user": 1}
    store.dispose()


def test_each_request_is_one_row_and_a_retry_is_stored_once(store_url: str) -> None:
    store = Store(store_url)
    store.init()
    record_prediction(store, LISTING, predicted_price=1.0, model_version="1", request_id="a")
    again = record_prediction(
        store, LISTING, predicted_price=1.0, model_version="1", request_id="a"
    )
    assert again.duplicate
    record_prediction(store, LISTING, predicted_price=2.0, model_version="1")
    assert store.count(raw_houses, data_origin="user") == 2
    store.dispose()


def test_a_bad_listing_is_refused_before_any_write(store_url: str) -> None:
    store = Store(store_url)
    store.init()
    with pytest.raises(SchemaError, match="bed: negative"):
        record_prediction(store, {**LISTING, "bed": -2}, predicted_price=1.0, model_version=None)
    assert store.count(raw_houses) == 0
    store.dispose()


def test_an_unreachable_store_raises_a_store_error() -> None:
    store = Store("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")
    with pytest.raises((StoreError, sa.exc.OperationalError)):
        record_prediction(store, LISTING, predicted_price=1.0, model_version=None)
    store.dispose()
