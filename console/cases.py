"""A case's page and its receipt, for the window and for the departments taking part.

A department's reviewer reads a case under the purpose "case:<receipt>" (hub/cases/purpose.py):
its materials, with links to download them through the document store's signed links, and the
form for the department's opinion.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from console.web import Page
from hub.access.accounts import Kind, Person
from hub.cases.intake import case_ref, find_case
from hub.cases.notice import Holding, one_time_notice
from hub.cases.views import CaseView
from hub.documents.materials import download_link, get_material
from storage.models.cases import CaseStatus, Decision


def case_purpose(request: Request, person: Person) -> str | None:
    """Reviewers act for their department, and the window for the applicant, under the case's purpose."""
    return case_ref(request.path_params["receipt"])


async def _on_file(page: Page, view: CaseView) -> dict[str, object]:
    """For the window: the required materials the hub holds, valid, that could be attached."""
    if page.person.kind is not Kind.CLERK or view.status is not CaseStatus.OPEN:
        return {}
    found = await one_time_notice(page.ctx, [item.item.code for item in view.items], view.applicant.id_number)
    return {
        entry.requirement.material_type.code: entry
        for entry in found.entries
        if entry.holding is Holding.ON_FILE_VALID and entry.on_file is not None
    }


async def _downloads(page: Page, view: CaseView) -> dict[int, str]:
    """For a reviewer: a signed download link for each pinned version (each fetch is guarded again)."""
    if page.person.kind is not Kind.REVIEWER:
        return {}
    links = {}
    for attached in view.materials:
        if attached.material is None or attached.version is None:
            continue
        detail = await get_material(page.ctx, attached.material.id)
        version = next((v for v in detail.versions if v.id == attached.version.id), None)
        if version is not None:
            links[version.id] = "/files/" + download_link(page.ctx, version).token
    return links


async def case(page: Page) -> Response:
    view = await find_case(page.ctx, page.request.path_params["receipt"])
    own_review = next((r for r in view.reviews if r.department.id == page.person.caller.department_id), None)
    return page.render(
        "case.html",
        case=view,
        on_file=await _on_file(page, view),
        downloads=await _downloads(page, view),
        own_review=own_review,
        decisions=[d.value for d in Decision],
    )


async def receipt(page: Page) -> Response:
    view = await find_case(page.ctx, page.request.path_params["receipt"])
    return page.render("receipt.html", case=view)
