"""Cases that end without a decision: an applicant withdraws at the window; the hub closes what
nobody carried on (never accepted in time, results never collected), once, however many
processes run the job.
"""

from __future__ import annotations

import asyncio
from datetime import date

from sqlalchemy import select

from hub.access.auth import Role
from hub.cases.closing import close_abandoned_as_system
from storage.models.audit import AccessEntry
from tests.support import make_actor
from tests.support.case_stories import (
    ACCEPT,
    CASE_FIELDS,
    COMPLETE,
    OPEN,
    OPINION,
    PROMISE,
    at,
    hand_in,
    load,
    register,
    resident_id,
)

# 个体工商户登记: one item, one department (tax), one material.
CATALOG = """
material_types:
  - {code: sqb, name: 申请表}
service_items:
  - code: sw-djb
    name: 税务登记
    lead_department: sw
    statutory_days: 20
    promised_days: 5
    materials: [{type: sqb}]
"""

APPLICANT = resident_id("11010219820202456")
CLOSING_FIELDS = CASE_FIELDS + " closedAt closeReason resultsCollectedAt"
WITHDRAW = "mutation($r: String!, $why: String!) { withdrawCase(receiptNumber: $r, reason: $why) { %s } }" % (
    CLOSING_FIELDS
)
COLLECT = "mutation($r: String!) { collectCaseResults(receiptNumber: $r) { %s } }" % CLOSING_FIELDS
READ = "query($r: String!) { case(receiptNumber: $r) { %s } }" % CLOSING_FIELDS


async def open_case(client, clerk) -> str:
    variables = {"i": {"idNumber": APPLICANT, "items": ["sw-djb"], "window": "综合窗口 1"}}
    return (await client.execute(OPEN, variables, token=clerk.token))["openCase"]["receiptNumber"]


async def completed_case(client, clerk, tax) -> str:
    receipt = await open_case(client, clerk)
    await hand_in(client, clerk, receipt, "sqb", "申请表")
    await client.execute(ACCEPT, {"r": receipt}, token=clerk.token)
    approve = {"i": {"receiptNumber": receipt, "opinion": {"decision": "APPROVE"}}}
    await client.execute(OPINION, approve, token=tax.token, purpose=f"case:{receipt}")
    await client.execute(COMPLETE, {"r": receipt}, token=clerk.token)
    return receipt


async def log_of(hub, *actions: str) -> list[tuple[str, str, str, str]]:
    async with hub.sessions() as session:
        rows = await session.execute(
            select(AccessEntry.action, AccessEntry.outcome, AccessEntry.role, AccessEntry.object_ref)
            .where(AccessEntry.action.in_(actions))
            .order_by(AccessEntry.id)
        )
        return [tuple(row) for row in rows]


async def test_an_applicant_withdraws_at_the_window_that_received_the_case(hub, client, clerk) -> None:
    await load(hub, CATALOG)
    tax = await make_actor(hub, Role.DEPARTMENT_SYSTEM, "sw")
    township = await make_actor(hub, Role.CLERK, "zrzy", "乡镇便民服务中心")
    at(hub, date(2025, 11, 3))
    await register(client, clerk, APPLICANT, "李四")
    receipt = await open_case(client, clerk)

    why = {"r": receipt, "why": "申请人决定暂不办理"}
    assert await client.error_code(WITHDRAW, why, token=township.token) == "CASE_OF_ANOTHER_WINDOW"
    assert await client.error_code(WITHDRAW, {"r": receipt, "why": " "}, token=clerk.token) == "BAD_USER_INPUT"
    assert await client.error_code(WITHDRAW, why, token=tax.token, purpose=f"case:{receipt}") == (
        "CASE_OF_ANOTHER_WINDOW"
    )

    at(hub, date(2025, 11, 4))
    withdrawn = (await client.execute(WITHDRAW, why, token=clerk.token))["withdrawCase"]
    assert withdrawn["status"] == "WITHDRAWN" and withdrawn["closeReason"] == "申请人决定暂不办理"
    assert withdrawn["closedAt"].startswith("2025-11-04")

    # Over: no second withdrawal, no acceptance, no new material.
    assert await client.error_code(WITHDRAW, why, token=clerk.token) == "CASE_CLOSED"
    assert await client.error_code(ACCEPT, {"r": receipt}, token=clerk.token) == "CASE_STATE_CONFLICT"
    promise = {"i": {"receiptNumber": receipt, "materialType": "sqb", "promisedOn": "2025-11-10"}}
    assert await client.error_code(PROMISE, promise, token=clerk.token) == "CASE_STATE_CONFLICT"
    read = (await client.execute(READ, {"r": receipt}, token=clerk.token))["case"]
    assert read["status"] == "WITHDRAWN"

    # The log says what happened: every refusal after the policy allowed is `refused`.
    assert await log_of(hub, "case.withdraw") == [
        ("case.withdraw", "refused", "clerk", f"case:{receipt}"),
        ("case.withdraw", "refused", "clerk", f"case:{receipt}"),
        ("case.withdraw", "refused", "department_system", f"case:{receipt}"),
        ("case.withdraw", "allowed", "clerk", f"case:{receipt}"),
        ("case.withdraw", "refused", "clerk", f"case:{receipt}"),
    ]


