"""联合一次性告知: the applicant is told at once everything needed, and what the hub already holds."""

from __future__ import annotations

import asyncio
from datetime import date

from sqlalchemy import select

from hub.access.auth import Role
from hub.cases import intake as cases
from hub.documents import materials
from storage.models import AccessEntry
from tests.support import make_actor, open_visit
from tests.support.case_stories import (
    ACCEPT,
    ATTACH,
    ESTATE_CATALOG,
    ESTATE_ITEMS,
    NOTICE,
    OPEN,
    PROMISE,
    at,
    by_code,
    hand_in,
    load,
    on_file,
    register,
    resident_id,
)

BUYER = resident_id("11010119900909123")


async def test_without_an_applicant_the_notice_lists_each_material_once(hub, client, clerk) -> None:
    await load(hub, ESTATE_CATALOG)
    at(hub, date(2025, 9, 26))
    notice = (await client.execute(NOTICE, {"items": [*ESTATE_ITEMS, "sw-clfns"]}, token=clerk.token))["oneTimeNotice"]
    entries = by_code(notice["entries"])
    assert [item["code"] for item in notice["items"]] == sorted(ESTATE_ITEMS)
    assert sorted(entries) == ["bdcqz", "dkht", "gfht", "hyzm", "sfz"]
    assert {entry["holding"] for entry in entries.values()} == {"MISSING"}
    assert {code for code, entry in entries.items() if not entry["isKey"]} == {"dkht", "hyzm"}
    assert entries["gfht"]["requiredBy"] == ["sw-clfns", "zjj-wqba", "zrzy-zydj"]
    # The ID card must last until the longest promised limit among the items needing it (5 days).
    assert entries["sfz"]["neededUntil"] == "2025-10-10"
    assert notice["toHandIn"] == 5


async def test_revoked_expired_and_superseded_materials_are_not_reused(hub, client, clerk) -> None:
    await load(hub, ESTATE_CATALOG)
    police = await make_actor(hub, Role.DEPARTMENT_SYSTEM, "gaj")
    at(hub, date(2025, 9, 26))
    await register(client, clerk, BUYER, "孙七")
    revoked_card = await on_file(clerk, BUYER, "sfz", title="挂失的身份证", issued_on=date(2015, 1, 1))
    ctx = await police.context(purpose="basis:lost-card")
    await materials.revoke_material(ctx, revoked_card.material.id, "身份证挂失")
    await ctx.close()
    await on_file(clerk, BUYER, "hyzm", issued_on=date(2025, 1, 1), valid_until=date(2025, 3, 31))
    old_contract = await on_file(clerk, BUYER, "gfht", title="旧合同", issued_on=date(2025, 9, 1))
    ctx = await clerk.context()
    new_contract = await materials.upload_material(
        ctx,
        materials.NewMaterial(BUYER, "gfht", "新合同", issued_on=date(2025, 9, 20)),
        materials.FileUpload.of_bytes(b"%PDF-1.7 new contract", "合同.pdf", "application/pdf"),
        supersedes=old_contract.material.id,
    )
    await ctx.close()

    visit = await open_visit(client, clerk, BUYER)
    notice = (await client.execute(NOTICE, {"items": ESTATE_ITEMS, "id": BUYER}, token=clerk.token, purpose=visit))[
        "oneTimeNotice"
    ]
    entries = by_code(notice["entries"])
    assert entries["sfz"]["holding"] == "REVOKED_OR_EXPIRED" and entries["sfz"]["onFile"]["status"] == "revoked"
    assert entries["hyzm"]["holding"] == "REVOKED_OR_EXPIRED"
    assert entries["gfht"]["holding"] == "ON_FILE_VALID"
    assert entries["gfht"]["onFile"]["materialId"] == new_contract.material.id
    assert entries["bdcqz"]["holding"] == "MISSING"


async def test_bad_item_lists_are_refused_with_their_codes(hub, client, clerk) -> None:
    old = await load(hub, ESTATE_CATALOG, "v1.yaml")
    await load(hub, ESTATE_CATALOG, "v2.yaml")
    assert await client.error_code(NOTICE, {"items": ["nope"]}, token=clerk.token) == "UNKNOWN_SERVICE_ITEM"
    assert await client.error_code(NOTICE, {"items": []}, token=clerk.token) == "BAD_USER_INPUT"
    stale = {"items": ["zrzy-zydj"], "version": old}
    assert await client.error_code(NOTICE, stale, token=clerk.token) == "ITEM_NOT_IN_CURRENT_CATALOG"


async def test_auditors_and_departments_without_a_case_get_no_notice_about_an_applicant(
    hub, client, clerk, auditor, tax_system
) -> None:
    await load(hub, ESTATE_CATALOG)
    await register(client, clerk, BUYER, "孙七")
    asking = {"items": ["sw-clfns"], "id": BUYER}
    assert await client.error_code(NOTICE, asking, token=auditor.token) == "FORBIDDEN"
    assert await client.error_code(NOTICE, asking, token=tax_system.token, purpose="basis:none") == "FORBIDDEN"


