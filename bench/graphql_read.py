"""Reading one applicant over GraphQL, against a trivial query on the same server.

16 concurrent keep-alive clients over loopback, on SQLite and on PostgreSQL, with 1 and 2 uvicorn
workers. The trivial query (`{ viewer { name } }`) still authenticates, so the ratio shows what the
applicant read itself costs: the look-up, the access check, the access log entries and the profile.
The clerk's query also asks for the applicant's materials and cases when the schema has them.

    python -m bench.graphql_read          # HUB_BENCH_SECONDS=10 by default
"""

from __future__ import annotations

import os

from bench.common import (
    DEMO_APPLICANTS,
    DEMO_SEED,
    LoadResult,
    graphql_body,
    graphql_once,
    load,
    postgres_database,
    print_table,
    running_hub,
    sqlite_database,
)
from hub.demo_people import generate_applicants
from hub.identifiers import ApplicantKind
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


def sample_applicant() -> str:
    """A person of the demo with the richest profile (same seed as the load, so it exists)."""
    people = [a for a in generate_applicants(DEMO_APPLICANTS, DEMO_SEED) if a.kind is ApplicantKind.PERSON]
    return max(people, key=lambda a: len(a.values)).id_number


def measure(database: str, url_factory, workers: int, query: str, id_number: str) -> list[list[object]]:  # noqa: ANN001
    rows: list[list[object]] = []
    with url_factory() as url, running_hub(url, workers=workers) as hub:
        headers = {"Authorization": f"Bearer {hub.token('clerk', 'xzfw')}"}
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
    query, id_number = applicant_query(), sample_applicant()
    print(f"applicant query: {query}")
    print(f"{CONCURRENCY} concurrent clients, {os.environ.get('HUB_BENCH_SECONDS', '10')} s per measurement")
    rows: list[list[object]] = [["database", "workers", "query", "req/s", "p50 ms", "p99 ms", "x trivial", "failed", "client"]]
    databases = [("sqlite", sqlite_database), ("postgresql", postgres_database)]
    only = os.environ.get("HUB_BENCH_DATABASES")
    for database, url_factory in databases:
        if only and database not in only.split(","):
            continue
        for workers in (1, 2):
            rows += measure(database, url_factory, workers, query, id_number)
            print_table(rows)
            print()


if __name__ == "__main__":
    main()
