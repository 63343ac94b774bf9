"""Time limits of a case (限时办结), computed on read from dates and the official calendar.

Nothing here is stored or updated by a batch job: a deadline, the time remaining and whether a
silent department counts as having approved (超时默许) follow from the acceptance date, the item's
limits, the pauses of its clock and today's date whenever a case is read.

A pause (补正 waiting for the applicant, or a period art. 45 excludes: hearing, expert review,
inspection...) removes the working days after the day it began up to and including the day it ended
from the count, the same rule as acceptance: the day the clock stops is counted, the day it
resumes is not. An open pause counts as ending on the reference day, so the deadline shown is the
one that holds if the clock resumed today.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from hub.calendar.workdays import MAX_WORKING_DAYS, WorkingCalendar

# Longest run of non-working days the State Council has announced (Spring Festival plus weekends):
# the most an announced schedule can move a deadline computed by rule.
LONGEST_BREAK_DAYS = 10


@dataclass(frozen=True, slots=True)
class Pause:
    """A stretch a clock stood still, in China dates; `ended_on` None while it lasts."""

    started_on: date
    ended_on: date | None


@dataclass(frozen=True, slots=True)
class Deadline:
    """A limit of `working_days` from `start`, seen from `reference` (today, or when it was met)."""

    working_days: int
    due_on: date
    remaining_working_days: int  # 0 on the day itself, negative once passed
    overdue: bool
    # Runs through a year whose official notice is not loaded: recomputed once it is.
    provisional: bool
    # Working days not counted because the clock was paused.
    paused_working_days: int


class _Clock:
    """Counts working days on `calendar`, skipping the days `pauses` stopped the clock."""

    def __init__(self, calendar: WorkingCalendar, pauses: Sequence[Pause], reference: date) -> None:
        self.calendar = calendar
        self.spans = [(p.started_on, p.ended_on or reference) for p in pauses]

    def paused(self, day: date) -> bool:
        return any(start < day <= end for start, end in self.spans)

    def counts(self, day: date) -> bool:
        return self.calendar.is_working_day(day) and not self.paused(day)

    def add(self, start: date, days: int) -> date:
        if not 0 <= days <= MAX_WORKING_DAYS:
            raise ValueError(f"a time limit is between 0 and {MAX_WORKING_DAYS} working days, not {days}")
        day, counted = start, 0
        while counted < days:
            day += timedelta(days=1)
            if self.counts(day):
                counted += 1
        return day

    def between(self, start: date, end: date) -> int:
        if end < start:
            return -self.between(end, start)
        count, day = 0, start
        while day < end:
            day += timedelta(days=1)
            if self.counts(day):
                count += 1
        return count

    def paused_working_days(self, start: date, end: date) -> int:
        count, day = 0, start
        while day < end:
            day += timedelta(days=1)
            if self.paused(day) and self.calendar.is_working_day(day):
                count += 1
        return count


def deadline(
    calendar: WorkingCalendar, start: date, working_days: int, reference: date, pauses: Sequence[Pause] = ()
) -> Deadline:
    if not pauses:
        due = calendar.add_working_days(start, working_days)
        remaining = calendar.working_days_between(reference, due)
        return Deadline(working_days, due, remaining, reference > due, calendar.provisional(start, due), 0)
    clock = _Clock(calendar, pauses, reference)
    due = clock.add(start, working_days)
    return Deadline(
        working_days,
        due,
        clock.between(reference, due),
        reference > due,
        calendar.provisional(start, due),
        clock.paused_working_days(start, max(due, reference)),
    )


def working_days_spent(calendar: WorkingCalendar, start: date, reference: date, pauses: Sequence[Pause] = ()) -> int:
    """Working days counted against the limit from `start` to `reference`: pauses left out."""
    if not pauses:
        return calendar.working_days_between(start, reference)
    return _Clock(calendar, pauses, reference).between(start, reference)


def needed_until(calendar: WorkingCalendar, start: date, working_days: int) -> date:
    """The last day a material must stay valid for a limit starting at `start`.

    The exact deadline on an announced calendar; on a provisional one, the deadline plus the longest
    announced break, so a material is never called valid for a case it might not outlast once the
    year's notice moves holidays.
    """
    due = calendar.add_working_days(start, working_days)
    return due + timedelta(days=LONGEST_BREAK_DAYS) if calendar.provisional(start, due) else due
