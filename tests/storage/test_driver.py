"""Statements run on the driver directly (storage/repositories/driver.py) bind as SQLAlchemy would.

The read path's hottest statements skip SQLAlchemy's execute: the literals a statement was built
with must still be bound, lists still go as arrays (JSON arrays on SQLite), a parameter nobody gave
must fail loudly rather than be sent as NULL, and on SQLite, which keeps dates and times as text,
the values must come back as SQLAlchemy's types give them.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import JSON, BigInteger, Date, Integer, bindparam, column, event, func, literal, select, text, values
from sqlalchemy.dialects import postgresql

from storage.db import create_engine, session_factory
from storage.models.base import UTCDateTime
from storage.repositories import driver
from tests.support.greenlets import greenlets_spawned

NUMBERS = values(column("n", Integer), name="numbers").data([(1,), (2,), (3,), (4,)])
STATEMENT = (
    select(NUMBERS.c.n, literal("built-in").label("word"))
    .where(NUMBERS.c.n == func.any(bindparam("wanted", type_=postgresql.ARRAY(BigInteger))))
    .where(NUMBERS.c.n != literal(4))
    .order_by(NUMBERS.c.n)
)


async def test_a_statement_on_the_driver_answers_as_through_sqlalchemy(database_urls) -> None:
    if "postgresql" not in database_urls:  # HUB_TEST_BACKENDS=sqlite, while developing (tests/conftest.py)
        pytest.skip("the driver path is PostgreSQL's")
    engine = create_engine(database_urls["postgresql"], pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as connection:
            through_sqlalchemy = [tuple(row) for row in await connection.execute(STATEMENT, {"wanted": [2, 4, 3]})]
            direct = [tuple(row) for row in await driver.fetch(connection, STATEMENT, {"wanted": [2, 4, 3]})]
            assert direct == through_sqlalchemy == [(2, "built-in"), (3, "built-in")]
            assert await driver.fetchval(connection, STATEMENT, {"wanted": [1]}) == 1
            assert await driver.fetchval(connection, STATEMENT, {"wanted": [9]}) is None
            with pytest.raises(KeyError):
                await driver.fetch(connection, STATEMENT, {})
    finally:
        await engine.dispose()


WANTED = func.json_each(bindparam("wanted", type_=JSON)).table_valued("value")
SQLITE_STATEMENT = (
    select(
        WANTED.c.value.label("n"),
        literal(date(2026, 11, 30), Date).label("day"),
        bindparam("at", type_=UTCDateTime).label("at"),
    )
    .where(WANTED.c.value != literal(4))
    .order_by(WANTED.c.value)
)


async def test_on_sqlite_a_statement_runs_in_one_call_and_answers_as_through_sqlalchemy(database_urls) -> None:
    if "sqlite" not in database_urls:
        pytest.skip("the one-call path is SQLite's")
    engine = create_engine(database_urls["sqlite"])
    sent: list[str] = []

    def count(*arguments: Any) -> None:
        sent.append(arguments[2])

    at = datetime(2026, 11, 30, 9, 30, tzinfo=UTC)
    parameters = {"wanted": [2, 4, 3], "at": at}
    try:
        async with engine.connect() as connection:
            through_sqlalchemy = [tuple(row) for row in await connection.execute(SQLITE_STATEMENT, parameters)]
            event.listen(engine.sync_engine, "before_cursor_execute", count)
            direct = await driver.fetch(connection, SQLITE_STATEMENT, parameters)
            event.remove(engine.sync_engine, "before_cursor_execute", count)
            assert direct == through_sqlalchemy == [(2, date(2026, 11, 30), at), (3, date(2026, 11, 30), at)]
            assert sent == []  # not through SQLAlchemy's execute
            assert await driver.fetchval(connection, SQLITE_STATEMENT, {"wanted": [4], "at": at}) is None
            assert await driver.fetchval(connection, SQLITE_STATEMENT, {"wanted": [3], "at": at}) == 3
            with pytest.raises(KeyError):
                await driver.fetch(connection, SQLITE_STATEMENT, {"at": at})
            # A list rendered per call (an expanding IN) goes through SQLAlchemy, which renders it.
            expanding = select(WANTED.c.value).where(WANTED.c.value.in_(bindparam("some", expanding=True)))
            assert [
                tuple(row) for row in await driver.fetch(connection, expanding, {"wanted": [1, 2], "some": [2]})
            ] == [(2,)]
    finally:
        await engine.dispose()


SCRATCH = select(column("n", Integer)).select_from(text("scratch")).order_by(column("n"))


async def test_on_sqlite_a_short_read_outside_a_transaction_runs_on_the_loops_thread(tmp_path, monkeypatch) -> None:
    """No hand-off to aiosqlite's thread (storage/repositories/_loop_reads.py); inside a
    transaction the read stays on the pooled connection, which alone sees the transaction's own
    writes; a reader beside an uncommitted write neither waits for it nor sees it."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'short.db'}", pool_size=2, max_overflow=0)
    handed_off: list[object] = []
    original = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, function: Any, *arguments: Any, **keywords: Any) -> Any:
        handed_off.append(function)
        return await original(self, function, *arguments, **keywords)

    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE scratch (n INTEGER)"))
            await connection.execute(text("INSERT INTO scratch VALUES (1)"))
        monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
        async with engine.connect() as connection:
            handed_off.clear()
            assert await driver.fetch(connection, SCRATCH, {}, short=True) == [(1,)]
            assert handed_off == []
            assert await driver.fetch(connection, SCRATCH, {}) == [(1,)]
            assert len(handed_off) == 1  # the same read, not short: one call on aiosqlite's thread
        async with engine.begin() as connection:
            await connection.execute(text("INSERT INTO scratch VALUES (2)"))
            assert await driver.fetch(connection, SCRATCH, {}, short=True) == [(1,), (2,)]
            async with engine.connect() as beside:  # the write lock is held, the row uncommitted
                assert await driver.fetch(beside, SCRATCH, {}, short=True) == [(1,)]
            await connection.rollback()
    finally:
        await engine.dispose()


