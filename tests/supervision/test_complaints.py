"""办不成事 end to end: an applicant files what could not be done, a window files for another; the
office sees them with their deadlines, resolves them with a note, and counts them by department and
cause; the applicant follows theirs by receipt number, and no one else's."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from hub.access.auth import Role
from hub.access.principals import create_principal
from storage.models import AccessEntry
from storage.models.supervision import Complaint
from tests.support import Actor
from tests.support.case_stories import at
from tests.support.materials import load_material_types
from tests.support.supervision import applicant

FILE = """mutation($i: FileComplaintInput!) { fileComplaint(input: $i) {
  receiptNumber department { code } centre { code } cause complexity respondBy status overdue } }"""
STATUS = """query($r: String!) { complaintStatus(receiptNumber: $r) {
  receiptNumber status overdue resolution resolutionNote whatHappened itemCode } }"""
LIST = """query($s: ComplaintStatus) { supervisionComplaints(status: $s) { receiptNumber respondBy overdue status } }"""
RESOLVE = """mutation($r: String!, $how: ComplaintResolution!, $note: String!) {
  resolveComplaint(receiptNumber: $r, resolution: $how, note: $note) { status resolution resolutionNote resolvedAt } }"""
FIGURES = """query { complaintFigures { department { code } cause filed open overdue solved explained policyGaps } }"""


async def _applicant_principal(hub, id_number: str) -> Actor:
    async with hub.sessions() as session:
        issued = await create_principal(session, "申请人本人", Role.APPLICANT, "xzfw", applicant_ref=id_number)
        await session.commit()
    return Actor(hub, issued.token, Role.APPLICANT, "xzfw")


async def test_what_could_not_be_done_is_tracked_to_a_resolution(hub, client, clerk, auditor) -> None:
    person = await applicant(clerk, "11010119800101123", "张三")
    other = await applicant(clerk, "11010119820202456", "李四")
    himself = await _applicant_principal(hub, person)
    at(hub, date(2026, 11, 6))  # a Friday

    filed = (
        await client.execute(
            FILE,
            {
                "i": {
                    "idNumber": person,
                    "department": "bdc",
                    "centre": "xzfw",
                    "itemCode": "bdc-zydj",
                    "whatHappened": "第三次被要求重新提交户口本",
                    "cause": "MATERIALS",
                }
            },
            token=himself.token,
        )
    )["fileComplaint"]
    receipt = filed["receiptNumber"]
    assert receipt.startswith("BCS-20261106-")
    # Ordinary: three working days, Monday 9 to Wednesday 11 November.
    assert filed["respondBy"] == "2026-11-11" and filed["status"] == "OPEN" and filed["complexity"] == "ORDINARY"
    window = (
        await client.execute(
            FILE,
            {
                "i": {
                    "idNumber": other,
                    "department": "sw",
                    "centre": "xzfw",
                    "whatHappened": "系统查不到完税记录",
                    "cause": "SYSTEM",
                    "complexity": "SIMPLE",
                }
            },
            token=clerk.token,
        )
    )["fileComplaint"]
    assert window["respondBy"] == "2026-11-06"  # simple: the same day

    # An applicant files and reads for themselves only.
    someone_else = {
        "i": {"idNumber": other, "department": "sw", "centre": "xzfw", "whatHappened": "x", "cause": "OTHER"}
    }
    assert await client.error_code(FILE, someone_else, token=himself.token) == "FORBIDDEN"
    assert await client.error_code(STATUS, {"r": window["receiptNumber"]}, token=himself.token) == "FORBIDDEN"
    assert await client.error_code(STATUS, {"r": receipt}, token=auditor.token) == "FORBIDDEN"
    assert await client.error_code(STATUS, {"r": "BCS-20261106-99999"}, token=clerk.token) == "NOT_FOUND"

    at(hub, date(2026, 11, 9))
    listed = (await client.execute(LIST, token=auditor.token))["supervisionComplaints"]
    assert [(c["receiptNumber"], c["overdue"]) for c in listed] == [(window["receiptNumber"], True), (receipt, False)]
    assert await client.error_code(RESOLVE, {"r": receipt, "how": "SOLVED", "note": "x"}, token=clerk.token) == (
        "FORBIDDEN"
    )
    resolved = (
        await client.execute(
            RESOLVE,
            {"r": receipt, "how": "POLICY_GAP", "note": "户口本已在共享库, 已通知不动产中心复用"},
            token=auditor.token,
        )
    )["resolveComplaint"]
    assert resolved["status"] == "RESOLVED" and resolved["resolution"] == "POLICY_GAP"
    assert await client.error_code(RESOLVE, {"r": receipt, "how": "SOLVED", "note": "再次"}, token=auditor.token) == (
        "COMPLAINT_STATE_CONFLICT"
    )
    assert await client.error_code(
        RESOLVE, {"r": window["receiptNumber"], "how": "SOLVED", "note": " "}, token=auditor.token
    ) == ("BAD_USER_INPUT")

    status = (await client.execute(STATUS, {"r": receipt}, token=himself.token))["complaintStatus"]
    assert status == {
        "receiptNumber": receipt,
        "status": "RESOLVED",
        "overdue": False,
        "resolution": "POLICY_GAP",
        "resolutionNote": "户口本已在共享库, 已通知不动产中心复用",
        "whatHappened": "第三次被要求重新提交户口本",
        "itemCode": "bdc-zydj",
    }
    figures = (await client.execute(FIGURES, token=auditor.token))["complaintFigures"]
    assert figures == [
        {
            "department": {"code": "bdc"},
            "cause": "MATERIALS",
            "filed": 1,
            "open": 0,
            "overdue": 0,
            "solved": 0,
            "explained": 0,
            "policyGaps": 1,
        },
        {
            "department": {"code": "sw"},
            "cause": "SYSTEM",
            "filed": 1,
            "open": 1,
            "overdue": 1,
            "solved": 0,
            "explained": 0,
            "policyGaps": 0,
        },
    ]


async def test_a_caller_who_may_not_file_is_refused_and_the_refusal_is_logged(
    hub, client, clerk, auditor, tax_system, admin
) -> None:
    person = await applicant(clerk, "11010119800101123", "张三")
    await load_material_types(hub)
    filing = {"i": {"idNumber": person, "department": "sw", "centre": "xzfw", "whatHappened": "x", "cause": "OTHER"}}
    assert await client.error_code(FILE, filing, token=auditor.token) == "FORBIDDEN"
    assert await client.error_code(FILE, filing, token=admin.token) == "FORBIDDEN"
    # A department system whose purpose would let it look the applicant up still does not file.
    assert await client.error_code(FILE, filing, token=tax_system.token, purpose="basis:identity-materials") == (
        "FORBIDDEN"
    )
    async with hub.sessions() as session:
        rows = await session.execute(
            select(AccessEntry.role, AccessEntry.outcome, AccessEntry.applicant_ref, AccessEntry.reason)
            .where(AccessEntry.object_ref == "complaint:new")
            .order_by(AccessEntry.id)
        )
        logged = [(role, outcome, ref, reason.split(":")[0]) for role, outcome, ref, reason in rows]
    assert [entry[:3] for entry in logged] == [
        ("auditor", "denied", person),
        ("admin", "denied", person),
        ("department_system", "refused", person),
    ]
    assert logged[2][3] == "FORBIDDEN"
    async with hub.sessions() as session:
        assert not list(await session.scalars(select(Complaint)))
