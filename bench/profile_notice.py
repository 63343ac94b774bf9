"""Where the one-time notice spends its time: SQL statements per request and a CPU profile, in process.

Not a throughput figure (bench.notice is): this serves the app in process through httpx's ASGI
transport on a database seeded as bench.notice seeds it (the demo, then the applicant's 50
materials uploaded through the GraphQL API), prints the statements one notice runs, its CPU per
request against the trivial query's (alternating rounds, so the ratio holds when the machine's
speed drifts) and the top of a cProfile of N requests.

    python -m bench.profile_notice                      # SQLite; HUB_PROFILE_REQUESTS=200 by default
    HUB_PROFILE_DATABASE=postgresql python -m bench.profile_notice
    HUB_PROFILE_CPROFILE=0 python -m bench.profile_notice   # CPU ratio only
"""

from __future__ import annotations

import asyncio
import cProfile
import os
import pstats
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import event

from bench.common import hub_environment, postgres_database, seed, sqlite_database
from bench.notice import NOTICE, OPEN_VISIT, TRIVIAL, bundle, demo_person, materials_plan, upload_request
from bench.profile_clerk import _package_of


async def _profile(database_url: str, folder: Path, token: str, requests: int) -> None:
    from app.asgi import create_app
    from hub.services import build_hub
    from hub.settings import Environment, Settings

    settings = Settings(
        environment=Environment.BENCHMARK,
        database_url=database_url,
        blob_url=f"file://{folder}/blobs",
        secrets_dir=folder / "secrets",
    )
    hub = build_hub(settings)
    app = create_app(settings, hub)
    items, needed, others = bundle()
    id_number = demo_person()
    headers = {"Authorization": f"Bearer {token}"}
    statements: list[str] = []
    event.listen(hub.engine.sync_engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
        for n, (code, valid_until) in enumerate(materials_plan(needed, others)):
            uploaded = await client.post(
                "/graphql",
                **upload_request(id_number, n, code, valid_until),
                headers={**headers, "Apollo-Require-Preflight": "1"},
            )
            assert "errors" not in uploaded.json(), uploaded.json()
        opened = await client.post(
            "/graphql", json={"query": OPEN_VISIT, "variables": {"id": id_number}}, headers=headers
        )
        headers["X-Hub-Purpose"] = opened.json()["data"]["openVisit"]["purpose"]
        body = {"query": NOTICE, "variables": {"items": items, "id": id_number}}
        answer = (await client.post("/graphql", json=body, headers=headers)).json()
        assert "errors" not in answer, answer
        statements.clear()
        await client.post("/graphql", json=body, headers=headers)
        print(f"SQL statements per request: {len(statements)}")
        for statement in statements:
            print("  ", " ".join(statement.split())[:150])
        trivial = {"query": TRIVIAL}
        rounds: dict[str, list[float]] = {"notice": [], "trivial": []}
        for _ in range(3):  # alternating, so a machine slowing down shows in both
            for name, sent in (("notice", body), ("trivial", trivial)):
                cpu = time.process_time()
                for _ in range(requests):
                    await client.post("/graphql", json=sent, headers=headers)
                rounds[name].append((time.process_time() - cpu) / requests)
        best = {name: min(values) for name, values in rounds.items()}
        print(
            f"CPU per request, best of 3 rounds (client included): notice {best['notice'] * 1000:.2f} ms, "
            f"trivial query {best['trivial'] * 1000:.2f} ms, ratio {best['notice'] / best['trivial']:.2f}"
        )
        if os.environ.get("HUB_PROFILE_CPROFILE", "1") == "0":
            await hub.close()
            return
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(requests):
            await client.post("/graphql", json=body, headers=headers)
        profiler.disable()
    by_package: dict[str, list[float]] = {}
    for (file, _, _), (_, calls, tottime, _, _) in pstats.Stats(profiler).stats.items():  # type: ignore[attr-defined]
        totals = by_package.setdefault(_package_of(file), [0, 0.0])
        totals[0] += calls
        totals[1] += tottime
    print("own time by package (per request):")
    for package, (calls, tottime) in sorted(by_package.items(), key=lambda kv: -kv[1][1])[:15]:
        print(f"  {package:<28} {calls / requests:8.0f} calls {tottime / requests * 1000:7.2f} ms")
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(r"/(hub|storage|schema)/", 40)
    pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
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
