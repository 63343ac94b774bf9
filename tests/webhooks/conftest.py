"""A receiver on loopback, a hub whose allowlist admits it, and fast retries for the tests."""

from __future__ import annotations

import asyncio
import time

import pytest

from hub.access.auth import Role
from hub.outbox import events
from storage.repositories.principals import department_by_code
from tests.support import make_actor
from tests.support.webhook_receiver import start_receiver

FAST = {
    "webhook_allowed_hosts": ["127.0.0.1/32"],
    "webhook_retry_base_seconds": 0.05,
    "webhook_retry_cap_seconds": 0.2,
    "webhook_max_attempts": 3,
    "webhook_connect_timeout": 1.0,
    "webhook_read_timeout": 0.5,
    "webhook_lease_seconds": 5.0,
    "webhook_worker_poll_seconds": 0.02,
}

ENDPOINTS = """query { webhookEndpoints { id url eventTypes scheme pausedAt previousSecretUntil pending delivered dead
  recentDeliveries { id messageId eventType status lastError deliveredAt
                     attempts { attemptNo statusCode error startedAt finishedAt worker } } } }"""
CREATE = """mutation($i: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $i) {
  secret endpoint { id url eventTypes scheme } } }"""
ROTATE = "mutation($id: Int!) { rotateWebhookSecret(id: $id) { secret endpoint { id previousSecretUntil } } }"
PAUSE = "mutation($id: Int!) { pauseWebhookEndpoint(id: $id) { id pausedAt pending } }"
RESUME = "mutation($id: Int!) { resumeWebhookEndpoint(id: $id) { id pausedAt pending } }"
PUBLIC_KEYS = "query { webhookPublicKeys { keyId publicKey current } }"
ALL_TYPES = [t.value for t in events.EventType]


@pytest.fixture
def receiver():
    receiver, server, thread = start_receiver()
    yield receiver
    server.should_exit = server.force_exit = True
    thread.join(timeout=5)


@pytest.fixture
def fast(hub):
    hub.settings = hub.settings.model_copy(update=FAST)
    return hub


@pytest.fixture
async def tax(fast):
    return await make_actor(fast, Role.DEPARTMENT_SYSTEM, "sw", "税务征管系统")


async def register(client, actor, url: str, types=None, scheme: str = "V1") -> tuple[int, str | None]:
    issued = (
        await client.execute(
            CREATE, {"i": {"url": url, "eventTypes": types or ALL_TYPES, "scheme": scheme}}, token=actor.token
        )
    )["createWebhookEndpoint"]
    return int(issued["endpoint"]["id"]), issued["secret"]


async def emit(hub, actor, department_code: str, count: int = 1, prefix: str = "TEST") -> None:
    """Events as a use case writes them: in the caller's transaction, committed with its change."""
    ctx = await actor.context()
    try:
        department = await department_by_code(ctx.session, department_code)
        for n in range(count):
            await events.record(
                ctx, events.EventType.CASE_DISTRIBUTED, [department.id], {"receiptNumber": f"{prefix}-{n}"}
            )
        await ctx.commit()
    finally:
        await ctx.close()


async def wait_for(condition, timeout: float = 15.0, interval: float = 0.02):
    """Poll `condition` (sync or async) until it is truthy; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if asyncio.iscoroutine(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(interval)


@pytest.fixture
async def worker(fast):
    """A delivery worker running in the background, as `hub worker` or `hub serve` runs it."""
    from hub.webhooks.worker import Worker

    running = Worker(fast, name="test-worker")
    stop = asyncio.Event()
    task = asyncio.create_task(running.run_forever(stop))
    yield running
    stop.set()
    await task
