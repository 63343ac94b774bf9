"""The compiled path and the resolvers answer alike: the same bytes, the same access entries.

For a corpus of registered documents (the clerk's query, variants with fewer fields, arguments
as literals and as variables, aliases, one outside the compiled subset), sent by principals with
and without a purpose (a clerk within a visit, a clerk without one, a department system under a
case it reviews and without a purpose, an auditor, a revoked token), for a known applicant, an
unknown one and an identifier that is not one: each request is sent once as text (the resolvers)
and once by its id (the compiled path, or the resolvers when the plan is denied), and both
responses must be byte for byte the same, with the same entries in the access log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import select, text

from bench.clerk_query import HUB_QUERY
from hub.access.auth import Role
from hub.access.budgets import CostBudgets
from hub.access.principals import authenticate, revoke_principal
from hub.demo.cases import load_demo_cases
from hub.demo.load import CITY_CENTRE, load_demo
from storage.models import Applicant, Case
from tests.compiled.differential import (
    Principal,
    compiled_count,
    entries_since,
    log_position,
    register_documents,
    send,
)
from tests.support import make_actor, open_visit

CLERK = HUB_QUERY  # bench/clerk_query.py: the clerk's screen
FEWER = """query($id: String!) { applicant(idNumber: $id) { name materials { typeCode status } } }"""
LITERALS = """
query($id: String!) {
  applicant(idNumber: $id) {
    idNumber
    profile(fields: ["phone", "name", "address"]) { field value current recordedAt }
    cases(last: 1) { receiptNumber }
  }
}"""
EVERYTHING = """
query($id: String!, $fields: [String!], $types: [String!], $last: Int = 20) {
  applicant(idNumber: $id) {
    kind createdAt
    profile(fields: $fields) { field value verified current recordedAt source { departmentCode departmentName } }
    materials(typeCodes: $types) {
      id applicantIdNumber typeCode typeName title issuedOn validUntil status revokedReason revokedAt
      supersededById createdAt
      versions { id versionNo fileName contentType size uploadedAt supersededAt current }
    }
    cases(last: $last) {
      receiptNumber status outcome window catalogVersion openedAt acceptedAt completedAt
      resultsCollectedAt closedAt closeReason items { item { code name } }
    }
  }
}"""
DEPARTMENT = """
query($id: String!, $fields: [String!], $types: [String!]) {
  applicant(idNumber: $id) {
    name profile(fields: $fields) { field value } materials(typeCodes: $types) { typeCode title versions { versionNo } }
  }
}"""
ALIASES = """
query($id: String!) { who: applicant(idNumber: $id) { n: name again: name list: cases { r: receiptNumber } } }"""
NAMED = """query Screen($id: String!) { applicant(idNumber: $id) { name cases { status } } }"""
# A variable declared non-null: without it GraphQL refuses the request, so the compiled path must not answer.
REQUIRED = """query($id: String!, $fields: [String!]!) { applicant(idNumber: $id) { name profile(fields: $fields) { field } } }"""
NOT_COMPILED = """
query($id: String!) { applicant(idNumber: $id) { ...Seen } }
fragment Seen on Applicant { name materials { title } }"""

UNKNOWN_ID = "11010519491231002X"  # a valid resident ID nobody registered
INVALID_ID = "123"


@dataclass(frozen=True)
class World:
    applicant: str
    other: str
    principals: list[Principal]
    case_types: list[str]


async def _world(hub: Any, client: Any) -> World:
    async with hub.sessions() as session:
        await load_demo(session, applicants=6, seed=7, if_empty=False)
        await session.commit()
    await load_demo_cases(hub, applicants=3, seed=7)
    async with hub.sessions() as session:
        case = (await session.execute(select(Case).order_by(Case.id).limit(1))).scalar_one()
        applicant = await session.get(Applicant, case.applicant_id)
        other = (
            await session.execute(select(Applicant.id_number).where(Applicant.id != case.applicant_id).limit(1))
        ).scalar_one()
        department = (
            await session.execute(
                text(
                    "SELECT d.code FROM case_items ci JOIN service_item_departments sd"
                    " ON sd.service_item_id = ci.service_item_id JOIN departments d ON d.id = sd.department_id"
                    " WHERE ci.case_id = :case ORDER BY d.code LIMIT 1"
                ),
                {"case": case.id},
            )
        ).scalar_one()
        case_types = list(
            (
                await session.execute(
                    text(
                        "SELECT DISTINCT mt.code FROM case_items ci JOIN service_item_materials sm"
                        " ON sm.service_item_id = ci.service_item_id JOIN material_types mt ON mt.id = sm.material_type_id"
                        " WHERE ci.case_id = :case ORDER BY mt.code"
                    ),
                    {"case": case.id},
                )
            ).scalars()
        )
        # Values the encoders must write alike: quotes, backslashes, control characters, an emoji;
        # an expired material and a revoked one; a timestamp with and without microseconds.
        await session.execute(
            text(
                "UPDATE profile_field_values SET value = :value WHERE applicant_id = :applicant AND field = 'address'"
            ),
            {"value": '朝阳路"3号" \\ 7栋\n2502室\t\x01 🏠', "applicant": applicant.id},
        )
        first, second = (
            await session.execute(
                text("SELECT id FROM materials WHERE applicant_id = :applicant ORDER BY id LIMIT 2"),
                {"applicant": applicant.id},
            )
        ).scalars()
        await session.execute(
            text("UPDATE materials SET valid_until = :day WHERE id = :id"),
            {"day": date(2020, 1, 31), "id": first},
        )
        await session.execute(
            text("UPDATE materials SET status = 'revoked', revoked_reason = :why, revoked_at = :at WHERE id = :id"),
            {
                "why": "扫描件有误 'x'",
                "at": datetime(2026, 5, 1, 8, 0, tzinfo=UTC),
                "id": second,
            },
        )
        await session.commit()
    clerk = await make_actor(hub, Role.CLERK, "xzfw", "王窗口", centre_code=CITY_CENTRE)
    system = await make_actor(hub, Role.DEPARTMENT_SYSTEM, department, "部门系统")
    auditor = await make_actor(hub, Role.AUDITOR, "jcj", "李监察")
    revoked = await make_actor(hub, Role.DEPARTMENT_SYSTEM, department, "已吊销")
    async with hub.sessions() as session:
        caller = await authenticate(session, f"Bearer {revoked.token}")
        await revoke_principal(session, caller.principal_id)
        await session.commit()
    visit = await open_visit(client, clerk, applicant.id_number)
    principals = [
        Principal("clerk in a visit", clerk.token, visit),
        Principal("clerk without purpose", clerk.token),
        Principal("department under its case", system.token, f"case:{case.receipt_number}"),
        Principal("department under an unknown case", system.token, "case:20990101-00001"),
        Principal("department without purpose", system.token),
        Principal("auditor", auditor.token),
        Principal("revoked token", revoked.token),
    ]
    return World(applicant.id_number, other, principals, case_types)


# The accesses of an applicant's fields, each guarded in its own resolver.
FIELD_ACTIONS = {"profile": "profile.read", "materials": "material.read", "cases": "case.search"}


def _assert_alike_but_for_cancelled_fields(
    answer: dict[str, Any], compiled: list[tuple[Any, ...]], resolved: list[tuple[Any, ...]], story: str
) -> None:
    """Two runs of the resolvers (a denied plan hands over to them) may differ in one way only.

    When a field of a query fails and its null reaches the root, graphql-core cancels the sibling
    fields still running: whether a sibling reached its guard before that (and so recorded an
    entry) depends on timing, in every run of the resolvers. What must agree: every entry but the
    fields', and the denial of each field whose error the answer reports."""
    assert answer.get("errors"), story
    assert [e for e in compiled if e[3] not in FIELD_ACTIONS.values()] == [
        e for e in resolved if e[3] not in FIELD_ACTIONS.values()
    ], story
    for error in answer["errors"]:
        action = FIELD_ACTIONS.get((error.get("path") or [""])[-1])
        if action is not None and error["extensions"]["code"] == "FORBIDDEN":
            assert any(e[3] == action and e[4] == "denied" for e in compiled), story
            assert any(e[3] == action and e[4] == "denied" for e in resolved), story


