"""Who may see what: a department reads only what its declared purpose covers; every refusal is
a typed FORBIDDEN naming what is missing, and lands in the access log as denied."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hub.access.actions import Action
from hub.access.auth import Role
from hub.access.guard import guard
from hub.access.policy import PurposeScope, register_purpose_resolver
from hub.catalog.catalogue import load_catalog
from hub.errors import Forbidden
from storage.models import AccessEntry
from tests.support import make_actor

PERSON_ID = "11010519491231002X"
OTHER_ID = "110101199003071233"

CATALOG = """
material_types:
  - {code: id_card, name: 居民身份证}
  - {code: business_licence, name: 营业执照}
legal_bases:
  - code: tax-identity-check
    department: sw
    description: 税务登记身份核验
    profile_fields: [name, address]
    material_types: [id_card]
  - code: social-insurance-identity
    department: rsj
    description: identity check for social insurance
    profile_fields: [name, phone]
"""

REGISTER = """
mutation($input: RegisterApplicantInput!) { registerApplicant(input: $input) { idNumber } }
"""
PROFILE = """
query($id: String!, $fields: [String!]) { applicant(idNumber: $id) { name profile(fields: $fields) { field value } } }
"""


async def _entries(hub) -> list[AccessEntry]:
    async with hub.sessions() as session:
        return list((await session.execute(select(AccessEntry).order_by(AccessEntry.id))).scalars())


async def _denied(hub) -> list[AccessEntry]:
    return [e for e in await _entries(hub) if e.outcome == "denied"]


async def _error(client, query: str, variables: dict, **kwargs) -> dict:
    body = (await client.post(query, variables, **kwargs)).json()
    assert body.get("errors"), body
    return body["errors"][0]["extensions"]


@pytest.fixture
async def registered(hub, client, clerk) -> str:
    async with hub.sessions() as session:
        await load_catalog(session, CATALOG, "test-catalog.yaml")
        await session.commit()
    fields = [{"field": "phone", "value": "13800138000"}, {"field": "address", "value": "达州市通川区"}]
    await client.execute(
        REGISTER,
        {"input": {"kind": "PERSON", "idNumber": PERSON_ID, "name": "张三", "fields": fields}},
        token=clerk.token,
    )
    return PERSON_ID


async def test_a_department_reads_what_its_legal_basis_covers(hub, client, tax_system, registered) -> None:
    data = await client.execute(
        PROFILE,
        {"id": registered, "fields": ["name", "address"]},
        token=tax_system.token,
        purpose="basis:tax-identity-check",
    )
    assert {f["field"]: f["value"] for f in data["applicant"]["profile"]} == {"name": "张三", "address": "达州市通川区"}
    reads = [e for e in await _entries(hub) if e.action == "profile.read"]
    assert reads[-1].purpose == "basis:tax-identity-check" and reads[-1].outcome == "allowed"
    assert reads[-1].fields == "address,name" and reads[-1].department_code == "sw"


async def test_a_field_outside_the_purpose_is_refused_and_logged(hub, client, tax_system, registered) -> None:
    extensions = await _error(
        client,
        PROFILE,
        {"id": registered, "fields": ["phone"]},
        token=tax_system.token,
        purpose="basis:tax-identity-check",
    )
    assert extensions["code"] == "FORBIDDEN"
    assert extensions["missing"] == "field" and extensions["fields"] == ["phone"]
    assert extensions["allowed"] == ["address", "name"]
    denied = await _denied(hub)
    assert [(e.action, e.fields, e.applicant_ref) for e in denied] == [("profile.read", "phone", registered)]


async def test_asking_for_every_field_is_refused_under_a_purpose(client, tax_system, registered) -> None:
    extensions = await _error(
        client, PROFILE, {"id": registered}, token=tax_system.token, purpose="basis:tax-identity-check"
    )
    assert extensions["code"] == "FORBIDDEN" and extensions["fields"] == ["*"]


async def test_a_department_without_a_purpose_is_refused(hub, client, tax_system, registered) -> None:
    extensions = await _error(client, PROFILE, {"id": registered, "fields": ["name"]}, token=tax_system.token)
    assert extensions == {"code": "FORBIDDEN", "missing": "purpose", "kinds": ["basis", *extensions["kinds"][1:]]}
    assert [(e.action, e.purpose) for e in await _denied(hub)] == [("applicant.lookup", "")]


async def test_another_departments_legal_basis_is_refused(hub, client, tax_system, registered) -> None:
    extensions = await _error(
        client,
        PROFILE,
        {"id": registered, "fields": ["name"]},
        token=tax_system.token,
        purpose="basis:social-insurance-identity",
    )
    assert extensions["code"] == "FORBIDDEN" and extensions["missing"] == "purpose"
    assert extensions["purpose"] == "basis:social-insurance-identity"
    denied = await _denied(hub)
    assert denied[0].department_code == "sw" and denied[0].purpose == "basis:social-insurance-identity"


@pytest.mark.parametrize("purpose", ["basis:no-such-basis", "nonsense:thing"])
async def test_a_wrong_purpose_is_refused(client, tax_system, registered, purpose: str) -> None:
    extensions = await _error(
        client, PROFILE, {"id": registered, "fields": ["name"]}, token=tax_system.token, purpose=purpose
    )
    assert extensions["code"] == "FORBIDDEN" and extensions["missing"] == "purpose"


async def test_an_auditor_never_sees_profile_values(hub, client, auditor, registered) -> None:
    extensions = await _error(client, PROFILE, {"id": registered, "fields": ["name"]}, token=auditor.token)
    assert extensions["code"] == "FORBIDDEN" and extensions["missing"] == "right"
    assert [(e.role, e.action) for e in await _denied(hub)] == [("auditor", "applicant.lookup")]


async def test_an_auditor_asking_for_document_content_is_refused_and_logged(hub, auditor, registered) -> None:
    ctx = await auditor.context()
    with pytest.raises(Forbidden) as refused:
        await guard(ctx, Action.MATERIAL_DOWNLOAD, [registered], material_types=["id_card"], object_ref="material:1@v1")
    assert refused.value.details["missing"] == "right"
    await ctx.commit()
    await ctx.close()
    denied = await _denied(hub)
    assert [(e.action, e.material_types, e.object_ref) for e in denied] == [
        ("material.download", "id_card", "material:1@v1")
    ]


async def test_an_administrator_is_logged_like_everyone_else(hub, client, admin, registered) -> None:
    extensions = await _error(client, PROFILE, {"id": registered, "fields": ["name"]}, token=admin.token)
    assert extensions["code"] == "FORBIDDEN" and extensions["missing"] == "right"
    assert [e.role for e in await _denied(hub)] == ["admin"]


async def test_an_applicant_sees_only_their_own_data(hub, client, registered) -> None:
    applicant = await _applicant_actor(hub, registered)
    own = await client.execute(PROFILE, {"id": registered, "fields": ["name"]}, token=applicant.token)
    assert own["applicant"]["name"] == "张三"
    other = await _applicant_actor(hub, OTHER_ID)
    extensions = await _error(client, PROFILE, {"id": registered, "fields": ["name"]}, token=other.token)
    assert extensions["code"] == "FORBIDDEN" and extensions["missing"] == "applicant"


async def _applicant_actor(hub, id_number: str):
    from hub.access.principals import create_principal
    from tests.support import Actor

    async with hub.sessions() as session:
        issued = await create_principal(session, f"申请人 {id_number[-4:]}", Role.APPLICANT, "xzfw", id_number)
        await session.commit()
    return Actor(hub, issued.token, Role.APPLICANT, "xzfw")


async def test_a_registered_purpose_kind_binds_to_its_applicants(hub, registered) -> None:
    async def only_this_applicant(ctx, ref: str) -> PurposeScope | None:
        if ref != "T-1":
            return None
        return PurposeScope(profile_fields=frozenset({"name"}), applicant_refs=frozenset({registered}))

    register_purpose_resolver("test-case", only_this_applicant)
    system = await make_actor(hub, Role.DEPARTMENT_SYSTEM, "zjj", "住建审批系统")
    ctx = await system.context("test-case:T-1")
    await guard(ctx, Action.PROFILE_READ, [registered], fields=["name"])
    with pytest.raises(Forbidden) as refused:
        await guard(ctx, Action.PROFILE_READ, [OTHER_ID], fields=["name"])
    assert refused.value.details == {"missing": "applicant", "purpose": "test-case:T-1"}
    await ctx.commit()
    await ctx.close()
    outcomes = [(e.applicant_ref, e.outcome) for e in await _entries(hub) if e.purpose == "test-case:T-1"]
    assert outcomes == [(registered, "allowed"), (OTHER_ID, "denied")]
