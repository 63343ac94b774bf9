"""What a case looks like when read: items and their deadlines, materials, reviews, results.

Views are assembled for a batch of cases with a fixed number of queries, and every time-dependent
part (deadlines, overdue promises, 超时默许) is computed here on read from today's date, on the
official calendar in force (`hub.calendar.notices.official_calendar`), with each department's
pauses: the corrections it waits for (read from its opinions and the materials handed in since)
and the periods it excluded (art. 45).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from hub.access.context import RequestContext
from hub.calendar.notices import official_calendar
from hub.calendar.workdays import WorkingCalendar, local_date
from hub.cases.clocks import OpinionFact, StoredPauseFact, clock_stops
from hub.cases.deadlines import Deadline, Pause, deadline, working_days_spent
from hub.cases.notice import Requirement, materials_required_for
from hub.profiles.applicants import ApplicantRecord
from storage.models import Centre, Department, Material, MaterialType, MaterialVersion, ServiceItem
from storage.models.cases import (
    AttachmentOrigin,
    Case,
    CaseMaterial,
    CaseOutcome,
    CaseStatus,
    Decision,
    JointReviewMinutes,
    Opinion,
    PauseReason,
    ReviewTask,
)
from storage.repositories import cases as repo
from storage.repositories import catalog as catalog_repo
from storage.repositories import centres as centres_repo


class ReviewState(StrEnum):
    NOT_DISTRIBUTED = "not_distributed"  # the case is not accepted yet
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    NEEDS_CORRECTION = "needs_correction"
    DEEMED_APPROVED = "deemed_approved"  # 超时默许: silent past the promised deadline

    @property
    def settled(self) -> bool:
        return self in (ReviewState.APPROVED, ReviewState.REJECTED, ReviewState.DEEMED_APPROVED)


_STATE_OF_DECISION = {
    Decision.APPROVE.value: ReviewState.APPROVED,
    Decision.REJECT.value: ReviewState.REJECTED,
    Decision.NEEDS_CORRECTION.value: ReviewState.NEEDS_CORRECTION,
}


@dataclass(frozen=True, slots=True)
class ItemView:
    item: ServiceItem
    departments: tuple[Department, ...]
    accepted_at: datetime | None  # None while pending: the case, or this item of a bundle, not accepted yet
    promised: Deadline | None  # None until accepted
    statutory: Deadline | None


@dataclass(frozen=True, slots=True)
class AttachmentView:
    requirement: Requirement
    row: CaseMaterial | None  # None: neither handed in nor promised
    material: Material | None
    version: MaterialVersion | None
    promise_overdue: bool

    @property
    def origin(self) -> AttachmentOrigin | None:
        return AttachmentOrigin(self.row.origin) if self.row is not None else None


@dataclass(frozen=True, slots=True)
class OpinionView:
    opinion: Opinion
    department: Department


@dataclass(frozen=True, slots=True)
class PauseView:
    """A stretch a department's clock stood still: a correction awaited, or an excluded period."""

    department_id: int
    reason: PauseReason
    started_at: datetime
    ended_at: datetime | None  # None while it lasts
    note: str
    working_days: int  # working days it kept off the count so far

    @property
    def open(self) -> bool:
        return self.ended_at is None

    @property
    def span(self) -> Pause:
        return Pause(local_date(self.started_at), local_date(self.ended_at) if self.ended_at else None)


@dataclass(frozen=True, slots=True)
class DepartmentReview:
    department: Department
    item_codes: tuple[str, ...]
    assigned_at: datetime | None
    deadline: Deadline | None
    state: ReviewState
    opinions: tuple[OpinionView, ...]  # every revision, oldest first
    working_days_spent: int | None
    pauses: tuple[PauseView, ...] = ()  # oldest first
    # Three-level halls: the centre whose department decides, and the catalogue department whose
    # part this is (the department itself unless the case was routed to a local one).
    centre: Centre | None = None
    routed_from: Department | None = None

    @property
    def catalogue_department_id(self) -> int:
        return (self.routed_from or self.department).id

    @property
    def paused(self) -> bool:
        return any(p.open for p in self.pauses)


