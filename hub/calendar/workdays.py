"""Working days (工作日) on the official Chinese calendar, for time limits (限时办结).

Time limits of service items are counted in working days: Monday to Friday, minus the public
holidays the State Council announces each year, plus the weekend days it turns into working days to
make up for long holidays (调休). The `chinesecalendar` package ships those announcements as data;
it knows a fixed range of years, and a date outside it is refused with `CalendarOutOfRange`, never
guessed (docs/cases.md says why this package and what to do when a new year is announced).

Conventions, shared by every deadline in the hub:
- A limit of N working days from a day D ends on the N-th working day after D: D itself is not
  counted, whether or not it is a working day (a case accepted on Saturday starts on Monday).
- `working_days_between(a, b)` counts the working days after `a` up to and including `b`, so time
  spent since acceptance and time remaining before a deadline use the same rule.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache
from importlib.metadata import version
from zoneinfo import ZoneInfo

import chinese_calendar
from chinese_calendar import constants

from hub.errors import CalendarOutOfRange

# Deadlines fall on dates in the service hall's time zone, not UTC.
CHINA = ZoneInfo("Asia/Shanghai")

FIRST_KNOWN_YEAR = min(day.year for day in constants.holidays)
LAST_KNOWN_YEAR = max(day.year for day in constants.holidays)
CALENDAR_VERSION = version("chinesecalendar")

# Upper bound on a time limit: the longest statutory limits are a few months of working days.
MAX_WORKING_DAYS = 400


def local_date(moment: datetime) -> date:
    """The calendar date of an instant in China (an acceptance at 23:30 UTC is the next day)."""
    return moment.astimezone(CHINA).date()


def _check_known(day: date) -> None:
    if not FIRST_KNOWN_YEAR <= day.year <= LAST_KNOWN_YEAR:
        raise CalendarOutOfRange(
            f"the official calendar for {day.year} is not known to this hub (chinesecalendar "
            f"{CALENDAR_VERSION} covers {FIRST_KNOWN_YEAR}-{LAST_KNOWN_YEAR}); upgrade that package",
            date=day.isoformat(),
            firstKnownYear=FIRST_KNOWN_YEAR,
            lastKnownYear=LAST_KNOWN_YEAR,
        )


def is_working_day(day: date) -> bool:
    """Whether offices work on `day`: a weekday that is no holiday, or an adjusted weekend (调休)."""
    _check_known(day)
    return bool(chinese_calendar.is_workday(day))


@lru_cache(maxsize=4096)
def add_working_days(start: date, days: int) -> date:
    """The N-th working day after `start` (`start` itself not counted); `start` when N is 0."""
    if not 0 <= days <= MAX_WORKING_DAYS:
        raise ValueError(f"a time limit is between 0 and {MAX_WORKING_DAYS} working days, not {days}")
    _check_known(start)
    day, counted = start, 0
    while counted < days:
        day += timedelta(days=1)
        if is_working_day(day):
            counted += 1
    return day


@lru_cache(maxsize=4096)
def working_days_between(start: date, end: date) -> int:
    """Working days after `start` up to and including `end`; negative when `end` is before `start`.

    From acceptance to today this is the time spent; from today to a deadline, the time remaining
    (0 on the deadline day itself, negative once it has passed).
    """
    if end < start:
        return -working_days_between(end, start)
    _check_known(start)
    _check_known(end)
    count, day = 0, start
    while day < end:
        day += timedelta(days=1)
        if chinese_calendar.is_workday(day):
            count += 1
    return count
