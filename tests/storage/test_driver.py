"""Statements run on asyncpg directly (storage/repositories/driver.py) bind as SQLAlchemy would.

The read path's hottest statements skip SQLAlchemy's execute on PostgreSQL: the literals a statement
was built with must still be bound, lists still go as arrays, and a parameter nobody gave must fail
loudly rather than be sent as NULL.
"""

from __future__ import annotations

import pytest
from sqlalchemy import BigInteger, Integer, bindparam, column, func, literal, select, values
from sqlalchemy.dialects import postgresql

from storage.db import create_engine
from storage.repositories import driver

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
