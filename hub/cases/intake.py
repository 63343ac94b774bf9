"""Cases (办件): open at one window, gather one set of materials, accept, and read back.

统一接件: a clerk opens a case for an applicant and one or more items of the current catalogue;
materials are attached by reference to versions already on file (reuse) or by a new upload, each
pinned to an exact version; a non-key material may be promised by a date (容缺). Acceptance hands a
review task to every participating department at once (同步分发). Opinions and minutes are in
hub/cases/reviews.py, uploads, results and completion in hub/cases/completion.py, prior submissions in
hub/cases/submissions.py.

Every mutation locks the case row first, so two windows or departments acting on one case at once
are serialised, and refuses with a specific code before writing anything.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from hub.access.actions import Action
from hub.access.context import RequestContext, all_or_nothing
from hub.access.guard import guard
from hub.calendar.workdays import local_date
from hub.cases.notice import Requirement, current_items, materials_required_for
from hub.cases.views import CaseView, ItemView, load_case_views
from hub.errors import (
    CaseStateConflict,
    InvalidInput,
    KeyMaterialCannotBePromised,
    KeyMaterialMissing,
    MaterialMissing,
    MaterialNotRequired,
    MaterialNotValid,
    MaterialOfAnotherApplicant,
    NotFound,
)
from hub.halls import centres
from hub.outbox import events
from hub.profiles.applicants import find_applicant
from storage.models import Material, MaterialStatus
from storage.models.cases import AttachmentOrigin, Case, CaseMaterial, CaseStatus
from storage.repositories import cases as repo
from storage.repositories import catalog as catalog_repo

MAX_WINDOW_LENGTH = 64


def case_ref(receipt_number: str) -> str:
    """The object reference of a case in access entries and purposes ("case:<receipt>")."""
    return f"case:{receipt_number}"


def format_receipt_number(day: date, sequence: int) -> str:
    return f"{day:%Y%m%d}-{sequence:05d}"


@all_or_nothing
async def open_case(
    ctx: RequestContext,
    applicant_id_number: str,
    item_codes: Sequence[str],
    window: str,
    *,
    catalog_version: int | None = None,
    counterparty_id_number: str | None = None,
    collect_at: str | None = None,
) -> CaseView:
    """Receive a case at a window: the applicant, the items (current catalogue only), a receipt number.

    `counterparty_id_number` names the other party (the seller of a home the applicant buys): the
    case may pin the certificates the items end, and its results cancel them (注销). The case is at
    the centre of the caller's window, whose level must accept every item; `collect_at` is the centre
    where the applicant will collect the results (就近办).
    """
    window = window.strip()
    if not window or len(window) > MAX_WINDOW_LENGTH:
        raise InvalidInput(f"name the window (1 to {MAX_WINDOW_LENGTH} characters)", field="window")
    applicant = await find_applicant(ctx, applicant_id_number)
    counterparty = await find_applicant(ctx, counterparty_id_number) if counterparty_id_number else None
    if counterparty is not None and counterparty.id == applicant.id:
        raise InvalidInput("the counterparty is another applicant than the case's", field="counterpartyIdNumber")
    version_id, items, _ = await current_items(ctx, item_codes, catalog_version)
    await guard(ctx, Action.CASE_OPEN, [applicant.id_number], object_ref="case:new")
    centre = await centres.caller_centre(ctx)
    centres.check_accepted_at(centre, items)
    collect_centre = await centres.centre_by_code(ctx.session, collect_at, field="collectAt") if collect_at else None
    now = ctx.hub.clock()
    day = local_date(now)
    # Taken last, so the counter row is locked only for the few statements before the commit.
    sequence = await repo.next_receipt_sequence(ctx.session, day)
    case = Case(
        receipt_number=format_receipt_number(day, sequence),
        applicant_id=applicant.id,
        counterparty_applicant_id=counterparty.id if counterparty else None,
        catalog_version_id=version_id,
        window=window,
        received_by_principal_id=ctx.caller.principal_id,
        window_department_id=ctx.caller.department_id,
        centre_id=centre.id if centre else None,
        collect_centre_id=collect_centre.id if collect_centre else None,
        status=CaseStatus.OPEN.value,
        opened_at=now,
    )
    await repo.add_case(ctx.session, case, [item.id for item in items])
    await ctx.commit()
    return (await load_case_views(ctx, [case]))[0]


@all_or_nothing
async def find_case(ctx: RequestContext, receipt_number: str) -> CaseView:
    """One case by receipt number, for the window and the departments taking part in it."""
    case = await case_row(ctx, receipt_number, Action.CASE_READ)
    view = (await load_case_views(ctx, [case]))[0]
    await guard(
        ctx,
        Action.CASE_READ,
        [view.applicant.id_number, *([view.counterparty.id_number] if view.counterparty else [])],
        material_types=[m.requirement.material_type.code for m in view.materials],
        object_ref=case_ref(case.receipt_number),
    )
    return view


@all_or_nothing
async def attach_existing(ctx: RequestContext, receipt_number: str, material_version_id: int) -> CaseView:
    """Attach a version already on file (reuse), pinned: the review sees exactly these bytes."""
    case = await case_row(ctx, receipt_number, Action.CASE_ATTACH, for_update=True)
    found = (await repo.versions_with_materials(ctx.session, [material_version_id])).get(material_version_id)
    if found is None:
        await guard_case(ctx, case, Action.CASE_ATTACH)
        raise NotFound("no material version with this id", field="materialVersionId")
    version, material = found
    requirement = {r.material_type.id: r for r in await case_requirements(ctx, case)}.get(material.material_type_id)
    await guard_case(ctx, case, Action.CASE_ATTACH, [requirement.material_type.code] if requirement else [])
    check_attachable(case)
    if (
        requirement is not None
        and material.applicant_id == case.counterparty_applicant_id
        and requirement.material_type.code in await cancelled_types(ctx, case)
    ):
        # The seller's certificate, which the transfer ends: an access to the seller's data too.
        counterparty = (await repo.applicants_by_ids(ctx.session, [material.applicant_id]))[material.applicant_id]
        await guard(
            ctx,
            Action.CASE_ATTACH,
            [counterparty.id_number],
            material_types=[requirement.material_type.code],
            object_ref=case_ref(case.receipt_number),
        )
    elif material.applicant_id != case.applicant_id:
        raise MaterialOfAnotherApplicant(
            "this material belongs to another applicant than the case's", field="materialVersionId"
        )
    if requirement is None:
        raise MaterialNotRequired("the case's items do not require this type of material", field="materialVersionId")
    if version.superseded_at is not None or not _usable(material, local_date(ctx.hub.clock())):
        raise MaterialNotValid(
            "only the current version of a valid, unexpired material can be attached",
            field="materialVersionId",
            status=material.status,
        )
    await _replace_attachment(ctx, case, requirement, AttachmentOrigin.REUSED, material.id, version.id)
    await ctx.commit()
    return (await load_case_views(ctx, [case]))[0]


async def attach_new_version(
    ctx: RequestContext, case: Case, requirement: Requirement, material_id: int, material_version_id: int
) -> None:
    """Record a version just uploaded for this case (the caller has checked, guarded, and commits)."""
    await _replace_attachment(ctx, case, requirement, AttachmentOrigin.UPLOADED, material_id, material_version_id)


@all_or_nothing
async def promise_material(
    ctx: RequestContext, receipt_number: str, material_type_code: str, promised_on: date
) -> CaseView:
    """容缺: accept the applicant's promise to hand in a non-key material by a date."""
    case = await case_row(ctx, receipt_number, Action.CASE_ATTACH, for_update=True)
    requirement = await requirement_by_code(ctx, case, material_type_code)
    await guard_case(ctx, case, Action.CASE_ATTACH, [requirement.material_type.code])
    check_attachable(case)
    if requirement.is_key:
        raise KeyMaterialCannotBePromised(
            f"{requirement.material_type.name} is a key material (要件): it must be handed in",
            field="materialType",
            materialType=requirement.material_type.code,
        )
    if promised_on < local_date(ctx.hub.clock()):
        raise InvalidInput("a promised date cannot be in the past", field="promisedOn")
    current = {a.material_type_id: a for a in (await repo.current_attachments(ctx.session, [case.id]))[case.id]}
    attached = current.get(requirement.material_type.id)
    if attached is not None and attached.material_version_id is not None:
        raise CaseStateConflict("this material is already handed in", field="materialType")
    await _replace_attachment(ctx, case, requirement, AttachmentOrigin.PROMISED, None, None, promised_on=promised_on)
    await ctx.commit()
    return (await load_case_views(ctx, [case]))[0]


