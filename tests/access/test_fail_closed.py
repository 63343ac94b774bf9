"""If the access log cannot record a request, the request fails: closed, masked and counted.

The client sees INTERNAL_SERVER_ERROR and never the database's message (which quotes the SQL
statement and its parameters); nothing the request did lands; /metrics counts the failure. PostgreSQL
enforces the log's column lengths, so a client address longer than its column (64) makes an entry
impossible to store there; SQLite does not enforce lengths, and stores it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import select

from app.asgi import create_app
from hub.metrics import REGISTRY
from storage.models import AccessEntry, Applicant
from tests.support import GraphQLClient

PERSON_ID = "11010519491231002X"
REGISTER = "mutation($input: RegisterApplicantInput!) { registerApplicant(input: $input) { idNumber name } }"
STATISTICS = "{ accessStatistics { departmentCode action outcome count } }"
FAILURES = "hub_access_log_failures_total"


@pytest.fixture
async def far_client(hub) -> AsyncIterator[GraphQLClient]:
    """A client whose address does not fit the log's client_address column."""
    transport = httpx.ASGITransport(app=create_app(hub.settings, hub), client=("f" * 100, 50000))
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as http:
        yield GraphQLClient(http)


def _failures() -> float:
    return REGISTRY.get_sample_value(FAILURES) or 0.0


def _postgres(hub) -> bool:
    return hub.engine.dialect.name == "postgresql"


def _assert_masked(response: httpx.Response) -> None:
    body = response.json()
    assert [e["extensions"]["code"] for e in body["errors"]] == ["INTERNAL_SERVER_ERROR"]
    assert body["errors"][0]["message"] == "Internal server error."
    text = response.text.lower()
    for leak in ("insert", "access_entries", "sqlalchemy", "asyncpg", "traceback", "f" * 65):
        assert leak not in text
    assert not body.get("data")


async def test_a_write_whose_entry_cannot_be_stored_fails_closed(hub, far_client, clerk) -> None:
    before = _failures()
    variables = {"input": {"kind": "PERSON", "idNumber": PERSON_ID, "name": "张三"}}
    response = await far_client.post(REGISTER, variables, token=clerk.token)
    async with hub.sessions() as session:
        registered = (await session.execute(select(Applicant.id))).all()
        entries = (await session.execute(select(AccessEntry.id))).all()
    if not _postgres(hub):
        assert response.json()["data"]["registerApplicant"]["name"] == "张三" and registered and entries
        return
    _assert_masked(response)
    assert registered == [] and entries == []
    assert _failures() > before


async def test_a_read_whose_entry_cannot_be_stored_returns_no_data(hub, far_client, auditor) -> None:
    before = _failures()
    response = await far_client.post(STATISTICS, token=auditor.token)
    if not _postgres(hub):
        assert "accessStatistics" in response.json()["data"]
        return
    _assert_masked(response)
    assert _failures() > before


async def test_an_overlong_name_in_a_request_is_logged_cut_not_failed(hub, client, clerk) -> None:
    """Found by bench/fuzz.py on PostgreSQL: a receipt number of thousands of characters made the
    log insert fail (the request failed closed). The attempt is a refusal like any unknown case,
    and its entry keeps the start of what was asked for."""
    receipt = "R" * 5000
    answer = await client.post(
        "query($r: String!) { case(receiptNumber: $r) { status } }", {"r": receipt}, token=clerk.token
    )
    assert answer.json()["errors"][0]["extensions"]["code"] != "INTERNAL_SERVER_ERROR"
    async with hub.sessions() as session:
        refs = (
            (await session.execute(select(AccessEntry.object_ref).where(AccessEntry.object_ref.like("case:RRR%"))))
            .scalars()
            .all()
        )
    assert refs and all(len(ref) <= 200 and ref.endswith("…") for ref in refs)
