"""Three-level halls (Jingmen 三级平台): a township window's case decided at the county, collected at a
village station (就近办); levels that may not accept an item; clerks of another centre refused; figures
per centre rolled up the tree."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from hub.access.actions import Action
from hub.access.auth import Role
from hub.access.guard import guard
from hub.access.principals import create_principal
from hub.demo.cases import load_demo_cases
from hub.demo.load import load_demo
from hub.errors import Forbidden
from storage.models import AccessEntry, Case, Centre
from tests.support import Actor, make_actor
from tests.support.case_stories import ACCEPT, OPINION, at, hand_in, load, register, resident_id

CENTRES = """
centres:
  - code: jingmen
    name: 荆门市政务服务中心
    level: city
    departments: [zrzy]
    children:
      - code: dongbao
        name: 东宝区政务服务中心
        level: county
        departments: [zrzy-db]
        children:
          - code: longquan
            name: 龙泉街道便民服务中心
            level: township
            children:
              - {code: xiangshan, name: 象山社区便民服务站, level: village}
          - {code: quankou, name: 泉口街道便民服务中心, level: township}
"""

CATALOG = """
departments:
  - {code: zrzy, name: 荆门市自然资源和规划局}
  - {code: zrzy-db, name: 东宝区自然资源和规划局, branch_of: zrzy}
material_types:
  - {code: sqb, name: 申请表}
service_items:
  - code: zrzy-xcgh
    name: 乡村建设规划许可
    lead_department: zrzy
    statutory_days: 20
    promised_days: 10
    accept_levels: [county, township, village]
    decide_level: county
    materials: [{type: sqb}]
  - code: zrzy-tdcr
    name: 国有建设用地使用权出让
    lead_department: zrzy
    statutory_days: 20
    promised_days: 15
    accept_levels: [city]
    decide_level: city
  - code: zrzy-zjd
    name: 农村宅基地审批
    lead_department: zrzy
    statutory_days: 20
    promised_days: 10
    accept_levels: [township, village]
    decide_level: township
