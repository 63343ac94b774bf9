"""The office's timing agrees with the case's own deadlines: clocks that stand still and bundles
accepted item by item.

A department waiting for the applicant's correction (补正) or holding an expert review (art. 45) is
judged on the deadline its case view shows, pushed back by the pause; it turns RED only once that
adjusted deadline has passed. An item of a bundle not accepted yet has no timing, and an item
accepted later runs from its own acceptance. The case view and the supervised case read say the
same of the same case on the same day.
"""

from __future__ import annotations

from datetime import date, time, timedelta

from hub.access.auth import Role
from hub.cases import intake
from hub.cases.pauses import end_pause, start_pause
from hub.supervision.cases import supervised_case
from hub.supervision.timing import TimingState
from storage.models.cases import Decision, PauseReason
from tests.support import Actor, make_actor
from tests.support.case_stories import at, hand_in, load
from tests.support.supervision import SUPERVISION, applicant, decide, evaluate_on

# A permit reviewed by housing (lead) and planning, with one form; a filing by tax alone (silence is
# consent); a filing by housing alone under expert review (silence is consent).
CATALOG = """
material_types:
  - {code: sqb, name: 施工许可申请表}
  - {code: bab, name: 备案表}
service_items:
  - code: zjj-xk
    name: 建筑工程施工许可
    lead_department: zjj
    departments: [zrzy]
    statutory_days: 15
    promised_days: 6
    materials: [{type: sqb}]
  - code: zjj-ba
    name: 建设工程消防验收备案
    lead_department: zjj
    statutory_days: 10
    promised_days: 5
    silence_is_consent: true
    materials: [{type: bab}]
  - code: sw-ns
    name: 纳税申报
    lead_department: sw
    statutory_days: 15
    promised_days: 3
    silence_is_consent: true
"""

MONDAY = date(2026, 11, 2)
SUPERVISED = """query($r: String!) { supervisedCase(receiptNumber: $r) {
  timingState items { item { code } promisedDeadline { dueOn } timingState }
  reviews { department { code } state timingState deadline { dueOn remainingWorkingDays } settledOn deemedApproved }
} }"""


async def _opened(hub, client, clerk: Actor, items: list[str], materials: dict[str, str], accept: list[str]) -> str:
    """A case opened on Monday 2 November with its materials handed in, `accept` accepted."""
    await load(hub, CATALOG, "paused-timing.yaml")
    person = await applicant(clerk, "11010119800101123", "张三")
    at(hub, MONDAY, time(9, 0))
    ctx = await clerk.context()
    try:
        receipt = (await intake.open_case(ctx, person, items, "综合窗口 1")).receipt_number
    finally:
        await ctx.close()
    for code, title in materials.items():
        await hand_in(client, clerk, receipt, code, title)
    await _accept(hub, clerk, receipt, accept, MONDAY)
    return receipt


async def _accept(hub, clerk: Actor, receipt: str, items: list[str], day: date) -> None:
    at(hub, day, time(9, 30))
    ctx = await clerk.context()
    try:
        await intake.accept_case(ctx, receipt, items)
    finally:
        await ctx.close()


async def _supervised(client, auditor: Actor, receipt: str) -> tuple[dict, dict, dict]:
    """The office's read: the case's state, its items by code and its reviews by department."""
    case = (await client.execute(SUPERVISED, {"r": receipt}, token=auditor.token, purpose=SUPERVISION))[
        "supervisedCase"
    ]
    items = {i["item"]["code"]: i for i in case["items"]}
    return case, items, {r["department"]["code"]: r for r in case["reviews"]}


async def _pause(hub, department: Actor, receipt: str, day: date, *, end: bool = False) -> None:
    at(hub, day, time(11, 0))
    ctx = await department.context(purpose=f"case:{receipt}")
    try:
        if end:
            await end_pause(ctx, receipt)
        else:
            await start_pause(ctx, receipt, PauseReason.EXPERT_REVIEW, "组织专家评审，约需七个工作日")
    finally:
        await ctx.close()


