"""首席代表, 授权到位: the real estate registry authorises its clerk in the hall to accept and decide two
everyday items on the spot, until the end of the year. She decides a mortgage registration at the
window under that authorisation, and the decision shows it; once the registry withdraws it, the same
clerk is refused (NOT_AUTHORISED, logged), while the registry's own system still decides."""

from __future__ import annotations

from datetime import date, time

from sqlalchemy import select

from hub.access.auth import Role
from hub.access.principals import authenticate
from hub.supervision.sampling import draw, draw_with_chief_decisions
from storage.models import AccessEntry
from tests.support import make_actor
from tests.support.case_stories import (
    ACCEPT,
    ATTACH,
    CASE,
    COMPLETE,
    ISSUE,
    MINUTES,
    OPEN,
    OPINION,
    at,
    issue,
    load,
    multipart,
    on_file,
    register,
    resident_id,
)
from tests.support.supervision import SUPERVISION

CATALOG = """
material_types:
  - {code: sfz, name: 居民身份证, valid_days: 3650}
  - {code: dyht, name: 抵押合同}
  - {code: dydjzm, name: 不动产登记证明, issuing_department: bdc}
  - {code: wszm, name: 完税证明, issuing_department: sw}
service_items:
  - code: bdc-dydj
    name: 不动产抵押登记
    lead_department: bdc
    statutory_days: 10
    promised_days: 1
    materials: [{type: sfz}, {type: dyht}]
  - code: bdc-zxdj
    name: 抵押权注销登记
    lead_department: bdc
    statutory_days: 10
    promised_days: 1
    materials: [{type: sfz}]
  - code: bdc-zydj
    name: 不动产转移登记
    lead_department: bdc
    statutory_days: 30
    promised_days: 5
    materials: [{type: sfz}]
  - code: sw-ns
    name: 纳税申报
    lead_department: sw
    statutory_days: 15
    promised_days: 3
    materials: [{type: sfz}]
"""

OWNER = resident_id("11010119800101123")
DAY = date(2026, 11, 2)
AUTHORISATION = "id department { code } clerk { principalId name } items validFrom until grantedBy withdrawnAt withdrawReason inForce"
AUTHORISE = (
    "mutation($clerk: Int!, $items: [String!]!, $until: Date!, $from: Date) {"
    " authoriseChiefRepresentative(clerk: $clerk, items: $items, until: $until, validFrom: $from) { %s } }"
    % AUTHORISATION
)
WITHDRAW = "mutation($id: Int!, $why: String!) { withdrawAuthorisation(id: $id, reason: $why) { %s } }" % AUTHORISATION
LIST = "query($d: String, $c: Int) { authorisations(department: $d, clerk: $c) { id clerk { name } inForce } }"
DECISION = """query($r: String!) { case(receiptNumber: $r) { status outcome
  reviews { department { code } state opinions { decision authorisation { id grantedBy until } } } } }"""


def approve(receipt: str) -> dict:
    return {"i": {"receiptNumber": receipt, "opinion": {"decision": "APPROVE", "comments": "材料齐全，当场办结。"}}}


async def _principal_id(actor) -> int:
    async with actor.hub.sessions() as session:
        return (await authenticate(session, f"Bearer {actor.token}")).principal_id


async def _opened_and_accepted(client, clerk, items: list[str], id_card: int, contract: int | None = None) -> str:
    opened = (
        await client.execute(
            OPEN, {"i": {"idNumber": OWNER, "items": items, "window": "不动产专窗"}}, token=clerk.token
        )
    )["openCase"]
    receipt = opened["receiptNumber"]
    for version in [id_card, *([contract] if contract else [])]:
        await client.execute(ATTACH, {"i": {"receiptNumber": receipt, "materialVersionId": version}}, token=clerk.token)
    accepted = (await client.execute(ACCEPT, {"r": receipt}, token=clerk.token))["acceptCase"]
    assert accepted["status"] == "ACCEPTED"
    return receipt


async def _log(hub, action: str) -> list[tuple[str, str, str, str]]:
    async with hub.sessions() as session:
        rows = await session.execute(
            select(AccessEntry.role, AccessEntry.department_code, AccessEntry.outcome, AccessEntry.reason)
            .where(AccessEntry.action == action)
            .order_by(AccessEntry.id)
        )
        return [tuple(row) for row in rows]


