"""Timing supervision: every accepted case and every department's review is GREEN, YELLOW or RED.

RED once a promised deadline (承诺时限) has passed; YELLOW when fewer working days remain than the
item's threshold (default a third of its promised days, hub/supervision/rules.py); GREEN otherwise.
A review stops being judged once its department has settled (approved, rejected, or 超时默许).
Deadlines come from hub/cases/deadlines.py, each item's from its own acceptance and pushed back by
the clock stops of hub/cases/clocks.py (corrections awaited, excluded periods), so the office sees
the same dates as the departments in the case view.

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
from hub.cases.clocks import OpinionFact, StoredPauseFact, clock_stops
from hub.cases.deadlines import Deadline, Pause, deadline, working_days_spent
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
    """What timing needs of a case: dates, items, each department's latest opinion and clock stops."""

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
    # item id -> when that item was accepted (a bundle's items one by one), None while pending;
    # an item missing here counts as accepted with the case
    item_accepted: dict[int, datetime | None] = field(default_factory=dict)
    # department id -> the stretches its clock stood still (hub/cases/clocks.py)
    stops: dict[int, tuple[Pause, ...]] = field(default_factory=dict)

    def accepted_on(self, item: ItemFacts) -> date | None:
        when = self.item_accepted.get(item.item_id, self.accepted_at)
        return local_date(when) if when is not None else None

    def spans(self, department_ids: Iterable[int]) -> tuple[Pause, ...]:
        """The clock stops of these departments: an item's clock stands still while any of its
        departments' does, as in the case view."""
        return tuple(span for d in department_ids for span in self.stops.get(d, ()))


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
    """The timing of one case seen on `today` (a completed case is judged on its completion day).

    Each item runs from its own acceptance (an item of a bundle not accepted yet has no timing) and
    stands still while its departments' clocks do, so the office sees the dates the case view shows.
    """
    reference = local_date(facts.completed_at) if facts.completed_at is not None else today
    # Each accepted item's start and YELLOW threshold, worked out once for the items and the reviews.
    accepted = {
        item.item_id: (item, start, rules.yellow_below(item.code, item.promised_days))
        for item in facts.items
        if (start := facts.accepted_on(item)) is not None
    }
    items = tuple(
        _item_timing(calendar, item, start, reference, yellow_below, facts.spans(item.department_ids))
        for item, start, yellow_below in accepted.values()
    )
    reviews = tuple(_reviews(calendar, facts, accepted, reference))
    state = max((i.state for i in items), key=lambda s: s.severity, default=TimingState.GREEN)
    return CaseTiming(facts, state, items, reviews)


def _item_timing(
    calendar: WorkingCalendar,
    item: ItemFacts,
    start: date,
    reference: date,
    yellow_below: float,
    spans: tuple[Pause, ...],
) -> ItemTiming:
    judge = _judge_item if spans else _judge_item_memo
    return judge(calendar, item, start, reference, yellow_below, spans)


def _judge_item(
    calendar: WorkingCalendar,
    item: ItemFacts,
    start: date,
    reference: date,
    yellow_below: float,
    spans: tuple[Pause, ...],
) -> ItemTiming:
    promised = deadline(calendar, start, item.promised_days, reference, spans)
    statutory = deadline(calendar, start, item.statutory_days, reference, spans)
    return ItemTiming(item, promised, statutory, state_of(promised, yellow_below))


# Cases whose items were accepted the same day and whose clocks never stopped are judged alike: those
# judgments are memoised (100,000 open cases share a few hundred acceptance days and items). A case
# with a clock stop is judged on its own, uncached: its stops are its own.
_judge_item_memo = lru_cache(maxsize=65536)(_judge_item)


def _reviews(
    calendar: WorkingCalendar,
    facts: CaseFacts,
    accepted_items: dict[int, tuple[ItemFacts, date, float]],
    reference: date,
) -> Iterable[ReviewTiming]:
    own_items: dict[int, list[ItemFacts]] = defaultdict(list)
    for item in facts.items:
        for department_id in item.department_ids:
            own_items[department_id].append(item)
    for department_id in sorted(own_items):
        items = tuple(own_items[department_id])
        # Only accepted items set a department's limit; one with none accepted has no review yet.
        accepted = tuple(accepted_items[i.item_id] for i in items if i.item_id in accepted_items)
        if not accepted:
            continue
        latest = facts.latest_opinions.get(department_id)
        settled_on = local_date(latest[1]) if latest is not None and latest[0] in _SETTLING else None
        spans = facts.stops.get(department_id, ())
        judge = _judge_review if spans else _judge_review_memo
        yield judge(
            calendar,
            department_id,
            tuple(i.code for i in items),
            accepted,
            reference,
            latest is None,
            settled_on,
            spans,
        )


def _judge_review(
    calendar: WorkingCalendar,
    department_id: int,
    item_codes: tuple[str, ...],
    accepted: tuple[tuple[ItemFacts, date, float], ...],
    reference: date,
    silent: bool,
    settled_on: date | None,
    spans: tuple[Pause, ...],
) -> ReviewTiming:
    """The department's limit is the earliest of its accepted items', each from its own acceptance
    and pushed back by the department's clock stops (hub/cases/views.py judges it alike)."""
    until = settled_on or reference
    limit, yellow_below = min(
        ((deadline(calendar, start, item.promised_days, until, spans), yellow) for item, start, yellow in accepted),
        key=lambda judged: judged[0].due_on,
    )
    deemed = silent and all(item.silence_is_consent for item, _, _ in accepted) and limit.overdue
    if deemed:
        settled_on = limit.due_on
    start = min(start for _, start, _ in accepted)
    return ReviewTiming(
        department_id,
        item_codes,
        limit,
        min(item.statutory_days for item, _, _ in accepted),
        None if settled_on is not None else state_of(limit, yellow_below),
        settled_on,
        deemed,
        working_days_spent(calendar, start, settled_on or reference, spans),
    )


