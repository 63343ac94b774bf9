"""Where the one-time notice spends its time: SQL statements per request and a CPU profile, in process.

Not a throughput figure (bench.notice is): this serves the app in process through httpx's ASGI
transport on a database seeded as bench.notice seeds it (the demo, then the applicant's 50
materials uploaded through the GraphQL API), prints the statements one notice runs, its CPU per
request sent as text (the resolvers) and by its id as a registered document (the compiled notice,
docs/trusted-documents.md) against the trivial query's (alternating rounds, so the ratios hold when
the machine's speed drifts) and the top of a cProfile of N requests.

    python -m bench.profile_notice                      # SQLite; HUB_PROFILE_REQUESTS=200 by default
    HUB_PROFILE_DATABASE=postgresql python -m bench.profile_notice
    HUB_PROFILE_CPROFILE=0 python -m bench.profile_notice   # CPU ratios only
    HUB_PROFILE_QUERY=compiled python -m bench.profile_notice  # statements and profile of the compiled notice
"""

from __future__ import annotations

import asyncio
import cProfile
import os
import pstats
import tempfile
from pathlib import Path

import httpx

from bench._in_process import best_cpu_per_request, in_process_app, print_profile, print_statements
from bench.common import hub_environment, postgres_database, seed, sqlite_database
from bench.notice import NOTICE, NOTICE_ID, OPEN_VISIT, TRIVIAL, bundle, demo_person, materials_plan, upload_request


async def _profile(database_url: str, folder: Path, token: str, requests: int) -> None:
    from hub.compiled import registry

    hub, app = in_process_app(database_url, folder)
    async with hub.sessions() as session:
        await registry.register(session, NOTICE, "bench")
        await session.commit()
    items, needed, others = bundle()
    id_number = demo_person()
    headers = {"Authorization": f"Bearer {token}"}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
        for n, (code, valid_until) in enumerate(materials_plan(needed, others)):
            form = upload_request(id_number, n, code, valid_until)
            uploaded = await client.post(
                "/graphql",
                data=form["data"],
                files=form["files"],
                headers={**headers, "Apollo-Require-Preflight": "1"},
            )
            assert "errors" not in uploaded.json(), uploaded.json()
        opened = await client.post(
            "/graphql", json={"query": OPEN_VISIT, "variables": {"id": id_number}}, headers=headers
        )
        headers["X-Hub-Purpose"] = opened.json()["data"]["openVisit"]["purpose"]
        variables = {"items": items, "id": id_number}
        by_text = {"query": NOTICE, "variables": variables}
        by_id = {"documentId": NOTICE_ID, "variables": variables}
        answers = [(await client.post("/graphql", json=b, headers=headers)).content for b in (by_text, by_id)]
        assert answers[0] == answers[1], "the compiled notice answers as the resolvers do"
        body = by_id if os.environ.get("HUB_PROFILE_QUERY") == "compiled" else by_text
        await print_statements(hub, client, body, headers)
        best = await best_cpu_per_request(
            client, {"notice": by_text, "compiled": by_id, "trivial": {"query": TRIVIAL}}, headers, requests
        )
        print(
            f"CPU per request, best of 3 rounds (client included): notice as text {best['notice'] * 1000:.2f} ms"
            f" (x{best['notice'] / best['trivial']:.2f} trivial), by id (compiled) {best['compiled'] * 1000:.2f} ms"
            f" (x{best['compiled'] / best['trivial']:.2f}), trivial query {best['trivial'] * 1000:.2f} ms"
        )
        if os.environ.get("HUB_PROFILE_CPROFILE", "1") == "0":
            await hub.close()
            return
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(requests):
            await client.post("/graphql", json=body, headers=headers)
        profiler.disable()
    print_profile(profiler, requests)
    if os.environ.get("HUB_PROFILE_CALLERS"):  # who calls a function, e.g. HUB_PROFILE_CALLERS='enum.py:193'
        pstats.Stats(profiler).print_callers(os.environ["HUB_PROFILE_CALLERS"])
    await hub.close()


def main() -> None:
    requests = int(os.environ.get("HUB_PROFILE_REQUESTS", "200"))
    postgres = os.environ.get("HUB_PROFILE_DATABASE", "sqlite") == "postgresql"
    with (
        postgres_database() if postgres else sqlite_database() as database_url,
        tempfile.TemporaryDirectory(prefix="hub-profile-") as folder,
    ):
        os.environ["HUB_RATE_LIMIT_POINTS_PER_SECOND"] = "0"  # one principal far beyond a clerk's pace
        tokens = seed(hub_environment(database_url, Path(folder)))
        asyncio.run(_profile(database_url, Path(folder), tokens["clerk", "xzfw"], requests))


if __name__ == "__main__":
    main()
