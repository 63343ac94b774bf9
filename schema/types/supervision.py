"""Electronic supervision (电子监察) over GraphQL: cases' courses and timing, warnings, departments'
months and ranking, access anomaly alerts with their evidence and their life (hub/supervision)."""

from __future__ import annotations

from datetime import date, datetime
from enum import Enum

import strawberry

from hub.cases.views import DepartmentReview
from hub.supervision import alerts as hub_alerts
from hub.supervision import cases as supervision
from hub.supervision import complaints as hub_complaints
from hub.supervision import sampling
from hub.supervision.evaluator import run_now
from hub.supervision.performance import DepartmentMonth
from hub.supervision.timing import ReviewTiming
from hub.supervision.timing import TimingState as HubTimingState
from schema import typed
from schema.context import Info
from schema.types.audit import Checkpoint, InclusionProof, b64, checkpoint_of
from schema.types.authorisations import Authorisation, authorisation_of, today_of
from schema.types.cases import CaseOutcome, CaseStatus, Deadline, Decision, ReviewState, deadline_of
from schema.types.catalog import Department, ServiceItem, department_of, service_item_of


@strawberry.enum(description="GREEN; YELLOW when few working days remain; RED once the promised deadline has passed.")
class TimingState(Enum):
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"


def _state(value: HubTimingState | None) -> TimingState | None:
    return TimingState(value.value) if value is not None else None


@strawberry.type(description="A department's decision on a case, without its comments.")
class SupervisedDecision:
    department: Department
    revision: int
    decision: Decision
    recorded_at: datetime
    from_minutes: bool
    authorisation: Authorisation | None = strawberry.field(
        description="首席代表: the authorisation a clerk decided under; null for a department system."
    )


@strawberry.type(description="One department's review as the supervision office judges it.")
class SupervisedReview:
    department: Department
    item_codes: list[str]
    state: ReviewState
    timing_state: TimingState | None = strawberry.field(description="Null once settled: no longer judged.")
    deadline: Deadline | None
    statutory_days: int | None
    working_days_spent: int | None
    settled_on: date | None
    deemed_approved: bool = strawberry.field(description="超时默许.")
    on_time: bool | None
    decisions: list[SupervisedDecision]


@strawberry.type(description="A service item of a supervised case, with its deadlines and timing state.")
class SupervisedItem:
    item: ServiceItem
    promised_deadline: Deadline | None
    statutory_deadline: Deadline | None
    timing_state: TimingState | None


@strawberry.type(description="A case's course for the supervision office: states, times, departments, decisions.")
class SupervisedCase:
    receipt_number: str
    status: CaseStatus
    outcome: CaseOutcome | None
    window: str
    window_department: Department
    opened_at: datetime
    accepted_at: datetime | None
    completed_at: datetime | None
    timing_state: TimingState | None = strawberry.field(description="Null until accepted.")
    items: list[SupervisedItem]
    reviews: list[SupervisedReview]


def supervised_case_of(found: supervision.SupervisedCase) -> SupervisedCase:
    view, timing = found.view, found.timing
    item_states = {i.item.code: i.state for i in timing.items} if timing else {}
    review_timing = {r.department_id: r for r in timing.reviews} if timing else {}
    return SupervisedCase(
        receipt_number=view.receipt_number,
        status=CaseStatus(view.status.value),
        outcome=CaseOutcome(view.outcome.value) if view.outcome else None,
        window=view.case.window,
        window_department=department_of(view.window_department),
        opened_at=view.case.opened_at,
        accepted_at=view.case.accepted_at,
        completed_at=view.case.completed_at,
        timing_state=_state(timing.state) if timing else None,
        items=[
            SupervisedItem(
                item=service_item_of(i.item),
                promised_deadline=deadline_of(i.promised),
                statutory_deadline=deadline_of(i.statutory),
                timing_state=_state(item_states.get(i.item.code)),
            )
            for i in view.items
        ],
        reviews=[_review_of(r, review_timing.get(r.department.id), view.today) for r in view.reviews],
    )


