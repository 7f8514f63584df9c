"""Listings people priced, kept as ``user`` rows: what the model is asked, never a sale.

Each priced listing goes to ``rawdata.houses`` with ``data_origin='user'``, the predicted
price in ``predicted_price`` and the model version that gave it; ``price`` stays empty,
because a prediction is not a sale price.  Processing keeps these rows out of training,
the teacher-share gate counts them, and drift checks can compare them with what the
model learnt from (serving drift).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from homeval.data.listing_parser import parse_rows
from homeval.data.schema import LISTING_FIELDS, SchemaError
from homeval.data.store import IngestResult, Store
from homeval.data.tables import raw_batches, raw_houses

SOURCE = "ui"


def client_source(client: str | None, source: str = SOURCE) -> str:
    """The batch ``source`` of a client's rows: a hash of its address, not the address
    (which would be personal data kept for as long as the rows)."""
    if not client:
        return source
    return f"{source}:{hashlib.sha256(client.encode()).hexdigest()[:16]}"


def rows_added_by(store: Store, client: str, *, within: timedelta = timedelta(days=1)) -> int:
    """User rows ``client`` added in the last ``within`` (counted in the store, so every UI
    replica and restart sees the same number)."""
    since = datetime.now(UTC) - within
    query = (
        sa.select(sa.func.count())
        .select_from(raw_batches)
        .where(raw_batches.c.source == client_source(client), raw_batches.c.ingested_at >= since)
    )
    with store.engine.connect() as conn:
        return int(conn.execute(query).scalar_one())


def record_prediction(
    store: Store,
    listing: Mapping[str, Any],
    *,
    predicted_price: float,
    model_version: str | None,
    request_id: str | None = None,
    source: str = SOURCE,
    client: str | None = None,
) -> IngestResult:
    """Store one priced listing as a user row; raises ``StoreError`` if the write fails.

    ``request_id`` makes a retried request store its row once (it becomes the batch id);
    without it every call stores a new row.  ``client`` (an address) is kept hashed in the
    batch's source, for ``rows_added_by``.
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
        source=client_source(client, source),
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
