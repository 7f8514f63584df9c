"""One SQLAlchemy engine for PostgreSQL or the embedded SQLite default, where each schema
is an attached database file beside the main one, so table names stay schema-qualified
in both."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import StaticPool

from homeval.data.tables import (
    SCHEMAS,
)


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


def driver_errors() -> type[Exception]:
    """psycopg's base error, raised as is by COPY (SQLAlchemy does not wrap the raw cursor)."""
    try:
        import psycopg
    except ImportError:  # SQLite-only installs
        return sa.exc.SQLAlchemyError
    return psycopg.Error