async def test_a_department_waiting_for_a_correction_is_not_red_until_its_adjusted_deadline(
    hub, client, clerk, auditor
) -> None:
    housing = await make_actor(hub, Role.DEPARTMENT_SYSTEM, "zjj")
    planning = await make_actor(hub, Role.DEPARTMENT_SYSTEM, "zrzy")
    receipt = await _opened(hub, client, clerk, ["zjj-xk"], {"sqb": "申请表"}, ["zjj-xk"])
    # Accepted Monday 2 November, 6 working days: due Tuesday 10 November without a pause.
    assert (await evaluate_on(hub, date(2026, 11, 3))).timing.warnings == 0
    await decide(hub, housing, receipt, date(2026, 11, 4))
    await decide(hub, planning, receipt, date(2026, 11, 4), Decision.NEEDS_CORRECTION)

    # 11 November, still waiting: planning's clock stood still after 4 November; had the form come
    # today, 4 working days would be left (due 17 November). Not RED, not even YELLOW: no warning.
    assert (await evaluate_on(hub, date(2026, 11, 11))).timing.warnings == 0
    case, items, reviews = await _supervised(client, auditor, receipt)
    assert case["timingState"] == "GREEN" and items["zjj-xk"]["timingState"] == "GREEN"
    assert reviews["zrzy"]["state"] == "NEEDS_CORRECTION" and reviews["zrzy"]["timingState"] == "GREEN"
    assert reviews["zrzy"]["deadline"] == {"dueOn": "2026-11-17", "remainingWorkingDays": 4}

    # The corrected form arrives on 12 November: the clock runs again from 13 November, due 18th.
    at(hub, date(2026, 11, 12))
    await hand_in(client, clerk, receipt, "sqb", "申请表（补正）")
    assert (await evaluate_on(hub, date(2026, 11, 16))).timing.warnings == 0  # 2 days left of 6
    # 17 November: one day left, under a third of six: YELLOW, for the case and planning.
    assert (await evaluate_on(hub, date(2026, 11, 17))).timing.warnings == 2
    _, _, reviews = await _supervised(client, auditor, receipt)
    assert reviews["zrzy"]["timingState"] == "YELLOW" and reviews["zrzy"]["deadline"]["dueOn"] == "2026-11-18"
    assert (await evaluate_on(hub, date(2026, 11, 18))).timing.warnings == 0  # still YELLOW on the day
    # 19 November: the adjusted deadline has passed. RED.
    assert (await evaluate_on(hub, date(2026, 11, 19))).timing.warnings == 2
    case, items, reviews = await _supervised(client, auditor, receipt)
    assert case["timingState"] == "RED" and items["zjj-xk"]["promisedDeadline"]["dueOn"] == "2026-11-18"
    assert reviews["zrzy"]["timingState"] == "RED" and reviews["zjj"]["timingState"] is None  # housing settled


async def test_an_expert_review_pushes_back_red_and_silence_is_consent(hub, client, clerk, auditor) -> None:
    housing = await make_actor(hub, Role.DEPARTMENT_SYSTEM, "zjj")
    receipt = await _opened(hub, client, clerk, ["zjj-ba"], {"bab": "备案表"}, ["zjj-ba"])
    # 5 working days from 2 November: due 9 November without a pause. Expert review from 4 November.
    await _pause(hub, housing, receipt, date(2026, 11, 4))

    # 10 November: past the unpaused deadline, but the clock stands still: no 超时默许, no RED.
    assert (await evaluate_on(hub, date(2026, 11, 10))).timing.warnings == 0
    case, _, reviews = await _supervised(client, auditor, receipt)
    assert case["timingState"] == "GREEN"
    assert reviews["zjj"]["state"] == "PENDING" and reviews["zjj"]["timingState"] == "GREEN"
    assert reviews["zjj"]["deemedApproved"] is False and reviews["zjj"]["deadline"]["dueOn"] == "2026-11-13"

    # The review ends on 13 November: 3 working days left from the 16th, due 18 November.
    await _pause(hub, housing, receipt, date(2026, 11, 13), end=True)
    assert (await evaluate_on(hub, date(2026, 11, 16))).timing.warnings == 0
    assert (await evaluate_on(hub, date(2026, 11, 17))).timing.warnings == 2  # YELLOW: case and housing
    # 19 November: silent past the adjusted deadline. 超时默许 on the 18th, and the case RED.
    assert (await evaluate_on(hub, date(2026, 11, 19))).timing.warnings == 1
    case, _, reviews = await _supervised(client, auditor, receipt)
    assert case["timingState"] == "RED"
    assert reviews["zjj"]["state"] == "DEEMED_APPROVED" and reviews["zjj"]["deemedApproved"] is True
    assert reviews["zjj"]["settledOn"] == "2026-11-18" and reviews["zjj"]["timingState"] is None


