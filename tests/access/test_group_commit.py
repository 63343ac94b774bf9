"""Reads' access entries are written in batches, and no read answers before its entries are stored.

Concurrent reads hand their entries to the process's group commit (hub/access/_group_commit.py);
each waits for the batch holding them. A batch that cannot be stored is retried request by request,
so an unstorable entry fails its own request, closed, and no other.
"""

from __future__ import annotations

import asyncio
import gc
import weakref

import httpx
from sqlalchemy import select

from app.asgi import create_app
from hub.access.actions import Action
from hub.access.context import RequestContext
from hub.access.guard import guard
from hub.metrics import REGISTRY
from storage.models import AccessEntry
from tests.support import GraphQLClient
from tests.support.audit_log import APPLICANTS, entry_row
from tests.support.greenlets import greenlets_spawned

STATISTICS = "{ accessStatistics { departmentCode action outcome count } }"
CONCURRENT = 12


def _fallbacks() -> float:
    return REGISTRY.get_sample_value("hub_access_group_commit_fallbacks_total") or 0.0


async def _entries(hub, request_id: str) -> list[tuple[str, str]]:
    async with hub.sessions() as session:
        rows = await session.execute(
            select(AccessEntry.action, AccessEntry.outcome).where(AccessEntry.request_id == request_id)
        )
        return [tuple(row) for row in rows]


async def _read(client: GraphQLClient, hub, token: str, request_id: str) -> tuple[httpx.Response, list]:
    """A read, and its entries as the database holds them the moment its answer arrives."""
    response = await client.http.post(
        "/graphql",
        json={"query": STATISTICS},
        headers={"Authorization": f"Bearer {token}", "X-Request-Id": request_id},
    )
    return response, await _entries(hub, request_id)


async def test_concurrent_reads_are_logged_in_batches_each_durable_before_its_answer(hub, client, auditor) -> None:
    answers = await asyncio.gather(*(_read(client, hub, auditor.token, f"read-{n}") for n in range(CONCURRENT)))

    for response, entries in answers:
        assert "accessStatistics" in response.json()["data"]
        assert entries and all(outcome == "allowed" for _, outcome in entries)
    grouped = hub.access_group_commit
    assert grouped.requests == CONCURRENT
    assert grouped.batches < CONCURRENT  # some were written together


