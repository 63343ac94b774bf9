"""Where the clerk's query spends its time: SQL statements per request and a CPU profile, in process.

Not a throughput figure (bench.clerk_query is): this serves the app in process through httpx's
ASGI transport on a seeded PostgreSQL database, counts the SQL statements one request runs, prints
its CPU per request against the trivial query's (alternating rounds, so the ratio holds when the
machine's speed drifts) and the top of a cProfile of N requests, to guide work on the read path.

    python -m bench.profile_clerk            # HUB_PROFILE_REQUESTS=200 by default
    HUB_PROFILE_QUERY=trivial python -m bench.profile_clerk   # profile the floor, `{ viewer { name } }`
    HUB_PROFILE_QUERY=compiled python -m bench.profile_clerk  # the clerk's query by its id (docs/trusted-documents.md)
"""

from __future__ import annotations

import asyncio
import cProfile
import os
import tempfile
import time
from pathlib import Path

import httpx

from bench._in_process import best_cpu_per_request, in_process_app, print_profile, print_statements
from bench.clerk_query import DOCUMENT_ID, HUB_QUERY, OPEN_VISIT, seed_with_cases
from bench.common import postgres_database


async def _profile(database_url: str, folder: Path, id_number: str, requests: int) -> None:
    from hub.demo.tokens import demo_tokens

    hub, app = in_process_app(database_url, folder)
    settings = hub.settings
    async with hub.sessions() as session:
        issued = await demo_tokens(session, settings, rotate=True)
        await session.commit()
    token = next(i.token for i in issued if i.role.value == "clerk" and i.department_code == "xzfw")
    which = os.environ.get("HUB_PROFILE_QUERY", "")
    body: dict[str, object] = {"query": HUB_QUERY, "variables": {"id": id_number}}
    if which == "trivial":
        body = {"query": "{ viewer { name } }"}
    elif which == "compiled":
        body = {"documentId": DOCUMENT_ID, "variables": {"id": id_number}}
    headers = {"Authorization": f"Bearer {token}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
        # The clerk reads within a visit of the applicant, as at the window (docs/access-policy.md).
        opened = await client.post(
            "/graphql", json={"query": OPEN_VISIT, "variables": {"id": id_number}}, headers=headers
        )
        headers["X-Hub-Purpose"] = opened.json()["data"]["openVisit"]["purpose"]
        await print_statements(hub, client, body, headers)
        best = await best_cpu_per_request(
            client, {"query": body, "trivial": {"query": "{ viewer { name } }"}}, headers, requests
        )
        print(
            f"CPU per request, best of 3 rounds (client included): {best['query'] * 1000:.2f} ms, "
            f"trivial query {best['trivial'] * 1000:.2f} ms, ratio {best['query'] / best['trivial']:.2f}"
        )
        if os.environ.get("HUB_PROFILE_CPROFILE", "1") == "0":  # sampling profilers (py-spy) stop here
            await hub.close()
            return
        profiler = cProfile.Profile()
        started = time.perf_counter()
        profiler.enable()
        for _ in range(requests):
            await client.post("/graphql", json=body, headers=headers)
        profiler.disable()
        elapsed = time.perf_counter() - started
    print(f"{requests} requests in {elapsed:.2f} s: {elapsed / requests * 1000:.2f} ms each (profiled, one at a time)")
    print_profile(profiler, requests)
    await hub.close()


def main() -> None:
    requests = int(os.environ.get("HUB_PROFILE_REQUESTS", "200"))
    with postgres_database() as database_url, tempfile.TemporaryDirectory(prefix="hub-profile-") as folder:
        id_number = seed_with_cases(database_url, Path(folder))
        asyncio.run(_profile(database_url, Path(folder), id_number, requests))


if __name__ == "__main__":
    main()
