"""Timing supervision: GREEN, YELLOW, RED for cases and reviews; one warning per change of state,
addressed to the department and the office; the office's list of cases by state; and the story of
a department late on three cases in a month that gets a yellow card and falls in the ranking."""

from __future__ import annotations

from datetime import date

from hub.access.auth import Role
from storage.models.cases import Decision
from tests.support import make_actor
from tests.support.case_stories import at
from tests.support.supervision import (
    SUPERVISION,
    accepted_case,
    applicant,
    by_department,
    decide,
    evaluate_on,
    load_timing_catalog,
)

WARNINGS = """query($d: String) { timingWarnings(department: $d) {
  receiptNumber department { code } state previousState addressedTo } }"""
LIST = """query($f: SupervisedCaseFilter) { supervisedCases(filter: $f) {
  receiptNumber timingState itemCodes reviews { department { code } timingState deadline { dueOn } } } }"""
PERFORMANCE = """query($m: String!) { departmentPerformance(month: $m) {
  department { code } handled onTime onTimeRate averageWorkingDays averagePromisedDays averageStatutoryDays
  compressionRatio deemedApprovals yellowWarnings redCases card } }"""
RANKING = """query($m: String!) { departmentRanking(month: $m) { rank performance { department { code } card } } }"""


async def test_a_case_turns_yellow_then_red_with_one_warning_per_change(hub, client, clerk, auditor) -> None:
    await load_timing_catalog(hub)
    planning = await make_actor(hub, Role.DEPARTMENT_SYSTEM, "zrzy")
    person = await applicant(clerk, "11010119800101123", "张三")
    # Accepted Monday 2 November 2026; 6 promised working days: due Tuesday 10 November.
    receipt = await accepted_case(hub, clerk, person, ["zjj-sgxk"], date(2026, 11, 2))

    run = await evaluate_on(hub, date(2026, 11, 3))
    assert (run.timing.cases, run.timing.reviews, run.timing.warnings) == (1, 2, 0)
    # 9 November: one working day left, under a third of six: YELLOW, for the case and both reviews.
    assert (await evaluate_on(hub, date(2026, 11, 9))).timing.warnings == 3
    assert (await evaluate_on(hub, date(2026, 11, 9))).timing.warnings == 0  # once per change
    assert (await evaluate_on(hub, date(2026, 11, 10))).timing.warnings == 0  # still YELLOW on the day
    await decide(hub, planning, receipt, date(2026, 11, 10))
    # 11 November: overdue. Planning has settled and is no longer judged; housing and the case go RED.
    assert (await evaluate_on(hub, date(2026, 11, 11))).timing.warnings == 2

    warnings = (await client.execute(WARNINGS, token=auditor.token))["timingWarnings"]
    assert [(w["department"] and w["department"]["code"], w["previousState"], w["state"]) for w in warnings] == [
        ("zjj", "YELLOW", "RED"),
        (None, "YELLOW", "RED"),
        ("zjj", "GREEN", "YELLOW"),
        ("zrzy", "GREEN", "YELLOW"),
        (None, "GREEN", "YELLOW"),
    ]
    assert all(w["receiptNumber"] == receipt for w in warnings)
    # Addressed to the department (the receiving centre for the case as a whole) and to the office.
    assert warnings[0]["addressedTo"] == ["zjj", "jcj"] and warnings[1]["addressedTo"] == ["xzfw", "jcj"]
    # A department sees the warnings addressed to it.
    housing = (await client.execute(WARNINGS, {"d": "zrzy"}, token=auditor.token))["timingWarnings"]
    assert [w["state"] for w in housing] == ["YELLOW"]


async def test_an_item_threshold_from_the_rules_file(hub, client, clerk, auditor, hub_command, tmp_path) -> None:
    await load_timing_catalog(hub)
    person = await applicant(clerk, "11010119800101123", "张三")
    await accepted_case(hub, clerk, person, ["zjj-sgxk"], date(2026, 11, 2))
    rules = tmp_path / "rules.yaml"
    rules.write_text("rules:\n  timing.yellow:\n    items: {zjj-sgxk: 4}\n", encoding="utf-8")
    status, out, _ = await hub_command("supervise", "rules", "load", str(rules))
    assert status == 0 and "timing.yellow" in out
    # 5 November: three working days left (6, 9, 10 November), under the item's own four.
    assert (await evaluate_on(hub, date(2026, 11, 4))).timing.warnings == 0
    assert (await evaluate_on(hub, date(2026, 11, 5))).timing.warnings == 3

    rules.write_text("rules:\n  timing.yellow:\n    nonsense: 1\n", encoding="utf-8")
    status, _, err = await hub_command("supervise", "rules", "load", str(rules))
    assert status == 2 and "no parameter nonsense" in err


async def test_the_office_lists_cases_by_state_department_window_item_and_dates(hub, client, clerk, auditor) -> None:
    await load_timing_catalog(hub)
    person = await applicant(clerk, "11010119800101123", "张三")
    building = await accepted_case(hub, clerk, person, ["zjj-sgxk"], date(2026, 11, 2))
    tax = await accepted_case(hub, clerk, person, ["sw-ns"], date(2026, 11, 5))
    at(hub, date(2026, 11, 9))

    async def listed(**where) -> list[str]:
        cases = (await client.execute(LIST, {"f": where}, token=auditor.token, purpose=SUPERVISION))["supervisedCases"]
        return [c["receiptNumber"] for c in cases]

    # 9 November: the building permit is YELLOW (1 day left), the tax return GREEN (2 of 3 left).
    assert await listed() == [building, tax]
    assert await listed(state="YELLOW") == [building]
    assert await listed(state="GREEN") == [tax]
    assert await listed(department="zrzy") == [building]
    assert await listed(item="sw-ns") == [tax]
    assert await listed(windowDepartment="xzfw", window="综合窗口 1") == [building, tax]
    assert await listed(window="综合窗口 9") == []
    assert await listed(acceptedFrom="2026-11-03", acceptedTo="2026-11-30") == [tax]
    assert await client.error_code(LIST, {"f": {}}, token=auditor.token) == "FORBIDDEN"  # no purpose


