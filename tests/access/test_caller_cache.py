"""A token that authenticated is answered from memory for a few seconds; a revocation still bites.

In this process a revocation or rotation bites at once; in another process on PostgreSQL as soon as
the notification arrives; otherwise (SQLite, or nobody listening) within HUB_PRINCIPAL_CACHE_SECONDS.
"""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import event, select, text

from hub.access.principals import REVOCATIONS_CHANNEL, listen_for_revocations, revoke_principal, rotate_principal
from hub.settings import Settings
from storage.models import AccessEntry
from storage.models.base import utcnow
from storage.repositories import principals as repo

VIEWER = "{ viewer { name } }"
BOUND = 0.5  # seconds, for these tests


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"principal_cache_seconds": BOUND})


async def _ask(client, hub, token: str) -> tuple[int, int]:
    """Status of a viewer query with `token`, and how many statements looked a token up."""
    lookups: list[str] = []

    def count(conn, cursor, statement, *args) -> None:
        if "token_hash" in statement:
            lookups.append(statement)

    event.listen(hub.engine.sync_engine, "before_cursor_execute", count)
    try:
        response = await client.post(VIEWER, headers={"Authorization": f"Bearer {token}", "X-Hub-Request": "1"})
    finally:
        event.remove(hub.engine.sync_engine, "before_cursor_execute", count)
    return response.status_code, len(lookups)


async def _principal_id(actor) -> int:
    ctx = await actor.context()
    await ctx.close()
    return ctx.caller.principal_id


async def _refusals(hub) -> list[str]:
    async with hub.sessions() as session:
        entries = (await session.execute(select(AccessEntry).order_by(AccessEntry.id))).scalars()
        return [e.reason for e in entries if e.action == "auth.token_refused"]


async def test_a_token_is_looked_up_once_within_the_bound(hub, client, clerk) -> None:
    assert await _ask(client, hub, clerk.token) == (200, 1)
    assert await _ask(client, hub, clerk.token) == (200, 0)
    await asyncio.sleep(BOUND + 0.1)
    assert await _ask(client, hub, clerk.token) == (200, 1)


async def test_revoked_elsewhere_the_token_stops_working_within_the_bound(hub, client, clerk) -> None:
    """Another process revoking (here: the change made without this process's cache knowing)."""
    principal_id = await _principal_id(clerk)
    assert (await _ask(client, hub, clerk.token))[0] == 200
    async with hub.sessions() as session:
        assert await repo.revoke_principal(session, principal_id, utcnow())
        await session.commit()
    await asyncio.sleep(BOUND + 0.1)
    assert (await _ask(client, hub, clerk.token))[0] == 401
    assert await _refusals(hub) == ["UNAUTHENTICATED: the token was revoked"]


@pytest.mark.parametrize("change", ["revoke", "rotate"])
async def test_revoked_or_rotated_in_this_process_the_token_stops_at_once(hub, client, clerk, change) -> None:
    principal_id = await _principal_id(clerk)
    assert (await _ask(client, hub, clerk.token))[0] == 200
    async with hub.sessions() as session:
        await (revoke_principal if change == "revoke" else rotate_principal)(session, principal_id)
        await session.commit()
    assert (await _ask(client, hub, clerk.token))[0] == 401
    reason = "revoked" if change == "revoke" else "rotated out"
    assert await _refusals(hub) == [f"UNAUTHENTICATED: the token was {reason}"]


async def _until_listening(hub) -> None:
    """Until the listener's LISTEN has reached PostgreSQL, then a moment for it to empty the cache,
    as it does when it starts. A fixed wait was too short for a loaded machine (CI, 2026-12-01)."""
    seen = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN %'"
    for _ in range(200):
        async with hub.engine.connect() as connection:
            if (await connection.execute(text(seen))).scalar():
                await asyncio.sleep(0.1)
                return
        await asyncio.sleep(0.05)
    raise AssertionError("the listener did not start listening within 10 s")


async def test_another_process_revoking_is_heard_at_once_on_postgresql(hub, client, clerk) -> None:
    if hub.settings.is_sqlite:
        # SQLite has no notifications: no listener runs (it returns at once), the bound alone applies.
        await asyncio.wait_for(listen_for_revocations(hub), timeout=1)
        return
    listening = asyncio.create_task(listen_for_revocations(hub))
    try:
        await _until_listening(hub)
        principal_id = await _principal_id(clerk)
        assert (await _ask(client, hub, clerk.token))[0] == 200
        assert await _ask(client, hub, clerk.token) == (200, 0)  # from memory now
        # What revoke_principal does in another process: the update and the notification, one commit.
        async with hub.sessions() as session:
            assert await repo.revoke_principal(session, principal_id, utcnow())
            await session.execute(
                text("SELECT pg_notify(:c, :id)"), {"c": REVOCATIONS_CHANNEL, "id": str(principal_id)}
            )
            await session.commit()
        await asyncio.sleep(0.1)  # far less than the bound
        assert (await _ask(client, hub, clerk.token))[0] == 401
    finally:
        listening.cancel()
        with pytest.raises(asyncio.CancelledError):
            await listening


async def test_a_cached_caller_on_sqlite_takes_no_connection(hub, client, clerk) -> None:
    """Authenticated from the cache, `{ viewer }` runs no statement. On SQLite it takes no
    connection either (its driver begins no transaction before a write, so nothing is set up in
    advance); on PostgreSQL the request takes its autocommit connection at once (storage/db.py
    `autocommit_reads`)."""
    await client.execute("{ viewer { name } }", token=clerk.token)  # the caller now cached
    checkouts = []

    def count(*_: object) -> None:
        checkouts.append(1)

    event.listen(hub.engine.sync_engine, "checkout", count)
    try:
        assert await client.execute("{ viewer { name } }", token=clerk.token) == {"viewer": {"name": "王窗口"}}
    finally:
        event.remove(hub.engine.sync_engine, "checkout", count)
    assert len(checkouts) == (0 if hub.engine.dialect.name == "sqlite" else 1)
