"""Working days (工作日) on the official Chinese calendar, for time limits (限时办结).

Time limits of service items are counted in working days: Monday to Friday, minus the public
holidays the State Council announces each year, plus the weekend days it turns into working days to
make up for long holidays (调休). Two sources, the first that knows a year wins:

1. the official notices an operator loaded (`hub calendar load`, `hub.calendar.notices`): a year's
   announced holidays and makeup working days, as published;
2. the `holidays` package's China calendar: the announced schedules of the years it ships
   (`holidays.countries.china.ChinaStaticHolidays`, which records each moved day with the weekend
   day worked for it), and for later years the statutory holidays by rule (lunar dates, a weekend
   holiday observed on the next weekday) without the makeup working days nobody has announced yet.

A year known only by rule is *provisional*: a deadline that runs through it is computed, never left
out, and is recomputed on read once that year's notice is loaded (docs/cases.md says why).

Conventions, shared by every deadline in the hub:
- A limit of N working days from a day D ends on the N-th working day after D: D itself is not
  counted, whether or not it is a working day (a case accepted on Saturday starts on Monday).
- `working_days_between(a, b)` counts the working days after `a` up to and including `b`, so time
  spent since acceptance and time remaining before a deadline use the same rule.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from importlib.metadata import version
from pathlib import Path
from types import ModuleType
from typing import TypeVar
from zoneinfo import ZoneInfo

from hub.errors import CalendarOutOfRange

# Deadlines fall on dates in the service hall's time zone, not UTC.
CHINA = ZoneInfo("Asia/Shanghai")

# The library checks China against the State Council's notices from 2001; its lunar dates stop
# being trustworthy after 2099. Outside these years the hub refuses rather than guesses.
FIRST_KNOWN_YEAR = 2001
LAST_KNOWN_YEAR = 2099
CALENDAR_SOURCE = f"holidays {version('holidays')}"

# Upper bound on a time limit: the longest statutory limits are a few months of working days.
MAX_WORKING_DAYS = 400
# Answers a calendar remembers (it is shared by every request until a notice changes it).
_MEMO_SIZE = 50_000
K = TypeVar("K")
V = TypeVar("V")
_SATURDAY = 5


def local_date(moment: datetime) -> date:
    """The calendar date of an instant in China (an acceptance at 23:30 UTC is the next day)."""
    return moment.astimezone(CHINA).date()


@dataclass(frozen=True, slots=True)
class OfficialYear:
    """One year's schedule as the State Council announced it (放假安排的通知)."""

    year: int
    reference: str  # e.g. 国办发明电〔2026〕7号
    holidays: frozenset[date]
    makeup_working_days: frozenset[date]  # weekend days worked (调休); may lie in late December before


def _check_known(day: date) -> None:
    if not FIRST_KNOWN_YEAR <= day.year <= LAST_KNOWN_YEAR:
        raise CalendarOutOfRange(
            f"the hub keeps no working calendar for {day.year} ({FIRST_KNOWN_YEAR}-{LAST_KNOWN_YEAR} only)",
            date=day.isoformat(),
            firstKnownYear=FIRST_KNOWN_YEAR,
            lastKnownYear=LAST_KNOWN_YEAR,
        )


# The library is imported at its first use, not with this module: importing it loads the calendars
# of every country it knows (about 10 MiB of a hub process, docs/performance.md), which a process
# that never counts a deadline does not need.


CHINA_MODULE = "holidays.countries.china"


