"""A pooled connection closed underneath is never handed to a request (storage/db.py).

SQLAlchemy's pre-ping cost three round trips per checkout; the pool now asks the driver, which
knows without a round trip, whether the connection's socket has ended. Here the server ends every
idle connection of the pool (as a restart or an administrator would), and the next reads must be
served by fresh connections, not fail.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

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