def _review_of(review: DepartmentReview, timing: ReviewTiming | None, today: date) -> SupervisedReview:
    return SupervisedReview(
        department=department_of(review.department),
        item_codes=list(review.item_codes),
        state=ReviewState(review.state.value),
        timing_state=_state(timing.state) if timing else None,
        deadline=deadline_of(timing.deadline) if timing else None,
        statutory_days=timing.statutory_days if timing else None,
        working_days_spent=timing.working_days if timing else None,
        settled_on=timing.settled_on if timing else None,
        deemed_approved=timing.deemed_approved if timing else False,
        on_time=timing.on_time if timing else None,
        decisions=[
            SupervisedDecision(
                department=department_of(o.department),
                revision=o.opinion.revision,
                decision=Decision(o.opinion.decision),
                recorded_at=o.opinion.recorded_at,
                from_minutes=o.opinion.minutes_id is not None,
                authorisation=authorisation_of(o.authorisation, today) if o.authorisation else None,
            )
            for o in review.opinions
        ],
    )


@strawberry.type(description="A department's review in a list of supervised cases.")
class ListedReview:
    department: Department
    timing_state: TimingState | None
    deadline: Deadline | None


@strawberry.type(description="An open case in the supervision office's list.")
class ListedCase:
    receipt_number: str
    window: str
    window_department: Department
    accepted_at: datetime
    item_codes: list[str]
    timing_state: TimingState
    reviews: list[ListedReview]


def listed_case_of(listed: supervision.ListedCase) -> ListedCase:
    facts = listed.timing.facts
    return ListedCase(
        receipt_number=facts.receipt_number,
        window=facts.window,
        window_department=department_of(listed.department(facts.window_department_id)),
        accepted_at=facts.accepted_at,
        item_codes=[i.code for i in facts.items],
        timing_state=TimingState(listed.timing.state.value),
        reviews=[
            ListedReview(
                department=department_of(listed.department(r.department_id)),
                timing_state=_state(r.state),
                deadline=deadline_of(r.deadline),
            )
            for r in listed.timing.reviews
        ],
    )


@strawberry.input(description="Which open cases to list; every field is optional.")
class SupervisedCaseFilter:
    state: TimingState | None = None
    department: str | None = strawberry.field(default=None, description="A department taking part (code).")
    window_department: str | None = strawberry.field(default=None, description="The receiving centre (code).")
    window: str | None = None
    item: str | None = strawberry.field(default=None, description="A service item code.")
    accepted_from: date | None = None
    accepted_to: date | None = None


@strawberry.type(
    description="预警提示: a case or a review turned YELLOW or RED, addressed to the department and the office."
)
class TimingWarning:
    receipt_number: str
    department: Department | None = strawberry.field(description="Null: the case as a whole.")
    state: TimingState
    previous_state: TimingState
    raised_at: datetime
    addressed_to: list[str] = strawberry.field(description="Department codes.")


@strawberry.type(description="A department's month: reviews handled, timeliness, compression, warnings, card.")
class DepartmentPerformance:
    department: Department
    handled: int = strawberry.field(description="Reviews settled in the month.")
    on_time: int
    on_time_rate: float | None
    average_working_days: float | None
    average_promised_days: float | None
    average_statutory_days: float | None
    compression_ratio: float | None = strawberry.field(description="1 - actual / statutory working days.")
    deemed_approvals: int = strawberry.field(description="超时默许.")
    yellow_warnings: int
    red_cases: int = strawberry.field(description="Cases whose review by the department turned RED in the month.")
    card: str | None = strawberry.field(description="yellow or red (黄牌警告), by the rules cards.monthly.")


def performance_of(month: DepartmentMonth) -> DepartmentPerformance:
    return DepartmentPerformance(
        department=department_of(month.department),
        handled=month.handled,
        on_time=month.on_time,
        on_time_rate=month.on_time_rate,
        average_working_days=month.average_working_days,
        average_promised_days=month.average_promised_days,
        average_statutory_days=month.average_statutory_days,
        compression_ratio=month.compression_ratio,
        deemed_approvals=month.deemed_approvals,
        yellow_warnings=month.yellow_warnings,
        red_cases=month.red_cases,
        card=month.card,
    )


@strawberry.type(description="A place in the monthly ranking (排行榜).")
class RankedDepartment:
    rank: int
    performance: DepartmentPerformance


@strawberry.enum(description="Where an alert's life stands.")
class AlertStatus(Enum):
    OPEN = "open"
    EXPLANATION_REQUESTED = "explanation_requested"
    EXPLAINED = "explained"
    CONFIRMED = "confirmed"
    DISMISSED = "dismissed"
    CLOSED = "closed"


