"""The "case" purpose: what a department may read while it reviews a case (purpose "case:<receipt>").

A department taking part in the case (or the case's window) reads that case, the applicant's profile, and the materials of
the types the case's items require (and the results issued by it), nothing of other applicants and
no other case. A department not taking part gets no scope at all, so the policy denies and logs.
"""

from __future__ import annotations

from collections.abc import Iterable

from hub.access.context import RequestContext
from hub.access.policy import PurposeScope, caller_centre_id, register_purpose_resolver
from hub.cases.notice import notice_ref
from hub.identifiers import ApplicantKind
from hub.profiles.fields import allowed_fields
from storage.models import Material, MaterialVersion
from storage.repositories import cases as repo
from storage.repositories import catalog as catalog_repo

KIND = "case"


async def case_purpose_scope(ctx: RequestContext, receipt_number: str) -> PurposeScope | None:
    case = await repo.case_by_receipt(ctx.session, receipt_number)
    if case is None:
        return None
    # Three-level halls: the window is its department at its centre.
    at_its_window = case.window_department_id == ctx.caller.department_id and (
        case.centre_id is None or await caller_centre_id(ctx) == case.centre_id
    )
    if not at_its_window and not await repo.case_ids_with_department(ctx.session, [case.id], ctx.caller.department_id):
        return None
    parties = await repo.applicants_by_ids(
        ctx.session, [case.applicant_id, *([case.counterparty_applicant_id] if case.counterparty_applicant_id else [])]
    )
    applicant = parties[case.applicant_id]
    items = (await repo.items_of_cases(ctx.session, [case.id]))[case.id]
    required = await catalog_repo.materials_of_items(ctx.session, [item.id for item in items])
    type_codes = {material_type.code for per_item in required.values() for material_type, _ in per_item}
    attached = (await repo.current_attachments(ctx.session, [case.id]))[case.id]
    results = (await repo.results_of_cases(ctx.session, [case.id]))[case.id]
    version_ids = [a.material_version_id for a in attached if a.material_version_id] + [
        r.material_version_id for r in results
    ]
    versions = await repo.versions_with_materials(ctx.session, version_ids)
    type_codes |= await _result_type_codes(ctx, [material.material_type_id for _, material in versions.values()])
    return PurposeScope(
        profile_fields=allowed_fields(ApplicantKind(applicant.kind)),
        material_types=frozenset(type_codes),
        # The counterparty too: a seller's certificate the case pins and cancels is read under it.
        applicant_refs=frozenset(party.id_number for party in parties.values()),
        # The case's one-time notice too: the window checks what is on file for the case's items.
        object_refs=frozenset(
            {f"case:{case.receipt_number}", "materials", notice_ref(item.code for item in items)}
            | _material_refs(versions.values())
        ),
    )


def _material_refs(pinned: Iterable[tuple[MaterialVersion, Material]]) -> set[str]:
    """The case's materials and their pinned versions, as the document store names them in the log."""
    refs: set[str] = set()
    for version, material in pinned:
        refs.add(f"material:{material.id}")
        refs.add(f"material:{material.id}/version:{version.version_no}")
    return refs


async def _result_type_codes(ctx: RequestContext, type_ids: list[int]) -> set[str]:
    types = await catalog_repo.material_types_by_ids(ctx.session, sorted(set(type_ids)))
    return {material_type.code for material_type in types.values()}


register_purpose_resolver(KIND, case_purpose_scope)
