"""A clerk reads an applicant's data only while the applicant is at the window (a visit) or for a
case of the clerk's window; without either the read is refused and the refusal is logged."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from hub.access.auth import Role
from storage.models import AccessEntry
from tests.support import make_actor

REGISTER = """
mutation($input: RegisterApplicantInput!) { registerApplicant(input: $input) { idNumber } }"""
OPEN_VISIT = "mutation($id: String!) { openVisit(idNumber: $id) { id idNumber purpose expiresAt } }"
PROFILE = 'query($id: String!) { applicant(idNumber: $id) { name profile(fields: ["phone"]) { field value } } }'

ZHANG = "11010519491231002X"
LI = "110101199003074477"


async def _register(client, clerk, id_number: str, name: str, phone: str) -> None:
    variables = {
        "input": {"kind": "PERSON", "idNumber": id_number, "name": name, "fields": [{"field": "phone", "value": phone}]}
    }
    await client.execute(REGISTER, variables, token=clerk.token)


async def _entries(hub, action: str) -> list[AccessEntry]:
    async with hub.sessions() as session:
        rows = await session.execute(select(AccessEntry).where(AccessEntry.action == action).order_by(AccessEntry.id))
        return list(rows.scalars())


async def test_a_clerk_reads_a_profile_only_within_a_visit_and_the_refusal_is_logged(hub, client, clerk) -> None:
    await _register(client, clerk, ZHANG, "张三", "13800138000")

    error = await client.error(PROFILE, {"id": ZHANG}, token=clerk.token)
    assert error["extensions"]["code"] == "FORBIDDEN"
    assert error["extensions"]["missing"] == "purpose" and error["extensions"]["kinds"] == ["case", "visit"]
    refused = [e for e in await _entries(hub, "profile.read") if e.outcome == "denied"]
    assert [(e.applicant_ref, e.purpose) for e in refused] == [(ZHANG, "")]

    visit = (await client.execute(OPEN_VISIT, {"id": ZHANG.lower()}, token=clerk.token))["openVisit"]
    assert visit["idNumber"] == ZHANG and visit["purpose"] == f"visit:{visit['id']}"
    opened = await _entries(hub, "applicant.visit")
    assert [(e.applicant_ref, e.outcome) for e in opened] == [(ZHANG, "allowed")]

    read = await client.execute(PROFILE, {"id": ZHANG}, token=clerk.token, purpose=visit["purpose"])
    assert read["applicant"]["profile"] == [{"field": "phone", "value": "13800138000"}]
    allowed = [e for e in await _entries(hub, "profile.read") if e.outcome == "allowed"]
    assert [(e.applicant_ref, e.purpose) for e in allowed] == [(ZHANG, visit["purpose"])]


async def test_a_visit_covers_its_applicant_its_clerk_and_its_time_only(hub, client, clerk) -> None:
    await _register(client, clerk, ZHANG, "张三", "13800138000")
    await _register(client, clerk, LI, "李四", "13900139000")
    visit = (await client.execute(OPEN_VISIT, {"id": ZHANG}, token=clerk.token))["openVisit"]

    other_applicant = await client.error(PROFILE, {"id": LI}, token=clerk.token, purpose=visit["purpose"])
    assert other_applicant["extensions"]["missing"] == "applicant"
    # From here on the visit comes from the process's memory (hub/access/lookups.py): the refusals
    # below must hold as they do when it is read from the database.
    assert hub.lookups.visit(int(visit["id"])) is not None

    colleague = await make_actor(hub, Role.CLERK, "xzfw", "赵窗口")
    not_theirs = await client.error(PROFILE, {"id": ZHANG}, token=colleague.token, purpose=visit["purpose"])
    assert not_theirs["extensions"]["missing"] == "purpose"

    later = hub.clock() + timedelta(minutes=hub.settings.visit_minutes, seconds=1)
    hub.clock = lambda: later
    expired = await client.error(PROFILE, {"id": ZHANG}, token=clerk.token, purpose=visit["purpose"])
    assert expired["extensions"]["missing"] == "purpose"
    denied = [e for e in await _entries(hub, "profile.read") if e.outcome == "denied"]
    assert [e.applicant_ref for e in denied] == [LI, ZHANG, ZHANG]


async def test_only_clerks_open_visits_and_a_malformed_id_opens_nothing(hub, client, clerk, tax_system) -> None:
    error = await client.error(OPEN_VISIT, {"id": ZHANG}, token=tax_system.token, purpose="basis:x")
    assert error["extensions"]["code"] == "FORBIDDEN" and error["extensions"]["missing"] == "right"
    assert [e.outcome for e in await _entries(hub, "applicant.visit")] == ["denied"]
    assert await client.error_code(OPEN_VISIT, {"id": "110105194912310021"}, token=clerk.token) == "BAD_USER_INPUT"


async def test_a_clerks_screen_without_a_visit_is_refused_field_by_field_not_with_a_server_error(
    hub, client, clerk
) -> None:
    """The refused profile nulls the applicant, and graphql-core cancels the sibling fields still
    reading (materials, cases) mid-statement. The answer is the typed refusal, and the refusal is
    logged: the cancelled reads' connection is discarded, not reused to commit the log (on SQLite
    this answered INTERNAL_SERVER_ERROR)."""
    await _register(client, clerk, ZHANG, "张三", "13800138000")
    screen = "query($id: String!) { applicant(idNumber: $id) { name profile { field value } materials { id } cases { receiptNumber } } }"

    body = (await client.post(screen, {"id": ZHANG}, token=clerk.token)).json()

    assert {error["extensions"]["code"] for error in body["errors"]} == {"FORBIDDEN"}
    assert ["applicant", "profile"] in [error["path"] for error in body["errors"]]
    denied = {e.action for e in await _entries_of(hub, ZHANG) if e.outcome == "denied"}
    assert "profile.read" in denied


async def _entries_of(hub, id_number: str) -> list[AccessEntry]:
    async with hub.sessions() as session:
        rows = await session.execute(select(AccessEntry).where(AccessEntry.applicant_ref == id_number))
        return list(rows.scalars())
