"""Revoking and superseding a material are its keeper's, and no answer shows what a purpose does not cover.

The keeper is the issuing department (else the uploading one), or the window that handed the
material in for a case still gathering materials: the clerk who scanned the wrong page puts it
right before anyone decides on it. A department system superseding someone else's ID card, with
whatever purpose, is refused and sees nothing of it.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from hub.access.auth import Role
from storage.models import AccessEntry
from tests.support import make_actor
from tests.support.case_stories import (
    ACCEPT,
    ESTATE_CATALOG,
    OPEN,
    PROMISE,
    at,
    by_code,
    hand_in,
    load,
    register,
    resident_id,
)
from tests.support.materials import SUPERSEDE, data_of, error_code_of, pdf, upload

OWNER = resident_id("11010119750303123")
REVOKE = "mutation($input: RevokeMaterialInput!) { revokeMaterial(input: $input) { id status revokedReason } }"


async def _open_case_with_a_scan(client, clerk) -> tuple[str, int]:
    """A loan case at the window with the applicant's ID card (issued by 公安) handed in as a scan."""
    receipt = (
        await client.execute(
            OPEN, {"i": {"idNumber": OWNER, "items": ["yh-dkdy"], "window": "综合窗口 2"}}, token=clerk.token
        )
    )["openCase"]["receiptNumber"]
    case = await hand_in(client, clerk, receipt, "sfz", "王五身份证（扫描错页）")
    return receipt, by_code(case["materials"])["sfz"]["pinned"]["materialId"]


async def _entries(hub, department_code: str) -> list[tuple[str, str, str]]:
    async with hub.sessions() as session:
        rows = await session.execute(
            select(AccessEntry.action, AccessEntry.outcome, AccessEntry.reason)
            .where(AccessEntry.department_code == department_code)
            .order_by(AccessEntry.id)
        )
        return [tuple(row) for row in rows]


async def test_a_department_cannot_supersede_another_departments_id_card(hub, client, clerk) -> None:
    await load(hub, ESTATE_CATALOG)
    bank = await make_actor(hub, Role.DEPARTMENT_SYSTEM, "yh")
    at(hub, date(2025, 9, 26))
    await register(client, clerk, OWNER, "王五")
    receipt, card = await _open_case_with_a_scan(client, clerk)

    # Any purpose, or the purpose of the very case that pins the card (the bank takes part in it).
    for purpose in ("task:anything", f"case:{receipt}"):
        superseded = await upload(
            client, bank, {"materialId": card}, pdf(), "假身份证.pdf", query=SUPERSEDE, purpose=purpose
        )
        replaced = await upload(
            client, bank, {"idNumber": OWNER, "typeCode": "sfz", "supersedes": card}, pdf(), purpose=purpose
        )
        for response in (superseded, replaced):
            assert error_code_of(response) == "FORBIDDEN"
            assert "王五身份证" not in response.text and "扫描错页" not in response.text
            assert not response.json().get("data")
    assert error_code_of(superseded) == "FORBIDDEN" and superseded.json()["errors"][0]["extensions"]["missing"] == (
        "right"
    )

    # Nothing changed; the log has each attempt: denied by the policy, or refused by the keeper rule.
    material = (
        await client.execute(
            "query($id: Int!) { material(id: $id) { status versions { id } } }",
            {"id": card},
            token=clerk.token,
            purpose=f"case:{receipt}",
        )
    )["material"]
    assert material == {"status": "VALID", "versions": [material["versions"][0]]}
    logged = [entry for entry in await _entries(hub, "yh") if entry[0] == "material.supersede"]
    assert ("material.supersede", "denied") in {(a, o) for a, o, _ in logged}
    assert ("material.supersede", "refused", "FORBIDDEN") in logged
    assert all(outcome != "allowed" for _, outcome, _ in logged)


async def test_the_window_puts_right_a_wrong_scan_while_its_case_is_open(hub, client, clerk) -> None:
    await load(hub, ESTATE_CATALOG)
    at(hub, date(2025, 9, 26))
    await register(client, clerk, OWNER, "王五")
    receipt, card = await _open_case_with_a_scan(client, clerk)

    fixed = data_of(await upload(client, clerk, {"materialId": card}, pdf(), "王五身份证.pdf", query=SUPERSEDE))
    assert [v["versionNo"] for v in fixed["supersedeMaterial"]["versions"]] == [2, 1]
    revoked = await client.execute(REVOKE, {"input": {"materialId": card, "reason": "扫描错页"}}, token=clerk.token)
    assert revoked["revokeMaterial"]["status"] == "REVOKED"

    # Once the case no longer gathers materials, the ID card is its issuer's again.
    receipt, card = await _open_case_with_a_scan(client, clerk)
    await client.execute(
        PROMISE,
        {"i": {"receiptNumber": receipt, "materialType": "dkht", "promisedOn": "2025-09-30"}},
        token=clerk.token,
    )
    await client.execute(ACCEPT, {"r": receipt}, token=clerk.token)
    response = await client.post(REVOKE, {"input": {"materialId": card, "reason": "x"}}, token=clerk.token)
    extensions = response.json()["errors"][0]["extensions"]
    assert (extensions["code"], extensions["missing"]) == ("FORBIDDEN", "right")
    assert error_code_of(await upload(client, clerk, {"materialId": card}, pdf(), query=SUPERSEDE)) == "FORBIDDEN"
    assert ("material.revoke", "refused", "FORBIDDEN") in await _entries(hub, "xzfw")


async def test_another_window_may_not_touch_a_scan_it_did_not_hand_in(hub, client, clerk) -> None:
    await load(hub, ESTATE_CATALOG)
    at(hub, date(2025, 9, 26))
    await register(client, clerk, OWNER, "王五")
    _, card = await _open_case_with_a_scan(client, clerk)
    other_window = await make_actor(hub, Role.CLERK, "bdc", "不动产窗口")
    response = await client.post(REVOKE, {"input": {"materialId": card, "reason": "x"}}, token=other_window.token)
    assert response.json()["errors"][0]["extensions"]["missing"] == "right"
