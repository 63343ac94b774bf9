"""Periods a department excludes from its time limit (行政许可法 art. 45): hearings, tenders and
auctions, inspection, testing, quarantine, appraisal, expert review.

The department starts a pause, saying what it told the applicant, and ends it when the period is
over; the working days in between do not count toward its deadline nor toward those of its items,
and 超时默许 is judged on the deadline so pushed back. Waiting for the applicant's correction (补正,
art. 32) pauses the clock too, but needs no step here: it follows from the `NEEDS_CORRECTION`
opinion and the next material handed in (`hub.cases.clocks`).
"""

from __future__ import annotations

from hub.access.actions import Action
from hub.access.context import RequestContext, all_or_nothing
from hub.cases.intake import case_row, guard_case
from hub.cases.views import CaseView, DepartmentReview, load_case_views
from hub.errors import CaseStateConflict, DepartmentNotInCase, InvalidInput, NoOpenPause, PauseAlreadyOpen
from storage.models.cases import Case, CaseStatus, PauseReason, ReviewPause
from storage.repositories import cases as repo

MAX_NOTE = 2000


@all_or_nothing
async def start_pause(ctx: RequestContext, receipt_number: str, reason: PauseReason, note: str) -> CaseView:
    """The caller's department stops its clock for an excluded period (art. 45)."""
    if reason is PauseReason.CORRECTION:
        raise InvalidInput("a correction pauses the clock by itself: record a NEEDS_CORRECTION opinion", field="reason")
    note = note.strip()
    if not note or len(note) > MAX_NOTE:
        raise InvalidInput(
            f"say what the applicant is told about the time needed (1 to {MAX_NOTE} characters)", field="note"
        )
    case, review = await _own_review(ctx, receipt_number)
    open_pause = next((p for p in review.pauses if p.open and p.reason is not PauseReason.CORRECTION), None)
    if open_pause is not None:
        raise PauseAlreadyOpen(
            f"{review.department.name}'s clock is already paused ({open_pause.reason.value}); end that pause first",
            department=review.department.code,
            reason=open_pause.reason.value,
        )
    tasks = (await repo.review_tasks(ctx.session, [case.id]))[case.id]
    task = next(t for t in tasks if t.department_id == review.department.id)
    await repo.add_pause(
        ctx.session,
        ReviewPause(
            case_id=case.id,
            review_task_id=task.id,
            department_id=review.department.id,
            reason=reason.value,
            note=note,
            started_at=ctx.hub.clock(),
            started_by_principal_id=ctx.caller.principal_id,
        ),
    )
    await ctx.commit()
    return (await load_case_views(ctx, [case]))[0]


@all_or_nothing
async def end_pause(ctx: RequestContext, receipt_number: str) -> CaseView:
    """The excluded period is over: the caller's department's clock runs again from tomorrow."""
    case, review = await _own_review(ctx, receipt_number)
    rows = (await repo.pauses(ctx.session, [case.id]))[case.id]
    row = next((p for p in rows if p.department_id == review.department.id and p.ended_at is None), None)
    if row is None:
        raise NoOpenPause(
            f"{review.department.name} has no excluded period running on case {receipt_number}",
            department=review.department.code,
        )
    row.ended_at = ctx.hub.clock()
    row.ended_by_principal_id = ctx.caller.principal_id
    await ctx.session.flush()
    await ctx.commit()
    return (await load_case_views(ctx, [case]))[0]


async def _own_review(ctx: RequestContext, receipt_number: str) -> tuple[Case, DepartmentReview]:
    """The case, locked and guarded, and the caller's department's review of it, still running."""
    case = await case_row(ctx, receipt_number, Action.CASE_PAUSE, for_update=True)
    await guard_case(ctx, case, Action.CASE_PAUSE)
    if case.status != CaseStatus.ACCEPTED.value:
        raise CaseStateConflict(f"a clock is paused on an accepted case; this one is {case.status}", status=case.status)
    view = (await load_case_views(ctx, [case]))[0]
    review = next((r for r in view.reviews if r.department.code == ctx.caller.department_code), None)
    if review is None:
        raise DepartmentNotInCase(
            f"department {ctx.caller.department_code!r} takes no part in case {receipt_number}",
            department=ctx.caller.department_code,
        )
    if review.state.settled:
        raise CaseStateConflict(
            f"{review.department.name} has settled its review ({review.state.value}); its clock has stopped",
            status=case.status,
            state=review.state.value,
        )
    return case, review
