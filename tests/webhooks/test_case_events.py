"""Departments are told, not polled: a case's story, as the departments' receivers hear it.

The clerk accepts a case for two departments; tax asks for a correction; the application form the
case pins is superseded and the contract revoked; land and planning approves and issues its permit.
Each step's event is written in the step's own transaction, so a refused step tells nobody; each
payload carries references only, never the applicant's identity or a document's content.
"""

from __future__ import annotations

from datetime import date

from hub.access.auth import Role
from hub.documents import materials
from tests.support import make_actor
from tests.support.case_stories import ACCEPT, ATTACH, OPEN, OPINION, at, issue, load, on_file, register, resident_id
from tests.webhooks.conftest import PUBLIC_KEYS, emit, wait_for
from tests.webhooks.conftest import register as register_endpoint

OWNER = resident_id("11010119750303123")
CATALOG = """
material_types:
  - {code: sqb, name: 申请表}
  - {code: ht, name: 买卖合同}
  - {code: xkz, name: 许可证, issuing_department: zrzy}
service_items:
  - code: zrzy-xk
    name: 规划许可
    lead_department: zrzy
    departments: [sw]
    statutory_days: 20
    promised_days: 5
    materials: [{type: sqb}, {type: ht}]
"""
REVOKE = "mutation($i: RevokeMaterialInput!) { revokeMaterial(input: $i) { status } }"


def opinion(receipt: str, decision: str, comments: str = "") -> dict:
    return {"i": {"receiptNumber": receipt, "opinion": {"decision": decision, "comments": comments}}}


async def test_each_step_of_a_case_reaches_the_departments_taking_part(fast, client, clerk, receiver, worker) -> None:
    await load(fast, CATALOG)
    at(fast, date(2026, 11, 27))
    tax = await make_actor(fast, Role.DEPARTMENT_SYSTEM, "sw")
    land = await make_actor(fast, Role.DEPARTMENT_SYSTEM, "zrzy")
    _, secret = await register_endpoint(client, tax, receiver.url + "/sw")
    _, no_secret = await register_endpoint(client, land, receiver.url + "/zrzy", scheme="V1A")
    assert no_secret is None
    receiver.secrets["/sw"] = [secret]
    keys = (await client.execute(PUBLIC_KEYS, token=land.token))["webhookPublicKeys"]
    assert keys[0]["current"] and keys[0]["publicKey"].startswith("whpk_")
    receiver.public_keys = [k["publicKey"] for k in keys]

    await register(client, clerk, OWNER, "李四")
    form = await on_file(clerk, OWNER, "sqb", title="申请表")
    contract = await on_file(clerk, OWNER, "ht", title="买卖合同")
    receipt = (
        await client.execute(
            OPEN, {"i": {"idNumber": OWNER, "items": ["zrzy-xk"], "window": "综合窗口 1"}}, token=clerk.token
        )
    )["openCase"]["receiptNumber"]
    # Refused (a key material missing): the step rolls back, and its event with it.
    assert await client.error_code(ACCEPT, {"r": receipt}, token=clerk.token) == "KEY_MATERIAL_MISSING"
    for material in (form, contract):
        await client.execute(
            ATTACH,
            {"i": {"receiptNumber": receipt, "materialVersionId": material.current_version.id}},
            token=clerk.token,
        )
    await client.execute(ACCEPT, {"r": receipt}, token=clerk.token)
    purpose = f"case:{receipt}"
    await client.execute(
        OPINION, opinion(receipt, "NEEDS_CORRECTION", "申报价格有误，请补正"), token=tax.token, purpose=purpose
    )
    ctx = await clerk.context()
    try:
        await materials.supersede_material(
            ctx, form.material.id, materials.FileUpload.of_bytes(b"%PDF-1.7\n new form", "sqb.pdf", "application/pdf")
        )
    finally:
        await ctx.close()
    await client.execute(REVOKE, {"i": {"materialId": contract.material.id, "reason": "合同作废"}}, token=clerk.token)
    await client.execute(OPINION, opinion(receipt, "APPROVE"), token=land.token, purpose=purpose)
    await issue(client, land, receipt, "xkz", "建设工程规划许可证", "zrzy")

    expected = [
        "case.distributed",
        "case.correction_requested",
        "material.superseded",
        "material.revoked",
        "case.result_issued",
    ]
    await wait_for(lambda: len(receiver.at("/sw")) == 5 and len(receiver.at("/zrzy")) == 5)
    for path, scheme in (("/sw", "v1:0"), ("/zrzy", "v1a:0")):
        received = receiver.at(path)
        assert all(r.verified_with == [scheme] for r in received), path
        assert sorted(r.event["type"] for r in received) == sorted(expected)
        assert {r.event["data"]["receiptNumber"] for r in received} == {receipt}
        assert {r.event["data"]["department"] for r in received} == {path[1:]}
        for r in received:
            assert OWNER not in r.body and "李四" not in r.body and "申请表" not in r.body
    by_type = {r.event["type"]: r.event["data"] for r in receiver.at("/sw")}
    assert by_type["case.correction_requested"]["requestedBy"] == "sw"
    assert by_type["material.superseded"]["materialId"] == form.material.id
    assert by_type["material.revoked"]["materialId"] == contract.material.id
    assert isinstance(by_type["case.result_issued"]["materialId"], int)


async def test_a_material_no_open_case_pins_tells_nobody(fast, client, clerk, receiver, worker) -> None:
    await load(fast, CATALOG)
    tax = await make_actor(fast, Role.DEPARTMENT_SYSTEM, "sw")
    await register_endpoint(client, tax, receiver.url + "/quiet")
    await register(client, clerk, OWNER, "李四")
    form = await on_file(clerk, OWNER, "sqb", title="申请表")
    await client.execute(REVOKE, {"i": {"materialId": form.material.id, "reason": "作废"}}, token=clerk.token)
    await emit(fast, tax, "sw")  # a marker event: once it arrives, anything before it would have too
    await wait_for(lambda: len(receiver.at("/quiet")) == 1)
    assert receiver.at("/quiet")[0].event["data"]["receiptNumber"] == "TEST-0"
