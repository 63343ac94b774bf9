"""抽查: the office draws completed cases per department for a month, reproducibly from a recorded
seed; a month already drawn keeps its draw."""

from __future__ import annotations

from datetime import date, time

from hub.access.auth import Role
from hub.cases.completion import complete_case
from hub.supervision.sampling import draw
from tests.support import make_actor
from tests.support.case_stories import at
from tests.support.supervision import SUPERVISION, accepted_case, applicant, decide, load_timing_catalog

DRAW = """mutation($m: String!, $n: Int!, $seed: Int) { drawCaseSamples(month: $m, perDepartment: $n, seed: $seed) {
  month department { code } seed population receiptNumbers } }"""
SAMPLES = """query($m: String!) { caseSamples(month: $m) { department { code } seed receiptNumbers } }"""


async def _completed(hub, clerk, departments, person: str, item: str, day: date) -> str:
    receipt = await accepted_case(hub, clerk, person, [item], day)
    for department in departments:
        await decide(hub, department, receipt, day)
    at(hub, day, time(17, 0))
    ctx = await clerk.context()
    try:
        await complete_case(ctx, receipt)
    finally:
        await ctx.close()
    return receipt


async def test_samples_are_drawn_reproducibly_and_once(hub, client, clerk, auditor) -> None:
    await load_timing_catalog(hub)
    tax = await make_actor(hub, Role.DEPARTMENT_SYSTEM, "sw")
    housing = await make_actor(hub, Role.DEPARTMENT_SYSTEM, "zjj")
    planning = await make_actor(hub, Role.DEPARTMENT_SYSTEM, "zrzy")
    person = await applicant(clerk, "11010119800101123", "张三")
    returns = [await _completed(hub, clerk, [tax], person, "sw-ns", date(2026, 11, 2 + n)) for n in range(5)]
    permits = [await _completed(hub, clerk, [housing, planning], person, "zjj-sgxk", date(2026, 11, 9))]
    await _completed(hub, clerk, [tax], person, "sw-ns", date(2026, 10, 30))  # October: not in the population
    at(hub, date(2026, 12, 1))

    assert await client.error_code(DRAW, {"m": "2026-11", "n": 3}, token=auditor.token) == "FORBIDDEN"  # no purpose
    drawn = (
        await client.execute(DRAW, {"m": "2026-11", "n": 3, "seed": 42}, token=auditor.token, purpose=SUPERVISION)
    )["drawCaseSamples"]
    by_code = {s["department"]["code"]: s for s in drawn}
    assert sorted(by_code) == ["sw", "zjj", "zrzy"]
    assert by_code["sw"]["population"] == 5 and len(by_code["sw"]["receiptNumbers"]) == 3
    assert set(by_code["sw"]["receiptNumbers"]) <= set(returns)
    assert by_code["zjj"]["receiptNumbers"] == permits and by_code["zjj"]["seed"] == 42
    # Anyone with the seed and the population draws the same cases.
    assert by_code["sw"]["receiptNumbers"] == draw(sorted(returns), 3, 42, "2026-11", "sw")

    again = (await client.execute(DRAW, {"m": "2026-11", "n": 1, "seed": 7}, token=auditor.token, purpose=SUPERVISION))[
        "drawCaseSamples"
    ]
    assert again == drawn  # drawn once: the record stands
    listed = (await client.execute(SAMPLES, {"m": "2026-11"}, token=auditor.token, purpose=SUPERVISION))["caseSamples"]
    assert [(s["department"]["code"], s["seed"]) for s in listed] == [("sw", 42), ("zjj", 42), ("zrzy", 42)]
    assert await client.error_code(DRAW, {"m": "2026-11", "n": 0}, token=auditor.token, purpose=SUPERVISION) == (
        "BAD_USER_INPUT"
    )
