"""Cases that end without a decision, and results handed over: withdrawal (撤回), collection of
results, and abandonment.

An applicant may withdraw an application (行政许可法) at the window that received it, with a reason;
the case then stays on file, closed, with who closed it and why. A case nobody carries on is
closed by the hub itself as ABANDONED: one never accepted within `HUB_ABANDON_AFTER_WORKING_DAYS`
working days of opening (the applicant never brought the key materials), or one whose results
were not collected within `HUB_ABANDON_UNCOLLECTED_AFTER_DAYS` days of completion. Reports count
such cases apart from decided ones, and a closed case takes no further material or opinion.

The job runs in the background of every served hub process (app/asgi.py) and as
`hub cases close-abandoned`. Several may run at once: each case is closed by one conditional
UPDATE (`... WHERE status is still what we found`), so a case is closed, and logged, once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from hub.access.actions import Action
from hub.access.auth import SYSTEM_CALLER
from hub.access.context import Hub, RequestContext, all_or_nothing
from hub.access.guard import guard
from hub.access.policy import caller_centre_id
from hub.calendar.workdays import add_working_days, local_date
from hub.cases.intake import case_ref, case_row, guard_case
from hub.cases.views import CaseView, load_case_views
from hub.errors import CalendarOutOfRange, CaseClosed, CaseOfAnotherWindow, CaseStateConflict, InvalidInput
from hub.halls import centres
from hub.periodic import every
from storage.models.cases import Case, CaseStatus
from storage.repositories import cases as repo
from storage.repositories import centres as centres_repo

MAX_REASON_LENGTH = 500

logger = logging.getLogger("hub.cases.closing")


@all_or_nothing
async def withdraw_case(ctx: RequestContext, receipt_number: str, reason: str) -> CaseView:
    """撤回: the applicant withdraws the case at the window that received it, giving a reason."""
    case = await case_row(ctx, receipt_number, Action.CASE_WITHDRAW, for_update=True)
    await guard_case(ctx, case, Action.CASE_WITHDRAW)
    reason = reason.strip()
    if not reason or len(reason) > MAX_REASON_LENGTH:
        raise InvalidInput(f"give the reason for withdrawal (1 to {MAX_REASON_LENGTH} characters)", field="reason")
    await _check_own_window(ctx, case)
    if CaseStatus(case.status).closed:
        raise CaseClosed(f"the case is {case.status}; it can no longer be withdrawn", status=case.status)
    case.status = CaseStatus.WITHDRAWN.value
    case.closed_at = ctx.hub.clock()
    case.closed_by_principal_id = ctx.caller.principal_id
    case.close_reason = reason
    await ctx.commit()
    return (await load_case_views(ctx, [case]))[0]


@all_or_nothing
async def choose_collect_centre(ctx: RequestContext, receipt_number: str, centre_code: str | None) -> CaseView:
    """就近办: the applicant chooses the centre where they will collect the results (None: the window
    that received the case), at that window, any time before collecting."""
    case = await case_row(ctx, receipt_number, Action.CASE_COLLECT, for_update=True)
    await guard_case(ctx, case, Action.CASE_COLLECT)
    await _check_own_window(ctx, case)
    chosen = await centres.centre_by_code(ctx.session, centre_code, field="collectAt") if centre_code else None
    if case.results_collected_at is not None or case.status in (CaseStatus.WITHDRAWN.value, CaseStatus.ABANDONED.value):
        raise CaseStateConflict("the results are collected already, or there will be none", status=case.status)
    case.collect_centre_id = chosen.id if chosen else None
    await ctx.commit()
    return (await load_case_views(ctx, [case]))[0]


@all_or_nothing
async def collect_results(ctx: RequestContext, receipt_number: str) -> CaseView:
    """统一出件: the applicant collected the results of a completed case at its window, or at the
    centre they chose (就近办), whose window hands them over."""
    case = await case_row(ctx, receipt_number, Action.CASE_COLLECT, for_update=True)
    await guard_case(ctx, case, Action.CASE_COLLECT)
    here = await caller_centre_id(ctx)
    if case.collect_centre_id is None:
        await _check_own_window(ctx, case)
    elif here != case.collect_centre_id:
        chosen = (await centres_repo.centres_by_ids(ctx.session, [case.collect_centre_id]))[case.collect_centre_id]
        raise CaseOfAnotherWindow(
            f"the applicant collects the results at {chosen.name}", field="receiptNumber", collectAt=chosen.code
        )
    if case.status != CaseStatus.COMPLETED.value:
        raise CaseStateConflict(
            f"results are collected from a completed case; this one is {case.status}", status=case.status
        )
    if case.results_collected_at is not None:
        raise CaseStateConflict("the results were collected already", status=case.status)
    case.results_collected_at = ctx.hub.clock()
    case.results_collected_centre_id = here
    await ctx.commit()
    return (await load_case_views(ctx, [case]))[0]


async def _check_own_window(ctx: RequestContext, case: Case) -> None:
    """The receiving window: its department, at its centre (three-level halls)."""
    if case.window_department_id != ctx.caller.department_id or (
        case.centre_id is not None and await caller_centre_id(ctx) != case.centre_id
    ):
        raise CaseOfAnotherWindow(
            "only the window that received the case can do this", field="receiptNumber", window=case.window
        )


@dataclass(frozen=True, slots=True)
class AbandonReport:
    """The receipt numbers this run closed, by why."""

    never_accepted: tuple[str, ...]
    results_uncollected: tuple[str, ...]


async def close_abandoned(ctx: RequestContext) -> AbandonReport:
    """Close, as ABANDONED, the cases nobody carried on; log each (`case.abandon`) and commit."""
    settings = ctx.hub.settings
    now = ctx.hub.clock()
    never_accepted = await _close(
        ctx,
        [
            case
            for case in await _open_since(ctx, now)
            if _acceptance_lapsed(case, now, settings.abandon_after_working_days)
        ],
        CaseStatus.OPEN,
        now,
        f"not accepted within {settings.abandon_after_working_days} working days of opening",
    )
    uncollected_before = now - timedelta(days=settings.abandon_uncollected_after_days)
    uncollected = await _close(
        ctx,
        await repo.cases_in_status_since(
            ctx.session, CaseStatus.COMPLETED.value, uncollected_before, by_completion=True
        ),
        CaseStatus.COMPLETED,
        now,
        f"results not collected within {settings.abandon_uncollected_after_days} days of completion",
    )
    await ctx.commit()
    return AbandonReport(tuple(never_accepted), tuple(uncollected))


async def _open_since(ctx: RequestContext, now: datetime) -> list[Case]:
    # N working days are at least N calendar days: a cheap bound, refined per case on the calendar.
    before = now - timedelta(days=ctx.hub.settings.abandon_after_working_days)
    return await repo.cases_in_status_since(ctx.session, CaseStatus.OPEN.value, before)


def _acceptance_lapsed(case: Case, now: datetime, working_days: int) -> bool:
    try:
        last_day = add_working_days(local_date(case.opened_at), working_days)
    except CalendarOutOfRange:
        return False  # a year the calendar does not know: never close a case on a guess
    return local_date(now) > last_day


async def _close(ctx: RequestContext, cases: list[Case], status: CaseStatus, now: datetime, reason: str) -> list[str]:
    closed = set(
        await repo.close_cases(
            ctx.session,
            [case.id for case in cases],
            from_status=status.value,
            to_status=CaseStatus.ABANDONED.value,
            when=now,
            reason=reason,
            principal_id=ctx.caller.principal_id or None,
        )
    )
    applicants = await repo.applicants_by_ids(ctx.session, sorted({c.applicant_id for c in cases if c.id in closed}))
    receipts = []
    for case in cases:
        if case.id in closed:
            await guard(
                ctx,
                Action.CASE_ABANDON,
                [applicants[case.applicant_id].id_number],
                object_ref=case_ref(case.receipt_number),
            )
            receipts.append(case.receipt_number)
    return receipts


async def close_abandoned_as_system(hub: Hub) -> AbandonReport:
    """One run of the job, as the hub itself (the log shows role `system`)."""
    async with hub.sessions() as session:
        return await close_abandoned(RequestContext(hub, SYSTEM_CALLER, session=session))


async def close_abandoned_forever(hub: Hub) -> None:
    """The served hub's background job: a run every `HUB_ABANDON_JOB_INTERVAL` seconds, until cancelled."""

    async def run() -> None:
        report = await close_abandoned_as_system(hub)
        if report.never_accepted or report.results_uncollected:
            logger.info(
                "closed %d cases never accepted and %d with results uncollected as abandoned",
                len(report.never_accepted),
                len(report.results_uncollected),
            )

    await every(hub.settings.abandon_job_interval, run, what="closing abandoned cases", logger=logger)
