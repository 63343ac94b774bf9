"""Where a department has events sent is on record: registering, pausing and listing endpoints pass
the guard, and so does every caller who may not, refused with an entry in the log."""

from __future__ import annotations

from sqlalchemy import select

from hub.access.auth import Role
from storage.models import AccessEntry
from tests.support import make_actor
from tests.webhooks.conftest import register

PAUSE = "mutation($id: Int!) { pauseWebhookEndpoint(id: $id) { id } }"
LIST = "{ webhookEndpoints { id } }"
CREATE = "mutation($i: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $i) { secret } }"


async def test_endpoints_are_guarded_and_logged_refusals_included(fast, client, tax, receiver) -> None:
    endpoint_id, _ = await register(client, tax, receiver.url)
    await client.execute(PAUSE, {"id": endpoint_id}, token=tax.token)
    assert (await client.execute(LIST, token=tax.token))["webhookEndpoints"] == [{"id": endpoint_id}]

    clerk = await make_actor(fast, Role.CLERK, "xzfw")
    land = await make_actor(fast, Role.DEPARTMENT_SYSTEM, "zrzy", "自然资源系统")
    new = {"i": {"url": receiver.url, "eventTypes": ["case.distributed"]}}
    assert await client.error_code(CREATE, new, token=clerk.token) == "FORBIDDEN"
    assert await client.error_code(LIST, token=clerk.token) == "FORBIDDEN"
    # Another department's endpoint is not found for it, and that refusal is logged too.
    assert await client.error_code(PAUSE, {"id": endpoint_id}, token=land.token) == "NOT_FOUND"

    async with fast.sessions() as session:
        rows = await session.execute(
            select(AccessEntry.role, AccessEntry.action, AccessEntry.outcome, AccessEntry.object_ref)
            .where(AccessEntry.action.like("webhook.%"))
            .order_by(AccessEntry.id)
        )
        logged = [tuple(row) for row in rows]
    assert logged == [
        ("department_system", "webhook.write", "allowed", "webhook-endpoint:new"),
        ("department_system", "webhook.write", "allowed", f"webhook-endpoint:{endpoint_id}"),
        ("department_system", "webhook.read", "allowed", "webhook-endpoints:sw"),
        ("clerk", "webhook.write", "denied", "webhook-endpoint:new"),
        ("clerk", "webhook.read", "denied", "webhook-endpoints:xzfw"),
        ("department_system", "webhook.write", "refused", f"webhook-endpoint:{endpoint_id}"),
    ]
