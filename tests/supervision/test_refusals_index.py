"""The probing rule's context, a principal's refusals of the last hour or more, is read on every
supervision pass (every 2 s in a served hub). It must find the refusals without reading the allowed
entries around them: over the seq index that read grew with the log's last hours, 58 ms a pass at
236,000 entries (docs/supervision.md, "Refusals by index")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, text

from storage.models import AccessEntry
from storage.repositories import supervision as repo

# The statement as the repository sends it to each database (private helpers: the plan is of the
# exact text the supervision runs).
from storage.repositories.supervision import _dialect_sql, _Moment

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
START = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
ALLOWED = 4_000
REFUSED_AT = {500: 1, 2_500: 2, 3_900: 3}  # seq -> principal


def _entry(seq: int) -> dict:
    refused = seq in REFUSED_AT
    return {
        "seq": seq,
        "recorded_at": START + timedelta(milliseconds=seq),
        "request_id": f"r{seq}",
        "principal_id": REFUSED_AT.get(seq, 7),
        "department_code": "xzfw",
        "role": "clerk",
        "action": "profile.read",
        "outcome": "denied" if refused else "allowed",
        "applicant_ref": "110101199001010011",
    }


def _micros(moment: datetime) -> int:
    return (moment - EPOCH) // timedelta(microseconds=1)


async def test_a_principals_refusals_are_read_by_their_own_index(hub) -> None:
    async with hub.sessions() as session:
        await session.execute(insert(AccessEntry), [_entry(seq) for seq in range(1, ALLOWED + 1)])
        await session.commit()
    async with hub.sessions() as session:
        dialect = (await session.connection()).dialect.name
        await session.execute(text("ANALYZE access_entries" if dialect == "postgresql" else "ANALYZE"))
        await session.commit()

        since = START + timedelta(milliseconds=1_000)
        found = await repo.refusals_recorded_since(session, _micros(since), 1, ALLOWED)
        assert [(row[0], row[2]) for row in found] == [(2_500, 2), (3_900, 3)]

        sql, values = _dialect_sql(dialect, repo.REFUSALS_SINCE, (1, ALLOWED, _Moment(_micros(since))))
        raw = await (await session.connection()).get_raw_connection()
        if dialect == "postgresql":
            plan = "\n".join(row[0] for row in await raw.driver_connection.fetch(f"EXPLAIN {sql}", *values))
        else:
            rows = await raw.driver_connection.execute_fetchall(f"EXPLAIN QUERY PLAN {sql}", values)
            plan = "\n".join(str(row[-1]) for row in rows)
    assert "ix_access_entries_refusals" in plan, plan
