"""Scale: load a million applicants quickly, then check that the clerk's reads do not slow with size.

Two PostgreSQL databases are seeded with the demo (`hub db upgrade`, `hub demo`), then filled by
COPY (asyncpg `copy_records_to_table`) with generated data:

- applicants: valid resident IDs (GB 11643: region 510321, birth dates from 1981, odd and even
  order codes, the check digit computed by python-stdnum and every 10,000th number validated), each
  with a current, verified `name` profile value;
- materials: HUB_SCALE_MATERIALS spread over the applicants, of the catalogue's material types,
  a quarter of them with a second version (the first superseded). Every version points at one
  stored blob of the demo: the store names a blob by a keyed hash of its plaintext, so equal
  bytes share one blob (deduplication), and a million identical scans would be exactly that;
- access log entries: valid entries the verifier accepts. Two ways are timed on the small
  database: numbered here with the hub's own canonical encoding, leaf hash and tiles
  (`hub.audit.encoding`, `hub.audit.merkle`, `hub.audit.tiles`; generated, encoded and hashed in
  a process per core, stored by COPY one transaction per 65,536 entries under the sequencer's
  lock), or queued unnumbered for the hub's sequencer (`Sequencer.integrate`). The large
  database is loaded the faster way.

The small database holds HUB_SCALE_BASE_APPLICANTS (10,000) and proportional materials and
entries, the large one the full sizes. Both are served side by side (1 worker each, supervision
evaluation off so that neither server scans the log in the background) and loaded in turn, three
rounds, best round kept: the clerk's query (bench.clerk_query's query, the busiest demo person)
and the one-time notice (bench.notice's bundle, for an applicant holding 50 materials). The ratio
large / small of p50 and p99 is the figure (aim: within 1.2). Then `hub audit export` and
`hub audit verify` of the large log, as entries per second and per CPU second (the export's CPU
includes the interpreter's start and its own verification of the file).

    python -m bench.scale       # 1,000,000 applicants, 5,000,000 materials, 10,000,000 entries
    HUB_SCALE_APPLICANTS=100000 HUB_SCALE_MATERIALS=500000 HUB_SCALE_LOG_ENTRIES=1000000 python -m bench.scale

The databases are named `scale_…` (HUB_SCALE_DATABASE_PREFIX) and dropped at the end.
"""

from __future__ import annotations

import asyncio
import io
import multiprocessing
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import asyncpg
from stdnum.cn import ric

from bench.clerk_query import HUB_QUERY
from bench.common import (
    LoadResult,
    clerk_at_the_window,
    graphql_body,
    graphql_once,
    hub_environment,
    load,
    postgres_database,
    print_table,
    running_hub,
    seed,
)
from bench.graphql_read import sample_applicant
from bench.notice import NOTICE, bundle, demo_person, upload_materials
from hub.audit.encoding import canonical_text
from hub.audit.merkle import HASH_SIZE, leaf_hash
from hub.audit.tiles import TILE_WIDTH, TileSet, frontier_tiles
from hub.settings import Environment, Settings

APPLICANTS = int(os.environ.get("HUB_SCALE_APPLICANTS", "1000000"))
MATERIALS = int(os.environ.get("HUB_SCALE_MATERIALS", str(5 * APPLICANTS)))
LOG_ENTRIES = int(os.environ.get("HUB_SCALE_LOG_ENTRIES", str(10 * APPLICANTS)))
BASE_APPLICANTS = int(os.environ.get("HUB_SCALE_BASE_APPLICANTS", "10000"))
ROUNDS = int(os.environ.get("HUB_SCALE_ROUNDS", "3"))
# Several people may run it on one PostgreSQL: each may name its databases apart.
DATABASE_PREFIX = os.environ.get("HUB_SCALE_DATABASE_PREFIX", "scale_")
CONCURRENCY = 4  # few connections: latency, not a queue in front of one worker
APPLICANT_CHUNK = 20_000
LOG_CHUNK = TILE_WIDTH * 256  # 65,536 entries per transaction
REGION = "510321"  # 荣县: a code unchanged since 1980, valid for every birth year used here
FIRST_BIRTH = date(1981, 1, 1)
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英"
ACTIONS = ("profile.read", "applicant.lookup", "material.download", "case.read")
PURPOSES = ("visit:1", "basis:tax-identity-check", "case:XZFW-2026-000001", "visit:2")


