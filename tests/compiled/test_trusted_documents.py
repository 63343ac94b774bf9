"""A department system registers the documents it runs and sends them by id (docs/trusted-documents.md)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from app.asgi import create_app
from bench.clerk_query import HUB_QUERY
from hub.access.auth import Role
from hub.access.budgets import CostBudgets
from hub.compiled.registry import document_hash
from hub.services import build_hub
from hub.settings import Settings
from schema.root import build_schema
from tests.support import GraphQLClient, make_actor, open_visit
from tests.support.materials import data_of, load_material_types, pdf, upload
from tests.support.materials import register as register_applicant

PERSON = "11010519491231002X"
CLERK_SCREEN = HUB_QUERY  # bench/clerk_query.py: the clerk's screen
WITH_FRAGMENT = """query($id: String!) { applicant(idNumber: $id) { ...Named } }
fragment Named on Applicant { name }
"""


@pytest.fixture
def documents(tmp_path) -> dict[str, Any]:
    files = {"screen": tmp_path / "screen.graphql", "fragment": tmp_path / "fragment.graphql"}
    files["screen"].write_text(CLERK_SCREEN, encoding="utf-8")
    files["fragment"].write_text(WITH_FRAGMENT, encoding="utf-8")
    (tmp_path / "wrong.graphql").write_text("{ applicant(idNumber: 1) { shoeSize } }", encoding="utf-8")
    return {"files": files, "wrong": tmp_path / "wrong.graphql"}


def cost_points_of(document: str) -> int:
    """What the edge charges for a document (schema/limits.py), measured as the hub measures it."""
    return build_schema(Settings()).documents.prepare(document).points


async def _body(response: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json()
    return body


async def test_a_system_registers_its_documents_and_sends_them_by_id(hub, client, hub_command, documents) -> None:
    status, out, _ = await hub_command(
        "documents", "register", str(documents["files"]["screen"]), str(documents["files"]["fragment"])
    )
    assert status == 0
    screen_id = f"sha256:{document_hash(CLERK_SCREEN)}"
    assert f"{screen_id}  {documents['files']['screen']}: registered, compiled" in out
    assert "fragment.graphql: registered, resolvers (one operation and no fragments)" in out
    status, out, _ = await hub_command("documents", "register", str(documents["files"]["screen"]))
    assert status == 0 and "already registered" in out
    status, _, err = await hub_command("documents", "register", str(documents["wrong"]))
    assert status == 2 and "BAD_USER_INPUT" in err and "shoeSize" in err
    status, out, _ = await hub_command("documents", "list")
    assert screen_id in out and "fragment" not in out.split(screen_id)[0].splitlines()[-1:]

    clerk = await make_actor(hub, Role.CLERK, "xzfw", "王窗口")
    await load_material_types(hub)
    await register_applicant(client, clerk, PERSON, "张三")
    visit = await open_visit(client, clerk, PERSON)
    data_of(await upload(client, clerk, {"idNumber": PERSON, "typeCode": "id_card"}, pdf(), purpose=visit))
    headers = {"Authorization": f"Bearer {clerk.token}", "X-Hub-Purpose": visit}
    by_text = await client.http.post(
        "/graphql", json={"query": CLERK_SCREEN, "variables": {"id": PERSON}}, headers=headers
    )
    by_id = await client.http.post(
        "/graphql", json={"documentId": screen_id, "variables": {"id": PERSON}}, headers=headers
    )
    apollo = {"persistedQuery": {"version": 1, "sha256Hash": document_hash(CLERK_SCREEN)}}
    by_apollo = await client.http.post(
        "/graphql", json={"extensions": apollo, "variables": {"id": PERSON}}, headers=headers
    )
    assert by_text.status_code == by_id.status_code == by_apollo.status_code == 200
    assert by_id.content == by_text.content == by_apollo.content
    assert (await _body(by_id))["data"]["applicant"]["materials"][0]["typeCode"] == "id_card"

    # A compiled document pays from the caller's budget as the same text would (RATE_LIMITED, 429).
    hub.cost_budgets = CostBudgets(1, cost_points_of(CLERK_SCREEN), clock=lambda: 1000.0)
    assert (
        await client.http.post("/graphql", json={"documentId": screen_id, "variables": {"id": PERSON}}, headers=headers)
    ).status_code == 200
    limited = await client.http.post(
        "/graphql", json={"documentId": screen_id, "variables": {"id": PERSON}}, headers=headers
    )
    assert limited.status_code == 429
    assert (await _body(limited))["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    hub.cost_budgets = CostBudgets(0, 0)

    # A registered document outside the compiled subset is served by the resolvers.
    fragment_id = f"sha256:{document_hash(WITH_FRAGMENT)}"
    answer = await client.http.post(
        "/graphql", json={"documentId": fragment_id, "variables": {"id": PERSON}}, headers=headers
    )
    assert (await _body(answer)) == {"data": {"applicant": {"name": "张三"}}}

    unknown = await client.http.post("/graphql", json={"documentId": "sha256:" + "0" * 64}, headers=headers)
    assert unknown.status_code == 400
    assert (await _body(unknown))["errors"][0]["extensions"] == {
        "code": "DOCUMENT_NOT_REGISTERED",
        "documentId": "sha256:" + "0" * 64,
    }
    malformed = await client.http.post("/graphql", json={"documentId": "md5:abc"}, headers=headers)
    assert malformed.status_code == 400
    assert (await _body(malformed))["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


@pytest.fixture
async def strict_client(hub, request: pytest.FixtureRequest) -> AsyncIterator[GraphQLClient]:
    settings = hub.settings.model_copy(update={"trusted_documents": request.param})
    strict = build_hub(settings)
    transport = httpx.ASGITransport(app=create_app(settings, strict), client=("198.51.100.7", 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as http:
        yield GraphQLClient(http)
    await strict.close()


@pytest.mark.parametrize("strict_client", ["require"], indirect=True)
async def test_a_hub_that_requires_registered_documents_refuses_any_other(
    hub, strict_client, hub_command, documents
) -> None:
    await hub_command("documents", "register", str(documents["files"]["fragment"]))
    clerk = await make_actor(hub, Role.CLERK, "xzfw", "王窗口")
    headers = {"Authorization": f"Bearer {clerk.token}"}
    refused = await strict_client.http.post("/graphql", json={"query": "{ viewer { name } }"}, headers=headers)
    assert refused.status_code == 400
    error = (await _body(refused))["errors"][0]
    assert error["extensions"]["code"] == "DOCUMENT_NOT_REGISTERED"
    assert error["extensions"]["documentId"] == f"sha256:{document_hash('{ viewer { name } }')}"
    registered_as_text = await strict_client.http.post(
        "/graphql", json={"query": WITH_FRAGMENT, "variables": {"id": PERSON}}, headers=headers
    )
    assert registered_as_text.status_code == 200  # runs (and answers NOT_FOUND: nobody is registered)
    assert (await _body(registered_as_text))["errors"][0]["extensions"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize("strict_client", ["off"], indirect=True)
async def test_a_hub_with_trusted_documents_off_knows_no_ids(hub, strict_client, hub_command, documents) -> None:
    await hub_command("documents", "register", str(documents["files"]["screen"]))
    clerk = await make_actor(hub, Role.CLERK, "xzfw", "王窗口")
    headers = {"Authorization": f"Bearer {clerk.token}"}
    body = {"documentId": f"sha256:{document_hash(CLERK_SCREEN)}", "variables": {"id": PERSON}}
    refused = await strict_client.http.post("/graphql", json=body, headers=headers)
    assert refused.status_code == 400
    assert (await _body(refused))["errors"][0]["message"] == "trusted documents are off"
    as_text = await strict_client.http.post("/graphql", json={"query": "{ viewer { name } }"}, headers=headers)
    assert (await _body(as_text)) == {"data": {"viewer": {"name": "王窗口"}}}
