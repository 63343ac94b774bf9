"""The compiled one-time notice and the resolvers answer alike: the same bytes, the same access entries.

For a corpus of registered notice documents (every field the compiled shape writes, fewer fields,
aliases, arguments as literals and as variables, with and without an applicant, a catalogue
version current and stale, documents outside the shape), sent by a clerk within a visit and
without one, a department system under a legal basis and without a purpose, an auditor and a
revoked token, about an applicant holding valid, expiring, expired, revoked and cancelled
materials, an unknown applicant, an identifier that is not one and an unknown item: each request
is sent once as text (the resolvers) and once by its id (the compiled path, or the resolvers when
the use case refuses), and both responses must be byte for byte the same, with the same entries
in the access log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import text

from hub.access.auth import Role
from hub.access.principals import authenticate, revoke_principal
from hub.compiled.notice import CompiledNotice
from tests.compiled.differential import (
    Principal,
    compiled_count,
    entries_since,
    log_position,
    register_documents,
    send,
)
from tests.support import make_actor, open_visit
from tests.support.case_stories import ESTATE_CATALOG, ESTATE_ITEMS, at, load, on_file, register, resident_id

BUYER = resident_id("11010119900909123")
UNKNOWN_ID = "11010519491231002X"  # a valid resident ID nobody registered
INVALID_ID = "123"
# An item needing the ID card alone, decided at the county: the police's legal basis covers it.
REISSUE = """
  - code: gaj-sfzbl
    name: 居民身份证补领
    lead_department: gaj
    statutory_days: 20
    promised_days: 7
    stage: 立项用地
    accept_levels: [county, township]
    decide_level: county
    materials: [{type: sfz}]