def _asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def _sequencer_lock_key() -> int:
    from storage.repositories.audit import SEQUENCER_LOCK_KEY

    return SEQUENCER_LOCK_KEY


def resident_id(n: int) -> str:
    """The n-th generated resident ID: 1,000 order codes per birth date, check digit by GB 11643."""
    birth = FIRST_BIRTH + timedelta(days=n // 1000)
    body = f"{REGION}{birth:%Y%m%d}{n % 1000:03d}"
    number = body + ric.calc_check_digit(body + "0")
    if n % 10_000 == 0 and not ric.is_valid(number):
        raise AssertionError(f"generated an invalid resident ID {number}")
    return number


def person_name(n: int) -> str:
    return SURNAMES[n % len(SURNAMES)] + GIVEN[(n // 7) % len(GIVEN)] + GIVEN[(n // 131) % len(GIVEN)]


@dataclass
class Reference:
    """What generated rows point at: the demo's departments, principals, types and one blob."""

    departments: list[tuple[int, str]]
    principals: list[tuple[int, int, str, str]]  # id, department id, role, department code
    material_types: list[tuple[int, int | None, str]]  # id, issuing department, code
    blob: tuple[int, int]  # id, size
    taken: set[str]
    applicants: list[str] = field(default_factory=list)  # id numbers generated so far
    next_number: int = 0  # the next resident_id(n) to try


async def reference(connection: asyncpg.Connection) -> Reference:
    departments = [(r["id"], r["code"]) for r in await connection.fetch("SELECT id, code FROM departments ORDER BY id")]
    principals = [
        (r["id"], r["department_id"], r["role"], r["code"])
        for r in await connection.fetch(
            "SELECT p.id, p.department_id, p.role, d.code FROM principals p JOIN departments d"
            " ON d.id = p.department_id WHERE p.role IN ('clerk', 'department_system') ORDER BY p.id"
        )
    ]
    types = [
        (r["id"], r["issuing_department_id"], r["code"])
        for r in await connection.fetch("SELECT id, issuing_department_id, code FROM material_types ORDER BY id")
    ]
    blob = await connection.fetchrow("SELECT id, size FROM blobs WHERE state = 'stored' ORDER BY id LIMIT 1")
    taken = {r["id_number"] for r in await connection.fetch("SELECT id_number FROM applicants")}
    return Reference(departments, principals, types, (blob["id"], blob["size"]), taken)


async def _next_ids(connection: asyncpg.Connection, table: str, count: int) -> int:
    """Reserve `count` ids of `table`'s sequence; returns the first."""
    sequence = await connection.fetchval("SELECT pg_get_serial_sequence($1, 'id')", table)
    last = await connection.fetchval("SELECT setval($1, nextval($1) + $2 - 1)", sequence, count)
    return cast(int, last) - count + 1


@dataclass
class Timings:
    seconds: dict[str, float] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)

    def add(self, what: str, rows: int, seconds: float) -> None:
        self.rows[what] = self.rows.get(what, 0) + rows
        self.seconds[what] = self.seconds.get(what, 0.0) + seconds


async def _copy(
    connection: asyncpg.Connection, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]], timings: Timings
) -> None:
    started = time.perf_counter()
    await connection.copy_records_to_table(table, records=rows, columns=list(columns))
    timings.add(table, len(rows), time.perf_counter() - started)


