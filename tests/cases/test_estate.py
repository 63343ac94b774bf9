"""二手房交易: a real estate transfer across land and planning, housing, tax and a bank.

The seller comes to the window on the Friday before National Day 2025. The hub tells him at once
everything the four items need and what it already holds; the clerk opens one case, reuses his ID
card, takes the new papers, accepts with the marriage certificate promised (容缺), and the four
departments review in parallel across the holiday.
"""

from __future__ import annotations

from datetime import date

from hub.access.auth import Role
from hub.documents import materials
from tests.support import make_actor, open_visit
from tests.support.case_stories import (
    ACCEPT,
    ATTACH,
    CASE,
    COMPLETE,
    ESTATE_CATALOG,
    ESTATE_ITEMS,
    NOTICE,
    OPEN,
    OPINION,
    PROMISE,
    at,
    by_code,
    hand_in,
    issue,
    load,
    on_file,
    register,
    resident_id,
)

SELLER = resident_id("11010119800101123")
NEIGHBOUR = resident_id("11010219820202456")


def opinion(receipt: str, decision: str, comments: str = "", **extra) -> dict:
    return {"i": {"receiptNumber": receipt, "opinion": {"decision": decision, "comments": comments, **extra}}}


async def test_real_estate_transfer_across_four_departments_over_national_day(hub, client, clerk) -> None:
    version = await load(hub, ESTATE_CATALOG, "estate.yaml")
    land, _housing, tax, bank = [
        await make_actor(hub, Role.DEPARTMENT_SYSTEM, code) for code in ("zrzy", "zjj", "sw", "yh")
    ]
    social = await make_actor(hub, Role.DEPARTMENT_SYSTEM, "rsj")
    at(hub, date(2025, 9, 26))
    await register(client, clerk, SELLER, "张三")
    id_card = await on_file(clerk, SELLER, "sfz", title="张三身份证", issued_on=date(2020, 5, 1))
    # His marriage certificate runs out on 29 September, before the tax item's promised deadline.
    await on_file(
        clerk, SELLER, "hyzm", title="婚姻状况证明", issued_on=date(2025, 7, 1), valid_until=date(2025, 9, 29)
    )

    # 联合一次性告知: four items, five distinct materials; the ID card is asked for once, not four times.
    # He presents his ID at the window: the notice may say what is on file for him.
    visit = await open_visit(client, clerk, SELLER)
    notice = (await client.execute(NOTICE, {"items": ESTATE_ITEMS, "id": SELLER}, token=clerk.token, purpose=visit))[
        "oneTimeNotice"
    ]
    entries = by_code(notice["entries"])
    assert notice["catalogVersion"] == version
    assert sorted(entries) == ["bdcqz", "dkht", "gfht", "hyzm", "sfz"]
    assert entries["sfz"]["requiredBy"] == sorted(ESTATE_ITEMS)
    assert entries["sfz"]["holding"] == "ON_FILE_VALID"
    assert entries["sfz"]["onFile"]["materialVersionId"] == id_card.current_version.id
    assert entries["hyzm"]["holding"] == "EXPIRES_BEFORE_DEADLINE" and entries["hyzm"]["isKey"] is False
    # Three working days from 26 September: 28 September (a worked Sunday), 29 and 30 September.
    assert entries["hyzm"]["neededUntil"] == "2025-09-30"
    assert entries["gfht"]["holding"] == "MISSING" and entries["gfht"]["isKey"] is True
    assert notice["toHandIn"] == 4

    opened = (
        await client.execute(
            OPEN,
            {"i": {"idNumber": SELLER, "items": ESTATE_ITEMS, "window": "综合窗口 3", "catalogVersion": version}},
            token=clerk.token,
        )
    )["openCase"]
    receipt = opened["receiptNumber"]
    assert receipt == "20250926-00001"
    assert opened["status"] == "OPEN" and opened["window"] == "综合窗口 3"
    assert [d["code"] for d in opened["departments"]] == ["sw", "yh", "zjj", "zrzy"]
    assert all(r["state"] == "NOT_DISTRIBUTED" for r in opened["reviews"])

    attached = (
        await client.execute(
            ATTACH,
            {"i": {"receiptNumber": receipt, "materialVersionId": id_card.current_version.id}},
            token=clerk.token,
        )
    )["attachMaterial"]
    assert by_code(attached["materials"])["sfz"]["origin"] == "REUSED"

    # Accepting without the purchase contract (a key material) is refused, and nothing changes.
    assert await client.error_code(ACCEPT, {"r": receipt}, token=clerk.token) == "KEY_MATERIAL_MISSING"
    await hand_in(client, clerk, receipt, "bdcqz", "不动产权证书(旧)")
    await hand_in(client, clerk, receipt, "gfht", "房屋买卖合同")
    # The loan contract is not key, but it is neither handed in nor promised yet.
    assert await client.error_code(ACCEPT, {"r": receipt}, token=clerk.token) == "MATERIAL_MISSING"
    await hand_in(client, clerk, receipt, "dkht", "借款合同")
    still_open = (await client.execute(CASE, {"r": receipt}, token=clerk.token))["case"]
    assert still_open["status"] == "OPEN" and still_open["acceptedAt"] is None

    # 容缺: the purchase contract cannot be promised, the marriage certificate can.
    promise_contract = {"i": {"receiptNumber": receipt, "materialType": "gfht", "promisedOn": "2025-10-10"}}
    assert await client.error_code(PROMISE, promise_contract, token=clerk.token) == "KEY_MATERIAL_CANNOT_BE_PROMISED"
    promise = {"i": {"receiptNumber": receipt, "materialType": "hyzm", "promisedOn": "2025-10-10"}}
    promised = (await client.execute(PROMISE, promise, token=clerk.token))["promiseMaterial"]
    assert by_code(promised["materials"])["hyzm"]["origin"] == "PROMISED"

    accepted = (await client.execute(ACCEPT, {"r": receipt}, token=clerk.token))["acceptCase"]
    assert accepted["status"] == "ACCEPTED"
    reviews = by_code(accepted["reviews"], "department")
    assert sorted(reviews) == ["sw", "yh", "zjj", "zrzy"]
    assert {r["state"] for r in reviews.values()} == {"PENDING"}
    assert len({r["assignedAt"] for r in reviews.values()}) == 1  # distributed at once
    items = {i["item"]["code"]: i for i in accepted["items"]}
    # Five working days from 26 September: 28, 29, 30 September, then 9 and 10 October.
    assert items["zrzy-zydj"]["promisedDeadline"]["dueOn"] == "2025-10-10"
    assert items["zjj-wqba"]["promisedDeadline"]["dueOn"] == "2025-09-30"
    assert items["zrzy-zydj"]["statutoryDeadline"]["dueOn"] == "2025-11-13"
    assert accepted["reuse"] == {"reused": 1, "uploaded": 3, "promised": 1, "ratio": 0.25}

    # Land and planning approves; a second opinion without saying "revision" is refused.
    purpose = f"case:{receipt}"
    await client.execute(OPINION, opinion(receipt, "APPROVE"), token=land.token, purpose=purpose)
    assert (
        await client.error_code(OPINION, opinion(receipt, "REJECT", "改主意"), token=land.token, purpose=purpose)
        == "OPINION_ALREADY_RECORDED"
    )
    # Social security takes no part in this case.
    assert (
        await client.error_code(OPINION, opinion(receipt, "APPROVE"), token=social.token, purpose=purpose)
        == "DEPARTMENT_NOT_IN_CASE"
    )
    corrected = (
        await client.execute(
            OPINION,
            opinion(receipt, "NEEDS_CORRECTION", "申报价格低于评估价，请补正", fixDueOn="2025-10-14"),
            token=tax.token,
            purpose=purpose,
        )
    )["recordOpinion"]
    assert by_code(corrected["reviews"], "department")["sw"]["state"] == "NEEDS_CORRECTION"

    complete = {"r": receipt}
    assert await client.error_code(COMPLETE, complete, token=clerk.token) == "PROMISES_UNMET"

    # After the holiday: the promise is overdue, and housing's silence past its deadline is consent.
    at(hub, date(2025, 10, 13))
    late = (await client.execute(CASE, {"r": receipt}, token=clerk.token))["case"]
    assert late["overduePromises"] == ["hyzm"]
    assert by_code(late["materials"])["hyzm"]["promiseOverdue"] is True
    late_reviews = by_code(late["reviews"], "department")
    assert late_reviews["zjj"]["state"] == "DEEMED_APPROVED"
    assert late_reviews["zjj"]["deadline"]["overdue"] is True
    assert late_reviews["zrzy"]["state"] == "APPROVED" and late_reviews["zrzy"]["workingDaysSpent"] == 0
    assert late_reviews["yh"]["state"] == "PENDING" and late_reviews["yh"]["deadline"]["overdue"] is True
    # 26 September to 13 October: 28, 29, 30 September, 9, 10, 11 (a worked Saturday), 13 October.
    assert late_reviews["yh"]["workingDaysSpent"] == 7
    assert late["overdue"] is True

    supplied = await hand_in(client, clerk, receipt, "hyzm", "婚姻状况证明(新)")
    hyzm = by_code(supplied["materials"])["hyzm"]
    assert hyzm["origin"] == "UPLOADED" and hyzm["promisedOn"] == "2025-10-10" and not hyzm["promiseOverdue"]
    assert await client.error_code(COMPLETE, complete, token=clerk.token) == "REVIEWS_OPEN"

    await client.execute(
        OPINION, opinion(receipt, "APPROVE", "已补正", revision=True), token=tax.token, purpose=purpose
    )
    await client.execute(OPINION, opinion(receipt, "APPROVE"), token=bank.token, purpose=purpose)

    # Each department issues its result; the window hands everything over at once (统一出件).
    await issue(client, land, receipt, "bdcqz", "不动产权证书", "zrzy")
    await issue(client, tax, receipt, "wszm", "完税证明", "sw", validUntil="2026-10-13")
    done = (await client.execute(COMPLETE, {"r": receipt}, token=clerk.token))["completeCase"]
    assert done["status"] == "COMPLETED" and done["outcome"] == "APPROVED"
    results = by_code(done["results"])
    assert results["bdcqz"]["issuingDepartment"]["code"] == "zrzy" and results["bdcqz"]["issuedOn"] == "2025-10-13"
    assert results["wszm"]["material"]["validUntil"] == "2026-10-13"
    history = [o["decision"] for o in by_code(done["reviews"], "department")["sw"]["opinions"]]
    assert history == ["NEEDS_CORRECTION", "APPROVE"]

    # Nothing more can be attached to a completed case.
    again = {"i": {"receiptNumber": receipt, "materialVersionId": id_card.current_version.id}}
    assert await client.error_code(ATTACH, again, token=clerk.token) == "CASE_STATE_CONFLICT"


