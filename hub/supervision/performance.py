"""How each department keeps its time limits in a month, its cards, and the monthly ranking (排行榜).

A department "handles" a review when it settles it (approves, rejects, or stays silent past the
deadline of an item with 超时默许); the month is the China month of that day. Cards follow the
warnings stored by timing supervision: so many of a department's cases turned RED in the month
earn a yellow or a red card (rules `cards.monthly`).
"""

from __future__ import annotations

import calendar
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from hub.calendar.notices import official_calendar
from hub.calendar.workdays import CHINA, local_date
from hub.errors import InvalidInput
from hub.supervision.rules import Rules
from hub.supervision.timing import ReviewTiming, case_timing, load_facts
from storage.models import Department
from storage.models.cases import Case
from storage.models.supervision import WHOLE_CASE
from storage.repositories import supervision as repo

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_CARD_ORDER = {None: 0, "yellow": 1, "red": 2}


@dataclass(frozen=True, slots=True)
class Month:
    first: date
    last: date

    @classmethod
    def parse(cls, text: str) -> Month:
        match = _MONTH.match(text.strip())
        if not match or not 1 <= int(match[2]) <= 12:
            raise InvalidInput("a month reads YYYY-MM, e.g. 2026-11", field="month")
        year, month = int(match[1]), int(match[2])
        return cls(date(year, month, 1), date(year, month, calendar.monthrange(year, month)[1]))

    @property
    def label(self) -> str:
        return f"{self.first:%Y-%m}"

    def start_instant(self) -> datetime:
        return datetime.combine(self.first, time(), tzinfo=CHINA)

    def end_instant(self) -> datetime:
        return datetime.combine(self.last + timedelta(days=1), time(), tzinfo=CHINA)


@dataclass(frozen=True, slots=True)
class DepartmentMonth:
    """One department's month: reviews settled, timeliness, compression, warnings and card."""

    department: Department
    handled: int
    on_time: int
    average_working_days: float | None
    average_promised_days: float | None
    average_statutory_days: float | None
    deemed_approvals: int  # 超时默许
    yellow_warnings: int
    red_cases: int
    card: str | None  # "yellow", "red" or None

    @property
    def on_time_rate(self) -> float | None:
        return self.on_time / self.handled if self.handled else None

    @property
    def compression_ratio(self) -> float | None:
        """1 - actual / statutory working days (how much faster than the law allows)."""
        if self.average_working_days is None or not self.average_statutory_days:
            return None
        return 1 - self.average_working_days / self.average_statutory_days


@dataclass(frozen=True, slots=True)
class RankedDepartment:
    rank: int
    month: DepartmentMonth


async def department_months(session: AsyncSession, month: Month, now: datetime, rules: Rules) -> list[DepartmentMonth]:
    """Every department that took part in a case, or was warned, in the month (supervision office aside)."""
    reference = min(local_date(now), month.last)
    where = (Case.accepted_at < month.end_instant()) & (
        Case.completed_at.is_(None) | (Case.completed_at >= month.start_instant())
    )
    settled: dict[int, list[ReviewTiming]] = defaultdict(list)
    taking_part: set[int] = set()
    calendar = await official_calendar(session)
    for facts in await load_facts(session, where):
        for review in case_timing(calendar, facts, reference, rules).reviews:
            taking_part.add(review.department_id)
            if review.settled_on is not None and month.first <= review.settled_on <= month.last:
                settled[review.department_id].append(review)
    red_cases = await repo.red_cases_by_department(session, month.first, month.last)
    yellow = await _yellow_warnings(session, month)
    departments = await repo.departments(session)
    ids = (taking_part | set(red_cases) | set(yellow)) - {WHOLE_CASE}
    return [
        _department_month(departments[d], settled.get(d, []), yellow.get(d, 0), red_cases.get(d, 0), rules)
        for d in sorted(ids, key=lambda d: departments[d].code)
        if d in departments and not departments[d].is_supervision
    ]


async def _yellow_warnings(session: AsyncSession, month: Month) -> dict[int, int]:
    counts: dict[int, int] = defaultdict(int)
    for warning, _ in await repo.warnings(session, since=month.first, until=month.last, limit=1_000_000):
        if warning.state == "yellow" and warning.department_id != WHOLE_CASE:
            counts[warning.department_id] += 1
    return counts


def _mean(values: list[int]) -> float | None:
    return sum(values) / len(values) if values else None


def _department_month(
    department: Department, reviews: list[ReviewTiming], yellow: int, red_cases: int, rules: Rules
) -> DepartmentMonth:
    return DepartmentMonth(
        department=department,
        handled=len(reviews),
        on_time=sum(1 for r in reviews if r.on_time),
        average_working_days=_mean([r.working_days for r in reviews if r.working_days is not None]),
        average_promised_days=_mean([r.deadline.working_days for r in reviews]),
        average_statutory_days=_mean([r.statutory_days for r in reviews]),
        deemed_approvals=sum(1 for r in reviews if r.deemed_approved),
        yellow_warnings=yellow,
        red_cases=red_cases,
        card=rules.card_for(red_cases),
    )


def ranking(months: list[DepartmentMonth]) -> list[RankedDepartment]:
    """排行榜: no card before a yellow before a red; then on-time rate, then compression, best first."""

    def key(m: DepartmentMonth) -> tuple[int, float, float, str]:
        return (
            _CARD_ORDER[m.card],
            -(m.on_time_rate if m.on_time_rate is not None else -1.0),
            -(m.compression_ratio if m.compression_ratio is not None else -1.0),
            m.department.code,
        )

    return [RankedDepartment(n, m) for n, m in enumerate(sorted(months, key=key), start=1)]
