"""The access log's tables: queueing entries, sequencing them, hash tiles, state, checkpoints."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeAlias

from sqlalchemy import ColumnElement, Row, and_, bindparam, func, insert, or_, select, text, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from storage.models import AccessEntry, AuditCheckpoint, AuditCounter, AuditLogState, AuditTile, Department
from storage.models.base import utcnow
from storage.repositories import driver

STATE_ROW = 1
COUNTER_ROW = 1
EMPTY_ROOT = hashlib.sha256(b"").digest()  # RFC 9162: the root of the empty tree
# pg_advisory_xact_lock key: "hub access log sequencer". Held only while one batch is sequenced.
SEQUENCER_LOCK_KEY = 0x6875622D6C6F67

ENTRY_COLUMNS = (
    AccessEntry.id,
    AccessEntry.seq,
    AccessEntry.recorded_at,
    AccessEntry.request_id,
    AccessEntry.client_address,
    AccessEntry.principal_id,
    AccessEntry.department_code,
    AccessEntry.role,
    AccessEntry.action,
    AccessEntry.outcome,
    AccessEntry.applicant_ref,
    AccessEntry.object_ref,
    AccessEntry.fields,
    AccessEntry.material_types,
    AccessEntry.purpose,
    AccessEntry.reason,
)
# A row of ENTRY_COLUMNS, column for column.
EntryRow: TypeAlias = Row[
    int, int | None, datetime, str, str, int | None, str, str, str, str, str, str, str, str, str, str
]
# A row of ENTRY_COLUMNS of a numbered entry.
NumberedEntryRow: TypeAlias = Row[
    int, int, datetime, str, str, int | None, str, str, str, str, str, str, str, str, str, str
]


# The Table itself (the same object as `AccessEntry.__table__`, which is typed only as a FromClause).
_ENTRY_TABLE = AccessEntry.metadata.tables[AccessEntry.__tablename__]
_QUEUE_INSERT = insert(_ENTRY_TABLE)
# ENTRY_COLUMNS as the table's own columns: a Core statement, read without the ORM (for export).
_ENTRIES_BETWEEN = (
    select(*(_ENTRY_TABLE.c[column.key] for column in ENTRY_COLUMNS))
    .where(_ENTRY_TABLE.c.seq.between(bindparam("first_seq"), bindparam("last_seq")))
    .order_by(_ENTRY_TABLE.c.seq, _ENTRY_TABLE.c.id)
)


async def append_entries(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> None:
    """Queue entries (seq NULL) with one prepared insert for all rows, sent at once; the sequencer
    numbers them later. Core, not ORM: the statement is compiled once and cached, and the rows skip
    the ORM's bulk machinery (half the CPU of a request's log write)."""
    connection = await session.connection()
    await connection.execute(_QUEUE_INSERT, list(rows))


# The queue's insert naming every column but `id` and `seq`, for the driver directly.
QUEUED_COLUMNS: tuple[str, ...] = tuple(c.key for c in _ENTRY_TABLE.columns if c.key not in ("id", "seq"))
_QUEUE_INSERT_ALL = insert(_ENTRY_TABLE).values({name: bindparam(name) for name in QUEUED_COLUMNS})


def _numbered_insert_sql() -> str:
    """PostgreSQL: a batch of entries numbered from the counter and inserted, in one statement.

    $1 is the batch's size, then one array per column of QUEUED_COLUMNS. The counter's update
    takes its row lock, held to the commit: batches commit in number order (AuditCounter).
    """
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    # Arrays of the columns' types without their lengths: an explicit cast to varchar(64) would cut
    # a longer value; the insert's own cast refuses it, as a queued entry's insert does.
    arrays = ", ".join(
        f"CAST(${n} AS {_ENTRY_TABLE.c[name].type.compile(dialect=dialect).split('(')[0]}[])"
        for n, name in enumerate(QUEUED_COLUMNS, start=2)
    )
    names = ", ".join(QUEUED_COLUMNS)
    return (
        f"WITH counter AS (UPDATE audit_counter SET last_seq = last_seq + $1 WHERE id = {COUNTER_ROW} "
        "RETURNING last_seq - $1 AS base) "
        f"INSERT INTO access_entries (seq, {names}) "
        f"SELECT counter.base + v.position, {', '.join('v.' + name for name in QUEUED_COLUMNS)} "
        f"FROM counter, unnest({arrays}) WITH ORDINALITY AS v({names}, position) ORDER BY v.position"
    )


_NUMBERED_INSERT = _numbered_insert_sql()


class CounterMissing(RuntimeError):
    """The counter row is gone (deleted in SQL): nothing was numbered; the sequencer restores it."""


async def append_entries_durably(
    engine: AsyncEngine, rows: Sequence[Mapping[str, Any]], *, numbered: bool = False
) -> None:
    """`append_entries_on` a connection of its own, taken from the engine's pool and given back."""
    async with engine.connect() as connection:
        await append_entries_on(connection, rows, numbered=numbered)