async def test_a_bundle_item_not_accepted_yet_has_no_timing_and_a_later_one_runs_from_its_acceptance(
    hub, client, clerk, auditor
) -> None:
    receipt = await _opened(hub, client, clerk, ["sw-ns", "zjj-xk"], {}, ["sw-ns"])
    run = await evaluate_on(hub, date(2026, 11, 3))
    assert (run.timing.cases, run.timing.reviews) == (1, 1)  # tax only: housing and planning wait
    case, items, reviews = await _supervised(client, auditor, receipt)
    assert items["zjj-xk"]["timingState"] is None and items["zjj-xk"]["promisedDeadline"] is None
    assert items["sw-ns"]["timingState"] == "GREEN" and items["sw-ns"]["promisedDeadline"]["dueOn"] == "2026-11-05"
    assert reviews["zjj"]["timingState"] is None and reviews["zjj"]["deadline"] is None
    assert reviews["zrzy"]["timingState"] is None and reviews["sw"]["timingState"] == "GREEN"

    # The permit is accepted on Thursday 5 November: its 6 days run from there, due 13 November.
    at(hub, date(2026, 11, 5), time(9, 0))
    await hand_in(client, clerk, receipt, "sqb", "申请表")
    await _accept(hub, clerk, receipt, ["zjj-xk"], date(2026, 11, 5))
    tax = await make_actor(hub, Role.DEPARTMENT_SYSTEM, "sw")
    await decide(hub, tax, receipt, date(2026, 11, 5))
    # 11 November: two days left on the permit (not one day past 10 November): GREEN.
    run = await evaluate_on(hub, date(2026, 11, 11))
    assert run.timing.reviews == 2
    case, items, reviews = await _supervised(client, auditor, receipt)
    assert items["zjj-xk"]["timingState"] == "GREEN" and items["zjj-xk"]["promisedDeadline"]["dueOn"] == "2026-11-13"
    # The filing's own deadline (5 November) has passed and the case is not completed: it stays RED.
    assert items["sw-ns"]["timingState"] == "RED" and case["timingState"] == "RED"
    assert reviews["zjj"]["deadline"] == {"dueOn": "2026-11-13", "remainingWorkingDays": 2}
    assert reviews["zrzy"]["timingState"] == "GREEN"


async def test_the_case_view_and_the_office_agree_day_by_day(hub, client, clerk, auditor) -> None:
    """A bundle whose second item is accepted later, a correction awaited by planning and an expert
    review by tax: on every day, the view's overdue flag, deadlines and review states are the
    office's timing."""
    housing = await make_actor(hub, Role.DEPARTMENT_SYSTEM, "zjj")
    planning = await make_actor(hub, Role.DEPARTMENT_SYSTEM, "zrzy")
    tax = await make_actor(hub, Role.DEPARTMENT_SYSTEM, "sw")
    receipt = await _opened(hub, client, clerk, ["sw-ns", "zjj-xk"], {"sqb": "申请表"}, ["zjj-xk"])

    async def events(day: date) -> None:
        if day == date(2026, 11, 4):
            await decide(hub, planning, receipt, day, Decision.NEEDS_CORRECTION)
            await _accept(hub, clerk, receipt, ["sw-ns"], day)
            await _pause(hub, tax, receipt, day)
        elif day == date(2026, 11, 6):
            await decide(hub, housing, receipt, day)
        elif day == date(2026, 11, 10):
            await _pause(hub, tax, receipt, day, end=True)
        elif day == date(2026, 11, 12):
            at(hub, day, time(10, 0))
            await hand_in(client, clerk, receipt, "sqb", "申请表（补正）")

    states: set[TimingState] = set()
    day = MONDAY
    while day <= date(2026, 11, 24):
        await events(day)
        at(hub, day, time(18, 0))
        ctx = await auditor.context(purpose=SUPERVISION)
        try:
            found = await supervised_case(ctx, receipt)
        finally:
            await ctx.close()
        view, timing = found.view, found.timing
        assert timing is not None
        states.add(timing.state)
        assert view.overdue == (timing.state is TimingState.RED), day
        judged = {t.item.code: t for t in timing.items}
        for item in view.items:
            if item.promised is None:
                assert item.item.code not in judged, day
            else:
                assert judged[item.item.code].promised == item.promised, day
                assert judged[item.item.code].statutory == item.statutory, day
        for review in view.reviews:
            office = timing.review_of(review.department.id)
            if review.deadline is None:
                assert office is None, day
                continue
            assert office is not None and office.deadline == review.deadline, day
            assert (office.state is None) == review.state.settled, day
            assert office.deemed_approved == (review.state.value == "deemed_approved"), day
            if not review.state.settled:
                assert office.working_days == review.working_days_spent, day
        day += timedelta(days=1)
    # The story goes through every state.
    assert states == {TimingState.GREEN, TimingState.YELLOW, TimingState.RED}
