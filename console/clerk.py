"""The window clerk (综合窗口): find an applicant by ID, give the one-time notice, open a case, gather
its materials (reuse what is on file, upload the rest, take a promise for a non-key one), accept it
and print the receipt; later withdraw it at the applicant's request or record the results collected."""

from __future__ import annotations

from datetime import date
from urllib.parse import quote

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response

from console.web import Page
from hub.access.accounts import Person
from hub.cases.closing import collect_results, withdraw_case
from hub.cases.completion import CaseFile, upload_for_case
from hub.cases.intake import accept_case, attach_existing, find_case, open_case, promise_material
from hub.cases.notice import Holding, one_time_notice
from hub.cases.submissions import prior_submissions
from hub.catalog.catalogue import current_service_items
from hub.documents.materials import FileUpload, materials_of_applicants
from hub.errors import InvalidInput
from hub.halls.visits import open_visit
from hub.identifiers import detect_kind
from hub.profiles.applicants import current_fields, find_applicant
from storage.models.cases import CaseStatus


async def lookup(page: Page) -> Response:
    """The ID typed or scanned into the search box (a scanner types it and presses Enter)."""
    id_number = page.request.query_params.get("id", "").strip().upper()
    if not id_number:
        return page.redirect("/")
    _, canonical = detect_kind(id_number)
    # The applicant presents their ID: the clerk's pages about them read within this visit.
    opened = await open_visit(page.ctx, canonical)
    return page.redirect(f"/applicants/{quote(canonical)}?visit={opened.id}")


def visit_purpose(request: Request, person: Person) -> str | None:
    """The visit the applicant's pages read under (hub/halls/visits.py), carried in the address."""
    visit = request.query_params.get("visit", "")
    return f"visit:{visit}" if visit.isdigit() else None


async def applicant(page: Page) -> Response:
    ctx = page.ctx
    id_number = page.request.path_params["id_number"]
    record = await find_applicant(ctx, id_number)
    fields = (await current_fields(ctx, [record]))[0]
    materials = (await materials_of_applicants(ctx, [record]))[0]
    submissions = (await prior_submissions(ctx, record.id_number)).cases
    items = await current_service_items(ctx.session)
    return page.render(
        "applicant.html",
        applicant=record,
        fields=fields,
        materials=materials,
        submissions=submissions,
        open_cases=[c for c in submissions if c.status is not CaseStatus.COMPLETED],
        items=items,
        visit=page.request.query_params.get("visit", ""),
    )


async def notice(page: Page) -> Response:
    id_number = page.request.path_params["id_number"]
    codes = page.request.query_params.getlist("item")
    if not codes:
        raise InvalidInput("pick at least one service item", field="item")
    found = await one_time_notice(page.ctx, codes, id_number)
    return page.render("notice.html", notice=found, Holding=Holding, codes=codes)


async def open_new_case(page: Page) -> Response:
    codes = page.form.getlist("item") if page.form is not None else []
    view = await open_case(page.ctx, page.field("id_number"), [str(c) for c in codes], page.field("window"))
    return page.redirect(f"/cases/{view.receipt_number}")


async def attach_on_file(page: Page) -> Response:
    """One click: attach every required material the hub holds, valid, that the case still lacks."""
    receipt = page.request.path_params["receipt"]
    view = await find_case(page.ctx, receipt)
    lacking = {a.requirement.material_type.code for a in view.materials if a.row is None}
    found = await one_time_notice(page.ctx, [item.item.code for item in view.items], view.applicant.id_number)
    for entry in found.entries:
        code = entry.requirement.material_type.code
        if code in lacking and entry.holding is Holding.ON_FILE_VALID and entry.on_file is not None:
            await attach_existing(page.ctx, receipt, entry.on_file.version_id)
    return page.redirect(f"/cases/{receipt}")


async def upload(page: Page) -> Response:
    receipt = page.request.path_params["receipt"]
    handed_in = page.form.get("file") if page.form is not None else None
    if not isinstance(handed_in, UploadFile) or not handed_in.filename:
        raise InvalidInput("choose a file", field="file")
    await upload_for_case(
        page.ctx,
        receipt,
        CaseFile(
            material_type=page.field("material_type"),
            title=page.field("title") or handed_in.filename,
            upload=FileUpload(handed_in.file, handed_in.filename, handed_in.content_type or "application/octet-stream"),
        ),
    )
    return page.redirect(f"/cases/{receipt}")


async def accept(page: Page) -> Response:
    receipt = page.request.path_params["receipt"]
    await accept_case(page.ctx, receipt)
    return page.redirect(f"/cases/{receipt}/receipt")


async def promise(page: Page) -> Response:
    """容缺: the applicant promises to hand in a non-key material by a date."""
    receipt = page.request.path_params["receipt"]
    try:
        promised_on = date.fromisoformat(page.field("promised_on"))
    except ValueError:
        raise InvalidInput("a date is YYYY-MM-DD", field="promised_on") from None
    await promise_material(page.ctx, receipt, page.field("material_type"), promised_on)
    return page.redirect(f"/cases/{receipt}")


async def withdraw(page: Page) -> Response:
    """撤回 at the window that received the case, with the applicant's reason."""
    receipt = page.request.path_params["receipt"]
    await withdraw_case(page.ctx, receipt, page.field("reason"))
    return page.redirect(f"/cases/{receipt}")


async def collect(page: Page) -> Response:
    """统一出件: the applicant collected the results at the window."""
    receipt = page.request.path_params["receipt"]
    await collect_results(page.ctx, receipt)
    return page.redirect(f"/cases/{receipt}")
