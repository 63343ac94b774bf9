"""A careless or hostile client cannot make the hub parse, validate or run an unbounded query.

Every limit answers before validation, in the JSON error shape, with HTTP 400 and
QUERY_TOO_COMPLEX (PAYLOAD_TOO_LARGE 413 for size), and a typed message."""

from __future__ import annotations

import asyncio
import time
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

    response = await strict_client.post(DEEP, token=clerk.token)
    body = response.json()
    assert response.status_code == 400
    assert body["errors"][0]["extensions"] == {"code": "QUERY_TOO_COMPLEX", "limit": 4}
    assert "deeper" in body["errors"][0]["message"]
    assert body.get("data") is None


async def test_too_many_aliases_are_refused(strict_client, clerk) -> None:
    three = "{ a: viewer { name } b: viewer { name } c: viewer { name } }"
    assert len(await strict_client.execute(three, token=clerk.token)) == 3
    four = "{ a: viewer { name } b: viewer { name } c: viewer { name } d: viewer { name } }"
    response = await strict_client.post(four, token=clerk.token)
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"] == {"code": "QUERY_TOO_COMPLEX", "limit": 3, "aliases": 4}
    # Aliases inside a fragment count at every spread of it.
    spread = "{ ...V ...V } fragment V on Query { a: viewer { name } b: viewer { name } }"
    assert await strict_client.error_code(spread, token=clerk.token) == "QUERY_TOO_COMPLEX"


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
            assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"
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


async def test_a_repeated_query_is_validated_once(hub, client, clerk) -> None:
    """Parsing, measuring and validating happen once per distinct document, not once per request."""
    documents = client.http._transport.app.state.graphql_schema.documents
    query = "{ viewer { name departmentCode } }"
    await client.execute(query, token=clerk.token)
    validations, misses = documents.validations, documents.misses
    for _ in range(5):
        await client.execute(query, token=clerk.token)
    assert documents.validations == validations and documents.misses == misses


def _fragment_bomb(levels: int) -> str:
    """Each fragment spreads the one below twice: 2^levels fields in under 1 KB of text."""
    fragments = [f"fragment F{n} on Viewer {{ ...F{n - 1} ...F{n - 1} }}" for n in range(levels, 0, -1)]
    return f"{{ viewer {{ ...F{levels} }} }} " + " ".join(fragments) + " fragment F0 on Viewer { name }"


async def test_a_fragment_bomb_is_refused_at_once_without_expanding_it(client, clerk) -> None:
    bomb = _fragment_bomb(22)
    assert len(bomb.encode()) < 1024
    started = time.perf_counter()
    response = await client.post(bomb, token=clerk.token)
    elapsed = time.perf_counter() - started
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["extensions"] == {"code": "QUERY_TOO_COMPLEX", "limit": 10_000, "fields": 2**22 + 1}
    assert elapsed < 1.0, elapsed  # it took 25 s when the limiters expanded fragments

    # The same chain, small enough, is accepted and answers the field once (fragments merge).
    assert await client.execute(_fragment_bomb(5), token=clerk.token) == {"viewer": {"name": "王窗口"}}


async def test_a_long_chain_of_fragments_does_not_overflow_the_stack(hub, clerk) -> None:
    """Fragments are measured with a stack of the hub's own, not Python's (limit 1000 frames)."""
    settings = hub.settings.model_copy(update={"max_query_tokens": 20_000, "max_query_bytes": 100_000})
    transport = httpx.ASGITransport(app=create_app(settings, hub))
    chain = " ".join(f"fragment F{n} on Viewer {{ ...F{n - 1} }}" for n in range(1500, 0, -1))
    query = "{ viewer { ...F1500 } } " + chain + " fragment F0 on Viewer { name }"
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as http:
        response = await GraphQLClient(http).post(query, token=clerk.token)
    # Measured (depth 2, one field) and passed on; graphql-core's validation then gives up on it.
    assert response.status_code == 200
    assert response.json()["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"


async def test_a_paged_field_counts_its_selection_once_per_item(hub, clerk) -> None:
    settings = hub.settings.model_copy(update={"max_query_fields": 500})
    transport = httpx.ASGITransport(app=create_app(settings, hub))
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as http:
        client = GraphQLClient(http)
        page = '{ applicants(namePrefix: "张", first: %s) { edges { node { idNumber name kind } } } }'
        assert (await client.execute(page % 20, token=clerk.token))["applicants"]["edges"] == []
        response = await client.post(page % 100, token=clerk.token)
        assert response.status_code == 400
        assert response.json()["errors"][0]["extensions"]["fields"] == 1 + 100 * (
            1 + 1 + 3
        )  # applicants, then per item edges, node, 3 fields
        # A page size from a variable counts as the largest page allowed.
        variable = (
            'query($n: Int!) { applicants(namePrefix: "张", first: $n) { edges { node { idNumber name kind } } } }'
        )
        assert await client.error_code(variable, {"n": 1}, token=clerk.token) == "QUERY_TOO_COMPLEX"


async def test_blanks_and_comments_count_toward_the_document_size(client, clerk) -> None:
    padded = "{ viewer { name } }" + " " * 40_000
    response = await client.post(padded, token=clerk.token)
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"] == {"code": "PAYLOAD_TOO_LARGE", "field": "query", "limit": 32768}
    commented = "# " + "x" * 40_000 + "\n{ viewer { name } }"
    assert await client.error_code(commented, token=clerk.token) == "PAYLOAD_TOO_LARGE"


async def test_the_document_cache_is_bounded_in_bytes(hub, clerk) -> None:
    settings = hub.settings.model_copy(update={"query_cache_bytes": 3_000_000})
    app = create_app(settings, hub)
    documents = app.state.graphql_schema.documents
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub.test") as http:
        client = GraphQLClient(http)
        for n in range(60):
            # Distinct documents of 2 KB each, charged about 0.5 MB each: a few fit, not 60.
            query = "{ viewer { name } } # " + str(n) + "x" * 2000
            assert (await client.execute(query, token=clerk.token))["viewer"]["name"] == "王窗口"
    assert documents.used_bytes <= 3_000_000
    assert 0 < len(documents) < 60


async def test_one_field_asked_again_and_again_is_refused_before_validation(client, clerk) -> None:
    """Validation compares repeated fields in pairs: 300 `viewer { name }` took half a second."""
    repeated = "{ " + "viewer { name } " * 300 + "}"
    response = await client.post(repeated, token=clerk.token)
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"] == {"code": "QUERY_TOO_COMPLEX", "limit": 10, "repeats": 300}
    inline = "{ " + "... on Query { viewer { name } } " * 11 + "}"
    assert await client.error_code(inline, token=clerk.token) == "QUERY_TOO_COMPLEX"
    assert await client.execute("{ " + "viewer { name name } " * 10 + "}", token=clerk.token) == {
        "viewer": {"name": "王窗口"}
    }
