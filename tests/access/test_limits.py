"""A careless or hostile client cannot make the hub parse or run an unbounded query."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest

from app.asgi import create_app
from hub.access.context import Hub
from tests.support import GraphQLClient

DEEP = 'query { applicants(namePrefix: "张") { edges { node { profile { source { departmentCode } } } } } }'


@pytest.fixture
async def strict_client(hub: Hub) -> AsyncIterator[GraphQLClient]:
    """A client of a hub configured with small limits, so real schema queries can exceed them."""
    settings = hub.settings.model_copy(update={"max_query_depth": 4, "max_query_aliases": 3, "max_query_tokens": 60})
    transport = httpx.ASGITransport(app=create_app(settings, hub))
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as http:
        yield GraphQLClient(http)


async def test_a_query_deeper_than_the_limit_is_refused_before_it_runs(client, strict_client, clerk) -> None:
    assert (await client.execute(DEEP, token=clerk.token))["applicants"]["edges"] == []

    body = (await strict_client.post(DEEP, token=clerk.token)).json()
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "depth" in body["errors"][0]["message"]
    assert body.get("data") is None


async def test_too_many_aliases_are_refused(strict_client, clerk) -> None:
    three = "{ a: viewer { name } b: viewer { name } c: viewer { name } }"
    assert len(await strict_client.execute(three, token=clerk.token)) == 3
    four = "{ a: viewer { name } b: viewer { name } c: viewer { name } d: viewer { name } }"
    body = (await strict_client.post(four, token=clerk.token)).json()
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "aliases" in body["errors"][0]["message"]


async def test_a_query_with_too_many_tokens_is_refused(client, clerk) -> None:
    wide = "{ viewer { " + "name " * 2500 + "} }"
    body = (await client.post(wide, token=clerk.token)).json()
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    assert "token" in body["errors"][0]["message"].lower()
    assert body.get("data") is None


async def test_limits_hold_per_request_under_concurrency(strict_client, clerk) -> None:
    """Limiter instances are per request: a refused deep query does not leak into a shallow one."""
    shallow = "{ viewer { name } }"
    results = await asyncio.gather(
        *(strict_client.post(DEEP if n % 2 else shallow, token=clerk.token) for n in range(20))
    )
    for n, response in enumerate(results):
        body = response.json()
        if n % 2:
            assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
        else:
            assert body == {"data": {"viewer": {"name": "王窗口"}}}


async def test_a_body_that_is_not_json_is_a_malformed_request(client, clerk) -> None:
    headers = {"Authorization": f"Bearer {clerk.token}", "Content-Type": "application/json"}
    for body in ("{not json", "", '{"query": '):
        response = await client.http.post("/graphql", content=body, headers=headers)
        assert response.status_code == 400, body
        assert response.json()["errors"][0]["extensions"]["code"] == "MALFORMED_REQUEST"


async def test_json_without_a_query_is_a_malformed_request(client, clerk) -> None:
    headers = {"Authorization": f"Bearer {clerk.token}"}
    response = await client.http.post("/graphql", json={"variables": {}}, headers=headers)
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "MALFORMED_REQUEST"


async def test_a_syntax_error_is_a_validation_failure(client, clerk) -> None:
    assert await client.error_code("{ viewer { name ", token=clerk.token) == "GRAPHQL_VALIDATION_FAILED"
    assert await client.error_code("{ noSuchField }", token=clerk.token) == "GRAPHQL_VALIDATION_FAILED"


async def test_a_repeated_query_is_validated_once(client, clerk) -> None:
    """The limits must not defeat the validation cache (rules rebuilt per request would miss it)."""
    from strawberry.extensions.validation_cache import DEFAULT_MAXSIZE, _get_validate_cache

    cache = _get_validate_cache(DEFAULT_MAXSIZE)
    query = "{ viewer { name departmentCode } }"
    await client.execute(query, token=clerk.token)
    before = cache.cache_info()
    for _ in range(5):
        await client.execute(query, token=clerk.token)
    after = cache.cache_info()
    assert after.hits - before.hits == 5 and after.misses == before.misses
