"""A department's own database (MariaDB on this machine, or a SQLite file) and the public security
bureau's system that pull-sql reads it as. MariaDB is required: a test fails, never skips, when it
is unreachable."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from hub.access.auth import Role
from storage.repositories.principals import upsert_department
from tests.support import Actor, make_actor

MARIADB_URL = "mysql+aiomysql://root@127.0.0.1:3306/test"


@pytest.fixture(params=["mariadb", "sqlite"])
async def source(request, tmp_path) -> AsyncIterator[tuple[str, str]]:
    """(URL, table) of a department database holding a fresh register table."""
    table = f"population_{uuid.uuid4().hex[:10]}"
    url = MARIADB_URL if request.param == "mariadb" else f"sqlite+aiosqlite:///{tmp_path / 'gaj.db'}"
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                text(
                    f"CREATE TABLE {table} (id_number VARCHAR(18) PRIMARY KEY, name VARCHAR(64), "
                    "phone VARCHAR(32), address VARCHAR(200), updated_at INTEGER NOT NULL)"
                )
            )
    except Exception as error:  # noqa: BLE001
        await engine.dispose()
        pytest.fail(f"the department database ({request.param}) is unreachable: {error!r}", pytrace=False)
    try:
        yield url, table
    finally:
        async with engine.begin() as connection:
            await connection.execute(text(f"DROP TABLE {table}"))
        await engine.dispose()


async def write(url: str, statement: str, rows: list[dict]) -> None:
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text(statement), rows)
    finally:
        await engine.dispose()


@pytest.fixture
async def police(hub) -> Actor:
    async with hub.sessions() as session:
        await upsert_department(session, "gaj", "公安局")
        await session.commit()
    return await make_actor(hub, Role.DEPARTMENT_SYSTEM, "gaj", "人口信息系统")
