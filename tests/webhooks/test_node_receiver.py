"""A department whose system is written in Node verifies the hub's deliveries with the npm
`standardwebhooks` package (v1) and node:crypto's Ed25519 (v1a, which the npm package does not
verify; tests/webhooks/node_receiver/server.js says how it follows the spec).

The receiver is a real Node process on loopback; the hub's own delivery worker signs and sends. Node
and the package are required (`npm ci --prefix tests/webhooks/node_receiver`, which .ci/run does):
without them this test fails, it never skips.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from hub.webhooks.signing import headers, new_secret, v1_signatures
from tests.webhooks.conftest import PUBLIC_KEYS, emit, register, wait_for

RECEIVER = Path(__file__).parent / "node_receiver"


@pytest.fixture
def node_receiver() -> Iterator[str]:
    """The Node receiver's base URL; fails the test if Node or the npm package is missing."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed: the Node receiver test needs it (apt-get install nodejs)", pytrace=False)
    if not (RECEIVER / "node_modules" / "standardwebhooks" / "package.json").exists():
        pytest.fail(f"the npm package is missing: run `npm ci --prefix {RECEIVER}`", pytrace=False)
    process = subprocess.Popen(
        [node, str(RECEIVER / "server.js")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        first = process.stdout.readline()  # "listening <port>", or nothing if it died
        if not first.startswith("listening "):
            process.kill()
            pytest.fail(f"the Node receiver did not start: {first}{process.stderr.read()}", pytrace=False)
        yield f"http://127.0.0.1:{int(first.split()[1])}"
    finally:
        process.terminate()
        process.wait(timeout=10)


def received(base: str) -> list[dict]:
    return httpx.get(f"{base}/_received", timeout=10).json()


async def test_a_node_receiver_verifies_v1_and_v1a_deliveries_from_the_hub_worker(
    fast, client, tax, worker, node_receiver
) -> None:
    _, secret = await register(client, tax, node_receiver + "/v1")
    _, none = await register(client, tax, node_receiver + "/v1a", scheme="V1A")
    assert none is None
    keys = [k["publicKey"] for k in (await client.execute(PUBLIC_KEYS, token=tax.token))["webhookPublicKeys"]]
    config = {"/v1": {"scheme": "v1", "secrets": [secret]}, "/v1a": {"scheme": "v1a", "publicKeys": keys}}
    httpx.post(f"{node_receiver}/_config", content=json.dumps({"paths": config}), timeout=10).raise_for_status()

    await emit(fast, tax, "sw", 3)  # each event goes to both endpoints of the department
    await wait_for(lambda: len(received(node_receiver)) >= 6, timeout=30)
    arrived = received(node_receiver)
    assert [r for r in arrived if not r["verified"]] == []
    for path in ("/v1", "/v1a"):
        at = [r for r in arrived if r["path"] == path]
        assert len(at) == 3 and len({r["id"] for r in at}) == 3, at
        assert {json.loads(r["body"])["data"]["receiptNumber"] for r in at} == {"TEST-0", "TEST-1", "TEST-2"}

    # The verifier is not a formality: a message signed with another secret, or altered after the
    # hub signed it, is refused on both schemes.
    now = datetime.now(UTC)
    body = '{"type":"case.distributed","data":{}}'
    forged = headers("msg_forged", now, v1_signatures([new_secret()], "msg_forged", now, body))
    hub_signed = headers("msg_altered", now, v1_signatures([secret], "msg_altered", now, body))
    async with httpx.AsyncClient(timeout=10) as http:
        assert (await http.post(f"{node_receiver}/v1", content=body, headers=forged)).status_code == 400
        assert (await http.post(f"{node_receiver}/v1", content=body + " ", headers=hub_signed)).status_code == 400
        v1a_as_v1 = {**hub_signed, "webhook-signature": hub_signed["webhook-signature"].replace("v1,", "v1a,")}
        assert (await http.post(f"{node_receiver}/v1a", content=body, headers=v1a_as_v1)).status_code == 400
    refused = [r for r in received(node_receiver) if not r["verified"]]
    assert [r["id"] for r in refused] == ["msg_forged", "msg_altered", "msg_altered"]