async def test_a_material_of_another_applicant_cannot_be_attached(hub, client, clerk) -> None:
    await load(hub, ESTATE_CATALOG)
    at(hub, date(2025, 9, 26))
    await register(client, clerk, SELLER, "张三")
    await register(client, clerk, NEIGHBOUR, "李四")
    neighbours_card = await on_file(clerk, NEIGHBOUR, "sfz", issued_on=date(2021, 1, 1))
    receipt = (
        await client.execute(
            OPEN, {"i": {"idNumber": SELLER, "items": ["zrzy-zydj"], "window": "综合窗口 1"}}, token=clerk.token
        )
    )["openCase"]["receiptNumber"]
    attach = {"i": {"receiptNumber": receipt, "materialVersionId": neighbours_card.current_version.id}}
    assert await client.error_code(ATTACH, attach, token=clerk.token) == "MATERIAL_OF_ANOTHER_APPLICANT"
    case = (await client.execute(CASE, {"r": receipt}, token=clerk.token))["case"]
    assert all(m["origin"] is None for m in case["materials"])


async def test_items_must_come_from_the_current_catalogue(hub, client, clerk) -> None:
    old = await load(hub, ESTATE_CATALOG, "v1.yaml")
    current = await load(hub, ESTATE_CATALOG, "v2.yaml")
    at(hub, date(2025, 9, 26))
    await register(client, clerk, SELLER, "张三")
    stale = {"i": {"idNumber": SELLER, "items": ["zrzy-zydj"], "window": "综合窗口 1", "catalogVersion": old}}
    assert await client.error_code(OPEN, stale, token=clerk.token) == "ITEM_NOT_IN_CURRENT_CATALOG"
    unknown = {"i": {"idNumber": SELLER, "items": ["no-such-item"], "window": "综合窗口 1"}}
    assert await client.error_code(OPEN, unknown, token=clerk.token) == "UNKNOWN_SERVICE_ITEM"
    search = await client.execute(
        "query($id: String!) { applicant(idNumber: $id) { cases { receiptNumber } } }",
        {"id": SELLER},
        token=clerk.token,
    )
    assert search["applicant"]["cases"] == []
    fresh = {"i": {**stale["i"], "catalogVersion": current}}
    opened = (await client.execute(OPEN, fresh, token=clerk.token))["openCase"]
    assert opened["catalogVersion"] == current


