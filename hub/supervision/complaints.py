"""办不成事: what an applicant could not get done, filed by them or by a window on their behalf,
sent to the supervision office with a response deadline and tracked to a resolution.

Simple complaints are due the same day, ordinary ones within 3 working days (the default), complex
ones within 5. The office resolves each as solved, explained, or a policy gap recorded. Filing and
the applicant's status read name the applicant and pass `guard` as `applicant.lookup` of that
applicant (object `complaint:<receipt>`), so an applicant principal does both for themselves only
and both are in the access log; the office's list and figures name no applicant.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from hub.access.actions import Action
from hub.access.auth import Role
from hub.access.context import RequestContext, all_or_nothing
from hub.access.guard import guard
from hub.calendar.workdays import add_working_days, local_date
from hub.errors import ComplaintStateConflict, Forbidden, InvalidInput, NotFound
from hub.identifiers import detect_kind
from storage.models import Department
from storage.models.supervision import Complaint
from storage.repositories import supervision as repo

MAX_TEXT = 4000


class Cause(StrEnum):
    MATERIALS = "materials"  # 材料: asked again for what was handed in, a material nobody could name
    PROCESS = "process"  # 流程: sent from window to window, an item nobody accepts
    SYSTEM = "system"  # 系统: a system down or a record not found
    ATTITUDE = "attitude"  # 态度
    POLICY = "policy"  # 政策: no rule allows it
    OTHER = "other"


class Complexity(StrEnum):
    SIMPLE = "simple"
    ORDINARY = "ordinary"
    COMPLEX = "complex"

    @property
    def working_days(self) -> int:
        return {Complexity.SIMPLE: 0, Complexity.ORDINARY: 3, Complexity.COMPLEX: 5}[self]


class Resolution(StrEnum):
    SOLVED = "solved"
    EXPLAINED = "explained"
    POLICY_GAP = "policy_gap"  # recorded for those who make the rules


class ComplaintStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class NewComplaint:
    applicant_id_number: str
    department: str
    centre: str
    what_happened: str
    cause: Cause
    item_code: str = ""
    complexity: Complexity = Complexity.ORDINARY


@dataclass(frozen=True, slots=True)
class ComplaintView:
    complaint: Complaint
    department: Department
    centre: Department
    today: date

    @property
    def overdue(self) -> bool:
        return self.complaint.status == ComplaintStatus.OPEN.value and self.today > self.complaint.respond_by


def _receipt(complaint: Complaint) -> str:
    return f"BCS-{local_date(complaint.filed_at):%Y%m%d}-{complaint.id:05d}"


def _text(value: str, field: str, *, required: bool = True) -> str:
    value = value.strip()
    if required and not value:
        raise InvalidInput(f"{field} is required", field=field)
    if len(value) > MAX_TEXT:
        raise InvalidInput(f"{field} has at most {MAX_TEXT} characters", field=field)
    return value


async def _department(ctx: RequestContext, code: str, field: str) -> Department:
    department = await repo.department_by_code(ctx.session, code.strip())
    if department is None:
        raise NotFound(f"no department {code!r}", field=field)
    return department


@all_or_nothing
async def file_complaint(ctx: RequestContext, new: NewComplaint) -> ComplaintView:
    """An applicant (for themselves) or a clerk (for the applicant at the window) files.

    Anyone else is refused after the guard, so the refusal is in the log with the rest: denied by
    the policy, or (a department system whose purpose allows the look-up) refused as FORBIDDEN."""
    applicant = detect_kind(new.applicant_id_number)[1]
    what = _text(new.what_happened, "whatHappened")
    department = await _department(ctx, new.department, "department")
    centre = await _department(ctx, new.centre, "centre")
    await guard(ctx, Action.APPLICANT_LOOKUP, [applicant], object_ref="complaint:new")
    if ctx.caller.role not in (Role.APPLICANT, Role.CLERK):
        raise Forbidden("an applicant or a window files a complaint", missing="right", right="complaint.file")
    now = ctx.hub.clock()
    complaint = Complaint(
        receipt_number=f"pending-{ctx.request_id}"[:32],
        applicant_ref=applicant,
        filed_by_principal_id=ctx.caller.principal_id,
        item_code=new.item_code.strip(),
        department_id=department.id,
        centre_department_id=centre.id,
        what_happened=what,
        cause=new.cause.value,
        complexity=new.complexity.value,
        filed_at=now,
        respond_by=add_working_days(local_date(now), new.complexity.working_days),
        status=ComplaintStatus.OPEN.value,
    )
    await repo.add_complaint(ctx.session, complaint)
    complaint.receipt_number = _receipt(complaint)
    await ctx.commit()
    return ComplaintView(complaint, department, centre, local_date(now))


async def complaint_status(ctx: RequestContext, receipt_number: str) -> ComplaintView:
    """The applicant (or a window for them) follows a complaint by its receipt number."""
    complaint = await repo.complaint_by_receipt(ctx.session, receipt_number.strip())
    if complaint is None:
        await guard(ctx, Action.APPLICANT_LOOKUP, object_ref=f"complaint:{receipt_number.strip()}")
        raise NotFound("no complaint with this receipt number", field="receiptNumber")
    await guard(ctx, Action.APPLICANT_LOOKUP, [complaint.applicant_ref], object_ref=f"complaint:{receipt_number}")
    return await _view(ctx, complaint)


async def _view(ctx: RequestContext, complaint: Complaint) -> ComplaintView:
    departments = await repo.departments(ctx.session)
    return ComplaintView(
        complaint,
        departments[complaint.department_id],
        departments[complaint.centre_department_id],
        local_date(ctx.hub.clock()),
    )


async def list_complaints(
    ctx: RequestContext, *, status: ComplaintStatus | None = None, first: int = 100
) -> list[ComplaintView]:
    """The office's list, oldest deadline first."""
    if not 1 <= first <= 500:
        raise InvalidInput("first must be between 1 and 500", field="first")
    await guard(ctx, Action.AUDIT_SEARCH, object_ref="supervision:complaints")
    rows = await repo.complaints(ctx.session, status=status.value if status else None, limit=first)
    return [await _view(ctx, row) for row in rows]


