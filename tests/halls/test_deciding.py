"""A clerk of one department cannot complete another department's case: the case is completed by
its window or by a department taking part in it, and the refusal is logged."""

from __future__ import annotations

from datetime import date, time

from sqlalchemy import select

from hub.access.auth import Role
from storage.models import AccessEntry
from tests.support import make_actor
from tests.support.case_stories import COMPLETE, at
from tests.support.supervision import accepted_case, applicant, decide, load_timing_catalog

DAY = date(2026, 11, 2)


async def test_a_real_estate_clerk_cannot_complete_a_tax_case_the_window_can(hub, client, clerk) -> None:
    await load_timing_catalog(hub)
    tax = await make_actor(hub, Role.DEPARTMENT_SYSTEM, "sw")
    person = await applicant(clerk, "11010119800101123", "张三")
    receipt = await accepted_case(hub, clerk, person, ["sw-ns"], DAY)
    await decide(hub, tax, receipt, DAY)
    at(hub, DAY, time(17, 0))

    estate_clerk = await make_actor(hub, Role.CLERK, "bdc", "不动产窗口")
    error = await client.error(COMPLETE, {"r": receipt}, token=estate_clerk.token)
    assert error["extensions"]["code"] == "DEPARTMENT_NOT_IN_CASE" and error["extensions"]["department"] == "bdc"
    async with hub.sessions() as session:
        rows = await session.execute(
            select(AccessEntry.department_code, AccessEntry.outcome, AccessEntry.reason).where(
                AccessEntry.action == "case.complete"
            )
        )
        assert [tuple(row) for row in rows] == [("bdc", "refused", "DEPARTMENT_NOT_IN_CASE")]

    completed = (await client.execute(COMPLETE, {"r": receipt}, token=clerk.token))["completeCase"]
    assert completed["status"] == "COMPLETED"