async def test_a_deadline_in_a_year_not_yet_announced_is_provisional_not_missing(hub, client, clerk) -> None:
    await load(hub, ESTATE_CATALOG)
    at(hub, date(2026, 12, 28))
    await register(client, clerk, BUYER, "孙七")
    await on_file(clerk, BUYER, "sfz", issued_on=date(2016, 1, 8), valid_until=date(2027, 1, 2))
    visit = await open_visit(client, clerk, BUYER)
    notice = (await client.execute(NOTICE, {"items": ["zrzy-zydj"], "id": BUYER}, token=clerk.token, purpose=visit))[
        "oneTimeNotice"
    ]
    # Five working days from 28 December end in 2027, whose holidays are known by rule only: the ID
    # card, valid until 2 January, might not last, so the notice does not promise it will.
    assert by_code(notice["entries"])["sfz"]["holding"] == "EXPIRES_BEFORE_DEADLINE"

    receipt = (
        await client.execute(
            OPEN, {"i": {"idNumber": BUYER, "items": ["zjj-wqba"], "window": "综合窗口 1"}}, token=clerk.token
        )
    )["openCase"]["receiptNumber"]
    card = by_code(notice["entries"])["sfz"]["onFile"]["materialVersionId"]
    await client.execute(ATTACH, {"i": {"receiptNumber": receipt, "materialVersionId": card}}, token=clerk.token)
    await hand_in(client, clerk, receipt, "gfht", "合同")
    await hand_in(client, clerk, receipt, "bdcqz", "权证")
    at(hub, date(2026, 12, 29))
    accepted = (await client.execute(ACCEPT, {"r": receipt}, token=clerk.token))["acceptCase"]
    [item] = accepted["items"]
    # Three working days from 29 December: 30, 31 December, then 4 January 2027 (New Year's Day by
    # rule): a date, marked provisional until the 2027 notice is loaded.
    assert item["promisedDeadline"]["dueOn"] == "2027-01-04"
    assert item["promisedDeadline"]["provisional"] is True
    assert item["promisedDeadline"]["overdue"] is False


async def test_receipt_numbers_stay_unique_when_windows_open_cases_at_once(hub, client, clerk) -> None:
    await load(hub, ESTATE_CATALOG)
    at(hub, date(2025, 9, 26))
    await register(client, clerk, BUYER, "孙七")

    async def open_one(window: int) -> str:
        ctx = await clerk.context()
        try:
            view = await cases.open_case(ctx, BUYER, ["zrzy-zydj"], f"综合窗口 {window}")
            return view.receipt_number
        finally:
            await ctx.close()

    receipts = await asyncio.gather(*(open_one(n) for n in range(1, 9)))
    assert sorted(receipts) == [f"20250926-{n:05d}" for n in range(1, 9)]


async def test_a_promise_must_be_for_a_future_date_and_a_required_type(hub, client, clerk) -> None:
    await load(hub, ESTATE_CATALOG)
    at(hub, date(2025, 9, 26))
    await register(client, clerk, BUYER, "孙七")
    receipt = (
        await client.execute(
            OPEN, {"i": {"idNumber": BUYER, "items": ["sw-clfns"], "window": "综合窗口 1"}}, token=clerk.token
        )
    )["openCase"]["receiptNumber"]
    past = {"i": {"receiptNumber": receipt, "materialType": "hyzm", "promisedOn": "2025-09-25"}}
    assert await client.error_code(PROMISE, past, token=clerk.token) == "BAD_USER_INPUT"
    other = {"i": {"receiptNumber": receipt, "materialType": "dkht", "promisedOn": "2025-10-09"}}
    assert await client.error_code(PROMISE, other, token=clerk.token) == "MATERIAL_NOT_REQUIRED"
    missing = {"i": {"receiptNumber": "20250926-99999", "materialType": "hyzm", "promisedOn": "2025-10-09"}}
    assert await client.error_code(PROMISE, missing, token=clerk.token) == "NOT_FOUND"


async def _notice_entries(hub) -> list[tuple[str, str, str, str]]:
    async with hub.sessions() as session:
        rows = await session.execute(
            select(AccessEntry).where(AccessEntry.action == "notice.read").order_by(AccessEntry.id)
        )
        return [(row.outcome, row.applicant_ref, row.object_ref, row.purpose) for row in rows.scalars()]


