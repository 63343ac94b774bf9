"""The document store: bytes in, a deduplicated encrypted blob out, and plaintext ranges back.

Writing a blob, in order (docs/documents.md explains why):
1. The keyed name (HMAC-SHA256 under the naming key) is computed over the whole source first.
   Uploads are already spooled to a temp file by the multipart parser, so this is a local read;
   it lets a duplicate skip the object store entirely and a new blob go straight to its final name.
2. A `pending` row with a fresh wrapped data key is committed, so gc knows a write is in flight.
3. The ciphertext is streamed to the store; the store makes it visible only once complete.
4. The row flips to `stored`. Only then may a material version refer to it.
A crash or store failure at any step leaves at worst an unreferenced pending row and an invisible
partial write, which `hub blobs gc` removes after the grace period.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any, BinaryIO, TypeVar

from anyio import to_thread
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.hmac import HMAC
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from hub.documents._derived_keys import blob_naming_key
from hub.errors import BlobCorrupted, BlobStoreUnavailable, UploadInProgress
from hub.keys.keyring import Keyring, KeyringError
from storage.blobs import BlobNotFound, BlobStore, BlobStoreError, memory
from storage.blobs.crypto import (
    DEFAULT_CHUNK_SIZE,
    DecryptionFailed,
    EncryptingReader,
    chunk_span,
    decrypt_range,
    new_data_key,
    unwrap_key,
    wrap_key,
)
from storage.models import Blob, BlobState
from storage.models.base import utcnow
from storage.repositories import blobs as repo

HASH_PIECE = 1024 * 1024
# Plaintext handed from the worker thread to the event loop per hop while streaming a download.
DOWNLOAD_BATCH = 2 * 1024 * 1024
PENDING_POLL_SECONDS = 0.25
PENDING_WAIT_SECONDS = 30.0
REWRAP_BATCH = 500

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class BlobRef:
    """What reading a blob needs: where it is and how to open it."""

    id: int
    name: str
    size: int
    chunk_size: int
    key_id: str
    wrapped_key: bytes

    @classmethod
    def of(cls, blob: Blob) -> BlobRef:
        return cls(blob.id, blob.name, blob.size, blob.chunk_size, blob.key_id, blob.wrapped_key)


@dataclass(frozen=True, slots=True)
class GcReport:
    blobs_deleted: int
    orphan_objects_deleted: int
    partial_writes_removed: int
    dry_run: bool = False  # then the counts are what a run would delete, and nothing was


class DocumentStore:
    def __init__(
        self,
        store: BlobStore,
        keyring: Keyring,
        sessions: async_sessionmaker[AsyncSession],
        *,
        grace: timedelta,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> None:
        self.store = store
        self.keyring = keyring
        self.sessions = sessions
        self.grace = grace
        self.chunk_size = chunk_size

    # writing ---------------------------------------------------------------------------------

    async def put(self, source: BinaryIO, size: int) -> BlobRef:
        """Store `size` bytes read from the seekable `source` once; returns the stored blob."""
        name = await to_thread.run_sync(self._keyed_name, source, size)
        waited = 0.0
        while True:
            outcome = await self._reserve(name, size)
            if isinstance(outcome, BlobRef):
                return outcome
            if outcome is None:
                if waited >= PENDING_WAIT_SECONDS:
                    raise UploadInProgress("the same file is being stored by another request; try again shortly")
                await asyncio.sleep(PENDING_POLL_SECONDS)
                waited += PENDING_POLL_SECONDS
                continue
            blob_id, data_key, key_id, wrapped = outcome
            written = await self._write(source, name, size, blob_id, data_key, wrapped)
            if written:
                return BlobRef(blob_id, name, size, self.chunk_size, key_id, wrapped)

    def _keyed_name(self, source: BinaryIO, size: int) -> str:
        mac = HMAC(blob_naming_key(self.keyring), hashes.SHA256())
        source.seek(0)
        seen = 0
        while piece := source.read(HASH_PIECE):
            mac.update(piece)
            seen += len(piece)
        if seen != size:
            raise ValueError(f"the source holds {seen} bytes, not {size}")
        return mac.finalize().hex()

    async def _reserve(self, name: str, size: int) -> BlobRef | tuple[int, bytes, str, bytes] | None:
        """An existing stored blob, a pending row we now own (id, key, key id, wrapped), or None to wait."""
        async with self.sessions() as session:
            now = utcnow()
            blob = await repo.blob_by_name(session, name)
            stored = blob is not None and blob.state == BlobState.STORED.value
            if (
                blob is not None
                and stored
                and await self._run(self.store.exists, name)
                and await repo.claim(session, blob.id, now)
            ):
                await session.commit()
                return BlobRef.of(blob)
            if blob is not None:
                object_lost = blob.state == BlobState.STORED.value
                abandoned = blob.state == BlobState.PENDING.value and blob.claimed_at < now - self.grace
                if not (object_lost or abandoned):
                    return None
                data_key, key_id, wrapped = self._new_key()
                if not await repo.take_over(session, blob.id, blob.wrapped_key, key_id, wrapped, now):
                    return None
                await session.commit()
                return blob.id, data_key, key_id, wrapped
            data_key, key_id, wrapped = self._new_key()
            row = Blob(
                name=name,
                size=size,
                chunk_size=self.chunk_size,
                key_id=key_id,
                wrapped_key=wrapped,
                state=BlobState.PENDING.value,
                created_at=now,
                claimed_at=now,
            )
            try:
                await repo.add_pending(session, row)
                await session.commit()
            except IntegrityError:
                await session.rollback()  # another writer inserted the same name first
                return None
            return row.id, data_key, key_id, wrapped

    def _new_key(self) -> tuple[bytes, str, bytes]:
        key_id, master_key = self.keyring.current_master_key()
        data_key = new_data_key()
        return data_key, key_id, wrap_key(master_key, data_key)

    async def _write(
        self, source: BinaryIO, name: str, size: int, blob_id: int, data_key: bytes, wrapped: bytes
    ) -> bool:
        source.seek(0)
        reader = EncryptingReader(source, data_key, size, self.chunk_size)
        try:
            await self._run(self.store.put, name, reader, reader.length)
        except BaseException:
            await self._forget_pending(blob_id, wrapped)
            raise
        finally:
            if memory.worth_trimming(reader.length):
                await to_thread.run_sync(memory.after_transfer, reader.length)
        async with self.sessions() as session:
            stored = await repo.mark_stored(session, blob_id, wrapped, utcnow())
            await session.commit()
        return stored

    async def _forget_pending(self, blob_id: int, wrapped: bytes) -> None:
        """Best effort after a failed write; gc removes the row later if this fails too."""
        try:
            async with self.sessions() as session:
                await repo.delete_pending(session, blob_id, wrapped)
                await session.commit()
        except Exception:  # noqa: BLE001  (the write's own error is the one to report)
            pass

    # reading ---------------------------------------------------------------------------------

    async def open(self, blob: BlobRef, start: int = 0, end: int | None = None) -> AsyncIterator[memoryview]:
        """Plaintext bytes [start, end] (inclusive), decrypted chunk by chunk as they stream in.

        The store is opened before this returns, so a missing object or an unreachable store raises
        here; a chunk that fails authentication raises BlobCorrupted and is never yielded.
        """
        end = blob.size - 1 if end is None else end
        data_key = self._data_key(blob)
        _, offset, length = chunk_span(start, end, blob.size, blob.chunk_size)
        pieces = await self._run(self.store.read, blob.name, offset, length)
        plaintext = decrypt_range(pieces, data_key, blob.size, blob.chunk_size, start, end)
        return self._stream(plaintext, pieces, length)

    async def _stream(
        self, plaintext: Iterator[memoryview], pieces: Iterator[bytes], length: int
    ) -> AsyncIterator[memoryview]:
        """Yield batches while the worker thread already fetches and decrypts the next one."""
        ahead = asyncio.ensure_future(self._run(_next_batch, plaintext))
        try:
            while batch := await ahead:
                ahead = asyncio.ensure_future(self._run(_next_batch, plaintext))
                for piece in batch:
                    yield piece
        finally:
            # The iterator may still be running in its thread: let it finish before closing it.
            await asyncio.gather(ahead, return_exceptions=True)
            await to_thread.run_sync(_close, pieces, length)

    async def read_all(self, blob: BlobRef) -> bytes:
        """The whole plaintext, for small blobs."""
        return b"".join([piece async for piece in await self.open(blob)])

    def _data_key(self, blob: BlobRef) -> bytes:
        try:
            return unwrap_key(self.keyring.master_key(blob.key_id), blob.wrapped_key)
        except (DecryptionFailed, KeyringError):
            raise BlobCorrupted("the blob's data key cannot be unwrapped", blob=blob.id) from None

    async def _run(self, function: Callable[..., T], *args: Any) -> T:
        """Run a blocking store call in a worker thread, translating store and crypto failures."""
        try:
            return await to_thread.run_sync(partial(function, *args))
        except BlobNotFound as error:
            raise BlobCorrupted(f"stored content is missing: {error}") from None
        except BlobStoreError as error:
            raise BlobStoreUnavailable(str(error)) from None
        except DecryptionFailed as error:
            raise BlobCorrupted(f"stored content failed authentication ({error}); it is not served") from None

    # operating -------------------------------------------------------------------------------

    async def check(self) -> None:
        await self._run(self.store.check)

    async def blobs(self, ids: list[int]) -> dict[int, BlobRef]:
        async with self.sessions() as session:
            return {blob_id: BlobRef.of(blob) for blob_id, blob in (await repo.blobs_by_ids(session, ids)).items()}

    async def collect_garbage(self, now: datetime | None = None, *, dry_run: bool = False) -> GcReport:
        """Delete blobs no version refers to and no writer touched within the grace period.

        Each blob is first marked `deleting` in one conditional statement (still unreferenced,
        still unclaimed), so a writer deduplicating onto it at the same moment either claims it
        first (and gc leaves it) or waits for it to be gone and writes it anew. With `dry_run`,
        nothing is marked or deleted: the report counts what a run now would delete.
        """
        cutoff = (now or utcnow()) - self.grace
        async with self.sessions() as session:
            candidates = await repo.collectable(session, cutoff)
        if dry_run:
            async with self.sessions() as session:
                known = await repo.all_names(session)
            orphans = await self._orphans(known, cutoff)
            partial = await self._run(lambda: self.store.remove_partial_writes(cutoff, dry_run=True))
            return GcReport(len(candidates), len(orphans), partial, dry_run=True)
        deleted = 0
        for blob in candidates:
            async with self.sessions() as session:
                if not await repo.doom(session, blob.id, cutoff):
                    continue
                await session.commit()
            await self._run(self.store.delete, blob.name)
            async with self.sessions() as session:
                await repo.delete_doomed(session, blob.id)
                await session.commit()
            deleted += 1
        async with self.sessions() as session:
            known = await repo.all_names(session)
        orphans = await self._orphans(known, cutoff)
        for name in orphans:
            await self._run(self.store.delete, name)
        partial_writes = await self._run(self.store.remove_partial_writes, cutoff)
        return GcReport(deleted, len(orphans), partial_writes)

    async def _orphans(self, known: set[str], cutoff: datetime) -> list[str]:
        """Objects no row knows of, untouched since `cutoff` (a write in flight has no row yet)."""
        objects = await self._run(lambda: list(self.store.objects()))
        return [obj.name for obj in objects if obj.name not in known and obj.modified_at < cutoff]

    async def rewrap_data_keys(self) -> int:
        """Re-wrap every stored blob's data key under the current master key; blobs stay as they are."""
        key_id, master_key = self.keyring.current_master_key()
        rewrapped, after_id = 0, 0
        while True:
            async with self.sessions() as session:
                batch = await repo.stored_not_under(session, key_id, after_id, REWRAP_BATCH)
                if not batch:
                    return rewrapped
                for blob in batch:
                    data_key = self._data_key(BlobRef.of(blob))
                    if await repo.rewrap(session, blob.id, blob.wrapped_key, key_id, wrap_key(master_key, data_key)):
                        rewrapped += 1
                    after_id = blob.id
                await session.commit()


def _next_batch(plaintext: Iterator[memoryview]) -> list[memoryview]:
    """Plaintext worth about DOWNLOAD_BATCH bytes: one thread hop, one socket write per store piece."""
    parts: list[memoryview] = []
    gathered = 0
    for piece in plaintext:
        parts.append(piece)
        gathered += len(piece)
        if gathered >= DOWNLOAD_BATCH:
            break
    return parts


def _close(pieces: Iterator[bytes], length: int) -> None:
    close = getattr(pieces, "close", None)
    if close is not None:
        close()
    memory.after_transfer(length)
