"""What the in-process profilers share (bench/profile_clerk.py, bench/profile_notice.py): the app
served through httpx's ASGI transport, CPU per request against another request's in alternating
rounds, and a cProfile summarised by package."""

from __future__ import annotations

import cProfile
import pstats
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
from starlette.applications import Starlette

from hub.access.context import Hub


def in_process_app(database_url: str, folder: Path) -> tuple[Hub, Starlette]:
    """The benchmark environment's hub and app over `database_url`, blobs and keys under `folder`."""
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
    return hub, create_app(settings, hub)


async def best_cpu_per_request(
    client: httpx.AsyncClient, bodies: Mapping[str, Any], headers: dict[str, str], requests: int
) -> dict[str, float]:
    """Seconds of this process's CPU per request for each body, best of 3 alternating rounds (so a
    machine slowing down shows in all of them)."""
    rounds: dict[str, list[float]] = {name: [] for name in bodies}
    for _ in range(3):
        for name, body in bodies.items():
            cpu = time.process_time()
            for _ in range(requests):
                await client.post("/graphql", json=body, headers=headers)
            rounds[name].append((time.process_time() - cpu) / requests)
    return {name: min(values) for name, values in rounds.items()}


async def print_statements(hub: Hub, client: httpx.AsyncClient, body: Any, headers: dict[str, str]) -> None:
    """Send `body` once, check it answers without errors, then print the SQL one more request runs."""
    from sqlalchemy import event

    answer = (await client.post("/graphql", json=body, headers=headers)).json()
    assert "errors" not in answer, answer
    statements: list[str] = []

    def count(*arguments: Any) -> None:
        statements.append(arguments[2])

    event.listen(hub.engine.sync_engine, "before_cursor_execute", count)
    await client.post("/graphql", json=body, headers=headers)
    event.remove(hub.engine.sync_engine, "before_cursor_execute", count)
    print(f"SQL statements per request: {len(statements)}")
    for statement in statements:
        print("  ", " ".join(statement.split())[:150])


def package_of(file: str) -> str:
    if "site-packages/" in file:
        return file.split("site-packages/")[1].split("/")[0]
    if "/work/" in file:
        return file.split("/")[3] if file.count("/") > 3 else file
    return "python" if file.startswith("/") else file


def print_profile(profiler: cProfile.Profile, requests: int) -> None:
    """Own time by package per request, then the hub's own functions and the top of the profile."""
    by_package: dict[str, list[float]] = {}
    for (file, _, _), (_, calls, tottime, _, _) in pstats.Stats(profiler).stats.items():  # type: ignore[attr-defined]
        totals = by_package.setdefault(package_of(file), [0, 0.0])
        totals[0] += calls
        totals[1] += tottime
    print("own time by package (per request):")
    for package, (calls, tottime) in sorted(by_package.items(), key=lambda kv: -kv[1][1])[:15]:
        print(f"  {package:<28} {calls / requests:8.0f} calls {tottime / requests * 1000:7.2f} ms")
    pstats.Stats(profiler).sort_stats("cumulative").print_stats(r"/(hub|storage|schema)/", 40)
    pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
