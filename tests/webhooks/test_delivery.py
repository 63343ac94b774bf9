"""A department's receiver is told of events: signed, retried, dead-lettered, replayed, paused.

Every delivery reaches a real HTTP receiver on loopback that verifies it with the
`standardwebhooks` package, as a department's system would.
"""

from __future__ import annotations

import json

from hub.access.auth import Role
from hub.webhooks.worker import Worker
from tests.support import make_actor
from tests.support.webhook_receiver import Behaviour
from tests.webhooks.conftest import ENDPOINTS, PAUSE, RESUME, ROTATE, emit, register, wait_for


async def endpoint_state(client, actor, endpoint_id: int) -> dict:
    endpoints = (await client.execute(ENDPOINTS, token=actor.token))["webhookEndpoints"]
    return next(e for e in endpoints if int(e["id"]) == endpoint_id)


async def test_a_delivery_is_signed_v1_and_verifies_with_the_standard_library(
    fast, client, receiver, tax, worker
) -> None:
    endpoint_id, secret = await register(client, tax, receiver.url + "/hooks")
    assert secret.startswith("whsec_")
    receiver.secrets["/hooks"] = [secret]
    await emit(fast, tax, "sw", 3)
    await wait_for(lambda: len(receiver.at("/hooks")) == 3)
    for received in receiver.at("/hooks"):
        assert received.verified_with == ["v1:0"]
        assert received.message_id.startswith("msg_")
        assert received.event["type"] == "case.distributed"
        assert received.event["data"]["department"] == "sw"
    assert len({r.message_id for r in receiver.at("/hooks")}) == 3
    state = await wait_for(lambda: _delivered(client, tax, endpoint_id, 3))
    # The secret is shown once: nothing the department can read back holds it.
    assert secret not in json.dumps(state)


async def _delivered(client, actor, endpoint_id, count):
    state = await endpoint_state(client, actor, endpoint_id)
    return state if state["delivered"] == count else None


async def test_failures_are_retried_with_the_same_webhook_id_until_a_2xx(fast, client, receiver, tax, worker) -> None:
    url = receiver.behave("/flaky", Behaviour(fail_first=2))
    endpoint_id, secret = await register(client, tax, url)
    receiver.secrets["/flaky"] = [secret]
    await emit(fast, tax, "sw")
    state = await wait_for(lambda: _delivered(client, tax, endpoint_id, 1))
    received = receiver.at("/flaky")
    assert len(received) == 3 and len({r.message_id for r in received}) == 1
    assert all(r.verified_with == ["v1:0"] for r in received)
    assert len({r.body for r in received}) == 1  # the same bytes every time
    delivery = state["recentDeliveries"][0]
    assert delivery["status"] == "DELIVERED" and delivery["messageId"] == received[0].message_id
    assert [a["statusCode"] for a in delivery["attempts"]] == [500, 500, 200]
    assert [a["attemptNo"] for a in delivery["attempts"]] == [1, 2, 3]


async def test_a_timeout_is_an_attempt_and_is_retried(fast, client, receiver, tax, worker) -> None:
    url = receiver.behave("/slow", Behaviour(slow_first_seconds=2.0))
    endpoint_id, _ = await register(client, tax, url)
    await emit(fast, tax, "sw")
    state = await wait_for(lambda: _delivered(client, tax, endpoint_id, 1))
    attempts = state["recentDeliveries"][0]["attempts"]
    assert attempts[0]["statusCode"] is None and attempts[0]["error"].startswith("timeout")
    assert attempts[-1]["statusCode"] == 200


