"""Supervision: rules, the timing facts of cases, timing states and warnings, watermarks, alerts.

The timing facts are read for a whole population of cases (every accepted case, or every case that
could have been settled in a month) with one query per kind of fact, filtered by a join on the
cases table rather than by lists of ids, so 100,000 cases cost six queries.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Executable, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import (
    AccessEntry,
    AuditLogState,
    Department,
    ServiceItem,
    ServiceItemDepartment,
)
from storage.models.cases import (
    AttachmentOrigin,
    Case,
    CaseItem,
    CaseMaterial,
    Decision,
    Opinion,
    ReviewPause,
    ReviewTask,
)
from storage.models.supervision import (
    Alert,
    AlertEvent,
    Complaint,
    HourlyReads,
    Sample,
    SupervisionRule,
    TimingState,
    TimingWarning,
    Watermark,
)
from storage.repositories import driver

# Rules.


async def rules(session: AsyncSession) -> Sequence[SupervisionRule]:
    return (await session.execute(select(SupervisionRule))).scalars().all()


async def save_rule(session: AsyncSession, code: str, enabled: bool, params: str, now: datetime) -> None:
    row = await session.get(SupervisionRule, code)
    if row is None:
        session.add(SupervisionRule(code=code, enabled=enabled, params=params, loaded_at=now))
    else:
        row.enabled, row.params, row.loaded_at = enabled, params, now
    await session.flush()


# Timing facts of a population of cases.


async def _core(session: AsyncSession, statement: Executable) -> Sequence[Any]:
    """A plain select on the session's connection: Core rows, without the ORM's result machinery, for
    the 100,000 rows of a population."""
    return (await (await session.connection()).execute(statement)).all()


async def case_rows(session: AsyncSession, where: ColumnElement[bool]) -> Sequence[Any]:
    statement = select(
        Case.id,
        Case.receipt_number,
        Case.window,
        Case.window_department_id,
        Case.status,
        Case.accepted_at,
        Case.completed_at,
    ).where(where)
    return await _core(session, statement.order_by(Case.id))


async def case_item_rows(session: AsyncSession, where: ColumnElement[bool]) -> Sequence[Any]:
    statement = (
        select(
            CaseItem.case_id,
            ServiceItem.id,
            ServiceItem.code,
            ServiceItem.promised_days,
            ServiceItem.statutory_days,
            ServiceItem.silence_is_consent,
            CaseItem.accepted_at,
        )
        .join(Case, Case.id == CaseItem.case_id)
        .join(ServiceItem, ServiceItem.id == CaseItem.service_item_id)
        .where(where)
        .order_by(CaseItem.case_id, ServiceItem.code)
    )
    return await _core(session, statement)


async def departments_of_items(session: AsyncSession) -> dict[int, list[int]]:
    """Every service item's departments (the catalogue is small: read whole)."""
    result: dict[int, list[int]] = defaultdict(list)
    rows = await session.execute(
        select(ServiceItemDepartment.service_item_id, ServiceItemDepartment.department_id).order_by(
            ServiceItemDepartment.department_id
        )
    )
    for item_id, department_id in rows:
        result[item_id].append(department_id)
    return result


async def opinion_rows(session: AsyncSession, where: ColumnElement[bool]) -> Sequence[Any]:
    """Every opinion of the cases, oldest revision first (the last one per department counts)."""
    statement = (
        select(Opinion.case_id, Opinion.department_id, Opinion.revision, Opinion.decision, Opinion.recorded_at)
        .join(Case, Case.id == Opinion.case_id)
        .where(where)
        .order_by(Opinion.case_id, Opinion.department_id, Opinion.revision)
    )
    return await _core(session, statement)


async def pause_rows(session: AsyncSession, where: ColumnElement[bool]) -> Sequence[Any]:
    """Every excluded period (art. 45) of the cases: case, department, reason, start, end."""
    statement = (
        select(
            ReviewPause.case_id,
            ReviewPause.department_id,
            ReviewPause.reason,
            ReviewPause.started_at,
            ReviewPause.ended_at,
        )
        .join(Case, Case.id == ReviewPause.case_id)
        .where(where)
        .order_by(ReviewPause.case_id, ReviewPause.started_at, ReviewPause.id)
    )
    return await _core(session, statement)


async def handed_in_rows(session: AsyncSession, where: ColumnElement[bool]) -> Sequence[Any]:
    """When materials were handed in (promises not), only for cases where a correction was asked:
    a hand-in ends a correction's pause and matters nowhere else in timing, so the cases without
    one (nearly all) cost nothing here."""
    asked = (
        select(Opinion.id)
        .where(Opinion.case_id == CaseMaterial.case_id, Opinion.decision == Decision.NEEDS_CORRECTION.value)
        .exists()
    )
    statement = (
        select(CaseMaterial.case_id, CaseMaterial.attached_at)
        .join(Case, Case.id == CaseMaterial.case_id)
        .where(where, CaseMaterial.origin != AttachmentOrigin.PROMISED.value, asked)
        .order_by(CaseMaterial.case_id, CaseMaterial.attached_at)
    )
    return await _core(session, statement)


async def departments(session: AsyncSession) -> dict[int, Department]:
    return {d.id: d for d in (await session.execute(select(Department))).scalars()}


async def department(session: AsyncSession, department_id: int) -> Department | None:
    return await session.get(Department, department_id)


async def department_by_code(session: AsyncSession, code: str) -> Department | None:
    return (await session.execute(select(Department).where(Department.code == code))).scalar_one_or_none()