async def test_a_batch_with_an_unstorable_entry_fails_only_its_request(hub, client, auditor) -> None:
    transport = httpx.ASGITransport(app=create_app(hub.settings, hub), client=("f" * 100, 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as http:
        far = GraphQLClient(http)
        fallbacks = _fallbacks()
        answers = await asyncio.gather(
            *(_read(client, hub, auditor.token, f"near-{n}") for n in range(4)),
            _read(far, hub, auditor.token, "far"),
            *(_read(client, hub, auditor.token, f"near-{n}") for n in range(4, 8)),
        )
    far_response, far_entries = answers[4]
    for response, entries in answers[:4] + answers[5:]:
        # Stored once: the failed batch left none of its rows behind before they were retried alone.
        assert "accessStatistics" in response.json()["data"] and len(entries) == 1
    if hub.engine.dialect.name != "postgresql":
        # SQLite does not enforce column lengths: the far client's entry is stored too.
        assert "accessStatistics" in far_response.json()["data"] and far_entries
        return
    assert _fallbacks() > fallbacks  # seen by the operator (docs/deployment.md), not silent
    body = far_response.json()
    assert not body.get("data") and [e["extensions"]["code"] for e in body["errors"]] == ["INTERNAL_SERVER_ERROR"]
    assert far_entries == []


async def test_switched_off_a_read_writes_its_own_entries(hub, client, auditor) -> None:
    hub.settings = hub.settings.model_copy(update={"access_group_commit": False})
    response, entries = await _read(client, hub, auditor.token, "alone")
    assert "accessStatistics" in response.json()["data"] and entries
    assert hub.access_group_commit.requests == 0


async def test_a_read_leaves_no_cycle_for_the_garbage_collector(hub, clerk) -> None:
    """A request's context, its recorder and its session are freed as its last reference goes. In
    a cycle (the recorder pointed back at the context) every request's were left to the cyclic
    collector, about 18 objects a request (docs/performance.md, session 10)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        ctx = await clerk.context()
        ctx.read_only = True  # as for a GraphQL query: its entries go through the group commit
        await guard(ctx, Action.APPLICANT_LOOKUP, [APPLICANTS[0]], fields=["name"])
        session = ctx.session
        await ctx.commit()
        await ctx.close()
        freed = [weakref.ref(thing) for thing in (ctx, ctx.access, session)]
        del ctx, session
        assert [ref() for ref in freed] == [None, None, None]
    finally:
        if enabled:
            gc.enable()
    assert await _entries_of_lookups(hub) == 1


async def _entries_of_lookups(hub) -> int:
    async with hub.sessions() as session:
        rows = await session.execute(select(AccessEntry.id).where(AccessEntry.action == Action.APPLICANT_LOOKUP.value))
        return len(rows.all())


async def test_batches_that_follow_each_other_are_written_on_one_connection(hub, monkeypatch) -> None:
    """While reads keep coming the writer keeps its connection: taking one from the pool and
    giving it back cost each batch three greenlets (docs/performance.md, session 14)."""
    from sqlalchemy import event

    from hub.access import _group_commit

    written = _group_commit.append_entries_on

    async def slowly(connection, rows, **kwargs):
        await asyncio.sleep(0.02)  # long enough for the next requests to queue behind this batch
        await written(connection, rows, **kwargs)

    monkeypatch.setattr(_group_commit, "append_entries_on", slowly)
    checkouts: list[object] = []
    event.listen(hub.engine.sync_engine.pool, "checkout", lambda *args: checkouts.append(args))
    grouped = _group_commit.GroupCommit(hub.engine, numbered=hub.settings.audit_numbered_at_insert)

    tasks = [asyncio.create_task(grouped.write([entry_row("first")]))]
    await asyncio.sleep(0.005)  # the first batch is being written...
    tasks += [asyncio.create_task(grouped.write([entry_row(f"behind-{n}")])) for n in range(3)]  # ...these queue
    await asyncio.gather(*tasks)
    assert (grouped.batches, grouped.requests) == (2, 4)
    assert len(checkouts) == 1  # two batches, one connection
    async with hub.sessions() as session:
        stored = (await session.execute(select(AccessEntry.request_id))).scalars().all()
    assert {"first", "behind-0", "behind-1", "behind-2"} <= set(stored)


async def test_without_a_connection_every_waiting_read_fails_and_none_waits_for_ever(hub, monkeypatch) -> None:
    from hub.access import _group_commit

    grouped = _group_commit.GroupCommit(hub.engine, numbered=hub.settings.audit_numbered_at_insert)

    class Unreachable:
        dialect = hub.engine.dialect

        def connect(self):
            raise ConnectionRefusedError("the database is gone")

    grouped._engine = Unreachable()
    monkeypatch.setattr(_group_commit, "append_entries_durably", _refused)
    fallbacks = _fallbacks()
    outcomes = await asyncio.wait_for(
        asyncio.gather(*(grouped.write([entry_row(f"lost-{n}")]) for n in range(3)), return_exceptions=True), timeout=5
    )
    assert [type(outcome) for outcome in outcomes] == [ConnectionRefusedError] * 3
    assert _fallbacks() == fallbacks + 1


async def _refused(engine, rows, **kwargs) -> None:
    engine.connect()


async def test_a_read_whose_session_holds_nothing_commits_only_its_entries(hub, clerk, monkeypatch) -> None:
    """SQLite's short reads take no connection: such a read's session has nothing to commit, and
    committing it anyway cost a greenlet (docs/performance.md, session 14)."""
    looked_up = await clerk.context()
    ctx = RequestContext(hub, looked_up.caller, session=hub.sessions())  # as a request's: nothing read yet
    await looked_up.close()
    ctx.read_only = True
    await guard(ctx, Action.APPLICANT_LOOKUP, [APPLICANTS[0]], fields=["name"])
    assert not ctx.session.in_transaction()  # the policy read nothing through the session
    spawned = greenlets_spawned(monkeypatch)
    await ctx.commit()
    await ctx.close()
    assert "commit" not in spawned, spawned
    assert await _entries_of_lookups(hub) == 1