@strawberry.type(description="One step of an alert's life, by a named principal (null: the evaluation).")
class AlertEvent:
    status: AlertStatus
    principal_id: int | None
    note: str
    at: datetime


@strawberry.type(description="An access anomaly found in the signed log.")
class Alert:
    id: int
    rule: str
    principal_id: int | None
    department_code: str
    summary: str
    seqs: list[int] = strawberry.field(description="The evidence: sequence numbers of log entries.")
    raised_at: datetime
    status: AlertStatus
    respond_by: date | None = strawberry.field(description="When the department's explanation is due.")
    escalated: bool
    events: list[AlertEvent]


def alert_of(view: hub_alerts.AlertView) -> Alert:
    alert = view.alert
    return Alert(
        id=alert.id,
        rule=alert.rule,
        principal_id=alert.principal_id,
        department_code=alert.department_code,
        summary=alert.summary,
        seqs=list(view.seqs),
        raised_at=alert.raised_at,
        status=AlertStatus(alert.status),
        respond_by=alert.respond_by,
        escalated=alert.escalated,
        events=[
            AlertEvent(status=AlertStatus(e.status), principal_id=e.principal_id, note=e.note, at=e.at)
            for e in view.events
        ],
    )


@strawberry.type(description="An alert's evidence: its entries with inclusion proofs in one signed checkpoint.")
class AlertEvidence:
    alert_id: int
    checkpoint: Checkpoint
    proofs: list[InclusionProof]


@strawberry.type(description="What one evaluation did; ran is false when another process was evaluating.")
class SupervisionRun:
    ran: bool
    cases: int
    reviews: int
    warnings: int
    entries: int
    alerts: int
    escalated: int


@strawberry.enum(description="办不成事: why something could not be done.")
class ComplaintCause(Enum):
    MATERIALS = "materials"
    PROCESS = "process"
    SYSTEM = "system"
    ATTITUDE = "attitude"
    POLICY = "policy"
    OTHER = "other"


@strawberry.enum(description="SIMPLE: answered the same day; ORDINARY: within 3 working days; COMPLEX: within 5.")
class ComplaintComplexity(Enum):
    SIMPLE = "simple"
    ORDINARY = "ordinary"
    COMPLEX = "complex"


@strawberry.enum
class ComplaintResolution(Enum):
    SOLVED = "solved"
    EXPLAINED = "explained"
    POLICY_GAP = "policy_gap"


@strawberry.enum
class ComplaintStatus(Enum):
    OPEN = "open"
    RESOLVED = "resolved"


@strawberry.type(description="办不成事: what an applicant could not get done, and where it stands.")
class Complaint:
    receipt_number: str
    item_code: str
    department: Department
    centre: Department
    what_happened: str
    cause: ComplaintCause
    complexity: ComplaintComplexity
    filed_at: datetime
    respond_by: date
    overdue: bool
    status: ComplaintStatus
    resolution: ComplaintResolution | None
    resolution_note: str
    resolved_at: datetime | None


def complaint_of(view: hub_complaints.ComplaintView) -> Complaint:
    row = view.complaint
    return Complaint(
        receipt_number=row.receipt_number,
        item_code=row.item_code,
        department=department_of(view.department),
        centre=department_of(view.centre),
        what_happened=row.what_happened,
        cause=ComplaintCause(row.cause),
        complexity=ComplaintComplexity(row.complexity),
        filed_at=row.filed_at,
        respond_by=row.respond_by,
        overdue=view.overdue,
        status=ComplaintStatus(row.status),
        resolution=ComplaintResolution(row.resolution) if row.resolution else None,
        resolution_note=row.resolution_note,
        resolved_at=row.resolved_at,
    )


@strawberry.input
class FileComplaintInput:
    id_number: str = strawberry.field(description="The applicant's resident ID or credit code.")
    department: str = strawberry.field(description="The department it could not be done at (code).")
    centre: str = strawberry.field(description="The service centre (code).")
    what_happened: str
    cause: ComplaintCause
    item_code: str = ""
    complexity: ComplaintComplexity = ComplaintComplexity.ORDINARY


@strawberry.type(description="Complaints of one department and cause.")
class ComplaintFigures:
    department: Department
    cause: ComplaintCause
    filed: int
    open: int
    overdue: int
    solved: int
    explained: int
    policy_gaps: int


@strawberry.type(description="A sampled case decided under a chief representative's authorisation.")
class AuthorisedDecision:
    receipt_number: str
    authorisation: Authorisation


