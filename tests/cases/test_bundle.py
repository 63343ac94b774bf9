"""一件事一次办 in Yumen: a second-hand home's transfer, mortgage and deed tax in one case, one trip.

The transfer (BDC-001) needs the deed tax receipt, which the tax bureau issues only once it has
handled the deed tax item (BDC-003) of the same bundle. Before, the window refused the whole
bundle for that one key material, so it took two cases and two trips. Now the clerk accepts the
complete items at once and the transfer later in the same case, when the receipt is in: one
receipt number, one result list, each item's limit from its own acceptance.
"""

from __future__ import annotations

from datetime import date

from hub.access.auth import Role
from tests.support import make_actor
from tests.support.case_stories import (
    ACCEPT,
    ATTACH,
    CASE,
    COMPLETE,
    OPEN,
    OPINION,
    at,
    by_code,
    hand_in,
    issue,
    load,
    on_file,
    register,
    resident_id,
)

YUMEN_CATALOG = """
departments:
  - {code: yh, name: 农业银行玉门支行}
material_types:
  - {code: id-card, name: 居民身份证, valid_days: 3650}
  - {code: property-certificate, name: 不动产权证书, issuing_department: bdc}
  - {code: sale-contract, name: 房屋买卖合同}
  - {code: deed-tax-receipt, name: 契税完税凭证, issuing_department: sw, valid_days: 365}
  - {code: mortgage-contract, name: 抵押合同}
service_items:
  - code: BDC-001
    name: 不动产转移登记（存量房买卖）
    lead_department: bdc
    departments: [zrzy]
    statutory_days: 30
    promised_days: 5
    materials: [{type: id-card}, {type: property-certificate}, {type: sale-contract}, {type: deed-tax-receipt}]
  - code: BDC-002
    name: 不动产抵押登记
    lead_department: bdc
    departments: [yh]
    statutory_days: 30
    promised_days: 5
    materials: [{type: id-card}, {type: property-certificate}, {type: mortgage-contract}]
  - code: BDC-003
    name: 存量房交易契税申报
    lead_department: sw
    departments: [bdc]
    statutory_days: 5
    promised_days: 1
    materials: [{type: id-card}, {type: sale-contract}, {type: property-certificate}]
"""

# Born in 玉门市 in 1985, when its division code was 622101.
BUYER = resident_id("62210119850606123")
BUNDLE = ["BDC-001", "BDC-002", "BDC-003"]
ACCEPT_ITEMS = ACCEPT.replace("$r: String!", "$r: String!, $items: [String!]").replace(
    "acceptCase(receiptNumber: $r)", "acceptCase(receiptNumber: $r, items: $items)"
)
ACCEPTED_AT = "query($r: String!) { case(receiptNumber: $r) { items { item { code } acceptedAt } } }"


def items_of(case: dict) -> dict[str, dict]:
    return {i["item"]["code"]: i for i in case["items"]}


def approve(receipt: str) -> dict:
    return {"i": {"receiptNumber": receipt, "opinion": {"decision": "APPROVE"}}}


