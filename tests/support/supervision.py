"""What the supervision stories share: a small catalogue, cases accepted and decided on given days
through the case use cases, entries recorded at given times through the guard's recorder, and
evaluations run on a given day."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from hub.access.actions import Action, Outcome, PendingEntry
from hub.access.context import Hub
from hub.audit.sequencer import Sequencer
from hub.calendar.workdays import CHINA
from hub.cases import intake, reviews
from hub.identifiers import ApplicantKind
from hub.profiles.applicants import register_applicant
from hub.supervision.evaluator import EvaluationRun, evaluate
from storage.models.cases import Decision
from tests.support import Actor
from tests.support.case_stories import at, load, resident_id

# 建筑工程施工许可 with housing (lead) and planning; 纳税申报 with tax, silent approval allowed.
TIMING_CATALOG = """
service_items:
  - code: zjj-sgxk
    name: 建筑工程施工许可
    lead_department: zjj
    departments: [zrzy]
    statutory_days: 15
    promised_days: 6
  - code: sw-ns
    name: 纳税申报
    lead_department: sw
    statutory_days: 15
    promised_days: 3
    silence_is_consent: true
"""

SUPERVISION = "supervision:inspection-2026-11"


async def load_timing_catalog(hub: Hub) -> int:
    return await load(hub, TIMING_CATALOG, "timing.yaml")


async def applicant(clerk: Actor, first17: str, name: str, address: str = "") -> str:
    id_number = resident_id(first17)
    ctx = await clerk.context()
    try:
        await register_applicant(ctx, ApplicantKind.PERSON, id_number, name, {"address": address} if address else None)
    finally:
        await ctx.close()
    return id_number


async def accepted_case(hub: Hub, clerk: Actor, id_number: str, items: list[str], day: date) -> str:
    """A case opened and accepted at the window on `day`; returns its receipt number."""
    at(hub, day, time(9, 0))
    ctx = await clerk.context()
    try:
        opened = await intake.open_case(ctx, id_number, items, "综合窗口 1")
        await intake.accept_case(ctx, opened.receipt_number)
        return opened.receipt_number
    finally:
        await ctx.close()


async def decide(hub: Hub, department: Actor, receipt: str, day: date, decision: Decision = Decision.APPROVE) -> None:
    at(hub, day, time(15, 0))
    ctx = await department.context(purpose=f"case:{receipt}")
    try:
        comments = "" if decision is Decision.APPROVE else "不符合条件"
        await reviews.record_opinion(ctx, receipt, reviews.OpinionInput(decision, comments))
    finally:
        await ctx.close()


async def evaluate_on(hub: Hub, day: date, clock: time = time(18, 0)) -> EvaluationRun:
    at(hub, day, clock)
    await Sequencer(hub).integrate()
    run = await evaluate(hub)
    assert run is not None
    return run


async def record(
    actor: Actor,
    reads: list[tuple[datetime, str]],
    *,
    action: Action = Action.PROFILE_READ,
    outcome: Outcome = Outcome.ALLOWED,
    purpose: str | None = None,
) -> None:
    """Access entries at chosen times (moment, applicant), through the guard's recorder, as a request
    would write them; then sequenced and signed."""
    ctx = await actor.context(purpose=purpose)
    try:
        reason = "" if outcome is Outcome.ALLOWED else "refused"
        for moment, applicant_ref in reads:
            ctx.access.record(PendingEntry(moment, action, outcome, applicant_ref, "", ("name",), (), reason))
        await ctx.commit()
    finally:
        await ctx.close()
    await Sequencer(actor.hub).integrate()


def china(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=CHINA)


def by_department(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {row["department"]["code"]: row for row in rows}
