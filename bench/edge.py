"""The edge under attack: what a hostile caller with a valid token costs everyone else.

1. Service under attack: the clerk's query (bench/clerk_query.py) served to 8 keep-alive clients,
   8 clerks of as many windows, each within a visit of the applicant, alone and then while an
   attacker (another principal, with a valid token) sends the most expensive query the limits
   still ACCEPT, one after another without pause and ignoring Retry-After, on 2 connections. The
   figure is the ratio attacked / alone (aim: at least 80%); the attacker's answers are counted
   as served or refused by its budget of query cost (RATE_LIMITED, hub/access/budgets.py). The most expensive accepted query is chosen by measuring candidates on the
   running hub: pages of applicants with all a clerk may read of them (identity, cases), as many
   fields as HUB_MAX_QUERY_FIELDS allows; and a document of the largest size with the most tokens, which
   costs in parsing and validation rather than in the database.
2. Memory: the resident size of the serving process before and after 1,000 distinct documents of
   the largest accepted size (HUB_MAX_QUERY_BYTES), each parsed, measured, validated and run
   (aim: under 50 MiB of growth; the document cache is bounded by HUB_QUERY_CACHE_BYTES).

Figures only, never asserted. Loopback only; every loop is bounded by a count or a time.

    python -m bench.edge        # HUB_BENCH_SECONDS=10 by default; HUB_BENCH_BACKEND=postgresql
"""

from __future__ import annotations

import functools
import http.client
import json
import multiprocessing
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from graphql import GraphQLError, parse

from bench.clerk_query import HUB_QUERY
from bench.common import (
    SECONDS,
    graphql_body,
    graphql_once,
    load,
    postgres_database,
    print_table,
    running_hub,
    sqlite_database,
)
from hub.errors import HubError
from hub.settings import Settings
from schema.limits import Limits, check_shape, cost_points, measure

if TYPE_CHECKING:
    from multiprocessing.sharedctypes import Synchronized

OPEN_VISIT = "mutation($id: String!) { openVisit(idNumber: $id) { purpose } }"
CLERKS = 8
ATTACKERS = 2
DISTINCT_DOCUMENTS = 1000
# What a clerk reads of applicants without one at the window: identity and cases (profile values
# and materials need a visit, which covers one applicant: a page of them would be refused).
APPLICANT_FIELDS = """
  idNumber name kind
  cases { receiptNumber status window openedAt acceptedAt items { item { code name } } }
"""


