"""The State Council's holiday notices (放假安排的通知), loaded by an operator as data.

Each year's schedule is announced late in the year before; the hub must not wait for a library
release to count it. `hub calendar load FILE` stores a notice as a new version of its year (the
latest wins; earlier ones stay as history, with who loaded them and when). It touches no applicant
data, so it records no access entry: the row itself is the record.

`official_calendar(session)` is what every deadline is computed with. It reads the versions in force
on each call (one small query) and rebuilds the calendar only when they changed, keyed on their
digests: a notice loaded by any process is used by every process from its next read on.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy.ext.asyncio import AsyncSession

from hub.calendar.workdays import FIRST_KNOWN_YEAR, LAST_KNOWN_YEAR, OfficialYear, WorkingCalendar
from hub.errors import InvalidCalendarNotice
from storage.models.calendar import CalendarNotice, CalendarNoticeDay, NoticeDayKind
from storage.repositories import calendar as repo
from storage.repositories.calendar import NoticeInForce

_SATURDAY = 5
# Calendars built from the notices in force, by their (year, version, digest): a few at most.
_CACHE: dict[tuple[tuple[int, int, str], ...], WorkingCalendar] = {}
_CACHE_SIZE = 8


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HolidaySpec(_Strict):
    name: str = Field(min_length=1, max_length=100)
    first: date = Field(alias="from")
    last: date | None = Field(default=None, alias="to")

    @property
    def days(self) -> list[date]:
        last = self.last or self.first
        return [date.fromordinal(n) for n in range(self.first.toordinal(), last.toordinal() + 1)]


class MakeupDaySpec(_Strict):
    day: date = Field(alias="date")
    name: str = Field(min_length=1, max_length=100)


class NoticeFile(_Strict):
    year: int = Field(ge=FIRST_KNOWN_YEAR, le=LAST_KNOWN_YEAR)
    reference: str = Field(min_length=1, max_length=200)
    holidays: list[HolidaySpec] = Field(min_length=1)
    makeup_working_days: list[MakeupDaySpec] = []

    @model_validator(mode="after")
    def _a_consistent_schedule(self) -> NoticeFile:
        off: set[date] = set()
        for holiday in self.holidays:
            if holiday.last is not None and holiday.last < holiday.first:
                raise ValueError(f"holiday {holiday.name}: 'to' {holiday.last} is before 'from' {holiday.first}")
            for day in holiday.days:
                if day.year != self.year:
                    raise ValueError(f"holiday {holiday.name}: {day} is not in {self.year}")
                if day in off:
                    raise ValueError(f"{day} is listed twice as a holiday")
                off.add(day)
        worked: set[date] = set()
        for makeup in self.makeup_working_days:
            # A notice may ask for a Saturday late in the year before (2001-12-29 for 2002's New Year).
            if makeup.day.year not in (self.year, self.year - 1):
                raise ValueError(f"makeup working day {makeup.day} is not in {self.year} or the end of the year before")
            if makeup.day.weekday() < _SATURDAY:
                raise ValueError(f"makeup working day {makeup.day} is a weekday; only weekend days are moved")
            if makeup.day in off or makeup.day in worked:
                raise ValueError(f"{makeup.day} is listed twice")
            worked.add(makeup.day)
        return self

    def official_year(self) -> OfficialYear:
        return OfficialYear(
            self.year,
            self.reference,
            frozenset(day for holiday in self.holidays for day in holiday.days),
            frozenset(makeup.day for makeup in self.makeup_working_days),
        )


@dataclass(frozen=True, slots=True)
class LoadedNotice:
    year: int
    version: int
    reference: str
    holidays: int
    makeup_working_days: int
    digest: str
    loaded_by: str
    loaded_at: datetime


def parse_notice(text: str, source_name: str) -> NoticeFile:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidCalendarNotice(f"{source_name}: not valid YAML/JSON: {exc}") from None
    try:
        return NoticeFile.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "file"
        raise InvalidCalendarNotice(f"{source_name}: {where}: {first['msg']}", errors=exc.error_count()) from None


def _days_of(notice: NoticeFile) -> list[CalendarNoticeDay]:
    days = [
        CalendarNoticeDay(day=day, kind=NoticeDayKind.HOLIDAY.value, name=holiday.name)
        for holiday in notice.holidays
        for day in holiday.days
    ]
    days += [
        CalendarNoticeDay(day=makeup.day, kind=NoticeDayKind.MAKEUP_WORKING_DAY.value, name=makeup.name)
        for makeup in notice.makeup_working_days
    ]
    return sorted(days, key=lambda d: d.day)


def _digest(year: int, days: list[CalendarNoticeDay]) -> str:
    canonical = json.dumps([year, [[d.day.isoformat(), d.kind] for d in days]], separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


async def load_notice(
    session: AsyncSession, text: str, source_name: str, *, loaded_by: str, loaded_at: datetime
) -> LoadedNotice:
    """Store a year's notice as that year's next version; the caller commits."""
    notice = parse_notice(text, source_name)
    days = _days_of(notice)
    row = CalendarNotice(
        year=notice.year,
        version=await repo.next_version(session, notice.year),
        reference=notice.reference,
        source_name=source_name[:300],
        digest=_digest(notice.year, days),
        loaded_by=loaded_by[:200],
        loaded_at=loaded_at,
    )
    await repo.add_notice(session, row, days)
    return LoadedNotice(
        row.year,
        row.version,
        row.reference,
        sum(1 for d in days if d.kind == NoticeDayKind.HOLIDAY.value),
        sum(1 for d in days if d.kind == NoticeDayKind.MAKEUP_WORKING_DAY.value),
        row.digest,
        row.loaded_by,
        row.loaded_at,
    )


async def load_notice_file(session: AsyncSession, path: Path, *, loaded_by: str, loaded_at: datetime) -> LoadedNotice:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidCalendarNotice(f"cannot read {path}: {exc.strerror}") from None
    return await load_notice(session, text, path.name, loaded_by=loaded_by, loaded_at=loaded_at)


async def loaded_notices(session: AsyncSession, year: int | None = None) -> list[CalendarNotice]:
    """Every version loaded, for the operator's listing."""
    return await repo.notices(session, year)


async def official_calendar(session: AsyncSession) -> WorkingCalendar:
    """The working calendar in force: the latest loaded notice of each year over the library."""
    return await calendar_of(session, await repo.notices_in_force(session))


async def calendar_of(session: AsyncSession, in_force: Sequence[NoticeInForce]) -> WorkingCalendar:
    """The working calendar of these notices in force (`repo.notices_in_force`, read just now)."""
    key = tuple((n.year, n.version, n.digest) for n in in_force)
    calendar = _CACHE.get(key)
    if calendar is not None:
        return calendar
    days = await repo.days_of_notices(session, [n.id for n in in_force])
    calendar = WorkingCalendar(
        OfficialYear(
            n.year,
            n.reference,
            frozenset(d.day for d in days.get(n.id, []) if d.kind == NoticeDayKind.HOLIDAY.value),
            frozenset(d.day for d in days.get(n.id, []) if d.kind == NoticeDayKind.MAKEUP_WORKING_DAY.value),
        )
        for n in in_force
    )
    if len(_CACHE) >= _CACHE_SIZE:
        _CACHE.clear()
    _CACHE[key] = calendar
    return calendar
