"""Reading one applicant over GraphQL, against a trivial query on the same server.

16 concurrent keep-alive clients over loopback, on SQLite and on PostgreSQL, with 1 and 2 uvicorn
workers. The trivial query (`{ viewer { name } }`) still authenticates, so the ratio shows what the
applicant read itself costs: the look-up, the access check, the access log entries and the profile.
The clerk's query also asks for the applicant's materials and cases when the schema has them.

    python -m bench.graphql_read          # HUB_BENCH_SECONDS=10 by default
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import AbstractContextManager

from bench.common import (
    LoadResult,
    clerk_at_the_window,
    graphql_body,
    graphql_once,
    load,
    postgres_database,
    print_table,
    running_hub,
    sqlite_database,
)
from schema.root import schema_sdl

TRIVIAL = "{ viewer { name } }"
PROFILE = "profile { field value verified source { departmentCode } }"
# Parts of the clerk's view that other areas add to Applicant; used when the schema has them.
OPTIONAL_PARTS = {
    "materials": "materials { id typeCode title status validUntil }",
    "cases": "cases { receiptNumber status openedAt }",
}
CONCURRENCY = 16


def applicant_query() -> str:
    sdl = schema_sdl()
    applicant_type = sdl[sdl.index("type Applicant {") :].split("\n}", 1)[0]
    extra = " ".join(part for field, part in OPTIONAL_PARTS.items() if f"\n  {field}" in applicant_type)
    return f"query($id: String!) {{ applicant(idNumber: $id) {{ idNumber name {PROFILE} {extra} }} }}"


def sample_applicant(database_url: str) -> str:
    """The demo person with the most cases (or profile values): the clerk's busiest screen."""
    import asyncio

    from sqlalchemy import func, select
    from sqlalchemy.ext.asyncio import create_async_engine

    from storage.models import Applicant, ProfileFieldValue

    tables = Applicant.metadata.tables
    owner = tables["cases"].c.applicant_id if "cases" in tables else ProfileFieldValue.applicant_id
    statement = (
        select(Applicant.id_number)
        .join(owner.table, owner == Applicant.id)
        .where(Applicant.kind == "person")
        .group_by(Applicant.id_number)
        .order_by(func.count().desc(), Applicant.id_number)
        .limit(1)
    )

    async def busiest() -> str:
        engine = create_async_engine(database_url)
        try:
            async with engine.connect() as connection:
                return (await connection.execute(statement)).scalar_one()
        finally:
            await engine.dispose()

    return asyncio.run(busiest())


def measure(
    database: str, url_factory: Callable[[], AbstractContextManager[str]], workers: int, query: str
) -> list[list[object]]:
    rows: list[list[object]] = []
    with url_factory() as url, running_hub(url, workers=workers) as hub:
        id_number = sample_applicant(url)
        headers = clerk_at_the_window(hub.url, hub.token("clerk", "xzfw"), id_number)
        bodies = {"trivial": graphql_body(TRIVIAL), "applicant": graphql_body(query, {"id": id_number})}
        results: dict[str, LoadResult] = {}
        for name, body in bodies.items():
            graphql_once(hub.url, body, headers)
            load(hub.url, body, headers, connections=CONCURRENCY, seconds=2)  # warm-up
            results[name] = load(hub.url, body, headers, connections=CONCURRENCY)
        baseline = results["trivial"].per_second
        for name, result in results.items():
            rows.append(
                [
                    database,
                    workers,
                    name,
                    f"{result.per_second:.0f}",
                    f"{result.p50_ms:.1f}",
                    f"{result.p99_ms:.1f}",
                    f"{result.per_second / baseline:.2f}",
                    result.failures,
                    result.client,
                ]
            )
    return rows


def main() -> None:
    query = applicant_query()
    print(f"applicant query: {query}")
    print(f"{CONCURRENCY} concurrent clients, {os.environ.get('HUB_BENCH_SECONDS', '10')} s per measurement")
    rows: list[list[object]] = [
        ["database", "workers", "query", "req/s", "p50 ms", "p99 ms", "x trivial", "failed", "client"]
    ]
    databases: list[tuple[str, Callable[[], AbstractContextManager[str]]]] = [
        ("sqlite", sqlite_database),
        ("postgresql", postgres_database),
    ]
    only = os.environ.get("HUB_BENCH_DATABASES")
    for database, url_factory in databases:
        if only and database not in only.split(","):
            continue
        for workers in (1, 2):
            rows += measure(database, url_factory, workers, query)
            print_table(rows)
            print()


if __name__ == "__main__":
    main()