def _post(url: str, body: bytes, token: str, timeout: float = 60) -> tuple[int, dict[str, Any]]:
    parts = urlsplit(url)
    if parts.hostname is None:
        raise ValueError(f"no host in {url}")
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        connection.request(
            "POST", parts.path, body, {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
        )
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


@functools.cache
def _limits() -> Limits:
    from schema.root import build_schema

    return build_schema(Settings()).documents.limits


def _cost(query: str) -> int:
    """The fields the hub's limits count for `query` (schema/limits.py), or -1 if it is refused."""
    try:
        shape = measure(parse(query, max_tokens=_limits().max_tokens), _limits())
        check_shape(shape, _limits())
        return shape.fields
    except (HubError, GraphQLError):
        return -1


def deepest_data_query() -> str:
    """Pages of applicants with all they hold: the largest page the field limit allows, then as
    many more pages (aliases, other name prefixes) as still fit."""

    def page(n: int, prefix: str, size: int) -> str:
        return (
            f'p{n}: applicants(namePrefix: "{prefix}", first: {size}) {{ edges {{ node {{ {APPLICANT_FIELDS} }} }} }}'
        )

    size = next(size for size in range(100, 0, -1) if _cost("{ " + page(0, "张", size) + " }") > 0)
    pages: list[str] = []
    for n, prefix in enumerate("张李王刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"):
        if _cost("{ " + " ".join([*pages, page(n, prefix, size)]) + " }") < 0:
            break
        pages.append(page(n, prefix, size))
    return "{ " + " ".join(pages) + " }"


def widest_document_query(settings: Settings) -> str:
    """As many tokens and bytes as allowed, each field repeated as often as allowed: work for the
    parser and for validation, which compares repeated fields in pairs."""
    repeats = settings.max_query_field_repeats
    block = "{ " + "name role departmentCode " * repeats + "}"
    names = ["viewer", *(f"a{n}: viewer" for n in range(settings.max_query_aliases // repeats))]
    blocks: list[str] = []
    for name in names:
        for _ in range(repeats):
            if _cost("{ " + " ".join([*blocks, f"{name} {block}"]) + " }") < 0:
                break
            blocks.append(f"{name} {block}")
    query = "{ " + " ".join(blocks) + " }"
    return query + " #" + "x" * (settings.max_query_bytes - len(query.encode()) - 3)


def _attack(
    url: str, body: bytes, token: str, until: float, served: Synchronized[int], refused: Synchronized[int]
) -> None:
    parts = urlsplit(url)
    if parts.hostname is None:
        raise ValueError(f"no host in {url}")
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}
    while time.monotonic() < until:
        connection.request("POST", parts.path, body, headers)
        response = connection.getresponse()
        response.read()
        counter = refused if response.status == 429 else served
        with counter.get_lock():
            counter.value += 1


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def main() -> None:
    settings = Settings()
    backend = os.environ.get("HUB_BENCH_BACKEND", "sqlite")
    database = postgres_database() if backend == "postgresql" else sqlite_database()
    # The budget as configured (HUB_RATE_LIMIT_*), its default otherwise: benchmarks switch it off.
    budget_env = {
        "HUB_RATE_LIMIT_POINTS_PER_SECOND": str(settings.rate_limit_points_per_second),
        "HUB_RATE_LIMIT_BURST_POINTS": str(settings.rate_limit_burst_points),
    }
    with database as url, running_hub(url, env=budget_env) as hub:
        clerk_tokens = [token for (role, _), token in sorted(hub.tokens.items()) if role == "clerk"]
        clerks, token = clerk_tokens[:CLERKS], clerk_tokens[CLERKS]  # the attacker: another clerk
        found = graphql_once(
            hub.url,
            graphql_body('{ applicants(namePrefix: "张", first: 1) { edges { node { idNumber } } } }'),
            {"Authorization": f"Bearer {token}"},
        )
        id_number = found["applicants"]["edges"][0]["node"]["idNumber"]
        clerk_body = graphql_body(HUB_QUERY, {"id": id_number})
        # Each clerk has the applicant at their window: a visit, under which the query reads.
        clerk_headers = []
        for clerk in clerks:
            headers = {"Authorization": f"Bearer {clerk}"}
            visit = graphql_once(hub.url, graphql_body(OPEN_VISIT, {"id": id_number}), headers)["openVisit"]
            clerk_headers.append({**headers, "X-Hub-Purpose": visit["purpose"]})
            graphql_once(hub.url, clerk_body, clerk_headers[-1])

        # The most expensive accepted query, measured on the hub.
        candidates = {
            "pages of applicants": deepest_data_query(),
            "largest document": widest_document_query(settings),
        }
        timed: dict[str, float] = {}
        for name, query in candidates.items():
            status, answer = _post(hub.url, graphql_body(query), token)
            if status != 200 or answer.get("errors"):
                raise RuntimeError(f"the {name} query is refused: {str(answer)[:300]}")
            started = time.perf_counter()
            for _ in range(3):
                _post(hub.url, graphql_body(query), token)
            timed[name] = (time.perf_counter() - started) / 3
        costliest = max(timed, key=lambda name: timed[name])
        print(f"backend {backend}; {CLERKS} clerk connections, {ATTACKERS} attacker connections, {SECONDS:.0f} s each")
        budget = settings.rate_limit_points_per_second
        print(
            f"budget of query cost per principal: {budget:g} points/s, burst {settings.rate_limit_burst_points}"
            if budget
            else "budget of query cost: off (HUB_RATE_LIMIT_POINTS_PER_SECOND=0)"
        )
        print_table(
            [
                ("accepted query", "bytes", "fields counted", "points", "ms per request"),
                *(
                    (
                        name,
                        len(query.encode()),
                        _cost(query),
                        cost_points(_cost(query), len(query.encode())),
                        f"{timed[name] * 1000:.0f}",
                    )
                    for name, query in candidates.items()
                ),
            ]
        )

        alone = load(hub.url, clerk_body, clerk_headers, connections=CLERKS, seconds=SECONDS)
        served, refused = multiprocessing.Value("i", 0), multiprocessing.Value("i", 0)
        until = time.monotonic() + SECONDS + 2
        attackers = [
            multiprocessing.Process(
                target=_attack, args=(hub.url, graphql_body(candidates[costliest]), token, until, served, refused)
            )
            for _ in range(ATTACKERS)
        ]
        for attacker in attackers:
            attacker.start()
        time.sleep(1)
        attacked = load(hub.url, clerk_body, clerk_headers, connections=CLERKS, seconds=SECONDS)
        for attacker in attackers:
            attacker.join(timeout=180)
        print()
        print_table(
            [
                ("clerk's query", "req/s", "p50 ms", "p99 ms", "failures"),
                ("alone", f"{alone.per_second:.0f}", f"{alone.p50_ms:.1f}", f"{alone.p99_ms:.1f}", alone.failures),
                (
                    f"under attack ({costliest})",
                    f"{attacked.per_second:.0f}",
                    f"{attacked.p50_ms:.1f}",
                    f"{attacked.p99_ms:.1f}",
                    attacked.failures,
                ),
            ]
        )
        ratio = attacked.per_second / alone.per_second if alone.per_second else 0.0
        print(
            f"attacked / alone: {ratio:.0%} (aim >= 80%); in {SECONDS + 2:.0f} s the attacker was served"
            f" {served.value} requests and refused {refused.value} (RATE_LIMITED)"
        )

        # Memory after many distinct documents of the largest size.
        before = _rss_mib(hub.pid)
        base = widest_document_query(settings)
        # Sent by every demo principal in turn: one caller's budget pays for a few dozen of them.
        senders = list(hub.tokens.values())
        for n in range(DISTINCT_DOCUMENTS):
            unique = base[: -len(str(n)) - 1] + f"{n}x"
            for attempt in range(len(senders)):
                status, _ = _post(hub.url, graphql_body(unique), senders[(n + attempt) % len(senders)])
                if status != 429:
                    break
            if status != 200:
                raise RuntimeError(f"document {n} answered {status}")
        after = _rss_mib(hub.pid)
        print()
        print(
            f"RSS of the hub: {before:.0f} MiB before, {after:.0f} MiB after {DISTINCT_DOCUMENTS} distinct "
            f"{len(base.encode())}-byte documents: {after - before:+.1f} MiB (aim < 50 MiB; "
            f"cache budget {settings.query_cache_bytes / 1024**2:.0f} MiB)"
        )


if __name__ == "__main__":
    main()
