"""Supervision's costs: anomaly rules over a large log, timing states of many open cases.

1. Rules: HUB_BENCH_SUPERVISION_ENTRIES (default 500,000) sequenced entries, bulk inserted (200
   principals, 50,000 applicants, a month of office hours with some nights and refusals), then
   evaluated from an empty watermark with every rule on; against reading the same entries alone
   (the baseline, same run). Then 10,000 more entries: the incremental run judges only them.
2. Timing: HUB_BENCH_SUPERVISION_CASES (default 100,000) open accepted cases, bulk inserted, judged
   twice (the first run stores every state, the second finds no change); against loading their
   facts alone.

Figures are printed, never asserted.

    python -m bench.supervision
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert

from bench.common import graphql_body, graphql_once, postgres_database, print_table, running_hub, sqlite_database
from hub.access.context import Hub
from hub.catalog.catalogue import load_catalog
from hub.services import build_hub
from hub.settings import Settings
from hub.supervision.anomalies import BATCH, evaluate_anomalies
from hub.supervision.rules import default_rules
from hub.supervision.timing import accepted_and_open, evaluate_timing, load_facts
from storage.migrate import upgrade
from storage.models import Applicant, AuditCounter, AuditLogState, Principal
from storage.models.cases import Case, CaseItem
from storage.repositories import supervision as repo

if TYPE_CHECKING:
    from sqlalchemy import Row
    from sqlalchemy.ext.asyncio import AsyncSession

ENTRIES = int(os.environ.get("HUB_BENCH_SUPERVISION_ENTRIES", "1000000"))
CASES = int(os.environ.get("HUB_BENCH_SUPERVISION_CASES", "100000"))
CHUNK = 10_000
WEEKDAYS = [d for d in range(28) if d % 7 < 5]
START = datetime(2026, 11, 2, 0, 0, tzinfo=UTC)  # 08:00 in China, a Monday

CATALOG = """
departments:
  - {code: zjj, name: 住房和城乡建设局}
  - {code: zrzy, name: 自然资源和规划局}
  - {code: sw, name: 税务局}
  - {code: xzfw, name: 行政服务中心}
  - {code: jcj, name: 电子监察室, supervision: true}
service_items:
  - {code: zjj-sgxk, name: 建筑工程施工许可, lead_department: zjj, departments: [zrzy], statutory_days: 15, promised_days: 6}
  - {code: sw-ns, name: 纳税申报, lead_department: sw, statutory_days: 15, promised_days: 3, silence_is_consent: true}