async def supervision_office_codes(session: AsyncSession) -> list[str]:
    rows = await session.execute(select(Department.code).where(Department.is_supervision).order_by(Department.code))
    return list(rows.scalars())


# Timing states and warnings.


async def timing_states(session: AsyncSession, where: ColumnElement[bool]) -> dict[tuple[int, int], tuple[int, str]]:
    """(case id, department id) -> (row id, state): plain rows, as 100,000 cases need."""
    statement = (
        select(TimingState.case_id, TimingState.department_id, TimingState.id, TimingState.state)
        .join(Case, Case.id == TimingState.case_id)
        .where(where)
    )
    return {(row[0], row[1]): (row[2], row[3]) for row in await _core(session, statement)}


# States and warnings of 100,000 cases are written through the driver, PostgreSQL's COPY or one
# executemany (SQLite): an ORM bulk insert of 300,000 rows costs several times the judging. The
# PostgreSQL types of the columns are what the SQLite path reads to find the times.
_STATE_COLUMNS = {"case_id": "bigint", "department_id": "bigint", "state": "text", "since": "timestamptz"}
_WARNING_COLUMNS = {
    "case_id": "bigint",
    "department_id": "bigint",
    "state": "text",
    "previous_state": "text",
    "raised_at": "timestamptz",
    "raised_on": "date",
    "addressed_to": "text",
}


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return _sqlite_time(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


async def _insert_rows(
    session: AsyncSession, table: str, columns: dict[str, str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """Rows as tuples in the order of `columns` (name -> PostgreSQL type)."""
    if not rows:
        return
    async with _driver(session) as (dialect, raw):
        names = ", ".join(columns)
        if dialect == "postgresql":
            # COPY, in the session's transaction: each value encoded once, no arrays to build and check.
            await raw.copy_records_to_table(table, records=rows, columns=list(columns))
            return
        marks = ", ".join("?" * len(columns))
        times = [n for n, kind in enumerate(columns.values()) if kind in ("timestamptz", "date")]
        # The times of 100,000 rows are mostly one evaluation's `now`: each distinct one is written out once.
        text = {value: _sqlite_value(value) for value in {row[n] for n in times for row in rows} if value is not None}

        def stored(row: tuple[Any, ...]) -> list[Any]:
            values = list(row)
            for n in times:
                values[n] = text.get(values[n])
            return values

        await raw.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", [stored(row) for row in rows])


async def add_timing_states(session: AsyncSession, rows: Sequence[tuple[int, int, str, datetime]]) -> None:
    """Rows of (case id, department id, state, since)."""
    await _insert_rows(session, "supervision_timing_states", _STATE_COLUMNS, rows)


async def update_timing_states(session: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Rows of `id`, `state`, `since`: one statement (PostgreSQL) or one executemany (SQLite)."""
    if not rows:
        return
    async with _driver(session) as (dialect, raw):
        if dialect == "postgresql":
            await raw.execute(
                "UPDATE supervision_timing_states AS t SET state = u.state, since = u.since "
                "FROM unnest($1::bigint[], $2::text[], $3::timestamptz[]) AS u(id, state, since) WHERE t.id = u.id",
                [row["id"] for row in rows],
                [row["state"] for row in rows],
                [row["since"] for row in rows],
            )
            return
        await raw.executemany(
            "UPDATE supervision_timing_states SET state = ?, since = ? WHERE id = ?",
            [(row["state"], _sqlite_time(row["since"]), row["id"]) for row in rows],
        )


async def add_warnings(session: AsyncSession, rows: Sequence[tuple[int, int, str, str, datetime, date, str]]) -> None:
    """Rows of (case id, department id, state, previous state, raised at, raised on, addressed to)."""
    await _insert_rows(session, "supervision_warnings", _WARNING_COLUMNS, rows)


async def warnings(
    session: AsyncSession,
    *,
    since: date | None = None,
    until: date | None = None,
    department_id: int | None = None,
    limit: int = 100,
) -> Sequence[tuple[TimingWarning, str]]:
    """Warnings, newest first, with their case's receipt number."""
    statement = select(TimingWarning, Case.receipt_number).join(Case, Case.id == TimingWarning.case_id)
    if since is not None:
        statement = statement.where(TimingWarning.raised_on >= since)
    if until is not None:
        statement = statement.where(TimingWarning.raised_on <= until)
    if department_id is not None:
        statement = statement.where(TimingWarning.department_id == department_id)
    rows = await session.execute(statement.order_by(TimingWarning.id.desc()).limit(limit))
    return [(warning, receipt) for warning, receipt in rows]


async def red_cases_by_department(session: AsyncSession, since: date, until: date) -> dict[int, int]:
    """Per department, the distinct cases whose review of it turned RED between two days."""
    statement = (
        select(TimingWarning.department_id, func.count(func.distinct(TimingWarning.case_id)))
        .where(TimingWarning.state == "red", TimingWarning.department_id != 0)
        .where(TimingWarning.raised_on >= since, TimingWarning.raised_on <= until)
        .group_by(TimingWarning.department_id)
    )
    return {int(d): int(n) for d, n in await session.execute(statement)}


async def warning_counts(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(select(TimingWarning.state, func.count()).group_by(TimingWarning.state))
    return {str(state): int(n) for state, n in rows}


# The evaluation's lock and watermarks.

EVALUATION_LOCK_KEY = 0x5355504552  # "SUPER": one evaluator at a time across hub processes


async def lock_evaluation(session: AsyncSession) -> bool:
    """Start the evaluation's transaction holding its lock; False if another process holds it.

    PostgreSQL: a transaction-scoped advisory lock, tried without waiting; and, for the
    transaction, plans made for each statement's values (`plan_cache_mode`): the driver's statements
    are prepared once per connection, and after five runs PostgreSQL would keep one generic plan, which
    for a range of seq it cannot size reads the log's whole range (the volume rule's context: 46 ms
    against 6 for 200,000 entries of one hour). SQLite: the first statement is a write, which takes
    the database's single write lock.
    """
    if session.get_bind().dialect.name == "postgresql":
        locked = func.pg_try_advisory_xact_lock(EVALUATION_LOCK_KEY)
        custom_plans = func.set_config("plan_cache_mode", "force_custom_plan", True)
        return bool((await session.execute(select(locked, custom_plans))).one()[0])
    await session.execute(update(Watermark).where(Watermark.name == "").values(last_seq=0))
    return True


async def watermark(session: AsyncSession, name: str) -> int:
    row = await session.get(Watermark, name)
    return row.last_seq if row is not None else 0


async def save_watermark(session: AsyncSession, name: str, last_seq: int) -> None:
    row = await session.get(Watermark, name)
    if row is None:
        session.add(Watermark(name=name, last_seq=last_seq))
    else:
        row.last_seq = last_seq
    await session.flush()


# Alerts.


async def alert_keys(session: AsyncSession, keys: Sequence[str]) -> set[str]:
    found: set[str] = set()
    keys = list(keys)
    for start in range(0, len(keys), 1000):
        chunk = keys[start : start + 1000]
        found.update((await session.execute(select(Alert.dedupe_key).where(Alert.dedupe_key.in_(chunk)))).scalars())
    return found


async def add_alerts(session: AsyncSession, alerts: Sequence[dict[str, Any]], note: str) -> None:
    """New alerts (rows of Alert's columns), each with its first event: raised, no principal.

    Two inserts through the driver and a look-up of the new ids by dedupe key, not one round trip each.
    """
    if not alerts:
        return
    await _insert_rows(
        session, "supervision_alerts", _ALERT_COLUMNS, [tuple(row[name] for name in _ALERT_COLUMNS) for row in alerts]
    )
    keys = [row["dedupe_key"] for row in alerts]
    ids: dict[str, int] = {}
    for start in range(0, len(keys), 1000):
        statement = select(Alert.dedupe_key, Alert.id).where(Alert.dedupe_key.in_(keys[start : start + 1000]))
        ids.update((str(key), int(alert_id)) for key, alert_id in await session.execute(statement))
    await _insert_rows(
        session,
        "supervision_alert_events",
        _ALERT_EVENT_COLUMNS,
        [
            (ids[row["dedupe_key"]], row["status"], None, note.format(rule=row["rule"]), row["raised_at"])
            for row in alerts
        ],
    )


_ALERT_COLUMNS = {
    "rule": "text",
    "dedupe_key": "text",
    "principal_id": "bigint",
    "department_code": "text",
    "summary": "text",
    "seqs": "text",
    "raised_at": "timestamptz",
    "status": "text",
    "respond_by": "date",
    "escalated": "boolean",
}
_ALERT_EVENT_COLUMNS = {
    "alert_id": "bigint",
    "status": "text",
    "principal_id": "bigint",
    "note": "text",
    "at": "timestamptz",
}


async def alerts(
    session: AsyncSession, *, status: str | None = None, rule: str | None = None, limit: int = 100
) -> Sequence[Alert]:
    statement = select(Alert)
    if status is not None:
        statement = statement.where(Alert.status == status)
    if rule is not None:
        statement = statement.where(Alert.rule == rule)
    return (await session.execute(statement.order_by(Alert.id.desc()).limit(limit))).scalars().all()


async def alerts_awaiting_explanation(session: AsyncSession) -> Sequence[Alert]:
    statement = select(Alert).where(Alert.status == "explanation_requested", Alert.escalated.is_(False))
    return (await session.execute(statement.order_by(Alert.id))).scalars().all()


async def alert_by_id(session: AsyncSession, alert_id: int, *, for_update: bool = False) -> Alert | None:
    statement = select(Alert).where(Alert.id == alert_id)
    if for_update:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    return (await session.execute(statement)).scalar_one_or_none()


async def alert_events(session: AsyncSession, alert_ids: Sequence[int]) -> dict[int, list[AlertEvent]]:
    result: dict[int, list[AlertEvent]] = defaultdict(list)
    if not alert_ids:
        return result
    rows = await session.execute(
        select(AlertEvent).where(AlertEvent.alert_id.in_(list(alert_ids))).order_by(AlertEvent.id)
    )
    for event in rows.scalars():
        result[event.alert_id].append(event)
    return result


async def alert_counts(session: AsyncSession) -> dict[tuple[str, str], int]:
    rows = await session.execute(select(Alert.rule, Alert.status, func.count()).group_by(Alert.rule, Alert.status))
    return {(rule, status): count for rule, status, count in rows}


# What the anomaly rules read of the log and of the cases.


async def sequenced_size(session: AsyncSession) -> int:
    """How many entries the log has sequenced (the tree size)."""
    size = (await session.execute(select(AuditLogState.tree_size))).scalar_one_or_none()
    return int(size or 0)


# The same columns as plain driver rows, the time as microseconds since the epoch (UTC) worked out
# by the database: the rules judge millions of entries, and a Row with a converted datetime per
# entry costs more than the rules themselves.
_ENTRY_TUPLE_COLUMNS = "seq, {micros}, principal_id, department_code, role, action, outcome, applicant_ref, purpose"
_MICROS = {
    # SQLite stores 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC): whole seconds (unixepoch, SQLite 3.38 and
    # later), then the six digits.
    "sqlite": "unixepoch(recorded_at) * 1000000 + CAST(substr(recorded_at, 21, 6) AS INTEGER)",
    # numeric since PostgreSQL 14: exact.
    "postgresql": "CAST(extract(epoch FROM recorded_at) * 1000000 AS BIGINT)",
}
# An entry's hour (UTC), as cheap as the dialect makes it: SQLite's text cut after the hour
# ('YYYY-MM-DD HH'), PostgreSQL's time truncated to the hour; `_hour_of` makes it hours since the epoch.
_HOUR = {
    "sqlite": "substr(recorded_at, 1, 13)",
    "postgresql": "date_trunc('hour', recorded_at AT TIME ZONE 'UTC')",
}


# An entry's hour as hours since the epoch (UTC), as `supervision_hour_applicants` keeps it.
_HOUR_NUMBER = {
    "sqlite": "CAST(strftime('%s', substr(recorded_at, 1, 13) || ':00:00') AS INTEGER) / 3600",
    "postgresql": "CAST(floor(extract(epoch FROM recorded_at) / 3600) AS BIGINT)",
}


def _hour_of(key: Any) -> int:
    if isinstance(key, str):
        key = datetime.strptime(key, "%Y-%m-%d %H")
    return int((key.replace(tzinfo=UTC) - _EPOCH) // timedelta(hours=1))


# Python's str.strip(): every character for which str.isspace() is true, so that the database
# trims an address exactly as the rules always have.
_WHITESPACE = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
_HOUR_MICROS = 3_600_000_000
_TRIM = {"sqlite": "trim({}, ?)", "postgresql": "btrim({}, ?)"}


@asynccontextmanager
async def _driver(session: AsyncSession) -> AsyncIterator[tuple[str, Any]]:
    """The dialect's name and the driver's connection (aiosqlite or asyncpg) in the session's
    transaction, under SQLAlchemy's lock for it (driver.raw: a request's fields share the connection)."""
    connection = await session.connection()
    async with driver.raw(connection) as raw:
        yield connection.dialect.name, raw


async def _fetch(session: AsyncSession, sql: str, params: Sequence[Any]) -> list[Any]:
    """Rows straight from the driver (aiosqlite tuples, asyncpg records) of a query written with `?`
    marks (numbered `$n` for asyncpg) and `{micros}`, `{hour}` and `{trim}` for the dialect's own
    expressions; a time among `params` is given as µs since the epoch (`_Moment`)."""
    async with _driver(session) as (dialect, raw):
        sql, values = _dialect_sql(dialect, sql, params)
        if dialect == "postgresql":
            return list(await raw.fetch(sql, *values))
        return list(await raw.execute_fetchall(sql, values))


async def _execute(session: AsyncSession, sql: str, params: Sequence[Any]) -> None:
    """A statement written as for `_fetch`, returning nothing."""
    async with _driver(session) as (dialect, raw):
        sql, values = _dialect_sql(dialect, sql, params)
        if dialect == "postgresql":
            await raw.execute(sql, *values)
        else:
            await (await raw.execute(sql, values)).close()


def _dialect_sql(dialect: str, sql: str, params: Sequence[Any]) -> tuple[str, list[Any]]:
    sql = sql.format(
        micros=_MICROS[dialect],
        hour=_HOUR[dialect],
        hour_number=_HOUR_NUMBER[dialect],
        trim=_TRIM[dialect].format("v.value"),
    )
    values = [_moment_value(dialect, p.micros) if isinstance(p, _Moment) else p for p in params]
    if dialect == "postgresql":
        numbers = iter(range(1, len(values) + 1))
        sql = re.sub(r"\?", lambda _: f"${next(numbers)}", sql)
    return sql, values


@dataclass(frozen=True, slots=True)
class _Moment:
    """A time as µs since the epoch, compared with `recorded_at` as the column stores it."""

    micros: int


def _moment_value(dialect: str, micros: int) -> Any:
    moment = datetime.fromtimestamp(0, UTC) + timedelta(microseconds=micros)
    # SQLite's text (which sorts as the times do), PostgreSQL's timestamptz.
    return _sqlite_time(moment) if dialect == "sqlite" else moment


def _marks(values: Sequence[Any]) -> str:
    return ", ".join("?" * len(values))


async def entry_tuples_between(session: AsyncSession, after_seq: int, upto_seq: int) -> list[Any]:
    """(seq, recorded at in µs, principal, department, role, action, outcome, applicant, purpose)."""
    columns = _ENTRY_TUPLE_COLUMNS.format(micros="{micros}")
    return await _fetch(
        session, f"SELECT {columns} FROM access_entries WHERE seq > ? AND seq <= ? ORDER BY seq", (after_seq, upto_seq)
    )


async def first_seq_recorded_since(
    session: AsyncSession, since_micros: int, from_seq: int, upto_seq: int
) -> int | None:
    """The first seq in [from_seq, upto_seq] of an entry recorded at or after a moment (µs), if any."""
    moment = datetime.fromtimestamp(0, UTC) + timedelta(microseconds=since_micros)
    statement = select(func.min(AccessEntry.seq)).where(
        AccessEntry.seq >= from_seq, AccessEntry.seq <= upto_seq, AccessEntry.recorded_at >= moment
    )
    found = (await session.execute(statement)).scalar_one_or_none()
    return None if found is None else int(found)


# The anomaly rules' questions about one batch of the log (a range of seq numbers). Each is a set
# operation the database does in C over the batch: only the entries or groups some rule could flag
# come back, so an entry no rule can flag never becomes a Python object.


async def span_between(session: AsyncSession, after_seq: int, upto_seq: int) -> tuple[int, int, int] | None:
    """(first seq, earliest and latest recorded time in µs) of the entries in (after_seq, upto_seq]."""
    rows = await _fetch(
        session,
        "SELECT min(seq), min(recorded_at), max(recorded_at) FROM access_entries WHERE seq > ? AND seq <= ?",
        (after_seq, upto_seq),
    )
    first, earliest, latest = rows[0]
    return None if first is None else (int(first), _micros_of(earliest), _micros_of(latest))


def _micros_of(moment: Any) -> int:
    """µs since the epoch of a time as the driver returns the column: SQLite's text, asyncpg's datetime."""
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment).replace(tzinfo=UTC)
    return int((moment - _EPOCH) // _ONE_MICROSECOND)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MICROSECOND = timedelta(microseconds=1)


async def latest_recorded_between(session: AsyncSession, from_seq: int, upto_seq: int) -> int | None:
    """The latest recorded time (µs) of the entries with seq in [from_seq, upto_seq], if any."""
    rows = await _fetch(
        session, "SELECT max({micros}) FROM access_entries WHERE seq >= ? AND seq <= ?", (from_seq, upto_seq)
    )
    return None if rows[0][0] is None else int(rows[0][0])


@dataclass(frozen=True, slots=True)
class Reads:
    """What makes an entry a read of applicant data: allowed, naming an applicant, one of `actions`."""

    actions: Sequence[str]

    def sql(self, alias: str = "") -> tuple[str, list[Any]]:
        a = f"{alias}." if alias else ""
        return (
            f"{a}outcome = 'allowed' AND {a}applicant_ref <> '' AND {a}action IN ({_marks(self.actions)})",
            list(self.actions),
        )


def _related_pairs(reads: Reads) -> tuple[str, list[Any]]:
    """A common table `related` of the batch's (applicant, department) pairs whose applicant has a
    case received at that department or reviewed by it, for the batch (seq > ? AND seq <= ?).

    Looked up once per distinct pair, not once per entry: a batch holds thousands of reads of a
    few applicants at a few departments, and the look-up per entry was the largest part of the
    supervision's time in PostgreSQL (docs/performance.md, "session 8")."""
    read, params = reads.sql("e")
    sql = (
        "WITH pairs AS (SELECT DISTINCT e.applicant_ref, e.department_code FROM access_entries e "
        f"WHERE e.seq > ? AND e.seq <= ? AND {read}), "
        # Materialised: computed once, whatever the planner's estimate of the batch's size (a
        # nested loop over an inlined `related` recomputed it for every entry).
        "related AS MATERIALIZED (SELECT p.applicant_ref, p.department_code FROM pairs p WHERE "
        # CROSS JOIN keeps SQLite's order (the applicant, their cases, then the departments) however
        # few statistics it has; PostgreSQL plans it as any join.
        "EXISTS (SELECT 1 FROM applicants a CROSS JOIN cases c CROSS JOIN departments d "
        "WHERE a.id_number = p.applicant_ref AND c.applicant_id = a.id "
        "AND d.id = c.window_department_id AND d.code = p.department_code) "
        "OR EXISTS (SELECT 1 FROM applicants a CROSS JOIN cases c CROSS JOIN review_tasks t "
        "CROSS JOIN departments d WHERE a.id_number = p.applicant_ref AND c.applicant_id = a.id "
        "AND t.case_id = c.id AND d.id = t.department_id AND d.code = p.department_code)) "
    )
    return sql, params


def _unrelated(reads: Reads, declared: Sequence[str]) -> tuple[str, list[Any]]:
    """A read whose purpose declares none of the `declared` prefixes, of an applicant with no case
    received at the reader's department or reviewed by it (no row `r` of `related` joined)."""
    read, params = reads.sql("e")
    undeclared = " AND ".join(f"substr(e.purpose, 1, {len(prefix)}) <> ?" for prefix in declared) or "1 = 1"
    return f"{read} AND {undeclared} AND r.applicant_ref IS NULL", params + list(declared)


async def entries_to_judge(
    session: AsyncSession,
    after_seq: int,
    upto_seq: int,
    reads: Reads,
    *,
    refusals: bool,
    periods: Sequence[tuple[int, int]],
    applicants: Sequence[str],
    unrelated_unless: Sequence[str] | None,
    evidence: int,
) -> list[Any]:
    """The entries of (after_seq, upto_seq] one rule or another looks at, in seq order: refusals by a
    principal (if `refusals`), and reads recorded in one of `periods` ([start, end) in µs), or naming one
    of `applicants`, or (unless `unrelated_unless` is None) of an applicant with no case at the
    reader's department and a purpose declaring none of the prefixes `unrelated_unless`.

    Of the reads, only the first `evidence` of each principal, applicant, hour and unrelated flag: a
    finding keeps that many as its evidence, and each read rule's finding gathers reads of one such
    group or of several (a principal's day, an applicant's day), so the first of a finding's reads
    are among the first of their groups. A clerk reading one applicant all night no longer sends
    thousands of reads to Python for one alert. Refusals come back all: the probing rule counts them.

    Entry tuples (`entry_tuples_between`) with a tenth column: 1 for such an unrelated read, else 0."""
    read, read_params = reads.sql("e")
    wanted: list[str] = []
    params: list[Any] = []
    hours = sum(end - start for start, end in periods) // _HOUR_MICROS
    if periods and hours <= _IN_CHUNK and (await session.connection()).dialect.name == "sqlite":
        # One look-up of the entry's hour in the periods' hours, rather than comparing text with each.
        keys = [
            (_EPOCH + timedelta(hours=hour)).strftime("%Y-%m-%d %H")
            for start, end in periods
            for hour in range(start // _HOUR_MICROS, end // _HOUR_MICROS)
        ]
        wanted.append(f"substr(e.recorded_at, 1, 13) IN ({_marks(keys)})")
        params += keys
    else:
        for start, end in periods:
            wanted.append("(e.recorded_at >= ? AND e.recorded_at < ?)")
            params += [_Moment(start), _Moment(end)]
    if applicants:
        wanted.append(f"e.applicant_ref IN ({_marks(applicants)})")
        params += list(applicants)
    flag, flag_params = "0", list[Any]()
    related, related_params, join = "", list[Any](), ""
    if unrelated_unless is not None:
        unrelated, flag_params = _unrelated(reads, unrelated_unless)
        flag = f"CASE WHEN {unrelated} THEN 1 ELSE 0 END"
        wanted.append(f"({unrelated})")
        params += flag_params
        related, related_params = _related_pairs(reads)
        related_params = [after_seq, upto_seq, *related_params]
        join = "LEFT JOIN related r ON r.applicant_ref = e.applicant_ref AND r.department_code = e.department_code "
    conditions = []
    where_params: list[Any] = []
    if refusals:
        conditions.append("(e.outcome = 'denied' AND e.principal_id IS NOT NULL)")
    if wanted:
        conditions.append(f"({read} AND ({' OR '.join(wanted)}))")
        where_params += read_params + params
    if not conditions:
        return []
    names = _ENTRY_TUPLE_COLUMNS.replace("{micros}", "micros")
    # Qualified: `related` has an applicant and a department column too.
    columns = ", ".join(f"e.{c}" if c != "{micros}" else f"{c} AS micros" for c in _ENTRY_TUPLE_COLUMNS.split(", "))
    candidates = (
        f"SELECT {columns}, {flag} AS unrelated, {{hour}} AS hour FROM access_entries e {join}"
        f"WHERE e.seq > ? AND e.seq <= ? AND ({' OR '.join(conditions)})"
    )
    sql = (
        f"{related}SELECT {names}, unrelated FROM (SELECT c.*, row_number() OVER "
        f"(PARTITION BY principal_id, applicant_ref, hour, unrelated ORDER BY seq) AS n FROM ({candidates}) c) t "
        "WHERE outcome <> 'allowed' OR n <= ? ORDER BY seq"
    )
    arguments = [*related_params, *flag_params, after_seq, upto_seq, *where_params, evidence]
    return await _fetch(session, sql, arguments)


# Its conditions are those of the partial index ix_access_entries_refusals (storage/models/audit.py),
# so it reads the span's refusals alone, not every entry of the span.
REFUSALS_SINCE = (
    f"SELECT {_ENTRY_TUPLE_COLUMNS} FROM access_entries WHERE seq >= ? AND seq <= ? AND recorded_at >= ? "
    "AND outcome = 'denied' AND principal_id IS NOT NULL ORDER BY seq"
)


async def refusals_recorded_since(session: AsyncSession, since_micros: int, from_seq: int, upto_seq: int) -> list[Any]:
    """Refusals by a principal with seq in [from_seq, upto_seq] recorded since a moment (µs), in seq
    order, as entry tuples: the context of a window rule."""
    return await _fetch(session, REFUSALS_SINCE, (from_seq, upto_seq, _Moment(since_micros)))


@dataclass(frozen=True, slots=True)
class BusyHours:
    """The hours of a batch of the log, as the volume rule counts them."""

    # (principal, hour since the epoch, distinct applicants read)
    counts: list[tuple[int, int, int]]
    # principal -> (role, department) of its last entry in the batch
    roles: dict[int, tuple[str, str]]
    # hour since the epoch -> the first seq of the batch's entries (anyone's) recorded in it
    first_seqs: dict[int, int]


@dataclass(frozen=True, slots=True)
class Refill:
    """Fill `supervision_hour_applicants` from the log's reads with seq in [from_seq, upto] recorded
    since a moment (µs): every principal's (`everyone`), or the batch's principals' only."""

    since_micros: int
    from_seq: int
    everyone: bool


async def applicants_per_hour(
    session: AsyncSession, reads: Reads, since_micros: int, after_seq: int, upto_seq: int, refill: Refill | None
) -> BusyHours:
    """Every hour in which the entries of (after_seq, upto_seq] recorded since a moment (µs) have an
    entry of a principal, with the distinct applicants it read in the hour, as counted in
    `supervision_hour_applicants`.

    The sets are kept up to date here: the batch's reads are added to them, and with `refill`, the
    log's earlier reads too (through the (principal, seq) index for the batch's principals). Without
    it the log's earlier entries are not read again: a pass costs its batch, not its principals'
    hour so far (docs/supervision.md, "The volume rule's sets")."""
    read, params = reads.sql()
    insert = "INSERT INTO supervision_hour_applicants (principal_id, hour, applicant_ref) SELECT DISTINCT "
    insert += "principal_id, {hour_number}, applicant_ref FROM access_entries WHERE "
    values: list[Any]
    if refill is None:
        where, values = "seq > ? AND seq <= ? AND principal_id IS NOT NULL", [after_seq, upto_seq]
    elif refill.everyone:
        where = "seq >= ? AND seq <= ? AND recorded_at >= ? AND principal_id IS NOT NULL"
        values = [refill.from_seq, upto_seq, _Moment(refill.since_micros)]
    else:
        where = (
            "principal_id IN (SELECT DISTINCT principal_id FROM access_entries WHERE seq > ? AND seq <= ? "
            "AND principal_id IS NOT NULL) AND seq >= ? AND seq <= ? AND recorded_at >= ?"
        )
        values = [after_seq, upto_seq, refill.from_seq, upto_seq, _Moment(refill.since_micros)]
    await _execute(session, insert + f"{where} AND {read} ON CONFLICT DO NOTHING", [*values, *params])
    since = _Moment(since_micros)
    rows = await _fetch(
        session,
        "SELECT principal_id, {hour_number}, max(seq), min(seq) FROM access_entries "
        "WHERE seq > ? AND seq <= ? AND recorded_at >= ? GROUP BY 1, 2",
        [after_seq, upto_seq, since],
    )
    touched: set[tuple[int, int]] = set()
    last_seq: dict[int, int] = {}
    first_seqs: dict[int, int] = {}
    for p, hour, last, first in rows:
        hour = int(hour)
        first_seqs[hour] = min(first, first_seqs.get(hour, first))
        if p is None:
            continue
        touched.add((int(p), hour))
        last_seq[int(p)] = max(last, last_seq.get(int(p), 0))
    counts: list[tuple[int, int, int]] = []
    if touched:
        hours = [hour for _, hour in touched]
        for principals in _chunks(sorted(last_seq)):
            for p, hour, n in await _fetch(
                session,
                "SELECT principal_id, hour, count(*) FROM supervision_hour_applicants "
                f"WHERE principal_id IN ({_marks(principals)}) AND hour >= ? AND hour <= ? GROUP BY 1, 2",
                [*principals, min(hours), max(hours)],
            ):
                if (int(p), int(hour)) in touched and n:
                    counts.append((int(p), int(hour), int(n)))
    counts.sort(key=lambda count: (count[1], count[0]))
    if not counts:
        return BusyHours([], {}, first_seqs)
    seqs = sorted(last_seq.values())
    roles: dict[int, tuple[str, str]] = {}
    for chunk in _chunks(seqs):
        sql = f"SELECT principal_id, role, department_code FROM access_entries WHERE seq IN ({_marks(chunk)})"
        roles.update((int(p), (role, department)) for p, role, department in await _fetch(session, sql, chunk))
    return BusyHours(counts, roles, first_seqs)


async def forget_hour_applicants(session: AsyncSession, before_hour: int) -> None:
    """Drop the sets of hours before `before_hour` (hours since the epoch): their counts stay in
    `supervision_hourly_reads`; a late entry of such an hour is counted from the log."""
    await _execute(session, "DELETE FROM supervision_hour_applicants WHERE hour < ?", [before_hour])


# Values per IN list: well under the drivers' limits on parameters (SQLite 32,766, asyncpg 32,767),
# however many principals a batch names (applicants reading their own data are principals too).
_IN_CHUNK = 5000


def _chunks(values: list[Any]) -> list[list[Any]]:
    return [values[start : start + _IN_CHUNK] for start in range(0, len(values), _IN_CHUNK)]


async def first_reads_in_hours(
    session: AsyncSession,
    reads: Reads,
    hours: Sequence[tuple[int, int]],
    since_micros: int,
    from_seq: int,
    upto_seq: int,
) -> dict[tuple[int, int], list[int]]:
    """(principal, hour since the epoch) -> the seq of each applicant's first read by the principal in
    the hour, in seq order, among the reads with seq in [from_seq, upto_seq] recorded since a moment
    (µs): the evidence of busy hours, in one query."""
    if not hours:
        return {}
    read, params = reads.sql()
    rows = []
    for principals in _chunks(sorted({p for p, _ in hours})):
        rows += await _fetch(
            session,
            f"SELECT principal_id, {{hour}}, min(seq) FROM access_entries WHERE seq >= ? AND seq <= ? "
            f"AND recorded_at >= ? AND principal_id IN ({_marks(principals)}) AND {read} "
            "GROUP BY principal_id, 2, applicant_ref",
            [from_seq, upto_seq, _Moment(since_micros), *principals, *params],
        )
    wanted = set(hours)
    found: dict[tuple[int, int], list[int]] = defaultdict(list)
    keys: dict[Any, int] = {}
    for p, key, seq in rows:
        hour = keys.get(key)
        if hour is None:
            hour = keys[key] = _hour_of(key)
        if (p, hour) in wanted:
            found[p, hour].append(int(seq))
    return {subject: sorted(seqs) for subject, seqs in found.items()}


async def shared_households_read_between(
    session: AsyncSession, reads: Reads, after_seq: int, upto_seq: int
) -> list[tuple[int | None, str, str, str, int, str, str]]:
    """Reads in (after_seq, upto_seq] of applicants who share, with another applicant the same principal
    read there, a surname (the name's first character) and a current address (trimmed as str.strip):
    (principal, surname, address, applicant, seq of its first read, role and department of that read),
    in order of those first reads. Names and addresses stay inside the evaluation."""
    read, params = reads.sql("e")
    address = "{trim}"
    rows = await _fetch(
        session,
        # Each principal's first read of each applicant first, then their names and addresses: a
        # batch holds thousands of reads of a few applicants, and joining every read cost more.
        "WITH first_reads AS (SELECT e.principal_id AS principal_id, e.applicant_ref AS applicant, "
        f"min(e.seq) AS first_seq FROM access_entries e WHERE e.seq > ? AND e.seq <= ? AND {read} "
        "GROUP BY e.principal_id, e.applicant_ref), "
        "household_reads AS ("
        f"SELECT f.principal_id, substr(a.name, 1, 1) AS surname, {address} AS address, f.applicant, f.first_seq "
        "FROM first_reads f JOIN applicants a ON a.id_number = f.applicant "
        "JOIN profile_field_values v ON v.applicant_id = a.id AND v.field = 'address' AND v.is_current "
        "WHERE a.name <> ''), "
        "households AS (SELECT *, count(*) OVER (PARTITION BY principal_id, surname, address) AS members "
        "FROM household_reads WHERE address <> '') "
        "SELECT h.principal_id, h.surname, h.address, h.applicant, h.first_seq, e.role, e.department_code "
        "FROM households h JOIN access_entries e ON e.seq = h.first_seq WHERE h.members >= 2 ORDER BY h.first_seq",
        [after_seq, upto_seq, *params, _WHITESPACE],
    )
    return [tuple(row) for row in rows]


async def hourly_reads(
    session: AsyncSession, principal_ids: Sequence[int], since: datetime
) -> dict[int, dict[datetime, int]]:
    """The principals' busy hours since a moment: principal -> hour -> distinct applicants."""
    result: dict[int, dict[datetime, int]] = defaultdict(dict)
    ids = sorted(set(principal_ids))
    for start in range(0, len(ids), 500):
        statement = select(HourlyReads.principal_id, HourlyReads.hour, HourlyReads.applicants).where(
            HourlyReads.principal_id.in_(ids[start : start + 500]), HourlyReads.hour >= since
        )
        for principal_id, hour, applicants in await _core(session, statement):
            result[principal_id][hour] = applicants
    return result


async def save_hourly_reads(session: AsyncSession, counts: dict[tuple[int, datetime], int]) -> None:
    """Upsert each (principal, hour) count: the counts given are whole hours.

    Through the driver in one statement (PostgreSQL: arrays unnested) or one executemany (SQLite): a
    long log's evaluation stores tens of thousands of hours, and an ORM insert costs more than it."""
    if not counts:
        return
    async with _driver(session) as (dialect, raw):
        upsert = "ON CONFLICT (principal_id, hour) DO UPDATE SET applicants = excluded.applicants"
        if dialect == "postgresql":
            principals, hours, applicants = zip(*((p, hour, n) for (p, hour), n in counts.items()), strict=True)
            await raw.execute(
                "INSERT INTO supervision_hourly_reads (principal_id, hour, applicants) "
                f"SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::bigint[]) {upsert}",
                list(principals),
                list(hours),
                list(applicants),
            )
            return
        # A few hundred hours among tens of thousands of rows: each written out once.
        stored_as = {hour: _sqlite_time(hour) for _, hour in counts}
        await raw.executemany(
            f"INSERT INTO supervision_hourly_reads (principal_id, hour, applicants) VALUES (?, ?, ?) {upsert}",
            [(p, stored_as[hour], n) for (p, hour), n in counts.items()],
        )


def _sqlite_time(moment: datetime) -> str:
    """A UTC time as SQLAlchemy stores it in SQLite (storage/models/base.py, UTCDateTime)."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


# 办不成事.


async def add_complaint(session: AsyncSession, complaint: Complaint) -> Complaint:
    session.add(complaint)
    await session.flush()
    return complaint


async def complaint_by_receipt(
    session: AsyncSession, receipt_number: str, *, for_update: bool = False
) -> Complaint | None:
    statement = select(Complaint).where(Complaint.receipt_number == receipt_number)
    if for_update:
        statement = statement.with_for_update().execution_options(populate_existing=True)
    return (await session.execute(statement)).scalar_one_or_none()


async def complaints(session: AsyncSession, *, status: str | None = None, limit: int = 100) -> Sequence[Complaint]:
    statement = select(Complaint)
    if status is not None:
        statement = statement.where(Complaint.status == status)
    statement = statement.order_by(Complaint.respond_by, Complaint.id).limit(limit)
    return (await session.execute(statement)).scalars().all()


# 抽查.


async def completed_receipts_by_department(
    session: AsyncSession, since: datetime, before: datetime
) -> dict[int, list[str]]:
    """Per reviewing department, the receipt numbers of cases completed in [since, before), sorted."""
    statement = (
        select(ReviewTask.department_id, Case.receipt_number)
        .join(Case, Case.id == ReviewTask.case_id)
        .where(Case.completed_at >= since, Case.completed_at < before)
        .order_by(ReviewTask.department_id, Case.receipt_number)
    )
    result: dict[int, list[str]] = defaultdict(list)
    for department_id, receipt in await session.execute(statement):
        result[department_id].append(receipt)
    return result


async def samples(session: AsyncSession, month: str) -> dict[int, Sample]:
    rows = await session.execute(select(Sample).where(Sample.month == month))
    return {row.department_id: row for row in rows.scalars()}


async def add_samples(session: AsyncSession, rows: Sequence[Sample]) -> None:
    session.add_all(rows)
    await session.flush()
