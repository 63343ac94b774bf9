"""No GraphQL field hands out applicant data without passing `guard`.

The test walks the schema itself, so a field added later is covered without anyone remembering:
1. every root Query field is either declared PUBLIC (catalogue, who am I) or refuses a principal
   with no rights on applicant data with FORBIDDEN, and that refusal is in the access log;
2. the types reachable from PUBLIC roots are declared free of applicant data, so a public field
   that starts returning applicants fails here until someone decides it deliberately;
3. every field of Applicant beyond its identity refuses a department whose purpose covers
   identity only, with FORBIDDEN and a denied entry.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from graphql import GraphQLList, GraphQLNonNull, GraphQLObjectType, GraphQLSchema, Undefined, get_named_type
from sqlalchemy import func, select

from hub.access.auth import Role
from hub.catalog.catalogue import load_catalog
from hub.documents.materials import FileUpload, NewMaterial, upload_material
from schema.root import build_schema
from storage.models import AccessEntry
from tests.support import make_actor
from tests.support.materials import pdf

PERSON_ID = "11010519491231002X"

# Root fields that expose no applicant data: who am I, the service catalogue, the service centres,
# and webhooks (a department's own endpoints and their deliveries: ids, event types and answers, never
# a payload).
PUBLIC_ROOTS = {
    "viewer",
    "centres",
    "serviceItems",
    "materialTypes",
    "legalBases",
    "departments",
    "reuseFigures",
    "webhookEndpoints",
    "webhookPublicKeys",
}
# Object types reachable from PUBLIC roots; none may carry applicant data.
NO_APPLICANT_DATA = {
    "Viewer",
    "Centre",
    "ServiceItem",
    "MaterialType",
    "LegalBasis",
    "Department",
    "RequiredMaterial",
    "Reuse",
    "WebhookEndpoint",
    "WebhookDelivery",
    "WebhookAttempt",
    "WebhookPublicKey",
}
# An applicant's identity, visible once the lookup itself passed guard.
IDENTITY_FIELDS = {"idNumber", "kind", "name", "createdAt"}

# Values for required arguments, by name. A new required argument needs an entry here.
ARGUMENTS: dict[str, Any] = {
    "idNumber": PERSON_ID,
    "receiptNumber": "20261123-0001",
    "id": None,  # the material the fixture uploads
    "seq": 1,
    "oldSize": 0,
    "items": ["TEST-ITEM"],
    "fields": ["name"],
    "field": "name",
    "month": "2026-11",
    "alertId": 1,
}

CATALOG = """
material_types:
  - {code: id_card, name: 居民身份证}
service_items:
  - {code: TEST-ITEM, name: 测试事项, lead_department: sw, statutory_days: 10, promised_days: 5, materials: [{type: id_card}]}
legal_bases:
  - {code: identity-only, department: sw, description: 仅核验身份}
