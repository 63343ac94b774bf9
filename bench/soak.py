"""Soak: 4 hub processes on one PostgreSQL database, mixed reads and writes for 10 minutes.

Four `hub serve` processes (one worker each, each on its own port) share the database, the blob
folder and the secrets folder, as processes behind a proxy share PostgreSQL, S3 and the keys, and
one `hub background` process runs the log's sequencer and the other background jobs, the serving
processes leaving them out (`HUB_SERVE_BACKGROUND_JOBS=false`): docs/deployment.md's recipe. Each
serving process numbers its reads' entries in its own group commit. A client sends every request to the next process in turn (round robin, the proxy's part),
from HUB_SOAK_CLIENTS tasks, each playing a clerk's story over and over:

    register an applicant, open a visit, record a profile field, upload a small material,
    open a case, then read: the clerk's query, the one-time notice and the case view, three times.

Then it checks:

- errors: any answer that is not 200, or that carries GraphQL errors, counts (aim: 0);
- the access log: after the client stops and the sequencers settle, no entry unsequenced and the
  sequence numbers 1..N without holes; `hub audit export` and `hub audit verify` pass;
- memory: each process's RSS (the background process's too), sampled every 10 s; from minute 2 to the end the largest sample
  must stay within 10% of the sample at minute 2 (aim: flat). A soak shorter than 4 minutes
  judges its second half instead: the first minutes are the warm-up (caches filling: 118 to 131
  MiB a process in the first two minutes, then flat, in a 120 s soak on 2026-11-30), not growth.

    python -m bench.soak                       # HUB_SOAK_SECONDS=600, 4 processes, 8 clients
    HUB_SOAK_SECONDS=60 python -m bench.soak   # a quick look

The database is named `scale_soak_…` and dropped at the end.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx

from bench.clerk_query import HUB_QUERY, OPEN_VISIT
from bench.common import background_jobs, hub_environment, postgres_database, print_table, seed, serving
from bench.notice import NOTICE, bundle
from bench.scale import resident_id

SECONDS = float(os.environ.get("HUB_SOAK_SECONDS", "600"))
PROCESSES = int(os.environ.get("HUB_SOAK_PROCESSES", "4"))
CLIENTS = int(os.environ.get("HUB_SOAK_CLIENTS", "8"))
SAMPLE_SECONDS = 10.0
FLAT_FROM_SECONDS = min(120.0, SECONDS / 2)
FLAT_WITHIN = 0.10
READS_PER_STORY = 3
FIRST_NUMBER = 3_000_000  # resident_id(n) from here: births from 1989, apart from bench.scale's
WINDOW = "综合受理窗口 3"
KEEPALIVE_SECONDS = 4.0  # below uvicorn's timeout_keep_alive (5 s), which `hub serve` keeps

REGISTER = "mutation($i: RegisterApplicantInput!) { registerApplicant(input: $i) { idNumber } }"
RECORD = "mutation($i: RecordProfileFieldInput!) { recordProfileField(input: $i) { field } }"
OPEN_CASE = "mutation($i: OpenCaseInput!) { openCase(input: $i) { receiptNumber } }"
UPLOAD = "mutation($i: UploadMaterialInput!) { uploadMaterial(input: $i) { id } }"
CASE_VIEW = "query($r: String!) { case(receiptNumber: $r) { receiptNumber status window openedAt items { item { code name } } } }"


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    first_errors: list[str] = field(default_factory=list)

    def record(self, operation: str, seconds: float, error: str | None) -> None:
        self.latencies.setdefault(operation, []).append(seconds)
        if error is not None:
            self.errors[operation] = self.errors.get(operation, 0) + 1
            if len(self.first_errors) < 5:
                self.first_errors.append(f"{operation}: {error[:300]}")


class Client:
    """Round robin over the processes; every answer checked."""

    def __init__(self, urls: list[str], token: str, tally: Tally) -> None:
        self.next_url = itertools.cycle(urls).__next__
        # A connection idle longer than uvicorn's keep-alive (5 s) is closed by the server; reusing
        # one as it closes fails the request (a ReadError in the first 10-minute run). The client
        # lets its idle connections go first, as a proxy's upstream keep-alive must (docs/deployment.md).
        limits = httpx.Limits(keepalive_expiry=KEEPALIVE_SECONDS)
        self.http = httpx.AsyncClient(timeout=30, limits=limits, headers={"Authorization": f"Bearer {token}"})
        self.tally = tally

    async def call(
        self, operation: str, query: str, variables: dict[str, Any], purpose: str | None = None
    ) -> dict[str, Any] | None:
        headers = {"X-Hub-Purpose": purpose} if purpose else {}
        return await self._send(operation, json={"query": query, "variables": variables}, headers=headers)

    async def upload(self, variables: dict[str, Any], content: bytes) -> dict[str, Any] | None:
        operations = json.dumps({"query": UPLOAD, "variables": variables})
        return await self._send(
            "upload material",
            data={"operations": operations, "map": json.dumps({"0": ["variables.i.file"]})},
            files={"0": ("扫描件.pdf", content, "application/pdf")},
            headers={"Apollo-Require-Preflight": "1"},
        )

    async def _send(self, operation: str, **request: Any) -> dict[str, Any] | None:
        started = time.perf_counter()
        error, data = None, None
        try:
            response = await self.http.post(f"{self.next_url()}/graphql", **request)
            if response.status_code != 200:
                error = f"HTTP {response.status_code}: {response.text}"
            else:
                answer = response.json()
                if answer.get("errors"):
                    error = json.dumps(answer["errors"], ensure_ascii=False)
                data = answer.get("data")
        except httpx.HTTPError as failure:
            error = f"{type(failure).__name__}: {failure}"
        self.tally.record(operation, time.perf_counter() - started, error)
        return None if error else data


async def story(client: Client, number: int, items: list[str], material_type: str) -> None:
    """One clerk's round: an applicant registered, their data recorded, a case opened, then reads."""
    id_number = resident_id(number)
    registered = await client.call(
        "register applicant", REGISTER, {"i": {"kind": "PERSON", "idNumber": id_number, "name": f"浸泡{number}"}}
    )
    if registered is None:
        return
    visit = await client.call("open visit", OPEN_VISIT, {"id": id_number})
    purpose = visit["openVisit"]["purpose"] if visit else None
    await client.call(
        "record profile field", RECORD, {"i": {"idNumber": id_number, "field": "phone", "value": "13800138000"}}
    )
    upload = {"i": {"idNumber": id_number, "typeCode": material_type, "title": "身份证", "file": None}}
    await client.upload(upload, b"%PDF-1.7\n" + id_number.encode())
    opened = await client.call(
        "open case", OPEN_CASE, {"i": {"idNumber": id_number, "items": items[:1], "window": WINDOW}}
    )
    receipt = opened["openCase"]["receiptNumber"] if opened else None
    for _ in range(READS_PER_STORY):
        await client.call("clerk's query", HUB_QUERY, {"id": id_number}, purpose)
        await client.call("notice", NOTICE, {"items": items, "id": id_number}, purpose)
        if receipt:
            await client.call("case view", CASE_VIEW, {"r": receipt})


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def sample_memory(pids: list[int], samples: list[tuple[float, list[int]]], began: float) -> None:
    while True:
        samples.append((time.perf_counter() - began, [rss_kib(pid) for pid in pids]))
        await asyncio.sleep(SAMPLE_SECONDS)