async def test_retries_spent_make_a_dead_letter_which_a_replay_sends_again(
    fast, client, receiver, tax, worker, hub_command
) -> None:
    url = receiver.behave("/down", Behaviour(always_status=503))
    endpoint_id, _ = await register(client, tax, url)
    await emit(fast, tax, "sw")

    async def dead():
        state = await endpoint_state(client, tax, endpoint_id)
        return state if state["dead"] == 1 else None

    state = await wait_for(dead)
    delivery = state["recentDeliveries"][0]
    assert delivery["status"] == "DEAD" and delivery["lastError"] == "HTTP 503"
    assert [a["statusCode"] for a in delivery["attempts"]] == [503, 503, 503]  # HUB_WEBHOOK_MAX_ATTEMPTS=3

    status, out, _ = await hub_command("webhooks", "list", "--deliveries")
    assert status == 0 and "dead=1" in out and delivery["messageId"] in out
    # A pending or delivered delivery is not a dead letter.
    receiver.behaviours["/down"] = Behaviour()
    status, out, _ = await hub_command("webhooks", "replay", "--endpoint", str(endpoint_id))
    assert status == 0 and "replayed 1" in out
    state = await wait_for(lambda: _delivered(client, tax, endpoint_id, 1))
    replayed = state["recentDeliveries"][0]
    assert replayed["messageId"] == delivery["messageId"]
    assert [a["statusCode"] for a in replayed["attempts"]][-1] == 200
    status, _, err = await hub_command("webhooks", "replay", "--delivery", str(replayed["id"]))
    assert status == 2 and "DELIVERY_NOT_DEAD" in err


async def test_a_paused_endpoint_queues_its_deliveries_until_resumed(fast, client, receiver, tax, worker) -> None:
    endpoint_id, _ = await register(client, tax, receiver.url + "/paused")
    paused = (await client.execute(PAUSE, {"id": endpoint_id}, token=tax.token))["pauseWebhookEndpoint"]
    assert paused["pausedAt"] is not None
    await emit(fast, tax, "sw", 2)
    await wait_for(lambda: _pending(client, tax, endpoint_id, 2))
    await worker.run_until_idle()
    assert receiver.at("/paused") == []
    resumed = (await client.execute(RESUME, {"id": endpoint_id}, token=tax.token))["resumeWebhookEndpoint"]
    assert resumed["pausedAt"] is None
    await wait_for(lambda: len(receiver.at("/paused")) == 2)
    await wait_for(lambda: _delivered(client, tax, endpoint_id, 2))


async def _pending(client, actor, endpoint_id, count):
    return (await endpoint_state(client, actor, endpoint_id))["pending"] == count


async def test_the_operator_pauses_and_resumes_from_the_command_line(
    fast, client, receiver, tax, worker, hub_command
) -> None:
    endpoint_id, _ = await register(client, tax, receiver.url + "/ops")
    status, out, _ = await hub_command("webhooks", "pause", str(endpoint_id))
    assert status == 0 and "paused" in out
    await emit(fast, tax, "sw")
    await worker.run_until_idle()
    assert receiver.at("/ops") == []
    status, _, _ = await hub_command("webhooks", "resume", str(endpoint_id))
    assert status == 0
    await wait_for(lambda: len(receiver.at("/ops")) == 1)


async def test_during_a_rotation_both_secrets_sign_then_only_the_new_one(fast, client, receiver, tax, worker) -> None:
    endpoint_id, old = await register(client, tax, receiver.url + "/rotating")
    rotated = (await client.execute(ROTATE, {"id": endpoint_id}, token=tax.token))["rotateWebhookSecret"]
    new = rotated["secret"]
    assert new.startswith("whsec_") and new != old and rotated["endpoint"]["previousSecretUntil"] is not None
    receiver.secrets["/rotating"] = [old, new]
    await emit(fast, tax, "sw")
    await wait_for(lambda: len(receiver.at("/rotating")) == 1)
    first = receiver.at("/rotating")[0]
    assert first.verified_with == ["v1:0", "v1:1"]
    assert len(first.headers["webhook-signature"].split(" ")) == 2

    # With no overlap left, the previous secret no longer signs.
    fast.settings = fast.settings.model_copy(update={"webhook_secret_overlap_seconds": 0})
    again = (await client.execute(ROTATE, {"id": endpoint_id}, token=tax.token))["rotateWebhookSecret"]
    receiver.secrets["/rotating"] = [new, again["secret"]]
    await emit(fast, tax, "sw", prefix="AFTER")
    await wait_for(lambda: len(receiver.at("/rotating")) == 2)
    assert receiver.at("/rotating")[1].verified_with == ["v1:1"]