async def test_a_completed_case_is_not_withdrawn_and_its_results_are_collected_once(hub, client, clerk) -> None:
    await load(hub, CATALOG)
    tax = await make_actor(hub, Role.DEPARTMENT_SYSTEM, "sw")
    township = await make_actor(hub, Role.CLERK, "zrzy", "乡镇便民服务中心")
    at(hub, date(2025, 11, 3))
    await register(client, clerk, APPLICANT, "李四")
    receipt = await completed_case(client, clerk, tax)

    why = {"r": receipt, "why": "不想要了"}
    assert await client.error_code(WITHDRAW, why, token=clerk.token) == "CASE_CLOSED"
    assert await client.error_code(COLLECT, {"r": receipt}, token=township.token) == "CASE_OF_ANOTHER_WINDOW"
    collected = (await client.execute(COLLECT, {"r": receipt}, token=clerk.token))["collectCaseResults"]
    assert collected["status"] == "COMPLETED" and collected["resultsCollectedAt"].startswith("2025-11-03")
    assert await client.error_code(COLLECT, {"r": receipt}, token=clerk.token) == "CASE_STATE_CONFLICT"


async def test_the_hub_closes_cases_nobody_carried_on_once(hub, client, clerk) -> None:
    await load(hub, CATALOG)
    tax = await make_actor(hub, Role.DEPARTMENT_SYSTEM, "sw")
    # Friday before National Day 2025: ten working days run to 16 October (28 September and
    # 11 October are worked weekends, 1-8 October are off).
    at(hub, date(2025, 9, 26))
    await register(client, clerk, APPLICANT, "李四")
    never_accepted = await open_case(client, clerk)
    uncollected = await completed_case(client, clerk, tax)
    collected = await completed_case(client, clerk, tax)
    await client.execute(COLLECT, {"r": collected}, token=clerk.token)
    accepted = await open_case(client, clerk)
    await hand_in(client, clerk, accepted, "sqb", "申请表")
    await client.execute(ACCEPT, {"r": accepted}, token=clerk.token)

    at(hub, date(2025, 10, 16))
    report = await close_abandoned_as_system(hub)
    assert (report.never_accepted, report.results_uncollected) == ((), ())

    at(hub, date(2025, 10, 17))
    # Two hub processes run the job at the same moment: each case is closed, and logged, once.
    first, second = await asyncio.gather(close_abandoned_as_system(hub), close_abandoned_as_system(hub))
    assert sorted(first.never_accepted + second.never_accepted) == [never_accepted]
    assert first.results_uncollected + second.results_uncollected == ()
    case = (await client.execute(READ, {"r": never_accepted}, token=clerk.token))["case"]
    assert case["status"] == "ABANDONED" and case["closedAt"].startswith("2025-10-17")
    assert case["closeReason"] == "not accepted within 10 working days of opening"
    for receipt, status in ((uncollected, "COMPLETED"), (collected, "COMPLETED"), (accepted, "ACCEPTED")):
        assert (await client.execute(READ, {"r": receipt}, token=clerk.token))["case"]["status"] == status

    # Ninety days after completion the uncollected results close their case too; collected ones do not.
    at(hub, date(2025, 12, 26))
    report = await close_abandoned_as_system(hub)
    assert (report.never_accepted, report.results_uncollected) == ((), (uncollected,))
    case = (await client.execute(READ, {"r": uncollected}, token=clerk.token))["case"]
    assert (case["status"], case["outcome"]) == ("ABANDONED", "APPROVED")
    assert case["closeReason"] == "results not collected within 90 days of completion"

    assert await log_of(hub, "case.abandon") == [
        ("case.abandon", "allowed", "system", f"case:{never_accepted}"),
        ("case.abandon", "allowed", "system", f"case:{uncollected}"),
    ]


async def test_hub_cases_close_abandoned_runs_the_job_from_a_terminal(hub, client, clerk, hub_command) -> None:
    await load(hub, CATALOG)
    at(hub, date(2025, 9, 26))
    await register(client, clerk, APPLICANT, "李四")
    receipt = await open_case(client, clerk)

    status, out, _ = await hub_command("cases", "close-abandoned")
    assert status == 0
    assert out.splitlines() == [
        "closed 1 cases not accepted within 10 working days and 0 with results uncollected after 90 days as abandoned",
        f"  {receipt}",
    ]
    status, out, _ = await hub_command("cases", "close-abandoned")
    assert status == 0 and out.startswith("closed 0 cases")
