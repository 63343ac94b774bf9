"""`hub_audit_log_lag_seconds`: how long the oldest entry outside the tree has waited, so an
operator sees a log no sequencer runs for (docs/deployment.md, "The background jobs")."""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, datetime, timedelta

import httpx

from app.asgi import create_app
from app.background import serve_metrics
from hub.audit.lag import seconds_behind
from hub.audit.sequencer import Sequencer
from hub.services import build_hub
from storage.repositories import audit as repo
from tests.support.audit_log import entry_row

TEN = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


async def _queue(hub, *moments: datetime) -> None:
    async with hub.sessions() as session:
        await repo.append_entries(session, [entry_row("req-lag", moment) for moment in moments])
        await session.commit()


async def test_lag_counts_from_the_oldest_entry_queued_or_numbered_outside_the_tree(hub) -> None:
    assert await seconds_behind(hub, TEN) == 0.0
    await _queue(hub, TEN, TEN + timedelta(minutes=5))
    assert await seconds_behind(hub, TEN + timedelta(minutes=10)) == 600.0

    # The first is numbered (as the group commit numbers a read's entries on PostgreSQL) but not
    # yet hashed into the tree: it still counts, though it is no longer queued.
    async with hub.sessions() as session:
        [first, _] = await repo.queued_ids(session, 10)
        await repo.assign_sequence(session, [first], await repo.take_numbers(session, 1) + 1)
        await session.commit()
    assert await seconds_behind(hub, TEN + timedelta(minutes=10)) == 600.0

    await Sequencer(hub).integrate()
    assert await seconds_behind(hub, TEN + timedelta(minutes=10)) == 0.0
    await _queue(hub, TEN + timedelta(minutes=7))
    assert await seconds_behind(hub, TEN + timedelta(minutes=10)) == 180.0
    # A clock behind the entries (another machine's) reads as no lag, never a negative one.
    assert await seconds_behind(hub, TEN) == 0.0


def _gauge(metrics: str) -> float:
    [line] = [line for line in metrics.splitlines() if line.startswith("hub_audit_log_lag_seconds ")]
    return float(line.split()[1])


async def test_metrics_read_the_lag_at_each_scrape(hub, client) -> None:
    await _queue(hub, TEN)
    hub.clock = lambda: TEN + timedelta(seconds=42)
    assert _gauge((await client.http.get("/metrics")).text) == 42.0
    await Sequencer(hub).integrate()
    assert _gauge((await client.http.get("/metrics")).text) == 0.0


async def test_metrics_answer_when_the_database_cannot_say(settings) -> None:
    unreachable = settings.model_copy(update={"database_url": "postgresql+asyncpg://hub@127.0.0.1:9/nowhere"})
    hub = build_hub(unreachable)
    try:
        app = create_app(unreachable, hub)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub.test") as http:
            response = await http.get("/metrics")
        assert response.status_code == 200
        assert math.isnan(_gauge(response.text))
        assert "hub_http_requests_total" in response.text
    finally:
        await hub.close()


async def test_the_background_process_serves_the_lag_read_at_each_scrape(hub) -> None:
    """`hub background --metrics-port`: its metrics server answers on a thread of its own, which
    reads the lag through the process's event loop."""
    await _queue(hub, TEN)
    hub.clock = lambda: TEN + timedelta(seconds=42)
    server = serve_metrics(hub, asyncio.get_running_loop(), "127.0.0.1", 0)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.server_port}") as http:
            assert _gauge((await http.get("/metrics")).text) == 42.0
            await Sequencer(hub).integrate()
            assert _gauge((await http.get("/metrics")).text) == 0.0
            only = (await http.get("/metrics", params={"name[]": "hub_audit_log_lag_seconds"})).text
            assert _gauge(only) == 0.0 and "hub_http_requests_total" not in only
    finally:
        server.shutdown()
        server.server_close()
