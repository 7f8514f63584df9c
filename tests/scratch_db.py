"""Throw-away PostgreSQL databases for tests and benchmarks.

Its own module, importing SQLAlchemy only: the Airflow DAG's tests run in a venv without
pandas or the rest of homeval's dependencies, and they need a scratch database too.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa


@contextmanager
def scratch_database(server_url: str, prefix: str = "homeval_scratch") -> Iterator[str]:
    """A new, empty database on a PostgreSQL server, dropped on exit (even if still in use).

    Tests and benchmarks each get a store nobody else writes to, on the real server, and
    leave nothing behind.  Yields the database's URL; ``server_url`` names any database
    the user may create databases from.
    """
    admin_url = sa.make_url(server_url).set(drivername="postgresql+psycopg")
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        try:
            yield admin_url.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()