def _first_difference(compiled: bytes, resolved: bytes) -> str:
    at = next((i for i, (a, b) in enumerate(zip(compiled, resolved, strict=False)) if a != b), None)
    at = min(len(compiled), len(resolved)) if at is None else at
    return f"compiled …{compiled[at - 60 : at + 40]!r}… resolvers …{resolved[at - 60 : at + 40]!r}…"


@pytest.mark.usefixtures("settings")
async def test_compiled_and_resolver_paths_answer_byte_for_byte_alike(hub, client) -> None:
    # Hundreds of requests a principal, each pair compared: no cost budget, or a fast machine spends
    # it between a pair's two requests and the second is refused (429) where the first was not.
    # Both paths are charged alike: tests/compiled/test_trusted_documents.py.
    hub.cost_budgets = CostBudgets(0, 0)
    world = await _world(hub, client)
    documents = await register_documents(
        hub,
        {
            "clerk": CLERK,
            "fewer": FEWER,
            "literals": LITERALS,
            "everything": EVERYTHING,
            "department": DEPARTMENT,
            "aliases": ALIASES,
            "named": NAMED,
            "required": REQUIRED,
            "not compiled": NOT_COMPILED,
        },
    )
    assert documents["not compiled"].compiled is None
    assert all(d.compiled is not None for name, d in documents.items() if name != "not compiled")

    applicants = {"known": world.applicant, "other": world.other, "unknown": UNKNOWN_ID, "invalid": INVALID_ID}
    variables: list[tuple[str, str, dict[str, Any]]] = []
    for document in documents:
        for which, id_number in applicants.items():
            variables.append((document, which, {"id": id_number}))
    operations = {"named": "Screen", "named, another operation": "Another"}
    variables += [
        ("named", "named, another operation", {"id": world.applicant}),
        ("everything", "known, named fields", {"id": world.applicant, "fields": ["name", "phone"], "last": 1}),
        ("everything", "known, case types", {"id": world.applicant, "fields": ["name"], "types": world.case_types}),
        ("everything", "known, no types", {"id": world.applicant, "fields": [], "types": []}),
        ("department", "known, case types", {"id": world.applicant, "fields": ["name"], "types": world.case_types}),
        ("everything", "known, last out of range", {"id": world.applicant, "last": 0}),
        ("everything", "known, a wrong type", {"id": world.applicant, "fields": "name"}),
        ("clerk", "id missing", {}),
        ("required", "known, fields missing", {"id": world.applicant}),
        ("required", "known, fields null", {"id": world.applicant, "fields": None}),
    ]
    compiled_answers: set[tuple[str, str, str]] = set()
    for principal in world.principals:
        for document, which, values in variables:
            found = documents[document]
            before = await log_position(hub)
            extra = (
                {"operationName": operations[which if which in operations else document]} if document == "named" else {}
            )
            by_text = await send(client, {"query": found.document, "variables": values, **extra}, principal)
            resolver_entries = await entries_since(hub, before)
            before = await log_position(hub)
            compiled_before = compiled_count()
            by_id = await send(
                client, {"documentId": f"sha256:{found.sha256}", "variables": values, **extra}, principal
            )
            compiled_entries = await entries_since(hub, before)
            answered_compiled = compiled_count() > compiled_before
            if answered_compiled:
                compiled_answers.add((principal.name, document, which))
            story = f"{document} for {which} applicant as {principal.name}"
            assert by_id.status_code == by_text.status_code, story
            assert by_id.content == by_text.content, f"{story}: {_first_difference(by_id.content, by_text.content)}"
            assert by_id.headers["content-type"] == by_text.headers["content-type"], story
            if answered_compiled or compiled_entries == resolver_entries:
                assert compiled_entries == resolver_entries, story
            else:
                _assert_alike_but_for_cancelled_fields(by_text.json(), compiled_entries, resolver_entries, story)
    # The compiled path answered where everything is allowed, and only there.
    for document in ("clerk", "fewer", "literals", "everything", "department", "aliases", "named"):
        assert ("clerk in a visit", document, "known") in compiled_answers
    assert not any(which == "named, another operation" for _, _, which in compiled_answers)
    # A department lists no cases under a case purpose, and reads only the fields and types it covers.
    assert ("department under its case", "department", "known, case types") in compiled_answers
    assert not any(name.startswith("department") and document != "department" for name, document, _ in compiled_answers)
    # A clerk looks up anyone and lists their cases, and reads profiles and materials only in a visit.
    assert ("clerk without purpose", "aliases", "other") in compiled_answers
    assert not any(
        name == "clerk without purpose" and document not in ("aliases", "named")
        for name, document, _ in compiled_answers
    )
    assert not any(name in ("auditor", "revoked token") for name, _, _ in compiled_answers)
    assert not any(which in ("unknown", "invalid", "id missing") for _, _, which in compiled_answers)
    assert not any(which.endswith(("fields missing", "fields null")) for _, _, which in compiled_answers)
    assert not any(document == "not compiled" for _, document, _ in compiled_answers)
