"""A newcomer loads the demo and finds realistic applicants, a real catalogue and working principals."""

from __future__ import annotations

from datetime import date

import pytest
from stdnum.cn import ric, uscc

from hub.demo.load import DEMO_PRINCIPALS, load_demo
from hub.demo.people import generate_applicants
from hub.demo.tokens import demo_tokens
from hub.errors import Forbidden
from hub.identifiers import ApplicantKind
from hub.settings import Environment
from tests.support import OPEN_VISIT

PROFILE = """
query($id: String!) {
  applicant(idNumber: $id) {
    name kind
    profile { field value verified source { departmentCode } }
    profileHistory { field value verified current source { departmentCode } }
  }
}"""


VIEWER_ROLE = "{ viewer { role departmentCode } }"


async def _load(hub, applicants: int = 60, seed: int = 11):
    async with hub.sessions() as session:
        summary = await load_demo(session, applicants=applicants, seed=seed, if_empty=False)
        await session.commit()
    return summary


async def _demo_tokens(hub) -> dict[tuple[str, str], str]:
    async with hub.sessions() as session:
        issued = await demo_tokens(session, hub.settings, rotate=True)
        await session.commit()
    return {(i.role.value, i.department_code): i.token for i in issued}


def test_generated_applicants_have_valid_identifiers_and_are_deterministic() -> None:
    applicants = generate_applicants(600, seed=20261123)
    assert applicants == generate_applicants(600, seed=20261123)
    assert applicants != generate_applicants(600, seed=1)
    assert len({a.id_number for a in applicants}) == 600
    people = [a for a in applicants if a.kind is ApplicantKind.PERSON]
    enterprises = [a for a in applicants if a.kind is ApplicantKind.ENTERPRISE]
    assert len(people) > 400 and len(enterprises) > 100
    for person in people:
        ric.validate(person.id_number)  # check digit, birth date, and a region code valid that year
        born = ric.get_birth_date(person.id_number)
        assert date(1950, 1, 1) <= born <= date(2005, 12, 31)
        values = {v.field: v.value for v in person.values if v.is_current}
        assert values["birth_date"] == born.isoformat()
        assert values["gender"] == ("男" if int(person.id_number[16]) % 2 else "女")
        assert 2 <= len(person.name) <= 3
    for enterprise in enterprises:
        uscc.validate(enterprise.id_number)
        assert enterprise.name.endswith("有限公司")


def test_every_field_has_exactly_one_current_value_following_the_provenance_rule() -> None:
    for applicant in generate_applicants(200, seed=5):
        by_field: dict[str, list] = {}
        for value in applicant.values:
            by_field.setdefault(value.field, []).append(value)
        for values in by_field.values():
            current = [v for v in values if v.is_current]
            assert len(current) == 1
            verified = [v for v in values if v.verified]
            assert current[0] == (verified[-1] if verified else values[-1])


async def test_the_demo_loads_catalogue_principals_and_applicants(hub, client) -> None:
    summary = await _load(hub)
    assert summary.applicants == 60 and summary.service_items >= 30
    tokens = await _demo_tokens(hub)
    assert len(tokens) == len(DEMO_PRINCIPALS)
    assert {("clerk", "xzfw"), ("auditor", "jcj"), ("admin", "xzfw"), ("department_system", "rsj")} <= set(tokens)

    departments = await client.execute("{ departments { code isSupervision } }", token=tokens["clerk", "xzfw"])
    supervision = [d["code"] for d in departments["departments"] if d["isSupervision"]]
    assert supervision == ["jcj"]
    items = await client.execute(
        "{ serviceItems { name stage statutoryDays promisedDays } }", token=tokens["clerk", "xzfw"]
    )
    names = " ".join(item["name"] for item in items["serviceItems"])
    for everyday in ("退休", "不动产转移登记", "企业开办", "犬只登记", "社会保险"):
        assert everyday in names
    assert {item["stage"] for item in items["serviceItems"]} >= {"立项用地", "规划许可", "施工许可", "竣工验收"}
    assert all(item["promisedDays"] <= item["statutoryDays"] for item in items["serviceItems"])


async def test_every_department_of_the_catalogue_has_a_system_and_a_clerk(hub, client) -> None:
    await _load(hub, applicants=5)
    tokens = await _demo_tokens(hub)
    departments = await client.execute("{ departments { code isSupervision } }", token=tokens["clerk", "xzfw"])
    codes = {d["code"] for d in departments["departments"] if not d["isSupervision"]}
    assert {"yh", "gd", "gs", "rq", "tx"} <= codes
    for code in codes:
        for role in ("clerk", "department_system"):
            viewer = (await client.execute(VIEWER_ROLE, token=tokens[role, code]))["viewer"]
            assert (viewer["role"].lower(), viewer["departmentCode"]) == (role, code)


async def test_a_clerk_reads_a_demo_profile_with_provenance_and_history(hub, client) -> None:
    await _load(hub)
    clerk = (await _demo_tokens(hub))["clerk", "xzfw"]
    overruled = next(
        a
        for a in generate_applicants(60, seed=11)
        if any(v.field == "address" and v.department_code == "bdc" for v in a.values)
    )
    visit = (await client.execute(OPEN_VISIT, {"id": overruled.id_number}, token=clerk))["openVisit"]["purpose"]
    applicant = (await client.execute(PROFILE, {"id": overruled.id_number}, token=clerk, purpose=visit))["applicant"]
    assert applicant["name"] == overruled.name
    profile = {f["field"]: f for f in applicant["profile"]}
    assert profile["name"]["verified"] and profile["name"]["source"]["departmentCode"] == "ga"
    # The real estate clerk's unverified address stays in history; the verified one is shown.
    assert profile["address"]["source"]["departmentCode"] == "ga"
    addresses = [h for h in applicant["profileHistory"] if h["field"] == "address"]
    assert [(h["source"]["departmentCode"], h["current"]) for h in addresses] == [("bdc", False), ("ga", True)]


async def test_reissuing_demo_tokens_rotates_them_and_only_in_the_demo(hub, client) -> None:
    await _load(hub, applicants=5)
    first = await _demo_tokens(hub)
    second = await _demo_tokens(hub)
    clerk = ("clerk", "xzfw")
    assert first[clerk] != second[clerk]
    assert (await client.post("{ viewer { name } }", token=first[clerk])).status_code == 401
    assert (await client.execute("{ viewer { name } }", token=second[clerk]))["viewer"]["name"] == "王芳（综合窗口）"

    production = hub.settings.model_copy(update={"environment": Environment.PRODUCTION})
    async with hub.sessions() as session:
        with pytest.raises(Forbidden):
            await demo_tokens(session, production, rotate=True)
    assert await client.execute("{ viewer { name } }", token=second[clerk])
