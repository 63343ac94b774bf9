"""Async engines and sessions for SQLite (embedded) and PostgreSQL (several hub processes)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.pool import ConnectionPoolEntry, PoolResetState

from storage.repositories.driver import SESSION_CONNECTION


def create_engine(url: str, *, pool_size: int = 10, max_overflow: int = 10) -> AsyncEngine:
    """Create the engine; for SQLite also make its folder and turn on WAL and foreign keys."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        # A file's connections are pooled like PostgreSQL's. Left at SQLAlchemy's default of 5, the
        # pool closed every connection beyond the fifth as it came back; 16 concurrent reads then
        # opened and closed a connection (and aiosqlite's thread, and the pragmas below) per
        # request: a third of a logged read's CPU (docs/performance.md, 2026-12-01).
        pooled: dict[str, int] = {}
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            pooled = {"pool_size": pool_size, "max_overflow": max_overflow}
        engine = create_async_engine(url, connect_args={"timeout": 30}, pool_reset_on_return=None, **pooled)
        _tune_sqlite(engine)
        return engine
    engine = create_async_engine(url, pool_size=pool_size, max_overflow=max_overflow)
    _refuse_closed_connections(engine)
    return engine


def _refuse_closed_connections(engine: AsyncEngine) -> None:
    """A pooled connection can be closed underneath (the server restarted or ended the backend, a
    statement was cancelled mid-flight); the fuzz run found requests failing on such a connection.

    The driver knows without asking the server: asyncpg marks a connection closed as soon as its
    socket ends. Checking that on checkout costs nothing, where SQLAlchemy's pre-ping cost three
    round trips per request (BEGIN, a ping, ROLLBACK; a fifth of a compiled read's time, measured
    in docs/performance.md). A connection the server ends while a statement runs still fails that
    statement; SQLAlchemy then replaces every connection older than the failure."""

    @event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry, _proxy: object) -> None:
        driver_connection = getattr(dbapi_connection, "driver_connection", None)
        if driver_connection is not None and driver_connection.is_closed():
            # The pool discards it and checks out another (up to three tries).
            raise DisconnectionError("the pooled connection was closed underneath")


def _tune_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "reset")
    def _on_reset(dbapi_connection: DBAPIConnection, record: ConnectionPoolEntry, state: PoolResetState) -> None:
        """A connection coming back to the pool is rolled back only if a transaction is open on it.

        The pool's own reset (switched off above) rolls back always: one hand-off to aiosqlite's
        thread per request for nothing, since reads run outside transactions here. The driver says
        whether one is open without a hand-off. A connection being discarded is closed instead,
        which ends its transaction."""
        if state.terminate_only or not state.asyncio_safe:
            return
        driver_connection = record.driver_connection
        if driver_connection is None or driver_connection.in_transaction:
            dbapi_connection.rollback()


async def autocommit_reads(session: AsyncSession) -> None:
    """Let the session's statements run outside a transaction until it writes: no BEGIN and COMMIT
    round trips for a GraphQL query, whose one write (its access entries) is a single insert.

    On PostgreSQL the session takes an autocommit connection now; the caller commits it to give it
    back before a mutation's writes, which then begin a transaction on a fresh connection. SQLite's
    driver already begins a transaction only before a write, so nothing is done there: taking a
    connection at once would cost a trivial query five hand-offs to aiosqlite's thread (isolation
    set and reset, commit, rollback) for a caller whom the principal cache answers with no
    statement at all (docs/performance.md, 2026-12-01).
    """
    bind = session.bind
    if bind is not None and bind.dialect.name == "sqlite":
        return
    connection = await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    session.info[SESSION_CONNECTION] = connection  # storage.repositories.driver reads on it


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)
