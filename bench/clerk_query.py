"""The clerk's query (an applicant with profile, materials and cases): the hub against PostGraphile.

Both serve the same PostgreSQL database with the same data, under the same load (16 keep-alive
clients over loopback), in one run. PostGraphile 4 (Node.js) exposes the hub's tables as they are
and answers the equivalent query; it authenticates nobody and logs nothing, while the hub checks
the token and the policy and writes access-log entries for every request. The figure that matters
is the ratio hub / PostGraphile (> 1 means the hub is faster).

Each hub row comes twice, from the same server: "resolvers" sends the document as text (strawberry
and the use cases), "compiled" sends the registered document by its id (hub/compiled/: the plan
decided by the policy, one SQL statement whose JSON is the answer). The clerk reads within a
visit of the applicant (docs/access-policy.md), as at the window. Before each hub row, the bench
waits until the log's queue is empty, so that a row never pays for numbering the entries of the
row before it.

The headline comparison, the hub with two workers on the compiled path against PostGraphile, runs
in HUB_BENCH_ROUNDS alternated rounds (3 by default) with both servers up: in each round the hub,
then PostGraphile, each while the other is paused (SIGSTOP: not even its background jobs run). One
measurement of each, minutes apart, compared the machine's moods as much as the servers; the
rounds print each ratio and how many of them meet the aims. Each round also prints the CPU each
server spent per request, its own processes' (the hub's workers and background process; PostGraphile's
Node.js process) and PostgreSQL's, read from /proc: on a shared, noisy machine a rate and a tail
move with the machine's moments, while the work a request costs moves much less, so a change to
the hub shows there first.

PostGraphile is installed with npm into var/bench/postgraphile on first use. Without node and npm
the baseline is skipped and said so; the reference figure from our brief is printed instead.

    python -m bench.clerk_query        # HUB_BENCH_SECONDS=10 by default
    HUB_BENCH_VARIANTS="HUB_ACCESS_GROUP_COMMIT=false;HUB_PRINCIPAL_CACHE_SECONDS=0" python -m bench.clerk_query

HUB_BENCH_VARIANTS adds rows in the same run: the hub with 2 workers and each `;`-separated set of
settings (`,` between several), to measure a change against its absence on the same machine state.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.common import (
    CpuPerRequest,
    LoadResult,
    RunningHub,
    _free_port,
    clerk_at_the_window,
    cpu_of,
    graphql_body,
    graphql_once,
    load,
    paused,
    postgres_database,
    print_table,
    running_hub,
    wait_for_the_log,
)

POSTGRAPHILE_VERSION = "4.14.1"
POSTGRAPHILE_DIR = Path(__file__).resolve().parent.parent / "var" / "bench" / "postgraphile"
REFERENCE = "962 req/s, p99 49 ms (PostGraphile, measured on a machine like this one, from our brief)"
CONCURRENCY = 16
CASE_APPLICANTS = 20

HUB_QUERY = """
query($id: String!) {
  applicant(idNumber: $id) {
    idNumber name kind
    profile { field value verified recordedAt source { departmentCode departmentName } }
    materials { id title status validUntil typeCode typeName versions { versionNo fileName size } }
    cases { receiptNumber status window openedAt items { item { code name } } }
  }
}"""

DOCUMENT_ID = "sha256:" + hashlib.sha256(HUB_QUERY.encode("utf-8")).hexdigest()
OPEN_VISIT = "mutation($id: String!) { openVisit(idNumber: $id) { purpose } }"

POSTGRAPHILE_QUERY = """
query($id: String!) {
  applicantByIdNumber(idNumber: $id) {
    idNumber name kind
    profileFieldValuesByApplicantId(condition: {isCurrent: true}) {
      nodes { field value verified recordedAt departmentBySourceDepartmentId { code name } }
    }
    materialsByApplicantId {
      nodes {
        id title status validUntil
        materialTypeByMaterialTypeId { code name }
        materialVersionsByMaterialId { nodes { versionNo fileName size } }
      }
    }
    casesByApplicantId {
      nodes { receiptNumber status window openedAt caseItemsByCaseId { nodes { serviceItemByServiceItemId { code name } } } }
    }
  }
}"""


def seed_with_cases(database_url: str, folder: Path) -> str:
    """Demo data plus materials and cases for the first applicants; returns one such applicant.

    The clerk's query is registered as a trusted document (docs/trusted-documents.md), so that it
    can be sent by its id and answered by the compiled path."""
    from sqlalchemy import select

    from hub.compiled import registry
    from hub.demo.cases import load_demo_cases
    from hub.demo.load import load_demo
    from hub.services import build_hub, in_session
    from hub.settings import Settings
    from storage.migrate import upgrade
    from storage.models import Applicant

    settings = Settings(database_url=database_url, blob_url=f"file://{folder}/blobs", secrets_dir=folder / "secrets")
    upgrade(database_url)
    asyncio.run(in_session(settings, lambda s: load_demo(s, applicants=600, seed=20261123, if_empty=False)))

    async def cases() -> str:
        hub = build_hub(settings)
        try:
            await load_demo_cases(hub, applicants=CASE_APPLICANTS)
            async with hub.sessions() as session:
                await registry.register(session, HUB_QUERY, "bench")
                await session.commit()
                return (await session.execute(select(Applicant.id_number).order_by(Applicant.id).limit(1))).scalar_one()
        finally:
            await hub.close()

    return asyncio.run(cases())


def postgraphile_binary() -> Path | None:
    binary = POSTGRAPHILE_DIR / "node_modules" / ".bin" / "postgraphile"
    if binary.exists():
        return binary
    if not (shutil.which("node") and shutil.which("npm")):
        return None
    POSTGRAPHILE_DIR.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            "npm",
            "install",
            "--silent",
            "--no-audit",
            "--no-fund",
            "--prefix",
            str(POSTGRAPHILE_DIR),
            f"postgraphile@{POSTGRAPHILE_VERSION}",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    return binary if binary.exists() else None


@contextmanager
def running_postgraphile(binary: Path, database_url: str) -> Iterator[tuple[str, int]]:
    """PostGraphile on a free loopback port, in a process group of its own; yields (URL, pid)."""
    port = _free_port()
    connection = database_url.replace("postgresql+asyncpg://", "postgres://")
    server = subprocess.Popen(
        [str(binary), "-c", connection, "-s", "public", "-n", "127.0.0.1", "-p", str(port), "--disable-query-log"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/graphql"
    try:
        deadline = time.monotonic() + 60
        while True:
            if server.poll() is not None:
                assert server.stderr is not None  # stderr=PIPE
                raise RuntimeError(f"postgraphile exited: {server.stderr.read().decode()[-2000:]}")
            try:
                graphql_once(url, graphql_body("{ __typename }"), {})
                break
            except (OSError, RuntimeError, urllib.error.URLError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.3)
        yield url, server.pid
    finally:
        server.terminate()
        server.wait(timeout=15)


def _row(name: str, result: LoadResult) -> list[object]:
    return [
        name,
        result.client,
        f"{result.per_second:.0f}",
        f"{result.p50_ms:.1f}",
        f"{result.p99_ms:.1f}",
        result.failures,
    ]


@dataclass(frozen=True)
class Round:
    """One alternated round: the hub's compiled path, then PostGraphile, each with the other paused;
    with the CPU each spent per request, its own processes' and PostgreSQL's."""

    hub: LoadResult
    postgraphile: LoadResult
    hub_cpu: CpuPerRequest
    postgraphile_cpu: CpuPerRequest

    @property
    def throughput(self) -> float:
        return self.hub.per_second / self.postgraphile.per_second

    @property
    def p99(self) -> float:
        return self.hub.p99_ms / self.postgraphile.p99_ms

    @property
    def cpu(self) -> float:
        return self.hub_cpu.total_ms / self.postgraphile_cpu.total_ms


def _hub_requests(hub: RunningHub, id_number: str) -> tuple[dict[str, str], bytes, bytes]:
    """The clerk's headers and the query's two bodies (as text, by its id), checked to answer alike."""
    headers = clerk_at_the_window(hub.url, hub.token("clerk", "xzfw"), id_number)
    by_text = graphql_body(HUB_QUERY, {"id": id_number})
    by_id = json.dumps({"documentId": DOCUMENT_ID, "variables": {"id": id_number}}).encode()
    answer = graphql_once(hub.url, by_text, headers)["applicant"]
    assert answer["materials"] and answer["cases"], "the sample applicant has materials and cases"
    assert graphql_once(hub.url, by_id, headers)["applicant"] == answer, "both paths answer alike"
    return headers, by_text, by_id


def _measured(
    hub: RunningHub, body: bytes, headers: dict[str, str], seconds: float
) -> tuple[LoadResult, CpuPerRequest]:
    """The load's result, and the CPU per request the hub and PostgreSQL spent on it: the log's
    numbering and hashing of the load's entries included (waited for), the warm-up's not."""
    load(hub.url, body, headers, connections=CONCURRENCY, seconds=min(2.0, seconds))  # warm up
    # Each row pays for its own access entries, not for the row before it's.
    wait_for_the_log(hub.database_url)
    with cpu_of(hub.pid) as per_request:
        result = load(hub.url, body, headers, connections=CONCURRENCY, seconds=seconds)
        wait_for_the_log(hub.database_url)
    return result, per_request(result.requests)


def _hub_rows(
    database_url: str, id_number: str, workers: int, settings: dict[str, str], seconds: float
) -> dict[str, LoadResult]:
    """The resolver and compiled rows of one hub server."""
    name = f"hub, {workers} worker{'s' if workers > 1 else ''}"
    name += "".join(f", {key.removeprefix('HUB_').lower()}={value}" for key, value in settings.items())
    results: dict[str, LoadResult] = {}
    with running_hub(database_url, workers=workers, env=settings) as hub:
        headers, by_text, by_id = _hub_requests(hub, id_number)
        for path, body in (("resolvers", by_text), ("compiled", by_id)):
            results[f"{name}, {path}"], spent = _measured(hub, body, headers, seconds)
            print("measured:", *_row(f"{name}, {path}", results[f"{name}, {path}"]), "CPU ms/req", spent, flush=True)
    return results


def _alternated_rounds(
    database_url: str, id_number: str, binary: Path, rounds: int, seconds: float
) -> tuple[LoadResult, list[Round]]:
    """The hub with two workers and PostGraphile, both serving, measured in turns.

    The server not being measured is paused, the hub only once its log is sequenced, so neither pays
    for the other's work; alternating spreads the machine's drift over both. Returns the hub's
    resolver row and the compiled rounds."""
    with running_hub(database_url, workers=2) as hub, running_postgraphile(binary, database_url) as (url, pid):
        headers, by_text, by_id = _hub_requests(hub, id_number)
        body = graphql_body(POSTGRAPHILE_QUERY, {"id": id_number})
        answer = graphql_once(url, body, {})["applicantByIdNumber"]
        assert answer["materialsByApplicantId"]["nodes"], "PostGraphile sees the same materials"
        with paused(pid):
            resolvers = _measured(hub, by_text, headers, seconds)[0]
        print("measured:", *_row("hub, 2 workers, resolvers", resolvers), flush=True)
        measured: list[Round] = []
        for number in range(1, rounds + 1):
            with paused(pid):
                compiled, hub_cpu = _measured(hub, by_id, headers, seconds)
            with paused(hub.pid):
                load(url, body, {}, connections=CONCURRENCY, seconds=min(2.0, seconds))
                with cpu_of(pid) as per_request:
                    postgraphile = load(url, body, {}, connections=CONCURRENCY, seconds=seconds)
            measured.append(Round(compiled, postgraphile, hub_cpu, per_request(postgraphile.requests)))
            print(
                f"round {number}: hub compiled {compiled.per_second:.0f} req/s, p99 {compiled.p99_ms:.1f} ms, "
                f"{hub_cpu.total_ms:.2f} CPU ms/request; PostGraphile {postgraphile.per_second:.0f} req/s, "
                f"p99 {postgraphile.p99_ms:.1f} ms, {measured[-1].postgraphile_cpu.total_ms:.2f} CPU ms/request",
                flush=True,
            )
    return resolvers, measured


@dataclass(frozen=True)
class Figures:
    """Each row's load result by name, and the alternated rounds (for `python -m bench`)."""

    results: dict[str, LoadResult]
    rounds: list[Round]

    @property
    def median_round(self) -> Round | None:
        """The round with the median p99 ratio, whose pair the rows show."""
        return sorted(self.rounds, key=lambda r: r.p99)[len(self.rounds) // 2] if self.rounds else None


def main() -> Figures:
    """Prints the table and the ratios; returns each row's load result and the rounds.

    The two workers' compiled row and PostGraphile's are those of the round with the median p99
    ratio (one round's pair, as measured)."""
    seconds = float(os.environ.get("HUB_BENCH_SECONDS", "10"))
    rounds = max(1, int(os.environ.get("HUB_BENCH_ROUNDS", "3")))
    rows: list[list[object]] = [["server", "client", "req/s", "p50 ms", "p99 ms", "failures"]]
    results: dict[str, LoadResult] = {}
    measured: list[Round] = []
    import tempfile

    with postgres_database() as database_url, tempfile.TemporaryDirectory(prefix="hub-bench-seed-") as folder:
        id_number = seed_with_cases(database_url, Path(folder))
        results.update(_hub_rows(database_url, id_number, 1, {}, seconds))
        binary = postgraphile_binary()
        if binary is not None:
            resolvers, measured = _alternated_rounds(database_url, id_number, binary, rounds, seconds)
            median = Figures(results, measured).median_round
            assert median is not None
            results["hub, 2 workers, resolvers"] = resolvers
            results["hub, 2 workers, compiled"] = median.hub
        else:
            results.update(_hub_rows(database_url, id_number, 2, {}, seconds))
        for variant in filter(None, os.environ.get("HUB_BENCH_VARIANTS", "").split(";")):
            settings = dict(item.strip().split("=", 1) for item in variant.split(","))
            results.update(_hub_rows(database_url, id_number, 2, settings, seconds))
        if measured:
            assert median is not None  # measured rounds have a median
            results["postgraphile"] = median.postgraphile
    rows += [_row(name, result) for name, result in results.items() if name != "postgraphile"]
    if "postgraphile" in results:
        rows.append(_row(f"PostGraphile {POSTGRAPHILE_VERSION}", results["postgraphile"]))
    print(
        f"The clerk's query (applicant + profile + materials + cases), PostgreSQL, {CONCURRENCY} clients, {seconds:.0f} s each"
    )
    print_table(rows)
    baseline = results.get("postgraphile")
    if baseline is None:
        print(f"PostGraphile not measured (node/npm missing). Reference: {REFERENCE}")
        return Figures(results, measured)
    print(
        f"Hub, 2 workers, compiled, against PostGraphile in {len(measured)} alternated rounds "
        "(the rows above are the round with the median p99 ratio):"
    )
    print_table(
        [
            [
                "round",
                "hub req/s",
                "hub p99 ms",
                "hub CPU ms/req",
                "PostGraphile req/s",
                "PostGraphile p99 ms",
                "PostGraphile CPU ms/req",
                "throughput",
                "p99",
                "CPU/req",
            ]
        ]
        + [
            [
                number,
                f"{r.hub.per_second:.0f}",
                f"{r.hub.p99_ms:.1f}",
                str(r.hub_cpu),
                f"{r.postgraphile.per_second:.0f}",
                f"{r.postgraphile.p99_ms:.1f}",
                str(r.postgraphile_cpu),
                f"x{r.throughput:.2f}",
                f"x{r.p99:.2f}",
                f"x{r.cpu:.2f}",
            ]
            for number, r in enumerate(measured, start=1)
        ]
    )
    print(
        "CPU ms/req: the server's own processes + PostgreSQL's, per request served (the hub's log "
        "numbered and hashed for its requests included); CPU/req below 1 means the hub spent less"
    )
    print(
        f"throughput >= PostGraphile's in {sum(r.throughput >= 1 for r in measured)} of {len(measured)} rounds, "
        f"p99 <= PostGraphile's in {sum(r.p99 <= 1 for r in measured)} of {len(measured)}, "
        f"CPU per request <= PostGraphile's in {sum(r.cpu <= 1 for r in measured)} of {len(measured)}"
    )
    for name, result in results.items():
        if name != "postgraphile":
            print(
                f"{name} / PostGraphile: throughput x{result.per_second / baseline.per_second:.2f}, "
                f"p99 x{result.p99_ms / baseline.p99_ms:.2f} (lower p99 is better)"
            )
    return Figures(results, measured)


if __name__ == "__main__":
    main()
