"""注销: a home changes hands, and the seller's property certificate stops being a valid material.

李四 buys 张三's flat. The transfer case names 张三 as the counterparty and pins his certificate;
when the registry issues 李四's new certificate, 张三's is cancelled with the reason, and the
mortgage case that had pinned it shows that it no longer holds (行政许可法 art. 70).
"""

from __future__ import annotations

from datetime import date

from hub.access.auth import Role
from tests.cases.test_closing import log_of
from tests.support import make_actor, open_visit
from tests.support.case_stories import (
    ACCEPT,
    ATTACH,
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

CATALOG = """
material_types:
  - {code: sfz, name: 居民身份证, valid_days: 3650}
  - {code: bdcqz, name: 不动产权证书, issuing_department: bdc}
  - {code: gfht, name: 房屋买卖合同}
  - {code: dyht, name: 抵押合同}
service_items:
  - code: BDC-001
    name: 不动产转移登记（存量房买卖）
    lead_department: bdc
    statutory_days: 30
    promised_days: 5
    materials: [{type: sfz}, {type: bdcqz}, {type: gfht}]
    cancels: [bdcqz]
  - code: BDC-002
    name: 不动产抵押登记
    lead_department: bdc
    statutory_days: 30
    promised_days: 5
    materials: [{type: sfz}, {type: bdcqz}, {type: dyht}]
"""

SELLER = resident_id("11010119800101123")
BUYER = resident_id("11010219820202456")
STRANGER = resident_id("11010219900303789")
PINNED = """
query($r: String!) { case(receiptNumber: $r) {
  counterparty { idNumber }
  materials { materialType { code } pinned { materialId title status cancelReason } } } }
"""
HELD = """
query($id: String!) { applicant(idNumber: $id) { materials(typeCodes: ["bdcqz"]) { id title status } } }
"""


async def open_case(client, clerk, applicant: str, item: str, counterparty: str | None = None) -> str:
    variables = {"i": {"idNumber": applicant, "items": [item], "window": "不动产窗口"}}
    if counterparty:
        variables["i"]["counterpartyIdNumber"] = counterparty
    return (await client.execute(OPEN, variables, token=clerk.token))["openCase"]["receiptNumber"]


async def attach(client, clerk, receipt: str, version_id: int) -> dict:
    return {"i": {"receiptNumber": receipt, "materialVersionId": version_id}}


async def test_a_transfer_cancels_the_sellers_certificate_and_earlier_cases_show_it(hub, client, clerk) -> None:
    await load(hub, CATALOG)
    registry = await make_actor(hub, Role.DEPARTMENT_SYSTEM, "bdc")
    at(hub, date(2025, 11, 3))
    for id_number, name in ((SELLER, "张三"), (BUYER, "李四"), (STRANGER, "王五")):
        await register(client, clerk, id_number, name)
    certificate = await on_file(registry, SELLER, "bdcqz", title="不动产权证书(张三)", issued_on=date(2015, 6, 1))
    seller_id = await on_file(clerk, SELLER, "sfz", title="张三身份证")
    buyer_id = await on_file(clerk, BUYER, "sfz", title="李四身份证")
    strangers = await on_file(registry, STRANGER, "bdcqz", title="不动产权证书(王五)")

    # Earlier, the seller mortgaged the flat: that case pinned his certificate.
    mortgage = await open_case(client, clerk, SELLER, "BDC-002")
    await client.execute(
        ATTACH, await attach(client, clerk, mortgage, certificate.current_version.id), token=clerk.token
    )

    transfer = await open_case(client, clerk, BUYER, "BDC-001", counterparty=SELLER)
    await client.execute(ATTACH, await attach(client, clerk, transfer, buyer_id.current_version.id), token=clerk.token)
    # The seller's certificate may be pinned (the transfer ends it); not his ID card, nor a stranger's deed.
    for other in (seller_id, strangers):
        refused = await attach(client, clerk, transfer, other.current_version.id)
        assert await client.error_code(ATTACH, refused, token=clerk.token) == "MATERIAL_OF_ANOTHER_APPLICANT"
    await client.execute(
        ATTACH, await attach(client, clerk, transfer, certificate.current_version.id), token=clerk.token
    )
    await hand_in(client, clerk, transfer, "gfht", "房屋买卖合同")
    await client.execute(ACCEPT, {"r": transfer}, token=clerk.token)

    purpose = f"case:{transfer}"
    approve = {"i": {"receiptNumber": transfer, "opinion": {"decision": "APPROVE"}}}
    await client.execute(OPINION, approve, token=registry.token, purpose=purpose)
    at(hub, date(2025, 11, 6))
    issued = await issue(client, registry, transfer, "bdcqz", "不动产权证书(李四)", "bdc")
    new_certificate = by_code(issued["results"])["bdcqz"]["material"]["materialId"]

    reason = f"注销：权利已转移，案件 {transfer} 颁发新证 (material:{new_certificate})"
    for receipt in (transfer, mortgage):
        read = (await client.execute(PINNED, {"r": receipt}, token=clerk.token))["case"]
        pinned = by_code(read["materials"])["bdcqz"]["pinned"]
        assert (pinned["materialId"], pinned["status"], pinned["cancelReason"]) == (
            certificate.material.id,
            "cancelled",
            reason,
        )
    assert (await client.execute(PINNED, {"r": transfer}, token=clerk.token))["case"]["counterparty"] == {
        "idNumber": SELLER
    }
    seller_visit = await open_visit(client, clerk, SELLER)
    sellers = (await client.execute(HELD, {"id": SELLER}, token=clerk.token, purpose=seller_visit))["applicant"][
        "materials"
    ]
    assert [(m["title"], m["status"]) for m in sellers] == [("不动产权证书(张三)", "CANCELLED")]
    buyer_visit = await open_visit(client, clerk, BUYER)
    buyers = (await client.execute(HELD, {"id": BUYER}, token=clerk.token, purpose=buyer_visit))["applicant"][
        "materials"
    ]
    assert [(m["id"], m["status"]) for m in buyers] == [(new_certificate, "VALID")]
    # The cancelled certificate can no longer be pinned by anyone.
    again = await open_case(client, clerk, SELLER, "BDC-002")
    reuse = await attach(client, clerk, again, certificate.current_version.id)
    assert await client.error_code(ATTACH, reuse, token=clerk.token) == "MATERIAL_NOT_VALID"

    assert await log_of(hub, "material.cancel") == [
        ("material.cancel", "allowed", "department_system", f"material:{certificate.material.id}")
    ]