async def append_entries_on(
    connection: AsyncConnection, rows: Sequence[Mapping[str, Any]], *, numbered: bool = False
) -> None:
    """Insert entries (each with every column of QUEUED_COLUMNS) and commit them: on return they
    are durable, all of them or none. `connection` must be outside any transaction; it is again on
    return, so the next batch may use it too.

    `numbered` (PostgreSQL only; ignored on SQLite, whose entries are queued): numbered from the
    counter as they are inserted, one statement, so the sequencer has only to hash them.
    Otherwise queued, seq NULL, for the sequencer to number.

    On the driver directly, without a session or SQLAlchemy's statement handling around it
    (docs/performance.md, "session 6"): on PostgreSQL one round trip (a statement, or asyncpg's
    executemany, runs as one implicit transaction, committed, and so flushed to the WAL, before the
    server answers); on SQLite the rows and the commit, two calls to aiosqlite's thread instead of
    SQLAlchemy's four (cursor, executemany, close, commit).
    """
    values = [{**row, "recorded_at": _utc(row["recorded_at"])} for row in rows]
    if numbered and connection.dialect.name == "postgresql":
        columns = [[row[name] for row in values] for name in QUEUED_COLUMNS]
        async with driver.raw(connection) as pg:
            status = await pg.execute(_NUMBERED_INSERT, len(values), *columns)
        if status != f"INSERT 0 {len(values)}":
            raise CounterMissing(f"no access entry was numbered ({status}): the audit_counter row is missing")
        return
    await driver.executemany(connection, _QUEUE_INSERT_ALL, values)


