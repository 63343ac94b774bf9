"""Statements of the read path run on asyncpg directly, on PostgreSQL.

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

from sqlalchemy import ClauseElement
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.compiler import SQLCompiler

# id(statement) -> (the statement, its SQL, its parameters' names in order, values bound at build).
_COMPILED: dict[int, tuple[ClauseElement, str, tuple[str, ...], dict[str, Any]]] = {}


def _compiled(statement: ClauseElement, connection: AsyncConnection) -> tuple[str, tuple[str, ...], dict[str, Any]]:
    known = _COMPILED.get(id(statement))
    if known is None or known[0] is not statement:
        compiled = cast(SQLCompiler, statement.compile(dialect=connection.dialect))
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


async def fetch(connection: AsyncConnection, statement: ClauseElement, parameters: Mapping[str, Any]) -> list[Any]:
    """The statement's rows (asyncpg records: positional, like SQLAlchemy's rows)."""
    sql, names, bound = _compiled(statement, connection)
    return list(await (await _driver(connection)).fetch(sql, *_arguments(names, bound, parameters)))


async def fetchval(connection: AsyncConnection, statement: ClauseElement, parameters: Mapping[str, Any]) -> Any:
    """The first column of the statement's first row, or None without a row."""
    sql, names, bound = _compiled(statement, connection)
    return await (await _driver(connection)).fetchval(sql, *_arguments(names, bound, parameters))


async def executemany(connection: AsyncConnection, statement: ClauseElement, rows: Sequence[Mapping[str, Any]]) -> None:
    """The statement once per row, in one round trip; outside a transaction, atomic and committed
    on return (asyncpg's executemany runs as one implicit transaction)."""
    sql, names, bound = _compiled(statement, connection)
    await (await _driver(connection)).executemany(sql, [_arguments(names, bound, row) for row in rows])