async def _story(hub, client, clerk):
    await load(hub, CATALOG, "chiefs.yaml")
    at(hub, DAY)
    registry = await make_actor(hub, Role.DEPARTMENT_SYSTEM, "bdc", "不动产登记系统")
    chief = await make_actor(hub, Role.CLERK, "bdc", "刘首席")
    await register(client, clerk, OWNER, "张三")
    id_card = (await on_file(clerk, OWNER, "sfz", title="张三身份证", issued_on=date(2020, 5, 1))).current_version.id
    contract = (await on_file(clerk, OWNER, "dyht", title="抵押合同")).current_version.id
    return registry, chief, id_card, contract


async def test_a_chief_representative_decides_on_the_spot_and_is_refused_once_withdrawn(hub, client, clerk) -> None:
    registry, chief, id_card, contract = await _story(hub, client, clerk)
    chief_id = await _principal_id(chief)

    # Without an authorisation, a clerk cannot decide: the registry's system still can.
    receipt = await _opened_and_accepted(client, chief, ["bdc-dydj"], id_card, contract)
    refused = await client.error(OPINION, approve(receipt), token=chief.token)
    assert refused["extensions"] == {"code": "NOT_AUTHORISED", "department": "bdc", "items": ["bdc-dydj"]}

    # 授权到位: the registry authorises its clerk for two everyday items until the end of the year.
    granted = (
        await client.execute(
            AUTHORISE,
            {"clerk": chief_id, "items": ["bdc-zxdj", "bdc-dydj"], "until": "2026-12-31"},
            token=registry.token,
        )
    )["authoriseChiefRepresentative"]
    assert granted["department"] == {"code": "bdc"} and granted["clerk"] == {"principalId": chief_id, "name": "刘首席"}
    assert granted["items"] == ["bdc-dydj", "bdc-zxdj"] and granted["validFrom"] == "2026-11-02"
    assert granted["until"] == "2026-12-31" and granted["grantedBy"] == "不动产登记系统" and granted["inForce"]

    # 当场办结: the same morning, at the window, she decides, the result is issued and the case completed.
    at(hub, DAY, time(10, 0))
    decided = (await client.execute(OPINION, approve(receipt), token=chief.token))["recordOpinion"]
    assert decided["reviews"][0]["state"] == "APPROVED"
    await issue(client, chief, receipt, "dydjzm", "不动产登记证明（抵押）", "bdc")
    completed = (await client.execute(COMPLETE, {"r": receipt}, token=chief.token))["completeCase"]
    assert completed["status"] == "COMPLETED" and completed["outcome"] == "APPROVED"
    assert completed["completedAt"].startswith("2026-11-02")
    # The decision carries the authorisation it was taken under.
    read = (await client.execute(DECISION, {"r": receipt}, token=chief.token))["case"]
    assert read["reviews"][0]["opinions"] == [
        {
            "decision": "APPROVE",
            "authorisation": {"id": granted["id"], "grantedBy": "不动产登记系统", "until": "2026-12-31"},
        }
    ]

    # The registry withdraws it; the same clerk is refused, and the log says so.
    at(hub, date(2026, 11, 3))
    withdrawn = (await client.execute(WITHDRAW, {"id": granted["id"], "why": "调离窗口岗位"}, token=registry.token))[
        "withdrawAuthorisation"
    ]
    assert withdrawn["withdrawnAt"].startswith("2026-11-03") and withdrawn["withdrawReason"] == "调离窗口岗位"
    assert not withdrawn["inForce"]
    assert await client.error_code(WITHDRAW, {"id": granted["id"], "why": "再撤"}, token=registry.token) == (
        "AUTHORISATION_WITHDRAWN"
    )
    second = await _opened_and_accepted(client, chief, ["bdc-dydj"], id_card, contract)
    assert await client.error_code(OPINION, approve(second), token=chief.token) == "NOT_AUTHORISED"
    # Nor can she issue her department's result (the registry's system decides and issues instead).
    await client.execute(OPINION, approve(second), token=registry.token, purpose=f"case:{second}")
    body = await multipart(
        client,
        ISSUE,
        {
            "i": {
                "receiptNumber": second,
                "materialType": "dydjzm",
                "title": "证明",
                "issuingDepartment": "bdc",
                "file": None,
                "contentType": "application/pdf",
            }
        },
        {"variables.i.file": ("证明.pdf", b"%PDF-1.7\n second", "application/pdf")},
        token=chief.token,
    )
    assert body["errors"][0]["extensions"]["code"] == "NOT_AUTHORISED"
    state = (await client.execute(CASE, {"r": second}, token=chief.token))["case"]["reviews"][0]
    assert state["state"] == "APPROVED" and state["opinions"][0]["decision"] == "APPROVE"
    decision = (await client.execute(DECISION, {"r": second}, token=chief.token))["case"]["reviews"][0]
    assert decision["opinions"][0]["authorisation"] is None

    assert await _log(hub, "case.opinion") == [
        ("clerk", "bdc", "refused", "NOT_AUTHORISED"),
        ("clerk", "bdc", "allowed", ""),
        ("clerk", "bdc", "refused", "NOT_AUTHORISED"),
        ("department_system", "bdc", "allowed", ""),
    ]
    assert await _log(hub, "authorisation.grant") == [("department_system", "bdc", "allowed", "")]
    assert await _log(hub, "authorisation.withdraw") == [
        ("department_system", "bdc", "allowed", ""),
        ("department_system", "bdc", "refused", "AUTHORISATION_WITHDRAWN"),
    ]