async def load_applicants(
    connection: asyncpg.Connection, ref: Reference, applicants: int, materials: int, timings: Timings
) -> None:
    """`applicants` more applicants with a name each, and `materials` materials spread over them."""
    now = datetime.now(UTC)
    clerk = next(p for p in ref.principals if p[2] == "clerk")
    done_materials = 0
    for start in range(0, applicants, APPLICANT_CHUNK):
        count = min(APPLICANT_CHUNK, applicants - start)
        first = await _next_ids(connection, "applicants", count)
        people, names = [], []
        for offset in range(count):
            while (number := resident_id(ref.next_number)) in ref.taken:
                ref.next_number += 1
            ref.next_number += 1
            ref.applicants.append(number)
            name = person_name(ref.next_number)
            applicant_id = first + offset
            people.append((applicant_id, "person", number, name, now, clerk[1]))
            names.append((applicant_id, "name", name, clerk[1], clerk[0], now, True, True))
        await _copy(
            connection,
            "applicants",
            ("id", "kind", "id_number", "name", "created_at", "created_by_department_id"),
            people,
            timings,
        )
        await _copy(
            connection,
            "profile_field_values",
            (
                "applicant_id",
                "field",
                "value",
                "source_department_id",
                "recorded_by_principal_id",
                "recorded_at",
                "verified",
                "is_current",
            ),
            names,
            timings,
        )
        # Materials for this chunk's applicants: the share of the total that falls on them.
        wanted = (start + count) * materials // applicants - done_materials
        done_materials += wanted
        await load_materials(connection, ref, first, count, wanted, clerk, now, timings)


async def load_materials(
    connection: asyncpg.Connection,
    ref: Reference,
    first_applicant: int,
    applicants: int,
    count: int,
    clerk: tuple[int, int, str, str],
    now: datetime,
    timings: Timings,
) -> None:
    if count <= 0:
        return
    first = await _next_ids(connection, "materials", count)
    blob_id, blob_size = ref.blob
    issued = date(2024, 3, 1)
    materials, versions = [], []
    for n in range(count):
        material_id = first + n
        applicant_id = first_applicant + n * applicants // count
        type_id, issuer, code = ref.material_types[n % len(ref.material_types)]
        materials.append(
            (material_id, applicant_id, type_id, f"{code} {n}", issuer, issued, None, "valid", clerk[0], clerk[1], now)
        )
        second = n % 4 == 0
        pdf = ("application/pdf", "application/pdf", blob_size, now, clerk[0])
        versions.append((material_id, 1, blob_id, f"{code}.pdf", *pdf, now if second else None))
        if second:
            versions.append((material_id, 2, blob_id, f"{code}-2.pdf", *pdf, None))
    await _copy(
        connection,
        "materials",
        (
            "id",
            "applicant_id",
            "material_type_id",
            "title",
            "issuing_department_id",
            "issued_on",
            "valid_until",
            "status",
            "uploaded_by_principal_id",
            "uploaded_by_department_id",
            "created_at",
        ),
        materials,
        timings,
    )
    await _copy(
        connection,
        "material_versions",
        (
            "material_id",
            "version_no",
            "blob_id",
            "file_name",
            "declared_content_type",
            "detected_content_type",
            "size",
            "uploaded_at",
            "uploaded_by_principal_id",
            "superseded_at",
        ),
        versions,
        timings,
    )


