"""Cases over GraphQL: the one-time notice, cases, reviews, completion, reuse figures.

Thin: inputs are parsed into hub use cases (hub.notice, hub.cases, hub.reviews, hub.completion,
hub.cases.submissions) and their views mapped to types. A case view is loaded whole by the use case, so
its fields resolve without further queries.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime
from enum import Enum
from typing import TypeVar, overload

import strawberry
from starlette.datastructures import UploadFile
from strawberry.file_uploads import Upload

from hub.access.context import RequestContext
from hub.cases import closing, completion, notice, pauses, reviews, submissions
from hub.cases import intake as cases
from hub.cases import views as case_views
from hub.cases.deadlines import Deadline as HubDeadline
from hub.documents import materials
from hub.profiles import applicants as profiles
from schema import typed
from schema.context import Info, selects
from schema.types.applicants import Applicant, PageInfo
from schema.types.authorisations import Authorisation, authorisation_of
from schema.types.catalog import Department, MaterialType, ServiceItem, department_of, material_type_of, service_item_of
from schema.types.halls import Centre, centre_of
from schema.types.plain import plain_of
from storage import models
from storage.models import cases as case_models

R = TypeVar("R")


@strawberry.enum(description="What the hub holds of a required material, as the one-time notice tells it.")
class NoticeHolding(Enum):
    ON_FILE_VALID = "on_file_valid"
    EXPIRES_BEFORE_DEADLINE = "expires_before_deadline"
    REVOKED_OR_EXPIRED = "revoked_or_expired"
    MISSING = "missing"


@strawberry.enum(
    description="OPEN (received), ACCEPTED (受理, under review), COMPLETED (办结), WITHDRAWN (撤回 by the "
    "applicant), ABANDONED (closed by the hub: not accepted in time, or results never collected)."
)
class CaseStatus(Enum):
    OPEN = "open"
    ACCEPTED = "accepted"
    COMPLETED = "completed"
    WITHDRAWN = "withdrawn"
    ABANDONED = "abandoned"


@strawberry.enum
class CaseOutcome(Enum):
    APPROVED = "approved"
    REFUSED = "refused"


@strawberry.enum(description="REUSED from the store, UPLOADED for this case, or PROMISED (容缺).")
class AttachmentOrigin(Enum):
    REUSED = "reused"
    UPLOADED = "uploaded"
    PROMISED = "promised"


@strawberry.enum
class Decision(Enum):
    APPROVE = "approve"
    REJECT = "reject"
    NEEDS_CORRECTION = "needs_correction"


@strawberry.enum(description="Where a department's review stands; DEEMED_APPROVED is 超时默许.")
class ReviewState(Enum):
    NOT_DISTRIBUTED = "not_distributed"
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    NEEDS_CORRECTION = "needs_correction"
    DEEMED_APPROVED = "deemed_approved"


@strawberry.type(description="A time limit in working days (限时办结), computed on the official calendar.")
class Deadline:
    working_days: int
    due_on: date = strawberry.field(description="The last day; pauses of the clock push it back.")
    due_after: date | None = strawberry.field(
        default=None,
        description="Always null: dueOn is always computed now.",
        deprecation_reason="dueOn is never null; see provisional.",
    )
    remaining_working_days: int = strawberry.field(description="0 on the day, negative once passed.")
    overdue: bool
    provisional: bool = strawberry.field(
        description="Runs through a year whose official holiday notice is not loaded (holidays by rule only); "
        "recomputed once it is."
    )
    paused_working_days: int = strawberry.field(description="Working days not counted: the clock was paused.")


def deadline_of(value: HubDeadline | None) -> Deadline | None:
    if value is None:
        return None
    return Deadline(
        working_days=value.working_days,
        due_on=value.due_on,
        remaining_working_days=value.remaining_working_days,
        overdue=value.overdue,
        provisional=value.provisional,
        paused_working_days=value.paused_working_days,
    )


@strawberry.type(description="A material version on file: what a case pins, or a notice would reuse.")
class MaterialOnFile:
    material_id: int
    material_version_id: int
    version_no: int
    title: str
    file_name: str
    valid_until: date | None
    status: str
    cancel_reason: str | None = strawberry.field(
        default=None, description="注销: why the right it proves ended (status cancelled)."
    )


@overload
def on_file(material: models.Material, version: models.MaterialVersion) -> MaterialOnFile: ...
@overload
def on_file(material: models.Material | None, version: models.MaterialVersion | None) -> MaterialOnFile | None: ...
def on_file(material: models.Material | None, version: models.MaterialVersion | None) -> MaterialOnFile | None:
    if material is None or version is None:
        return None
    return MaterialOnFile(
        material_id=material.id,
        material_version_id=version.id,
        version_no=version.version_no,
        title=material.title,
        file_name=version.file_name,
        valid_until=material.valid_until,
        status=material.status,
        cancel_reason=material.cancel_reason,
    )


@strawberry.type(description="One required material of the notice (deduplicated across the items).")
class NoticeEntry:
    material_type: MaterialType
    is_key: bool = strawberry.field(description="要件: cannot be missing at acceptance.")
    required_by: list[str] = strawberry.field(description="Codes of the items requiring it.")
    needed_until: date = strawberry.field(description="It must stay valid until the promised deadline.")
    holding: NoticeHolding
    on_file: MaterialOnFile | None = strawberry.field(description="What would be reused, or the best on file.")


@strawberry.type(description="联合一次性告知: every material the items need, and what the hub already holds.")
class OneTimeNotice:
    # Plain fields, filled by `one_time_notice_of`: a notice lists dozens of entries.
    catalog_version: int
    issued_on: date
    applicant: Applicant | None
    items: list[ServiceItem]
    entries: list[NoticeEntry]
    to_hand_in: int = strawberry.field(
        description="Materials the applicant must still hand in (not on file and valid)."
    )


def _notice_on_file(held: notice.HeldMaterial | None) -> MaterialOnFile | None:
    return None if held is None else plain_of(MaterialOnFile, held, material_version_id=held.version_id)


def one_time_notice_of(view: notice.Notice) -> OneTimeNotice:
    return OneTimeNotice(
        catalog_version=view.catalog_version_id,
        issued_on=view.issued_on,
        applicant=Applicant(record=view.applicant) if view.applicant else None,
        items=[service_item_of(item) for item in view.items],
        entries=[
            NoticeEntry(
                material_type=material_type_of(e.requirement.material_type),
                is_key=e.requirement.is_key,
                required_by=list(e.requirement.required_by),
                needed_until=e.needed_until,
                holding=NoticeHolding(e.holding.value),
                on_file=_notice_on_file(e.on_file),
            )
            for e in view.entries
        ],
        to_hand_in=view.to_hand_in,
    )


@strawberry.type(description="A service item of a case, with its deadlines from acceptance.")
class CaseItem:
    item: ServiceItem
    departments: list[Department]
    accepted_at: datetime | None = strawberry.field(
        description="受理 of this item; null while pending (a bundle accepts its complete items first)."
    )
    promised_deadline: Deadline | None = strawberry.field(description="承诺时限; null until accepted.")
    statutory_deadline: Deadline | None = strawberry.field(description="法定时限; null until accepted.")


@strawberry.type(description="A required material of a case: handed in (pinned version), promised, or missing.")
class CaseMaterial:
    material_type: MaterialType
    is_key: bool
    required_by: list[str]
    origin: AttachmentOrigin | None = strawberry.field(description="Null while neither handed in nor promised.")
    pinned: MaterialOnFile | None = strawberry.field(description="The exact version the departments review.")
    attached_at: datetime | None
    promised_on: date | None = strawberry.field(description="容缺: the date promised (kept once supplied).")
    promise_overdue: bool


@strawberry.type(description="One opinion of a department; a change is a new revision.")
class ReviewOpinion:
    department: Department
    revision: int
    decision: Decision
    comments: str
    fix_due_on: date | None
    recorded_at: datetime
    from_minutes: bool
    material_types: list[str] = strawberry.field(
        description="A correction request's deficient materials: the new ones handed in supersede them."
    )
    authorisation: Authorisation | None = strawberry.field(
        default=None, description="首席代表: the authorisation a clerk decided under; null for a department system."
    )


def opinion_of(value: case_views.OpinionView, today: date) -> ReviewOpinion:
    row = value.opinion
    return ReviewOpinion(
        department=department_of(value.department),
        revision=row.revision,
        decision=Decision(row.decision),
        comments=row.comments,
        fix_due_on=row.fix_due_on,
        recorded_at=row.recorded_at,
        from_minutes=row.minutes_id is not None,
        material_types=[code for code in row.correction_material_types.split(",") if code],
        authorisation=authorisation_of(value.authorisation, today) if value.authorisation else None,
    )


@strawberry.enum(description="Why a clock stands still: CORRECTION (补正, art. 32) or a period art. 45 excludes.")
class PauseReason(Enum):
    CORRECTION = "correction"
    HEARING = "hearing"
    TENDER_OR_AUCTION = "tender_or_auction"
    INSPECTION = "inspection"
    TESTING = "testing"
    QUARANTINE = "quarantine"
    APPRAISAL = "appraisal"
    EXPERT_REVIEW = "expert_review"


@strawberry.type(description="A stretch a department's clock stood still; its working days do not count.")
class ReviewPause:
    reason: PauseReason
    started_at: datetime
    ended_at: datetime | None = strawberry.field(description="Null while the pause lasts.")
    note: str = strawberry.field(description="The correction asked for, or what the applicant was told.")
    working_days: int = strawberry.field(description="Working days it kept off the count so far.")


def pause_of(value: case_views.PauseView) -> ReviewPause:
    return ReviewPause(
        reason=PauseReason(value.reason.value),
        started_at=value.started_at,
        ended_at=value.ended_at,
        note=value.note,
        working_days=value.working_days,
    )


@strawberry.type(description="A department's review task: its deadline, time spent and opinions.")
class DepartmentReview:
    department: Department
    item_codes: list[str]
    assigned_at: datetime | None
    deadline: Deadline | None = strawberry.field(description="The earliest promised limit of its items.")
    state: ReviewState
    working_days_spent: int | None = strawberry.field(description="Working days counted so far, pauses left out.")
    opinions: list[ReviewOpinion]
    pauses: list[ReviewPause] = strawberry.field(description="Corrections awaited and excluded periods, oldest first.")
    paused: bool = strawberry.field(description="Its clock stands still now.")
    centre: Centre | None = strawberry.field(
        default=None,
        description="Three-level halls: the centre whose department decides (a township's case at its county).",
    )
    routed_from: Department | None = strawberry.field(
        default=None, description="The catalogue department whose part was routed to this local department."
    )


@strawberry.type(description="联合审查纪要: a joint review and the opinions recorded in it.")
class ReviewMinutes:
    held_on: date
    summary: str
    recorded_at: datetime
    opinions: list[ReviewOpinion]


@strawberry.type(description="A result issued at completion (统一出件), now a material of the applicant.")
class IssuedResult:
    material_type: MaterialType
    issuing_department: Department | None
    issued_on: date | None
    material: MaterialOnFile


@strawberry.type(description="Materials reused from the store versus newly handed in.")
class Reuse:
    reused: int
    uploaded: int
    promised: int
    ratio: float | None = strawberry.field(description="reused / (reused + uploaded); null when none.")


def reuse_of(value: case_views.Reuse) -> Reuse:
    return Reuse(reused=value.reused, uploaded=value.uploaded, promised=value.promised, ratio=value.ratio)


@strawberry.type(description="A case (办件): one application at one window for one or more items.")
class Case:
    # Either the whole view (one case, or a mutation's answer) or a listing (an applicant's
    # cases), whose items and details are loaded on demand, batched over every listed case.
    view: strawberry.Private[case_views.CaseView | None] = None
    listing: strawberry.Private[submissions.CaseListing | None] = None

    @property
    def _source(self) -> case_views.CaseView | submissions.CaseListing:
        return self.view if self.view is not None else self.listing  # type: ignore[return-value]

    @property
    def _row(self) -> models.Case:
        return self._source.case

    async def _details(self, info: Info) -> case_views.CaseView:
        return self.view if self.view is not None else await self._on_demand(info, submissions.case_details)

    async def _items(self, info: Info) -> tuple[case_views.ItemView, ...]:
        return self.view.items if self.view is not None else await self._on_demand(info, submissions.case_items)

    async def _on_demand(
        self, info: Info, load: Callable[[RequestContext, list[submissions.CaseListing]], Awaitable[list[R]]]
    ) -> R:
        """What `load` gives for this listed case, batched over every listed case of the request."""
        assert self.listing is not None  # a case without its whole view is a listed one
        ctx = info.context.hub

        async def batch(listed: list[submissions.CaseListing]) -> list[R]:
            return await load(ctx, listed)

        return await info.context.loader(("case", load.__name__), batch).load(self.listing)

    @typed.field(description="受理编号: the China date of receipt and that day's sequence.")
    def receipt_number(self) -> str:
        return self._row.receipt_number

    @strawberry.field
    def status(self) -> CaseStatus:
        return CaseStatus(self._row.status)

    @strawberry.field
    def outcome(self) -> CaseOutcome | None:
        return CaseOutcome(self._row.outcome) if self._row.outcome else None

    @strawberry.field
    def applicant(self) -> Applicant:
        return Applicant(record=self._source.applicant)

    @typed.field(
        description="The other party (a seller), whose certificates the case's results may cancel; "
        "null in `Applicant.cases` lists, which load only the case rows."
    )
    def counterparty(self) -> Applicant | None:
        counterparty = self.view.counterparty if self.view is not None else None
        return Applicant(record=counterparty) if counterparty is not None else None

    @typed.field(description="The window that received the case, e.g. 综合窗口 3.")
    def window(self) -> str:
        return self._row.window

    @strawberry.field
    async def window_department(self, info: Info) -> Department:
        return department_of((await self._details(info)).window_department)

    @strawberry.field
    def catalog_version(self) -> int:
        return self._row.catalog_version_id

    @strawberry.field
    def opened_at(self) -> datetime:
        return self._row.opened_at

    @strawberry.field
    def accepted_at(self) -> datetime | None:
        return self._row.accepted_at

    @strawberry.field
    def completed_at(self) -> datetime | None:
        return self._row.completed_at

    @typed.field(description="When the applicant collected the results at the window (统一出件).")
    def results_collected_at(self) -> datetime | None:
        return self._row.results_collected_at

    @typed.field(description="Three-level halls: the service centre whose window received the case; null: none.")
    async def centre(self, info: Info) -> Centre | None:
        centre = (await self._details(info)).centre
        return centre_of(centre) if centre else None

    @typed.field(description="就近办: the centre where the applicant collects the results; null: the receiving window.")
    async def collect_at(self, info: Info) -> Centre | None:
        centre = (await self._details(info)).collect_centre
        return centre_of(centre) if centre else None

    @typed.field(description="The centre whose window handed the results over.")
    async def results_collected_centre(self, info: Info) -> Centre | None:
        centre = (await self._details(info)).results_collected_centre
        return centre_of(centre) if centre else None

    @typed.field(description="When the case was withdrawn or abandoned.")
    def closed_at(self) -> datetime | None:
        return self._row.closed_at

    @typed.field(description="Why it was withdrawn (the applicant's reason) or abandoned (the hub's rule).")
    def close_reason(self) -> str | None:
        return self._row.close_reason

    @strawberry.field
    async def items(self, info: Info) -> list[CaseItem]:
        if self.view is None and not selects(info, "acceptedAt", "promisedDeadline", "statutoryDeadline"):
            # Neither acceptance nor deadline asked for (the clerk's screen): the items alone.
            return [
                CaseItem(
                    item=service_item_of(item),
                    departments=[department_of(d) for d in departments],
                    accepted_at=None,
                    promised_deadline=None,
                    statutory_deadline=None,
                )
                for item, departments in await self._on_demand(info, submissions.untimed_case_items)
            ]
        return [
            CaseItem(
                item=service_item_of(i.item),
                departments=[department_of(d) for d in i.departments],
                accepted_at=i.accepted_at,
                promised_deadline=deadline_of(i.promised),
                statutory_deadline=deadline_of(i.statutory),
            )
            for i in await self._items(info)
        ]

    @strawberry.field
    async def departments(self, info: Info) -> list[Department]:
        return [department_of(d) for d in (await self._details(info)).departments]

    @strawberry.field
    async def materials(self, info: Info) -> list[CaseMaterial]:
        return [
            CaseMaterial(
                material_type=material_type_of(m.requirement.material_type),
                is_key=m.requirement.is_key,
                required_by=list(m.requirement.required_by),
                origin=AttachmentOrigin(m.origin.value) if m.origin else None,
                pinned=on_file(m.material, m.version),
                attached_at=m.row.attached_at if m.row else None,
                promised_on=m.row.promised_on if m.row else None,
                promise_overdue=m.promise_overdue,
            )
            for m in (await self._details(info)).materials
        ]

    @strawberry.field
    async def reviews(self, info: Info) -> list[DepartmentReview]:
        details = await self._details(info)
        return [
            DepartmentReview(
                department=department_of(r.department),
                item_codes=list(r.item_codes),
                assigned_at=r.assigned_at,
                deadline=deadline_of(r.deadline),
                state=ReviewState(r.state.value),
                working_days_spent=r.working_days_spent,
                opinions=[opinion_of(o, details.today) for o in r.opinions],
                pauses=[pause_of(p) for p in r.pauses],
                paused=r.paused,
                centre=centre_of(r.centre) if r.centre else None,
                routed_from=department_of(r.routed_from) if r.routed_from else None,
            )
            for r in details.reviews
        ]

    @strawberry.field
    async def minutes(self, info: Info) -> list[ReviewMinutes]:
        details = await self._details(info)
        return [
            ReviewMinutes(
                held_on=m.minutes.held_on,
                summary=m.minutes.summary,
                recorded_at=m.minutes.recorded_at,
                opinions=[opinion_of(o, details.today) for o in m.opinions],
            )
            for m in details.minutes
        ]

    @strawberry.field
    async def results(self, info: Info) -> list[IssuedResult]:
        return [
            IssuedResult(
                material_type=material_type_of(r.material_type),
                issuing_department=department_of(r.issuing_department) if r.issuing_department else None,
                issued_on=r.material.issued_on,
                material=on_file(r.material, r.version),
            )
            for r in (await self._details(info)).results
        ]

    @typed.field(description="Materials of this case reused from the store versus handed in anew.")
    async def reuse(self, info: Info) -> Reuse:
        return reuse_of((await self._details(info)).reuse)

    @typed.field(description="Past a promised deadline of one of its items.")
    async def overdue(self, info: Info) -> bool:
        return case_views.any_overdue(await self._items(info))

    @typed.field(description="Material types promised (容缺) and not handed in by the promised date.")
    async def overdue_promises(self, info: Info) -> list[str]:
        return [m.requirement.material_type.code for m in (await self._details(info)).overdue_promises]


@strawberry.type
class CaseEdge:
    cursor: str
    node: Case


@strawberry.type(description="A page of cases, newest first (Relay cursor connection).")
class CaseConnection:
    edges: list[CaseEdge]
    page_info: PageInfo


def connection_of(page: submissions.SubmissionPage) -> CaseConnection:
    edges = [CaseEdge(cursor=page.cursor_of(v), node=Case(view=v)) for v in page.cases]
    return CaseConnection(
        edges=edges,
        page_info=PageInfo(has_next_page=page.has_next_page, end_cursor=edges[-1].cursor if edges else None),
    )


@strawberry.type
class CaseQuery:
    @typed.field(description="联合一次性告知 for a set of items, before any case; with an applicant, what is on file.")
    async def one_time_notice(
        self, info: Info, items: list[str], id_number: str | None = None, catalog_version: int | None = None
    ) -> OneTimeNotice:
        view = await notice.one_time_notice(info.context.hub, items, id_number, catalog_version=catalog_version)
        return one_time_notice_of(view)

    @typed.field(description="One case by receipt number (the window, and departments taking part).")
    async def case(self, info: Info, receipt_number: str) -> Case:
        return Case(view=await cases.find_case(info.context.hub, receipt_number))

    @typed.field(description="Across all cases: materials reused from the store versus handed in anew.")
    async def reuse_figures(self, info: Info) -> Reuse:
        return reuse_of(await submissions.overall_reuse(info.context.hub))


@strawberry.input
class OpenCaseInput:
    id_number: str
    items: list[str] = strawberry.field(description="Service item codes of the current catalogue.")
    window: str
    catalog_version: int | None = strawberry.field(
        default=None, description="The version the notice was given on; refused if no longer current."
    )
    counterparty_id_number: str | None = strawberry.field(
        default=None, description="The other party (a seller), whose certificates the case's results may cancel (注销)."
    )
    collect_at: str | None = strawberry.field(
        default=None, description="就近办: the code of the centre where the applicant will collect the results."
    )


@strawberry.input
class AttachMaterialInput:
    receipt_number: str
    material_version_id: int


@strawberry.input
class UploadCaseMaterialInput:
    receipt_number: str
    material_type: str
    title: str
    file: Upload
    content_type: str = strawberry.field(description="The declared type, checked against the file's first bytes.")
    issuing_department: str | None = None
    issued_on: date | None = None
    valid_until: date | None = None


@strawberry.input
class PromiseMaterialInput:
    receipt_number: str
    material_type: str
    promised_on: date


@strawberry.input
class OpinionInput:
    decision: Decision
    comments: str = ""
    revision: bool = strawberry.field(default=False, description="Required to change an opinion already given.")
    fix_due_on: date | None = None
    material_types: list[str] = strawberry.field(
        default_factory=list,
        description="NEEDS_CORRECTION: the deficient materials (type codes); what replaces them supersedes them.",
    )


@strawberry.input
class RecordOpinionInput:
    receipt_number: str
    opinion: OpinionInput


@strawberry.input
class MinutesEntryInput:
    department: str
    opinion: OpinionInput


@strawberry.input
class RecordMinutesInput:
    receipt_number: str
    held_on: date
    summary: str
    entries: list[MinutesEntryInput]


@strawberry.input
class StartPauseInput:
    receipt_number: str
    reason: PauseReason = strawberry.field(description="A period art. 45 excludes; CORRECTION is refused.")
    note: str = strawberry.field(description="What the applicant is told about the time needed.")


@strawberry.input
class IssueResultInput:
    receipt_number: str
    material_type: str
    title: str
    issuing_department: str
    file: Upload
    content_type: str
    valid_until: date | None = strawberry.field(default=None, description="Defaults from the material type.")


def _file(upload: Upload, content_type: str) -> materials.FileUpload:
    """A multipart file part (spooled to disk by the parser) as the document store reads it."""
    # Typed by strawberry as bytes; over ASGI, multipart parsing gives a starlette UploadFile.
    assert isinstance(upload, UploadFile)
    return materials.FileUpload(upload.file, upload.filename or "", content_type)


def _opinion(value: OpinionInput) -> reviews.OpinionInput:
    return reviews.OpinionInput(
        decision=case_models.Decision(value.decision.value),
        comments=value.comments,
        revision=value.revision,
        fix_due_on=value.fix_due_on,
        material_types=tuple(value.material_types),
    )


@strawberry.type
class CaseMutation:
    @typed.mutation(description="Open a case at a window (统一接件); gives its receipt number.")
    async def open_case(self, info: Info, input: OpenCaseInput) -> Case:
        view = await cases.open_case(
            info.context.hub,
            input.id_number,
            input.items,
            input.window,
            catalog_version=input.catalog_version,
            counterparty_id_number=input.counterparty_id_number,
            collect_at=input.collect_at,
        )
        return Case(view=view)

    @typed.mutation(description="Attach a material version already on file (reuse), pinned.")
    async def attach_material(self, info: Info, input: AttachMaterialInput) -> Case:
        return Case(view=await cases.attach_existing(info.context.hub, input.receipt_number, input.material_version_id))

    @typed.mutation(description="Hand in a new material for the case: stored once, attached pinned.")
    async def upload_case_material(self, info: Info, input: UploadCaseMaterialInput) -> Case:
        handed_in = completion.CaseFile(
            material_type=input.material_type,
            title=input.title,
            upload=_file(input.file, input.content_type),
            issuing_department=input.issuing_department,
            issued_on=input.issued_on,
            valid_until=input.valid_until,
        )
        return Case(view=await completion.upload_for_case(info.context.hub, input.receipt_number, handed_in))

    @typed.mutation(description="容缺: accept a promise to hand in a non-key material by a date.")
    async def promise_material(self, info: Info, input: PromiseMaterialInput) -> Case:
        view = await cases.promise_material(
            info.context.hub, input.receipt_number, input.material_type, input.promised_on
        )
        return Case(view=view)

    @typed.mutation(
        description="受理: check the materials and send a review task to every department at once. With `items`, "
        "accept those items only (complete ones first, the rest later in the same case: 一件事一次办)."
    )
    async def accept_case(self, info: Info, receipt_number: str, items: list[str] | None = None) -> Case:
        return Case(view=await cases.accept_case(info.context.hub, receipt_number, items))

    @typed.mutation(description="The caller's department gives (or, with revision, changes) its opinion.")
    async def record_opinion(self, info: Info, input: RecordOpinionInput) -> Case:
        return Case(view=await reviews.record_opinion(info.context.hub, input.receipt_number, _opinion(input.opinion)))

    @typed.mutation(description="联合审查纪要: record a joint review with every department's opinion.")
    async def record_review_minutes(self, info: Info, input: RecordMinutesInput) -> Case:
        entries = [reviews.MinutesEntry(e.department, _opinion(e.opinion)) for e in input.entries]
        view = await reviews.record_minutes(
            info.context.hub, input.receipt_number, input.held_on, input.summary, entries
        )
        return Case(view=view)

    @typed.mutation(description="The caller's department stops its clock for a period art. 45 excludes.")
    async def start_pause(self, info: Info, input: StartPauseInput) -> Case:
        view = await pauses.start_pause(
            info.context.hub, input.receipt_number, case_models.PauseReason(input.reason.value), input.note
        )
        return Case(view=view)

    @typed.mutation(description="The excluded period is over: the caller's department's clock runs again.")
    async def end_pause(self, info: Info, receipt_number: str) -> Case:
        return Case(view=await pauses.end_pause(info.context.hub, receipt_number))

    @typed.mutation(description="A department that decided issues its result as a material of the applicant.")
    async def issue_result(self, info: Info, input: IssueResultInput) -> Case:
        result = completion.CaseFile(
            material_type=input.material_type,
            title=input.title,
            upload=_file(input.file, input.content_type),
            issuing_department=input.issuing_department,
            valid_until=input.valid_until,
        )
        return Case(view=await completion.issue_result(info.context.hub, input.receipt_number, result))

    @typed.mutation(description="统一出件: complete the case once every promise is kept and every review settled.")
    async def complete_case(self, info: Info, receipt_number: str) -> Case:
        return Case(view=await completion.complete_case(info.context.hub, receipt_number))

    @typed.mutation(description="The applicant collected the results of a completed case at its window.")
    async def collect_case_results(self, info: Info, receipt_number: str) -> Case:
        return Case(view=await closing.collect_results(info.context.hub, receipt_number))

    @typed.mutation(
        description="就近办: at the window that received the case, the applicant chooses the centre where they "
        "collect the results (a centre code; null: that window)."
    )
    async def choose_collect_at(self, info: Info, receipt_number: str, centre: str | None = None) -> Case:
        return Case(view=await closing.choose_collect_centre(info.context.hub, receipt_number, centre))

    @typed.mutation(
        description="撤回: the applicant withdraws the case, at the window that received it, with a reason."
    )
    async def withdraw_case(self, info: Info, receipt_number: str, reason: str) -> Case:
        return Case(view=await closing.withdraw_case(info.context.hub, receipt_number, reason))


async def recent_cases_of(
    info: Info, record: profiles.ApplicantRecord, status: CaseStatus | None, last: int
) -> list[Case]:
    """Applicant.cases: batched over every applicant in the response by one DataLoader."""
    ctx = info.context.hub
    wanted = case_models.CaseStatus(status.value) if status else None

    async def batch(records: list[profiles.ApplicantRecord]) -> list[list[Case]]:
        per_applicant = await submissions.recent_cases(ctx, records, status=wanted, limit=last)
        return [[Case(listing=entry) for entry in listed] for listed in per_applicant]

    return await info.context.loader(("applicant-cases", wanted, last), batch).load(record)


async def prior_submissions_of(
    info: Info,
    record: profiles.ApplicantRecord,
    text: str | None,
    status: CaseStatus | None,
    opened_from: date | None,
    opened_to: date | None,
    first: int,
    after: str | None,
) -> CaseConnection:
    search = submissions.SubmissionSearch(
        text=text,
        status=case_models.CaseStatus(status.value) if status else None,
        opened_from=opened_from,
        opened_to=opened_to,
    )
    ctx = info.context.hub

    async def batch(records: list[profiles.ApplicantRecord]) -> list[CaseConnection]:
        pages = await submissions.submissions_of(ctx, records, search, first=first, after=after)
        return [connection_of(page) for page in pages]

    return await info.context.loader(("prior-submissions", search, first, after), batch).load(record)
