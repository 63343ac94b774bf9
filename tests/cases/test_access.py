"""Departments see and read only the cases they take part in, for the purpose "case:<receipt>".

Taking part in a case lets a department read that case, the applicant's profile and the materials
of the types the case's items require. Another department, another case of the same applicant, or
another type of material is refused with FORBIDDEN, and the refusal is in the access log.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from hub.access.auth import Role
from storage.models import AccessEntry
from tests.support import make_actor
from tests.support.case_stories import (
    ACCEPT,
    ATTACH,
    CASE,
    ESTATE_CATALOG,
    ISSUE,
    OPEN,
    OPINION,
    PDF,
    at,
    by_code,
    hand_in,
    load,
    multipart,
    on_file,
    register,
    resident_id,
)

OWNER = resident_id("11010119750303123")

MATERIAL = "query($id: Int!) { material(id: $id) { id title } }"
PROFILE = 'query($r: String!) { case(receiptNumber: $r) { applicant { profile(fields: ["name"]) { value } } } }'


async def _case_for(client, clerk, items: list[str], id_card) -> str:
    receipt = (
        await client.execute(
            OPEN, {"i": {"idNumber": OWNER, "items": items, "window": "综合窗口 2"}}, token=clerk.token
        )
    )["openCase"]["receiptNumber"]
    await client.execute(
        ATTACH, {"i": {"receiptNumber": receipt, "materialVersionId": id_card.current_version.id}}, token=clerk.token
    )
    return receipt


async def _denied_entries(hub, object_ref: str) -> list[AccessEntry]:
    async with hub.sessions() as session:
        rows = await session.execute(
            select(AccessEntry).where(AccessEntry.object_ref == object_ref, AccessEntry.outcome == "denied")
        )
        return list(rows.scalars())


async def test_departments_read_only_the_cases_they_take_part_in(hub, client, clerk) -> None:
    await load(hub, ESTATE_CATALOG)
    land = await make_actor(hub, Role.DEPARTMENT_SYSTEM, "zrzy")
    bank = await make_actor(hub, Role.DEPARTMENT_SYSTEM, "yh")
    at(hub, date(2025, 9, 26))
    await register(client, clerk, OWNER, "王五")
    id_card = await on_file(clerk, OWNER, "sfz", issued_on=date(2019, 3, 3))
    marriage = await on_file(clerk, OWNER, "hyzm", issued_on=date(2025, 9, 1))
    transfer = await _case_for(client, clerk, ["zrzy-zydj"], id_card)
    loan = await _case_for(client, clerk, ["yh-dkdy"], id_card)
    await hand_in(client, clerk, transfer, "bdcqz", "不动产权证书")
    await hand_in(client, clerk, transfer, "gfht", "房屋买卖合同")
    await client.execute(ACCEPT, {"r": transfer}, token=clerk.token)

    # Land and planning takes part in the transfer: it reads the case, the profile and the ID card.
    seen = (await client.execute(CASE, {"r": transfer}, token=land.token, purpose=f"case:{transfer}"))["case"]
    assert by_code(seen["materials"])["sfz"]["pinned"]["materialVersionId"] == id_card.current_version.id
    profile = await client.execute(PROFILE, {"r": transfer}, token=land.token, purpose=f"case:{transfer}")
    assert profile["case"]["applicant"]["profile"] == [{"value": "王五"}]
    card = await client.execute(MATERIAL, {"id": id_card.material.id}, token=land.token, purpose=f"case:{transfer}")
    assert card["material"]["id"] == id_card.material.id

    # The bank takes no part in the transfer, whatever purpose it names.
    assert await client.error_code(CASE, {"r": transfer}, token=bank.token, purpose=f"case:{transfer}") == "FORBIDDEN"
    assert await client.error_code(CASE, {"r": transfer}, token=bank.token, purpose=f"case:{loan}") == "FORBIDDEN"
    # Nor may land and planning read the loan case of the same applicant under its own purpose,
    assert await client.error_code(CASE, {"r": loan}, token=land.token, purpose=f"case:{transfer}") == "FORBIDDEN"
    # nor a material the transfer does not require (the marriage certificate), nor act without a purpose.
    assert (
        await client.error_code(MATERIAL, {"id": marriage.material.id}, token=land.token, purpose=f"case:{transfer}")
        == "FORBIDDEN"
    )
    assert await client.error_code(CASE, {"r": transfer}, token=land.token) == "FORBIDDEN"

    denied = await _denied_entries(hub, f"case:{transfer}")
    assert {entry.department_code for entry in denied} == {"yh", "zrzy"}
    assert {entry.applicant_ref for entry in denied} == {OWNER}
    assert [e.department_code for e in await _denied_entries(hub, f"case:{loan}")] == ["zrzy"]


async def test_an_opinion_from_a_department_not_in_the_case_is_refused(hub, client, clerk) -> None:
    await load(hub, ESTATE_CATALOG)
    social = await make_actor(hub, Role.DEPARTMENT_SYSTEM, "rsj")
    at(hub, date(2025, 9, 26))
    await register(client, clerk, OWNER, "王五")
    id_card = await on_file(clerk, OWNER, "sfz", issued_on=date(2019, 3, 3))
    receipt = await _case_for(client, clerk, ["yh-dkdy"], id_card)
    await client.execute(
        "mutation($i: PromiseMaterialInput!) { promiseMaterial(input: $i) { receiptNumber } }",
        {"i": {"receiptNumber": receipt, "materialType": "dkht", "promisedOn": "2025-09-30"}},
        token=clerk.token,
    )
    await client.execute(ACCEPT, {"r": receipt}, token=clerk.token)
    approve = {"i": {"receiptNumber": receipt, "opinion": {"decision": "APPROVE"}}}
    assert await client.error_code(OPINION, approve, token=social.token, purpose=f"case:{receipt}") == (
        "DEPARTMENT_NOT_IN_CASE"
    )
    case = (await client.execute(CASE, {"r": receipt}, token=clerk.token))["case"]
    assert [r["opinions"] for r in case["reviews"]] == [[]]

    # A result issued for a department of the case, by one outside it, is refused alike.
    body = await multipart(
        client,
        ISSUE,
        {
            "i": {
                "receiptNumber": receipt,
                "materialType": "dkht",
                "title": "借款合同",
                "issuingDepartment": "yh",
                "file": None,
                "contentType": "application/pdf",
            }
        },
        {"variables.i.file": ("借款合同.pdf", PDF + b"x", "application/pdf")},
        token=social.token,
        purpose=f"case:{receipt}",
    )
    assert body["errors"][0]["extensions"]["code"] == "DEPARTMENT_NOT_IN_CASE"

    # The log tells what happened: allowed by the policy, then refused by the case, with the code.
    async with hub.sessions() as session:
        rows = await session.execute(
            select(AccessEntry.action, AccessEntry.outcome, AccessEntry.reason)
            .where(AccessEntry.department_code == "rsj")
            .order_by(AccessEntry.id)
        )
        logged = [tuple(row) for row in rows]
    assert ("case.opinion", "refused", "DEPARTMENT_NOT_IN_CASE") in logged
    assert ("case.complete", "refused", "DEPARTMENT_NOT_IN_CASE") in logged
    assert all(outcome != "allowed" for action, outcome, _ in logged if action in ("case.opinion", "case.complete"))