@all_or_nothing
async def resolve_complaint(
    ctx: RequestContext, receipt_number: str, resolution: Resolution, note: str
) -> ComplaintView:
    """The office records how a complaint ended, with a note; logged as `complaint.resolve` of
    `complaint:<receipt>` (naming no applicant: the office reads none)."""
    note = _text(note, "note")
    receipt_number = receipt_number.strip()
    await guard(ctx, Action.COMPLAINT_RESOLVE, object_ref=f"complaint:{receipt_number}")
    complaint = await repo.complaint_by_receipt(ctx.session, receipt_number, for_update=True)
    if complaint is None:
        raise NotFound("no complaint with this receipt number", field="receiptNumber")
    if complaint.status != ComplaintStatus.OPEN.value:
        raise ComplaintStateConflict("this complaint is already resolved", status=complaint.status)
    complaint.status = ComplaintStatus.RESOLVED.value
    complaint.resolution = resolution.value
    complaint.resolution_note = note
    complaint.resolved_at = ctx.hub.clock()
    complaint.resolved_by_principal_id = ctx.caller.principal_id
    await ctx.commit()
    return await _view(ctx, complaint)


@dataclass(frozen=True, slots=True)
class ComplaintFigures:
    """Complaints of one department and cause: filed, open, overdue, and how they ended."""

    department: Department
    cause: Cause
    filed: int
    open: int
    overdue: int
    resolutions: dict[Resolution, int]


async def complaint_figures(ctx: RequestContext, since: date | None = None) -> list[ComplaintFigures]:
    """By department and cause (no applicant named)."""
    await guard(ctx, Action.AUDIT_STATISTICS, object_ref="supervision:complaints")
    today = local_date(ctx.hub.clock())
    departments = await repo.departments(ctx.session)
    groups: dict[tuple[int, str], list[Complaint]] = {}
    for row in await repo.complaints(ctx.session, limit=1_000_000):
        if since is None or local_date(row.filed_at) >= since:
            groups.setdefault((row.department_id, row.cause), []).append(row)
    figures = []
    for (department_id, cause), rows in sorted(groups.items(), key=lambda g: (departments[g[0][0]].code, g[0][1])):
        ended = Counter(Resolution(r.resolution) for r in rows if r.resolution)
        still_open = [r for r in rows if r.status == ComplaintStatus.OPEN.value]
        figures.append(
            ComplaintFigures(
                departments[department_id],
                Cause(cause),
                len(rows),
                len(still_open),
                sum(1 for r in still_open if today > r.respond_by),
                dict(ended),
            )
        )
    return figures
