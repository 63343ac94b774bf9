"""Statements of the read path run on the driver directly: asyncpg on PostgreSQL, aiosqlite on SQLite.

SQLAlchemy's execute around a statement (its cache key, processing each parameter and each row)
costs more Python than the rest of a compiled read's own work (docs/performance.md, "session 6").
A statement built once is compiled here once per dialect, and runs on the session's connection, in
its transaction if it has one.

On PostgreSQL, in its own form ($1, $2, ...): rows come back as asyncpg decodes them, without the
column types' result processing, so only for statements whose columns need none (numbers, text,
dates, booleans; asyncpg hands timestamps back timezone-aware already).

On SQLite, in one call to aiosqlite's thread (`execute_fetchall`) instead of the four SQLAlchemy
makes (cursor, execute, fetch, close): each is a hop between threads. SQLite keeps dates and times
as text, so there the parameters and the columns go through their types' processors, as
SQLAlchemy's own execute would. A list parameter (an expanding IN) is rendered per call by
SQLAlchemy: such a statement goes through SQLAlchemy's execute.

A request's short reads (a bounded handful of rows: `fetch_short`) on SQLite run on the event
loop's own thread, and take no connection at all while the request's session holds none.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import ClauseElement, Executable
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.sql.compiler import SQLCompiler

from storage.repositories._loop_reads import read_here

Processor = Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class _Compiled:
    """A statement in one dialect's SQL: its parameters' names in order, the values bound when it
    was built (its literals; the others must be given) and, where the driver needs them (SQLite),
    the parameters' processors and, for each column that has one, its position and processor."""

    statement: Executable
    sql: str
    names: tuple[str, ...]
    bound: dict[str, Any]
    expanding: bool
    binds: Mapping[str, Processor]
    columns: tuple[tuple[int, Processor], ...]


# (id(statement), dialect name) -> the statement compiled for that dialect.
_COMPILED: dict[tuple[int, str], _Compiled] = {}


def _compiled(statement: Executable, dialect: Dialect) -> _Compiled:
    known = _COMPILED.get((id(statement), dialect.name))
    if known is None or known.statement is not statement:
        compiled = cast(SQLCompiler, cast(ClauseElement, statement).compile(dialect=dialect))
        binds = {
            name: processor
            for name, bind in compiled.binds.items()
            if (processor := bind.type.dialect_impl(dialect).bind_processor(dialect)) is not None
        }
        processors = (
            column.type.dialect_impl(dialect).result_processor(dialect, None)
            for column in compiled._result_columns  # noqa: SLF001  (no public list of the columns' types in order)
        )
        columns = tuple((position, process) for position, process in enumerate(processors) if process is not None)
        known = _Compiled(
            statement,
            compiled.string,
            tuple(compiled.positiontup or ()),  # both dialects are positional: $1, $2, ... and ?
            {name: bind.effective_value for name, bind in compiled.binds.items() if not bind.required},
            any(bind.expanding for bind in compiled.binds.values()),
            binds,
            columns,
        )
        _COMPILED[id(statement), dialect.name] = known
    return known


@asynccontextmanager
async def raw(connection: AsyncConnection) -> AsyncIterator[Any]:
    """The driver's own connection (asyncpg's, aiosqlite's), held under SQLAlchemy's lock for it.

    A request's root fields run at once on its session's one connection. SQLAlchemy runs their
    statements in turn under the adapted connection's lock; a statement sent past SQLAlchemy takes
    the same lock, or asyncpg refuses it ("another operation is in progress": bench.fuzz, a notice
    beside `departments`). The lock is SQLAlchemy's attribute, not public API; the notice's test of
    sibling fields fails if it goes.
    """
    adapted = (await _pooled(connection)).dbapi_connection
    async with adapted._execute_mutex:  # type: ignore[union-attr]  # noqa: SLF001
        yield adapted.driver_connection  # type: ignore[union-attr]


async def _pooled(connection: AsyncConnection) -> PoolProxiedConnection:
    """The connection's pooled DBAPI connection. While it is open and valid that is an attribute
    (`Connection.connection`, no I/O), read here directly: `get_raw_connection` reads the same
    attribute through a greenlet of its own, and each new greenlet costs CPython a 16 KiB stack
    chunk mapped and unmapped (docs/performance.md, "session 14"). Otherwise (never started,
    closed, invalidated) through SQLAlchemy, which reconnects or raises as it does."""
    sync = connection.sync_connection
    if sync is not None and not sync.closed and not sync.invalidated:
        return sync.connection
    return await connection.get_raw_connection()


def _arguments(names: Sequence[str], bound: Mapping[str, Any], parameters: Mapping[str, Any]) -> list[Any]:
    return [parameters[name] if name in parameters else bound[name] for name in names]


def _processed(compiled: _Compiled, arguments: list[Any]) -> list[Any]:
    """The arguments as their types bind them (SQLite: times and dates as text, JSON as text)."""
    for position, name in enumerate(compiled.names):
        processor = compiled.binds.get(name)
        if processor is not None:
            arguments[position] = processor(arguments[position])
    return arguments


