"""What the supervision office reads of cases: one case's course, cases by timing state, warnings,
and each department's month. Every read passes `guard` and is in the access log.

A case's course (states, times, departments, decisions) is read under the purpose
`supervision:<ref>` (hub/supervision/purpose.py); aggregated figures name no applicant and are
logged as statistics.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement

from hub.access.actions import Action
from hub.access.context import RequestContext
from hub.access.guard import guard
from hub.calendar.notices import official_calendar
from hub.calendar.workdays import local_date
from hub.cases.intake import case_ref
from hub.cases.views import CaseView, load_case_views
from hub.errors import InvalidInput, NotFound
from hub.supervision.performance import DepartmentMonth, Month, RankedDepartment, department_months, ranking
from hub.supervision.rules import rules_in_force
from hub.supervision.timing import CaseTiming, TimingState, accepted_and_open, case_timing, load_facts
from storage.models import Department
from storage.models.cases import Case
from storage.models.supervision import TimingWarning
from storage.repositories import cases as cases_repo
from storage.repositories import supervision as repo

MAX_LISTED = 500


@dataclass(frozen=True, slots=True)
class SupervisedCase:
    view: CaseView
    timing: CaseTiming | None  # None until accepted


async def supervised_case(ctx: RequestContext, receipt_number: str) -> SupervisedCase:
    """One case's course for the office: no material content, no profile value."""
    receipt_number = receipt_number.strip()
    case = await cases_repo.case_by_receipt(ctx.session, receipt_number)
    if case is None:
        await guard(ctx, Action.CASE_READ, object_ref=case_ref(receipt_number))
        raise NotFound("no case with this receipt number", field="receiptNumber")
    applicant = (await cases_repo.applicants_by_ids(ctx.session, [case.applicant_id]))[case.applicant_id]
    await guard(ctx, Action.CASE_READ, [applicant.id_number], object_ref=case_ref(receipt_number))
    view = (await load_case_views(ctx, [case]))[0]
    timing = None
    if case.accepted_at is not None:
        rules = await rules_in_force(ctx.session)
        facts = await load_facts(ctx.session, Case.id == case.id)
        calendar = await official_calendar(ctx.session)
        timing = case_timing(calendar, facts[0], local_date(ctx.hub.clock()), rules)
    return SupervisedCase(view, timing)


@dataclass(frozen=True, slots=True)
class CaseFilter:
    state: TimingState | None = None
    department: str | None = None  # a department taking part
    window_department: str | None = None  # the centre whose window received the case
    window: str | None = None
    item: str | None = None
    accepted_from: date | None = None
    accepted_to: date | None = None


@dataclass(frozen=True, slots=True)
class ListedCase:
    timing: CaseTiming
    departments: dict[int, Department]

    def department(self, department_id: int) -> Department:
        return self.departments[department_id]


async def supervised_cases(ctx: RequestContext, where: CaseFilter, *, first: int = 100) -> list[ListedCase]:
    """Open accepted cases by timing state, worst first, then by receipt number."""
    if not 1 <= first <= MAX_LISTED:
        raise InvalidInput(f"first must be between 1 and {MAX_LISTED}", field="first")
    await guard(ctx, Action.CASE_SEARCH, object_ref="supervision:cases")
    departments = await repo.departments(ctx.session)
    condition: ColumnElement[bool] = accepted_and_open()
    if where.window is not None:
        condition = condition & (Case.window == where.window)
    if where.window_department is not None:
        centre = await _department_id(ctx, where.window_department)
        condition = condition & (Case.window_department_id == centre)
    department_id = await _department_id(ctx, where.department) if where.department is not None else None
    today = local_date(ctx.hub.clock())
    rules = await rules_in_force(ctx.session)
    listed = []
    calendar = await official_calendar(ctx.session)
    for facts in await load_facts(ctx.session, condition):
        accepted_on = local_date(facts.accepted_at)
        if (where.accepted_from and accepted_on < where.accepted_from) or (
            where.accepted_to and accepted_on > where.accepted_to
        ):
            continue
        if where.item is not None and all(item.code != where.item for item in facts.items):
            continue
        timing = case_timing(calendar, facts, today, rules)
        if department_id is not None and timing.review_of(department_id) is None:
            continue
        if where.state is not None and timing.state is not where.state:
            continue
        listed.append(ListedCase(timing, departments))
    listed.sort(key=lambda c: (-c.timing.state.severity, c.timing.facts.receipt_number))
    return listed[:first]


async def _department_id(ctx: RequestContext, code: str) -> int:
    department = await repo.department_by_code(ctx.session, code.strip())
    if department is None:
        raise NotFound(f"no department {code!r}", field="department")
    return department.id


async def performance(ctx: RequestContext, month: str) -> list[DepartmentMonth]:
    """Each department's month: reviews handled, on-time rate, working days, compression, cards."""
    parsed = Month.parse(month)
    await guard(ctx, Action.AUDIT_STATISTICS, object_ref=f"supervision:performance:{parsed.label}")
    return await department_months(ctx.session, parsed, ctx.hub.clock(), await rules_in_force(ctx.session))


async def monthly_ranking(ctx: RequestContext, month: str) -> list[RankedDepartment]:
    """排行榜 of the month."""
    parsed = Month.parse(month)
    await guard(ctx, Action.AUDIT_STATISTICS, object_ref=f"supervision:ranking:{parsed.label}")
    months = await department_months(ctx.session, parsed, ctx.hub.clock(), await rules_in_force(ctx.session))
    return ranking(months)


@dataclass(frozen=True, slots=True)
class WarningView:
    warning: TimingWarning
    receipt_number: str
    department: Department | None  # None: the case as a whole


async def timing_warnings(
    ctx: RequestContext,
    *,
    since: date | None = None,
    until: date | None = None,
    department: str | None = None,
    first: int = 100,
) -> list[WarningView]:
    """预警提示, newest first; a department's filter gives the warnings addressed to it."""
    if not 1 <= first <= MAX_LISTED:
        raise InvalidInput(f"first must be between 1 and {MAX_LISTED}", field="first")
    await guard(ctx, Action.AUDIT_SEARCH, object_ref="supervision:warnings")
    department_id = await _department_id(ctx, department) if department is not None else None
    departments = await repo.departments(ctx.session)
    rows = await repo.warnings(ctx.session, since=since, until=until, department_id=department_id, limit=first)
    return [WarningView(w, receipt, departments.get(w.department_id)) for w, receipt in rows]
