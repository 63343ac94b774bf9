"""Statements of the read path run on asyncpg directly, on PostgreSQL (through SQLAlchemy elsewhere).

SQLAlchemy's execute around a statement (its cache key, processing each parameter and each row)
costs more Python than the rest of a compiled read's own work (docs/performance.md, "session 6").
A statement built once is compiled here once to PostgreSQL's own form ($1, $2, ...), and runs on
the session's connection, in its transaction if it has one. Rows come back as asyncpg decodes them,
without the column types' result processing: only for statements whose columns need none (numbers,
text, dates, booleans; asyncpg hands timestamps back timezone-aware already).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from sqlalchemy import ClauseElement, Executable
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.compiler import SQLCompiler

# id(statement) -> (the statement, its SQL, its parameters' names in order, values bound at build).
_COMPILED: dict[int, tuple[Executable, str, tuple[str, ...], dict[str, Any]]] = {}


def _compiled(statement: Executable, connection: AsyncConnection) -> tuple[str, tuple[str, ...], dict[str, Any]]:
    known = _COMPILED.get(id(statement))
    if known is None or known[0] is not statement:
        compiled = cast(SQLCompiler, cast(ClauseElement, statement).compile(dialect=connection.dialect))
        positions = compiled.positiontup or ()  # asyncpg's dialect is positional: $1, $2, ...
        # The values bound when the statement was built (its literals); the others must be given.
        bound = {name: bind.effective_value for name, bind in compiled.binds.items() if not bind.required}
        known = (statement, compiled.string, tuple(positions), bound)
        _COMPILED[id(statement)] = known
    return known[1], known[2], known[3]


async def _driver(connection: AsyncConnection) -> Any:
    driver = (await connection.get_raw_connection()).driver_connection
    assert driver is not None
    return driver


def _arguments(names: Sequence[str], bound: Mapping[str, Any], parameters: Mapping[str, Any]) -> list[Any]:
    return [parameters[name] if name in parameters else bound[name] for name in names]


async def fetch(connection: AsyncConnection, statement: Executable, parameters: Mapping[str, Any]) -> list[Any]:
    """The statement's rows, positional (asyncpg's records on PostgreSQL, SQLAlchemy's rows elsewhere)."""
    if connection.dialect.name != "postgresql":
        return list((await connection.execute(statement, parameters)).all())
    sql, names, bound = _compiled(statement, connection)
    return list(await (await _driver(connection)).fetch(sql, *_arguments(names, bound, parameters)))


async def fetchval(connection: AsyncConnection, statement: Executable, parameters: Mapping[str, Any]) -> Any:
    """The first column of the statement's first row, or None without a row."""
    if connection.dialect.name != "postgresql":
        return (await connection.execute(statement, parameters)).scalar()
    sql, names, bound = _compiled(statement, connection)
    return await (await _driver(connection)).fetchval(sql, *_arguments(names, bound, parameters))


async def executemany(connection: AsyncConnection, statement: Executable, rows: Sequence[Mapping[str, Any]]) -> None:
    """PostgreSQL only: the statement once per row, in one round trip; outside a transaction,
    atomic and committed on return (asyncpg's executemany runs as one implicit transaction)."""
    sql, names, bound = _compiled(statement, connection)
    await (await _driver(connection)).executemany(sql, [_arguments(names, bound, row) for row in rows])