async def soak(
    urls: list[str], pids: list[int], token: str, taken: set[str]
) -> tuple[Tally, list[tuple[float, list[int]]], float]:
    items, needed, _ = bundle()
    tally = Tally()
    client = Client(urls, token, tally)
    numbers = itertools.count(FIRST_NUMBER)
    samples: list[tuple[float, list[int]]] = []
    began = time.perf_counter()
    deadline = began + SECONDS

    async def clerk() -> None:
        while time.perf_counter() < deadline:
            number = next(numbers)
            if resident_id(number) not in taken:
                await story(client, number, items, needed[0])

    sampler = asyncio.create_task(sample_memory(pids, samples, began))
    try:
        await asyncio.gather(*(clerk() for _ in range(CLIENTS)))
    finally:
        sampler.cancel()
        samples.append((time.perf_counter() - began, [rss_kib(pid) for pid in pids]))
        await client.http.aclose()
    return tally, samples, time.perf_counter() - began


async def log_state(database_url: str) -> tuple[int, int, int, int]:
    """(entries, unsequenced: not yet in the tree, lowest seq, highest seq)."""
    connection = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        row = await connection.fetchrow(
            "SELECT count(*), count(*) FILTER (WHERE seq IS NULL OR seq > (SELECT tree_size FROM audit_log_state)), "
            "min(seq), max(seq) FROM access_entries"
        )
        return row[0], row[1], row[2] or 0, row[3] or 0
    finally:
        await connection.close()


async def registered(database_url: str) -> set[str]:
    connection = await asyncpg.connect(database_url.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        return {r["id_number"] for r in await connection.fetch("SELECT id_number FROM applicants")}
    finally:
        await connection.close()


def export_and_verify(environment: dict[str, str], auditor_token: str, folder: Path) -> str:
    hub = [sys.executable, "-m", "app.cli"]
    keys, export = folder / "keys.txt", folder / "export.jsonl"
    with open(keys, "wb") as out:
        subprocess.run([*hub, "audit", "public-keys"], env=environment, check=True, stdout=out)
    subprocess.run(
        [*hub, "audit", "export", str(export)],
        env={**environment, "HUB_AUDITOR_TOKEN": auditor_token},
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    verified = subprocess.run(
        [*hub, "audit", "verify", str(export), "--public-key", str(keys)],
        env=environment,
        capture_output=True,
        text=True,
    )
    if verified.returncode:
        return f"FAILED ({verified.returncode}): {verified.stdout[-500:]} {verified.stderr[-500:]}"
    return verified.stdout.strip().splitlines()[-1]


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))] * 1000 if ordered else 0.0


