"""Timing supervision: every accepted case and every department's review is GREEN, YELLOW or RED.

RED once a promised deadline (承诺时限) has passed; YELLOW when fewer working days remain than the
item's threshold (default a third of its promised days, hub/supervision/rules.py); GREEN otherwise.
A review stops being judged once its department has settled (approved, rejected, or 超时默许).
Deadlines come from hub/cases/deadlines.py, so the office sees the same dates as the departments.

`evaluate_timing` stores the last state of each case and review, and raises one warning (预警提示)
per change into YELLOW or RED, addressed to the department and to the supervision office.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession

from hub.calendar.notices import official_calendar
from hub.calendar.workdays import WorkingCalendar, local_date
from hub.cases.deadlines import Deadline, deadline, working_days_spent
from hub.supervision.rules import Rules
from storage.models.cases import Case, CaseStatus, Decision
from storage.models.supervision import WHOLE_CASE
from storage.repositories import supervision as repo


class TimingState(StrEnum):
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"

    @property
    def severity(self) -> int:
        return _SEVERITY[self]


_SEVERITY = {TimingState.GREEN: 0, TimingState.YELLOW: 1, TimingState.RED: 2}
_SETTLING = {Decision.APPROVE.value, Decision.REJECT.value}


@dataclass(frozen=True, slots=True)
class ItemFacts:
    item_id: int
    code: str
    promised_days: int
    statutory_days: int
    silence_is_consent: bool
    department_ids: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class CaseFacts:
    """What timing needs of a case: dates, items, and each department's latest opinion."""

    case_id: int
    receipt_number: str
    window: str
    window_department_id: int
    status: str
    accepted_at: datetime
    completed_at: datetime | None
    items: tuple[ItemFacts, ...]
    # department id -> (decision, recorded at) of its latest revision
    latest_opinions: dict[int, tuple[str, datetime]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ItemTiming:
    item: ItemFacts
    promised: Deadline
    statutory: Deadline
    state: TimingState


@dataclass(frozen=True, slots=True)
class ReviewTiming:
    """One department's review of a case, as the office judges it."""

    department_id: int
    item_codes: tuple[str, ...]
    deadline: Deadline  # the earliest promised limit among its items
    statutory_days: int  # the shortest statutory limit among its items
    state: TimingState | None  # None once settled: no longer judged
    settled_on: date | None
    deemed_approved: bool  # 超时默许
    working_days: int | None  # spent until settled, or until the reference day

    @property
    def on_time(self) -> bool | None:
        """Settled by its deadline (a silent approval is not an answer in time)."""
        if self.settled_on is None:
            return None
        due = self.deadline.due_on
        return not self.deemed_approved and (due is None or self.settled_on <= due)


@dataclass(frozen=True, slots=True)
class CaseTiming:
    facts: CaseFacts
    state: TimingState
    items: tuple[ItemTiming, ...]
    reviews: tuple[ReviewTiming, ...]

    def review_of(self, department_id: int) -> ReviewTiming | None:
        return next((r for r in self.reviews if r.department_id == department_id), None)


def state_of(limit: Deadline, yellow_below: float) -> TimingState:
    if limit.overdue:
        return TimingState.RED
    if limit.remaining_working_days is not None and limit.remaining_working_days < yellow_below:
        return TimingState.YELLOW
    return TimingState.GREEN


def case_timing(calendar: WorkingCalendar, facts: CaseFacts, today: date, rules: Rules) -> CaseTiming:
    """The timing of one case seen on `today` (a completed case is judged on its completion day)."""
    start = local_date(facts.accepted_at)
    reference = local_date(facts.completed_at) if facts.completed_at is not None else today
    items = tuple(
        _item_timing(calendar, item, start, reference, rules.yellow_below(item.code, item.promised_days))
        for item in facts.items
    )
    reviews = tuple(_reviews(calendar, facts, start, reference, rules))
    state = max((i.state for i in items), key=lambda s: s.severity, default=TimingState.GREEN)
    return CaseTiming(facts, state, items, reviews)


# Cases accepted the same day with the same items are judged alike: the judgments are memoised
# (100,000 open cases share a few hundred acceptance days and items).
@lru_cache(maxsize=65536)
def _item_timing(
    calendar: WorkingCalendar, item: ItemFacts, start: date, reference: date, yellow_below: float
) -> ItemTiming:
    promised = deadline(calendar, start, item.promised_days, reference)
    statutory = deadline(calendar, start, item.statutory_days, reference)
    return ItemTiming(item, promised, statutory, state_of(promised, yellow_below))


def _reviews(
    calendar: WorkingCalendar, facts: CaseFacts, start: date, reference: date, rules: Rules
) -> Iterable[ReviewTiming]:
    own_items: dict[int, list[ItemFacts]] = defaultdict(list)
    for item in facts.items:
        for department_id in item.department_ids:
            own_items[department_id].append(item)
    for department_id in sorted(own_items):
        items = tuple(own_items[department_id])
        first = min(items, key=lambda i: i.promised_days)
        latest = facts.latest_opinions.get(department_id)
        settled_on = local_date(latest[1]) if latest is not None and latest[0] in _SETTLING else None
        yellow_below = rules.yellow_below(first.code, first.promised_days)
        yield _review_timing(calendar, department_id, items, start, reference, latest is None, settled_on, yellow_below)


@lru_cache(maxsize=65536)
def _review_timing(
    calendar: WorkingCalendar,
    department_id: int,
    items: tuple[ItemFacts, ...],
    start: date,
    reference: date,
    silent: bool,
    settled_on: date | None,
    yellow_below: float,
) -> ReviewTiming:
    first = min(items, key=lambda i: i.promised_days)
    limit = deadline(calendar, start, first.promised_days, settled_on or reference)
    deemed = silent and all(i.silence_is_consent for i in items) and limit.overdue
    if deemed and limit.due_on is not None:
        settled_on = limit.due_on
    return ReviewTiming(
        department_id,
        tuple(i.code for i in items),
        limit,
        min(i.statutory_days for i in items),
        None if settled_on is not None else state_of(limit, yellow_below),
        settled_on,
        deemed,
        working_days_spent(calendar, start, settled_on or reference),
    )


async def load_facts(session: AsyncSession, where: ColumnElement[bool]) -> list[CaseFacts]:
    """The timing facts of every accepted case matching `where`: four queries in all."""
    cases = await repo.case_rows(session, where & Case.accepted_at.is_not(None))
    if not cases:
        return []
    item_departments = await repo.departments_of_items(session)
    items: dict[int, list[ItemFacts]] = defaultdict(list)
    known: dict[int, ItemFacts] = {}
    for case_id, item_id, code, promised, statutory, silence in await repo.case_item_rows(session, where):
        item = known.get(item_id)
        if item is None:
            item = known[item_id] = ItemFacts(
                item_id, code, promised, statutory, silence, tuple(item_departments.get(item_id, ()))
            )
        items[case_id].append(item)
    opinions: dict[int, dict[int, tuple[str, datetime]]] = defaultdict(dict)
    for case_id, department_id, _revision, decision, recorded_at in await repo.opinion_rows(session, where):
        opinions[case_id][department_id] = (decision, recorded_at)
    return [
        CaseFacts(
            row.id,
            row.receipt_number,
            row.window,
            row.window_department_id,
            row.status,
            row.accepted_at,
            row.completed_at,
            tuple(items.get(row.id, ())),
            opinions.get(row.id, {}),
        )
        for row in cases
    ]


def accepted_and_open() -> ColumnElement[bool]:
    return Case.status == CaseStatus.ACCEPTED.value


@dataclass(frozen=True, slots=True)
class TimingRun:
    cases: int
    reviews: int
    warnings: int


async def evaluate_timing(session: AsyncSession, now: datetime, rules: Rules) -> TimingRun:
    """Judge every open accepted case and review; store changes; warn once per change (caller commits)."""
    today = local_date(now)
    calendar = await official_calendar(session)
    facts = await load_facts(session, accepted_and_open())
    stored = await repo.timing_states(session, accepted_and_open())
    office = ",".join(await repo.supervision_office_codes(session))
    codes = {d.id: d.code for d in (await repo.departments(session)).values()}
    new_rows: list[dict[str, Any]] = []
    changed_rows: list[dict[str, Any]] = []
    warning_rows: list[dict[str, Any]] = []
    reviews = 0
    for case in facts:
        timing = case_timing(calendar, case, today, rules)
        subjects: list[tuple[int, TimingState, int]] = [(WHOLE_CASE, timing.state, case.window_department_id)]
        for review in timing.reviews:
            if review.state is not None:
                reviews += 1
                subjects.append((review.department_id, review.state, review.department_id))
        for department_id, state, addressee in subjects:
            previous = stored.get((case.case_id, department_id))
            if previous is None:
                new_rows.append(
                    {"case_id": case.case_id, "department_id": department_id, "state": state.value, "since": now}
                )
                before = TimingState.GREEN
            elif previous[1] != state.value:
                changed_rows.append({"id": previous[0], "state": state.value, "since": now})
                before = TimingState(previous[1])
            else:
                continue
            if state is not TimingState.GREEN and state != before:
                warning_rows.append(
                    {
                        "case_id": case.case_id,
                        "department_id": department_id,
                        "state": state.value,
                        "previous_state": before.value,
                        "raised_at": now,
                        "raised_on": today,
                        "addressed_to": ",".join(c for c in (codes.get(addressee, ""), office) if c),
                    }
                )
    await repo.add_timing_states(session, new_rows)
    await repo.update_timing_states(session, changed_rows)
    await repo.add_warnings(session, warning_rows)
    return TimingRun(len(facts), reviews, len(warning_rows))
