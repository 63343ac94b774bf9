"""Where the worker runs: inside `hub serve` on SQLite, in `hub worker` processes on PostgreSQL."""

from __future__ import annotations

import asyncio
import gc

from app.asgi import create_app
from tests.webhooks.conftest import emit, register, wait_for


async def test_hub_serve_delivers_itself_on_sqlite_and_leaves_it_to_workers_on_postgresql(
    fast, client, receiver, tax, hub_command, monkeypatch
) -> None:
    monkeypatch.setenv("HUB_WEBHOOK_ALLOWED_HOSTS", '["127.0.0.1/32"]')
    await register(client, tax, receiver.url + "/served")
    app = create_app(fast.settings, fast)
    try:
        async with app.router.lifespan_context(app):
            await emit(fast, tax, "sw")
            if fast.settings.is_sqlite:
                await wait_for(lambda: len(receiver.at("/served")) == 1)
            else:
                await asyncio.sleep(1.0)
                assert receiver.at("/served") == []
    finally:
        gc.unfreeze()  # the app's start-up froze the heap for the process's lifetime
    if not fast.settings.is_sqlite:
        status, out, _ = await hub_command("worker", "--once")
        assert status == 0
        assert "sent 1 deliveries" in out and len(receiver.at("/served")) == 1