async def test_expired_not_yet_valid_and_uncovered_items_are_refused(hub, client, clerk) -> None:
    registry, chief, id_card, contract = await _story(hub, client, clerk)
    chief_id = await _principal_id(chief)
    variables = {"clerk": chief_id, "items": ["bdc-dydj"], "until": "2026-11-06"}
    await client.execute(AUTHORISE, variables, token=registry.token)
    later = {"clerk": chief_id, "items": ["bdc-zydj"], "until": "2026-12-31", "from": "2026-12-01"}
    assert not (await client.execute(AUTHORISE, later, token=registry.token))["authoriseChiefRepresentative"]["inForce"]

    # A transfer (bdc-zydj) is not covered today: her December authorisation has not started.
    transfer = await _opened_and_accepted(client, chief, ["bdc-zydj"], id_card)
    refused = await client.error(OPINION, approve(transfer), token=chief.token)
    assert refused["extensions"]["code"] == "NOT_AUTHORISED" and refused["extensions"]["items"] == ["bdc-zydj"]
    # A mortgage accepted on Friday is decided the next Monday, after the authorisation ran out.
    mortgage = await _opened_and_accepted(client, chief, ["bdc-dydj"], id_card, contract)
    at(hub, date(2026, 11, 9))
    assert await client.error_code(OPINION, approve(mortgage), token=chief.token) == "NOT_AUTHORISED"
    # In December the transfer is covered.
    at(hub, date(2026, 12, 1))
    assert (await client.execute(OPINION, approve(transfer), token=chief.token))["recordOpinion"][
        "status"
    ] == "ACCEPTED"
    listed = (await client.execute(LIST, {}, token=chief.token))["authorisations"]
    assert [(a["clerk"]["name"], a["inForce"]) for a in listed] == [("刘首席", True), ("刘首席", False)]