async def test_a_department_late_on_three_cases_gets_a_yellow_card_and_falls_in_the_ranking(
    hub, client, clerk, auditor
) -> None:
    await load_timing_catalog(hub)
    housing = await make_actor(hub, Role.DEPARTMENT_SYSTEM, "zjj")
    planning = await make_actor(hub, Role.DEPARTMENT_SYSTEM, "zrzy")
    tax = await make_actor(hub, Role.DEPARTMENT_SYSTEM, "sw")
    people = [await applicant(clerk, f"1101011980010{n}123", f"申请人{n}") for n in range(1, 5)]
    # Three building permits accepted on 2 November, due 10 November.
    permits = [await accepted_case(hub, clerk, p, ["zjj-sgxk"], date(2026, 11, 2)) for p in people[:3]]
    # Two tax returns on 2 November, due 5 November: one answered in two days, one left silent (超时默许).
    answered = await accepted_case(hub, clerk, people[3], ["sw-ns"], date(2026, 11, 2))
    await accepted_case(hub, clerk, people[0], ["sw-ns"], date(2026, 11, 2))
    await decide(hub, tax, answered, date(2026, 11, 4))
    for receipt in permits:
        await decide(hub, planning, receipt, date(2026, 11, 6))
    await evaluate_on(hub, date(2026, 11, 9))
    await evaluate_on(hub, date(2026, 11, 11))  # housing is late on all three: RED
    for receipt in permits:
        await decide(hub, housing, receipt, date(2026, 11, 12))
    await evaluate_on(hub, date(2026, 12, 1))

    months = by_department(
        (await client.execute(PERFORMANCE, {"m": "2026-11"}, token=auditor.token))["departmentPerformance"]
    )
    assert set(months) == {"sw", "zjj", "zrzy"}
    assert months["zjj"] | {"department": None} == {
        "department": None,
        "handled": 3,
        "onTime": 0,
        "onTimeRate": 0.0,
        "averageWorkingDays": 8.0,  # 2 to 12 November
        "averagePromisedDays": 6.0,
        "averageStatutoryDays": 15.0,
        "compressionRatio": 1 - 8 / 15,
        "deemedApprovals": 0,
        "yellowWarnings": 3,
        "redCases": 3,
        "card": "yellow",
    }
    assert (months["zrzy"]["handled"], months["zrzy"]["onTimeRate"], months["zrzy"]["card"]) == (3, 1.0, None)
    assert months["zrzy"]["compressionRatio"] == 1 - 4 / 15
    # Tax: one answer in 2 working days, one silent approval on its due day (3 days), late by definition.
    assert months["sw"] | {"department": None} == {
        "department": None,
        "handled": 2,
        "onTime": 1,
        "onTimeRate": 0.5,
        "averageWorkingDays": 2.5,
        "averagePromisedDays": 3.0,
        "averageStatutoryDays": 15.0,
        "compressionRatio": 1 - 2.5 / 15,
        "deemedApprovals": 1,
        "yellowWarnings": 0,
        "redCases": 0,
        "card": None,
    }

    ranking = (await client.execute(RANKING, {"m": "2026-11"}, token=auditor.token))["departmentRanking"]
    assert [(r["rank"], r["performance"]["department"]["code"], r["performance"]["card"]) for r in ranking] == [
        (1, "zrzy", None),
        (2, "sw", None),
        (3, "zjj", "yellow"),
    ]
    # The month before has nothing; a malformed month is refused.
    assert (await client.execute(RANKING, {"m": "2026-10"}, token=auditor.token))["departmentRanking"] == []
    assert await client.error_code(RANKING, {"m": "November"}, token=auditor.token) == "BAD_USER_INPUT"


async def test_a_rejection_settles_a_review_and_the_report_is_written(hub, clerk, hub_command, tmp_path) -> None:
    await load_timing_catalog(hub)
    tax = await make_actor(hub, Role.DEPARTMENT_SYSTEM, "sw")
    person = await applicant(clerk, "11010119800101123", "张三")
    receipt = await accepted_case(hub, clerk, person, ["sw-ns"], date(2026, 11, 2))
    await decide(hub, tax, receipt, date(2026, 11, 3), Decision.REJECT)
    at(hub, date(2026, 12, 1))
    status, out, _ = await hub_command("supervise", "report", "--month", "2026-11", "--output", str(tmp_path))
    assert status == 0 and "1 departments" in out
    csv = (tmp_path / "supervision-2026-11.csv").read_text(encoding="utf-8").splitlines()
    assert csv[0].startswith("rank,department,name,handled,on_time,on_time_rate")
    assert csv[1].startswith("1,sw,税务局,1,1,1.000,1.000,3.000,15.000,0.933,0,0,0,")
    html = (tmp_path / "supervision-2026-11.html").read_text(encoding="utf-8")
    assert "<svg" in html and "税务局" in html and "电子监察月报 2026-11" in html
