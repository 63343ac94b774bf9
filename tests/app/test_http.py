"""The hub over HTTP: who gets in, what a browser may send, what production hides, what ops can see."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy import text

from app.asgi import create_app
from hub.access.context import Hub
from hub.access.principals import revoke_principal, rotate_principal
from hub.services import build_hub
from hub.settings import Environment, Settings
from tests.support import GraphQLClient

VIEWER = "{ viewer { name role departmentCode } }"


async def _http(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub.test")


@pytest.fixture
async def production_client(hub: Hub) -> AsyncIterator[GraphQLClient]:
    production = build_hub(hub.settings.model_copy(update={"environment": Environment.PRODUCTION}))
    try:
        async with await _http(create_app(production.settings, production)) as http:
            yield GraphQLClient(http)
    finally:
        await production.close()


async def _principal_id(hub: Hub, token: str) -> int:
    from hub.access.principals import authenticate

    async with hub.sessions() as session:
        return (await authenticate(session, f"Bearer {token}")).principal_id


# Who gets in


async def test_a_request_without_a_token_or_with_an_unknown_one_is_refused(client, clerk) -> None:
    for headers in ({}, {"Authorization": "Basic dXNlcjpwYXNz"}, {"Authorization": "Bearer hub_unknown-principal"}):
        response = await client.http.post("/graphql", json={"query": VIEWER}, headers=headers)
        assert response.status_code == 401
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert (await client.execute(VIEWER, token=clerk.token))["viewer"]["role"] == "clerk"


async def test_a_revoked_token_stops_working_at_once(hub, client, tax_system) -> None:
    assert await client.execute(VIEWER, token=tax_system.token)
    async with hub.sessions() as session:
        await revoke_principal(session, await _principal_id(hub, tax_system.token))
        await session.commit()
    response = await client.post(VIEWER, token=tax_system.token)
    assert response.status_code == 401
    assert response.json()["errors"][0] == {
        "message": "unknown or revoked token",
        "extensions": {"code": "UNAUTHENTICATED"},
    }


async def test_a_rotated_token_replaces_the_old_one(hub, client, clerk) -> None:
    async with hub.sessions() as session:
        issued = await rotate_principal(session, await _principal_id(hub, clerk.token))
        await session.commit()
    assert (await client.post(VIEWER, token=clerk.token)).status_code == 401
    assert (await client.execute(VIEWER, token=issued.token))["viewer"]["name"] == "王窗口"


# What a browser may send (CSRF)


async def test_get_and_simple_posts_need_a_preflight_header(client, clerk) -> None:
    auth = {"Authorization": f"Bearer {clerk.token}"}
    refused = [
        await client.http.get("/graphql", params={"query": VIEWER}, headers=auth),
        await client.http.post(
            "/graphql", files={"operations": (None, '{"query": "{ viewer { name } }"}')}, headers=auth
        ),
        await client.http.post(
            "/graphql", content='{"query": "{ viewer { name } }"}', headers={**auth, "Content-Type": "text/plain"}
        ),
    ]
    for response in refused:
        assert response.status_code == 400
        assert response.json()["errors"][0]["extensions"]["code"] == "CSRF_PREFLIGHT_REQUIRED"

    allowed = await client.http.get(
        "/graphql", params={"query": VIEWER}, headers={**auth, "Apollo-Require-Preflight": "1"}
    )
    assert allowed.status_code == 200 and allowed.json()["data"]["viewer"]["name"] == "王窗口"


async def test_mutations_are_refused_over_get(client, clerk) -> None:
    headers = {"Authorization": f"Bearer {clerk.token}", "X-Hub-Request": "1"}
    mutation = (
        'mutation { recordProfileField(input: {idNumber: "11010519491231002X", field: "phone", value: "1"}) { value } }'
    )
    response = await client.http.get("/graphql", params={"query": mutation}, headers=headers)
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["extensions"]["code"] == "MALFORMED_REQUEST"


# Demo versus production


async def test_the_demo_serves_graphiql_with_local_assets(client) -> None:
    page = await client.http.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "GraphiQL" in page.text
    assert "unpkg.com" not in page.text and "cdn" not in page.text.lower()
    script = await client.http.get("/graphiql/assets/graphiql.min.js")
    assert script.status_code == 200 and script.headers["content-type"].startswith("text/javascript")
    assert (await client.http.get("/graphiql/assets/../../settings.py")).status_code == 404


async def test_production_hides_graphiql_and_introspection(client, production_client, clerk) -> None:
    introspection = "{ __schema { queryType { name } } }"
    assert (await client.execute(introspection, token=clerk.token))["__schema"]["queryType"]["name"] == "Query"

    assert await production_client.error_code(introspection, token=clerk.token) == "GRAPHQL_VALIDATION_FAILED"
    page = await production_client.http.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 404 and page.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert (await production_client.http.get("/graphiql/assets/graphiql.min.js")).status_code == 404
    assert (await production_client.execute(VIEWER, token=clerk.token))["viewer"]["role"] == "clerk"


def test_an_unset_environment_is_production_and_the_log_switch_needs_benchmark(monkeypatch) -> None:
    """A forgotten HUB_ENVIRONMENT must not open GraphiQL, introspection or the log switch."""
    from pydantic import ValidationError

    monkeypatch.delenv("HUB_ENVIRONMENT", raising=False)
    unset = Settings()
    assert unset.environment is Environment.PRODUCTION
    assert not unset.graphiql_enabled and not unset.introspection_enabled and not unset.suggestions_enabled
    for environment in (None, Environment.PRODUCTION, Environment.DEMO):
        given = {} if environment is None else {"environment": environment}
        with pytest.raises(ValidationError, match="HUB_ENVIRONMENT=benchmark"):
            Settings(audit_recording_disabled_for_benchmark=True, **given)
    monkeypatch.setenv("HUB_ENVIRONMENT", "benchmark")
    monkeypatch.setenv("HUB_AUDIT_RECORDING_DISABLED_FOR_BENCHMARK", "true")
    benchmark = Settings()
    assert benchmark.audit_recording_disabled_for_benchmark and not benchmark.graphiql_enabled


async def test_production_suggests_no_field_names(client, production_client, clerk) -> None:
    misspelled = '{ applicnt(idNumber: "11010519491231002X") { name } }'
    demo = (await client.post(misspelled, token=clerk.token)).json()["errors"][0]["message"]
    assert "Did you mean" in demo and "applicant" in demo
    body = (await production_client.post(misspelled, token=clerk.token)).json()
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert body["errors"][0]["message"] == "Cannot query field 'applicnt' on type 'Query'."
    enum = 'query($s: CaseStatus) { applicant(idNumber: "11010519491231002X") { cases(status: $s) { status } } }'
    wrong = (await production_client.post(enum, {"s": "ACEPTED"}, token=clerk.token)).json()
    assert "Did you mean" not in str(wrong) and wrong["errors"], wrong


# Errors: typed domain errors pass, the rest is masked and logged


async def test_an_unexpected_failure_is_masked_and_logged(hub, client, clerk, caplog) -> None:
    """A table gone missing under a running hub: the client learns nothing about the database."""
    async with hub.engine.begin() as connection:
        await connection.execute(text("ALTER TABLE catalog_versions RENAME TO catalog_versions_away"))
    try:
        with caplog.at_level(logging.ERROR):
            body = (await client.post("{ serviceItems { code } }", token=clerk.token)).json()
    finally:
        async with hub.engine.begin() as connection:
            await connection.execute(text("ALTER TABLE catalog_versions_away RENAME TO catalog_versions"))
    error = body["errors"][0]
    assert error["message"] == "Internal server error."
    assert error["extensions"] == {"code": "INTERNAL_SERVER_ERROR"}
    assert "catalog_versions" not in str(body)
    assert any("catalog_versions" in record.getMessage() + str(record.exc_info) for record in caplog.records)


async def test_domain_errors_reach_the_client_without_a_logged_traceback(client, clerk, caplog) -> None:
    with caplog.at_level(logging.ERROR):
        body = (await client.post('{ applicant(idNumber: "11010519491231002X") { name } }', token=clerk.token)).json()
    assert body["errors"][0]["extensions"] == {"code": "NOT_FOUND", "field": "idNumber"}
    assert body["errors"][0]["message"] == "no applicant with this identifier"
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]


async def test_a_database_outage_is_masked_and_readiness_fails() -> None:
    settings = Settings(database_url="postgresql+asyncpg://postgres@127.0.0.1:9/unreachable")
    hub = build_hub(settings)
    try:
        async with await _http(create_app(settings, hub)) as http:
            assert (await http.get("/healthz")).status_code == 200
            ready = await http.get("/readyz")
            assert ready.status_code == 503
            assert ready.json()["ready"] is False and ready.json()["checks"]["database"].startswith("unavailable")
            response = await http.post("/graphql", json={"query": VIEWER}, headers={"Authorization": "Bearer hub_x"})
            assert response.status_code == 500
            assert response.json() == {
                "errors": [{"message": "Internal server error.", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}]
            }
    finally:
        await hub.close()


# Health and metrics


async def test_health_and_readiness_with_a_working_database(client) -> None:
    assert (await client.http.get("/healthz")).text == "ok"
    ready = await client.http.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"]["database"] == "ok"


async def test_metrics_count_requests_latency_and_errors_by_code(client, clerk) -> None:
    await client.execute(VIEWER, token=clerk.token)
    await client.post(VIEWER, token="hub_nobody")
    await client.post("{ viewer { nam } }", token=clerk.token)
    metrics = (await client.http.get("/metrics")).text
    assert 'hub_http_requests_total{method="POST",route="/graphql",status="200"}' in metrics
    assert 'hub_http_requests_total{method="POST",route="/graphql",status="401"}' in metrics
    assert 'hub_http_request_duration_seconds_bucket{le="0.25",route="/graphql"}' in metrics
    assert 'hub_graphql_errors_total{code="UNAUTHENTICATED"}' in metrics
    assert 'hub_graphql_errors_total{code="GRAPHQL_VALIDATION_FAILED"}' in metrics


async def test_answers_are_utf8_json_without_escapes(client, clerk) -> None:
    response = await client.post(VIEWER, token=clerk.token)
    assert response.headers["content-type"].startswith("application/json")
    assert "王窗口".encode() in response.content and b"\\u" not in response.content


async def test_on_sqlite_reads_take_turns_to_log_and_writes_never_wait_for_them(hub, client, clerk) -> None:
    """Queries queue their access entries one at a time in the process (not in SQLite's busy-retry);
    a mutation, which may already hold SQLite's write lock, never waits for that turn. That is with
    group commit off: with it on, the process's batcher is the one writer of reads' entries
    (tests/access/test_group_commit.py)."""
    import asyncio

    if hub.engine.dialect.name != "sqlite":
        assert hub.read_log_turns is None  # PostgreSQL has row locks: nothing to take turns for
        return
    hub.settings = hub.settings.model_copy(update={"access_group_commit": False})

    class CountingLock(asyncio.Lock):
        taken = 0

        async def acquire(self) -> bool:
            CountingLock.taken += 1
            return await super().acquire()

    hub.read_log_turns = CountingLock()
    register = """mutation { registerApplicant(input: {kind: PERSON, idNumber: "11010519491231002X", name: "张三"}) { idNumber } }"""
    await client.execute(register, token=clerk.token)
    assert CountingLock.taken == 0
    read = '{ applicant(idNumber: "11010519491231002X") { name } }'
    answers = await asyncio.gather(*(client.execute(read, token=clerk.token) for _ in range(8)))
    assert all(answer["applicant"]["name"] == "张三" for answer in answers)
    assert CountingLock.taken == 8


async def test_no_request_keeps_a_database_connection_once_answered(hub, client, clerk) -> None:
    """A read's session, whose commit gave its connection back, is not closed again (that only
    cleared its identity map, through a greenlet); every other session still is, so whatever a
    request did, allowed, refused or failed half-way, the pool has every connection back."""
    person = "11010519491231002X"
    assert (await client.post(VIEWER, token=clerk.token)).status_code == 200
    await client.execute(
        'mutation($id: String!) { registerApplicant(input: {kind: PERSON, idNumber: $id, name: "张三"}) { idNumber } }',
        {"id": person},
        token=clerk.token,
    )
    refused = await client.error_code(
        "query($id: String!) { applicant(idNumber: $id) { profile { field value } } }",
        {"id": person},
        token=clerk.token,
    )
    assert refused == "FORBIDDEN"  # no visit: the clerk may not read the profile
    assert (await client.error_code("{ nothing }", token=clerk.token)) == "GRAPHQL_VALIDATION_FAILED"
    assert hub.engine.pool.checkedout() == 0