async def test_only_the_clerks_own_department_grants_withdraws_and_reads(hub, client, clerk, admin, auditor) -> None:
    registry, chief, _, _ = await _story(hub, client, clerk)
    tax = await make_actor(hub, Role.DEPARTMENT_SYSTEM, "sw", "税务征管系统")
    chief_id = await _principal_id(chief)
    mortgage = {"clerk": chief_id, "items": ["bdc-dydj"], "until": "2026-12-31"}

    # Another department cannot authorise the registry's clerk, nor a clerk grant anything.
    error = await client.error(AUTHORISE, mortgage, token=tax.token)
    assert error["extensions"] == {"code": "OUTSIDE_OWN_DEPARTMENT", "field": "clerk", "department": "sw"}
    assert (await client.error(AUTHORISE, mortgage, token=chief.token))["extensions"]["code"] == "FORBIDDEN"
    # The registry cannot authorise tax items, unknown items, past dates, or a principal that is no clerk.
    tax_item = await client.error(AUTHORISE, {**mortgage, "items": ["sw-ns"]}, token=registry.token)
    assert tax_item["extensions"] == {"code": "OUTSIDE_OWN_DEPARTMENT", "field": "items", "codes": ["sw-ns"]}
    unknown = {**mortgage, "items": ["no-such"]}
    assert await client.error_code(AUTHORISE, unknown, token=registry.token) == "UNKNOWN_SERVICE_ITEM"
    past = {**mortgage, "until": "2026-11-01"}
    assert await client.error_code(AUTHORISE, past, token=registry.token) == "BAD_USER_INPUT"
    not_a_clerk = {**mortgage, "clerk": await _principal_id(registry)}
    assert await client.error_code(AUTHORISE, not_a_clerk, token=registry.token) == "BAD_USER_INPUT"
    assert await client.error_code(AUTHORISE, {**mortgage, "clerk": 999999}, token=registry.token) == "NOT_FOUND"

    granted = (await client.execute(AUTHORISE, mortgage, token=registry.token))["authoriseChiefRepresentative"]
    why = {"id": granted["id"], "why": "越权"}
    assert await client.error_code(WITHDRAW, why, token=tax.token) == "OUTSIDE_OWN_DEPARTMENT"
    assert await client.error_code(WITHDRAW, {**why, "why": " "}, token=registry.token) == "BAD_USER_INPUT"
    # An administrator may grant for any department.
    by_admin = (await client.execute(AUTHORISE, {**mortgage, "items": ["bdc-zxdj"]}, token=admin.token))[
        "authoriseChiefRepresentative"
    ]
    assert by_admin["grantedBy"] == "系统管理员"

    # Reads: the department its own, the clerk their own, the office and administrators any.
    own = (await client.execute(LIST, {}, token=registry.token))["authorisations"]
    assert [a["id"] for a in own] == [by_admin["id"], granted["id"]]
    assert (await client.execute(LIST, {}, token=tax.token))["authorisations"] == []
    assert await client.error_code(LIST, {"d": "bdc"}, token=tax.token) == "OUTSIDE_OWN_DEPARTMENT"
    assert await client.error_code(LIST, {"d": "bdc"}, token=clerk.token) == "OUTSIDE_OWN_DEPARTMENT"
    assert len((await client.execute(LIST, {"c": chief_id}, token=chief.token))["authorisations"]) == 2
    assert len((await client.execute(LIST, {"d": "bdc"}, token=auditor.token))["authorisations"]) == 2
    assert len((await client.execute(LIST, {"c": chief_id}, token=admin.token))["authorisations"]) == 2

    assert await _log(hub, "authorisation.grant") == [
        ("department_system", "sw", "refused", "OUTSIDE_OWN_DEPARTMENT"),
        ("clerk", "bdc", "denied", "the clerk role may not authorisation.grant"),
        ("department_system", "bdc", "refused", "OUTSIDE_OWN_DEPARTMENT"),
        ("department_system", "bdc", "refused", "UNKNOWN_SERVICE_ITEM"),
        ("department_system", "bdc", "refused", "BAD_USER_INPUT"),
        ("department_system", "bdc", "refused", "BAD_USER_INPUT"),
        ("department_system", "bdc", "refused", "NOT_FOUND"),
        ("department_system", "bdc", "allowed", ""),
        ("admin", "xzfw", "allowed", ""),
    ]


async def test_a_clerk_recording_minutes_for_her_own_department_needs_the_authorisation(hub, client, clerk) -> None:
    registry, chief, id_card, contract = await _story(hub, client, clerk)
    receipt = await _opened_and_accepted(client, chief, ["bdc-dydj"], id_card, contract)
    minutes = {
        "i": {
            "receiptNumber": receipt,
            "heldOn": "2026-11-02",
            "summary": "窗口会商",
            "entries": [{"department": "bdc", "opinion": {"decision": "APPROVE"}}],
        }
    }
    assert await client.error_code(MINUTES, minutes, token=chief.token) == "NOT_AUTHORISED"
    chief_id = await _principal_id(chief)
    granted = (
        await client.execute(
            AUTHORISE, {"clerk": chief_id, "items": ["bdc-dydj"], "until": "2026-11-30"}, token=registry.token
        )
    )["authoriseChiefRepresentative"]
    recorded = (await client.execute(MINUTES, minutes, token=chief.token))["recordReviewMinutes"]
    assert recorded["minutes"][0]["opinions"][0]["decision"] == "APPROVE"
    read = (await client.execute(DECISION, {"r": receipt}, token=chief.token))["case"]
    assert read["reviews"][0]["opinions"][0]["authorisation"]["id"] == granted["id"]


SAMPLE = """mutation($n: Int!, $seed: Int) { drawCaseSamples(month: "2026-11", perDepartment: $n, seed: $seed) {
  department { code } population receiptNumbers
  authorisedDecisions { receiptNumber authorisation { id clerk { name } grantedBy until } } } }"""

