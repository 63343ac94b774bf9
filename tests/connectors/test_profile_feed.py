"""Departments load their registers into the shared profile from the files their systems export.

The market regulator (市场监督管理局) feeds enterprises, the public security bureau (公安局) feeds
persons; each runs `hub connector profile-feed` as its department system with a declared purpose.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from connectors.profile_feed import FeedSummary, load_profile_feed
from hub.access.auth import Role
from hub.access.context import Hub
from hub.access.principals import revoke_principal
from hub.errors import InvalidInput, Unauthenticated
from hub.profiles.applicants import FeedResult, apply_feed_record
from storage.models import AccessEntry, Applicant, Department, ProfileFieldValue
from storage.repositories.principals import upsert_department
from tests.support import Actor, make_actor

ZHANG = "11010519491231002X"
LI = "440304198506123412"
WANG = "110101199003071233"
DAZHOU = "91110000600037341L"
HUANAN = "91440300MA5F00001A"
PURPOSE = "feed:register-2026-06"


@pytest.fixture
async def police(hub: Hub) -> Actor:
    await _department(hub, "gaj", "公安局")
    return await make_actor(hub, Role.DEPARTMENT_SYSTEM, "gaj", "人口信息系统")


@pytest.fixture
async def market(hub: Hub) -> Actor:
    await _department(hub, "scjg", "市场监督管理局")
    return await make_actor(hub, Role.DEPARTMENT_SYSTEM, "scjg", "企业登记系统")


async def _department(hub: Hub, code: str, name: str) -> None:
    async with hub.sessions() as session:
        await upsert_department(session, code, name)
        await session.commit()


def jsonl(path: Path, *records: dict | str) -> Path:
    lines = [r if isinstance(r, str) else json.dumps(r, ensure_ascii=False) for r in records]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def person(id_number: str, name: str, verified: bool = True, **fields: str) -> dict:
    return {"idNumber": id_number, "name": name, "fields": fields, "verified": verified}


async def load(actor: Actor, path: Path, purpose: str | None = PURPOSE) -> tuple[FeedSummary, list[str]]:
    reports: list[str] = []
    summary = await load_profile_feed(actor.hub, path, actor.token, purpose, report=reports.append)
    return summary, reports


async def profile_rows(hub: Hub, id_number: str) -> list[tuple[str, str, str, bool, bool]]:
    """(field, value, source department, verified, current) of every value, oldest first."""
    async with hub.sessions() as session:
        rows = await session.execute(
            select(
                ProfileFieldValue.field,
                ProfileFieldValue.value,
                Department.code,
                ProfileFieldValue.verified,
                ProfileFieldValue.is_current,
            )
            .join(Applicant, Applicant.id == ProfileFieldValue.applicant_id)
            .join(Department, Department.id == ProfileFieldValue.source_department_id)
            .where(Applicant.id_number == id_number)
            .order_by(ProfileFieldValue.id)
        )
        return [tuple(row) for row in rows]


def current(rows: list[tuple[str, str, str, bool, bool]]) -> dict[str, str]:
    return {field: value for field, value, _, _, is_current in rows if is_current}


async def count(hub: Hub, model: type) -> int:
    async with hub.sessions() as session:
        return (await session.execute(select(func.count()).select_from(model))).scalar_one()


async def entries(hub: Hub) -> list[tuple[str, str, str, str]]:
    async with hub.sessions() as session:
        rows = await session.execute(
            select(AccessEntry.action, AccessEntry.outcome, AccessEntry.applicant_ref, AccessEntry.purpose).order_by(
                AccessEntry.id
            )
        )
        return [tuple(row) for row in rows]


async def test_the_market_regulator_loads_its_register_with_its_provenance(hub, market, tmp_path) -> None:
    feed = jsonl(
        tmp_path / "enterprises.jsonl",
        person(DAZHOU, "大州建设有限公司", legal_representative="李四", registered_capital="500万元人民币"),
        person(HUANAN, "华南贸易有限公司", verified=False, phone="0755-88886666"),
    )
    summary, reports = await load(market, feed)

    assert (summary.records, summary.outcomes[FeedResult.REGISTERED], reports) == (2, 2, [])
    assert str(summary) == "2 records: 2 registered, 0 updated, 0 unchanged, 0 refused"
    assert await profile_rows(hub, DAZHOU) == [
        ("name", "大州建设有限公司", "scjg", True, True),
        ("legal_representative", "李四", "scjg", True, True),
        ("registered_capital", "500万元人民币", "scjg", True, True),
    ]
    assert {(f, verified) for f, _, _, verified, _ in await profile_rows(hub, HUANAN)} == {
        ("name", False),
        ("phone", False),
    }
    assert await entries(hub) == [
        ("applicant.register", "allowed", DAZHOU, PURPOSE),
        ("applicant.register", "allowed", HUANAN, PURPOSE),
    ]


async def test_a_feed_registers_persons_and_enterprises_alike(hub, police, tmp_path) -> None:
    feed = jsonl(
        tmp_path / "mixed.jsonl", person(ZHANG, "张三", gender="女"), person(DAZHOU.lower(), "大州建设有限公司")
    )
    summary, _ = await load(police, feed)
    assert summary.outcomes[FeedResult.REGISTERED] == 2
    async with hub.sessions() as session:
        kinds = dict((await session.execute(select(Applicant.id_number, Applicant.kind))).all())
    assert kinds == {ZHANG: "person", DAZHOU: "enterprise"}


async def test_importing_the_same_feed_again_changes_nothing(hub, police, tmp_path) -> None:
    feed = jsonl(
        tmp_path / "people.jsonl",
        person(ZHANG, "张三", address="北京市西城区"),
        person(LI, "李四", phone="13800138000"),
    )
    await load(police, feed)
    values = await count(hub, ProfileFieldValue)

    summary, reports = await load(police, feed)

    assert (summary.outcomes[FeedResult.UNCHANGED], summary.all_applied, reports) == (2, True, [])
    assert await count(hub, ProfileFieldValue) == values
    # The attempt is still an access: each re-import is logged as a write of the fields it names.
    assert (await entries(hub))[-2:] == [
        ("profile.write", "allowed", ZHANG, PURPOSE),
        ("profile.write", "allowed", LI, PURPOSE),
    ]


async def test_a_changed_value_is_recorded_and_becomes_current(hub, police, tmp_path) -> None:
    await load(
        police, jsonl(tmp_path / "may.jsonl", person(ZHANG, "张三", address="北京市西城区", phone="13800138000"))
    )
    summary, _ = await load(
        police, jsonl(tmp_path / "june.jsonl", person(ZHANG, "张三", address="北京市海淀区", phone="13800138000"))
    )

    assert summary.outcomes[FeedResult.UPDATED] == 1
    rows = await profile_rows(hub, ZHANG)
    assert current(rows)["address"] == "北京市海淀区"
    assert [(v, is_current) for f, v, _, _, is_current in rows if f == "address"] == [
        ("北京市西城区", False),
        ("北京市海淀区", True),
    ]


async def test_a_use_case_outcome_names_the_fields_it_recorded(hub, police) -> None:
    ctx = await police.context(PURPOSE)
    first = await apply_feed_record(ctx, ZHANG, "张三", {"phone": "13800138000"}, verified=True)
    again = await apply_feed_record(ctx, ZHANG, " 张三 ", {"phone": "13800138000 "}, verified=True)
    changed = await apply_feed_record(ctx, ZHANG, "张三", {"phone": "13900139000", "gender": "女"}, verified=True)
    await ctx.close()
    assert (first.result, first.fields) == (FeedResult.REGISTERED, ("name", "phone"))
    assert (again.result, again.fields) == (FeedResult.UNCHANGED, ())
    assert (changed.result, changed.fields) == (FeedResult.UPDATED, ("gender", "phone"))


async def test_an_unverified_feed_value_does_not_displace_a_value_another_department_verified(
    hub, police, tax_system, tmp_path
) -> None:
    await load(police, jsonl(tmp_path / "police.jsonl", person(ZHANG, "张三", address="北京市西城区")))
    tax_feed = jsonl(tmp_path / "tax.jsonl", person(ZHANG, "张三", verified=False, address="北京市朝阳区"))

    summary, _ = await load(tax_system, tax_feed)
    again, _ = await load(tax_system, tax_feed)

    assert summary.outcomes[FeedResult.UPDATED] == 1 and again.outcomes[FeedResult.UNCHANGED] == 1
    rows = await profile_rows(hub, ZHANG)
    assert current(rows) == {"name": "张三", "address": "北京市西城区"}
    assert ("address", "北京市朝阳区", "sw", False, False) in rows
    # The tax bureau's name is recorded as a second source (it is not told that the police hold
    # the same), once however often it is fed; it does not displace the verified one.
    assert ("name", "张三", "sw", False, False) in rows
    assert len(rows) == 4


async def test_verifying_a_value_another_department_supplied_is_news(hub, police, tax_system, tmp_path) -> None:
    await load(tax_system, jsonl(tmp_path / "tax.jsonl", person(ZHANG, "张三", verified=False, address="北京市西城区")))
    summary, _ = await load(police, jsonl(tmp_path / "police.jsonl", person(ZHANG, "张三", address="北京市西城区")))
    assert summary.outcomes[FeedResult.UPDATED] == 1
    assert [
        (dept, verified, is_current)
        for f, _, dept, verified, is_current in await profile_rows(hub, ZHANG)
        if f == "address"
    ] == [
        ("sw", False, False),
        ("gaj", True, True),
    ]


async def test_bad_records_are_refused_with_their_codes_while_good_ones_land(hub, police, tmp_path) -> None:
    await load(police, jsonl(tmp_path / "before.jsonl", person(WANG, "王五", phone="13700137000")))
    feed = jsonl(
        tmp_path / "mixed.jsonl",
        person(ZHANG, "张三", address="北京市西城区"),
        person("110105194912310021", "赵六", address="北京市东城区"),  # check digit wrong
        person(WANG, "王五", phone="13600136000", legal_representative="王五"),  # not a person's field
        person(LI, "  ", phone="13500135000"),
        "{not json",
        person(DAZHOU, "大州建设有限公司", verified="yes"),
        person(HUANAN, "华南贸易有限公司"),
    )

    summary, reports = await load(police, feed)

    assert [line.split()[:3] for line in reports] == [
        ["line", "2:", "INVALID_RESIDENT_ID"],
        ["line", "3:", "BAD_USER_INPUT"],
        ["line", "4:", "BAD_USER_INPUT"],
        ["line", "5:", "BAD_USER_INPUT:"],
        ["line", "6:", "BAD_USER_INPUT"],
    ]
    assert (
        str(summary)
        == "7 records: 2 registered, 0 updated, 0 unchanged, 5 refused (BAD_USER_INPUT 4, INVALID_RESIDENT_ID 1)"
    )
    assert reports[0].startswith("line 2: INVALID_RESIDENT_ID 110105**********21: ")
    assert not any(secret in "\n".join(reports) for secret in ("13600136000", "北京市东城区", WANG, LI, "赵六"))
    async with hub.sessions() as session:
        registered = set((await session.execute(select(Applicant.id_number))).scalars())
    assert registered == {WANG, ZHANG, HUANAN}
    assert current(await profile_rows(hub, WANG)) == {"name": "王五", "phone": "13700137000"}  # nothing half-written


async def test_without_a_purpose_every_record_is_refused_and_logged_as_denied(hub, police, tmp_path) -> None:
    feed = jsonl(tmp_path / "people.jsonl", person(ZHANG, "张三"), person(LI, "李四"))

    summary, reports = await load(police, feed, purpose=None)

    assert str(summary) == "2 records: 0 registered, 0 updated, 0 unchanged, 2 refused (FORBIDDEN 2)"
    assert all("FORBIDDEN" in line and "purpose" in line for line in reports)
    assert await count(hub, Applicant) == 0
    assert await entries(hub) == [
        ("applicant.register", "denied", ZHANG, ""),
        ("applicant.register", "denied", LI, ""),
    ]


async def test_a_revoked_or_unknown_token_writes_nothing_but_its_refusal(hub, police, tmp_path) -> None:
    feed = jsonl(tmp_path / "people.jsonl", person(ZHANG, "张三"))
    with pytest.raises(Unauthenticated):
        await load(Actor(hub, "hub_" + "x" * 43, Role.DEPARTMENT_SYSTEM, "gaj"), feed)
    assert await entries(hub) == [("auth.token_refused", "refused", "", "")]

    ctx = await police.context()
    await ctx.close()
    async with hub.sessions() as session:
        await revoke_principal(session, ctx.caller.principal_id)
        await session.commit()
    with pytest.raises(Unauthenticated):
        await load(police, feed)

    assert await count(hub, Applicant) == 0 and await count(hub, ProfileFieldValue) == 0
    assert await entries(hub) == [("auth.token_refused", "refused", "", "")] * 2


CSV_FEED = """idNumber,name,verified,phone,address,legal_representative
{zhang},张三,true,13800138000,北京市西城区,
{dazhou},大州建设有限公司,false,,,李四
"""


async def test_the_command_loads_a_csv_feed_with_the_token_from_the_environment(
    hub, police, hub_command, monkeypatch, tmp_path
) -> None:
    feed = tmp_path / "register.csv"
    feed.write_text(CSV_FEED.format(zhang=ZHANG, dazhou=DAZHOU), encoding="utf-8-sig")
    monkeypatch.setenv("HUB_CONNECTOR_TOKEN", police.token)

    status, out, err = await hub_command("connector", "profile-feed", str(feed), "--purpose", PURPOSE)

    assert (status, out.strip(), err) == (0, "2 records: 2 registered, 0 updated, 0 unchanged, 0 refused", "")
    assert current(await profile_rows(hub, ZHANG)) == {
        "name": "张三",
        "phone": "13800138000",
        "address": "北京市西城区",
    }
    assert [(f, verified) for f, _, _, verified, _ in await profile_rows(hub, DAZHOU)] == [
        ("name", False),
        ("legal_representative", False),
    ]
    status, out, _ = await hub_command("connector", "profile-feed", str(feed), "--purpose", PURPOSE)
    assert (status, out.strip()) == (0, "2 records: 0 registered, 0 updated, 2 unchanged, 0 refused")


async def test_the_command_reports_refusals_by_line_and_exits_1(hub, police, hub_command, tmp_path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(police.token + "\n")
    feed = jsonl(tmp_path / "people.jsonl", person(ZHANG, "张三"), person("110105194912310021", "赵六"))

    status, out, err = await hub_command(
        "connector", "profile-feed", str(feed), "--purpose", PURPOSE, "--token-file", str(token_file)
    )

    assert status == 1
    assert out.strip() == "2 records: 1 registered, 0 updated, 0 unchanged, 1 refused (INVALID_RESIDENT_ID 1)"
    assert err.startswith("line 2: INVALID_RESIDENT_ID 110105**********21: ")
    assert police.token not in out + err


async def test_the_command_refuses_bad_tokens_and_files_with_exit_2(
    hub, police, hub_command, monkeypatch, tmp_path
) -> None:
    feed = jsonl(tmp_path / "people.jsonl", person(ZHANG, "张三"))
    wrong = "hub_" + "y" * 43
    monkeypatch.setenv("HUB_CONNECTOR_TOKEN", wrong)
    status, out, err = await hub_command("connector", "profile-feed", str(feed), "--purpose", PURPOSE)
    assert (status, out) == (2, "") and "[UNAUTHENTICATED]" in err and wrong not in err

    monkeypatch.delenv("HUB_CONNECTOR_TOKEN")
    status, _, err = await hub_command("connector", "profile-feed", str(feed), "--purpose", PURPOSE)
    assert status == 2 and "HUB_CONNECTOR_TOKEN" in err

    monkeypatch.setenv("HUB_CONNECTOR_TOKEN", police.token)
    status, _, err = await hub_command("connector", "profile-feed", str(tmp_path / "people.xlsx"), "--purpose", PURPOSE)
    assert status == 2 and "[BAD_USER_INPUT]" in err and police.token not in err
    assert await count(hub, Applicant) == 0


async def test_a_csv_without_the_identity_columns_is_refused_before_any_record(hub, police, tmp_path) -> None:
    feed = tmp_path / "register.csv"
    feed.write_text(f"idNumber,phone\n{ZHANG},13800138000\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="header"):
        await load(police, feed)
    assert await count(hub, Applicant) == 0


def test_hub_never_imports_connectors() -> None:
    hub_package = Path(__file__).resolve().parents[2] / "hub"
    importers = []
    for source in hub_package.rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(name == "connectors" or name.startswith("connectors.") for name in names):
                importers.append(source.name)
    assert importers == []