_judge_review_memo = lru_cache(maxsize=65536)(_judge_review)


async def load_facts(session: AsyncSession, where: ColumnElement[bool]) -> list[CaseFacts]:
    """The timing facts of every accepted case matching `where`: six queries in all, however many.

    Clock stops (corrections awaited, excluded periods) are worked out only for the cases that
    asked for a correction or stored a pause; the others keep no stops and their judgments stay
    memoised.
    """
    cases = await repo.case_rows(session, where & Case.accepted_at.is_not(None))
    if not cases:
        return []
    item_departments = await repo.departments_of_items(session)
    items: dict[int, list[ItemFacts]] = defaultdict(list)
    item_accepted: dict[int, dict[int, datetime | None]] = defaultdict(dict)
    known: dict[int, ItemFacts] = {}
    for case_id, item_id, code, promised, statutory, silence, accepted_at in await repo.case_item_rows(session, where):
        item = known.get(item_id)
        if item is None:
            item = known[item_id] = ItemFacts(
                item_id, code, promised, statutory, silence, tuple(item_departments.get(item_id, ()))
            )
        items[case_id].append(item)
        item_accepted[case_id][item_id] = accepted_at
    opinions: dict[int, dict[int, tuple[str, datetime]]] = defaultdict(dict)
    every_opinion: dict[int, list[Any]] = defaultdict(list)
    paused: set[int] = set()
    for row in await repo.opinion_rows(session, where):
        case_id, department_id, _revision, decision, recorded_at = row
        opinions[case_id][department_id] = (decision, recorded_at)
        every_opinion[case_id].append(row)
        if decision == Decision.NEEDS_CORRECTION.value:
            paused.add(case_id)
    stored: dict[int, list[StoredPauseFact]] = defaultdict(list)
    for case_id, department_id, reason, started_at, ended_at in await repo.pause_rows(session, where):
        stored[case_id].append(StoredPauseFact(department_id, reason, started_at, ended_at))
        paused.add(case_id)
    handed_in: dict[int, list[datetime]] = defaultdict(list)
    for case_id, attached_at in await repo.handed_in_rows(session, where):
        handed_in[case_id].append(attached_at)
    stops = {
        case_id: {
            department_id: tuple(s.span for s in own)
            for department_id, own in clock_stops(
                (OpinionFact(r.department_id, r.decision, r.recorded_at) for r in every_opinion.get(case_id, [])),
                stored.get(case_id, []),
                handed_in.get(case_id, []),
            ).items()
        }
        for case_id in paused
    }
    return [
        CaseFacts(
            case_id,
            receipt_number,
            window,
            window_department_id,
            status,
            accepted_at,
            completed_at,
            tuple(items.get(case_id, ())),
            opinions.get(case_id, {}),
            item_accepted.get(case_id, {}),
            stops.get(case_id, {}),
        )
        for case_id, receipt_number, window, window_department_id, status, accepted_at, completed_at in cases
    ]


def _pattern(case: CaseFacts, today: date) -> tuple[Any, ...] | None:
    """What a case's states depend on, when its clocks never stopped (else None: judged on its own):
    the reference day, each item with its acceptance day, each department's latest opinion and day."""
    if case.stops:
        return None
    reference = local_date(case.completed_at) if case.completed_at is not None else today
    return (
        reference,
        tuple((item.item_id, case.accepted_on(item)) for item in case.items),
        tuple((d, decision, local_date(at)) for d, (decision, at) in sorted(case.latest_opinions.items())),
    )


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
    # Rows as the repository writes them (tuples, not dicts: a first run writes 300,000 states).
    new_rows: list[tuple[int, int, str, datetime]] = []
    changed_rows: list[dict[str, Any]] = []
    warning_rows: list[tuple[int, int, str, str, datetime, date, str]] = []
    addressed = {d: ",".join(c for c in (code, office) if c) for d, code in codes.items()}
    reviews = 0
    # Cases with the same items accepted on the same days, the same settled opinions and no clock
    # stop are in the same states: judged once (100,000 open cases share a few thousand patterns).
    judged: dict[tuple[Any, ...], tuple[TimingState, tuple[tuple[int, TimingState], ...]]] = {}
    for case in facts:
        pattern = _pattern(case, today)
        states = judged.get(pattern) if pattern is not None else None
        if states is None:
            timing = case_timing(calendar, case, today, rules)
            open_reviews = tuple((r.department_id, r.state) for r in timing.reviews if r.state is not None)
            states = (timing.state, open_reviews)
            if pattern is not None:
                judged[pattern] = states
        subjects: list[tuple[int, TimingState, int]] = [(WHOLE_CASE, states[0], case.window_department_id)]
        for department_id, state in states[1]:
            reviews += 1
            subjects.append((department_id, state, department_id))
        for department_id, state, addressee in subjects:
            previous = stored.get((case.case_id, department_id))
            if previous is None:
                new_rows.append((case.case_id, department_id, state.value, now))
                before = TimingState.GREEN
            elif previous[1] != state.value:
                changed_rows.append({"id": previous[0], "state": state.value, "since": now})
                before = TimingState(previous[1])
            else:
                continue
            if state is not TimingState.GREEN and state != before:
                warning_rows.append(
                    (
                        case.case_id,
                        department_id,
                        state.value,
                        before.value,
                        now,
                        today,
                        addressed.get(addressee, office),
                    )
                )
    await repo.add_timing_states(session, new_rows)
    await repo.update_timing_states(session, changed_rows)
    await repo.add_warnings(session, warning_rows)
    return TimingRun(len(facts), reviews, len(warning_rows))
