"""No answer tells a caller without the right whether someone is registered, and every look-up is logged.

Recording a profile field checks the field and guards the write before it looks the applicant up:
a registered and an unregistered number get the same answer from anyone the policy refuses, the
same BAD_USER_INPUT for an unknown field, and a caller with the right who names nobody gets
NOT_FOUND with its attempt in the log as refused.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from storage.models import AccessEntry

REGISTER = "mutation($input: RegisterApplicantInput!) { registerApplicant(input: $input) { idNumber } }"
RECORD = "mutation($input: RecordProfileFieldInput!) { recordProfileField(input: $input) { field value } }"
REGISTERED = "11010519491231002X"
UNREGISTERED = "110101199003071233"


@pytest.fixture
async def registered(client, clerk) -> str:
    await client.execute(
        REGISTER, {"input": {"kind": "PERSON", "idNumber": REGISTERED, "name": "张三"}}, token=clerk.token
    )
    return REGISTERED


async def _answer(client, id_number: str, field: str, **kwargs) -> list[dict]:
    variables = {"input": {"idNumber": id_number, "field": field, "value": "13800138000"}}
    errors = (await client.post(RECORD, variables, **kwargs)).json()["errors"]
    return [{key: error[key] for key in ("message", "extensions")} for error in errors]


async def _entries(hub, department_code: str) -> list[tuple[str, str, str, str]]:
    async with hub.sessions() as session:
        rows = await session.execute(
            select(AccessEntry.action, AccessEntry.outcome, AccessEntry.applicant_ref, AccessEntry.reason)
            .where(AccessEntry.department_code == department_code)
            .order_by(AccessEntry.id)
        )
        return [tuple(row) for row in rows]


async def test_a_caller_without_the_right_cannot_tell_who_is_registered(hub, client, auditor, registered) -> None:
    for field in ("phone", "name"):
        on_registered = await _answer(client, REGISTERED, field, token=auditor.token)
        on_unregistered = await _answer(client, UNREGISTERED, field, token=auditor.token)
        assert on_registered == on_unregistered
        assert on_registered[0]["extensions"]["code"] == "FORBIDDEN"
    logged = await _entries(hub, "jcj")
    assert {(action, outcome) for action, outcome, _, _ in logged} == {("profile.write", "denied")}
    assert sorted({applicant for _, _, applicant, _ in logged}) == sorted([REGISTERED, UNREGISTERED])


async def test_an_unknown_field_is_refused_alike_for_registered_and_unregistered(
    client, tax_system, registered
) -> None:
    as_tax = {"token": tax_system.token, "purpose": "task:tax-registration"}
    on_registered = await _answer(client, REGISTERED, "shoe_size", **as_tax)
    on_unregistered = await _answer(client, UNREGISTERED, "shoe_size", **as_tax)
    assert on_registered == on_unregistered and on_registered[0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_a_caller_with_the_right_learns_nobody_is_there_and_the_attempt_is_logged(
    hub, client, clerk, registered
) -> None:
    answer = await _answer(client, UNREGISTERED, "phone", token=clerk.token)
    assert answer[0]["extensions"]["code"] == "NOT_FOUND"
    assert (await _entries(hub, "xzfw"))[-1] == ("profile.write", "refused", UNREGISTERED, "NOT_FOUND")
