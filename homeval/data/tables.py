"""The tables of the three stores: raw listings (``rawdata``), clean listings
(``cleandata``) and the training log (``trainlogs``), one SQLAlchemy metadata for all."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final, Literal

import sqlalchemy as sa

from homeval.data.schema import LISTING_FIELDS

SCHEMAS: Final = ("rawdata", "cleandata", "trainlogs")
DataOrigin = Literal["teacher", "user"]
ORIGINS: Final = ("teacher", "user")

metadata = sa.MetaData()


def _listing_columns() -> list[sa.Column[Any]]:
    kinds: dict[str, Any] = {
        "brokered_by": sa.String(32),
        "status": sa.String(16),
        "price": sa.Float,
        "bed": sa.Float,
        "bath": sa.Float,
        "acre_lot": sa.Float,
        "street": sa.String(32),
        "city": sa.String(128),
        "state": sa.String(32),
        "zip_code": sa.String(5),
        "house_size": sa.Float,
        "prev_sold_date": sa.Date,
    }
    return [sa.Column(name, kinds[name], nullable=True) for name in LISTING_FIELDS]


def utc_now() -> datetime:
    return datetime.now(UTC)


raw_batches = sa.Table(
    "batches",
    metadata,
    sa.Column("batch_id", sa.String(128), primary_key=True),
    sa.Column("data_origin", sa.String(8), nullable=False),
    sa.Column("source", sa.String(256), nullable=True),
    sa.Column("group_number", sa.Integer, nullable=True),
    sa.Column("day", sa.String(32), nullable=True),
    sa.Column("batch_number", sa.Integer, nullable=True),
    sa.Column("rows", sa.Integer, nullable=False),
    sa.Column("rejected", sa.Integer, nullable=False),
    sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False, default=utc_now),
    sa.Index("ix_batches_source_ingested_at", "source", "ingested_at"),
    schema="rawdata",
)
"""One row per stored batch (a UI user row is a batch of one, its ``source`` names the
client, which is how the rows one client added are counted)."""

feed_positions = sa.Table(
    "feed_positions",
    metadata,
    sa.Column("feed", sa.String(256), primary_key=True),
    sa.Column("group_number", sa.Integer, primary_key=True),
    sa.Column("day", sa.String(32), primary_key=True),
    sa.Column("next_batch", sa.Integer, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, default=utc_now),
    schema="rawdata",
)
"""The collector's place in each feed: written in the transaction that stores the batch, so
a collector killed at any point resumes at the first batch it did not store."""

raw_houses = sa.Table(
    "houses",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("batch_id", sa.String(128), nullable=False, index=True),
    sa.Column("data_origin", sa.String(8), nullable=False),
    sa.Column(
        "ingested_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
    *_listing_columns(),
    sa.Column("predicted_price", sa.Float, nullable=True),
    sa.Column("model_version", sa.String(64), nullable=True),
    sa.CheckConstraint("data_origin in ('teacher', 'user')", name="raw_origin_known"),
    schema="rawdata",
)
"""Listings as they came.  User rows (from the UI/API) carry the price the model predicted
in ``predicted_price`` and leave ``price`` empty: a prediction is never a sale price."""

raw_rejects = sa.Table(
    "rejects",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("batch_id", sa.String(128), nullable=False, index=True),
    sa.Column("row_number", sa.Integer, nullable=False),
    sa.Column("reasons", sa.Text, nullable=False),
    sa.Column("payload", sa.Text, nullable=True),
    sa.Column("rejected_at", sa.DateTime(timezone=True), nullable=False, default=utc_now),
    schema="rawdata",
)
"""Rows that failed validation, kept with their reasons so nothing disappears silently."""

clean_houses = sa.Table(
    "houses",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("raw_id", sa.BigInteger, nullable=False, unique=True),
    sa.Column("listing_key", sa.String(40), nullable=False, unique=True),
    sa.Column("property_id", sa.String(40), nullable=False, index=True),
    sa.Column("batch_id", sa.String(128), nullable=False),
    sa.Column("data_origin", sa.String(8), nullable=False),
    sa.Column(
        "processed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    ),
    *_listing_columns(),
    schema="cleandata",
)
"""Cleaned listings: one row per distinct listing, with the property it belongs to."""

clean_progress = sa.Table(
    "progress",
    metadata,
    sa.Column("name", sa.String(32), primary_key=True),
    sa.Column("last_raw_id", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, default=utc_now),
    schema="cleandata",
)
"""How far processing got in ``rawdata.houses`` (rows dropped by cleaning leave no clean row)."""

train_logs = sa.Table(
    "logs",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("time", sa.DateTime(timezone=True), nullable=False, default=utc_now, index=True),
    sa.Column("step", sa.String(32), nullable=False),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("metrics", sa.JSON, nullable=True),
    sa.Column("model_version", sa.String(64), nullable=True),
    sa.Column("run_ids", sa.JSON, nullable=True),
    sa.Column("pipeline_run", sa.String(128), nullable=True),
    schema="trainlogs",
)
"""Every decision of the pipeline (trained, promoted, kept the champion, skipped and why)."""