"""


def _id_number(n: int) -> str:
    return f"1101011990{n:08d}"


async def _insert(hub: Hub, model: type, rows: list[dict[str, Any]]) -> None:
    async with hub.engine.begin() as connection:
        for start in range(0, len(rows), CHUNK):
            await connection.execute(insert(model), rows[start : start + CHUNK])


def _moment(rng: random.Random) -> datetime:
    """Office hours (08:00-18:00 China) on the weekdays of four weeks; a few nights and weekends."""
    day = rng.randrange(28) if rng.random() < 0.01 else rng.choice(WEEKDAYS)
    minutes = day * 24 * 60 + (rng.randrange(24 * 60) if rng.random() < 0.01 else rng.randrange(10 * 60))
    return START + timedelta(minutes=minutes, microseconds=rng.randrange(1_000_000))


_FOUR_WEEKS = timedelta(days=28)
_ACTIONS = ("profile.read", "applicant.lookup", "material.read", "case.read", "applicant.register")
_COLUMNS = (
    "seq", "recorded_at", "request_id", "client_address", "principal_id", "department_code", "role", "action",
    "outcome", "applicant_ref", "object_ref", "fields", "material_types", "purpose", "reason",
)  # fmt: skip


def _entries(first_seq: int, count: int, rng: random.Random, later: timedelta = timedelta(0)) -> list[tuple[Any, ...]]:
    """Sequenced entries as tuples of _COLUMNS: reads of 50,000 applicants by 200 principals."""
    rows = []
    moments = sorted(_moment(rng) + later for _ in range(count))
    randrange, chance = rng.randrange, rng.random
    for n in range(count):
        seq = first_seq + n
        principal = randrange(1, 201)
        rows.append(
            (
                seq,
                moments[n],
                f"r{seq}",
                "",
                principal,
                ("xzfw", "sw", "zjj", "zrzy")[principal % 4],
                "clerk" if principal % 4 == 0 else "department_system",
                _ACTIONS[randrange(5)],
                "denied" if chance() < 0.002 else "allowed",
                _id_number(randrange(50_000)),
                "",
                "name",
                "",
                # Most reads under a legal basis, a few with no relationship to the applicant.
                "" if chance() < 0.01 else "basis:bench",
                "",
            )
        )
    return rows


async def _insert_entries(hub: Hub, rows: list[tuple[Any, ...]]) -> None:
    """Straight through the driver (PostgreSQL's COPY, SQLite's executemany): ten million entries
    are built in minutes, not hours."""
    async with hub.engine.begin() as connection:
        raw = (await connection.get_raw_connection()).driver_connection
        if raw is None:
            raise RuntimeError("the connection has no driver connection")
        if connection.dialect.name == "postgresql":
            await raw.copy_records_to_table("access_entries", records=rows, columns=list(_COLUMNS))
            return
        sql = f"INSERT INTO access_entries ({', '.join(_COLUMNS)}) VALUES ({', '.join('?' * len(_COLUMNS))})"
        for start in range(0, len(rows), 100_000):
            chunk = [(r[0], r[1].strftime("%Y-%m-%d %H:%M:%S.%f"), *r[2:]) for r in rows[start : start + 100_000]]
            await raw.executemany(sql, chunk)


async def _build_log(hub: Hub, first_seq: int, count: int, rng: random.Random, later: timedelta = timedelta(0)) -> None:
    for start in range(0, count, 1_000_000):
        n = min(1_000_000, count - start)
        # Each million entries over the next four weeks: a long log is a longer stretch of time.
        await _insert_entries(hub, _entries(first_seq + start, n, rng, later + _FOUR_WEEKS * (start // 1_000_000)))


async def _set_size(hub: Hub, size: int) -> None:
    async with hub.sessions() as session:
        state = await session.get(AuditLogState, 1)
        if state is None:
            session.add(AuditLogState(id=1, tree_size=size, root_hash=b"\0" * 32, updated_at=datetime.now(UTC)))
        else:
            state.tree_size = size
        await session.merge(AuditCounter(id=1, last_seq=size))  # numbering goes on after them
        await session.commit()


async def _plain_read(hub: Hub, upto: int) -> int:
    """Read the entries as the evaluation does (driver tuples, batch by batch), judging nothing."""
    read = 0
    async with hub.sessions() as session:
        for done in range(0, upto, BATCH):
            read += len(await repo.entry_tuples_between(session, done, min(done + BATCH, upto)))
    return read


async def _rules(hub: Hub) -> list[tuple[str, str, str, str, str]]:
    rng = random.Random(20261130)
    began = time.perf_counter()
    await _build_log(hub, 1, ENTRIES, rng)
    await _set_size(hub, ENTRIES)
    print(f"  built a log of {ENTRIES:,} entries in {time.perf_counter() - began:.0f} s", flush=True)
    rules = default_rules()

    began = time.perf_counter()
    read = await _plain_read(hub, ENTRIES)
    baseline = time.perf_counter() - began
    async with hub.sessions() as session:
        began = time.perf_counter()
        run = await evaluate_anomalies(hub, session, rules)
        await session.commit()
        full = time.perf_counter() - began

    # The four weeks after the log's.
    await _build_log(hub, ENTRIES + 1, 10_000, rng, later=_FOUR_WEEKS * -(-ENTRIES // 1_000_000))
    await _set_size(hub, ENTRIES + 10_000)
    async with hub.sessions() as session:
        began = time.perf_counter()
        more = await evaluate_anomalies(hub, session, rules)
        await session.commit()
        incremental = time.perf_counter() - began
    return [
        ("plain read of the entries (baseline)", f"{read:,}", f"{baseline:.2f}", f"{read / baseline:,.0f}", "1.00"),
        (
            f"evaluate every rule ({run.alerts:,} alerts)",
            f"{run.entries:,}",
            f"{full:.2f}",
            f"{run.entries / full:,.0f}",
            f"{full / baseline:.2f}",
        ),
        (
            f"incremental (+10,000; {more.alerts:,} alerts)",
            f"{more.entries:,}",
            f"{incremental:.2f}",
            f"{more.entries / incremental:,.0f}",
            "",
        ),
    ]


async def _timing(hub: Hub) -> list[tuple[str, str, str]]:
    async with hub.sessions() as session:
        await load_catalog(session, CATALOG, "bench.yaml")
        await session.commit()
        departments = {d.code: d.id for d in (await repo.departments(session)).values()}
        items = {code: item_id for item_id, code, *_ in await _item_rows(session)}
    await _insert(hub, Principal, [_principal(departments["xzfw"])])
    await _insert(
        hub,
        Applicant,
        [
            {
                "kind": "person",
                "id_number": _id_number(n),
                "name": f"申请人{n}",
                "created_at": START,
                "created_by_department_id": departments["xzfw"],
            }
            for n in range(CASES)
        ],
    )
    rng = random.Random(7)
    cases = []
    for n in range(CASES):
        accepted = START + timedelta(days=rng.randrange(0, 20))
        cases.append(
            {
                "id": n + 1,
                "receipt_number": f"{accepted:%Y%m%d}-{n:06d}",
                "applicant_id": n + 1,
                "catalog_version_id": 1,
                "window": "综合窗口 1",
                "received_by_principal_id": 1,
                "window_department_id": departments["xzfw"],
                "status": "accepted",
                "opened_at": accepted,
                "accepted_at": accepted,
            }
        )
    await _insert(hub, Case, cases)
    await _insert(
        hub,
        CaseItem,
        [
            {
                "case_id": c["id"],
                "service_item_id": items[("zjj-sgxk", "sw-ns")[n % 2]],
                "accepted_at": c["accepted_at"],
            }
            for n, c in enumerate(cases)
        ],
    )
    rules = default_rules()
    now = datetime(2026, 11, 25, 10, tzinfo=UTC)
    async with hub.sessions() as session:
        began = time.perf_counter()
        facts = await load_facts(session, accepted_and_open())
        baseline = time.perf_counter() - began
    results = [("load facts only (baseline)", f"{len(facts):,}", f"{baseline:.2f}")]
    for label in ("first run: store every state", "second run: no change"):
        async with hub.sessions() as session:
            began = time.perf_counter()
            run = await evaluate_timing(session, now, rules)
            await session.commit()
            results.append(
                (f"{label} ({run.warnings:,} warnings)", f"{run.cases:,}", f"{time.perf_counter() - began:.2f}")
            )
    return results


async def _item_rows(session: AsyncSession) -> Sequence[Row[int, str]]:
    from sqlalchemy import select

    from storage.models import ServiceItem

    return (await session.execute(select(ServiceItem.id, ServiceItem.code))).all()


def _principal(department_id: int) -> dict[str, Any]:
    return {
        "name": "bench clerk",
        "role": "clerk",
        "department_id": department_id,
        "token_hash": "0" * 64,
        "token_prefix": "hub_bench",
        "created_at": START,
    }


REGISTER = "mutation($i: RegisterApplicantInput!) { registerApplicant(input: $i) { idNumber } }"
LOOKUP = "query($id: String!) { applicant(idNumber: $id) { idNumber } }"
ALERTS = 'query { supervisionAlerts(rule: "anomaly.no_relationship", first: 500) { summary } }'
TRIALS = 5


def _served_alert_delays(url: str) -> list[tuple[str, str]]:
    """`hub serve` with its background evaluator: a window clerk looks up an applicant their centre
    has no case of (rule anomaly.no_relationship); the seconds until the office sees the alert."""
    from stdnum.cn import ric

    env = {"HUB_SUPERVISION_INTERVAL": "60", "HUB_SUPERVISION_LOG_INTERVAL": "2"}
    rows = []
    with running_hub(url, env=env) as served:
        clerk = {"Authorization": f"Bearer {served.token('clerk', 'xzfw')}"}
        office = {"Authorization": f"Bearer {served.token('auditor', 'jcj')}"}
        time.sleep(5)  # the evaluation at start-up judges the demo's log
        for trial in range(TRIALS):
            first17 = f"11010119850101{trial + 1:03d}"
            id_number = first17 + ric.calc_check_digit(first17 + "0")
            person = {"kind": "PERSON", "idNumber": id_number, "name": f"测试{trial}"}
            graphql_once(served.url, graphql_body(REGISTER, {"i": person}), clerk)
            graphql_once(served.url, graphql_body(LOOKUP, {"id": id_number}), clerk)
            read_at = time.perf_counter()
            while True:
                alerts = graphql_once(served.url, graphql_body(ALERTS), office)["supervisionAlerts"]
                if any(id_number in alert["summary"] for alert in alerts):
                    break
                if time.perf_counter() - read_at > 60:
                    raise RuntimeError("no alert within 60 s")
                time.sleep(0.1)
            rows.append((f"trial {trial + 1}", f"{time.perf_counter() - read_at:.2f}"))
    return rows


def _run(url: str, label: str) -> None:
    upgrade(url)
    hub = build_hub(Settings(database_url=url))

    async def both() -> tuple[list[tuple[str, str, str, str, str]], list[tuple[str, str, str]]]:
        try:
            return await _rules(hub), await _timing(hub)
        finally:
            await hub.close()

    rules, timing = asyncio.run(both())
    print(f"\n{label}: anomaly rules over {ENTRIES:,} entries")
    print_table([("run", "entries", "seconds", "entries/s", "x baseline time"), *rules])
    print(f"\n{label}: timing of {CASES:,} open cases")
    print_table([("run", "cases", "seconds"), *timing])


def main() -> None:
    with sqlite_database() as url:
        _run(url, "SQLite")
    with postgres_database() as url:
        _run(url, "PostgreSQL")
    with postgres_database() as url:
        print("\nPostgreSQL: hub serve, seconds from a read to its alert (HUB_SUPERVISION_LOG_INTERVAL=2)")
        print_table([("trial", "seconds"), *_served_alert_delays(url)])


if __name__ == "__main__":
    main()