@strawberry.type(description="抽查: a department's completed cases drawn for a month, with the seed that drew them.")
class CaseSample:
    month: str
    department: Department
    seed: int
    population: int = strawberry.field(description="Completed cases of the month the department reviewed.")
    receipt_numbers: list[str]
    drawn_at: datetime
    authorised_decisions: list[AuthorisedDecision] = strawberry.field(
        description="首席代表: the drawn cases the department decided under a clerk's authorisation."
    )


def sample_of(view: sampling.SampleView, today: date) -> CaseSample:
    return CaseSample(
        month=view.month,
        department=department_of(view.department),
        seed=view.seed,
        population=view.population,
        receipt_numbers=list(view.receipt_numbers),
        drawn_at=view.drawn_at,
        authorised_decisions=[
            AuthorisedDecision(receipt_number=d.receipt_number, authorisation=authorisation_of(d.authorisation, today))
            for d in view.authorised_decisions
        ],
    )


@strawberry.type
class SupervisionQuery:
    @typed.field(description="The supervision office: one case's course, under the purpose supervision:<ref>.")
    async def supervised_case(self, info: Info, receipt_number: str) -> SupervisedCase:
        return supervised_case_of(await supervision.supervised_case(info.context.hub, receipt_number))

    @typed.field(description="The supervision office: open accepted cases by timing state, worst first.")
    async def supervised_cases(
        self, info: Info, filter: SupervisedCaseFilter | None = None, first: int = 100
    ) -> list[ListedCase]:
        given = filter or SupervisedCaseFilter()
        where = supervision.CaseFilter(
            state=HubTimingState(given.state.value) if given.state else None,
            department=given.department,
            window_department=given.window_department,
            window=given.window,
            item=given.item,
            accepted_from=given.accepted_from,
            accepted_to=given.accepted_to,
        )
        return [listed_case_of(c) for c in await supervision.supervised_cases(info.context.hub, where, first=first)]

    @typed.field(description="The supervision office: timing warnings (预警提示), newest first.")
    async def timing_warnings(
        self,
        info: Info,
        since: date | None = None,
        until: date | None = None,
        department: str | None = None,
        first: int = 100,
    ) -> list[TimingWarning]:
        found = await supervision.timing_warnings(
            info.context.hub, since=since, until=until, department=department, first=first
        )
        return [
            TimingWarning(
                receipt_number=w.receipt_number,
                department=department_of(w.department) if w.department else None,
                state=TimingState(w.warning.state),
                previous_state=TimingState(w.warning.previous_state),
                raised_at=w.warning.raised_at,
                addressed_to=w.warning.addressed_to.split(","),
            )
            for w in found
        ]

    @typed.field(description="The supervision office: each department's month (YYYY-MM).")
    async def department_performance(self, info: Info, month: str) -> list[DepartmentPerformance]:
        return [performance_of(m) for m in await supervision.performance(info.context.hub, month)]

    @typed.field(description="The supervision office: the monthly ranking (排行榜), best first.")
    async def department_ranking(self, info: Info, month: str) -> list[RankedDepartment]:
        ranked = await supervision.monthly_ranking(info.context.hub, month)
        return [RankedDepartment(rank=r.rank, performance=performance_of(r.month)) for r in ranked]

    @typed.field(description="The supervision office: access anomaly alerts, newest first.")
    async def supervision_alerts(
        self, info: Info, status: AlertStatus | None = None, rule: str | None = None, first: int = 100
    ) -> list[Alert]:
        wanted = hub_alerts.AlertStatus(status.value) if status else None
        return [
            alert_of(v) for v in await hub_alerts.list_alerts(info.context.hub, status=wanted, rule=rule, first=first)
        ]

    @typed.field(description="The supervision office: an alert's entries with inclusion proofs in one checkpoint.")
    async def alert_evidence(self, info: Info, alert_id: int) -> AlertEvidence:
        found = await hub_alerts.evidence(info.context.hub, alert_id)
        return AlertEvidence(
            alert_id=found.alert.id,
            checkpoint=checkpoint_of(found.checkpoint),
            proofs=[
                InclusionProof(
                    seq=p.seq,
                    leaf_index=p.leaf_index,
                    tree_size=p.tree_size,
                    entry=p.entry.decode("utf-8"),
                    leaf_hash=b64(p.leaf_hash),
                    hashes=[b64(h) for h in p.hashes],
                    checkpoint=checkpoint_of(p.checkpoint),
                )
                for p in found.proofs
            ],
        )

    @typed.field(description="办不成事: a complaint's status, for the applicant (or a window for them).")
    async def complaint_status(self, info: Info, receipt_number: str) -> Complaint:
        return complaint_of(await hub_complaints.complaint_status(info.context.hub, receipt_number))

    @typed.field(description="The supervision office: complaints (办不成事), the nearest deadline first.")
    async def supervision_complaints(
        self, info: Info, status: ComplaintStatus | None = None, first: int = 100
    ) -> list[Complaint]:
        wanted = hub_complaints.ComplaintStatus(status.value) if status else None
        return [
            complaint_of(v) for v in await hub_complaints.list_complaints(info.context.hub, status=wanted, first=first)
        ]

    @typed.field(description="The supervision office: complaints by department and cause.")
    async def complaint_figures(self, info: Info, since: date | None = None) -> list[ComplaintFigures]:
        ended = hub_complaints.Resolution
        return [
            ComplaintFigures(
                department=department_of(f.department),
                cause=ComplaintCause(f.cause.value),
                filed=f.filed,
                open=f.open,
                overdue=f.overdue,
                solved=f.resolutions.get(ended.SOLVED, 0),
                explained=f.resolutions.get(ended.EXPLAINED, 0),
                policy_gaps=f.resolutions.get(ended.POLICY_GAP, 0),
            )
            for f in await hub_complaints.complaint_figures(info.context.hub, since)
        ]

    @typed.field(description="The supervision office: the month's samples (抽查), under a supervision purpose.")
    async def case_samples(self, info: Info, month: str) -> list[CaseSample]:
        return [sample_of(v, today_of(info)) for v in await sampling.samples_of(info.context.hub, month)]


