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
from datetime import date, datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from homeval.data.engine import driver_errors, make_engine
from homeval.data.schema import ParsedBatch, Rejection
from homeval.data.tables import (
    ORIGINS,
    SCHEMAS,
    DataOrigin,
    feed_positions,
    metadata,
    raw_batches,
    raw_houses,
    raw_rejects,
    train_logs,
    utc_now,
)


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


def _records(frame: pd.DataFrame) -> list[tuple[Any, ...]]:
    """Rows as tuples with None for every missing value (what DB drivers expect)."""
    cleaned = frame.astype(object).where(frame.notna(), None)
    return [tuple(row) for row in cleaned.itertuples(index=False, name=None)]


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
        except (sa.exc.SQLAlchemyError, driver_errors()) as exc:
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
        except (sa.exc.SQLAlchemyError, driver_errors()) as exc:
            raise StoreError(f"the feed position could not be read: {exc}") from exc
        return int(found) if found is not None else 0

    def set_feed_position(self, position: FeedPosition) -> None:
        """Move the collector's place (``--restart`` sets it back to batch 0)."""
        try:
            with self.engine.begin() as conn:
                self._save_position(conn, position)
        except (sa.exc.SQLAlchemyError, driver_errors()) as exc:
            raise StoreError(f"the feed position was not saved: {exc}") from exc

    def _save_position(self, conn: Connection, position: FeedPosition) -> None:
        now = utc_now()
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
                    ingested_at=utc_now(),
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
        now = utc_now()
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
                    time=utc_now(),
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
