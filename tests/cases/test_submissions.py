"""The retirement papers: handed in on 6 July, looked for on 12 August, found by ID number.

A man hands in his retirement papers at the social security window on 6 July. Five weeks later
another clerk, at another window, finds every case and every material he ever submitted, with the
dates, the window, the status and the departments, and the access log shows who looked.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from hub.access.auth import Role
from storage.models import AccessEntry
from tests.support import make_actor
from tests.support.case_stories import ACCEPT, ATTACH, OPEN, PDF, at, hand_in, load, on_file, register, resident_id

RETIREE = resident_id("11010119660706101")
OTHER = resident_id("11010219700101202")

CATALOG = """
departments:
  - {code: gaj, name: 公安局}
material_types:
  - {code: sfz, name: 居民身份证, issuing_department: gaj}
  - {code: txsqb, name: 退休申请表}
  - {code: dacl, name: 人事档案材料}
  - {code: ybsq, name: 医保关系转移申请表}
service_items:
  - {code: rsj-tx, name: 职工正常退休审批, lead_department: rsj, statutory_days: 20, promised_days: 10,
     materials: [{type: sfz}, {type: txsqb}, {type: dacl}]}
  - {code: rsj-yb, name: 医保关系转移接续, lead_department: rsj, statutory_days: 15, promised_days: 5,
     materials: [{type: sfz}, {type: ybsq}]}
