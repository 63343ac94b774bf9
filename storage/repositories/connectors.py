"""Connector state: the watermark of each pull from a department's database."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models.connectors import PullWatermark


async def watermark(session: AsyncSession, source_key: str) -> str | None:
    return await session.scalar(select(PullWatermark.value).where(PullWatermark.source_key == source_key))


async def save_watermark(session: AsyncSession, source_key: str, value: str, when: datetime) -> None:
    row = await session.get(PullWatermark, source_key, with_for_update=True)
    if row is None:
        session.add(PullWatermark(source_key=source_key, value=value, updated_at=when))
    else:
        row.value, row.updated_at = value, when
    await session.flush()
