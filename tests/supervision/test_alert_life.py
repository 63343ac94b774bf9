"""An alert's life: the office asks the department to explain within five working days, the
department explains, the office confirms or dismisses with a note and closes; each step by a named
principal. An explanation not given in time is escalated, once."""

from __future__ import annotations

from datetime import date

from hub.access.auth import Role
from tests.support import make_actor
from tests.support.case_stories import at, resident_id
from tests.support.supervision import china, evaluate_on, record

ADVANCE = """mutation($id: Int!, $to: AlertStatus!, $note: String!) { advanceAlert(alertId: $id, to: $to, note: $note) {
  id status respondBy escalated events { status principalId note } } }"""
ALERTS = """query($status: AlertStatus) { supervisionAlerts(status: $status) {
  id status respondBy escalated events { status principalId note } } }"""
VIEWER = "query { viewer { name } }"

FRIDAY = date(2026, 11, 6)


async def _an_alert(hub, client, clerk, auditor) -> int:
    await record(clerk, [(china(FRIDAY, 10), resident_id("11010119800101123"))])
    await evaluate_on(hub, FRIDAY)
    (alert,) = (await client.execute(ALERTS, token=auditor.token))["supervisionAlerts"]
    return alert["id"]


async def test_explained_then_dismissed_and_closed(hub, client, clerk, auditor) -> None:
    alert = await _an_alert(hub, client, clerk, auditor)
    at(hub, FRIDAY)
    asked = (
        await client.execute(
            ADVANCE, {"id": alert, "to": "EXPLANATION_REQUESTED", "note": "请说明查询依据"}, token=auditor.token
        )
    )["advanceAlert"]
    # Five working days from Friday 6 November: 9 to 13 November.
    assert asked["status"] == "EXPLANATION_REQUESTED" and asked["respondBy"] == "2026-11-13"

    # Only the alert's department explains, and the office decides.
    tax = await make_actor(hub, Role.DEPARTMENT_SYSTEM, "sw")
    refused = {"id": alert, "to": "EXPLAINED", "note": "不是我们"}
    assert await client.error_code(ADVANCE, refused, token=tax.token) == "FORBIDDEN"
    assert await client.error_code(ADVANCE, refused, token=auditor.token) == "FORBIDDEN"
    colleague = await make_actor(hub, Role.CLERK, "xzfw", "窗口负责人")
    explained = {"id": alert, "to": "EXPLAINED", "note": "申请人来电咨询, 核对身份"}
    assert (await client.execute(ADVANCE, explained, token=colleague.token))["advanceAlert"]["status"] == "EXPLAINED"
    assert await client.error_code(ADVANCE, {"id": alert, "to": "CLOSED", "note": ""}, token=auditor.token) == (
        "ALERT_STATE_CONFLICT"
    )
    assert await client.error_code(ADVANCE, {"id": alert, "to": "DISMISSED", "note": " "}, token=auditor.token) == (
        "BAD_USER_INPUT"
    )
    await client.execute(ADVANCE, {"id": alert, "to": "DISMISSED", "note": "说明属实"}, token=auditor.token)
    closed = (await client.execute(ADVANCE, {"id": alert, "to": "CLOSED", "note": ""}, token=auditor.token))[
        "advanceAlert"
    ]
    assert [e["status"] for e in closed["events"]] == [
        "OPEN",
        "EXPLANATION_REQUESTED",
        "EXPLAINED",
        "DISMISSED",
        "CLOSED",
    ]
    assert closed["events"][0]["principalId"] is None  # raised by the evaluation
    assert closed["events"][2]["note"] == "申请人来电咨询, 核对身份"
    assert len({e["principalId"] for e in closed["events"][1:]}) == 2  # the office, and the department's clerk
    assert await client.error_code(ADVANCE, {"id": alert, "to": "CONFIRMED", "note": "再议"}, token=auditor.token) == (
        "ALERT_STATE_CONFLICT"
    )


async def test_a_late_explanation_is_escalated_once(hub, client, clerk, auditor) -> None:
    alert = await _an_alert(hub, client, clerk, auditor)
    at(hub, FRIDAY)
    await client.execute(ADVANCE, {"id": alert, "to": "EXPLANATION_REQUESTED", "note": "请说明"}, token=auditor.token)
    assert (await evaluate_on(hub, date(2026, 11, 13))).escalated == 0  # due today: not late yet
    assert (await evaluate_on(hub, date(2026, 11, 16))).escalated == 1
    assert (await evaluate_on(hub, date(2026, 11, 17))).escalated == 0
    (late,) = (await client.execute(ALERTS, {"status": "EXPLANATION_REQUESTED"}, token=auditor.token))[
        "supervisionAlerts"
    ]
    assert late["escalated"] is True and late["events"][-1]["note"] == "escalated: no explanation by 2026-11-13"
    # The office confirms: a confirmed alert can still be closed.
    await client.execute(ADVANCE, {"id": alert, "to": "CONFIRMED", "note": "无正当理由"}, token=auditor.token)
    assert (await client.execute(ALERTS, {"status": "CONFIRMED"}, token=auditor.token))["supervisionAlerts"]
