"""Workers that scale out: several share the queue, none sends a delivery another is sending, and a
worker that dies mid-delivery leaves it to another once its lease runs out."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

from sqlalchemy import func, select

from hub.services import build_hub
from hub.webhooks.worker import Worker
from storage.models import WebhookAttempt, WebhookDelivery
from tests.support.webhook_receiver import Behaviour
from tests.webhooks.conftest import emit, register, wait_for

EVENTS = 1000


async def test_two_workers_deliver_a_thousand_events_once_each_and_never_at_the_same_time(
    fast, client, receiver, tax
) -> None:
    # The receiver shares this process (and its GIL) with both workers: a generous read timeout, so
    # that no send times out and is retried, and every delivery is sent exactly once.
    fast.settings = fast.settings.model_copy(update={"webhook_read_timeout": 10.0, "webhook_lease_seconds": 60.0})
    url = receiver.behave("/busy", Behaviour(hold_seconds=0.005))
    _, secret = await register(client, tax, url)
    receiver.secrets["/busy"] = [secret]
    await emit(fast, tax, "sw", EVENTS)

    # Two workers as two `hub worker` processes would be: each its own engine and connection pool.
    hubs = [build_hub(fast.settings), build_hub(fast.settings)]
    workers = [Worker(h, name=f"worker-{n}") for n, h in enumerate(hubs)]
    stop = asyncio.Event()
    running = [asyncio.create_task(w.run_forever(stop)) for w in workers]
    try:
        await wait_for(lambda: len(receiver.at("/busy")) >= EVENTS, timeout=120)
        await asyncio.sleep(0.5)  # anything sent twice would arrive meanwhile
    finally:
        stop.set()
        await asyncio.gather(*running)
        for h in hubs:
            await h.close()

    received = receiver.at("/busy")
    assert receiver.overlaps == []
    per_id = Counter(r.message_id for r in received)
    assert len(per_id) == EVENTS and set(per_id.values()) == {1}
    assert all(r.verified_with == ["v1:0"] for r in received)
    async with fast.sessions() as session:
        statuses = dict(
            (await session.execute(select(WebhookDelivery.status, func.count()).group_by(WebhookDelivery.status))).all()
        )
        by_worker = dict(
            (await session.execute(select(WebhookAttempt.worker, func.count()).group_by(WebhookAttempt.worker))).all()
        )
    assert statuses == {"delivered": EVENTS}
    assert sum(by_worker.values()) == EVENTS
    assert set(by_worker) == {"worker-0", "worker-1"}, by_worker  # both took part


async def test_a_delivery_held_by_a_dead_worker_is_taken_over_once_its_lease_expires(
    fast, client, receiver, tax
) -> None:
    fast.settings = fast.settings.model_copy(update={"webhook_lease_seconds": 0.5})
    endpoint_id, _ = await register(client, tax, receiver.url + "/orphan")
    await emit(fast, tax, "sw")
    killed, survivor = Worker(fast, name="killed"), Worker(fast, name="survivor")
    try:
        assert len(await killed.claim(10)) == 1  # then the process dies before sending
        assert await survivor.claim(10) == []  # leased: nobody else sends it meanwhile
        await asyncio.sleep(0.6)
        assert await survivor.run_until_idle() == 1
    finally:
        await killed.close()
        await survivor.close()
    assert len(receiver.at("/orphan")) == 1
    async with fast.sessions() as session:
        delivery = await session.scalar(select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id))
        attempts = list(await session.scalars(select(WebhookAttempt.worker)))
    assert delivery.status == "delivered" and delivery.attempts == 2
    assert attempts == ["survivor"]


async def test_a_committed_event_wakes_a_listening_worker_long_before_its_poll(fast, client, receiver, tax) -> None:
    # PostgreSQL: the commit notifies the workers' channel and a worker claims at once. Its poll
    # interval, a fallback, is set far beyond the test's patience. SQLite has no LISTEN: there the
    # poll alone delivers, so the interval is short.
    listens = not fast.settings.is_sqlite
    poll = 60.0 if listens else 0.5
    fast.settings = fast.settings.model_copy(update={"webhook_worker_poll_seconds": poll})
    await register(client, tax, receiver.url + "/woken")
    worker = Worker(fast, name="listener")
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run_forever(stop))
    try:
        if listens:
            await wait_for(worker.listening.is_set, timeout=10)
        await asyncio.sleep(0.3)  # the worker's first claim found nothing: it now waits its poll
        for n in range(3):
            committed = time.monotonic()
            await emit(fast, tax, "sw", prefix=f"WAKE{n}")
            await wait_for(lambda n=n: len(receiver.at("/woken")) == n + 1, timeout=poll + 10)
            delay = time.monotonic() - committed
            assert delay < (2.0 if listens else poll + 2.0), delay
            await asyncio.sleep(0.2)
    finally:
        stop.set()
        await running
    assert worker.listening.is_set() is False