@lru_cache(maxsize=1)
def _china() -> ModuleType:
    """The library's `holidays.countries.china`, loaded from its file alone.

    Imported the usual way, it first runs `holidays.countries/__init__`, which imports all of the
    library's 200-odd countries: 7 MiB more in every serving process, whose first deadline loads
    the calendar (docs/documents.md, "Downloads and memory, second pass"). The module needs only
    the library's shared parts (`holidays.groups`, `holidays.calendars`), which `import holidays`
    loads without the countries. A release that moves the file gets the usual import.
    """
    import holidays

    path = Path(holidays.__file__).parent / "countries" / "china.py"
    spec = importlib.util.spec_from_file_location(CHINA_MODULE, path)
    if spec is None or spec.loader is None or not path.is_file():
        return importlib.import_module(CHINA_MODULE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@lru_cache(maxsize=1)
def library_official_years() -> frozenset[int]:
    """The years whose announced schedule (holidays and makeup days) ships with the library."""
    return frozenset(_china().ChinaStaticHolidays.special_public_holidays)


@lru_cache(maxsize=256)
def _library_exceptions(year: int) -> tuple[frozenset[date], frozenset[date]]:
    """The library's weekdays off and weekend days worked in `year`.

    The next year is loaded too: its notice may ask for a makeup working day in late December.
    """
    calendar = _china().China(years={year, year + 1})
    days_off = frozenset(day for day in calendar if day.year == year and day.weekday() < _SATURDAY)
    days_worked = frozenset(day for day in calendar.weekend_workdays if day.year == year)
    return days_off, days_worked


class WorkingCalendar:
    """Working days from the loaded official notices, falling back on the library year by year."""

    def __init__(self, notices: Iterable[OfficialYear] = ()) -> None:
        self.notices = {notice.year: notice for notice in notices}
        self._holidays = frozenset(day for n in self.notices.values() for day in n.holidays)
        self._makeup = frozenset(day for n in self.notices.values() for day in n.makeup_working_days)
        self._added: dict[tuple[date, int], date] = {}
        self._between: dict[tuple[date, date], int] = {}

    def is_official(self, year: int) -> bool:
        """Whether `year` follows an announced schedule (loaded, or shipped by the library)."""
        return year in self.notices or year in library_official_years()

    def provisional(self, start: date, end: date) -> bool:
        """Whether a count from `start` to `end` crosses a year known only by rule."""
        low, high = min(start, end), max(start, end)
        return not all(self.is_official(year) for year in range(low.year, high.year + 1))

    def is_working_day(self, day: date) -> bool:
        """Whether offices work on `day`: a weekday that is no holiday, or an adjusted weekend (调休)."""
        _check_known(day)
        if day in self._holidays:
            return False
        if day in self._makeup:
            return True
        if day.year in self.notices:
            return day.weekday() < _SATURDAY
        days_off, days_worked = _library_exceptions(day.year)
        return day in days_worked if day.weekday() >= _SATURDAY else day not in days_off

    def add_working_days(self, start: date, days: int) -> date:
        """The N-th working day after `start` (`start` itself not counted); `start` when N is 0."""
        if not 0 <= days <= MAX_WORKING_DAYS:
            raise ValueError(f"a time limit is between 0 and {MAX_WORKING_DAYS} working days, not {days}")
        known = self._added.get((start, days))
        if known is not None:
            return known
        _check_known(start)
        day, counted = start, 0
        while counted < days:
            day += timedelta(days=1)
            if self.is_working_day(day):
                counted += 1
        return _remember(self._added, (start, days), day)

    def working_days_between(self, start: date, end: date) -> int:
        """Working days after `start` up to and including `end`; negative when `end` is before `start`.

        From acceptance to today this is the time spent; from today to a deadline, the time remaining
        (0 on the deadline day itself, negative once it has passed).
        """
        if end < start:
            return -self.working_days_between(end, start)
        known = self._between.get((start, end))
        if known is not None:
            return known
        _check_known(start)
        _check_known(end)
        count, day = 0, start
        while day < end:
            day += timedelta(days=1)
            if self.is_working_day(day):
                count += 1
        return _remember(self._between, (start, end), count)


def _remember(memo: dict[K, V], key: K, value: V) -> V:
    if len(memo) >= _MEMO_SIZE:
        memo.clear()
    memo[key] = value
    return value


# The library's calendar alone, for callers without a database (and the calendar's own tests).
LIBRARY_CALENDAR = WorkingCalendar()
is_working_day = LIBRARY_CALENDAR.is_working_day
add_working_days = LIBRARY_CALENDAR.add_working_days
working_days_between = LIBRARY_CALENDAR.working_days_between
