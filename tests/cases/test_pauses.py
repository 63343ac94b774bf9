"""Clocks that pause: time waiting for the applicant's correction (补正, art. 32) and periods the
law excludes (hearings, expert review, inspection: art. 45) do not count toward a deadline.

A construction firm applies for a qualification on Monday 2 March 2026 (20 working days promised,
due 30 March). Housing asks for a corrected form on 4 March; the firm brings it on 25 March. Read on
20 April, housing has spent 19 working days, not 34, and is due on 21 April, not 14 days overdue.
A second firm's filing (5 days, silence is consent) goes to expert review from 4 to 13 March: its
deadline moves from 9 to 18 March, and 超时默许 fires on 19 March, not 10 March.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from hub.access.auth import Role
from storage.models import AccessEntry
from tests.support import make_actor
from tests.support.case_stories import (
    ACCEPT,
    CASE,
    CASE_FIELDS,
    COMPLETE,
    OPEN,
    OPINION,
    at,
    hand_in,
    load,
    register,
    resident_id,
)

FIRM = resident_id("11010119790812345")

CATALOG = """
material_types:
  - {code: sqb, name: 资质申请表}
  - {code: bab, name: 备案表}
service_items:
  - code: zjj-zzsp
    name: 建筑业企业资质审批
    lead_department: zjj
    statutory_days: 30
    promised_days: 20
    materials: [{type: sqb}]
  - code: zjj-ba
    name: 建设工程消防验收备案
    lead_department: zjj
    statutory_days: 10
    promised_days: 5
    silence_is_consent: true
    materials: [{type: bab}]