async def test_receipt_numbers_follow_the_day_and_never_repeat(hub, client, clerk) -> None:
    await load(hub, ESTATE_CATALOG)
    await register(client, clerk, SELLER, "张三")
    numbers = []
    for day in (date(2025, 9, 26), date(2025, 9, 26), date(2025, 9, 28)):
        at(hub, day)
        opened = await client.execute(
            OPEN, {"i": {"idNumber": SELLER, "items": ["zrzy-zydj"], "window": "综合窗口 1"}}, token=clerk.token
        )
        numbers.append(opened["openCase"]["receiptNumber"])
    assert numbers == ["20250926-00001", "20250926-00002", "20250928-00001"]


async def test_a_material_revoked_after_it_was_attached_blocks_acceptance(hub, client, clerk) -> None:
    await load(hub, ESTATE_CATALOG)
    police = await make_actor(hub, Role.DEPARTMENT_SYSTEM, "gaj")
    at(hub, date(2025, 9, 26))
    await register(client, clerk, SELLER, "张三")
    card = await on_file(clerk, SELLER, "sfz", issued_on=date(2020, 5, 1))
    receipt = (
        await client.execute(
            OPEN, {"i": {"idNumber": SELLER, "items": ["yh-dkdy"], "window": "综合窗口 1"}}, token=clerk.token
        )
    )["openCase"]["receiptNumber"]
    await client.execute(
        ATTACH, {"i": {"receiptNumber": receipt, "materialVersionId": card.current_version.id}}, token=clerk.token
    )
    await hand_in(client, clerk, receipt, "dkht", "借款合同")
    ctx = await police.context(purpose="basis:lost-card")
    await materials.revoke_material(ctx, card.material.id, "身份证挂失")
    await ctx.close()
    assert await client.error_code(ACCEPT, {"r": receipt}, token=clerk.token) == "MATERIAL_NOT_VALID"
    case = (await client.execute(CASE, {"r": receipt}, token=clerk.token))["case"]
    assert case["status"] == "OPEN" and [r["state"] for r in case["reviews"]] == ["NOT_DISTRIBUTED"]