DATED = select(column("n", Integer), column("day", Date)).select_from(text("dated")).order_by(column("n"))


async def test_on_sqlite_a_short_read_of_a_session_without_a_connection_takes_none(tmp_path, monkeypatch) -> None:
    """`fetch_short` on a session that holds no connection reads without checking one out of the
    pool, and processes its columns as SQLAlchemy would (dates kept as text come back as dates);
    where that reader cannot read, the pool's connection does; a session that has written reads on
    its own connection, and so sees its uncommitted row."""
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'short.db'}", pool_size=2, max_overflow=0)
    checkouts: list[object] = []
    sessions = session_factory(engine)
    try:
        async with engine.begin() as connection:
            await connection.execute(text("CREATE TABLE dated (n INTEGER, day TEXT)"))
            await connection.execute(text("INSERT INTO dated VALUES (1, '2026-11-30'), (2, NULL)"))
        event.listen(engine.sync_engine, "checkout", lambda *_: checkouts.append(1))
        async with sessions() as session:
            assert await driver.fetch_short(session, DATED, {}) == [(1, date(2026, 11, 30)), (2, None)]
            assert await driver.fetchval_short(session, DATED, {}) == 1
            assert checkouts == []
            assert not session.in_transaction()
        with monkeypatch.context() as busy:  # SQLite busy on the loop's reader: the pool's connection reads
            busy.setattr(driver, "read_here", lambda *_: None)
            async with sessions() as session:
                assert await driver.fetchval_short(session, DATED, {}) == 1
            assert len(checkouts) == 1
        async with sessions() as session:
            await session.execute(text("INSERT INTO dated VALUES (3, '2026-12-01')"))
            assert await driver.fetch_short(session, DATED, {}) == [
                (1, date(2026, 11, 30)),
                (2, None),
                (3, date(2026, 12, 1)),
            ]
            assert len(checkouts) == 2
            await session.rollback()
    finally:
        await engine.dispose()


async def test_a_short_read_on_postgresql_answers_on_the_sessions_connection(database_urls) -> None:
    if "postgresql" not in database_urls:
        pytest.skip("PostgreSQL's path")
    engine = create_engine(database_urls["postgresql"], pool_size=1, max_overflow=0)
    try:
        async with session_factory(engine)() as session:
            assert [tuple(row) for row in await driver.fetch_short(session, STATEMENT, {"wanted": [3, 1]})] == [
                (1, "built-in"),
                (3, "built-in"),
            ]
            assert await driver.fetchval_short(session, STATEMENT, {"wanted": [9]}) is None
    finally:
        await engine.dispose()


async def test_a_read_on_an_open_connection_takes_its_driver_connection_without_a_greenlet(
    database_urls, monkeypatch
) -> None:
    """Each new greenlet costs CPython a 16 KiB stack chunk mapped and unmapped (docs/performance.md,
    session 14): an open connection's driver connection is an attribute, read as such."""
    if "postgresql" not in database_urls:
        pytest.skip("the driver path is PostgreSQL's")
    engine = create_engine(database_urls["postgresql"], pool_size=1, max_overflow=0)
    try:
        async with engine.connect() as connection:
            spawned = greenlets_spawned(monkeypatch)
            assert [tuple(row) for row in await driver.fetch(connection, STATEMENT, {"wanted": [2]})] == [
                (2, "built-in")
            ]
            assert spawned == []
            # Invalidated (a broken connection): SQLAlchemy's own way, which reconnects.
            await connection.invalidate()
            await connection.rollback()
            assert [tuple(row) for row in await driver.fetch(connection, STATEMENT, {"wanted": [3]})] == [
                (3, "built-in")
            ]
            assert spawned, "the invalidated connection was taken through SQLAlchemy"
    finally:
        await engine.dispose()


async def test_a_request_sessions_short_reads_use_the_connection_it_took_until_it_commits(
    database_urls, monkeypatch
) -> None:
    if "postgresql" not in database_urls:
        pytest.skip("autocommit_reads takes a connection on PostgreSQL only")
    from storage.db import autocommit_reads

    engine = create_engine(database_urls["postgresql"], pool_size=2, max_overflow=0)
    try:
        async with session_factory(engine)() as session:
            await autocommit_reads(session)
            spawned = greenlets_spawned(monkeypatch)
            assert await driver.fetchval_short(session, STATEMENT, {"wanted": [1]}) == 1
            assert spawned == []
            await session.commit()  # gives the connection back: the next read takes one as usual
            assert engine.pool.checkedout() == 0
            assert await driver.fetchval_short(session, STATEMENT, {"wanted": [2]}) == 2
            assert "connection" in spawned
            # ...in a transaction, so a write before it would be seen, as session.connection() gives
            await session.execute(text("CREATE TEMPORARY TABLE seen (n int)"))
            await session.execute(text("INSERT INTO seen VALUES (7)"))
            assert await driver.fetchval_short(session, select(column("n")).select_from(text("seen")), {}) == 7
            await session.rollback()
    finally:
        await engine.dispose()
