"""New materials handed in for a case, results issued by it, and completion (统一出件).

Files go through the document store's `add_material` inside the case's transaction, so a material
handed in is attached (pinned) in the same commit, and a result is linked to its case in the same
commit that creates it. A result is a material of the applicant with its issuing department and
validity: the next case (the next construction stage, say) finds it on file and reuses it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from hub.access.actions import Action
from hub.access.context import RequestContext, all_or_nothing
from hub.authorisations.deciding import authority_to_decide
from hub.calendar.workdays import local_date
from hub.cases.intake import (
    attach_new_version,
    cancelled_types,
    case_row,
    check_attachable,
    guard_case,
    requirement_by_code,
)
from hub.cases.views import CaseView, ReviewState, load_case_views
from hub.documents import materials
from hub.errors import CaseStateConflict, DepartmentNotInCase, ItemsNotAccepted, PromisesUnmet, ReviewsOpen
from hub.outbox import events
from storage.models import Material, MaterialStatus
from storage.models.cases import CaseOutcome, CaseStatus
from storage.repositories import cases as repo


@dataclass(frozen=True, slots=True)
class CaseFile:
    """A material handed in for a case, or a result issued by it."""

    material_type: str
    title: str
    upload: materials.FileUpload
    issuing_department: str | None = None
    issued_on: date | None = None
    valid_until: date | None = None


@all_or_nothing
async def upload_for_case(ctx: RequestContext, receipt_number: str, handed_in: CaseFile) -> CaseView:
    """Store a material the applicant hands in at the window and attach that exact version.

    The file is stored before the case row is locked (an upload may take minutes; other windows
    and departments must not wait on the case meanwhile); the case is checked again once locked.
    """
    case = await case_row(ctx, receipt_number, Action.CASE_ATTACH)
    requirement = await requirement_by_code(ctx, case, handed_in.material_type)
    await guard_case(ctx, case, Action.CASE_ATTACH, [requirement.material_type.code])
    check_attachable(case)
    applicant = (await repo.applicants_by_ids(ctx.session, [case.applicant_id]))[case.applicant_id]
    deficient = _deficient_on_file((await load_case_views(ctx, [case]))[0], handed_in.material_type)
    # Superseding the deficient material is guarded and logged by add_material, once.
    detail = await materials.add_material(
        ctx,
        materials.NewMaterial(
            applicant_id_number=applicant.id_number,
            type_code=handed_in.material_type,
            title=handed_in.title,
            issuing_department_code=handed_in.issuing_department,
            issued_on=handed_in.issued_on,
            valid_until=handed_in.valid_until,
        ),
        handed_in.upload,
        supersedes=deficient.id if deficient is not None else None,
        correction_requested=deficient is not None,
    )
    case = await case_row(ctx, receipt_number, Action.CASE_ATTACH, for_update=True)
    check_attachable(case)
    await attach_new_version(ctx, case, requirement, detail.material.id, detail.current_version.id)
    await ctx.commit()
    return (await load_case_views(ctx, [case]))[0]


def _counterparty_certificates(view: CaseView, type_code: str) -> list[Material]:
    """The counterparty's valid materials of this type pinned in the case: the right the result ends."""
    if view.counterparty is None:
        return []
    return [
        m.material
        for m in view.materials
        if m.material is not None
        and m.requirement.material_type.code == type_code
        and m.material.applicant_id == view.counterparty.id
        and m.material.status == MaterialStatus.VALID.value
    ]


def _deficient_on_file(view: CaseView, type_code: str) -> Material | None:
    """The attached material of this type that a department's open correction request named.

    Its replacement supersedes it in the store, so no later case reuses the deficient one.
    """
    asked = any(
        review.state is ReviewState.NEEDS_CORRECTION
        and type_code in review.opinions[-1].opinion.correction_material_types.split(",")
        for review in view.reviews
        if review.opinions
    )
    attached = next((m.material for m in view.materials if m.requirement.material_type.code == type_code), None)
    if not asked or attached is None or attached.status != MaterialStatus.VALID.value:
        return None
    return attached