async def test_an_estate_bundle_is_accepted_item_by_item_in_one_case(hub, client, clerk) -> None:
    await load(hub, YUMEN_CATALOG, "yumen.yaml")
    registry, bank, tax, land = [
        await make_actor(hub, Role.DEPARTMENT_SYSTEM, code) for code in ("bdc", "yh", "sw", "zrzy")
    ]
    at(hub, date(2025, 11, 3))
    await register(client, clerk, BUYER, "王五")
    id_card = await on_file(clerk, BUYER, "id-card", title="王五身份证", issued_on=date(2020, 1, 1))
    opened = {"i": {"idNumber": BUYER, "items": BUNDLE, "window": "玉门市政务服务中心 不动产窗口"}}
    receipt = (await client.execute(OPEN, opened, token=clerk.token))["openCase"]["receiptNumber"]
    await client.execute(
        ATTACH, {"i": {"receiptNumber": receipt, "materialVersionId": id_card.current_version.id}}, token=clerk.token
    )
    for type_code, title in (
        ("property-certificate", "不动产权证书"),
        ("sale-contract", "房屋买卖合同"),
        ("mortgage-contract", "抵押合同"),
    ):
        await hand_in(client, clerk, receipt, type_code, title)

    # The whole bundle still cannot be accepted: the deed tax receipt is a key material of BDC-001.
    whole = await client.error(ACCEPT, {"r": receipt}, token=clerk.token)
    assert whole["extensions"]["code"] == "KEY_MATERIAL_MISSING"
    assert whole["extensions"]["materialTypes"] == ["deed-tax-receipt"]
    # Nor the transfer alone; an item outside the case is not a choice.
    alone = {"r": receipt, "items": ["BDC-001"]}
    assert await client.error_code(ACCEPT_ITEMS, alone, token=clerk.token) == "KEY_MATERIAL_MISSING"
    elsewhere = {"r": receipt, "items": ["GA-001"]}
    assert await client.error_code(ACCEPT_ITEMS, elsewhere, token=clerk.token) == "BAD_USER_INPUT"

    # The complete items are accepted now; the transfer waits in the same case.
    first = {"r": receipt, "items": ["BDC-002", "BDC-003"]}
    accepted = (await client.execute(ACCEPT_ITEMS, first, token=clerk.token))["acceptCase"]
    assert accepted["status"] == "ACCEPTED" and accepted["receiptNumber"] == receipt
    items = items_of(accepted)
    assert items["BDC-001"]["promisedDeadline"] is None
    assert items["BDC-002"]["promisedDeadline"]["dueOn"] == "2025-11-10"
    assert items["BDC-003"]["promisedDeadline"]["dueOn"] == "2025-11-04"
    reviews = by_code(accepted["reviews"], "department")
    assert {code: r["state"] for code, r in reviews.items()} == {
        "bdc": "PENDING",
        "sw": "PENDING",
        "yh": "PENDING",
        "zrzy": "NOT_DISTRIBUTED",
    }
    assert await client.error_code(ACCEPT_ITEMS, first, token=clerk.token) == "CASE_STATE_CONFLICT"
    assert await client.error_code(COMPLETE, {"r": receipt}, token=clerk.token) == "ITEMS_NOT_ACCEPTED"
    land_opinion = await client.error_code(OPINION, approve(receipt), token=land.token, purpose=f"case:{receipt}")
    assert land_opinion == "CASE_STATE_CONFLICT"

    # The tax bureau decides the deed tax the next day and issues the receipt into the store.
    at(hub, date(2025, 11, 4))
    await client.execute(OPINION, approve(receipt), token=tax.token, purpose=f"case:{receipt}")
    issued = await issue(client, tax, receipt, "deed-tax-receipt", "契税完税凭证", "sw")
    deed_tax = by_code(issued["results"])["deed-tax-receipt"]["material"]

    # The window reuses it for the transfer and accepts the rest of the bundle: no second trip.
    at(hub, date(2025, 11, 5))
    reuse = {"i": {"receiptNumber": receipt, "materialVersionId": deed_tax["materialVersionId"]}}
    await client.execute(ATTACH, reuse, token=clerk.token)
    rest = (await client.execute(ACCEPT, {"r": receipt}, token=clerk.token))["acceptCase"]
    items = items_of(rest)
    # Each item keeps its own clock: the transfer's five working days start on 5 November.
    assert items["BDC-001"]["promisedDeadline"]["dueOn"] == "2025-11-12"
    assert items["BDC-002"]["promisedDeadline"]["dueOn"] == "2025-11-10"
    accepted_at = items_of((await client.execute(ACCEPTED_AT, {"r": receipt}, token=clerk.token))["case"])
    assert accepted_at["BDC-001"]["acceptedAt"].startswith("2025-11-05")
    assert accepted_at["BDC-002"]["acceptedAt"] == accepted_at["BDC-003"]["acceptedAt"]
    assert by_code(rest["reviews"], "department")["zrzy"]["state"] == "PENDING"
    assert by_code(rest["reviews"], "department")["zrzy"]["deadline"]["dueOn"] == "2025-11-12"
    assert await client.error_code(ACCEPT, {"r": receipt}, token=clerk.token) == "CASE_STATE_CONFLICT"

    for department in (registry, bank, land):
        await client.execute(OPINION, approve(receipt), token=department.token, purpose=f"case:{receipt}")
    done = (await client.execute(COMPLETE, {"r": receipt}, token=clerk.token))["completeCase"]
    assert (done["status"], done["outcome"], done["receiptNumber"]) == ("COMPLETED", "APPROVED", receipt)
    assert [r["materialType"]["code"] for r in done["results"]] == ["deed-tax-receipt"]
    read = (await client.execute(CASE, {"r": receipt}, token=clerk.token))["case"]
    assert sorted(items_of(read)) == BUNDLE
