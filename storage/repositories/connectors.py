"""Connector state: the watermark of each pull, the materials pulls issued, and the record of runs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models.connectors import ConnectorRun, IssuedMaterial, PullWatermark


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