def memory_rows(samples: list[tuple[float, list[int]]], pids: list[int]) -> list[list[str]]:
    rows: list[list[str]] = [
        ["process", "RSS at start MiB", f"at {FLAT_FROM_SECONDS:.0f} s", "max after", "at end", "max / that", "flat"]
    ]
    window = [s for s in samples if s[0] >= FLAT_FROM_SECONDS] or samples
    for n, _ in enumerate(pids):
        name = f"serve {n + 1}" if n < PROCESSES else "background"
        start, reference, end = samples[0][1][n], window[0][1][n], samples[-1][1][n]
        peak = max(s[1][n] for s in window)
        flat = peak <= reference * (1 + FLAT_WITHIN)
        rows.append(
            [
                name,
                f"{start / 1024:.0f}",
                f"{reference / 1024:.1f}",
                f"{peak / 1024:.1f}",
                f"{end / 1024:.1f}",
                f"{peak / reference:.3f}",
                "yes" if flat else "NO",
            ]
        )
    return rows


@dataclass(frozen=True)
class SoakFigures:
    requests: int
    errors: int
    gapless: bool
    verified: bool
    peak_rss_ratio: float  # the largest of the processes' peak RSS from FLAT_FROM_SECONDS over RSS then

    @property
    def passed(self) -> bool:
        return self.errors == 0 and self.gapless and self.verified and self.peak_rss_ratio <= 1 + FLAT_WITHIN


def main() -> SoakFigures:
    print(
        f"Soak: {PROCESSES} hub serve processes and one hub background on PostgreSQL, {CLIENTS} clients round robin, "
        f"{SECONDS:.0f} s",
        flush=True,
    )
    with ExitStack() as stack:
        var = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="hub-soak-")))
        url = stack.enter_context(postgres_database(prefix="scale_soak_"))
        environment = hub_environment(url, var)
        tokens = seed(environment)
        taken = asyncio.run(registered(url))
        with ExitStack() as servers:
            serving_only = {**environment, "HUB_SERVE_BACKGROUND_JOBS": "false"}
            started = [
                servers.enter_context(serving(serving_only, log_path=var / f"serve-{n}.log")) for n in range(PROCESSES)
            ]
            background = servers.enter_context(background_jobs(environment, log_path=var / "background.log"))
            urls, pids = [u for u, _ in started], [p for _, p in started] + [background]
            tally, samples, elapsed = asyncio.run(soak(urls, pids, tokens["clerk", "xzfw"], taken))
            time.sleep(5)  # the sequencer runs every second: let it number the last entries
            entries, pending, lowest, highest = asyncio.run(log_state(url))
        requests = sum(len(v) for v in tally.latencies.values())
        errors = sum(tally.errors.values())
        rows: list[list[object]] = [["operation", "requests", "errors", "p50 ms", "p99 ms"]]
        for operation, latencies in tally.latencies.items():
            rows.append(
                [
                    operation,
                    f"{len(latencies):,}",
                    tally.errors.get(operation, 0),
                    f"{_percentile(latencies, 0.5):.0f}",
                    f"{_percentile(latencies, 0.99):.0f}",
                ]
            )
        rows.append(["all", f"{requests:,}", errors, "", ""])
        print(f"\n{requests:,} requests in {elapsed:.0f} s ({requests / elapsed:.1f}/s), {errors} errors:")
        print_table(rows)
        for line in tally.first_errors:
            print("  first errors:", line)
        if errors:
            for name in [*(f"serve-{n}" for n in range(PROCESSES)), "background"]:
                print(f"  {name}.log ends:", (var / f"{name}.log").read_text(errors="replace")[-1500:])
        gapless = pending == 0 and lowest in (0, 1) and highest == entries
        print(
            f"\nAccess log 5 s after the client stopped: {entries:,} entries, {pending} unsequenced, "
            f"seq {lowest}..{highest}: {'gapless' if gapless else 'NOT gapless'}"
        )
        verification = export_and_verify(environment, tokens["auditor", "jcj"], var)
        print("hub audit verify:", verification, flush=True)
        memory = memory_rows(samples, pids)
        print(
            f"\nMemory, {len(samples)} samples every {SAMPLE_SECONDS:.0f} s; "
            f"flat: peak from {FLAT_FROM_SECONDS:.0f} s within 10%:"
        )
        print_table(memory)
        peak = max(float(row[5]) for row in memory[1:])
        figures = SoakFigures(requests, errors, gapless, verification.startswith("OK"), peak)
        print(f"\nsoak: {'PASS' if figures.passed else 'FAIL'}")
        return figures


if __name__ == "__main__":
    main()
