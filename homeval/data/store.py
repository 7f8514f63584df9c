"""The three stores of the platform: raw listings, clean listings and the training log.

One SQLAlchemy code path serves PostgreSQL (schemas ``rawdata``, ``cleandata``,
``trainlogs``) and the embedded SQLite default, where each schema is an attached database
file beside the main one, so table names stay schema-qualified in both.

Ingest is the hot path: on PostgreSQL rows go in with ``COPY``; everywhere a batch is one
transaction keyed by its id, so a batch sent twice is stored once and a failed batch
leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Final, Literal

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool

from homeval.data.schema import LISTING_FIELDS, ParsedBatch, Rejection

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


def _now() -> datetime:
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
    sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False, default=_now),
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
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, default=_now),
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
    sa.Column("rejected_at", sa.DateTime(timezone=True), nullable=False, default=_now),
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
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, default=_now),
    schema="cleandata",
)
"""How far processing got in ``rawdata.houses`` (rows dropped by cleaning leave no clean row)."""

train_logs = sa.Table(
    "logs",
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True),
    sa.Column("time", sa.DateTime(timezone=True), nullable=False, default=_now, index=True),
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


class StoreError(RuntimeError):
    """The database refused a write; the transaction was rolled back, nothing was stored."""


@dataclass(frozen=True)
class IngestResult:
    """What one batch did to the store."""

    batch_id: str
    inserted: int
    rejected: int
    duplicate: bool


@dataclass(frozen=True)
class FeedPosition:
    """The next batch to ask of (feed, group, day)."""

    feed: str
    group_number: int
    day: str
    next_batch: int


def batch_key(rows: Sequence[Any], *, origin: str = "teacher") -> str:
    """Content address of a batch: the same rows always give the same id."""
    digest = hashlib.sha256(origin.encode())
    digest.update(json.dumps(rows, default=str, separators=(",", ":")).encode())
    return digest.hexdigest()[:40]


def _sqlite_paths(url: sa.URL) -> dict[str, str]:
    database = url.database or ""
    if database in ("", ":memory:"):
        return dict.fromkeys(SCHEMAS, ":memory:")
    main = Path(database)
    return {
        schema: str(main.with_name(f"{main.stem}.{schema}{main.suffix or '.db'}"))
        for schema in SCHEMAS
    }


def make_engine(url: str) -> Engine:
    """An engine for PostgreSQL or SQLite where ``rawdata.houses`` means the same table."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() != "sqlite":
        return sa.create_engine(parsed, pool_pre_ping=True, future=True)

    paths = _sqlite_paths(parsed)
    memory = paths["rawdata"] == ":memory:"
    if not memory:
        Path(parsed.database or "").parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(
        parsed,
        future=True,
        connect_args={"timeout": 60, "check_same_thread": False},
        **({"poolclass": StaticPool} if memory else {}),
    )

    @sa.event.listens_for(engine, "connect")
    def _attach(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # let SQLAlchemy's BEGIN below own transactions
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA busy_timeout = 60000")
        for schema, path in paths.items():
            cursor.execute(f"ATTACH DATABASE ? AS {schema}", (path,))
            if not memory:
                cursor.execute(f"PRAGMA {schema}.journal_mode = WAL")
                cursor.execute(f"PRAGMA {schema}.synchronous = NORMAL")
        if not memory:
            cursor.execute("PRAGMA main.journal_mode = WAL")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _records(frame: pd.DataFrame) -> list[tuple[Any, ...]]:
    """Rows as tuples with None for every missing value (what DB drivers expect)."""
    cleaned = frame.astype(object).where(frame.notna(), None)
    return [tuple(row) for row in cleaned.itertuples(index=False, name=None)]


def _driver_errors() -> type[Exception]:
    """psycopg's base error, raised as is by COPY (SQLAlchemy does not wrap the raw cursor)."""
    try:
        import psycopg
    except ImportError:  # SQLite-only installs
        return sa.exc.SQLAlchemyError
    return psycopg.Error


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, date | datetime):
        return value.isoformat()
    if hasattr(value, "item"):
        return _jsonable(value.item())
    return value


