"""Blob rows: the bookkeeping that makes writes, deduplication and gc safe together."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, CursorResult, and_, delete, exists, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Blob, BlobState, MaterialVersion


async def blob_by_name(session: AsyncSession, name: str) -> Blob | None:
    return (await session.execute(select(Blob).where(Blob.name == name))).scalar_one_or_none()


async def blobs_by_ids(session: AsyncSession, ids: Sequence[int]) -> dict[int, Blob]:
    if not ids:
        return {}
    rows = await session.execute(select(Blob).where(Blob.id.in_(ids)))
    return {blob.id: blob for blob in rows.scalars()}


async def add_pending(session: AsyncSession, blob: Blob) -> Blob:
    session.add(blob)
    await session.flush()
    return blob


# An UPDATE without RETURNING yields a CursorResult (for `rowcount`); AsyncSession.execute is typed to
# return a plain Result, so the functions below say what they get.


async def mark_stored(session: AsyncSession, blob_id: int, wrapped_key: bytes, when: datetime) -> bool:
    """Flip our pending row to stored; False if another writer took the row over meanwhile."""
    result = cast(
        CursorResult[Any],
        await session.execute(
            update(Blob)
            .where(Blob.id == blob_id, Blob.state == BlobState.PENDING.value, Blob.wrapped_key == wrapped_key)
            .values(state=BlobState.STORED.value, stored_at=when, claimed_at=when)
        ),
    )
    return result.rowcount == 1


async def delete_pending(session: AsyncSession, blob_id: int, wrapped_key: bytes) -> None:
    await session.execute(
        delete(Blob).where(Blob.id == blob_id, Blob.state == BlobState.PENDING.value, Blob.wrapped_key == wrapped_key)
    )


async def claim(session: AsyncSession, blob_id: int, when: datetime) -> bool:
    """Mark a stored blob as chosen by a writer now, unless gc has begun deleting it."""
    result = cast(
        CursorResult[Any],
        await session.execute(
            update(Blob).where(Blob.id == blob_id, Blob.state == BlobState.STORED.value).values(claimed_at=when)
        ),
    )
    return result.rowcount == 1


async def take_over(
    session: AsyncSession, blob_id: int, old_wrapped: bytes, key_id: str, wrapped: bytes, when: datetime
) -> bool:
    """Restart an abandoned write (or one whose object went missing) under a fresh data key."""
    result = cast(
        CursorResult[Any],
        await session.execute(
            update(Blob)
            .where(Blob.id == blob_id, Blob.wrapped_key == old_wrapped, Blob.state != BlobState.DELETING.value)
            .values(state=BlobState.PENDING.value, key_id=key_id, wrapped_key=wrapped, claimed_at=when, stored_at=None)
        ),
    )
    return result.rowcount == 1


def _unreferenced() -> ColumnElement[bool]:
    return ~exists().where(MaterialVersion.blob_id == Blob.id)


async def collectable(session: AsyncSession, claimed_before: datetime) -> list[Blob]:
    """Blobs gc may delete: unreferenced and unclaimed since `claimed_before`, or already doomed."""
    statement = (
        select(Blob)
        .where(
            or_(
                Blob.state == BlobState.DELETING.value,
                and_(Blob.claimed_at < claimed_before, _unreferenced()),
            )
        )
        .order_by(Blob.id)
    )
    return list((await session.execute(statement)).scalars())


async def doom(session: AsyncSession, blob_id: int, claimed_before: datetime) -> bool:
    """Move a blob to `deleting` if it is still unreferenced and unclaimed (one atomic statement)."""
    result = cast(
        CursorResult[Any],
        await session.execute(
            update(Blob)
            .where(
                Blob.id == blob_id,
                or_(
                    Blob.state == BlobState.DELETING.value,
                    and_(Blob.claimed_at < claimed_before, _unreferenced()),
                ),
            )
            .values(state=BlobState.DELETING.value)
        ),
    )
    return result.rowcount == 1


async def delete_doomed(session: AsyncSession, blob_id: int) -> None:
    await session.execute(delete(Blob).where(Blob.id == blob_id, Blob.state == BlobState.DELETING.value))


async def all_names(session: AsyncSession) -> set[str]:
    return set((await session.execute(select(Blob.name))).scalars())


async def stored_not_under(session: AsyncSession, key_id: str, after_id: int, limit: int) -> list[Blob]:
    """Stored blobs whose data key is wrapped under another master key (pending rows belong to
    their writer, which compares the wrapped key when it finishes)."""
    statement = (
        select(Blob)
        .where(Blob.key_id != key_id, Blob.state == BlobState.STORED.value, Blob.id > after_id)
        .order_by(Blob.id)
        .limit(limit)
    )
    return list((await session.execute(statement)).scalars())


async def rewrap(session: AsyncSession, blob_id: int, old_wrapped: bytes, key_id: str, wrapped: bytes) -> bool:
    result = cast(
        CursorResult[Any],
        await session.execute(
            update(Blob)
            .where(Blob.id == blob_id, Blob.wrapped_key == old_wrapped)
            .values(key_id=key_id, wrapped_key=wrapped)
        ),
    )
    return result.rowcount == 1
