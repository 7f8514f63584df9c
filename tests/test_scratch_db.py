from __future__ import annotations

import sqlalchemy as sa

from homeval.data.store import Store
from homeval.data.tables import raw_houses
from tests.scratch_db import scratch_database


def test_scratch_database_is_new_and_gone_afterwards(postgres_server_url: str) -> None:
    def databases() -> set[str]:
        engine = sa.create_engine(
            sa.make_url(postgres_server_url).set(drivername="postgresql+psycopg")
        )
        with engine.connect() as conn:
            names = {r[0] for r in conn.execute(sa.text("select datname from pg_database"))}
        engine.dispose()
        return names

    before = databases()
    with scratch_database(postgres_server_url, prefix="homeval_scratch_test") as url:
        name = sa.make_url(url).database
        assert name not in before
        assert name in databases()
        store = Store(url)
        store.init()
        assert store.count(raw_houses) == 0
        held = store.engine.connect()  # a connection left open must not keep it alive
    held.close()
    store.dispose()
    assert name not in databases()