@dataclass(frozen=True, slots=True)
class MinutesView:
    minutes: JointReviewMinutes
    opinions: tuple[OpinionView, ...]


@dataclass(frozen=True, slots=True)
class ResultView:
    material_type: MaterialType
    material: Material
    version: MaterialVersion
    issuing_department: Department | None


@dataclass(frozen=True, slots=True)
class Reuse:
    """Materials of a case (or of many) reused from the store versus newly handed in."""

    reused: int
    uploaded: int
    promised: int

    @property
    def ratio(self) -> float | None:
        submitted = self.reused + self.uploaded
        return self.reused / submitted if submitted else None


@dataclass(frozen=True, slots=True)
class CaseView:
    case: Case
    applicant: ApplicantRecord
    counterparty: ApplicantRecord | None
    window_department: Department
    today: date
    # Three-level halls: the centre that received the case, and where the applicant collects (就近办).
    centre: Centre | None
    collect_centre: Centre | None
    results_collected_centre: Centre | None
    items: tuple[ItemView, ...]
    materials: tuple[AttachmentView, ...]
    reviews: tuple[DepartmentReview, ...]
    minutes: tuple[MinutesView, ...]
    results: tuple[ResultView, ...]

    @property
    def receipt_number(self) -> str:
        return self.case.receipt_number

    @property
    def status(self) -> CaseStatus:
        return CaseStatus(self.case.status)

    @property
    def outcome(self) -> CaseOutcome | None:
        return CaseOutcome(self.case.outcome) if self.case.outcome else None

    @property
    def departments(self) -> tuple[Department, ...]:
        return tuple(review.department for review in self.reviews)

    @property
    def reuse(self) -> Reuse:
        origins = [a.origin for a in self.materials]
        return Reuse(
            origins.count(AttachmentOrigin.REUSED),
            origins.count(AttachmentOrigin.UPLOADED),
            origins.count(AttachmentOrigin.PROMISED),
        )

    @property
    def overdue(self) -> bool:
        return any_overdue(self.items)

    @property
    def overdue_promises(self) -> tuple[AttachmentView, ...]:
        return tuple(a for a in self.materials if a.promise_overdue)

    @property
    def unmet_promises(self) -> tuple[AttachmentView, ...]:
        return tuple(a for a in self.materials if a.origin is AttachmentOrigin.PROMISED)

    @property
    def pending_items(self) -> tuple[ItemView, ...]:
        return tuple(i for i in self.items if i.accepted_at is None)

    @property
    def open_reviews(self) -> tuple[DepartmentReview, ...]:
        return tuple(r for r in self.reviews if not r.state.settled)


def any_overdue(items: Sequence[ItemView]) -> bool:
    """Past a promised deadline of one of its items."""
    return any(item.promised is not None and item.promised.overdue for item in items)


