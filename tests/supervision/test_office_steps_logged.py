"""Every step the supervision office and the departments take is in the access log: each step of an
alert's life (asked, explained, decided, closed) and each complaint resolved, taken or refused, by
a named principal. The office's list of every open case is the office's alone: a window clerk
asking for it is refused by the policy, and the refusal is logged."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from hub.access.auth import Role
from storage.models import AccessEntry
from tests.support import make_actor
from tests.support.case_stories import at, resident_id
from tests.support.supervision import SUPERVISION, applicant, china, evaluate_on, record

ADVANCE = """mutation($id: Int!, $to: AlertStatus!, $note: String!) { advanceAlert(alertId: $id, to: $to, note: $note) {
  status } }"""
ALERTS = "query { supervisionAlerts { id } }"
FILE = """mutation($i: FileComplaintInput!) { fileComplaint(input: $i) { receiptNumber } }"""
RESOLVE = """mutation($r: String!, $how: ComplaintResolution!, $note: String!) {
  resolveComplaint(receiptNumber: $r, resolution: $how, note: $note) { status } }"""
LIST = "query { supervisedCases { receiptNumber } }"

FRIDAY = date(2026, 11, 6)


async def _logged(hub, object_ref: str) -> list[tuple[str, str, int | None, str]]:
    """(action, outcome, principal, reason's code) of the entries about one object, in order."""
    async with hub.sessions() as session:
        rows = await session.execute(
            select(AccessEntry.action, AccessEntry.outcome, AccessEntry.principal_id, AccessEntry.reason)
            .where(AccessEntry.object_ref == object_ref)
            .order_by(AccessEntry.id)
        )
        return [(action, outcome, principal, reason.split(":")[0]) for action, outcome, principal, reason in rows]


async def _id(actor) -> int:
    ctx = await actor.context()
    try:
        return ctx.caller.principal_id
    finally:
        await ctx.close()


async def test_each_step_of_an_alert_is_logged_by_its_principal(hub, client, clerk, auditor) -> None:
    await record(clerk, [(china(FRIDAY, 10), resident_id("11010119800101123"))])
    await evaluate_on(hub, FRIDAY)
    (alert,) = (await client.execute(ALERTS, token=auditor.token))["supervisionAlerts"]
    alert_id = alert["id"]
    at(hub, FRIDAY)
    tax = await make_actor(hub, Role.DEPARTMENT_SYSTEM, "sw")
    colleague = await make_actor(hub, Role.CLERK, "xzfw", "窗口负责人")

    async def step(to: str, note: str, actor) -> str | None:
        body = (await client.post(ADVANCE, {"id": alert_id, "to": to, "note": note}, token=actor.token)).json()
        return body["errors"][0]["extensions"]["code"] if body.get("errors") else None

    assert await step("EXPLANATION_REQUESTED", "请说明查询依据", auditor) is None
    assert await step("EXPLAINED", "我们不是", auditor) == "FORBIDDEN"  # the office does not explain
    assert await step("EXPLAINED", "不是我们", tax) == "FORBIDDEN"  # not the alert's department
    assert await step("EXPLAINED", "申请人来电咨询, 核对身份", colleague) is None
    assert await step("CONFIRMED", "我来定", colleague) == "FORBIDDEN"  # the department does not decide
    assert await step("DISMISSED", "说明属实", auditor) is None
    assert await step("CONFIRMED", "再议", auditor) == "ALERT_STATE_CONFLICT"
    assert await step("CLOSED", "", auditor) is None

    office, system, window = await _id(auditor), await _id(tax), await _id(colleague)
    assert await _logged(hub, f"alert:{alert_id}") == [
        ("alert.request_explanation", "allowed", office, ""),
        ("alert.explain", "denied", office, "the auditor role may not alert.explain"),
        ("alert.explain", "refused", system, "FORBIDDEN"),
        ("alert.explain", "allowed", window, ""),
        ("alert.confirm", "denied", window, "the clerk role may not alert.confirm"),
        ("alert.dismiss", "allowed", office, ""),
        ("alert.confirm", "refused", office, "ALERT_STATE_CONFLICT"),
        ("alert.close", "allowed", office, ""),
    ]


async def test_a_complaint_resolved_is_logged(hub, client, clerk, auditor) -> None:
    person = await applicant(clerk, "11010119800101123", "张三")
    at(hub, FRIDAY)
    filed = {"idNumber": person, "department": "bdc", "centre": "xzfw", "whatHappened": "材料被退回三次"}
    receipt = (await client.execute(FILE, {"i": {**filed, "cause": "MATERIALS"}}, token=clerk.token))["fileComplaint"][
        "receiptNumber"
    ]
    resolve = {"r": receipt, "how": "SOLVED", "note": "已当场办结"}
    assert await client.error_code(RESOLVE, resolve, token=clerk.token) == "FORBIDDEN"
    assert (await client.execute(RESOLVE, resolve, token=auditor.token))["resolveComplaint"]["status"] == "RESOLVED"
    assert await client.error_code(RESOLVE, resolve, token=auditor.token) == "COMPLAINT_STATE_CONFLICT"
    assert await client.error_code(RESOLVE, {**resolve, "r": "BCS-20261106-99999"}, token=auditor.token) == (
        "NOT_FOUND"
    )

    window, office = await _id(clerk), await _id(auditor)
    assert [e for e in await _logged(hub, f"complaint:{receipt}") if e[0] == "complaint.resolve"] == [
        ("complaint.resolve", "denied", window, "the clerk role may not complaint.resolve"),
        ("complaint.resolve", "allowed", office, ""),
        ("complaint.resolve", "refused", office, "COMPLAINT_STATE_CONFLICT"),
    ]
    assert await _logged(hub, "complaint:BCS-20261106-99999") == [("complaint.resolve", "refused", office, "NOT_FOUND")]


async def test_a_window_clerk_may_not_list_every_open_case(hub, client, clerk, auditor) -> None:
    await applicant(clerk, "11010119800101123", "张三")
    assert await client.error_code(LIST, token=clerk.token, purpose=SUPERVISION) == "FORBIDDEN"
    assert await client.error_code(LIST, token=clerk.token) == "FORBIDDEN"
    system = await make_actor(hub, Role.DEPARTMENT_SYSTEM, "sw")
    assert await client.error_code(LIST, token=system.token, purpose="basis:anything") == "FORBIDDEN"
    assert (await client.execute(LIST, token=auditor.token, purpose=SUPERVISION))["supervisedCases"] == []

    window = await _id(clerk)
    logged = await _logged(hub, "supervision:cases")
    assert logged[:2] == [("case.search", "denied", window, "the clerk role may not case.search")] * 2
    assert logged[-1] == ("case.search", "allowed", await _id(auditor), "")