@all_or_nothing
async def accept_case(ctx: RequestContext, receipt_number: str, item_codes: Sequence[str] | None = None) -> CaseView:
    """受理: check the materials of the items and distribute a review task to their departments at once.

    Without `item_codes`, every item not accepted yet, all complete or none. With them, those items
    only (一件事一次办): a bundle whose one item waits for a material issued later (the deed tax
    receipt of an estate transfer) accepts the complete items now and the rest later in the same
    case, with one receipt and one result list; each item's limits run from its own acceptance.
    """
    case = await case_row(ctx, receipt_number, Action.CASE_ACCEPT, for_update=True)
    view = (await load_case_views(ctx, [case]))[0]
    await guard_case(ctx, case, Action.CASE_ACCEPT)
    pending = view.pending_items
    if case.status not in (CaseStatus.OPEN.value, CaseStatus.ACCEPTED.value) or not pending:
        raise CaseStateConflict(f"the case is {case.status} with no item left to accept", status=case.status)
    chosen = _chosen_items(view, item_codes)
    items = [i.item for i in chosen]
    centre = await centres.centre_of_case(ctx, case)
    centres.check_accepted_at(centre, items)
    required = materials_required_for(items, await catalog_repo.materials_of_items(ctx.session, [i.id for i in items]))
    _check_complete(view, {r.material_type.code: r.is_key for r in required}, local_date(ctx.hub.clock()))
    now = ctx.hub.clock()
    if case.status == CaseStatus.OPEN.value:
        case.status = CaseStatus.ACCEPTED.value
        case.accepted_at = now
        case.accepted_by_principal_id = ctx.caller.principal_id
    await repo.accept_items(ctx.session, case.id, [i.id for i in items], now)
    # Each catalogue department's part goes to the department of its line at the deciding centre.
    distributed = {r.catalogue_department_id for r in view.reviews if r.assigned_at is not None}
    routes: dict[int, centres.Route] = {}
    for item in chosen:
        for route in await centres.deciding_routes(ctx.session, centre, item.item, item.departments):
            if (route.routed_from_department_id or route.department_id) not in distributed:
                routes.setdefault(route.department_id, route)
    await repo.add_review_tasks(
        ctx.session,
        case.id,
        [(r.department_id, r.centre_id, r.routed_from_department_id) for _, r in sorted(routes.items())],
        now,
    )
    await events.case_distributed(ctx, case)
    await ctx.commit()
    return (await load_case_views(ctx, [case]))[0]