async def load_case_views(ctx: RequestContext, cases: Sequence[Case]) -> list[CaseView]:
    """Views of these cases, with about ten queries in all however many cases there are."""
    if not cases:
        return []
    session = ctx.session
    today = local_date(ctx.hub.clock())
    calendar = await official_calendar(session)
    case_ids = [case.id for case in cases]
    with_departments = await repo.items_with_departments_of_cases(session, case_ids)
    acceptances = await repo.item_acceptances(session, case_ids)
    items = {case_id: [item for item, _ in per_case] for case_id, per_case in with_departments.items()}
    item_departments = {
        item.id: departments for per_case in with_departments.values() for item, departments in per_case
    }
    item_ids = sorted(item_departments)
    item_materials = await catalog_repo.materials_of_items(session, item_ids)
    attachments = await repo.current_attachments(session, case_ids)
    tasks = await repo.review_tasks(session, case_ids)
    opinions = await repo.opinions(session, case_ids)
    pauses = await _pauses_of(ctx, cases, calendar, today, opinions)
    minutes = await repo.minutes_of_cases(session, case_ids)
    results = await repo.results_of_cases(session, case_ids)
    version_ids = [a.material_version_id for per in attachments.values() for a in per if a.material_version_id]
    version_ids += [r.material_version_id for per in results.values() for r in per]
    versions = await repo.versions_with_materials(session, version_ids)
    department_ids = {case.window_department_id for case in cases}
    department_ids |= {
        d for per in tasks.values() for t in per for d in (t.department_id, t.routed_from_department_id) if d
    }
    department_ids |= {o.department_id for per in opinions.values() for o in per}
    department_ids |= {m.issuing_department_id for m in (m for _, m in versions.values()) if m.issuing_department_id}
    departments = await repo.departments_by_ids(session, sorted(department_ids))
    applicants = await repo.applicants_by_ids(
        session,
        [case.applicant_id for case in cases]
        + [case.counterparty_applicant_id for case in cases if case.counterparty_applicant_id],
    )
    centres = await centres_repo.centres_by_ids(
        session,
        [c for case in cases for c in (case.centre_id, case.collect_centre_id, case.results_collected_centre_id) if c]
        + [t.centre_id for per in tasks.values() for t in per if t.centre_id],
    )
    result_types = await catalog_repo.material_types_by_ids(
        session, sorted({versions[r.material_version_id][1].material_type_id for per in results.values() for r in per})
    )
    views = []
    for case in cases:
        case_items = items.get(case.id, [])
        case_pauses = _with_routed_pauses(pauses.get(case.id, {}), tasks.get(case.id, []))
        views.append(
            CaseView(
                case=case,
                applicant=ApplicantRecord.of(applicants[case.applicant_id]),
                counterparty=ApplicantRecord.of(applicants[case.counterparty_applicant_id])
                if case.counterparty_applicant_id
                else None,
                window_department=departments[case.window_department_id],
                today=today,
                centre=centres.get(case.centre_id) if case.centre_id else None,
                collect_centre=centres.get(case.collect_centre_id) if case.collect_centre_id else None,
                results_collected_centre=centres.get(case.results_collected_centre_id)
                if case.results_collected_centre_id
                else None,
                items=tuple(
                    _item_view(
                        calendar,
                        case,
                        item,
                        item_departments.get(item.id, []),
                        acceptances[case.id].get(item.id),
                        today,
                        case_pauses,
                    )
                    for item in case_items
                ),
                materials=_attachment_views(
                    materials_required_for(case_items, item_materials), attachments.get(case.id, []), versions, today
                ),
                reviews=_reviews(
                    calendar,
                    case,
                    case_items,
                    item_departments,
                    acceptances[case.id],
                    tasks.get(case.id, []),
                    opinions.get(case.id, []),
                    case_pauses,
                    today,
                    departments,
                    centres,
                ),
                minutes=_minutes(minutes.get(case.id, []), opinions.get(case.id, []), departments),
                results=tuple(
                    _result_view(*versions[r.material_version_id], result_types, departments)
                    for r in results.get(case.id, [])
                ),
            )
        )
    return views


async def load_item_views(ctx: RequestContext, cases: Sequence[Case]) -> list[tuple[ItemView, ...]]:
    """Only the items of these cases and their deadlines, with the pauses that move them."""
    if not cases:
        return []
    today = local_date(ctx.hub.clock())
    calendar = await official_calendar(ctx.session)
    case_ids = [case.id for case in cases]
    items = await repo.items_with_departments_of_cases(ctx.session, case_ids)
    acceptances = await repo.item_acceptances(ctx.session, case_ids)
    pauses = await _pauses_of(ctx, cases, calendar, today, await repo.opinions(ctx.session, case_ids))
    tasks = await repo.review_tasks(ctx.session, case_ids)
    return [
        tuple(
            _item_view(
                calendar,
                case,
                item,
                departments,
                acceptances[case.id].get(item.id),
                today,
                _with_routed_pauses(pauses.get(case.id, {}), tasks.get(case.id, [])),
            )
            for item, departments in items.get(case.id, [])
        )
        for case in cases
    ]