"""


def _schema() -> GraphQLSchema:
    from hub.settings import Settings

    return build_schema(Settings())._schema


def _unwrap(kind):
    while isinstance(kind, GraphQLNonNull | GraphQLList):
        kind = kind.of_type
    return kind


def _call(name: str, field, values: dict[str, Any]) -> str:
    """`name(arg: value ...) { __typename }` with every argument we know a value for filled in."""
    args = []
    for arg_name, arg in field.args.items():
        if arg_name not in values:
            required = isinstance(arg.type, GraphQLNonNull) and arg.default_value is Undefined
            assert not required, f"add a test value for required argument {name}({arg_name})"
            continue
        value = values[arg_name]
        args.append(f"{arg_name}: " + (str(value) if isinstance(value, int) else _literal(value)))
    call = f"{name}({', '.join(args)})" if args else name
    return call + (" { __typename }" if isinstance(_unwrap(field.type), GraphQLObjectType) else "")


def _literal(value: Any) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_literal(v) for v in value) + "]"
    return '"' + str(value) + '"'


def _reachable(schema: GraphQLSchema, roots: set[str]) -> set[str]:
    seen: set[str] = set()
    todo = [get_named_type(schema.query_type.fields[name].type) for name in roots]
    while todo:
        kind = todo.pop()
        if not isinstance(kind, GraphQLObjectType) or kind.name in seen:
            continue
        seen.add(kind.name)
        todo.extend(get_named_type(field.type) for field in kind.fields.values())
    return seen


async def _entries(hub, request_id: str, outcome: str | None = None) -> int:
    conditions = [AccessEntry.request_id == request_id]
    if outcome is not None:
        conditions.append(AccessEntry.outcome == outcome)
    async with hub.sessions() as session:
        return (await session.execute(select(func.count()).where(*conditions))).scalar_one()


async def _run(client, query: str, **kwargs) -> tuple[str, list[str], dict]:
    request_id = uuid.uuid4().hex
    body = (await client.post(query, headers={"X-Request-Id": request_id}, **kwargs)).json()
    return request_id, [error.get("extensions", {}).get("code") for error in body.get("errors") or []], body


async def _refused_and_logged(hub, client, query: str, **kwargs) -> str | None:
    """None if the query was refused with FORBIDDEN and logged as denied; else what went wrong."""
    request_id, codes, body = await _run(client, query, **kwargs)
    if "FORBIDDEN" not in codes:
        return f"answered {codes or 'with data'}: {str(body)[:200]}"
    if await _entries(hub, request_id, "denied") == 0:
        return "refused but not logged as denied"
    return None


@pytest.fixture
async def world(hub, client, clerk):
    """An applicant with one material on file, so lookups find real data to refuse."""
    async with hub.sessions() as session:
        await load_catalog(session, CATALOG, "coverage.yaml")
        await session.commit()
    await client.execute(
        'mutation { registerApplicant(input: {kind: PERSON, idNumber: "%s", name: "张三"}) { idNumber } }' % PERSON_ID,
        token=clerk.token,
    )
    ctx = await clerk.context()
    upload = FileUpload.of_bytes(pdf(), "id-card.pdf", "application/pdf")
    material = await upload_material(ctx, NewMaterial(PERSON_ID, "id_card"), upload)
    await ctx.close()
    return hub, {**ARGUMENTS, "id": material.material.id}


async def test_every_root_field_is_public_or_guarded(world, client, admin) -> None:
    hub, values = world
    schema = _schema()
    unknown_public = PUBLIC_ROOTS - set(schema.query_type.fields)
    assert not unknown_public, f"PUBLIC_ROOTS names fields that no longer exist: {unknown_public}"
    failures = {}
    for name, field in schema.query_type.fields.items():
        if name in PUBLIC_ROOTS:
            continue
        problem = await _refused_and_logged(hub, client, "query { %s }" % _call(name, field, values), token=admin.token)
        if problem:
            failures[name] = problem
    assert not failures, f"root fields that a principal without rights resolved unguarded: {failures}"


def test_public_roots_reach_no_applicant_data() -> None:
    reachable = _reachable(_schema(), PUBLIC_ROOTS)
    assert reachable <= NO_APPLICANT_DATA, (
        f"public fields now reach {sorted(reachable - NO_APPLICANT_DATA)}: guard them, or declare the types "
        "free of applicant data in NO_APPLICANT_DATA"
    )


async def test_every_applicant_field_beyond_identity_is_guarded(world, client) -> None:
    """Each field either is refused (FORBIDDEN, logged as denied) to a department whose purpose
    covers identity only, or records entries of its own: it went through guard itself."""
    hub, values = world
    department = await make_actor(hub, Role.DEPARTMENT_SYSTEM, "sw", "税务核验系统")
    as_department = {"token": department.token, "purpose": "basis:identity-only"}
    identity = 'query { applicant(idNumber: "%s") { %s } }' % (PERSON_ID, " ".join(sorted(IDENTITY_FIELDS)))
    request_id, codes, body = await _run(client, identity, **as_department)
    assert not codes and body["data"]["applicant"]["idNumber"] == PERSON_ID
    lookup_only = await _entries(hub, request_id)
    failures = {}
    for name, field in _schema().get_type("Applicant").fields.items():
        if name in IDENTITY_FIELDS:
            continue
        query = 'query { applicant(idNumber: "%s") { idNumber %s } }' % (PERSON_ID, _call(name, field, values))
        request_id, codes, body = await _run(client, query, **as_department)
        if "FORBIDDEN" in codes:
            if await _entries(hub, request_id, "denied") == 0:
                failures[name] = "refused but not logged as denied"
        elif await _entries(hub, request_id) <= lookup_only:
            failures[name] = f"resolved without an access entry of its own: {str(body)[:200]}"
    assert not failures, f"Applicant fields that resolve without passing guard: {failures}"


async def test_an_auditor_asking_for_a_document_gets_no_link_and_is_logged(world, client, auditor) -> None:
    hub, values = world
    query = "query { material(id: %d) { currentVersion { downloadLink { url } } } }" % values["id"]
    request_id, codes, body = await _run(client, query, token=auditor.token)
    assert codes == ["FORBIDDEN"] and body["errors"][0]["extensions"]["missing"] == "right"
    assert await _entries(hub, request_id, "denied") == 1
