"""A clerk registers applicants; departments read and update the shared profile."""

from __future__ import annotations

from tests.support import open_visit

REGISTER = """
mutation($input: RegisterApplicantInput!) {
  registerApplicant(input: $input) { idNumber kind name profile { field value verified current source { departmentCode } } }
}"""

REGISTER_ONLY = "mutation($input: RegisterApplicantInput!) { registerApplicant(input: $input) { idNumber } }"

APPLICANT = """
query($id: String!) { applicant(idNumber: $id) { idNumber name profile { field value verified current } } }
"""

RECORD = """
mutation($input: RecordProfileFieldInput!) { recordProfileField(input: $input) { field value verified current } }
"""

PERSON_ID = "11010519491231002X"
COMPANY_CODE = "91110000600037341L"


async def test_clerk_registers_a_person_and_reads_the_profile(client, clerk) -> None:
    visit = await open_visit(client, clerk, PERSON_ID)
    data = await client.execute(
        REGISTER,
        {
            "input": {
                "kind": "PERSON",
                "idNumber": PERSON_ID,
                "name": "张三",
                "fields": [{"field": "phone", "value": "13800138000"}],
            }
        },
        token=clerk.token,
        purpose=visit,
    )
    applicant = data["registerApplicant"]
    assert applicant["kind"] == "PERSON" and applicant["name"] == "张三"
    assert {f["field"]: f["value"] for f in applicant["profile"]} == {"name": "张三", "phone": "13800138000"}
    assert all(f["source"]["departmentCode"] == "xzfw" for f in applicant["profile"])

    read = await client.execute(APPLICANT, {"id": PERSON_ID.lower()}, token=clerk.token, purpose=visit)
    assert read["applicant"]["idNumber"] == PERSON_ID


async def test_invalid_identifiers_are_refused_and_nothing_is_stored(client, clerk) -> None:
    bad_id = {"input": {"kind": "PERSON", "idNumber": "110105194912310021", "name": "张三"}}
    assert await client.error_code(REGISTER, bad_id, token=clerk.token) == "INVALID_RESIDENT_ID"
    bad_code = {"input": {"kind": "ENTERPRISE", "idNumber": "91110000600037341X", "name": "某公司"}}
    assert await client.error_code(REGISTER, bad_code, token=clerk.token) == "INVALID_CREDIT_CODE"
    search = await client.execute(
        'query { applicants(namePrefix: "\u5f20") { edges { node { idNumber } } } }', token=clerk.token
    )
    assert search["applicants"]["edges"] == []


async def test_unverified_update_does_not_displace_a_verified_value(client, clerk, tax_system) -> None:
    visit = await open_visit(client, clerk, COMPANY_CODE)
    await client.execute(
        REGISTER,
        {
            "input": {
                "kind": "ENTERPRISE",
                "idNumber": COMPANY_CODE,
                "name": "大州建设有限公司",
                "verified": True,
                "fields": [{"field": "legal_representative", "value": "李四"}],
            }
        },
        token=clerk.token,
        purpose=visit,
    )
    update = {"input": {"idNumber": COMPANY_CODE, "field": "legal_representative", "value": "王五"}}
    recorded = await client.execute(RECORD, update, token=tax_system.token, purpose="task:tax-registration")
    assert recorded["recordProfileField"] == {
        "field": "legal_representative",
        "value": "王五",
        "verified": False,
        "current": False,
    }

    profile = (await client.execute(APPLICANT, {"id": COMPANY_CODE}, token=clerk.token, purpose=visit))["applicant"][
        "profile"
    ]
    assert {f["field"]: f["value"] for f in profile}["legal_representative"] == "李四"

    verified = {"input": {**update["input"], "verified": True}}
    assert (await client.execute(RECORD, verified, token=tax_system.token, purpose="task:tax-registration"))[
        "recordProfileField"
    ]["current"] is True
    history = await client.execute(
        'query($id: String!) { applicant(idNumber: $id) { profileHistory(field: "legal_representative") { value verified current } } }',
        {"id": COMPANY_CODE},
        token=clerk.token,
        purpose=visit,
    )
    assert [h["value"] for h in history["applicant"]["profileHistory"]] == ["王五", "王五", "李四"]