async def _pauses_of(
    ctx: RequestContext,
    cases: Sequence[Case],
    calendar: WorkingCalendar,
    today: date,
    opinions: dict[int, list[Opinion]],
) -> dict[int, dict[int, list[PauseView]]]:
    """Every case's pauses by department (hub/cases/clocks.py: corrections awaited, excluded periods)."""
    case_ids = [case.id for case in cases]
    stored = await repo.pauses(ctx.session, case_ids)
    handed_in = await repo.handed_in_times(ctx.session, case_ids)
    result: dict[int, dict[int, list[PauseView]]] = {}
    for case in cases:
        reference = _reference_day(case, today)
        stops = clock_stops(
            (OpinionFact(o.department_id, o.decision, o.recorded_at, o.comments) for o in opinions.get(case.id, [])),
            (
                StoredPauseFact(p.department_id, p.reason, p.started_at, p.ended_at, p.note)
                for p in stored.get(case.id, [])
            ),
            handed_in.get(case.id, []),
        )
        result[case.id] = {
            department_id: [
                PauseView(
                    s.department_id, s.reason, s.started_at, s.ended_at, s.note, s.working_days(calendar, reference)
                )
                for s in own
            ]
            for department_id, own in stops.items()
        }
    return result


def _result_view(
    version: MaterialVersion,
    material: Material,
    material_types: dict[int, MaterialType],
    departments: dict[int, Department],
) -> ResultView:
    issuer = departments.get(material.issuing_department_id) if material.issuing_department_id else None
    return ResultView(material_types[material.material_type_id], material, version, issuer)


def _with_routed_pauses(pauses: dict[int, list[PauseView]], tasks: Sequence[ReviewTask]) -> dict[int, list[PauseView]]:
    """A routed department's pauses (three-level halls) stop its catalogue department's items too."""
    routed = {
        t.routed_from_department_id: t.department_id
        for t in tasks
        if t.routed_from_department_id is not None and t.department_id in pauses
    }
    if not routed:
        return pauses
    merged = dict(pauses)
    for catalogue_id, reviewer_id in routed.items():
        merged[catalogue_id] = [*merged.get(catalogue_id, []), *pauses[reviewer_id]]
    return merged


def _reference_day(case: Case, today: date) -> date:
    """Deadlines of a finished case are judged on its completion (or withdrawal, or abandonment) day,
    of an open one on today."""
    finished = case.completed_at or case.closed_at
    return local_date(finished) if finished is not None else today


def _item_view(
    calendar: WorkingCalendar,
    case: Case,
    item: ServiceItem,
    departments: Sequence[Department],
    accepted_at: datetime | None,
    today: date,
    pauses: dict[int, list[PauseView]],
) -> ItemView:
    """An item's limits run from its own acceptance (a bundle's items may be accepted days apart), and
    its clock stands still while any of its departments' clocks does: the applicant's correction or
    an expert review holds up the item's decision as a whole."""
    if accepted_at is None:
        return ItemView(item, tuple(departments), None, None, None)
    start, reference = local_date(accepted_at), _reference_day(case, today)
    spans = [p.span for d in departments for p in pauses.get(d.id, [])]
    return ItemView(
        item,
        tuple(departments),
        accepted_at,
        deadline(calendar, start, item.promised_days, reference, spans),
        deadline(calendar, start, item.statutory_days, reference, spans),
    )


