"""The supervision office reads a case's course (states, times, departments, decisions) under a
supervision purpose, through the guard and the log; never a material or a profile value."""

from __future__ import annotations

from datetime import date

from hub.access.auth import Role
from hub.audit.sequencer import Sequencer
from storage.models.cases import Decision
from tests.support import make_actor
from tests.support.case_stories import CASE
from tests.support.supervision import SUPERVISION, accepted_case, applicant, decide, load_timing_catalog

SUPERVISED = """query($r: String!) { supervisedCase(receiptNumber: $r) {
  receiptNumber status window windowDepartment { code } acceptedAt timingState
  items { item { code } promisedDeadline { dueOn remainingWorkingDays } timingState }
  reviews { department { code } state timingState deadline { dueOn } statutoryDays workingDaysSpent settledOn onTime
            decisions { department { code } revision decision } } } }"""
LOG = """query($f: AccessLogFilter) { accessLog(filter: $f, first: 5) {
  edges { node { action outcome purpose applicantIdNumber objectRef materialTypes fields } } } }"""


async def test_the_office_reads_a_case_course_under_a_supervision_purpose(hub, client, clerk, auditor) -> None:
    await load_timing_catalog(hub)
    housing = await make_actor(hub, Role.DEPARTMENT_SYSTEM, "zjj")
    person = await applicant(clerk, "11010119800101123", "张三")
    receipt = await accepted_case(hub, clerk, person, ["zjj-sgxk"], date(2026, 11, 2))
    await decide(hub, housing, receipt, date(2026, 11, 4))

    # Without a purpose, and through the departments' case read, the auditor is refused as before.
    assert await client.error_code(CASE, {"r": receipt}, token=auditor.token) == "FORBIDDEN"
    assert await client.error_code(SUPERVISED, {"r": receipt}, token=auditor.token) == "FORBIDDEN"

    case = (await client.execute(SUPERVISED, {"r": receipt}, token=auditor.token, purpose=SUPERVISION))[
        "supervisedCase"
    ]
    assert case["status"] == "ACCEPTED" and case["windowDepartment"]["code"] == "xzfw"
    assert case["items"][0]["promisedDeadline"] == {"dueOn": "2026-11-10", "remainingWorkingDays": 4}
    reviews = {r["department"]["code"]: r for r in case["reviews"]}
    assert reviews["zjj"]["state"] == "APPROVED" and reviews["zjj"]["settledOn"] == "2026-11-04"
    assert reviews["zjj"]["onTime"] is True and reviews["zjj"]["workingDaysSpent"] == 2
    assert reviews["zjj"]["decisions"] == [{"department": {"code": "zjj"}, "revision": 1, "decision": "APPROVE"}]
    assert reviews["zjj"]["timingState"] is None  # settled: no longer judged
    assert reviews["zrzy"]["state"] == "PENDING" and reviews["zrzy"]["timingState"] == "GREEN"
    assert case["timingState"] == "GREEN"

    await Sequencer(hub).integrate()
    entries = (await client.execute(LOG, {"f": {"purpose": SUPERVISION, "outcome": "ALLOWED"}}, token=auditor.token))[
        "accessLog"
    ]["edges"]
    assert [e["node"] for e in entries] == [
        {
            "action": "case.read",
            "outcome": "ALLOWED",
            "purpose": SUPERVISION,
            "applicantIdNumber": person,
            "objectRef": f"case:{receipt}",
            "materialTypes": [],
            "fields": [],
        }
    ]


async def test_only_the_supervision_office_has_the_supervision_purpose(hub, client, clerk, auditor) -> None:
    await load_timing_catalog(hub)
    person = await applicant(clerk, "11010119800101123", "张三")
    receipt = await accepted_case(hub, clerk, person, ["sw-ns"], date(2026, 11, 2))
    tax = await make_actor(hub, Role.DEPARTMENT_SYSTEM, "sw")
    assert await client.error_code(SUPERVISED, {"r": receipt}, token=tax.token, purpose=SUPERVISION) == "FORBIDDEN"
    housing = await make_actor(hub, Role.DEPARTMENT_SYSTEM, "zjj")
    assert await client.error_code(SUPERVISED, {"r": receipt}, token=housing.token, purpose=SUPERVISION) == "FORBIDDEN"
    # An unknown receipt is an attempt too, and answers NOT_FOUND to the office.
    assert (
        await client.error_code(SUPERVISED, {"r": "20261102-99999"}, token=auditor.token, purpose=SUPERVISION)
        == "NOT_FOUND"
    )
    # A refused decision does not settle the review.
    await decide(hub, tax, receipt, date(2026, 11, 3), Decision.NEEDS_CORRECTION)
    case = (await client.execute(SUPERVISED, {"r": receipt}, token=auditor.token, purpose=SUPERVISION))[
        "supervisedCase"
    ]
    assert case["reviews"][0]["state"] == "NEEDS_CORRECTION" and case["reviews"][0]["settledOn"] is None