"""

START = "mutation($i: StartPauseInput!) { startPause(input: $i) { %s } }" % CASE_FIELDS
END = "mutation($r: String!) { endPause(receiptNumber: $r) { %s } }" % CASE_FIELDS


async def _accepted_case(hub, client, clerk, item: str, material: str) -> str:
    await load(hub, CATALOG, "pauses.yaml")
    at(hub, date(2026, 3, 2))
    await register(client, clerk, FIRM, "大州建工")
    opened = await client.execute(
        OPEN, {"i": {"idNumber": FIRM, "items": [item], "window": "综合窗口 5"}}, token=clerk.token
    )
    receipt = opened["openCase"]["receiptNumber"]
    await hand_in(client, clerk, receipt, material, "申请")
    await client.execute(ACCEPT, {"r": receipt}, token=clerk.token)
    return receipt


async def _read(client, clerk, receipt: str) -> dict:
    return (await client.execute(CASE, {"r": receipt}, token=clerk.token))["case"]


async def test_waiting_for_a_correction_does_not_count_against_the_department(hub, client, clerk) -> None:
    housing = await make_actor(hub, Role.DEPARTMENT_SYSTEM, "zjj")
    receipt = await _accepted_case(hub, client, clerk, "zjj-zzsp", "sqb")
    at(hub, date(2026, 3, 4))
    correction = {
        "i": {"receiptNumber": receipt, "opinion": {"decision": "NEEDS_CORRECTION", "comments": "申请表缺法人签章"}}
    }
    await client.execute(OPINION, correction, token=housing.token, purpose=f"case:{receipt}")

    # 20 March, still waiting: the clock stopped after 3 and 4 March.
    at(hub, date(2026, 3, 20))
    case = await _read(client, clerk, receipt)
    [review] = case["reviews"]
    assert review["state"] == "NEEDS_CORRECTION" and review["paused"] is True
    assert review["workingDaysSpent"] == 2
    [pause] = review["pauses"]
    assert pause["reason"] == "CORRECTION" and pause["endedAt"] is None and pause["note"] == "申请表缺法人签章"
    assert pause["workingDays"] == 12
    # If the form came today, 18 working days would be left: due 16 April.
    assert review["deadline"]["dueOn"] == "2026-04-16" and review["deadline"]["remainingWorkingDays"] == 18

    # The corrected form arrives on 25 March: the clock runs again from 26 March.
    at(hub, date(2026, 3, 25))
    await hand_in(client, clerk, receipt, "sqb", "申请表（补正）")

    # 20 April: without the pause housing would have spent 34 working days, 14 past 30 March.
    at(hub, date(2026, 4, 20))
    case = await _read(client, clerk, receipt)
    [review] = case["reviews"]
    assert review["paused"] is False and review["workingDaysSpent"] == 19
    [pause] = review["pauses"]
    assert pause["endedAt"].startswith("2026-03-25") and pause["workingDays"] == 15
    assert review["deadline"] == {
        "workingDays": 20,
        "dueOn": "2026-04-21",
        "remainingWorkingDays": 1,
        "overdue": False,
        "provisional": False,
        "pausedWorkingDays": 15,
    }
    [item] = case["items"]
    assert item["promisedDeadline"]["dueOn"] == "2026-04-21" and item["promisedDeadline"]["overdue"] is False
    assert case["overdue"] is False

    # Past the adjusted deadline the case is overdue, as any other.
    at(hub, date(2026, 4, 22))
    assert (await _read(client, clerk, receipt))["overdue"] is True


async def test_an_expert_review_pushes_back_silence_is_consent(hub, client, clerk) -> None:
    housing = await make_actor(hub, Role.DEPARTMENT_SYSTEM, "zjj")
    receipt = await _accepted_case(hub, client, clerk, "zjj-ba", "bab")
    purpose = f"case:{receipt}"
    at(hub, date(2026, 3, 4))
    started = (
        await client.execute(
            START,
            {"i": {"receiptNumber": receipt, "reason": "EXPERT_REVIEW", "note": "组织专家评审，约需七个工作日"}},
            token=housing.token,
            purpose=purpose,
        )
    )["startPause"]
    [review] = started["reviews"]
    assert review["paused"] is True and review["pauses"][0]["reason"] == "EXPERT_REVIEW"

    # 10 March: the unpaused deadline (9 March) has passed, but the clock stood still since 4 March.
    at(hub, date(2026, 3, 10))
    [review] = (await _read(client, clerk, receipt))["reviews"]
    assert review["state"] == "PENDING" and review["paused"] is True
    assert review["deadline"]["overdue"] is False

    at(hub, date(2026, 3, 13))
    ended = (await client.execute(END, {"r": receipt}, token=housing.token, purpose=purpose))["endPause"]
    [review] = ended["reviews"]
    [pause] = review["pauses"]
    assert pause["endedAt"].startswith("2026-03-13") and pause["workingDays"] == 7
    assert review["deadline"]["dueOn"] == "2026-03-18" and review["workingDaysSpent"] == 2

    at(hub, date(2026, 3, 18))
    [review] = (await _read(client, clerk, receipt))["reviews"]
    assert review["state"] == "PENDING" and review["deadline"]["remainingWorkingDays"] == 0

    # 超时默许 on the adjusted deadline: silent past 18 March, the department is taken to approve.
    at(hub, date(2026, 3, 19))
    [review] = (await _read(client, clerk, receipt))["reviews"]
    assert review["state"] == "DEEMED_APPROVED"
    completed = (await client.execute(COMPLETE, {"r": receipt}, token=clerk.token))["completeCase"]
    assert completed["outcome"] == "APPROVED"

    async with hub.sessions() as session:
        logged = (
            await session.execute(
                select(AccessEntry.action, AccessEntry.outcome).where(
                    AccessEntry.object_ref == purpose, AccessEntry.action == "case.pause"
                )
            )
        ).all()
    assert logged == [("case.pause", "allowed"), ("case.pause", "allowed")]


async def test_pauses_are_refused_to_outsiders_and_out_of_turn(hub, client, clerk) -> None:
    housing = await make_actor(hub, Role.DEPARTMENT_SYSTEM, "zjj")
    social = await make_actor(hub, Role.DEPARTMENT_SYSTEM, "rsj")
    receipt = await _accepted_case(hub, client, clerk, "zjj-ba", "bab")
    purpose = f"case:{receipt}"

    def start(reason: str = "HEARING", note: str = "举行听证") -> dict:
        return {"i": {"receiptNumber": receipt, "reason": reason, "note": note}}

    assert await client.error_code(START, start(), token=social.token, purpose=purpose) == "DEPARTMENT_NOT_IN_CASE"
    assert await client.error_code(END, {"r": receipt}, token=housing.token, purpose=purpose) == "NO_OPEN_PAUSE"
    assert await client.error_code(START, start("CORRECTION"), token=housing.token, purpose=purpose) == (
        "BAD_USER_INPUT"
    )
    assert await client.error_code(START, start(note=" "), token=housing.token, purpose=purpose) == "BAD_USER_INPUT"
    await client.execute(START, start(), token=housing.token, purpose=purpose)
    assert await client.error_code(START, start("INSPECTION", "现场核查"), token=housing.token, purpose=purpose) == (
        "PAUSE_ALREADY_OPEN"
    )
    # Housing decides after the hearing without ending the pause: the decision ends it.
    at(hub, date(2026, 3, 6))
    approve = {"i": {"receiptNumber": receipt, "opinion": {"decision": "APPROVE"}}}
    await client.execute(OPINION, approve, token=housing.token, purpose=purpose)
    assert await client.error_code(START, start(), token=housing.token, purpose=purpose) == "CASE_STATE_CONFLICT"
    assert await client.error_code(END, {"r": receipt}, token=housing.token, purpose=purpose) == "CASE_STATE_CONFLICT"
    at(hub, date(2026, 4, 1))
    case = await _read(client, clerk, receipt)
    [review] = case["reviews"]
    [hearing] = review["pauses"]
    assert hearing["reason"] == "HEARING" and hearing["endedAt"].startswith("2026-03-06")
    assert review["paused"] is False and hearing["workingDays"] == 4
    # Its item was decided on 6 March, within its five days once the hearing is left out.
    assert case["items"][0]["promisedDeadline"]["dueOn"] == "2026-03-13"
