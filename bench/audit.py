"""The access log's costs: appends per second, what logging adds to a read, how fast exports verify.

1. Appends: hub processes on PostgreSQL each run reads that log 4 entries (a clerk's look-up; the
   process's group commit numbers and inserts the entries of the reads in flight together) while
   every process also runs the sequencer, as `hub serve` does; the figure is entries logged,
   numbered and tree-hashed per second, 1 process against 4. Also the sequencer alone draining
   what is left.
2. Read overhead: the clerk's applicant read over HTTP, with the access log on, against the same
   server with recording switched off (HUB_AUDIT_RECORDING_DISABLED_FOR_BENCHMARK, accepted only
   with HUB_ENVIRONMENT=benchmark, which bench/common.py sets), in the same run, loaded in turn, best of three rounds each.
3. Verification: an export of 1,000,000 entries verified offline, against plain SHA-256 of the
   same entry lines (hashlib and `cryptography`) measured in the same run.

    python -m bench.audit        # HUB_BENCH_SECONDS=10, HUB_BENCH_VERIFY_ENTRIES=1000000
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from hashlib import sha256
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from bench.common import (
    LoadResult,
    clerk_at_the_window,
    graphql_body,
    graphql_once,
    load,
    postgres_database,
    print_table,
    running_hub,
)
from bench.graphql_read import applicant_query, sample_applicant

VERIFY_ENTRIES = int(os.environ.get("HUB_BENCH_VERIFY_ENTRIES", "1000000"))
APPEND_SECONDS = float(os.environ.get("HUB_BENCH_APPEND_SECONDS", "8"))
ENTRIES_PER_REQUEST = 4
SETTLE_SECONDS = 2.0  # longer than the sequencer's interval (1 s)
CONCURRENCY = 16

# One hub process appending: requests of ENTRIES_PER_REQUEST entries from 8 concurrent tasks,
# with the background sequencer running, for a fixed time; prints how many entries it queued.
APPENDER = """
import asyncio, sys, time
from hub.access.actions import Action
from hub.access.guard import guard
from hub.audit.sequencer import Sequencer
from hub.access.auth import Caller, Role
from hub.access.context import RequestContext
from hub.services import build_hub
from hub.settings import Settings

async def main(url, secrets, worker, seconds, per_request):
    hub = build_hub(Settings(database_url=url, secrets_dir=secrets))
    caller = Caller(worker, "bench", Role.CLERK, 1, "xzfw")
    sequencer = asyncio.create_task(Sequencer(hub).run_forever())
    deadline = time.perf_counter() + seconds
    queued = 0

    async def requests():
        nonlocal queued
        while time.perf_counter() < deadline:
            ctx = RequestContext(hub, caller)
            ctx.read_only = True  # a read's entries: the process's group commit numbers them as it inserts them
            for _ in range(per_request):
                await guard(ctx, Action.APPLICANT_LOOKUP, ["11010519491231002X"], fields=["name"])
            await ctx.commit()
            await ctx.close()
            queued += per_request

    await asyncio.gather(*(requests() for _ in range(8)))
    sequencer.cancel()
    await hub.close()
    print(queued)

asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), int(sys.argv[5])))
"""


async def _drain_and_count(url: str, secrets: str) -> tuple[int, float]:
    """Sequence whatever is still queued; (entries in the log, seconds the drain took)."""
    from sqlalchemy import text

    from hub.audit.sequencer import Sequencer
    from hub.services import build_hub
    from hub.settings import Settings

    hub = build_hub(Settings(database_url=url, secrets_dir=Path(secrets)))
    try:
        started = time.perf_counter()
        await Sequencer(hub).integrate(force_checkpoint=True)
        drained = time.perf_counter() - started
        async with hub.engine.connect() as connection:
            count, last = (await connection.execute(text("SELECT count(*), max(seq) FROM access_entries"))).one()
        assert count == last, "the log must be gapless"
        return count, drained
    finally:
        await hub.close()


def appends(processes: int) -> tuple[int, float, float]:
    """(entries, seconds, seconds of the final drain) for `processes` appending hub processes."""
    from storage.migrate import upgrade

    with postgres_database() as url, tempfile.TemporaryDirectory(prefix="hub-bench-secrets-") as secrets:
        upgrade(url)
        started = time.perf_counter()
        workers = [
            subprocess.Popen(
                [sys.executable, "-c", APPENDER, url, secrets, str(n), str(APPEND_SECONDS), str(ENTRIES_PER_REQUEST)],
                stdout=subprocess.PIPE,
            )
            for n in range(processes)
        ]
        for worker in workers:
            worker.communicate()
            if worker.returncode:
                raise RuntimeError("an appending process failed")
        count, drained = asyncio.run(_drain_and_count(url, secrets))
        return count, time.perf_counter() - started, drained


def sequencer_backlog(entries: int = 200_000) -> tuple[int, float]:
    """The sequencer alone: queue `entries` in bulk, then time sequencing and hashing them."""
    from sqlalchemy import insert

    from hub.services import build_hub
    from hub.settings import Settings
    from storage.migrate import upgrade
    from storage.models import AccessEntry

    with postgres_database() as url, tempfile.TemporaryDirectory(prefix="hub-bench-secrets-") as secrets:
        upgrade(url)

        async def run() -> float:
            hub = build_hub(Settings(database_url=url, secrets_dir=Path(secrets)))
            try:
                now = datetime.now(UTC)
                row = {
                    "request_id": "bench",
                    "client_address": "127.0.0.1",
                    "principal_id": 1,
                    "department_code": "sw",
                    "role": "department_system",
                    "action": "profile.read",
                    "outcome": "allowed",
                    "applicant_ref": "11010519491231002X",
                    "object_ref": "",
                    "fields": "name,phone",
                    "material_types": "",
                    "purpose": "basis:tax-identity-check",
                    "reason": "",
                }
                async with hub.sessions() as session:
                    for _ in range(0, entries, 5000):
                        await session.execute(insert(AccessEntry), [{**row, "recorded_at": now} for _ in range(5000)])
                    await session.commit()
                from hub.audit.sequencer import Sequencer

                started = time.perf_counter()
                await Sequencer(hub).integrate(force_checkpoint=True)
                return time.perf_counter() - started
            finally:
                await hub.close()

        return entries, asyncio.run(run())


PROFILE_READ = "query($id: String!) { applicant(idNumber: $id) { idNumber name profile { field value } } }"


def read_overhead(rounds: int = 3) -> list[list[object]]:
    """Two reads with the log on and off, on PostgreSQL, same run: the clerk's full screen of the
    busiest applicant (graphql_read's query), and a bare profile read, where the log's fixed cost
    per request weighs most.

    Both servers run side by side and are loaded in turn, `rounds` times, and each keeps its best
    round: on a shared machine, other load slows some rounds, never speeds one up. Between rounds
    the servers settle, so one round's sequencing is not charged to the next.
    """
    from contextlib import ExitStack

    modes = {"log off": {"HUB_AUDIT_RECORDING_DISABLED_FOR_BENCHMARK": "true"}, "log on": {}}
    reads = {"clerk's screen": applicant_query(), "profile only": PROFILE_READ}
    best: dict[tuple[str, str], LoadResult] = {}
    with ExitStack() as stack:
        targets = {}
        for mode, env in modes.items():
            url = stack.enter_context(postgres_database())
            hub = stack.enter_context(running_hub(url, env=env))
            applicant = sample_applicant(url)
            headers = clerk_at_the_window(hub.url, hub.token("clerk", "xzfw"), applicant)
            for read, query in reads.items():
                body = graphql_body(query, {"id": applicant})
                graphql_once(hub.url, body, headers)
                targets[read, mode] = (hub.url, body, headers)
        for url, body, headers in targets.values():
            load(url, body, headers, connections=CONCURRENCY, seconds=2)  # warm-up
        for _ in range(rounds):
            for key, (url, body, headers) in targets.items():
                result = load(url, body, headers, connections=CONCURRENCY)
                if key not in best or result.per_second > best[key].per_second:
                    best[key] = result
                # Let the logging server's sequencer finish the round's backlog now, not during
                # the next round, which may be the other server's.
                time.sleep(SETTLE_SECONDS)
    rows: list[list[object]] = [["read", "logging", "req/s (best round)", "p50 ms", "p99 ms", "vs log off", "client"]]
    for read in reads:
        off, on = best[read, "log off"], best[read, "log on"]
        for mode, result in (("log off", off), ("log on", on)):
            rows.append(
                [
                    read,
                    mode,
                    f"{result.per_second:.0f}",
                    f"{result.p50_ms:.1f}",
                    f"{result.p99_ms:.1f}",
                    f"{result.per_second / off.per_second:.3f}",
                    result.client,
                ]
            )
        rows.append(
            [
                read,
                "added by the log",
                f"{(off.per_second / on.per_second - 1) * 100:+.1f}% time per read",
                "",
                "",
                "",
                "",
            ]
        )
    return rows


def write_export(path: Path, entries: int) -> tuple[list[bytes], str]:
    """An export of `entries` synthetic entries, checkpoints every 100,000, signed with a fresh key.

    Returns the entry lines (for the hashing baseline) and the verifier key text.
    """
    from hub.audit.checkpoint import Checkpoint, VerifierKey, sign_note
    from hub.audit.encoding import CanonicalEntry, encode
    from hub.audit.export_format import FORMAT
    from hub.audit.merkle import CompactRange, leaf_hash
    from hub.audit.tiles import TILE_WIDTH

    origin = "bench.hub/access-log"
    key = Ed25519PrivateKey.generate()
    from cryptography.hazmat.primitives import serialization

    public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    verifier = VerifierKey(origin, public)
    start = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
    actions = ["profile.read", "applicant.lookup", "material.download", "case.read"]
    lines = []
    for n in range(1, entries + 1):
        entry = CanonicalEntry(
            seq=n,
            time=start + timedelta(microseconds=n * 1371),
            request=f"{n // 3:032x}",
            client="10.20.30.40",
            principal=n % 97,
            department=("sw", "rsj", "zjj", "xzfw")[n % 4],
            role="department_system",
            action=actions[n % 4],
            outcome="allowed" if n % 11 else "denied",
            applicant="11010519491231002X",
            object=f"material:{n % 5000}@v1" if n % 4 == 2 else "",
            fields=("address", "name") if n % 4 == 0 else (),
            materials=("id_card",) if n % 4 == 2 else (),
            purpose="basis:tax-identity-check",
            reason="" if n % 11 else "purpose does not cover field phone",
        )
        lines.append(encode(entry))
    tree, notes = CompactRange(), []
    leaves = [leaf_hash(line) for line in lines]
    for n, leaf in enumerate(leaves, start=1):
        tree.append(leaf)
        if n % 100_000 == 0 or n == entries:
            body = Checkpoint(origin, n, tree.root(), start).body()
            notes.append(sign_note(body, origin, [key]))
    with open(path, "wb") as out:
        header = {
            "format": FORMAT,
            "origin": origin,
            "tree_size": entries,
            "checkpoints": len(notes),
            "tile_width": TILE_WIDTH,
            "exported_at": "2026-11-23T10:00:00.000000Z",
            "keys": [verifier.text()],
        }
        out.write(json.dumps(header).encode() + b"\n")
        for note in notes:
            out.write(json.dumps({"checkpoint": note}).encode() + b"\n")
        for tile in range(0, entries, TILE_WIDTH):
            chunk = lines[tile : tile + TILE_WIDTH]
            hashes = base64.b64encode(b"".join(leaves[tile : tile + TILE_WIDTH])).decode()
            out.write(
                json.dumps({"tile": tile // TILE_WIDTH, "entries": len(chunk), "leaf_hashes": hashes}).encode() + b"\n"
            )
            out.writelines(line + b"\n" for line in chunk)
    return lines, verifier.text()


def _rates(work: Callable[[], int]) -> tuple[float, float]:
    """(per wall second, per CPU second) of `work()`, which returns how many items it handled.
    CPU seconds are the steadier figure on a machine other work shares."""
    wall, cpu = time.perf_counter(), time.process_time()
    count = work()
    return count / (time.perf_counter() - wall), count / (time.process_time() - cpu)


def verification() -> list[list[object]]:
    from hub.audit.checkpoint import parse_verifier_key
    from hub.audit.verify import verify_file

    with tempfile.TemporaryDirectory(prefix="hub-bench-export-") as directory:
        path = Path(directory) / "export.jsonl"
        lines, key = write_export(path, VERIFY_ENTRIES)
        size_mb = path.stat().st_size / 1e6

        def plain_hashlib(lines: list[bytes] = lines) -> int:
            for line in lines:
                sha256(b"\x00" + line).digest()
            return len(lines)

        def plain_cryptography(lines: list[bytes] = lines) -> int:
            for line in lines:
                digest = hashes.Hash(hashes.SHA256())
                digest.update(b"\x00" + line)
                digest.finalize()
            return len(lines)

        baseline = _rates(plain_hashlib)
        other = _rates(plain_cryptography)
        del lines, plain_hashlib, plain_cryptography  # the lines take most of a GiB
        reports = []

        def verify() -> int:
            reports.append(verify_file(path, [parse_verifier_key(key)]))
            return reports[-1].entries

        verified = _rates(verify)
        assert reports[0].entries == VERIFY_ENTRIES and reports[0].unsigned_entries == 0
    rows: list[list[object]] = [["what", "entries/s (wall)", "entries/CPU-s", "vs plain SHA-256 (hashlib, CPU)"]]
    for label, (wall, cpu) in (
        ("plain SHA-256 of the entry lines, hashlib", baseline),
        ("plain SHA-256 of the entry lines, cryptography", other),
        (
            f"hub audit verify, {VERIFY_ENTRIES:,} entries ({size_mb:.0f} MB, {reports[0].checkpoints} checkpoints)",
            verified,
        ),
    ):
        rows.append([label, f"{wall:,.0f}", f"{cpu:,.0f}", f"{cpu / baseline[1]:.2f}"])
    return rows


def main() -> None:
    print(f"Verification of an offline export ({VERIFY_ENTRIES:,} entries):", flush=True)
    print_table(verification())

    print(
        f"\nAppends on PostgreSQL ({ENTRIES_PER_REQUEST} entries per request, 8 request tasks per process, "
        f"sequencer running in every process, {APPEND_SECONDS:.0f} s):",
        flush=True,
    )
    rows: list[list[object]] = [["processes", "entries", "entries/s", "vs 1 process", "final drain s"]]
    single = None
    for processes in (1, 4):
        count, seconds, drained = appends(processes)
        rate = count / seconds
        single = single or rate
        rows.append([processes, f"{count:,}", f"{rate:,.0f}", f"{rate / single:.2f}", f"{drained:.2f}"])
    assert single is not None  # the loop measured 1 process
    entries, seconds = sequencer_backlog()
    rows.append(
        ["sequencer alone", f"{entries:,}", f"{entries / seconds:,.0f}", f"{entries / seconds / single:.2f}", ""]
    )
    print_table(rows)

    print(f"\nThe clerk's applicant read over HTTP on PostgreSQL, 1 worker, {CONCURRENCY} connections:", flush=True)
    print_table(read_overhead())


if __name__ == "__main__":
    main()
