"""Connector state: the watermark of each pull, the materials pulls issued, the record of runs, and
the schedules the workers run (taken under a lease: `take_schedule` is the one statement workers
race on, a conditional update that at most one of them wins)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models.connectors import ConnectorRun, ConnectorSchedule, IssuedMaterial, PullWatermark


async def watermark(session: AsyncSession, source_key: str) -> str | None:
    return await session.scalar(select(PullWatermark.value).where(PullWatermark.source_key == source_key))


async def save_watermark(session: AsyncSession, source_key: str, value: str, when: datetime) -> None:
    row = await session.get(PullWatermark, source_key, with_for_update=True)
    if row is None:
        session.add(PullWatermark(source_key=source_key, value=value, updated_at=when))
    else:
        row.value, row.updated_at = value, when
    await session.flush()


async def issued_material(session: AsyncSession, source_key: str, record_key: str) -> IssuedMaterial | None:
    return await session.get(IssuedMaterial, (source_key, record_key), with_for_update=True)


async def save_issued_material(
    session: AsyncSession, source_key: str, record_key: str, sha256: str, material_id: int, when: datetime
) -> None:
    row = await session.get(IssuedMaterial, (source_key, record_key), with_for_update=True)
    if row is None:
        session.add(
            IssuedMaterial(
                source_key=source_key, record_key=record_key, sha256=sha256, material_id=material_id, updated_at=when
            )
        )
    else:
        row.sha256, row.material_id, row.updated_at = sha256, material_id, when
    await session.flush()


async def add_run(session: AsyncSession, run: ConnectorRun) -> None:
    session.add(run)
    await session.flush()


async def recent_runs(session: AsyncSession, limit: int, name: str | None = None) -> list[ConnectorRun]:
    query = select(ConnectorRun).order_by(ConnectorRun.id.desc()).limit(limit)
    if name is not None:
        query = query.where(ConnectorRun.name == name)
    return list(await session.scalars(query))


async def add_schedule(session: AsyncSession, schedule: ConnectorSchedule) -> ConnectorSchedule:
    session.add(schedule)
    await session.flush()
    return schedule


async def schedule_by_name(session: AsyncSession, name: str) -> ConnectorSchedule | None:
    return await session.scalar(select(ConnectorSchedule).where(ConnectorSchedule.name == name))


async def all_schedules(session: AsyncSession) -> list[ConnectorSchedule]:
    return list(await session.scalars(select(ConnectorSchedule).order_by(ConnectorSchedule.name)))


async def remove_schedule(session: AsyncSession, name: str) -> bool:
    removed = await session.execute(
        delete(ConnectorSchedule).where(ConnectorSchedule.name == name).returning(ConnectorSchedule.id)
    )
    return removed.first() is not None


async def due_schedules(session: AsyncSession, now: datetime) -> list[ConnectorSchedule]:
    """Schedules whose time has come and that nobody holds (or whose holder's lease ran out)."""
    return list(
        await session.scalars(
            select(ConnectorSchedule)
            .where(
                ConnectorSchedule.next_run_at <= now,
                or_(ConnectorSchedule.lease_until.is_(None), ConnectorSchedule.lease_until < now),
            )
            .order_by(ConnectorSchedule.next_run_at, ConnectorSchedule.id)
        )
    )


async def take_schedule(session: AsyncSession, schedule_id: int, owner: str, now: datetime, until: datetime) -> bool:
    """Lease a due schedule to `owner`: true for the one worker whose update matched, false for others."""
    taken = await session.execute(
        update(ConnectorSchedule)
        .where(
            ConnectorSchedule.id == schedule_id,
            ConnectorSchedule.next_run_at <= now,
            or_(ConnectorSchedule.lease_until.is_(None), ConnectorSchedule.lease_until < now),
        )
        .values(lease_owner=owner, lease_until=until)
        .returning(ConnectorSchedule.id)
    )
    return taken.first() is not None


async def renew_lease(session: AsyncSession, schedule_id: int, owner: str, until: datetime) -> bool:
    renewed = await session.execute(
        update(ConnectorSchedule)
        .where(ConnectorSchedule.id == schedule_id, ConnectorSchedule.lease_owner == owner)
        .values(lease_until=until)
        .returning(ConnectorSchedule.id)
    )
    return renewed.first() is not None


async def release_schedule(session: AsyncSession, schedule_id: int, owner: str, next_run_at: datetime) -> None:
    await session.execute(
        update(ConnectorSchedule)
        .where(ConnectorSchedule.id == schedule_id, ConnectorSchedule.lease_owner == owner)
        .values(lease_owner=None, lease_until=None, next_run_at=next_run_at)
    )
