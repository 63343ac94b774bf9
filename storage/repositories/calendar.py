"""Official holiday notices: the versions loaded, their days, the latest version of each year."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models.calendar import CalendarNotice, CalendarNoticeDay


async def latest_notices(session: AsyncSession) -> list[CalendarNotice]:
    """The version in force of every year with a loaded notice, by year."""
    latest = (
        select(CalendarNotice.year, func.max(CalendarNotice.version).label("version"))
        .group_by(CalendarNotice.year)
        .subquery()
    )
    rows = await session.execute(
        select(CalendarNotice)
        .join(latest, (CalendarNotice.year == latest.c.year) & (CalendarNotice.version == latest.c.version))
        .order_by(CalendarNotice.year)
    )
    return list(rows.scalars())


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
