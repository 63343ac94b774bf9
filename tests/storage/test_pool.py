"""A pooled connection closed underneath is never handed to a request (storage/db.py).

SQLAlchemy's pre-ping cost three round trips per checkout; the pool now asks the driver, which
knows without a round trip, whether the connection's socket has ended. Here the server ends every
idle connection of the pool (as a restart or an administrator would), and the next reads must be
served by fresh connections, not fail.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import event, text

from storage.db import create_engine, session_factory


async def test_connections_ended_by_the_server_are_replaced_on_checkout(database_urls) -> None:
    if "postgresql" not in database_urls:  # HUB_TEST_BACKENDS=sqlite, while developing (tests/conftest.py)
        pytest.skip("PostgreSQL's: SQLite has no server to end a connection")
    url = database_urls["postgresql"]
    engine = create_engine(url, pool_size=4, max_overflow=0)
    sessions = session_factory(engine)
    try:
        held = [sessions() for _ in range(4)]
        pids = [(await s.execute(text("SELECT pg_backend_pid()"))).scalar_one() for s in held]
        for session in held:
            await session.close()  # back to the pool, open
        admin = create_engine(url, pool_size=1, max_overflow=0)
        async with admin.connect() as connection:
            for pid in pids:
                await connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        await admin.dispose()
        await asyncio.sleep(0.2)  # the driver hears each socket end

        answers = []
        for _ in range(4):
            async with sessions() as session:
                answers.append((await session.execute(text("SELECT pg_backend_pid()"))).scalar_one())
        assert len(answers) == 4 and not set(answers) & set(pids)
    finally:
        await engine.dispose()


# SQLite (docs/performance.md, 2026-12-01): each connection is a thread of aiosqlite's, and every
# call on it a hand-off to that thread, so connections are kept and calls spared.


@pytest.fixture
def sqlite_file(tmp_path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'pool.db'}"


async def test_a_sqlite_file_keeps_every_connection_its_pool_holds(sqlite_file) -> None:
    """Not just SQLAlchemy's default five: beyond them, each connection given back was closed, and
    sixteen concurrent reads opened (and closed) one per request."""
    engine = create_engine(sqlite_file, pool_size=8, max_overflow=4)
    opened = []
    event.listen(engine.sync_engine, "connect", lambda *_: opened.append(1))
    sessions = session_factory(engine)

    async def read_together() -> None:
        held = [sessions() for _ in range(8)]
        for session in held:
            assert (await session.execute(text("SELECT 1"))).scalar_one() == 1
        for session in held:
            await session.close()

    try:
        await read_together()
        assert engine.pool.checkedin() == 8
        await read_together()
        assert len(opened) == 8, "the second round reuses the first round's connections"
    finally:
        await engine.dispose()


async def test_a_sqlite_connection_given_back_mid_transaction_is_rolled_back(sqlite_file) -> None:
    """The pool's reset skips the rollback only where no transaction is open: one that is, left
    by code that went round the session, is rolled back before anyone else gets the connection."""
    engine = create_engine(sqlite_file, pool_size=1, max_overflow=0)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE scratch (n INTEGER)"))
        async with engine.connect() as connection:
            driver = (await connection.get_raw_connection()).driver_connection
            await driver.execute("INSERT INTO scratch VALUES (1)")  # sqlite3 begins a transaction
            assert driver.in_transaction
        async with engine.connect() as connection:  # the same connection: the pool holds one
            assert (await connection.execute(text("SELECT count(*) FROM scratch"))).scalar_one() == 0
        other = create_engine(sqlite_file, pool_size=1, max_overflow=0)
        try:
            async with other.begin() as connection:  # the write lock was let go
                await connection.execute(text("INSERT INTO scratch VALUES (2)"))
        finally:
            await other.dispose()
    finally:
        await engine.dispose()