legal_bases:"""
CATALOG = ESTATE_CATALOG.replace("legal_bases:", REISSUE.lstrip("\n"))
# The next version of the catalogue: a guide changed.
NEXT_CATALOG = CATALOG.replace("name: 居民身份证补领", "name: 居民身份证补领\n    guide: 带一寸照片")

EVERYTHING = """
query($items: [String!]!, $id: String, $version: Int) {
  oneTimeNotice(items: $items, idNumber: $id, catalogVersion: $version) {
    catalogVersion issuedOn
    applicant { idNumber kind name createdAt }
    items { code name statutoryDays promisedDays stage silenceIsConsent guide catalogVersion acceptLevels decideLevel }
    entries {
      materialType { code name validDays } isKey requiredBy neededUntil holding
      onFile { materialId materialVersionId versionNo title fileName validUntil status cancelReason }
    }
    toHandIn
  }
}"""
FEWER = """query($items: [String!]!, $id: String) { oneTimeNotice(items: $items, idNumber: $id) { toHandIn entries { holding } } }"""
ALIASES = """
query($items: [String!]!, $id: String) {
  n: oneTimeNotice(items: $items, idNumber: $id) {
    left: toHandIn who: applicant { n: name again: idNumber }
    list: entries { t: materialType { c: code } h: holding f: onFile { id: materialId until: validUntil } key: isKey }
    v: catalogVersion
  }
}"""
LITERALS = f"""
{{ oneTimeNotice(items: ["zrzy-zydj", "sw-clfns", "gaj-sfzbl"], idNumber: "{BUYER}", catalogVersion: null) {{
    issuedOn items {{ code acceptLevels }} entries {{ neededUntil holding onFile {{ title status cancelReason }} }}
}} }}"""
WITHOUT_APPLICANT = """
query Requirements { oneTimeNotice(items: ["zrzy-zydj", "yh-dkdy"]) {
  applicant { name } entries { materialType { code name } requiredBy holding onFile { title } } toHandIn
} }"""
ID_REQUIRED = """
query($items: [String!]!, $id: String!) {
  oneTimeNotice(items: $items, idNumber: $id) { toHandIn entries { materialType { code } holding } }
}"""
A_RESOLVER_FIELD = """
query($items: [String!]!, $id: String) {
  oneTimeNotice(items: $items, idNumber: $id) { entries { materialType { code issuingDepartment { code } } } }
}"""
TYPENAME = """query($items: [String!]!) { oneTimeNotice(items: $items) { __typename toHandIn } }"""
COMPILED = ("everything", "fewer", "aliases", "literals", "without applicant", "id required")


@dataclass(frozen=True)
class World:
    principals: list[Principal]
    current_version: int
    stale_version: int


async def _world(hub: Any, client: Any) -> World:
    stale = await load(hub, CATALOG)
    current = await load(hub, NEXT_CATALOG)
    clerk = await make_actor(hub, Role.CLERK, "xzfw", "王窗口")
    police = await make_actor(hub, Role.DEPARTMENT_SYSTEM, "gaj", "公安人口系统")
    auditor = await make_actor(hub, Role.AUDITOR, "jcj", "李监察")
    revoked = await make_actor(hub, Role.DEPARTMENT_SYSTEM, "gaj", "已吊销")
    today = date(2025, 9, 26)
    at(hub, today)
    await register(client, clerk, BUYER, '孙七 "小七"')
    # An ID card valid for two more days only (it runs out before the notice's deadline), an
    # older one revoked; an expired marriage certificate; a contract valid, with a title the JSON
    # encoders must escape alike; a loan contract cancelled, the only one of its type.
    await on_file(clerk, BUYER, "sfz", title="身份证", issued_on=date(2015, 9, 28), valid_until=today + timedelta(2))
    old_card = await on_file(clerk, BUYER, "sfz", title="旧身份证", issued_on=date(2005, 1, 1))
    await on_file(clerk, BUYER, "hyzm", issued_on=date(2025, 1, 1), valid_until=date(2025, 3, 31))
    await on_file(clerk, BUYER, "gfht", title='合同 "甲" \\ 乙\n第2页\t🏠', issued_on=date(2025, 9, 1))
    loan = await on_file(clerk, BUYER, "dkht", title="借款合同", issued_on=date(2025, 8, 1))
    async with hub.sessions() as session:
        await session.execute(
            text("UPDATE materials SET status = 'revoked', revoked_reason = '挂失' WHERE id = :id"),
            {"id": old_card.material.id},
        )
        await session.execute(
            text("UPDATE materials SET status = 'cancelled', cancel_reason = :why WHERE id = :id"),
            {"why": '贷款结清 "注销"', "id": loan.material.id},
        )
        await session.commit()
    async with hub.sessions() as session:
        caller = await authenticate(session, f"Bearer {revoked.token}")
        await revoke_principal(session, caller.principal_id)
        await session.commit()
    visit = await open_visit(client, clerk, BUYER)
    principals = [
        Principal("clerk in a visit", clerk.token, visit),
        Principal("clerk without purpose", clerk.token),
        Principal("department under a legal basis", police.token, "basis:lost-card"),
        Principal("department without purpose", police.token),
        Principal("auditor", auditor.token),
        Principal("revoked token", revoked.token),
    ]
    return World(principals, current, stale)


def _requests(world: World) -> list[tuple[str, str, dict[str, Any]]]:
    """(document, what is asked, variables): every document for the common cases, then the rest
    on the document taking every argument."""
    common = {
        "known": {"items": ESTATE_ITEMS, "id": BUYER},
        "the ID card alone": {"items": ["gaj-sfzbl"], "id": BUYER},
        "no applicant": {"items": ESTATE_ITEMS},
        "unknown": {"items": ESTATE_ITEMS, "id": UNKNOWN_ID},
        "invalid": {"items": ESTATE_ITEMS, "id": INVALID_ID},
    }
    everything = {
        "applicant null": {"items": ESTATE_ITEMS, "id": None},
        "current version": {"items": ESTATE_ITEMS, "id": BUYER, "version": world.current_version},
        "stale version": {"items": ESTATE_ITEMS, "id": BUYER, "version": world.stale_version},
        "stale version, no applicant": {"items": ESTATE_ITEMS, "version": world.stale_version},
        "unknown item": {"items": ["zrzy-zydj", "nope"], "id": BUYER},
        "no items": {"items": [], "id": BUYER},
        "blank item codes, repeated": {"items": [" zrzy-zydj ", "zrzy-zydj", ""], "id": BUYER},
        "items as one string": {"items": "zrzy-zydj", "id": BUYER},
        "items missing": {"id": BUYER},
        "an item not a string": {"items": ["zrzy-zydj", 3], "id": BUYER},
        "id a number": {"items": ESTATE_ITEMS, "id": 110101},
        "version a string": {"items": ESTATE_ITEMS, "id": BUYER, "version": str(world.current_version)},
        "version a boolean": {"items": ESTATE_ITEMS, "id": BUYER, "version": True},
        "version out of range": {"items": ESTATE_ITEMS, "id": BUYER, "version": 2**31},
    }
    requests = [
        (document, which, variables)
        for document in ("everything", "fewer", "aliases", "id required", "a resolver field")
        for which, variables in common.items()
    ]
    requests += [("everything", which, variables) for which, variables in everything.items()]
    requests += [("id required", "id missing", {"items": ESTATE_ITEMS})]
    requests += [("literals", "literals", {}), ("without applicant", "literals", {})]
    requests += [("typename", "no applicant", {"items": ESTATE_ITEMS})]
    return requests


@pytest.mark.usefixtures("settings")
async def test_compiled_notice_and_resolvers_answer_byte_for_byte_alike(hub, client) -> None:
    world = await _world(hub, client)
    documents = await register_documents(
        hub,
        {
            "everything": EVERYTHING,
            "fewer": FEWER,
            "aliases": ALIASES,
            "literals": LITERALS,
            "without applicant": WITHOUT_APPLICANT,
            "id required": ID_REQUIRED,
            "a resolver field": A_RESOLVER_FIELD,
            "typename": TYPENAME,
        },
    )
    for name, found in documents.items():
        assert isinstance(found.compiled, CompiledNotice) == (name in COMPILED), (name, found.why_not_compiled)

    compiled_answers: set[tuple[str, str, str]] = set()
    for principal in world.principals:
        for document, which, values in _requests(world):
            found = documents[document]
            before = await log_position(hub)
            by_text = await send(client, {"query": found.document, "variables": values}, principal)
            resolver_entries = await entries_since(hub, before)
            before = await log_position(hub)
            compiled_before = compiled_count()
            by_id = await send(client, {"documentId": f"sha256:{found.sha256}", "variables": values}, principal)
            compiled_entries = await entries_since(hub, before)
            if compiled_count() > compiled_before:
                compiled_answers.add((principal.name, document, which))
            story = f"{document} for {which} as {principal.name}"
            assert by_id.status_code == by_text.status_code, story
            assert by_id.content == by_text.content, f"{story}: {by_id.content!r} != {by_text.content!r}"
            assert by_id.headers["content-type"] == by_text.headers["content-type"], story
            assert compiled_entries == resolver_entries, story

    # The compiled path answered wherever the use case answers, and only there.
    in_a_visit = {(d, which) for name, d, which in compiled_answers if name == "clerk in a visit"}
    for document in ("everything", "fewer", "aliases", "id required"):
        asked = {which for d, which in in_a_visit if d == document}
        expected = {"known", "the ID card alone", "no applicant"} - (
            {"no applicant"} if document == "id required" else set()
        )
        if document == "everything":
            expected |= {"applicant null", "current version", "blank item codes, repeated"}
        assert asked == expected, document
    assert ("clerk in a visit", "literals", "literals") in compiled_answers
    # Without an applicant the notice is anyone's; with one, it is read as their materials are.
    for name in ("clerk without purpose", "department without purpose", "auditor"):
        assert {(d, which) for n, d, which in compiled_answers if n == name} == {
            (document, "no applicant") for document in ("everything", "fewer", "aliases")
        } | {("without applicant", "literals"), ("everything", "applicant null")}, name
    assert ("department under a legal basis", "everything", "the ID card alone") in compiled_answers
    assert ("department under a legal basis", "everything", "known") not in compiled_answers
    assert not any(name == "revoked token" for name, _, _ in compiled_answers)
    refused = {"unknown", "invalid", "stale version", "unknown item", "no items", "id missing", "items as one string"}
    assert not any(which in refused for _, _, which in compiled_answers)
    assert not any(document in ("a resolver field", "typename") for _, document, _ in compiled_answers)

    # A caller without the right, by id: refused, and the refusal logged once, as the notice's read.
    auditor = next(p for p in world.principals if p.name == "auditor")
    known = next(values for document, which, values in _requests(world) if (document, which) == ("everything", "known"))
    before = await log_position(hub)
    refused = await send(
        client, {"documentId": f"sha256:{documents['everything'].sha256}", "variables": known}, auditor
    )
    assert [error["extensions"]["code"] for error in refused.json()["errors"]] == ["FORBIDDEN"]
    assert [(e[3], e[4], e[5]) for e in await entries_since(hub, before)] == [("notice.read", "denied", BUYER)]