SUPERVISED = """query($r: String!) { supervisedCase(receiptNumber: $r) {
  reviews { decisions { decision authorisation { id until } } } } }"""


async def test_the_monthly_sample_draws_and_shows_decisions_taken_under_an_authorisation(
    hub, client, clerk, auditor
) -> None:
    registry, chief, id_card, _ = await _story(hub, client, clerk)
    grant = {"clerk": await _principal_id(chief), "items": ["bdc-zxdj"], "until": "2026-11-30"}
    granted = (await client.execute(AUTHORISE, grant, token=registry.token))["authoriseChiefRepresentative"]
    receipts = []
    for n, (decider, purpose) in enumerate([(registry, True)] * 4 + [(chief, False)]):
        at(hub, date(2026, 11, 3 + n))
        receipt = await _opened_and_accepted(client, chief, ["bdc-zxdj"], id_card)
        await client.execute(
            OPINION, approve(receipt), token=decider.token, purpose=f"case:{receipt}" if purpose else None
        )
        await client.execute(COMPLETE, {"r": receipt}, token=chief.token)
        receipts.append(receipt)
    on_the_spot = receipts[-1]

    # A seed whose plain draw of one case misses the on-the-spot decision: the sample adds it.
    seed = next(s for s in range(100) if draw(receipts, 1, s, "2026-11", "bdc") != [on_the_spot])
    at(hub, date(2026, 12, 1))
    drawn = await client.execute(SAMPLE, {"n": 1, "seed": seed}, token=auditor.token, purpose=SUPERVISION)
    (sample,) = drawn["drawCaseSamples"]
    assert sample["department"] == {"code": "bdc"} and sample["population"] == 5
    assert sample["receiptNumbers"] == sorted([*draw(receipts, 1, seed, "2026-11", "bdc"), on_the_spot])
    assert sample["receiptNumbers"] == draw_with_chief_decisions(receipts, [on_the_spot], 1, seed, "2026-11", "bdc")
    supervised = await client.execute(SUPERVISED, {"r": on_the_spot}, token=auditor.token, purpose=SUPERVISION)
    (review,) = supervised["supervisedCase"]["reviews"]
    assert review["decisions"] == [
        {"decision": "APPROVE", "authorisation": {"id": granted["id"], "until": "2026-11-30"}}
    ]
    assert sample["authorisedDecisions"] == [
        {
            "receiptNumber": on_the_spot,
            "authorisation": {
                "id": granted["id"],
                "clerk": {"name": "刘首席"},
                "grantedBy": "不动产登记系统",
                "until": "2026-11-30",
            },
        }
    ]


async def test_hub_authorise_grants_lists_and_withdraws_as_the_department(
    hub, client, clerk, hub_command, tmp_path
) -> None:
    registry, chief, _, _ = await _story(hub, client, clerk)
    chief_id = await _principal_id(chief)
    token_file = tmp_path / "registry.token"
    token_file.write_text(registry.token)
    as_registry = ("--token-file", str(token_file))

    status, out, _ = await hub_command(
        "authorise", "grant", "--clerk", str(chief_id), "--item", "bdc-dydj", "--item", "bdc-zxdj",
        "--from", "2098-01-01", "--until", "2098-12-31", *as_registry,
    )  # fmt: skip
    assert (
        status == 0 and "刘首席" in out and "bdc-dydj,bdc-zxdj 2098-01-01..2098-12-31 by 不动产登记系统; granted" in out
    )
    granted_id = out.split()[0]
    status, out, _ = await hub_command("authorise", "list", *as_registry)
    assert status == 0 and out.split()[0] == granted_id
    status, out, _ = await hub_command("authorise", "withdraw", granted_id, "--reason", "调岗", *as_registry)
    # A command runs on the real clock, not the story's.
    assert status == 0 and " withdrawn " in out and out.rstrip().endswith("(调岗)")
    status, _, err = await hub_command("authorise", "withdraw", granted_id, "--reason", "再撤", *as_registry)
    assert status == 2 and "[AUTHORISATION_WITHDRAWN]" in err
    assert [row[2] for row in await _log(hub, "authorisation.withdraw")] == ["allowed", "refused"]
    assert [row[2] for row in await _log(hub, "authorisation.read")] == ["allowed"]