@strawberry.type
class SupervisionMutation:
    @typed.mutation(description="The supervision office: evaluate timing and the access log now.")
    async def run_supervision(self, info: Info) -> SupervisionRun:
        run = await run_now(info.context.hub)
        if run is None:
            return SupervisionRun(ran=False, cases=0, reviews=0, warnings=0, entries=0, alerts=0, escalated=0)
        return SupervisionRun(
            ran=True,
            cases=run.timing.cases,
            reviews=run.timing.reviews,
            warnings=run.timing.warnings,
            entries=run.anomalies.entries,
            alerts=run.anomalies.alerts,
            escalated=run.escalated,
        )

    @typed.mutation(
        description="A step of an alert's life with a note: the office requests an explanation, confirms, "
        "dismisses or closes; the alert's department explains."
    )
    async def advance_alert(self, info: Info, alert_id: int, to: AlertStatus, note: str = "") -> Alert:
        view = await hub_alerts.advance(info.context.hub, alert_id, hub_alerts.AlertStatus(to.value), note)
        return alert_of(view)

    @typed.mutation(description="办不成事: an applicant, or a window on their behalf, files what could not be done.")
    async def file_complaint(self, info: Info, input: FileComplaintInput) -> Complaint:
        view = await hub_complaints.file_complaint(
            info.context.hub,
            hub_complaints.NewComplaint(
                applicant_id_number=input.id_number,
                department=input.department,
                centre=input.centre,
                what_happened=input.what_happened,
                cause=hub_complaints.Cause(input.cause.value),
                item_code=input.item_code,
                complexity=hub_complaints.Complexity(input.complexity.value),
            ),
        )
        return complaint_of(view)

    @typed.mutation(description="The supervision office records how a complaint ended, with a note.")
    async def resolve_complaint(
        self, info: Info, receipt_number: str, resolution: ComplaintResolution, note: str
    ) -> Complaint:
        view = await hub_complaints.resolve_complaint(
            info.context.hub, receipt_number, hub_complaints.Resolution(resolution.value), note
        )
        return complaint_of(view)

    @typed.mutation(
        description="The supervision office draws N completed cases per department for a month (抽查), "
        "reproducibly; a department already drawn keeps its draw."
    )
    async def draw_case_samples(
        self, info: Info, month: str, per_department: int, seed: int | None = None
    ) -> list[CaseSample]:
        drawn = await sampling.draw_samples(info.context.hub, month, per_department, seed)
        return [sample_of(v, today_of(info)) for v in drawn]
