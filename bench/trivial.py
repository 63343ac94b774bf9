"""The hub's fixed cost per request: its trivial query against a bare strawberry app, same run.

`{ viewer { name role } }` on the hub authenticates the bearer token (the caller cache answers
after the first request), runs the GraphQL edge's limits and the schema's extensions, and writes
no access entry (it reads no applicant data). The bare app (bench/_bare_strawberry.py) is the
same strawberry and Starlette under the same uvicorn (uvloop, httptools), with none of that. Both
serve one worker on loopback, loaded in turn, best of HUB_BENCH_ROUNDS (default 3) rounds each;
the issue's aim is the hub at 70% or more of the bare app. A second baseline adds strawberry's
parse and validation caches to the bare app, as the hub has them.

    python -m bench.trivial          # HUB_BENCH_SECONDS=10 by default; SQLite, as `make run`
    HUB_BENCH_BACKEND=postgresql python -m bench.trivial
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager

from bench.common import (
    LoadResult,
    _free_port,
    graphql_body,
    graphql_once,
    load,
    postgres_database,
    print_table,
    running_hub,
    sqlite_database,
)

QUERY = "{ viewer { name role } }"
CONCURRENCY = 16
ROUNDS = int(os.environ.get("HUB_BENCH_ROUNDS", "3"))


@contextmanager
def bare_strawberry(app: str) -> Iterator[str]:
    """uvicorn serving a bare app with one worker, as `hub serve` serves the hub."""
    port = _free_port()
    command = [sys.executable, "-m", "uvicorn", f"bench._bare_strawberry:{app}", "--port", str(port)]
    server = subprocess.Popen(
        [*command, "--log-level", "warning", "--no-access-log"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}/graphql"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                graphql_once(url, graphql_body(QUERY), {})
                break
            except (OSError, urllib.error.URLError):
                if time.monotonic() > deadline or server.poll() is not None:
                    raise RuntimeError("the bare strawberry app did not start") from None
                time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        server.wait()


def main() -> dict[str, LoadResult]:
    """Prints the table; returns the best round of each server (for `python -m bench`)."""
    backend = os.environ.get("HUB_BENCH_BACKEND", "sqlite")
    database = postgres_database() if backend == "postgresql" else sqlite_database()
    body = graphql_body(QUERY)
    with (
        database as database_url,
        running_hub(database_url) as hub,
        bare_strawberry("app") as bare_url,
        bare_strawberry("app_cached") as cached_url,
    ):
        targets = {
            "bare strawberry": (bare_url, {}),
            "bare strawberry, parse/validation caches": (cached_url, {}),
            "hub": (hub.url, {"Authorization": f"Bearer {hub.token('clerk', 'xzfw')}"}),
        }
        best: dict[str, LoadResult] = {}
        for url, headers in targets.values():
            graphql_once(url, body, headers)
            load(url, body, headers, connections=CONCURRENCY, seconds=2)  # warm-up
        for _ in range(ROUNDS):
            for name, (url, headers) in targets.items():
                result = load(url, body, headers, connections=CONCURRENCY)
                if name not in best or result.per_second > best[name].per_second:
                    best[name] = result
    bare, cached = (best[name].per_second for name in list(targets)[:2])
    rows: list[list[object]] = [
        ["server (1 worker)", "req/s (best round)", "p50 ms", "p99 ms", "x bare", "x bare with caches", "client"]
    ]
    for name, result in best.items():
        rows.append(
            [
                name,
                f"{result.per_second:.0f}",
                f"{result.p50_ms:.1f}",
                f"{result.p99_ms:.1f}",
                f"{result.per_second / bare:.2f}",
                f"{result.per_second / cached:.2f}",
                result.client,
            ]
        )
    print(f"database: {backend}; {QUERY}; {CONCURRENCY} connections; best of {ROUNDS}")
    print_table(rows)
    return best


if __name__ == "__main__":
    main()
