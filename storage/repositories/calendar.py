"""Official holiday notices: the versions loaded, their days, the latest version of each year."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models.calendar import CalendarNotice, CalendarNoticeDay


@dataclass(frozen=True, slots=True)
class NoticeInForce:
    id: int
    year: int
    version: int
    reference: str
    digest: str


_LATEST = (
    select(CalendarNotice.year, func.max(CalendarNotice.version).label("version"))
    .group_by(CalendarNotice.year)
    .subquery()
)
# Built once: it runs on every request that computes a deadline (unordered: as a subquery too).
IN_FORCE = select(
    CalendarNotice.id,
    CalendarNotice.year,
    CalendarNotice.version,
    CalendarNotice.reference,
    CalendarNotice.digest,
).join(_LATEST, (CalendarNotice.year == _LATEST.c.year) & (CalendarNotice.version == _LATEST.c.version))
_IN_FORCE = IN_FORCE.order_by(CalendarNotice.year)


async def notices_in_force(session: AsyncSession) -> list[NoticeInForce]:
    """The version in force of every year with a loaded notice, by year, as plain columns (Core: no
    entities, so the ORM's execution machinery around the statement is skipped)."""
    connection = await session.connection()
    return [NoticeInForce(*row) for row in await connection.execute(_IN_FORCE)]


async def notices(session: AsyncSession, year: int | None = None) -> list[CalendarNotice]:
    """Every version loaded (of one year, or of all), oldest first within a year."""
    statement = select(CalendarNotice).order_by(CalendarNotice.year, CalendarNotice.version)
    if year is not None:
        statement = statement.where(CalendarNotice.year == year)
    return list((await session.execute(statement)).scalars())


async def days_of_notices(session: AsyncSession, notice_ids: Sequence[int]) -> dict[int, list[CalendarNoticeDay]]:
    if not notice_ids:
        return {}
    rows = await session.execute(
        select(CalendarNoticeDay).where(CalendarNoticeDay.notice_id.in_(notice_ids)).order_by(CalendarNoticeDay.day)
    )
    days: dict[int, list[CalendarNoticeDay]] = defaultdict(list)
    for day in rows.scalars():
        days[day.notice_id].append(day)
    return days


async def next_version(session: AsyncSession, year: int) -> int:
    current = (
        await session.execute(select(func.max(CalendarNotice.version)).where(CalendarNotice.year == year))
    ).scalar_one()
    return (current or 0) + 1


async def add_notice(session: AsyncSession, notice: CalendarNotice, days: Sequence[CalendarNoticeDay]) -> None:
    session.add(notice)
    await session.flush()
    for day in days:
        day.notice_id = notice.id
    session.add_all(days)
    await session.flush()