def _chosen_items(view: CaseView, item_codes: Sequence[str] | None) -> tuple[ItemView, ...]:
    pending = view.pending_items
    if item_codes is None:
        return pending
    wanted = {code.strip() for code in item_codes}
    if not wanted:
        raise InvalidInput("name at least one item to accept", field="items")
    unknown = sorted(wanted - {i.item.code for i in view.items})
    if unknown:
        raise InvalidInput(f"items not in this case: {', '.join(unknown)}", field="items", codes=unknown)
    accepted = sorted(wanted - {i.item.code for i in pending})
    if accepted:
        raise CaseStateConflict(
            f"items accepted already: {', '.join(accepted)}", status=view.case.status, codes=accepted
        )
    return tuple(i for i in pending if i.item.code in wanted)


def _check_complete(view: CaseView, key_of_type: dict[str, bool], today: date) -> None:
    """Every material the chosen items need is handed in (valid) or, if not key, promised."""
    needed = [m for m in view.materials if m.requirement.material_type.code in key_of_type]
    missing_key = [
        m.requirement.material_type.code
        for m in needed
        if m.row is None and key_of_type[m.requirement.material_type.code]
    ]
    if missing_key:
        raise KeyMaterialMissing(
            f"key materials missing: {', '.join(missing_key)}", field="materials", materialTypes=missing_key
        )
    missing = [m.requirement.material_type.code for m in needed if m.row is None]
    if missing:
        raise MaterialMissing(
            f"materials neither handed in nor promised: {', '.join(missing)}",
            field="materials",
            materialTypes=missing,
        )
    lapsed = [m.requirement.material_type.code for m in needed if m.material and not _usable(m.material, today)]
    if lapsed:
        raise MaterialNotValid(
            f"attached materials revoked or expired since: {', '.join(lapsed)}; attach current ones",
            field="materials",
            materialTypes=lapsed,
        )