"""

APPLICANT = resident_id("11010119800101123")
FIELDS = """receiptNumber status centre { code level } collectAt { code } resultsCollectedAt
  resultsCollectedCentre { code } items { promisedDeadline { dueOn pausedWorkingDays } }
  reviews { department { code } centre { code level } routedFrom { code } state }"""
OPEN_AT = "mutation($i: OpenCaseInput!) { openCase(input: $i) { %s } }" % FIELDS
CHOOSE = "mutation($r: String!, $c: String) { chooseCollectAt(receiptNumber: $r, centre: $c) { %s } }" % FIELDS
READ = "query($r: String!) { case(receiptNumber: $r) { %s } }" % FIELDS
COMPLETE = "mutation($r: String!) { completeCase(receiptNumber: $r) { %s } }" % FIELDS
COLLECT = "mutation($r: String!) { collectCaseResults(receiptNumber: $r) { %s } }" % FIELDS
FIGURES = """query($m: String) { centreFigures(month: $m) { centre { code level parentCode }
  own { received accepted completed onTime } withBelow { received accepted completed onTime } } }"""
CENTRE_LIST = "{ centres { code name level parentCode } }"
PAUSE = "mutation($i: StartPauseInput!) { startPause(input: $i) { %s } }" % FIELDS
END_PAUSE = "mutation($r: String!) { endPause(receiptNumber: $r) { %s } }" % FIELDS


async def clerk_at(hub, department: str, centre: str, name: str) -> Actor:
    async with hub.sessions() as session:
        issued = await create_principal(session, name, Role.CLERK, department, centre_code=centre)
        await session.commit()
    return Actor(hub, issued.token, Role.CLERK, department)


async def three_levels(hub, hub_command, tmp_path) -> None:
    await load(hub, CATALOG)
    tree = tmp_path / "centres.yaml"
    tree.write_text(CENTRES, encoding="utf-8")
    assert await hub_command("centre", "load", str(tree)) == (0, "service centres: 5 added, 0 updated\n", "")


async def _log(hub, action: str) -> list[tuple[str, str, str]]:
    async with hub.sessions() as session:
        rows = await session.execute(
            select(AccessEntry.department_code, AccessEntry.outcome, AccessEntry.reason)
            .where(AccessEntry.action == action)
            .order_by(AccessEntry.id)
        )
        return [tuple(row) for row in rows]


async def test_the_tree_loads_idempotently_and_refuses_a_level_out_of_place(hub, client, hub_command, tmp_path):
    await three_levels(hub, hub_command, tmp_path)
    assert await hub_command("centre", "load", str(tmp_path / "centres.yaml")) == (
        0,
        "service centres: 0 added, 0 updated\n",
        "",
    )
    clerk = await clerk_at(hub, "xzfw", "longquan", "龙泉窗口")
    centres = (await client.execute(CENTRE_LIST, token=clerk.token))["centres"]
    assert [(c["code"], c["level"], c["parentCode"]) for c in centres] == [
        ("jingmen", "CITY", None),
        ("dongbao", "COUNTY", "jingmen"),
        ("longquan", "TOWNSHIP", "dongbao"),
        ("quankou", "TOWNSHIP", "dongbao"),
        ("xiangshan", "VILLAGE", "longquan"),
    ]

    status, _, err = await hub_command(
        "centre", "add", "--code", "ziling", "--name", "子陵铺镇", "--level", "county", "--parent", "longquan"
    )
    assert status == 2 and "INVALID_CENTRES" in err and "cannot sit under a township" in err
    bad = tmp_path / "bad.yaml"
    bad.write_text("centres:\n  - {code: x, name: 某镇, level: township}\n", encoding="utf-8")
    status, _, err = await hub_command("centre", "load", str(bad))
    assert status == 2 and "INVALID_CENTRES" in err
    assert await hub_command(
        "centre",
        "add",
        "--code",
        "ziling",
        "--name",
        "子陵铺镇便民服务中心",
        "--level",
        "township",
        "--parent",
        "dongbao",
    ) == (0, "centre ziling (township) added\n", "")

    # Once centres exist, a clerk's window is at one of them; nobody else's is.
    status, _, err = await hub_command(
        "principal", "create", "--name", "无中心", "--role", "clerk", "--department", "xzfw"
    )
    assert status == 2 and "--centre" in err
    status, out, _ = await hub_command(
        "principal", "create", "--name", "子陵窗口", "--role", "clerk", "--department", "xzfw", "--centre", "ziling"
    )
    assert status == 0 and "created" in out
    status, _, err = await hub_command(
        "principal",
        "create",
        "--name",
        "税务",
        "--role",
        "department_system",
        "--department",
        "sw",
        "--centre",
        "ziling",
    )
    assert status == 2 and "BAD_USER_INPUT" in err


async def test_an_item_is_opened_only_at_a_level_that_accepts_it(hub, client, hub_command, tmp_path) -> None:
    await three_levels(hub, hub_command, tmp_path)
    at(hub, date(2026, 11, 2))
    village = await clerk_at(hub, "xzfw", "xiangshan", "象山社区代办员")
    await register(client, village, APPLICANT, "张三")
    opening = {"i": {"idNumber": APPLICANT, "items": ["zrzy-tdcr"], "window": "代办窗口"}}
    error = await client.error(OPEN_AT, opening, token=village.token)
    assert error["extensions"]["code"] == "NOT_ACCEPTED_AT_THIS_LEVEL"
    assert error["extensions"]["codes"] == ["zrzy-tdcr"] and error["extensions"]["level"] == "village"
    assert await _log(hub, "case.open") == [("xzfw", "refused", "NOT_ACCEPTED_AT_THIS_LEVEL")]

    city = await clerk_at(hub, "xzfw", "jingmen", "市中心窗口")
    opened = (await client.execute(OPEN_AT, opening, token=city.token))["openCase"]
    assert opened["centre"] == {"code": "jingmen", "level": "CITY"}
    unknown = {"i": {**opening["i"], "collectAt": "nowhere"}}
    assert await client.error_code(OPEN_AT, unknown, token=city.token) == "NOT_FOUND"

    # Decided at the township, where no department of its line sits: refused at acceptance, not routed elsewhere.
    homestead = {"i": {"idNumber": APPLICANT, "items": ["zrzy-zjd"], "window": "代办窗口"}}
    receipt = (await client.execute(OPEN_AT, homestead, token=village.token))["openCase"]["receiptNumber"]
    error = await client.error(ACCEPT, {"r": receipt}, token=village.token)
    assert error["extensions"]["code"] == "NO_DECIDING_DEPARTMENT"
    assert (error["extensions"]["centre"], error["extensions"]["department"]) == ("longquan", "zrzy")


async def test_a_township_windows_case_is_decided_at_the_county_and_collected_at_a_village(
    hub, client, hub_command, tmp_path
) -> None:
    await three_levels(hub, hub_command, tmp_path)
    at(hub, date(2026, 11, 2))
    township = await clerk_at(hub, "xzfw", "longquan", "龙泉街道综合窗口")
    county = await clerk_at(hub, "zrzy-db", "dongbao", "东宝区自然资源窗口")
    village = await clerk_at(hub, "xzfw", "xiangshan", "象山社区代办员")
    other_township = await clerk_at(hub, "xzfw", "quankou", "泉口街道综合窗口")
    city_system = await make_actor(hub, Role.DEPARTMENT_SYSTEM, "zrzy", "市自然资源业务系统")
    await register(client, township, APPLICANT, "张三")

    opened = (
        await client.execute(
            OPEN_AT,
            {"i": {"idNumber": APPLICANT, "items": ["zrzy-xcgh"], "window": "综合窗口 1"}},
            token=township.token,
        )
    )["openCase"]
    receipt = opened["receiptNumber"]
    assert opened["centre"] == {"code": "longquan", "level": "TOWNSHIP"} and opened["collectAt"] is None

    # 就近办: the applicant will collect at the village station; only the receiving window records it.
    assert await client.error_code(CHOOSE, {"r": receipt, "c": "xiangshan"}, token=other_township.token) == (
        "FORBIDDEN"
    )
    chosen = (await client.execute(CHOOSE, {"r": receipt, "c": "xiangshan"}, token=township.token))["chooseCollectAt"]
    assert chosen["collectAt"] == {"code": "xiangshan"}

    await hand_in(client, township, receipt, "sqb", "申请表")
    accepted = (await client.execute(ACCEPT, {"r": receipt}, token=township.token))["acceptCase"]
    assert accepted["status"] == "ACCEPTED"
    reviews = (await client.execute(READ, {"r": receipt}, token=township.token))["case"]["reviews"]
    assert reviews == [
        {
            "department": {"code": "zrzy-db"},
            "centre": {"code": "dongbao", "level": "COUNTY"},
            "routedFrom": {"code": "zrzy"},
            "state": "PENDING",
        }
    ]

    # The city department does not decide what the county decides; the county's window does.
    approve = {"i": {"receiptNumber": receipt, "opinion": {"decision": "APPROVE"}}}
    refused = await client.error(OPINION, approve, token=city_system.token, purpose=f"case:{receipt}")
    assert refused["extensions"]["code"] == "DEPARTMENT_NOT_IN_CASE"
    # The county's expert review stops the item's clock, as its own department's would.
    at(hub, date(2026, 11, 3))
    expert = {"i": {"receiptNumber": receipt, "reason": "EXPERT_REVIEW", "note": "专家评审约两个工作日"}}
    due = accepted["items"][0]["promisedDeadline"]["dueOn"]
    await client.execute(PAUSE, expert, token=county.token)
    at(hub, date(2026, 11, 5))
    resumed = (await client.execute(END_PAUSE, {"r": receipt}, token=county.token))["endPause"]
    assert resumed["items"][0]["promisedDeadline"]["pausedWorkingDays"] == 2
    assert resumed["items"][0]["promisedDeadline"]["dueOn"] > due
    await client.execute(OPINION, approve, token=county.token)

    # Another township's clerk of the same department sees nothing of it, and is logged.
    error = await client.error(READ, {"r": receipt}, token=other_township.token)
    assert (error["extensions"]["code"], error["extensions"]["missing"]) == ("FORBIDDEN", "centre")
    assert ("xzfw", "denied") in [(department, outcome) for department, outcome, _ in await _log(hub, "case.read")]
    assert await client.error_code(COMPLETE, {"r": receipt}, token=other_township.token) == "FORBIDDEN"

    completed = (await client.execute(COMPLETE, {"r": receipt}, token=township.token))["completeCase"]
    assert completed["status"] == "COMPLETED" and completed["reviews"][0]["state"] == "APPROVED"

    # Collected where the applicant chose, not at the window that received it.
    assert await client.error_code(COLLECT, {"r": receipt}, token=township.token) == "CASE_OF_ANOTHER_WINDOW"
    collected = (await client.execute(COLLECT, {"r": receipt}, token=village.token))["collectCaseResults"]
    assert collected["resultsCollectedCentre"] == {"code": "xiangshan"}
    assert collected["resultsCollectedAt"].startswith("2026-11-05")
    assert await client.error_code(CHOOSE, {"r": receipt, "c": "dongbao"}, token=township.token) == (
        "CASE_STATE_CONFLICT"
    )

    # Figures per centre, for the supervision office: the township's, rolled up to the county and city.
    auditor = await make_actor(hub, Role.AUDITOR, "jcj", "李监察")
    figures = {
        f["centre"]["code"]: (f["own"], f["withBelow"])
        for f in (await client.execute(FIGURES, {"m": "2026-11"}, token=auditor.token))["centreFigures"]
    }
    one = {"received": 1, "accepted": 1, "completed": 1, "onTime": 1}
    none = {"received": 0, "accepted": 0, "completed": 0, "onTime": 0}
    assert figures["longquan"] == (one, one)
    assert figures["dongbao"] == (none, one) and figures["jingmen"] == (none, one)
    assert figures["quankou"] == (none, none) and figures["xiangshan"] == (none, none)
    october = (await client.execute(FIGURES, {"m": "2026-10"}, token=auditor.token))["centreFigures"]
    assert all(f["withBelow"] == none for f in october)
    assert await client.error_code(FIGURES, {}, token=township.token) == "FORBIDDEN"
    status, out, _ = await hub_command("centre", "figures", "--month", "2026-11")
    assert status == 0 and "longquan" in out and "(1/1/1/1)" in out.splitlines()[1]


# Which case actions each clerk may take on a case received at 龙泉街道 (longquan), collected at 象山社区
# (xiangshan) and routed to 东宝区自然资源 (zrzy-db), as the policy decides them (written out apart from it).
CASE_ACTIONS = [a for a in Action if a.value.startswith("case.") and a.value not in ("case.abandon", "case.search")]
EVERY_CASE_ACTION = {a.value for a in CASE_ACTIONS}
CENTRE_MATRIX = {
    ("xzfw", "longquan"): EVERY_CASE_ACTION,  # the receiving window
    ("zrzy-db", "dongbao"): EVERY_CASE_ACTION,  # the department it is routed to
    ("xzfw", "xiangshan"): {"case.read", "case.collect"},  # the station where the results are collected
    ("xzfw", "quankou"): set(),  # another township's window
    ("xzfw", "dongbao"): set(),  # the county centre's own window
    ("zrzy", "jingmen"): set(),  # the city department whose part was routed to the county
}


async def test_a_clerk_acts_on_a_case_of_its_centre_or_routed_to_its_department_only(
    hub, client, hub_command, tmp_path
) -> None:
    await three_levels(hub, hub_command, tmp_path)
    at(hub, date(2026, 11, 2))
    township = await clerk_at(hub, "xzfw", "longquan", "龙泉街道综合窗口")
    await register(client, township, APPLICANT, "张三")
    opening = {"i": {"idNumber": APPLICANT, "items": ["zrzy-xcgh"], "window": "综合窗口 1", "collectAt": "xiangshan"}}
    receipt = (await client.execute(OPEN_AT, opening, token=township.token))["openCase"]["receiptNumber"]
    await hand_in(client, township, receipt, "sqb", "申请表")
    await client.execute(ACCEPT, {"r": receipt}, token=township.token)

    for (department, centre), expected in CENTRE_MATRIX.items():
        actor = await clerk_at(hub, department, centre, f"{centre} {department}")
        ctx = await actor.context()
        allowed = set()
        try:
            for action in CASE_ACTIONS:
                try:
                    await guard(ctx, action, [APPLICANT], object_ref=f"case:{receipt}")
                    allowed.add(action.value)
                except Forbidden as refusal:
                    assert refusal.details["missing"] == "centre"
            await ctx.commit()
        finally:
            await ctx.close()
        assert allowed == expected, (department, centre)
    async with hub.sessions() as session:
        rows = await session.execute(
            select(AccessEntry.department_code, AccessEntry.outcome)
            .where(AccessEntry.object_ref == f"case:{receipt}", AccessEntry.action == "case.withdraw")
            .order_by(AccessEntry.id)
        )
        # Every refusal is in the log.
        assert [tuple(row) for row in rows] == [
            ("xzfw", "allowed"),
            ("zrzy-db", "allowed"),
            ("xzfw", "denied"),
            ("xzfw", "denied"),
            ("xzfw", "denied"),
            ("zrzy", "denied"),
        ]


async def test_the_demo_has_three_levels_and_a_township_case_decided_at_the_county(hub, client) -> None:
    async with hub.sessions() as session:
        await load_demo(session, applicants=4, seed=5, if_empty=False)
        await session.commit()
    await load_demo_cases(hub, applicants=2, seed=5)
    auditor = await make_actor(hub, Role.AUDITOR, "jcj", "李监察")
    levels = {c["code"]: c["level"] for c in (await client.execute(CENTRE_LIST, token=auditor.token))["centres"]}
    assert {levels["jingmen"], levels["dongbao"], levels["longquan"], levels["xiangshan"]} == {
        "CITY",
        "COUNTY",
        "TOWNSHIP",
        "VILLAGE",
    }
    async with hub.sessions() as session:
        [receipt] = await session.scalars(
            select(Case.receipt_number).join(Centre, Centre.id == Case.centre_id).where(Centre.code == "longquan")
        )
    township = await clerk_at(hub, "lq-bmfw", "longquan", "龙泉街道窗口")
    case = (await client.execute(READ, {"r": receipt}, token=township.token))["case"]
    assert case["centre"] == {"code": "longquan", "level": "TOWNSHIP"} and case["collectAt"] == {"code": "xiangshan"}
    reviews = [
        (r["department"]["code"], r["centre"]["code"], r["routedFrom"]["code"], r["state"]) for r in case["reviews"]
    ]
    assert reviews == [("rsj-db", "dongbao", "rsj", "APPROVED")]
