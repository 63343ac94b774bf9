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
import pstats
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import event

from bench.clerk_query import DOCUMENT_ID, HUB_QUERY, OPEN_VISIT, seed_with_cases
from bench.common import postgres_database


async def _profile(database_url: str, folder: Path, id_number: str, requests: int) -> None:
    from app.asgi import create_app
    from hub.demo.tokens import demo_tokens
    from hub.services import build_hub
    from hub.settings import Environment, Settings

    settings = Settings(
        environment=Environment.BENCHMARK,
        database_url=database_url,
        blob_url=f"file://{folder}/blobs",
        secrets_dir=folder / "secrets",
    )
    hub = build_hub(settings)
    async with hub.sessions() as session:
        issued = await demo_tokens(session, settings, rotate=True)
        await session.commit()
    token = next(i.token for i in issued if i.role.value == "clerk" and i.department_code == "xzfw")
    app = create_app(settings, hub)
    statements: list[str] = []
    event.listen(hub.engine.sync_engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
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
        answer = (await client.post("/graphql", json=body, headers=headers)).json()
        assert "errors" not in answer, answer
        statements.clear()
        await client.post("/graphql", json=body, headers=headers)
        print(f"SQL statements per request: {len(statements)}")
        for statement in statements:
            print("  ", " ".join(statement.split())[:150])
        trivial = {"query": "{ viewer { name } }"}
        rounds: dict[str, list[float]] = {"query": [], "trivial": []}
        for _ in range(3):  # alternating, so a machine slowing down shows in both
            for name, sent in (("query", body), ("trivial", trivial)):
                cpu = time.process_time()
                for _ in range(requests):
                    await client.post("/graphql", json=sent, headers=headers)
                rounds[name].append((time.process_time() - cpu) / requests)
        best = {name: min(values) for name, values in rounds.items()}
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
    by_package: dict[str, list[float]] = {}
    for (file, _, _), (_, calls, tottime, _, _) in pstats.Stats(profiler).stats.items():  # type: ignore[attr-defined]
        package = _package_of(file)
        totals = by_package.setdefault(package, [0, 0.0])
        totals[0] += calls
        totals[1] += tottime
    print("own time by package (per request):")
    for package, (calls, tottime) in sorted(by_package.items(), key=lambda kv: -kv[1][1])[:15]:
        print(f"  {package:<28} {calls / requests:8.0f} calls {tottime / requests * 1000:7.2f} ms")
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(r"/work/main/(hub|storage|schema)/", 40)
    pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
    await hub.close()


def _package_of(file: str) -> str:
    if "site-packages/" in file:
        return file.split("site-packages/")[1].split("/")[0]
    if "/work/" in file:
        return file.split("/")[3] if file.count("/") > 3 else file
    return "python" if file.startswith("/") else file


def main() -> None:
    requests = int(os.environ.get("HUB_PROFILE_REQUESTS", "200"))
    with postgres_database() as database_url, tempfile.TemporaryDirectory(prefix="hub-profile-") as folder:
        id_number = seed_with_cases(database_url, Path(folder))
        asyncio.run(_profile(database_url, Path(folder), id_number, requests))


if __name__ == "__main__":
    main()