# Shared steps.


async def case_row(ctx: RequestContext, receipt_number: str, action: Action, *, for_update: bool = False) -> Case:
    case = await repo.case_by_receipt(ctx.session, receipt_number.strip(), for_update=for_update)
    if case is None:
        # Asking for a case that does not exist is an access attempt too.
        await guard(ctx, action, object_ref=case_ref(receipt_number.strip()))
        raise NotFound("no case with this receipt number", field="receiptNumber")
    return case


async def guard_case(ctx: RequestContext, case: Case, action: Action, material_types: Sequence[str] = ()) -> None:
    applicant = (await repo.applicants_by_ids(ctx.session, [case.applicant_id]))[case.applicant_id]
    await guard(
        ctx, action, [applicant.id_number], material_types=material_types, object_ref=case_ref(case.receipt_number)
    )


async def case_requirements(ctx: RequestContext, case: Case) -> list[Requirement]:
    items = (await repo.items_of_cases(ctx.session, [case.id]))[case.id]
    return materials_required_for(items, await catalog_repo.materials_of_items(ctx.session, [i.id for i in items]))


async def cancelled_types(ctx: RequestContext, case: Case) -> set[str]:
    """Material types whose holder's right the case's items end (the catalogue's `cancels`)."""
    items = (await repo.items_of_cases(ctx.session, [case.id]))[case.id]
    return {code for item in items for code in item.cancels.split(",") if code}


async def requirement_by_code(ctx: RequestContext, case: Case, code: str) -> Requirement:
    for requirement in await case_requirements(ctx, case):
        if requirement.material_type.code == code:
            return requirement
    raise MaterialNotRequired(
        f"the case's items do not require material type {code!r}", field="materialType", materialType=code
    )


def _usable(material: Material, today: date) -> bool:
    """Valid and not past its valid-until date (a material that outlives the case is the notice's job)."""
    return material.status == MaterialStatus.VALID.value and (
        material.valid_until is None or material.valid_until >= today
    )


def check_attachable(case: Case) -> None:
    if CaseStatus(case.status).closed:
        raise CaseStateConflict(f"the case is {case.status}; its materials are final", status=case.status)


async def _replace_attachment(
    ctx: RequestContext,
    case: Case,
    requirement: Requirement,
    origin: AttachmentOrigin,
    material_id: int | None,
    version_id: int | None,
    *,
    promised_on: date | None = None,
) -> None:
    """The new attachment becomes current; the previous one stays as history (and its promise date)."""
    now = ctx.hub.clock()
    type_id = requirement.material_type.id
    previous = {a.material_type_id: a for a in (await repo.current_attachments(ctx.session, [case.id]))[case.id]}
    kept_promise = previous[type_id].promised_on if type_id in previous else None
    await repo.supersede_attachment(ctx.session, case.id, type_id, now)
    await repo.add_attachment(
        ctx.session,
        CaseMaterial(
            case_id=case.id,
            material_type_id=type_id,
            origin=origin.value,
            material_id=material_id,
            material_version_id=version_id,
            promised_on=promised_on or kept_promise,
            attached_at=now,
            attached_by_principal_id=ctx.caller.principal_id,
        ),
    )