async def test_search_by_name_prefix_is_paginated(client, clerk) -> None:
    ids = ["110101199003071234", "110101199003072611", "110101199003073833"]
    from stdnum.cn import ric

    for n, base in enumerate(ids):
        number = base[:17] + ric.calc_check_digit(base)
        await client.execute(
            REGISTER_ONLY, {"input": {"kind": "PERSON", "idNumber": number, "name": f"陈{n}"}}, token=clerk.token
        )
    query = 'query($after: String) { applicants(namePrefix: "陈", first: 2, after: $after) { edges { node { name } } pageInfo { hasNextPage endCursor } } }'
    first = (await client.execute(query, token=clerk.token))["applicants"]
    assert [e["node"]["name"] for e in first["edges"]] == ["陈0", "陈1"] and first["pageInfo"]["hasNextPage"]
    second = (await client.execute(query, {"after": first["pageInfo"]["endCursor"]}, token=clerk.token))["applicants"]
    assert [e["node"]["name"] for e in second["edges"]] == ["陈2"] and not second["pageInfo"]["hasNextPage"]


async def test_requests_without_a_valid_token_are_refused(client, clerk) -> None:
    response = await client.post("query { viewer { name } }")
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    response = await client.post("query { viewer { name } }", token="hub_not-a-real-token")
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_mutations_land_one_by_one_and_a_refused_one_writes_nothing(client, clerk, hub) -> None:
    """Two registrations in one operation, the second refused: the first landed, the second left
    nothing, and both attempts are in the access log. (Both fields are non-null, so the refusal
    nulls the whole answer, as GraphQL says; the error tells which field failed.)"""
    from sqlalchemy import select

    from storage.models import AccessEntry, Applicant

    both = """
    mutation($good: RegisterApplicantInput!, $bad: RegisterApplicantInput!) {
      first: registerApplicant(input: $good) { idNumber }
      second: registerApplicant(input: $bad) { idNumber }
    }"""
    variables = {
        "good": {"kind": "PERSON", "idNumber": PERSON_ID, "name": "张三"},
        "bad": {
            "kind": "ENTERPRISE",
            "idNumber": COMPANY_CODE,
            "name": "某公司",
            "fields": [{"field": "x", "value": ""}],
        },
    }
    answer = (await client.post(both, variables, token=clerk.token)).json()
    assert answer["data"] is None
    assert [(e["path"], e["extensions"]["code"]) for e in answer["errors"]] == [(["second"], "BAD_USER_INPUT")]
    async with hub.sessions() as session:
        assert (await session.execute(select(Applicant.id_number))).scalars().all() == [PERSON_ID]
        logged = (await session.execute(select(AccessEntry.applicant_ref))).scalars().all()
    assert PERSON_ID in logged


async def test_a_use_case_failing_after_writing_leaves_nothing_but_its_log(client, clerk, hub, monkeypatch) -> None:
    """The database fails half way through a registration (after the applicant row, before its
    fields): the row is rolled back, the caller gets INTERNAL_SERVER_ERROR, the attempt is logged."""
    from sqlalchemy import select

    from hub.profiles import applicants as profiles
    from storage.models import AccessEntry, Applicant

    async def failing_add_field_value(session, value) -> None:
        raise ConnectionError("the database went away")

    monkeypatch.setattr(profiles.repo, "add_field_value", failing_add_field_value)
    variables = {"input": {"kind": "PERSON", "idNumber": PERSON_ID, "name": "张三"}}
    assert await client.error_code(REGISTER, variables, token=clerk.token) == "INTERNAL_SERVER_ERROR"
    async with hub.sessions() as session:
        assert (await session.execute(select(Applicant.id))).first() is None
        actions = (await session.execute(select(AccessEntry.action, AccessEntry.applicant_ref))).all()
    assert ("applicant.register", PERSON_ID) in actions