async def fetch(
    connection: AsyncConnection, statement: Executable, parameters: Mapping[str, Any], *, short: bool = False
) -> list[Any]:
    """The statement's rows, positional (asyncpg's records on PostgreSQL, tuples on SQLite).

    `short`: a bounded handful of rows for one request, which on SQLite may be read on the event
    loop's thread outside a transaction (storage/repositories/_loop_reads.py)."""
    compiled = _compiled(statement, connection.dialect)
    if connection.dialect.name == "postgresql":
        arguments = _arguments(compiled.names, compiled.bound, parameters)
        async with raw(connection) as driver:
            return list(await driver.fetch(compiled.sql, *arguments))
    if connection.dialect.name != "sqlite" or compiled.expanding:
        return list((await connection.execute(statement, parameters)).all())
    arguments = _processed(compiled, _arguments(compiled.names, compiled.bound, parameters))
    async with raw(connection) as driver:
        engine = connection.engine.sync_engine
        rows = read_here(engine, compiled.sql, arguments) if short and not driver.in_transaction else None
        if rows is None:
            rows = await driver.execute_fetchall(compiled.sql, arguments)
    return _converted(compiled, rows)


def _converted(compiled: _Compiled, rows: list[Any]) -> list[Any]:
    """SQLite's rows with their columns processed (text to dates and times): only the columns
    that have a processor are touched, a notice's 53 rows have one in nine."""
    if not compiled.columns:
        return list(rows)
    converted = []
    for row in rows:
        values = list(row)
        for position, process in compiled.columns:
            values[position] = process(values[position])
        converted.append(tuple(values))
    return converted


# Where `storage.db.autocommit_reads` keeps the connection it took for a session (`session.info`).
SESSION_CONNECTION = "hub.autocommit_connection"


async def _session_connection(session: AsyncSession) -> AsyncConnection:
    """The session's connection. The one `autocommit_reads` took is the session's until the
    session commits or closes, which closes it: while it is open it is used as is, where
    `session.connection()` would return the same through a greenlet of its own (see `_pooled`)."""
    taken = session.info.get(SESSION_CONNECTION)
    if taken is not None and not taken.closed and not taken.invalidated:
        return cast(AsyncConnection, taken)
    return await session.connection()


async def fetch_short(session: AsyncSession, statement: Executable, parameters: Mapping[str, Any]) -> list[Any]:
    """`fetch(..., short=True)` on the request's session.

    On a SQLite file, while the session holds no connection (so nothing of its own uncommitted
    that the read should see), the read runs on the event loop's thread without taking a
    connection from the pool at all: the checkout and its return cost a compiled notice about as
    much CPU as its two reads (docs/performance.md, 2026-12-01, session 12). Otherwise as `fetch`,
    on the session's connection."""
    engine = session.get_bind()  # a session bound to one connection (not the app's) reads on it
    if isinstance(engine, Engine) and engine.dialect.name == "sqlite" and not session.in_transaction():
        compiled = _compiled(statement, engine.dialect)
        if not compiled.expanding:
            arguments = _processed(compiled, _arguments(compiled.names, compiled.bound, parameters))
            rows = read_here(engine, compiled.sql, arguments)
            if rows is not None:
                return _converted(compiled, rows)
            # SQLite busy or an error here: the pooled connection runs it (and reports the error).
            return await fetch(await session.connection(), statement, parameters)
    return await fetch(await _session_connection(session), statement, parameters, short=True)


async def fetchval_short(session: AsyncSession, statement: Executable, parameters: Mapping[str, Any]) -> Any:
    """The first column of the first row, or None, read as `fetch_short` reads."""
    rows = await fetch_short(session, statement, parameters)
    return rows[0][0] if rows else None


async def fetchval(connection: AsyncConnection, statement: Executable, parameters: Mapping[str, Any]) -> Any:
    """The first column of the statement's first row, or None without a row."""
    if connection.dialect.name == "postgresql":
        compiled = _compiled(statement, connection.dialect)
        arguments = _arguments(compiled.names, compiled.bound, parameters)
        async with raw(connection) as driver:
            return await driver.fetchval(compiled.sql, *arguments)
    rows = await fetch(connection, statement, parameters)
    return rows[0][0] if rows else None


async def executemany(connection: AsyncConnection, statement: Executable, rows: Sequence[Mapping[str, Any]]) -> None:
    """The statement once per row, committed on return, all rows or none; on a connection outside
    any transaction.

    On PostgreSQL one round trip: asyncpg's executemany runs as one implicit transaction. On SQLite
    two calls to aiosqlite's thread, the rows and the commit (sqlite3 begins the transaction before
    the first insert); if either fails, the pool rolls the connection back as it takes it back.
    """
    compiled = _compiled(statement, connection.dialect)
    arguments = [_arguments(compiled.names, compiled.bound, row) for row in rows]
    async with raw(connection) as driver:
        if connection.dialect.name == "postgresql":
            await driver.executemany(compiled.sql, arguments)
            return
        await driver.executemany(compiled.sql, [_processed(compiled, each) for each in arguments])
        await driver.commit()
