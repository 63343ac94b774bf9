"""A field fails while its siblings are reading: the answer still comes, and the log is written.

graphql-core cancels the siblings of a failed non-null field. Cut off mid-statement, they threw
away the request's connection; on SQLite closing it waited forever and the request never answered
(bench/fuzz found 8 such requests in 1,000). Fields now finish their statements first."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from storage.models import AccessEntry

# A clerk may read the reuse figures; the checkpoint is for auditors, and no case has this receipt.
SIBLINGS = """query {
  reuseFigures { uploaded promised ratio }
  supervisedCase(receiptNumber: "R-nowhere") { receiptNumber acceptedAt timingState }
  latestCheckpoint { rootHash keyIds note signedAt }
}"""


async def test_a_failed_field_does_not_leave_its_siblings_hanging(hub, client, clerk) -> None:
    for _ in range(3):
        answer = await asyncio.wait_for(client.post(SIBLINGS, token=clerk.token), timeout=20)
        assert answer.status_code == 200
        assert answer.json()["data"] is None
        assert {error["extensions"]["code"] for error in answer.json()["errors"]} <= {"FORBIDDEN", "NOT_FOUND"}
    async with hub.sessions() as session:
        refused = await session.scalars(select(AccessEntry.action).where(AccessEntry.outcome == "denied"))
        assert "audit.checkpoint" in set(refused)
