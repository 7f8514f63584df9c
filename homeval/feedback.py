"""Listings people priced, kept as ``user`` rows: what the model is asked, never a sale.

Each priced listing goes to ``rawdata.houses`` with ``data_origin='user'``, the predicted
price in ``predicted_price`` and the model version that gave it; ``price`` stays empty,
because a prediction is not a sale price.  Processing keeps these rows out of training,
the teacher-share gate counts them, and drift checks can compare them with what the
model learnt from (serving drift).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from homeval.schema import LISTING_FIELDS, SchemaError, parse_rows
from homeval.store import IngestResult, Store, raw_houses

SOURCE = "ui"


def record_prediction(
    store: Store,
    listing: Mapping[str, Any],
    *,
    predicted_price: float,
    model_version: str | None,
    request_id: str | None = None,
    source: str = SOURCE,
) -> IngestResult:
    """Store one priced listing as a user row; raises ``StoreError`` if the write fails.

    ``request_id`` makes a retried request store its row once (it becomes the batch id);
    without it every call stores a new row.
    """
    row = [None if name == "price" else listing.get(name) for name in LISTING_FIELDS]
    batch = parse_rows([row])
    if batch.rejected:
        raise SchemaError("; ".join(str(r) for r in batch.rejected))
    batch_id = f"user-{request_id or uuid.uuid4().hex}"
    return store.ingest_batch(
        batch,
        batch_id=batch_id,
        origin="user",
        source=source,
        extra={"predicted_price": [float(predicted_price)], "model_version": [model_version]},
    )


def recent_user_rows(store: Store, limit: int = 20) -> list[dict[str, Any]]:
    """The latest priced listings, newest first (for checks and the page's history)."""
    query = (
        sa.select(raw_houses)
        .where(raw_houses.c.data_origin == "user")
        .order_by(raw_houses.c.id.desc())
        .limit(limit)
    )
    with store.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]
