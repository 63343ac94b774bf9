"""A profile holds values a department can use: typed fields, and nothing the ID number contradicts."""

from __future__ import annotations

from tests.profiles.test_profiles import APPLICANT, COMPANY_CODE, RECORD, REGISTER
from tests.support import open_visit

# A man born on 3 March 1975 in 北京市西城区 (110102): order code 001 is odd.
MAN_1975 = "110102197503030013"

HISTORY = """
query($id: String!) { applicant(idNumber: $id) {
  profileHistory(field: "phone") { value verified current source { departmentCode } } } }
"""


def register(id_number: str, kind: str = "PERSON", **fields: str) -> dict:
    return {
        "input": {
            "kind": kind,
            "idNumber": id_number,
            "name": "赵六" if kind == "PERSON" else "大州建设有限公司",
            "fields": [{"field": field, "value": value} for field, value in fields.items()],
        }
    }


def record(id_number: str, field: str, value: str, *, verified: bool = False) -> dict:
    return {"input": {"idNumber": id_number, "field": field, "value": value, "verified": verified}}


async def test_registration_refuses_a_gender_or_birth_date_the_id_contradicts(client, clerk) -> None:
    visit = await open_visit(client, clerk, MAN_1975)
    woman = await client.error(REGISTER, register(MAN_1975, gender="女"), token=clerk.token, purpose=visit)
    assert woman["extensions"]["code"] == "FIELD_CONTRADICTS_IDENTIFIER"
    assert woman["extensions"]["field"] == "gender" and woman["extensions"]["implied"] == "男"
    born_1990 = register(MAN_1975, birth_date="1990-01-01")
    assert (
        await client.error_code(REGISTER, born_1990, token=clerk.token, purpose=visit) == "FIELD_CONTRADICTS_IDENTIFIER"
    )
    elsewhere = register(MAN_1975, region="510121")
    assert (
        await client.error_code(REGISTER, elsewhere, token=clerk.token, purpose=visit) == "FIELD_CONTRADICTS_IDENTIFIER"
    )
    assert await client.error_code(APPLICANT, {"id": MAN_1975}, token=clerk.token, purpose=visit) == "NOT_FOUND"

    agreed = register(MAN_1975, gender="男", birth_date="1975-03-03", region="110102", phone="+86 138 0013 8000")
    applicant = (await client.execute(REGISTER, agreed, token=clerk.token, purpose=visit))["registerApplicant"]
    assert {f["field"]: f["value"] for f in applicant["profile"]} == {
        "name": "赵六",
        "gender": "男",
        "birth_date": "1975-03-03",
        "region": "110102",
        "phone": "13800138000",
    }


async def test_a_department_cannot_record_a_value_that_is_not_of_its_type(client, clerk) -> None:
    visit = await open_visit(client, clerk, MAN_1975)
    await client.execute(REGISTER, register(MAN_1975), token=clerk.token, purpose=visit)
    for field, value in [
        ("birth_date", "yesterday"),
        ("birth_date", "1975-3-3"),
        ("birth_date", "2999-01-01"),
        ("phone", "not a phone number"),
        ("phone", "12345678901"),
        ("gender", "male"),
        ("email", "zhao at example"),
        ("region", "北京"),
    ]:
        error = await client.error(RECORD, record(MAN_1975, field, value), token=clerk.token, purpose=visit)
        assert (error["extensions"]["code"], error["extensions"]["field"]) == ("INVALID_FIELD_VALUE", field), value

    mobile = await client.execute(RECORD, record(MAN_1975, "phone", "138-0013-8000"), token=clerk.token, purpose=visit)
    assert mobile["recordProfileField"]["value"] == "13800138000"


async def test_an_enterprise_keeps_a_landline_and_its_registration_region(client, clerk) -> None:
    visit = await open_visit(client, clerk, COMPANY_CODE)
    code = register(COMPANY_CODE, "ENTERPRISE", phone="0755 8888 6666", established_on="2001-06-01")
    applicant = (await client.execute(REGISTER, code, token=clerk.token, purpose=visit))["registerApplicant"]
    assert {f["field"]: f["value"] for f in applicant["profile"]}["phone"] == "0755-88886666"
    # 91110000...: registered by an authority of 110000 (北京市), not of 深圳.
    refused = await client.error_code(
        RECORD, record(COMPANY_CODE, "region", "440300"), token=clerk.token, purpose=visit
    )
    assert refused == "FIELD_CONTRADICTS_IDENTIFIER"
    kept = await client.execute(RECORD, record(COMPANY_CODE, "region", "110000"), token=clerk.token, purpose=visit)
    assert kept["recordProfileField"]["value"] == "110000"


async def test_a_department_corrects_its_own_value_and_the_history_keeps_both(client, clerk, tax_system) -> None:
    visit = await open_visit(client, clerk, MAN_1975)
    await client.execute(REGISTER, register(MAN_1975, phone="13800138000"), token=clerk.token, purpose=visit)
    await client.execute(
        RECORD,
        record(MAN_1975, "phone", "13900139000", verified=True),
        token=tax_system.token,
        purpose="basis:tax-registration",
    )
    corrected = record(MAN_1975, "phone", "13900139001", verified=True)
    await client.execute(RECORD, corrected, token=tax_system.token, purpose="basis:tax-registration")

    history = (await client.execute(HISTORY, {"id": MAN_1975}, token=clerk.token, purpose=visit))["applicant"][
        "profileHistory"
    ]
    assert [(h["value"], h["verified"], h["current"], h["source"]["departmentCode"]) for h in history] == [
        ("13900139001", True, True, "sw"),
        ("13900139000", True, False, "sw"),
        ("13800138000", False, False, "xzfw"),
    ]
