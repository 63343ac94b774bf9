"""补正: the land bureau finds the scanned property certificate unreadable and asks for it again; the
new one handed in for the case supersedes the deficient one in the store, so no later case or
notice offers the unreadable scan.
"""

from __future__ import annotations

from datetime import date

from hub.access.auth import Role
from tests.cases.test_closing import log_of
from tests.support import make_actor, open_visit
from tests.support.case_stories import (
    ACCEPT,
    ATTACH,
    ESTATE_CATALOG,
    NOTICE,
    OPEN,
    OPINION,
    at,
    by_code,
    hand_in,
    load,
    on_file,
    register,
    resident_id,
)

SELLER = resident_id("11010119800101123")
MATERIALS = """
query($id: String!, $types: [String!]) { applicant(idNumber: $id) {
  materials(typeCodes: $types) { id title status supersededById } } }
"""


def correction(receipt: str, *types: str) -> dict:
    opinion = {
        "decision": "NEEDS_CORRECTION",
        "comments": "不动产权证书扫描件不清晰，请重新提交",
        "materialTypes": list(types),
    }
    return {"i": {"receiptNumber": receipt, "opinion": opinion}}


async def test_a_corrected_material_supersedes_the_deficient_one(hub, client, clerk) -> None:
    await load(hub, ESTATE_CATALOG, "estate.yaml")
    land = await make_actor(hub, Role.DEPARTMENT_SYSTEM, "zrzy")
    at(hub, date(2025, 11, 3))
    await register(client, clerk, SELLER, "张三")
    id_card = await on_file(clerk, SELLER, "sfz", title="张三身份证", issued_on=date(2020, 5, 1))
    opened = {"i": {"idNumber": SELLER, "items": ["zrzy-zydj"], "window": "综合窗口 3"}}
    receipt = (await client.execute(OPEN, opened, token=clerk.token))["openCase"]["receiptNumber"]
    reuse = {"i": {"receiptNumber": receipt, "materialVersionId": id_card.current_version.id}}
    await client.execute(ATTACH, reuse, token=clerk.token)
    await hand_in(client, clerk, receipt, "bdcqz", "不动产权证书(模糊扫描件)")
    await hand_in(client, clerk, receipt, "gfht", "房屋买卖合同")
    await client.execute(ACCEPT, {"r": receipt}, token=clerk.token)

    purpose = f"case:{receipt}"
    # A correction request names only materials the case requires, and only a correction names any.
    elsewhere = await client.error_code(OPINION, correction(receipt, "dkht"), token=land.token, purpose=purpose)
    assert elsewhere == "MATERIAL_NOT_REQUIRED"
    approve = {"i": {"receiptNumber": receipt, "opinion": {"decision": "APPROVE", "materialTypes": ["bdcqz"]}}}
    assert await client.error_code(OPINION, approve, token=land.token, purpose=purpose) == "BAD_USER_INPUT"
    asked = await client.execute(OPINION, correction(receipt, "bdcqz"), token=land.token, purpose=purpose)
    land_review = by_code(asked["recordOpinion"]["reviews"], "department")["zrzy"]
    assert land_review["state"] == "NEEDS_CORRECTION"

    # A material the department did not name is replaced at the window without touching the store.
    await hand_in(client, clerk, receipt, "gfht", "房屋买卖合同(重签)")
    at(hub, date(2025, 11, 4))
    corrected = await hand_in(client, clerk, receipt, "bdcqz", "不动产权证书(清晰)")
    pinned = by_code(corrected["materials"])["bdcqz"]["pinned"]
    assert pinned["title"] == "不动产权证书(清晰)"

    visit = await open_visit(client, clerk, SELLER)
    held = (await client.execute(MATERIALS, {"id": SELLER, "types": ["bdcqz"]}, token=clerk.token, purpose=visit))[
        "applicant"
    ]["materials"]
    statuses = {m["title"]: (m["status"], m["supersededById"]) for m in held}
    assert statuses == {
        "不动产权证书(清晰)": ("VALID", None),
        "不动产权证书(模糊扫描件)": ("SUPERSEDED", pinned["materialId"]),
    }
    # The next notice offers the clear one only.
    notice = (await client.execute(NOTICE, {"items": ["zrzy-zydj"], "id": SELLER}, token=clerk.token, purpose=visit))[
        "oneTimeNotice"
    ]
    assert by_code(notice["entries"])["bdcqz"]["onFile"]["title"] == "不动产权证书(清晰)"
    contracts = (await client.execute(MATERIALS, {"id": SELLER, "types": ["gfht"]}, token=clerk.token, purpose=visit))[
        "applicant"
    ]
    assert {m["status"] for m in contracts["materials"]} == {"VALID"}
    superseded = await log_of(hub, "material.supersede")
    assert [(action, outcome, role) for action, outcome, role, _ in superseded] == [
        ("material.supersede", "allowed", "clerk")
    ]
