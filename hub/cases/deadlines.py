"""Time limits of a case (限时办结), computed on read from dates and the official calendar.

Nothing here is stored or updated by a batch job: a deadline, the time remaining and whether a
silent department counts as having approved (超时默许) follow from the acceptance date, the item's
limits and today's date whenever a case is read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

from hub.calendar.workdays import LAST_KNOWN_YEAR, add_working_days, working_days_between
from hub.errors import CalendarOutOfRange

LAST_KNOWN_DAY = date(LAST_KNOWN_YEAR, 12, 31)
# Longest run of non-working days the State Council has announced (Spring Festival plus weekends).
LONGEST_BREAK_DAYS = 10


@dataclass(frozen=True, slots=True)
class Deadline:
    """A limit of `working_days` from `start`, seen from `reference` (today, or when it was met)."""

    working_days: int
    due_on: date | None  # None when it falls in a year whose official calendar is not yet known
    remaining_working_days: int | None  # 0 on the day itself, negative once passed
    overdue: bool

    @property
    def due_after(self) -> date | None:
        """When `due_on` is unknown: the deadline lies after this day."""
        return LAST_KNOWN_DAY if self.due_on is None else None


def deadline(start: date, working_days: int, reference: date) -> Deadline:
    try:
        due = add_working_days(start, working_days)
    except CalendarOutOfRange:
        # Past the last known day the deadline cannot have passed yet while `reference` is known.
        return Deadline(working_days, None, None, False)
    try:
        remaining = working_days_between(reference, due)
    except CalendarOutOfRange:
        remaining = None
    return Deadline(working_days, due, remaining, reference > due)


def working_days_spent(start: date, reference: date) -> int | None:
    try:
        return working_days_between(start, reference)
    except CalendarOutOfRange:
        return None


def needed_until(start: date, working_days: int) -> date:
    """The last day a material must stay valid for a limit starting at `start`.

    The exact deadline when the calendar is known; otherwise a date no earlier than the deadline
    could be (every week has five working days, less the longest announced break), so a material
    is never called valid for a case it would not outlast.
    """
    try:
        return add_working_days(start, working_days)
    except CalendarOutOfRange:
        if start > LAST_KNOWN_DAY:
            counted, from_day = 0, start
        else:
            counted, from_day = working_days_between(start, LAST_KNOWN_DAY), LAST_KNOWN_DAY
        left = max(working_days - counted, 0)
        return from_day + timedelta(days=math.ceil(left * 7 / 5) + LONGEST_BREAK_DAYS)