async def test_urls_off_the_allowlist_are_refused_at_registration(fast, client, tax) -> None:
    for url in (
        "http://10.1.2.3/hooks",
        "http://169.254.169.254/latest",
        "http://localhost:8000/x",
        "ftp://127.0.0.1/",
    ):
        code = await client.error_code(
            "mutation($i: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $i) { secret } }",
            {"i": {"url": url, "eventTypes": ["case.distributed"]}},
            token=tax.token,
        )
        assert code == "WEBHOOK_URL_NOT_ALLOWED", url
    code = await client.error_code(
        "mutation($i: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $i) { secret } }",
        {"i": {"url": "http://127.0.0.1:9/x", "eventTypes": ["case.nonsense"]}},
        token=tax.token,
    )
    assert code == "UNKNOWN_EVENT_TYPE"
    clerk = await make_actor(fast, Role.CLERK, "xzfw")
    code = await client.error_code(
        "mutation($i: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $i) { secret } }",
        {"i": {"url": "http://127.0.0.1:9/x", "eventTypes": ["case.distributed"]}},
        token=clerk.token,
    )
    assert code == "FORBIDDEN"


async def test_a_host_allowed_by_name_but_resolving_to_loopback_is_refused_at_delivery(
    fast, client, receiver, tax
) -> None:
    # The operator allowed the name "localhost", not the loopback network: the address is checked
    # where the connection is opened, so the name cannot lead inside.
    fast.settings = fast.settings.model_copy(update={"webhook_allowed_hosts": ["localhost"]})
    port = receiver.url.rsplit(":", 1)[1]
    endpoint_id, _ = await register(client, tax, f"http://localhost:{port}/inside")
    await emit(fast, tax, "sw")
    worker = Worker(fast)
    try:
        assert await worker.run_until_idle() == 1
    finally:
        await worker.close()
    attempt = (await endpoint_state(client, tax, endpoint_id))["recentDeliveries"][0]["attempts"][0]
    assert attempt["statusCode"] is None and "may not reach" in attempt["error"]
    assert receiver.at("/inside") == []


async def test_a_redirect_is_not_followed(fast, client, receiver, tax) -> None:
    url = receiver.behave("/moved", Behaviour(redirect_to="/elsewhere"))
    endpoint_id, _ = await register(client, tax, url)
    await emit(fast, tax, "sw")
    worker = Worker(fast)
    try:
        await worker.run_until_idle()
    finally:
        await worker.close()
    attempt = (await endpoint_state(client, tax, endpoint_id))["recentDeliveries"][0]["attempts"][0]
    assert attempt["statusCode"] == 307 and attempt["error"] == "redirect not followed"
    assert receiver.at("/elsewhere") == []


async def test_a_huge_response_body_is_not_read_to_the_end(fast, client, receiver, tax) -> None:
    url = receiver.behave("/chatty", Behaviour(big_body_bytes=50 * 1024 * 1024))
    endpoint_id, _ = await register(client, tax, url)
    await emit(fast, tax, "sw")
    worker = Worker(fast)
    try:
        await worker.run_until_idle()
    finally:
        await worker.close()
    state = await endpoint_state(client, tax, endpoint_id)
    assert state["delivered"] == 1


async def test_a_department_sees_and_manages_only_its_own_endpoints(fast, client, receiver, tax) -> None:
    land = await make_actor(fast, Role.DEPARTMENT_SYSTEM, "zrzy")
    endpoint_id, _ = await register(client, tax, receiver.url + "/tax")
    assert (await client.execute(ENDPOINTS, token=land.token))["webhookEndpoints"] == []
    assert await client.error_code(PAUSE, {"id": endpoint_id}, token=land.token) == "NOT_FOUND"
    assert await client.error_code(ROTATE, {"id": endpoint_id}, token=land.token) == "NOT_FOUND"