def _attachment_views(
    required: Sequence[Requirement],
    attachments: Sequence[CaseMaterial],
    versions: dict[int, tuple[MaterialVersion, Material]],
    today: date,
) -> tuple[AttachmentView, ...]:
    by_type = {a.material_type_id: a for a in attachments}
    views = []
    for requirement in required:
        row = by_type.get(requirement.material_type.id)
        version, material = (
            versions.get(row.material_version_id, (None, None)) if row and row.material_version_id else (None, None)
        )
        promise_overdue = (
            row is not None
            and row.origin == AttachmentOrigin.PROMISED.value
            and row.promised_on is not None
            and row.promised_on < today
        )
        views.append(AttachmentView(requirement, row, material, version, promise_overdue))
    return tuple(views)


def _reviews(
    calendar: WorkingCalendar,
    case: Case,
    case_items: Sequence[ServiceItem],
    item_departments: dict[int, list[Department]],
    acceptances: dict[int, datetime | None],
    tasks: Sequence[ReviewTask],
    opinions: Sequence[Opinion],
    pauses: dict[int, list[PauseView]],
    today: date,
    departments: dict[int, Department],
    centres: dict[int, Centre],
) -> tuple[DepartmentReview, ...]:
    # A catalogue department's part routed to a local one (three-level halls) is that one's review.
    routed = {t.routed_from_department_id: t for t in tasks if t.routed_from_department_id is not None}
    participants: dict[int, tuple[Department, list[ServiceItem]]] = {}
    for item in case_items:
        for department in item_departments.get(item.id, []):
            task = routed.get(department.id)
            reviewer = departments[task.department_id] if task else department
            participants.setdefault(reviewer.id, (reviewer, []))[1].append(item)
    task_of = {task.department_id: task for task in tasks}
    reviews = []
    for department_id in sorted(participants, key=lambda d: participants[d][0].code):
        department, items = participants[department_id]
        own = tuple(OpinionView(o, department) for o in opinions if o.department_id == department_id)
        task = task_of.get(department_id)
        if task is None:
            reviews.append(
                DepartmentReview(
                    department, tuple(i.code for i in items), None, None, ReviewState.NOT_DISTRIBUTED, own, None
                )
            )
            continue
        latest = own[-1].opinion if own else None
        state = _STATE_OF_DECISION[latest.decision] if latest else ReviewState.PENDING
        # The clock stops when the department settles, and stands still while it is paused (a
        # correction awaited, an excluded period): 超时默许 is judged on the adjusted deadline.
        settled_on = local_date(latest.recorded_at) if latest and state.settled else None
        reference = settled_on or _reference_day(case, today)
        start = local_date(task.assigned_at)
        own_pauses = tuple(pauses.get(department_id, []))
        spans = [p.span for p in own_pauses]
        # The department's limit is the earliest of its accepted items', each from its own acceptance
        # (a task exists only once one of its items is accepted).
        accepted = [(i, when) for i in items if (when := acceptances.get(i.id)) is not None]
        limit = min(
            (deadline(calendar, local_date(when), i.promised_days, reference, spans) for i, when in accepted),
            key=lambda d: d.due_on,
        )
        silence_consents = all(i.silence_is_consent for i, _ in accepted)
        if latest is None and silence_consents and limit.overdue:
            state = ReviewState.DEEMED_APPROVED
        reviews.append(
            DepartmentReview(
                department,
                tuple(i.code for i in items),
                task.assigned_at,
                limit,
                state,
                own,
                working_days_spent(calendar, start, reference, spans),
                own_pauses,
                centres.get(task.centre_id) if task.centre_id else None,
                departments[task.routed_from_department_id] if task.routed_from_department_id else None,
            )
        )
    return tuple(reviews)


def _minutes(
    minutes: Sequence[JointReviewMinutes], opinions: Sequence[Opinion], departments: dict[int, Department]
) -> tuple[MinutesView, ...]:
    return tuple(
        MinutesView(m, tuple(OpinionView(o, departments[o.department_id]) for o in opinions if o.minutes_id == m.id))
        for m in minutes
    )
