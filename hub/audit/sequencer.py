"""The sequencer: numbers queued entries gaplessly, extends the stored tree, signs checkpoints.

Any hub process may run it; one batch at a time holds the log's lock (a PostgreSQL advisory lock,
or SQLite's write lock), only for the batch itself. Requests never wait for it: they queue their
entries with seq NULL, and the sequencer turns a batch of them into consecutive leaves in one
transaction, so an entry is sequenced exactly once and the numbers have no gaps.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from hub.access.context import Hub
from hub.audit.checkpoint import Checkpoint, sign_note
from hub.audit.encoding import encode_row
from hub.audit.merkle import leaf_hash
from hub.audit.tiles import TileSet, frontier_tiles
from hub.keys.keyring import Keyring
from storage.models import AuditCheckpoint
from storage.models.base import utcnow
from storage.repositories import audit as repo

log = logging.getLogger("hub.audit")


@dataclass(frozen=True)
class SequencerRun:
    sequenced: int
    tree_size: int
    checkpoint: AuditCheckpoint | None


class Sequencer:
    def __init__(self, hub: Hub) -> None:
        self.hub = hub
        self.settings = hub.settings
        self.keyring = Keyring(hub.settings.secrets_dir)

    async def integrate(self, *, wait: bool = True, force_checkpoint: bool = False) -> SequencerRun | None:
        """Sequence everything queued, signing a checkpoint when due (or when forced).

        Returns None only when `wait` is False and another process holds the lock.
        """
        run: SequencerRun | None = None
        while True:
            batch = await self._batch(wait=wait, force_checkpoint=force_checkpoint)
            if batch is None:
                return run
            count, size, signed = batch
            previous = run or SequencerRun(0, 0, None)
            run = SequencerRun(previous.sequenced + count, size, signed or previous.checkpoint)
            if count < self.settings.audit_sequencer_batch:
                return run

    async def _batch(self, *, wait: bool, force_checkpoint: bool) -> tuple[int, int, AuditCheckpoint | None] | None:
        async with self.hub.sessions() as session:
            if not await repo.lock_log(session, wait=wait):
                return None
            state = await repo.log_state(session)
            if state is None:
                raise RuntimeError("the access log's state row is missing: run `hub db upgrade`")
            size, root = state.tree_size, state.root_hash
            rows = await repo.pending_entries(session, self.settings.audit_sequencer_batch)
            now = utcnow()
            if rows:
                leaves = [leaf_hash(encode_row(row, size + n + 1)) for n, row in enumerate(rows)]
                tree = TileSet(await repo.tiles(session, frontier_tiles(size)))
                tree.extend(size, leaves)
                await repo.assign_sequence(session, [row.id for row in rows], size + 1)
                await repo.save_tiles(session, *tree.changes())
                size += len(rows)
                root = tree.root(size)
                await repo.save_state(session, size, root, now)
            signed = await self._checkpoint_if_due(session, size, root, now, force=force_checkpoint)
            await session.commit()
            return len(rows), size, signed

    async def _checkpoint_if_due(
        self,
        session: AsyncSession,
        size: int,
        root: bytes,
        now: datetime,
        *,
        force: bool,
    ) -> AuditCheckpoint | None:
        latest = await repo.latest_checkpoint(session)
        if size == 0 or (latest is not None and latest.tree_size >= size):
            return None
        due = latest is None or self._checkpoint_due(size, latest.tree_size, latest.signed_at, now)
        if not (force or due):
            return None
        return await self._sign(session, size, root, now, latest)

    def _checkpoint_due(self, size: int, signed_size: int, signed_at: datetime | None, now: datetime) -> bool:
        if signed_at is None:
            return True
        return size > signed_size and (
            size - signed_size >= self.settings.audit_checkpoint_entries
            or (now - signed_at).total_seconds() >= self.settings.audit_checkpoint_seconds
        )

    async def _sign(
        self,
        session: AsyncSession,
        size: int,
        root: bytes,
        now: datetime,
        latest: AuditCheckpoint | None,
    ) -> AuditCheckpoint:
        current_id, keys = self.keyring.signing_keys()
        signers = [keys[current_id]]
        # Across a key rotation the first new checkpoint is co-signed by the previous key, so a
        # verifier who trusts either key learns the other (docs/audit-log.md, "Key rotation").
        previous_id = latest.key_ids.split(",")[0] if latest is not None else current_id
        if previous_id != current_id and previous_id in keys:
            signers.append(keys[previous_id])
        signed_at = now.replace(microsecond=0)
        origin = self.settings.audit_origin
        note = sign_note(Checkpoint(origin, size, root, signed_at).body(), origin, [k.private_key for k in signers])
        return await repo.add_checkpoint(
            session,
            tree_size=size,
            root_hash=root,
            signed_at=signed_at,
            key_ids=",".join(k.key_id for k in signers),
            note=note,
        )

    async def has_work(self) -> bool:
        """Whether anything is queued or unsigned, found without taking the lock (idle runs stay
        read-only: an idle hub does not take SQLite's write lock every second)."""
        async with self.hub.sessions() as session:
            pending, size, signed_size, signed_at = await repo.idle_state(session)
        return pending or (size > 0 and self._checkpoint_due(size, signed_size, signed_at, utcnow()))

    async def run_forever(self) -> None:
        """The background loop each hub process runs; a busy lock means another process is on it."""
        busy = True
        while True:
            try:
                # While entries keep coming, go straight to work; probe only after an idle run.
                if busy or await self.has_work():
                    run = await self.integrate(wait=False)
                    busy = run is not None and run.sequenced > 0
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("access log sequencer run failed; retrying")
            await asyncio.sleep(self.settings.audit_sequencer_interval)
