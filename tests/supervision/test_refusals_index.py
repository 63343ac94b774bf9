"""The probing rule's context, a principal's refusals of the last hour or more, is read on every
supervision pass (every 2 s in a served hub). It must find the refusals without reading the allowed
entries around them: over the seq index that read grew with the log's last hours, 58 ms a pass at
236,000 entries (docs/supervision.md, "Refusals by index")."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, text

from storage.models import AccessEntry
from storage.repositories import supervision as repo

# Private helpers: the plan asked for is that of the exact text the supervision sends, written for
# each database as the repository writes it.
from storage.repositories.supervision import _fetch, _micros_of, _Moment

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


async def test_a_principals_refusals_are_read_by_their_own_index(hub) -> None:
    async with hub.sessions() as session:
        await session.execute(insert(AccessEntry), [_entry(seq) for seq in range(1, ALLOWED + 1)])
        await session.commit()
    async with hub.sessions() as session:
        dialect = (await session.connection()).dialect.name
        await session.execute(text("ANALYZE access_entries" if dialect == "postgresql" else "ANALYZE"))
        await session.commit()

        since = _micros_of(START + timedelta(milliseconds=1_000))
        found = await repo.refusals_recorded_since(session, since, 1, ALLOWED)
        assert [(row[0], row[2]) for row in found] == [(2_500, 2), (3_900, 3)]

        explain = "EXPLAIN " if dialect == "postgresql" else "EXPLAIN QUERY PLAN "
        rows = await _fetch(session, explain + repo.REFUSALS_SINCE, (1, ALLOWED, _Moment(since)))
    plan = "\n".join(str(row[-1]) for row in rows)  # the plan's text is each row's last column
    assert "ix_access_entries_refusals" in plan, plan