"""

SUBMISSIONS = """
query($id: String!, $text: String, $from: Date, $to: Date, $first: Int!, $after: String) {
  applicant(idNumber: $id) {
    priorSubmissions(text: $text, openedFrom: $from, openedTo: $to, first: $first, after: $after) {
      edges { cursor node {
        receiptNumber window status openedAt acceptedAt
        windowDepartment { code } departments { code } items { item { name } }
        materials { materialType { name } origin attachedAt pinned { title fileName } }
      } }
      pageInfo { hasNextPage endCursor }
    }
  }
}"""


async def _case(client, clerk, id_number: str, item: str, window: str, hand: dict[str, str], card) -> str:
    receipt = (
        await client.execute(OPEN, {"i": {"idNumber": id_number, "items": [item], "window": window}}, token=clerk.token)
    )["openCase"]["receiptNumber"]
    await client.execute(
        ATTACH, {"i": {"receiptNumber": receipt, "materialVersionId": card.current_version.id}}, token=clerk.token
    )
    for type_code, title in hand.items():
        await hand_in(client, clerk, receipt, type_code, title)
    return receipt


async def test_a_clerk_finds_the_retirement_papers_weeks_later_by_id_number(hub, client, clerk) -> None:
    await load(hub, CATALOG)
    august_clerk = await make_actor(hub, Role.CLERK, "xzfw", "赵窗口")
    tax = await make_actor(hub, Role.DEPARTMENT_SYSTEM, "sw")
    at(hub, date(2026, 3, 2))
    await register(client, clerk, RETIREE, "刘建国")
    await register(client, clerk, OTHER, "陈秀英")
    card = await on_file(clerk, RETIREE, "sfz", issued_on=date(2016, 7, 6))
    other_card = await on_file(clerk, OTHER, "sfz", issued_on=date(2017, 1, 1))
    medical = await _case(client, clerk, RETIREE, "rsj-yb", "社保窗口 1", {"ybsq": "医保关系转移申请表"}, card)
    await _case(client, clerk, OTHER, "rsj-tx", "社保窗口 1", {"txsqb": "退休申请表", "dacl": "人事档案"}, other_card)

    at(hub, date(2026, 7, 6))
    retirement = await _case(
        client, clerk, RETIREE, "rsj-tx", "社保窗口 2", {"txsqb": "退休申请表", "dacl": "人事档案材料"}, card
    )
    await client.execute(ACCEPT, {"r": retirement}, token=clerk.token)

    # 12 August, another clerk, another window: only the ID number is known.
    at(hub, date(2026, 8, 12))
    page = (await client.execute(SUBMISSIONS, {"id": RETIREE, "first": 20}, token=august_clerk.token))["applicant"][
        "priorSubmissions"
    ]
    found = [edge["node"] for edge in page["edges"]]
    assert [case["receiptNumber"] for case in found] == [retirement, medical]  # newest first, his only
    papers = found[0]
    assert papers["window"] == "社保窗口 2" and papers["status"] == "ACCEPTED"
    assert papers["openedAt"].startswith("2026-07-06") and papers["windowDepartment"]["code"] == "xzfw"
    assert [d["code"] for d in papers["departments"]] == ["rsj"]
    handed = {m["materialType"]["name"]: m for m in papers["materials"]}
    assert (
        handed["退休申请表"]["origin"] == "UPLOADED" and handed["退休申请表"]["pinned"]["fileName"] == "退休申请表.pdf"
    )
    assert handed["人事档案材料"]["attachedAt"].startswith("2026-07-06")
    assert handed["居民身份证"]["origin"] == "REUSED"

    # Searchable: by item name, by material name, by receipt number, by date; paginated.
    async def receipts(**variables) -> list[str]:
        data = await client.execute(SUBMISSIONS, {"id": RETIREE, "first": 20, **variables}, token=august_clerk.token)
        return [e["node"]["receiptNumber"] for e in data["applicant"]["priorSubmissions"]["edges"]]

    assert await receipts(text="退休") == [retirement]
    assert await receipts(text="医保关系") == [medical]
    assert await receipts(text=retirement) == [retirement]
    assert await receipts(**{"from": "2026-07-01", "to": "2026-07-31"}) == [retirement]
    assert await receipts(text="100%_") == []
    first = (await client.execute(SUBMISSIONS, {"id": RETIREE, "first": 1}, token=august_clerk.token))["applicant"][
        "priorSubmissions"
    ]
    assert first["pageInfo"]["hasNextPage"] is True
    assert await receipts(first=1, after=first["pageInfo"]["endCursor"]) == [medical]

    # The access log shows who looked, and a department system may not browse his history.
    async with hub.sessions() as session:
        looks = (
            (
                await session.execute(
                    select(AccessEntry).where(AccessEntry.applicant_ref == RETIREE, AccessEntry.action == "case.search")
                )
            )
            .scalars()
            .all()
        )
    lookers = await august_clerk.context()
    await lookers.close()
    assert {entry.principal_id for entry in looks} == {lookers.caller.principal_id}
    assert await client.error_code(
        SUBMISSIONS, {"id": RETIREE, "first": 5}, token=tax.token, purpose="basis:tax-check"
    ) == ("FORBIDDEN")


async def test_a_malformed_cursor_is_refused(hub, client, clerk) -> None:
    await load(hub, CATALOG)
    await register(client, clerk, RETIREE, "刘建国")
    assert (
        await client.error_code(SUBMISSIONS, {"id": RETIREE, "first": 5, "after": "not-a-cursor"}, token=clerk.token)
        == "BAD_USER_INPUT"
    )
    assert await client.error_code(SUBMISSIONS, {"id": RETIREE, "first": 0}, token=clerk.token) == "BAD_USER_INPUT"


async def test_the_latest_cases_of_several_applicants_come_in_one_response(hub, client, clerk) -> None:
    await load(hub, CATALOG)
    at(hub, date(2026, 3, 2))
    await register(client, clerk, RETIREE, "刘建国")
    await register(client, clerk, OTHER, "刘秀英")
    cards = {n: await on_file(clerk, n, "sfz", issued_on=date(2016, 7, 6)) for n in (RETIREE, OTHER)}
    opened = {
        (n, item): await _case(client, clerk, n, item, "社保窗口 1", {}, cards[n])
        for n in (RETIREE, OTHER)
        for item in ("rsj-tx", "rsj-yb")
    }
    data = await client.execute(
        """{ applicants(namePrefix: "刘") { edges { node { idNumber cases(last: 1) { receiptNumber status }
              priorSubmissions(text: "退休") { edges { node { receiptNumber } } pageInfo { hasNextPage } } } } } }""",
        token=clerk.token,
    )
    nodes = {e["node"]["idNumber"]: e["node"] for e in data["applicants"]["edges"]}
    assert {n: node["cases"] for n, node in nodes.items()} == {
        n: [{"receiptNumber": opened[n, "rsj-yb"], "status": "OPEN"}] for n in (RETIREE, OTHER)
    }
    assert {
        n: [e["node"]["receiptNumber"] for e in node["priorSubmissions"]["edges"]] for n, node in nodes.items()
    } == {n: [opened[n, "rsj-tx"]] for n in (RETIREE, OTHER)}


async def test_a_long_upload_at_the_window_does_not_hold_the_case(hub, client, clerk) -> None:
    """While a large file is still being stored for a case, another window can still write to that case.
    The upload's reads stall here until the other write has gone through."""
    import asyncio
    import io
    import threading

    from sqlalchemy import update

    from hub.cases.completion import CaseFile, upload_for_case
    from hub.documents.materials import FileUpload
    from storage.models.cases import Case

    await load(hub, CATALOG)
    await register(client, clerk, RETIREE, "刘建国")
    receipt = (
        await client.execute(
            OPEN, {"i": {"idNumber": RETIREE, "items": ["rsj-tx"], "window": "社保窗口 2"}}, token=clerk.token
        )
    )["openCase"]["receiptNumber"]
    storing, released = threading.Event(), threading.Event()

    class SlowFile(io.BytesIO):
        def read(self, *args):
            if threading.current_thread() is not threading.main_thread():  # the store's worker thread
                storing.set()
                released.wait(20)
            return super().read(*args)

    ctx = await clerk.context()
    upload = FileUpload(SlowFile(PDF + b"retirement application form"), "退休申请表.pdf", "application/pdf")
    handing_in = asyncio.create_task(upload_for_case(ctx, receipt, CaseFile("txsqb", "退休申请表", upload)))
    while not storing.is_set():
        await asyncio.sleep(0.01)
    async with hub.sessions() as other_window:
        await asyncio.wait_for(
            other_window.execute(update(Case).where(Case.receipt_number == receipt).values(window="社保窗口 3")), 5
        )
        await other_window.commit()
    released.set()
    view = await handing_in
    await ctx.close()
    assert view.case.window == "社保窗口 3"  # the case was read afresh once locked
    assert [m.requirement.material_type.code for m in view.materials if m.version is not None] == ["txsqb"]