ENTRY_COLUMNS = (
    "seq",
    "recorded_at",
    "request_id",
    "client_address",
    "principal_id",
    "department_code",
    "role",
    "action",
    "outcome",
    "applicant_ref",
    "object_ref",
    "fields",
    "material_types",
    "purpose",
    "reason",
)
LOG_START = datetime(2026, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class EntrySource:
    """What generated entries draw on: the demo's principals and the generated applicants."""

    principals: list[tuple[int, int, str, str]]
    applicants: list[str]


def entry_values(source: EntrySource, n: int) -> tuple[Any, ...]:
    """Entry number `n`, a plausible read of a generated applicant, as the values of ENTRY_COLUMNS
    (which are `canonical_text`'s arguments, in its order)."""
    principal, _, role, department = source.principals[n % len(source.principals)]
    kind = n % 4
    return (
        n,
        LOG_START + timedelta(microseconds=n * 997),
        f"{n // 4:032x}",
        "10.20.30.40",
        principal,
        department,
        role,
        ACTIONS[kind],
        "allowed" if n % 23 else "denied",
        source.applicants[(n * 7919) % len(source.applicants)],
        f"material:{n % 50000}@v1" if kind == 2 else "",
        "name,phone" if kind == 0 else "",
        "id_card" if kind == 2 else "",
        PURPOSES[kind],
        "" if n % 23 else "purpose does not cover field phone",
    )


# Generation runs in worker processes (one per core): each gets the source once, at its start.
_source: EntrySource | None = None


def _start_worker(source: EntrySource) -> None:
    global _source
    # Values go into COPY's text format unescaped: none of them may hold its special characters.
    texts = [text for p in source.principals for text in p[2:]] + source.applicants[:1000]
    if any(c in text for text in texts for c in "\\\t\n\r"):
        raise ValueError("a reference value holds a tab, newline or backslash")
    _source = source


def _copy_field(value: object) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def entry_chunk(first: int, count: int) -> tuple[bytes, bytes]:
    """Entries first .. first + count - 1: their rows in COPY's text format, and their RFC 9162
    leaf hashes (of `canonical_text`'s UTF-8 bytes, the hub's own encoding) concatenated."""
    assert _source is not None, "run in a worker started by _start_worker"
    lines, leaves = [], []
    for n in range(first, first + count):
        values = entry_values(_source, n)
        leaves.append(leaf_hash(canonical_text(*values).encode("utf-8")))
        lines.append("\t".join([_copy_field(value) for value in values]))
    lines.append("")
    return "\n".join(lines).encode("utf-8"), b"".join(leaves)


def _chunks(first: int, count: int) -> list[tuple[int, int]]:
    return [(start, min(LOG_CHUNK, first + count - start)) for start in range(first, first + count, LOG_CHUNK)]


async def load_entries_numbered(connection: asyncpg.Connection, ref: Reference, count: int, timings: Timings) -> None:
    """Append `count` sequenced entries as the sequencer would: canonical bytes, leaf hashes, tiles,
    state, under its lock, one transaction per LOG_CHUNK entries (nothing else may append meanwhile).

    Worker processes, one per core, generate, encode and hash the chunks ahead (bench.scale's
    slowest part, in Python); this process stores each with one COPY and extends the tiles.
    """
    size = await connection.fetchval("SELECT tree_size FROM audit_log_state WHERE id = 1")
    source = EntrySource(ref.principals, ref.applicants)
    workers = max(1, os.cpu_count() or 1)
    context = multiprocessing.get_context("fork")  # the workers inherit the source, unpickled
    with context.Pool(workers, initializer=_start_worker, initargs=(source,)) as pool:
        chunks = _chunks(size + 1, count)
        started = time.perf_counter()
        # imap keeps the chunks in order and the workers busy ahead of the COPY
        for (first, chunk), (rows, leaves) in zip(chunks, pool.imap(_generate, chunks), strict=True):
            await _store_chunk(connection, first - 1, chunk, rows, leaves)
            stored = time.perf_counter()  # the time includes waiting for the workers
            timings.add("access_entries (numbered here)", chunk, stored - started)
            started = stored


def _generate(chunk: tuple[int, int]) -> tuple[bytes, bytes]:
    return entry_chunk(*chunk)


async def _store_chunk(connection: asyncpg.Connection, size: int, count: int, rows: bytes, leaves: bytes) -> None:
    """One transaction under the sequencer's lock: the rows, the tiles they extend, the new state."""
    async with connection.transaction():
        await connection.execute("SELECT pg_advisory_xact_lock($1)", _sequencer_lock_key())
        stored_size = await connection.fetchval("SELECT tree_size FROM audit_log_state WHERE id = 1")
        if stored_size != size:
            raise RuntimeError(f"the log grew to {stored_size} under the load (expected {size})")
        keys = set(frontier_tiles(size))
        stored = await connection.fetch(
            "SELECT level, idx, hashes FROM audit_tiles WHERE level = ANY($1::int[]) AND idx = ANY($2::bigint[])",
            sorted({k[0] for k in keys}),
            sorted({k[1] for k in keys}),
        )
        tree = TileSet({(r["level"], r["idx"]): r["hashes"] for r in stored if (r["level"], r["idx"]) in keys})
        tree.extend(size, [leaves[i : i + HASH_SIZE] for i in range(0, len(leaves), HASH_SIZE)])
        new, updated = tree.changes()
        await connection.copy_to_table("access_entries", source=io.BytesIO(rows), columns=list(ENTRY_COLUMNS))
        await connection.copy_records_to_table(
            "audit_tiles", records=[(k[0], k[1], v) for k, v in new.items()], columns=["level", "idx", "hashes"]
        )
        await connection.executemany(
            "UPDATE audit_tiles SET hashes = $3 WHERE level = $1 AND idx = $2",
            [(k[0], k[1], v) for k, v in updated.items()],
        )
        await connection.execute(
            "UPDATE audit_log_state SET tree_size = $1, root_hash = $2, updated_at = now() WHERE id = 1",
            size + count,
            tree.root(size + count),
        )
        # The counter the hub numbers from goes on from the same size (storage/models/audit.py).
        numbered = await connection.execute(
            "UPDATE audit_counter SET last_seq = $1 WHERE id = 1 AND last_seq = $2", size + count, size
        )
        if numbered != "UPDATE 1":
            raise RuntimeError(f"the hub numbered entries past {size} under the load")


async def load_entries_queued(
    connection: asyncpg.Connection, ref: Reference, count: int, settings: Settings, timings: Timings
) -> None:
    """Queue `count` entries unnumbered (one COPY per LOG_CHUNK), then let the hub's sequencer number them."""
    from hub.audit.sequencer import Sequencer
    from hub.services import build_hub

    source = EntrySource(ref.principals, ref.applicants)
    began = time.perf_counter()
    for first, chunk in _chunks(0, count):
        rows = [(None, *entry_values(source, n)[1:]) for n in range(first, first + chunk)]
        await connection.copy_records_to_table("access_entries", records=rows, columns=list(ENTRY_COLUMNS))
    queued = time.perf_counter()
    hub = build_hub(settings)
    try:
        await Sequencer(hub).integrate()
    finally:
        await hub.close()
    timings.add("access_entries (queued, COPY)", count, queued - began)
    timings.add("access_entries (queued, sequencer)", count, time.perf_counter() - queued)


async def _sign(settings: Settings) -> None:
    from hub.audit.sequencer import Sequencer
    from hub.services import build_hub

    hub = build_hub(settings)
    try:
        await Sequencer(hub).integrate(force_checkpoint=True)
    finally:
        await hub.close()


def settings_for(environment: dict[str, str]) -> Settings:
    return Settings(
        environment=Environment.BENCHMARK,
        database_url=environment["HUB_DATABASE_URL"],
        blob_url=environment["HUB_BLOB_URL"],
        secrets_dir=Path(environment["HUB_SECRETS_DIR"]),
    )


async def fill(
    url: str, environment: dict[str, str], applicants: int, materials: int, log_entries: int, *, compare: bool
) -> Timings:
    """Load the generated data; with `compare`, half the entries each way (numbered here, queued)."""
    settings = settings_for(environment)
    await _sign(settings)  # the demo's queued entries numbered first, so the tree is ours to extend
    timings = Timings()
    connection = await asyncpg.connect(_asyncpg_dsn(url))
    # The generated rows point only at rows that exist: skip the per-row foreign-key triggers, as
    # a bulk load does (pg_dump's --disable-triggers); the indexes are kept and maintained.
    await connection.execute("SET session_replication_role = replica")
    try:
        ref = await reference(connection)
        await load_applicants(connection, ref, applicants, materials, timings)
        if compare:
            await load_entries_queued(connection, ref, log_entries // 2, settings, timings)
            await load_entries_numbered(connection, ref, log_entries - log_entries // 2, timings)
        else:
            await load_entries_numbered(connection, ref, log_entries, timings)
        started = time.perf_counter()
        await connection.execute("ANALYZE")
        timings.add("ANALYZE", 0, time.perf_counter() - started)
    finally:
        await connection.close()
    started = time.perf_counter()
    await _sign(settings)  # a checkpoint over everything: checks the tiles against the head file
    timings.add("checkpoint (consistency with the last head)", 0, time.perf_counter() - started)
    return timings


def _print_timings(label: str, timings: Timings) -> float:
    rows: list[list[object]] = [[label, "rows", "seconds", "rows/s"]]
    for what, seconds in timings.seconds.items():
        count = timings.rows[what]
        rows.append([what, f"{count:,}", f"{seconds:.1f}", f"{count / seconds:,.0f}" if count and seconds else ""])
    total = sum(timings.seconds.values())
    rows.append(["total", f"{sum(timings.rows.values()):,}", f"{total:.1f}", ""])
    print_table(rows)
    return total


def export_and_verify(environment: dict[str, str], auditor_token: str, folder: Path) -> tuple[float, float, float]:
    """`hub audit export` then `hub audit verify`, as an operator and an auditor run them; prints
    their figures and returns entries per second (exported, verified) and verified per CPU second."""
    hub = [sys.executable, "-m", "app.cli"]
    keys, export = folder / "keys.txt", folder / "export.jsonl"
    with open(keys, "wb") as out:
        subprocess.run([*hub, "audit", "public-keys"], env=environment, check=True, stdout=out)
    env = {**environment, "HUB_AUDITOR_TOKEN": auditor_token}
    started, cpu = time.perf_counter(), _children_cpu()
    subprocess.run(
        [*hub, "audit", "export", str(export)],
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    exported, exporting_cpu = time.perf_counter() - started, _children_cpu() - cpu
    size = export.stat().st_size
    started, cpu = time.perf_counter(), _children_cpu()
    verified = subprocess.run(
        [*hub, "audit", "verify", str(export), "--public-key", str(keys)],
        env=environment,
        check=True,
        capture_output=True,
        text=True,
    )
    verifying, verifying_cpu = time.perf_counter() - started, _children_cpu() - cpu
    entries = _tree_size(export)
    print(verified.stdout.strip()[-400:])
    export.unlink()
    print_table(
        [
            ["step", "entries", "seconds", "entries/s", "entries/CPU-s", "export MB"],
            [
                "hub audit export",
                f"{entries:,}",
                f"{exported:.1f}",
                f"{entries / exported:,.0f}",
                f"{entries / exporting_cpu:,.0f}",
                f"{size / 1e6:,.0f}",
            ],
            [
                "hub audit verify",
                f"{entries:,}",
                f"{verifying:.1f}",
                f"{entries / verifying:,.0f}",
                f"{entries / verifying_cpu:,.0f}",
                "",
            ],
        ]
    )
    return entries / exported, entries / verifying, entries / verifying_cpu


def _children_cpu() -> float:
    """CPU seconds of the finished child processes: the steadier figure on a shared machine."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _tree_size(export: Path) -> int:
    import json

    with open(export, "rb") as lines:
        return int(json.loads(lines.readline())["tree_size"])


def measure(targets: dict[tuple[str, str], tuple[str, bytes, dict[str, str]]]) -> dict[tuple[str, str], LoadResult]:
    """Every target in turn, ROUNDS times (alternating the order); each keeps its best round (by p50)."""
    best: dict[tuple[str, str], LoadResult] = {}
    for url, body, headers in targets.values():
        graphql_once(url, body, headers)
        load(url, body, headers, connections=CONCURRENCY, seconds=2)  # warm-up
    for round_ in range(ROUNDS):
        # Every other round in the reverse order: whichever goes first after a pause is not favoured.
        order = list(targets.items())[:: -1 if round_ % 2 else 1]
        for key, (url, body, headers) in order:
            result = load(url, body, headers, connections=CONCURRENCY)
            if key not in best or result.p50_ms < best[key].p50_ms:
                best[key] = result
            time.sleep(1.5)  # let the sequencer catch up before the other server's turn
    return best


@dataclass(frozen=True)
class ScaleFigures:
    sizes: dict[str, tuple[int, int, int]]  # "small", "large": (applicants, materials, log entries)
    latency: dict[tuple[str, str], LoadResult]  # (query, size label): the best round
    exported_per_second: float
    verified_per_second: float
    verified_per_cpu_second: float


def main() -> ScaleFigures:
    free = shutil.disk_usage("/").free
    print(
        f"Scale: {APPLICANTS:,} applicants, {MATERIALS:,} materials, {LOG_ENTRIES:,} log entries "
        f"against {BASE_APPLICANTS:,} (disk free {free / 1e9:.0f} GB)",
        flush=True,
    )
    sizes = {
        "small": (
            BASE_APPLICANTS,
            MATERIALS * BASE_APPLICANTS // APPLICANTS,
            LOG_ENTRIES * BASE_APPLICANTS // APPLICANTS,
        ),
        "large": (APPLICANTS, MATERIALS, LOG_ENTRIES),
    }
    items, needed, others = bundle()
    person = demo_person()
    with ExitStack() as stack:
        var = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="hub-scale-")))
        urls, environments, targets = {}, {}, {}
        for label, (applicants, materials, log_entries) in sizes.items():
            url = stack.enter_context(postgres_database(prefix=DATABASE_PREFIX))
            environment = hub_environment(url, var / label, {"HUB_SUPERVISION_INTERVAL": "0"})
            seed(environment)
            print(f"\nLoading the {label} database ({applicants:,} / {materials:,} / {log_entries:,}):", flush=True)
            timings = asyncio.run(fill(url, environment, applicants, materials, log_entries, compare=label == "small"))
            total = _print_timings(label, timings)
            print(f"{label}: loaded in {total:.0f} s", flush=True)
            urls[label], environments[label] = url, environment
        with ExitStack() as servers:
            for label, url in urls.items():
                hub = servers.enter_context(running_hub(url, var=var / label, env={"HUB_SUPERVISION_INTERVAL": "0"}))
                token = hub.token("clerk", "xzfw")
                upload_materials(hub.url, token, person, needed, others)
                busiest = sample_applicant(url)
                clerk = graphql_body(HUB_QUERY, {"id": busiest})
                notice = graphql_body(NOTICE, {"items": items, "id": person})
                targets["clerk's query", label] = (hub.url, clerk, clerk_at_the_window(hub.url, token, busiest))
                targets["notice", label] = (hub.url, notice, clerk_at_the_window(hub.url, token, person))
                environments[label] = {**environments[label], "AUDITOR": hub.token("auditor", "jcj")}
            best = measure(targets)
        print(f"\n{CONCURRENCY} connections, {ROUNDS} rounds in turn, best round (by p50) of each:")
        print_table(latency_rows(best, sizes))
        large = environments["large"]
        print(f"\nExport and verification of the large log ({LOG_ENTRIES:,} entries and the demo's):", flush=True)
        exported, verified, verified_cpu = export_and_verify(large, large["AUDITOR"], var)
    return ScaleFigures(sizes, best, exported, verified, verified_cpu)


def latency_rows(best: dict[tuple[str, str], LoadResult], sizes: dict[str, tuple[int, int, int]]) -> list[list[object]]:
    rows: list[list[object]] = [["query", "size", "req/s", "p50 ms", "p99 ms", "p50 ×small", "p99 ×small", "failures"]]
    for query in ("clerk's query", "notice"):
        small = best[query, "small"]
        for label in sizes:
            result = best[query, label]
            rows.append(
                [
                    query,
                    f"{sizes[label][0]:,} applicants",
                    f"{result.per_second:.0f}",
                    f"{result.p50_ms:.1f}",
                    f"{result.p99_ms:.1f}",
                    f"{result.p50_ms / small.p50_ms:.2f}",
                    f"{result.p99_ms / small.p99_ms:.2f}",
                    result.failures,
                ]
            )
    return rows


if __name__ == "__main__":
    main()