async def test_what_is_on_file_is_told_only_to_the_window_the_applicant_stands_at(hub, client, clerk) -> None:
    await load(hub, ESTATE_CATALOG)
    at(hub, date(2025, 9, 26))
    await register(client, clerk, BUYER, "孙七")
    await on_file(clerk, BUYER, "sfz", title="孙七身份证", issued_on=date(2019, 3, 3))
    asking = {"items": ["zrzy-zydj"], "id": BUYER}

    # Without the applicant at the window, the titles of their materials are not the clerk's to see.
    assert await client.error_code(NOTICE, asking, token=clerk.token) == "FORBIDDEN"
    # The list of what the items require stays readable to anyone, without naming an applicant.
    listed = (await client.execute(NOTICE, {"items": ["zrzy-zydj"]}, token=clerk.token))["oneTimeNotice"]
    unnamed = by_code(listed["entries"])["sfz"]
    assert unnamed["holding"] == "MISSING" and unnamed["onFile"] is None

    # Another clerk's visit does not count; the applicant presenting their ID at this window does.
    colleague = await make_actor(hub, Role.CLERK, "xzfw", "李窗口")
    theirs = await open_visit(client, colleague, BUYER)
    assert await client.error_code(NOTICE, asking, token=clerk.token, purpose=theirs) == "FORBIDDEN"
    visit = await open_visit(client, clerk, BUYER)
    told = (await client.execute(NOTICE, asking, token=clerk.token, purpose=visit))["oneTimeNotice"]
    assert by_code(told["entries"])["sfz"]["onFile"]["title"] == "孙七身份证"

    # A case of the clerk's window counts too, for that case's items.
    receipt = (
        await client.execute(
            OPEN, {"i": {"idNumber": BUYER, "items": ["zrzy-zydj"], "window": "综合窗口 1"}}, token=clerk.token
        )
    )["openCase"]["receiptNumber"]
    in_case = (await client.execute(NOTICE, asking, token=clerk.token, purpose=f"case:{receipt}"))["oneTimeNotice"]
    assert by_code(in_case["entries"])["sfz"]["holding"] == "ON_FILE_VALID"
    other_items = {"items": ESTATE_ITEMS, "id": BUYER}
    assert await client.error_code(NOTICE, other_items, token=clerk.token, purpose=f"case:{receipt}") == "FORBIDDEN"

    # Every answer and every refusal is in the log, with the purpose it was asked under.
    assert await _notice_entries(hub) == [
        ("denied", BUYER, "notice:zrzy-zydj", ""),
        ("denied", BUYER, "notice:zrzy-zydj", theirs),
        ("allowed", BUYER, "notice:zrzy-zydj", visit),
        ("allowed", BUYER, "notice:zrzy-zydj", f"case:{receipt}"),
        ("denied", BUYER, "notice:" + ",".join(sorted(ESTATE_ITEMS)), f"case:{receipt}"),
    ]


async def test_a_catalogue_loaded_is_told_by_the_next_notice(hub, client, clerk) -> None:
    # The items and what they require are kept per process by catalogue version (hub/access/lookups.py).
    first = await load(hub, ESTATE_CATALOG, "v1.yaml")
    asking = {"items": ["zrzy-zydj"]}
    notice = (await client.execute(NOTICE, asking, token=clerk.token))["oneTimeNotice"]
    assert (notice["catalogVersion"], sorted(by_code(notice["entries"]))) == (first, ["bdcqz", "gfht", "sfz"])

    fewer = ESTATE_CATALOG.replace(
        "materials: [{type: sfz}, {type: bdcqz}, {type: gfht}]", "materials: [{type: sfz}, {type: gfht}]", 1
    )
    assert fewer != ESTATE_CATALOG
    second = await load(hub, fewer, "v2.yaml")
    notice = (await client.execute(NOTICE, asking, token=clerk.token))["oneTimeNotice"]
    assert (notice["catalogVersion"], sorted(by_code(notice["entries"]))) == (second, ["gfht", "sfz"])


async def test_the_notice_beside_other_root_fields_shares_the_connection_in_turn(hub, client, clerk, auditor) -> None:
    """Root fields run concurrently on the request's one connection; the notice's reads on the
    driver take SQLAlchemy's lock for it as the others' statements do (bench.fuzz found
    INTERNAL_SERVER_ERROR: "another operation is in progress"). A refusal there is still a
    refusal, logged once."""
    await load(hub, ESTATE_CATALOG)
    at(hub, date(2025, 9, 26))
    query = (
        "query($items: [String!]!, $id: String) { oneTimeNotice(items: $items, idNumber: $id) { toHandIn } "
        "departments { code } centres { code } serviceItems { code } viewer { role } }"
    )
    for _ in range(5):
        answer = await client.execute(query, {"items": ESTATE_ITEMS}, token=clerk.token)
        assert answer["oneTimeNotice"]["toHandIn"] == 5
        assert answer["departments"] and answer["serviceItems"]
    await register(client, clerk, BUYER, "孙七")
    refused = await client.error(query, {"items": ESTATE_ITEMS, "id": BUYER}, token=auditor.token)
    assert refused["extensions"]["code"] == "FORBIDDEN" and refused["path"] == ["oneTimeNotice"]
    assert [(outcome, ref) for outcome, ref, _, _ in await _notice_entries(hub)] == [("denied", BUYER)]