def _utc(moment: datetime) -> datetime:
    """As the column's type (UTCDateTime) takes it: timezone-aware, in UTC."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime given; the hub stores only timezone-aware times")
    return moment.astimezone(UTC)


# sequencing -----------------------------------------------------------------------------------


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


async def lock_log(session: AsyncSession, *, wait: bool) -> bool:
    """Start the sequencer's transaction holding the log's write lock; False if busy and not waiting.

    PostgreSQL: a transaction-scoped advisory lock. SQLite: the first statement is a write, which
    takes the database's single write lock at once (as BEGIN IMMEDIATE would).
    """
    if _dialect(session) == "postgresql":
        if wait:
            await session.execute(select(func.pg_advisory_xact_lock(SEQUENCER_LOCK_KEY)))
        elif not (await session.execute(select(func.pg_try_advisory_xact_lock(SEQUENCER_LOCK_KEY)))).scalar():
            return False
    make_insert = pg_insert if _dialect(session) == "postgresql" else sqlite_insert
    await session.execute(
        make_insert(AuditLogState)
        .values(id=STATE_ROW, tree_size=0, root_hash=EMPTY_ROOT, updated_at=utcnow())
        .on_conflict_do_nothing(index_elements=["id"])
    )
    return True


async def log_state(session: AsyncSession) -> AuditLogState | None:
    return await session.get(AuditLogState, STATE_ROW, populate_existing=True)


async def save_state(session: AsyncSession, tree_size: int, root_hash: bytes, when: datetime) -> None:
    await session.execute(
        update(AuditLogState)
        .where(AuditLogState.id == STATE_ROW)
        .values(tree_size=tree_size, root_hash=root_hash, updated_at=when)
    )


async def idle_state(session: AsyncSession) -> tuple[bool, int, int, datetime | None]:
    """(anything queued or numbered outside the tree, tree size, last checkpoint's size and time),
    in one read-only query."""
    queued = select(AccessEntry.id).where(AccessEntry.seq.is_(None)).limit(1).exists()
    numbered = select(AuditCounter.last_seq).where(AuditCounter.id == COUNTER_ROW).scalar_subquery()
    tree_size = select(AuditLogState.tree_size).where(AuditLogState.id == STATE_ROW).scalar_subquery()
    latest = select(AuditCheckpoint).order_by(AuditCheckpoint.tree_size.desc()).limit(1).subquery()
    signed_size = select(latest.c.tree_size).scalar_subquery()
    signed_at = select(latest.c.signed_at).scalar_subquery()
    statement = select(queued, numbered, tree_size, signed_size, signed_at)
    waiting, last_seq, size, last_size, last_at = (await session.execute(statement)).one()
    if isinstance(last_at, str):  # SQLite hands a scalar subquery's timestamp back as text
        last_at = datetime.fromisoformat(last_at)
    if last_at is not None and last_at.tzinfo is None:
        last_at = last_at.replace(tzinfo=UTC)
    return bool(waiting) or (last_seq or 0) > (size or 0), size or 0, last_size or 0, last_at


_OLDEST_QUEUED = select(AccessEntry.recorded_at).where(AccessEntry.seq.is_(None)).order_by(AccessEntry.id).limit(1)
# Before the first sequencer run there is no state row: the tree is empty, and entry 1 is outside it.
_FIRST_OUTSIDE_TREE = select(AccessEntry.recorded_at).where(
    AccessEntry.seq
    == func.coalesce(select(AuditLogState.tree_size).where(AuditLogState.id == STATE_ROW).scalar_subquery(), 0) + 1
)


async def oldest_outside_tree(session: AsyncSession) -> datetime | None:
    """When the oldest entry not yet in the tree was recorded: the first queued one (queue order,
    from the pending index) or the one numbered right after the tree (from the seq index), so a
    look at a log the sequencer has left behind for days costs two index reads, not a scan."""
    recorded = [
        moment
        for statement in (_OLDEST_QUEUED, _FIRST_OUTSIDE_TREE)
        if (moment := (await session.execute(statement)).scalar_one_or_none()) is not None
    ]
    return min(recorded, default=None)


async def last_numbered(session: AsyncSession) -> int | None:
    """The counter: the last sequence number given (None if its row is missing)."""
    statement = select(AuditCounter.last_seq).where(AuditCounter.id == COUNTER_ROW)
    return (await session.execute(statement)).scalar_one_or_none()


async def restore_counter(session: AsyncSession, last_seq: int) -> None:
    """Put back a missing counter row (deleted in SQL), at the tree's size: an entry numbered above
    it then shows as numbered outside the counter (`number_queued`)."""
    make_insert = pg_insert if _dialect(session) == "postgresql" else sqlite_insert
    await session.execute(
        make_insert(AuditCounter)
        .values(id=COUNTER_ROW, last_seq=last_seq)
        .on_conflict_do_nothing(index_elements=["id"])
    )


async def max_seq(session: AsyncSession) -> int:
    """The highest sequence number in access_entries (0 if none): above the counter, some row was
    numbered outside it."""
    # The condition lets both databases answer from the partial unique index on seq.
    statement = select(func.max(AccessEntry.seq)).where(AccessEntry.seq.is_not(None))
    return int((await session.execute(statement)).scalar() or 0)


_QUEUED_IDS = (
    select(_ENTRY_TABLE.c.id).where(_ENTRY_TABLE.c.seq.is_(None)).order_by(_ENTRY_TABLE.c.id).limit(bindparam("limit"))
)


async def queued_ids(session: AsyncSession, limit: int) -> list[int]:
    """Entries inserted with seq NULL (written inside a transaction, or on SQLite), in queue order."""
    return [row[0] for row in await driver.fetch(await session.connection(), _QUEUED_IDS, {"limit": limit})]


async def take_numbers(session: AsyncSession, count: int) -> int:
    """Add `count` to the counter and return the number before: the caller's entries are that + 1
    onwards. Holds the counter's row lock to the end of the session's transaction (PostgreSQL)."""
    statement = (
        update(AuditCounter)
        .where(AuditCounter.id == COUNTER_ROW)
        .values(last_seq=AuditCounter.last_seq + count)
        .returning(AuditCounter.last_seq)
    )
    return int((await session.execute(statement)).scalar_one()) - count


async def assign_sequence(session: AsyncSession, ids: Sequence[int], first_seq: int) -> None:
    """Number the queued entries `ids` first_seq, first_seq + 1, ... in one statement.

    PostgreSQL takes both lists as arrays (one UPDATE, one round trip); SQLite, in process, takes
    an executemany of the same update.
    """
    seqs = list(range(first_seq, first_seq + len(ids)))
    if _dialect(session) == "postgresql":
        await session.execute(
            text(
                "UPDATE access_entries AS e SET seq = v.seq "
                "FROM unnest(CAST(:ids AS bigint[]), CAST(:seqs AS bigint[])) AS v(id, seq) WHERE e.id = v.id"
            ),
            {"ids": list(ids), "seqs": seqs},
        )
    else:
        await session.execute(update(AccessEntry), [{"id": i, "seq": n} for i, n in zip(ids, seqs, strict=True)])


async def tiles(session: AsyncSession, keys: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
    keys = list(keys)
    if not keys:
        return {}
    condition = or_(*(and_(AuditTile.level == level, AuditTile.idx == idx) for level, idx in keys))
    rows = await session.execute(select(AuditTile.level, AuditTile.idx, AuditTile.hashes).where(condition))
    return {(level, idx): bytes(hashes) for level, idx, hashes in rows}


async def save_tiles(
    session: AsyncSession, new: Mapping[tuple[int, int], bytes], changed: Mapping[tuple[int, int], bytes]
) -> None:
    if new:
        await session.execute(insert(AuditTile), [{"level": lv, "idx": ix, "hashes": h} for (lv, ix), h in new.items()])
    if changed:
        await session.execute(
            update(AuditTile), [{"level": lv, "idx": ix, "hashes": h} for (lv, ix), h in changed.items()]
        )


async def leaf_tiles(session: AsyncSession, first: int, last: int) -> dict[int, bytes]:
    """Level-0 tiles with index in [first, last]: the stored leaf hashes, for export."""
    return await level_tiles(session, 0, first, last)


async def level_tiles(session: AsyncSession, level: int, first: int, last: int) -> dict[int, bytes]:
    """Tiles of one tree level with index in [first, last]."""
    rows = await session.execute(
        select(AuditTile.idx, AuditTile.hashes).where(AuditTile.level == level, AuditTile.idx.between(first, last))
    )
    return {idx: bytes(hashes) for idx, hashes in rows}


# checkpoints ----------------------------------------------------------------------------------


async def latest_checkpoint(session: AsyncSession) -> AuditCheckpoint | None:
    statement = select(AuditCheckpoint).order_by(AuditCheckpoint.tree_size.desc()).limit(1)
    return (await session.execute(statement)).scalar_one_or_none()


async def checkpoint_of_size(session: AsyncSession, tree_size: int) -> AuditCheckpoint | None:
    statement = select(AuditCheckpoint).where(AuditCheckpoint.tree_size == tree_size)
    return (await session.execute(statement)).scalar_one_or_none()


async def checkpoints(session: AsyncSession, up_to_size: int | None = None) -> list[AuditCheckpoint]:
    statement = select(AuditCheckpoint).order_by(AuditCheckpoint.tree_size)
    if up_to_size is not None:
        statement = statement.where(AuditCheckpoint.tree_size <= up_to_size)
    return list((await session.execute(statement)).scalars())


async def set_checkpoint_note(session: AsyncSession, tree_size: int, note: str) -> None:
    """Replace a checkpoint's note by the same note with witnesses' cosignature lines added."""
    await session.execute(update(AuditCheckpoint).where(AuditCheckpoint.tree_size == tree_size).values(note=note))


async def add_checkpoint(
    session: AsyncSession, *, tree_size: int, root_hash: bytes, signed_at: datetime, key_ids: str, note: str
) -> AuditCheckpoint:
    checkpoint = AuditCheckpoint(
        tree_size=tree_size, root_hash=root_hash, signed_at=signed_at, key_ids=key_ids, note=note
    )
    session.add(checkpoint)
    await session.flush()
    return checkpoint


# reading entries --------------------------------------------------------------------------------


@dataclass(frozen=True)
class EntryFilter:
    applicant_ref: str | None = None
    department_code: str | None = None
    principal_id: int | None = None
    purpose: str | None = None
    actions: tuple[str, ...] = ()
    outcome: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    exclude_principal_id: int | None = None


async def search_entries(
    session: AsyncSession, where: EntryFilter, *, before_seq: int | None, limit: int
) -> list[Row[*tuple[Any, ...]]]:
    """Entries in the tree matching the filter, newest first (keyset pagination on seq)."""
    in_tree = select(AuditLogState.tree_size).where(AuditLogState.id == STATE_ROW).scalar_subquery()
    conditions: list[ColumnElement[bool]] = [AccessEntry.seq.is_not(None), AccessEntry.seq <= in_tree]
    if where.applicant_ref is not None:
        conditions.append(AccessEntry.applicant_ref == where.applicant_ref)
    if where.department_code is not None:
        conditions.append(AccessEntry.department_code == where.department_code)
    if where.principal_id is not None:
        conditions.append(AccessEntry.principal_id == where.principal_id)
    if where.exclude_principal_id is not None:
        conditions.append(
            or_(AccessEntry.principal_id.is_(None), AccessEntry.principal_id != where.exclude_principal_id)
        )
    if where.purpose is not None:
        conditions.append(AccessEntry.purpose == where.purpose)
    if where.actions:
        conditions.append(AccessEntry.action.in_(where.actions))
    if where.outcome is not None:
        conditions.append(AccessEntry.outcome == where.outcome)
    if where.since is not None:
        conditions.append(AccessEntry.recorded_at >= where.since)
    if where.until is not None:
        conditions.append(AccessEntry.recorded_at < where.until)
    if before_seq is not None:
        conditions.append(AccessEntry.seq < before_seq)
    statement = (
        select(*ENTRY_COLUMNS, Department.name.label("department_name"))
        .outerjoin(Department, Department.code == AccessEntry.department_code)
        .where(*conditions)
        .order_by(AccessEntry.seq.desc())
        .limit(limit)
    )
    return list((await session.execute(statement)).all())


async def entry_by_seq(session: AsyncSession, seq: int) -> EntryRow | None:
    return (await session.execute(select(*ENTRY_COLUMNS).where(AccessEntry.seq == seq))).first()


async def entries_between(session: AsyncSession, first_seq: int, last_seq: int) -> list[NumberedEntryRow]:
    """Sequenced entries with first_seq <= seq <= last_seq, in log order, as rows of ENTRY_COLUMNS.

    Core on the session's connection, not an ORM execution: an export reads every row of the log,
    and the ORM's per-row result handling cost more than the query itself (docs/performance.md).
    """
    connection = await session.connection()
    result = await connection.execute(_ENTRIES_BETWEEN, {"first_seq": first_seq, "last_seq": last_seq})
    return list(result.all())


async def entry_values_between(session: AsyncSession, first_seq: int, last_seq: int) -> Sequence[Sequence[Any]]:
    """The rows of `entries_between`, positional only (ENTRY_COLUMNS order, no attribute names).

    On PostgreSQL asyncpg's own records, in the session's transaction: it hands timestamps back
    in UTC already, and skipping SQLAlchemy's rows takes a quarter off the CPU an export spends
    (docs/performance.md). SQLite's come in one call to aiosqlite's thread, their text turned into times
    by the columns' types, as SQLAlchemy would.
    """
    return await driver.fetch(
        await session.connection(), _ENTRIES_BETWEEN, {"first_seq": first_seq, "last_seq": last_seq}
    )


async def statistics(
    session: AsyncSession, since: datetime | None, until: datetime | None
) -> list[Row[str, str, str, int]]:
    """Entry counts by department, action and outcome."""
    conditions = []
    if since is not None:
        conditions.append(AccessEntry.recorded_at >= since)
    if until is not None:
        conditions.append(AccessEntry.recorded_at < until)
    statement = (
        select(AccessEntry.department_code, AccessEntry.action, AccessEntry.outcome, func.count().label("count"))
        .where(*conditions)
        .group_by(AccessEntry.department_code, AccessEntry.action, AccessEntry.outcome)
        .order_by(AccessEntry.department_code, AccessEntry.action, AccessEntry.outcome)
    )
    return list((await session.execute(statement)).all())