@all_or_nothing
async def issue_result(ctx: RequestContext, receipt_number: str, result: CaseFile) -> CaseView:
    """A department that approved issues its result (licence, certificate) as a material of the applicant.

    One result per request, each in its own transaction: the result's bytes are stored before any
    row of this case is written (SQLite has one writer, and the document store claims blobs in a
    session of its own), and the material and its link to the case land together.
    """
    case = await case_row(ctx, receipt_number, Action.CASE_COMPLETE, for_update=True)
    view = (await load_case_views(ctx, [case]))[0]
    await guard_case(ctx, case, Action.CASE_COMPLETE, [result.material_type])
    if case.status != CaseStatus.ACCEPTED.value:
        raise CaseStateConflict(
            f"results are issued on an accepted case; this one is {case.status}", status=case.status
        )
    review = next((r for r in view.reviews if r.department.code == result.issuing_department), None)
    if review is None:
        raise DepartmentNotInCase(
            f"results are issued by a department taking part in case {case.receipt_number}",
            department=result.issuing_department,
            field="issuingDepartment",
        )
    if ctx.caller.department_id not in (review.department.id, case.window_department_id):
        raise DepartmentNotInCase(
            "a result is issued by its department or handed over by the case's window",
            department=ctx.caller.department_code,
        )
    if review.department.id == ctx.caller.department_id:
        # A clerk issuing their own department's result decides it: under an authorisation only.
        await authority_to_decide(ctx, review.department, review.item_codes)
    if review.state not in (ReviewState.APPROVED, ReviewState.DEEMED_APPROVED, ReviewState.REJECTED):
        raise ReviewsOpen(
            f"{review.department.name} has not decided yet",
            departments=[review.department.code],
            states={review.department.code: review.state.value},
        )
    detail = await materials.add_material(
        ctx,
        materials.NewMaterial(
            applicant_id_number=view.applicant.id_number,
            type_code=result.material_type,
            title=result.title,
            issuing_department_code=result.issuing_department,
            issued_on=result.issued_on or local_date(ctx.hub.clock()),
            valid_until=result.valid_until,
        ),
        result.upload,
    )
    await repo.add_results(ctx.session, case.id, [(detail.material.id, detail.current_version.id)])
    if result.material_type in await cancelled_types(ctx, case):
        for ended in _counterparty_certificates(view, result.material_type):
            reason = f"注销：权利已转移，案件 {case.receipt_number} 颁发新证 (material:{detail.material.id})"
            await materials.cancel_material(ctx, ended.id, reason)
    await events.result_issued(ctx, case, detail.material.id)
    await ctx.commit()
    return (await load_case_views(ctx, [case]))[0]


@all_or_nothing
async def complete_case(ctx: RequestContext, receipt_number: str) -> CaseView:
    """办结 (统一出件): every promise kept and every department settled; the case closes with its results."""
    case = await case_row(ctx, receipt_number, Action.CASE_COMPLETE, for_update=True)
    view = (await load_case_views(ctx, [case]))[0]
    await guard_case(ctx, case, Action.CASE_COMPLETE)
    if ctx.caller.department_id not in {case.window_department_id, *(r.department.id for r in view.reviews)}:
        # A real estate clerk once completed a public security case: no department decides another's.
        raise DepartmentNotInCase(
            f"case {case.receipt_number} is completed by its window or a department taking part in it",
            department=ctx.caller.department_code,
        )
    if case.status != CaseStatus.ACCEPTED.value:
        raise CaseStateConflict(
            f"only an accepted case can be completed; this one is {case.status}", status=case.status
        )
    if view.pending_items:
        codes = [i.item.code for i in view.pending_items]
        raise ItemsNotAccepted(f"items not accepted yet: {', '.join(codes)}", codes=codes)
    if view.unmet_promises:
        codes = [m.requirement.material_type.code for m in view.unmet_promises]
        raise PromisesUnmet(
            f"promised materials not handed in yet: {', '.join(codes)}",
            materialTypes=codes,
            overdue=[m.requirement.material_type.code for m in view.overdue_promises],
        )
    if view.open_reviews:
        codes = [r.department.code for r in view.open_reviews]
        raise ReviewsOpen(
            f"departments still reviewing: {', '.join(codes)}",
            departments=codes,
            states={r.department.code: r.state.value for r in view.open_reviews},
        )
    refused = any(r.state is ReviewState.REJECTED for r in view.reviews)
    case.status = CaseStatus.COMPLETED.value
    case.outcome = (CaseOutcome.REFUSED if refused else CaseOutcome.APPROVED).value
    case.completed_at = ctx.hub.clock()
    case.completed_by_principal_id = ctx.caller.principal_id
    await ctx.commit()
    return (await load_case_views(ctx, [case]))[0]
