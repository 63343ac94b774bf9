"""The service centres' tree, and who and what sits at each centre."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Centre, Department, Principal
from storage.models.cases import Case


async def centres(session: AsyncSession) -> list[Centre]:
    """Every centre, parents before children (by level, then code)."""
    rows = await session.execute(select(Centre))
    return sorted(rows.scalars(), key=lambda c: (_LEVELS.index(c.level), c.code))


_LEVELS = ("city", "county", "township", "village")


async def centres_by_code(session: AsyncSession) -> dict[str, Centre]:
    return {centre.code: centre for centre in await centres(session)}


async def centre_by_code(session: AsyncSession, code: str) -> Centre | None:
    return (await session.execute(select(Centre).where(Centre.code == code))).scalar_one_or_none()


async def centres_by_ids(session: AsyncSession, ids: Sequence[int]) -> dict[int, Centre]:
    if not ids:
        return {}
    rows = await session.execute(select(Centre).where(Centre.id.in_(sorted(set(ids)))))
    return {centre.id: centre for centre in rows.scalars()}


async def centre_of_principal(session: AsyncSession, principal_id: int) -> int | None:
    """The principal's centre id; None if it has none (or does not exist)."""
    row = await session.execute(select(Principal.centre_id).where(Principal.id == principal_id))
    return row.scalar_one_or_none()


async def departments_at(session: AsyncSession, centre_id: int) -> list[Department]:
    rows = await session.execute(select(Department).where(Department.centre_id == centre_id).order_by(Department.code))
    return list(rows.scalars())


async def case_counts_by_centre(
    session: AsyncSession, column: str, since: datetime | None, until: datetime | None
) -> dict[int | None, int]:
    """Cases per receiving centre whose `column` (opened_at, accepted_at, completed_at) falls in [since, until)."""
    when = getattr(Case, column)
    statement = select(Case.centre_id, func.count()).where(when.is_not(None)).group_by(Case.centre_id)
    if since is not None:
        statement = statement.where(when >= since)
    if until is not None:
        statement = statement.where(when < until)
    return dict((await session.execute(statement)).all())


async def completed_cases_at_centres(
    session: AsyncSession, since: datetime | None, until: datetime | None
) -> list[Case]:
    """Cases received at a centre and completed in [since, until)."""
    statement = select(Case).where(Case.completed_at.is_not(None), Case.centre_id.is_not(None))
    if since is not None:
        statement = statement.where(Case.completed_at >= since)
    if until is not None:
        statement = statement.where(Case.completed_at < until)
    return list((await session.execute(statement.order_by(Case.id))).scalars())
