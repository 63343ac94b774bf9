"""并联审批: each department's opinion on an accepted case, and joint review minutes (联合审查纪要).

A department gives one opinion; changing it takes an explicit revision, so nobody overwrites a
decision by accident and the history shows every change. Minutes of a joint review record every
department's opinion at once, all or nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from hub.access.actions import Action
from hub.access.context import RequestContext, all_or_nothing
from hub.access.guard import guard
from hub.authorisations.deciding import authority_to_decide
from hub.calendar.workdays import local_date
from hub.cases.intake import case_ref, case_row
from hub.cases.views import CaseView, load_case_views
from hub.errors import (
    CaseStateConflict,
    DepartmentNotInCase,
    InvalidInput,
    MaterialNotRequired,
    OpinionAlreadyRecorded,
)
from hub.outbox import events
from storage.models import Department
from storage.models.cases import Case, CaseStatus, Decision, JointReviewMinutes, Opinion
from storage.repositories import cases as repo

MAX_COMMENTS = 4000


@dataclass(frozen=True, slots=True)
class OpinionInput:
    decision: Decision
    comments: str = ""
    # A department that has answered changes its opinion only by saying so.
    revision: bool = False
    # Fixes asked for (needs correction) are due by this date.
    fix_due_on: date | None = None
    # The materials a correction request finds deficient (type codes): their replacements supersede them.
    material_types: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class MinutesEntry:
    department_code: str
    opinion: OpinionInput


@all_or_nothing
async def record_opinion(ctx: RequestContext, receipt_number: str, opinion: OpinionInput) -> CaseView:
    """The caller's department gives its opinion on the case."""
    case = await case_row(ctx, receipt_number, Action.CASE_OPINION, for_update=True)
    view = (await load_case_views(ctx, [case]))[0]
    await _guard(ctx, view, Action.CASE_OPINION)
    _check_reviewable(case)
    department = _participant(view, ctx.caller.department_code)
    await _add_opinion(ctx, case, view, department.id, opinion, minutes_id=None)
    await ctx.commit()
    return (await load_case_views(ctx, [case]))[0]


@all_or_nothing
async def record_minutes(
    ctx: RequestContext, receipt_number: str, held_on: date, summary: str, entries: Sequence[MinutesEntry]
) -> CaseView:
    """联合审查纪要: the joint review's summary and every department's opinion, fixes and deadlines."""
    case = await case_row(ctx, receipt_number, Action.CASE_MINUTES, for_update=True)
    view = (await load_case_views(ctx, [case]))[0]
    await _guard(ctx, view, Action.CASE_MINUTES)
    _check_reviewable(case)
    if ctx.caller.department_id != case.window_department_id:
        _participant(view, ctx.caller.department_code)
    if not summary.strip():
        raise InvalidInput("minutes need a summary", field="summary")
    if not entries:
        raise InvalidInput("minutes record at least one department's opinion", field="entries")
    codes = [entry.department_code for entry in entries]
    if len(set(codes)) != len(codes):
        raise InvalidInput("one entry per department", field="entries")
    if held_on > local_date(ctx.hub.clock()):
        raise InvalidInput("a joint review cannot be held in the future", field="heldOn")
    departments = [_participant(view, code) for code in codes]
    minutes = await repo.add_minutes(
        ctx.session,
        JointReviewMinutes(
            case_id=case.id,
            held_on=held_on,
            summary=summary.strip(),
            recorded_by_principal_id=ctx.caller.principal_id,
            recorded_at=ctx.hub.clock(),
        ),
    )
    for department, entry in zip(departments, entries, strict=True):
        await _add_opinion(ctx, case, view, department.id, entry.opinion, minutes_id=minutes.id)
    await ctx.commit()
    return (await load_case_views(ctx, [case]))[0]


def _deficient_materials(view: CaseView, opinion: OpinionInput) -> list[str]:
    codes = sorted({code.strip() for code in opinion.material_types})
    if codes and opinion.decision is not Decision.NEEDS_CORRECTION:
        raise InvalidInput("only a correction request names deficient materials", field="materialTypes")
    required = {m.requirement.material_type.code for m in view.materials}
    unknown = [code for code in codes if code not in required]
    if unknown:
        raise MaterialNotRequired(
            f"the case's items do not require {', '.join(unknown)}", field="materialTypes", materialType=unknown[0]
        )
    return codes


async def _guard(ctx: RequestContext, view: CaseView, action: Action) -> None:
    await guard(ctx, action, [view.applicant.id_number], object_ref=case_ref(view.receipt_number))


def _check_reviewable(case: Case) -> None:
    if case.status != CaseStatus.ACCEPTED.value:
        raise CaseStateConflict(
            f"opinions are given on an accepted case; this one is {case.status}", status=case.status
        )


def _participant(view: CaseView, department_code: str) -> Department:
    for review in view.reviews:
        if review.department.code == department_code:
            if review.assigned_at is None:
                # A bundle's item accepted later: its departments review once it is (一件事一次办).
                raise CaseStateConflict(
                    f"the items of department {department_code!r} are not accepted yet",
                    status=view.case.status,
                    department=department_code,
                )
            return review.department
    raise DepartmentNotInCase(
        f"department {department_code!r} takes no part in case {view.receipt_number}",
        department=department_code,
    )


async def _add_opinion(
    ctx: RequestContext,
    case: Case,
    view: CaseView,
    department_id: int,
    opinion: OpinionInput,
    *,
    minutes_id: int | None,
) -> None:
    review = next(r for r in view.reviews if r.department.id == department_id)
    # The caller's own department's opinion is the caller's decision: a clerk decides it only under
    # an authorisation in force (首席代表); minutes record other departments' opinions as given.
    authorisation = (
        await authority_to_decide(ctx, review.department, review.item_codes)
        if department_id == ctx.caller.department_id
        else None
    )
    comments = opinion.comments.strip()
    if len(comments) > MAX_COMMENTS:
        raise InvalidInput(f"comments longer than {MAX_COMMENTS} characters", field="comments")
    if opinion.decision is not Decision.APPROVE and not comments:
        raise InvalidInput("a rejection or a correction request says why", field="comments")
    deficient = _deficient_materials(view, opinion)
    previous = review.opinions[-1].opinion if review.opinions else None
    if previous is not None and not opinion.revision:
        raise OpinionAlreadyRecorded(
            f"{review.department.name} has already given its opinion; give a revision to change it",
            department=review.department.code,
            revision=previous.revision,
        )
    if previous is None and opinion.revision:
        raise InvalidInput("there is no opinion of this department to revise", field="revision")
    tasks = (await repo.review_tasks(ctx.session, [case.id]))[case.id]
    task = next(t for t in tasks if t.department_id == department_id)
    await repo.add_opinion(
        ctx.session,
        Opinion(
            review_task_id=task.id,
            case_id=case.id,
            department_id=department_id,
            revision=previous.revision + 1 if previous else 1,
            decision=opinion.decision.value,
            comments=comments,
            fix_due_on=opinion.fix_due_on,
            correction_material_types=",".join(deficient),
            minutes_id=minutes_id,
            authorisation_id=authorisation.id if authorisation else None,
            recorded_by_principal_id=ctx.caller.principal_id,
            recorded_at=ctx.hub.clock(),
        ),
    )
    await events.opinion_recorded(ctx, case, department_id, opinion.decision)