class Store:
    """Typed access to the platform's tables; safe to share across threads."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.dialect = self.engine.dialect.name

    @classmethod
    def from_settings(cls, settings: Any) -> Store:
        return cls(settings.database_url)

    def __repr__(self) -> str:
        return f"Store({self.engine.url.render_as_string(hide_password=True)!r})"

    def dispose(self) -> None:
        self.engine.dispose()

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    # --- set-up --------------------------------------------------------------------------

    def init(self) -> None:
        """Create schemas and tables if absent; safe to run any number of times."""
        with self.engine.begin() as conn:
            if self.dialect == "postgresql":
                for schema in SCHEMAS:
                    conn.execute(sa.schema.CreateSchema(schema, if_not_exists=True))
            metadata.create_all(conn, checkfirst=True)
            for index in raw_batches.indexes:  # tables made by an older homeval lack it
                index.create(conn, checkfirst=True)

    # --- raw data ------------------------------------------------------------------------

    def ingest_batch(
        self,
        batch: ParsedBatch,
        *,
        batch_id: str,
        origin: DataOrigin = "teacher",
        source: str | None = None,
        group_number: int | None = None,
        day: str | None = None,
        batch_number: int | None = None,
        raw_rows: Sequence[Any] | None = None,
        extra: Mapping[str, Sequence[Any]] | None = None,
        position: FeedPosition | None = None,
    ) -> IngestResult:
        """Store a parsed batch and its rejects in one transaction, once per ``batch_id``.

        ``extra`` adds per-row values for the non-listing columns (``predicted_price``,
        ``model_version``) of user rows.  ``raw_rows`` lets rejects keep their payload.
        ``position`` is the collector's next place in its feed, saved in the same
        transaction (a batch already stored moves it too).
        """
        if origin not in ORIGINS:
            raise ValueError(f"data_origin must be one of {ORIGINS}, got {origin!r}")
        try:
            return self._ingest(batch, batch_id, origin, source, group_number, day,
                                batch_number, raw_rows, extra, position)  # fmt: skip
        except (sa.exc.SQLAlchemyError, _driver_errors()) as exc:
            raise StoreError(f"batch {batch_id} was not stored: {exc}") from exc

    def feed_position(self, feed: str, group_number: int, day: str) -> int:
        """The next batch to ask of (feed, group, day): 0 when nothing was collected."""
        query = sa.select(feed_positions.c.next_batch).where(
            feed_positions.c.feed == feed,
            feed_positions.c.group_number == group_number,
            feed_positions.c.day == day,
        )
        try:
            with self.engine.connect() as conn:
                found = conn.execute(query).scalar_one_or_none()
        except (sa.exc.SQLAlchemyError, _driver_errors()) as exc:
            raise StoreError(f"the feed position could not be read: {exc}") from exc
        return int(found) if found is not None else 0

    def set_feed_position(self, position: FeedPosition) -> None:
        """Move the collector's place (``--restart`` sets it back to batch 0)."""
        try:
            with self.engine.begin() as conn:
                self._save_position(conn, position)
        except (sa.exc.SQLAlchemyError, _driver_errors()) as exc:
            raise StoreError(f"the feed position was not saved: {exc}") from exc

    def _save_position(self, conn: Connection, position: FeedPosition) -> None:
        now = _now()
        statement = self._insert(feed_positions).values(
            feed=position.feed,
            group_number=position.group_number,
            day=position.day,
            next_batch=position.next_batch,
            updated_at=now,
        )
        conn.execute(
            statement.on_conflict_do_update(
                index_elements=["feed", "group_number", "day"],
                set_={"next_batch": position.next_batch, "updated_at": now},
            )
        )

    def _ingest(
        self,
        batch: ParsedBatch,
        batch_id: str,
        origin: DataOrigin,
        source: str | None,
        group_number: int | None,
        day: str | None,
        batch_number: int | None,
        raw_rows: Sequence[Any] | None,
        extra: Mapping[str, Sequence[Any]] | None,
        position: FeedPosition | None,
    ) -> IngestResult:
        rows = batch.rows
        with self.engine.begin() as conn:
            if position is not None:
                self._save_position(conn, position)
            claimed = conn.execute(
                self._insert_ignore(raw_batches)
                .returning(raw_batches.c.batch_id)
                .values(
                    batch_id=batch_id,
                    data_origin=origin,
                    source=source,
                    group_number=group_number,
                    day=day,
                    batch_number=batch_number,
                    rows=len(rows),
                    rejected=len(batch.rejected),
                    ingested_at=_now(),
                )
            ).first()
            if claimed is None:
                return IngestResult(batch_id, 0, len(batch.rejected), duplicate=True)
            frame = rows.copy()
            frame.insert(0, "data_origin", origin)
            frame.insert(0, "batch_id", batch_id)
            for name, values in (extra or {}).items():
                frame[name] = list(values)
            self._bulk_insert(conn, raw_houses, frame)
            if batch.rejected:
                conn.execute(
                    raw_rejects.insert(), self._reject_rows(batch_id, batch.rejected, raw_rows)
                )
        return IngestResult(batch_id, len(rows), len(batch.rejected), duplicate=False)

    @staticmethod
    def _reject_rows(
        batch_id: str, rejected: Sequence[Rejection], raw_rows: Sequence[Any] | None
    ) -> list[dict[str, Any]]:
        now = _now()
        return [
            {
                "batch_id": batch_id,
                "row_number": r.row,
                "reasons": "; ".join(r.reasons),
                "payload": json.dumps(raw_rows[r.row], default=str)
                if raw_rows is not None and r.row < len(raw_rows)
                else None,
                "rejected_at": now,
            }
            for r in rejected
        ]

    def _insert(self, table: sa.Table) -> Any:
        """The dialect's INSERT, which knows ON CONFLICT (PostgreSQL and SQLite alike)."""
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            return pg_insert(table)
        if self.dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            return sqlite_insert(table)
        raise NotImplementedError(f"no ON CONFLICT insert for {self.dialect}")

    def _insert_ignore(self, table: sa.Table) -> Any:
        return self._insert(table).on_conflict_do_nothing()

    def _bulk_insert(self, conn: Connection, table: sa.Table, frame: pd.DataFrame) -> None:
        """Append a frame whose columns are a subset of the table's."""
        if frame.empty:
            return
        columns = list(frame.columns)
        records = _records(frame)
        if self.dialect == "postgresql":
            raw: Any = conn.connection.driver_connection
            target = f"{table.schema}.{table.name}" if table.schema else table.name
            quoted = ", ".join(f'"{c}"' for c in columns)
            with (
                raw.cursor() as cursor,
                cursor.copy(f"COPY {target} ({quoted}) FROM STDIN") as copy,
            ):
                for record in records:
                    copy.write_row(record)
            return
        conn.execute(table.insert(), [dict(zip(columns, r, strict=True)) for r in records])

    def insert_frame(self, conn: Connection, table: sa.Table, frame: pd.DataFrame) -> None:
        """Bulk-append a frame inside a caller's transaction (COPY on PostgreSQL)."""
        self._bulk_insert(conn, table, frame)

    def upsert_frame(
        self,
        conn: Connection,
        table: sa.Table,
        frame: pd.DataFrame,
        *,
        key: str,
        update: Sequence[str],
        when: Callable[[Any, Any], sa.ColumnElement[bool]],
    ) -> int:
        """Bulk-append; a row whose ``key`` is stored updates ``update`` only if ``when``.

        ``when(new, stored)`` gets the columns of the incoming row (``excluded``) and of the
        stored one, so a better copy can replace what an earlier batch stored while a worse
        or equal one is skipped.  PostgreSQL's COPY cannot resolve conflicts, so rows are
        copied into a temporary table first and moved with one ``INSERT … ON CONFLICT``.
        Returns the rows inserted or updated.
        """
        if frame.empty:
            return 0
        columns = list(frame.columns)
        if self.dialect == "postgresql":
            from sqlalchemy.dialects.postgresql import insert as pg_insert

            staging = sa.Table(
                f"staging_{table.name}",
                sa.MetaData(),
                *(sa.Column(c.name, c.type) for c in table.columns if c.name in columns),
                prefixes=["TEMPORARY"],
                postgresql_on_commit="DROP",
            )
            staging.create(conn)
            self._bulk_insert(conn, staging, frame)
            pg = pg_insert(table).from_select(columns, sa.select(*(staging.c[n] for n in columns)))
            upsert = pg.on_conflict_do_update(
                index_elements=[key],
                set_={name: pg.excluded[name] for name in update},
                where=when(pg.excluded, table.c),
            )
            # psycopg reports no rowcount for INSERT … SELECT; count what the upsert returns
            changed = upsert.returning(sa.literal(1)).cte("changed")
            return int(conn.execute(sa.select(sa.func.count()).select_from(changed)).scalar_one())
        if self.dialect == "sqlite":
            from sqlalchemy.dialects.sqlite import insert as sqlite_insert

            lite = sqlite_insert(table)
            lite_upsert = lite.on_conflict_do_update(
                index_elements=[key],
                set_={name: lite.excluded[name] for name in update},
                where=when(lite.excluded, table.c),
            )
            rows = [dict(zip(columns, r, strict=True)) for r in _records(frame)]
            return int(conn.execute(lite_upsert, rows).rowcount)
        raise NotImplementedError(f"no upsert for {self.dialect}")

    def count(self, table: sa.Table, **equal: Any) -> int:
        query = sa.select(sa.func.count()).select_from(table)
        for name, value in equal.items():
            query = query.where(table.c[name] == value)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def read_frame(self, query: sa.Select[Any] | sa.TextClause) -> pd.DataFrame:
        """Run a query into a DataFrame (dates stay dates, missing values NaN/None)."""
        with self.engine.connect() as conn:
            result = conn.execute(query)
            return pd.DataFrame(result.fetchall(), columns=list(map(str, result.keys())))

    def read_raw(self, *, after_id: int = 0, limit: int | None = None) -> pd.DataFrame:
        query = sa.select(raw_houses).where(raw_houses.c.id > after_id).order_by(raw_houses.c.id)
        if limit is not None:
            query = query.limit(limit)
        return self.read_frame(query)

    def origin_counts(self, table: sa.Table = raw_houses) -> dict[str, int]:
        """Rows per data_origin (the teacher-share gate reads this)."""
        query = sa.select(table.c.data_origin, sa.func.count()).group_by(table.c.data_origin)
        with self.engine.connect() as conn:
            counts = {str(o): int(n) for o, n in conn.execute(query)}
        return {origin: counts.get(origin, 0) for origin in ORIGINS}

    # --- training log --------------------------------------------------------------------

    def log_training(
        self,
        *,
        step: str,
        status: str,
        message: str,
        metrics: Mapping[str, Any] | None = None,
        model_version: str | None = None,
        run_ids: Mapping[str, Any] | Sequence[str] | None = None,
        pipeline_run: str | None = None,
    ) -> int:
        """Record one pipeline decision; returns its id."""
        clean_metrics = {k: _jsonable(v) for k, v in (metrics or {}).items()} or None
        runs: Any = dict(run_ids) if isinstance(run_ids, Mapping) else run_ids
        with self.engine.begin() as conn:
            result = conn.execute(
                train_logs.insert().values(
                    time=_now(),
                    step=step,
                    status=status,
                    message=message,
                    metrics=clean_metrics,
                    model_version=model_version,
                    run_ids=list(runs) if isinstance(runs, tuple) else runs,
                    pipeline_run=pipeline_run,
                )
            )
            key: Any = result.inserted_primary_key
            return int(key[0])

    def training_log(self, limit: int | None = None) -> pd.DataFrame:
        """The log, newest first."""
        query = sa.select(train_logs).order_by(train_logs.c.time.desc(), train_logs.c.id.desc())
        if limit is not None:
            query = query.limit(limit)
        return self.read_frame(query)
