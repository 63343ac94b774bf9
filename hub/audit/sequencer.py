"""The sequencer: numbers queued entries, adds numbered entries to the stored tree, signs checkpoints.

Entries are numbered from one counter (storage/models/audit.py, AuditCounter), whose row lock makes
them commit in number order: the numbered entries are always 1..N without a gap. The reads' group
commit numbers its batches as it inserts them (PostgreSQL); entries written inside a transaction,
and all of SQLite's, are queued with seq NULL, and the sequencer numbers them first, in a short
transaction of its own, so no write transaction and no hashing ever holds the counter.

Any hub process may run it; one batch at a time holds the log's lock (a PostgreSQL advisory lock,
or SQLite's write lock), only for the batch itself. Requests never wait for the hashing: it reads
the entries numbered after the tree's size, checks they follow on without a gap, and turns them
into consecutive leaves in one transaction.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from prometheus_client import Counter
from sqlalchemy.ext.asyncio import AsyncSession

from hub.access.context import Hub
from hub.audit.checkpoint import Checkpoint, CheckpointError, sign_note
from hub.audit.encoding import canonical_text
from hub.audit.head import HeadFileError, HeadStore, SignedHead
from hub.audit.merkle import ProofError, leaf_hash, verify_consistency
from hub.audit.proofs import consistency_hashes
from hub.audit.tiles import TileSet, frontier_tiles
from hub.audit.witnesses import collect_cosignatures, configured_witnesses
from hub.keys.keyring import Keyring
from hub.metrics import AUDIT_SEQUENCER_HALTED, AUDIT_SIGNING_REFUSED
from storage.models import AuditCheckpoint
from storage.models.base import utcnow
from storage.repositories import audit as repo

log = logging.getLogger("hub.audit")

# Alarms already raised by this process, by database: each is logged once, counted every time.
_raised: set[tuple[str, str]] = set()


# Entries hashed, or leaves added to the tree, between two turns of the event loop. The sequencer runs
# in a serving process: a batch of thousands hashed at once held up every request in flight for
# tens of milliseconds (the clerk's query's p99, docs/performance.md).
TURN = 256


async def _leaves(rows: Sequence[Sequence[Any]], size: int) -> list[bytes]:
    """The leaf hashes of queued rows (repo.ENTRY_COLUMNS: id, seq, then canonical_text's values)
    numbered from size + 1."""
    leaves: list[bytes] = []
    for start in range(0, len(rows), TURN):
        leaves += [
            leaf_hash(canonical_text(size + n + 1, *row[2:]).encode("utf-8"))
            for n, row in enumerate(rows[start : start + TURN], start)
        ]
        await asyncio.sleep(0)
    return leaves


async def _extend(tree: TileSet, size: int, leaves: list[bytes]) -> None:
    for start in range(0, len(leaves), TURN):
        tree.extend(size + start, leaves[start : start + TURN])
        await asyncio.sleep(0)


def _alarm_once(database: str, message: str, counter: Counter) -> None:
    counter.inc()
    if (database, message) not in _raised:
        _raised.add((database, message))
        log.error("ACCESS LOG ALARM: %s", message)


def _first_missing(rows: Sequence[Sequence[Any]], size: int, last: int) -> int | None:
    """The first of the numbers size + 1..last that `rows` (in seq order) lack: an entry deleted
    in SQL after it was numbered, before it was hashed."""
    for expected, row in enumerate(rows, start=size + 1):
        if row[1] != expected:
            return expected
    return None if len(rows) == last - size else size + len(rows) + 1


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
        self.heads = HeadStore(hub.settings.secrets_dir)

    async def integrate(self, *, wait: bool = True, force_checkpoint: bool = False) -> SequencerRun | None:
        """Sequence everything queued, signing a checkpoint when due (or when forced).

        Returns None only when `wait` is False and another process holds the lock.
        """
        run: SequencerRun | None = None
        while True:
            numbered = await self._number_queued(wait=wait)
            if numbered is None:
                break
            batch = await self._batch(wait=wait, force_checkpoint=force_checkpoint)
            if batch is None:
                break
            count, size, signed = batch
            previous = run or SequencerRun(0, 0, None)
            run = SequencerRun(previous.sequenced + count, size, signed or previous.checkpoint)
            if count < self.settings.audit_sequencer_batch and numbered < self.settings.audit_sequencer_batch:
                break
        if run is not None and run.checkpoint is not None and self.settings.witnesses:
            await self._witness(run.checkpoint)
        return run

    async def _witness(self, checkpoint: AuditCheckpoint) -> None:
        """Ask the configured witnesses to cosign a new checkpoint, outside the log's lock, and
        store their cosignatures with it."""
        size = checkpoint.tree_size

        async def proof_for(old: int) -> list[bytes]:
            async with self.hub.sessions() as session:
                return await consistency_hashes(session, old, size)

        try:
            witnesses = configured_witnesses(self.settings.witnesses)
        except CheckpointError as error:
            log.error("HUB_WITNESSES is not usable, no witness was asked: %s", error)
            return
        note = await collect_cosignatures(
            witnesses,
            self.settings.audit_origin,
            size,
            checkpoint.note,
            proof_for,
            self.settings.witness_timeout,
        )
        if note != checkpoint.note:
            async with self.hub.sessions() as session:
                await repo.set_checkpoint_note(session, size, note)
                await session.commit()
            checkpoint.note = note

    async def _number_queued(self, *, wait: bool) -> int | None:
        """Number a batch of queued entries (seq NULL) after the counter, in a transaction of its
        own, short, so the group commits waiting for the counter's row wait only for this.

        Returns how many, 0 if the log is damaged, None only when `wait` is False and another
        process holds the lock.
        """
        limit = self.settings.audit_sequencer_batch
        async with self.hub.sessions() as session:
            if not await repo.queued_ids(session, 1):
                return 0  # the usual case on PostgreSQL: no lock taken
            if not await repo.lock_log(session, wait=wait):
                return None
            if await repo.last_numbered(session) is None:
                state = await repo.log_state(session)
                await repo.restore_counter(session, state.tree_size if state is not None else 0)
            ids = await repo.queued_ids(session, limit)
            if not ids:
                return 0
            base = await repo.take_numbers(session, len(ids))
            damage = await self._numbered_outside(session, base, ids[0])
            if damage is not None:
                await session.rollback()
                _alarm_once(self.settings.database_url, damage, AUDIT_SEQUENCER_HALTED)
                return 0
            await repo.assign_sequence(session, ids, base + 1)
            await session.commit()
            return len(ids)

    async def _numbered_outside(self, session: AsyncSession, base: int, first_queued: int) -> str | None:
        """Why queued entries cannot be numbered from base + 1: a row already holds a number above
        the counter, written by someone other than the hub (an insert or a renumbering in SQL);
        numbering on would collide with it. Read holding the counter's lock, so every entry the hub
        numbered is committed and at most `base`."""
        highest = await repo.max_seq(session)
        if highest > base:
            return (
                f"the sequencer cannot number queued entry id {first_queued} as entry {base + 1}: "
                f"access_entries already holds sequence numbers up to {highest} although the counter gave {base}; "
                "rows were numbered outside the hub (run `hub audit export` and `hub audit verify`)"
            )
        return None

    async def _batch(self, *, wait: bool, force_checkpoint: bool) -> tuple[int, int, AuditCheckpoint | None] | None:
        async with self.hub.sessions() as session:
            if not await repo.lock_log(session, wait=wait):
                return None
            state = await repo.log_state(session)
            if state is None:
                raise RuntimeError("the access log's state row is missing: run `hub db upgrade`")
            size, root = state.tree_size, bytes(state.root_hash)
            # The counter first, then the entries: the entries' read, a later snapshot, holds all of
            # them up to the counter read.
            last = min(await repo.last_numbered(session) or 0, size + self.settings.audit_sequencer_batch)
            rows = await repo.entry_values_between(session, size + 1, last) if last > size else []
            now = utcnow()
            missing = _first_missing(rows, size, last) if last > size else None
            if missing is not None:
                rows = rows[: missing - size - 1]  # those before the gap go on into the tree
                _alarm_once(
                    self.settings.database_url,
                    f"the sequencer stopped before adding entry {missing} to the tree: entry {missing} is missing "
                    "from access_entries although the counter numbered entries after it; a numbered entry was "
                    "deleted (run `hub audit export` and `hub audit verify`)",
                    AUDIT_SEQUENCER_HALTED,
                )
            if rows:
                leaves = await _leaves(rows, size)
                try:
                    tree = TileSet(await repo.tiles(session, frontier_tiles(size)))
                    await _extend(tree, size, leaves)
                except (KeyError, ValueError) as error:
                    _alarm_once(
                        self.settings.database_url,
                        f"the sequencer stopped before adding entry {size + 1} to the tree: "
                        f"the stored tree is damaged ({error})",
                        AUDIT_SEQUENCER_HALTED,
                    )
                    return 0, size, None
                await repo.save_tiles(session, *tree.changes())
                size += len(rows)
                root = tree.root(size)
                await repo.save_state(session, size, root, now)
            if not await self._checkpoint_is_due(session, size, now, force=force_checkpoint):
                await session.commit()
                return len(rows), size, None
            # The head file's lock is held from the check to the write, across the commit.
            async with self.heads.locked_async():
                refusal = await self._refusal(session, size, root)
                if refusal is not None:
                    await session.commit()  # the entries are in the tree; only the signature is refused
                    _alarm_once(self.settings.database_url, refusal, AUDIT_SIGNING_REFUSED)
                    return len(rows), size, None
                signed = await self._sign(session, size, root, now, await repo.latest_checkpoint(session))
                note = signed.note
                await session.commit()
                self.heads.write(SignedHead(self.settings.audit_origin, size, root, note))
            return len(rows), size, signed

    async def _checkpoint_is_due(self, session: AsyncSession, size: int, now: datetime, *, force: bool) -> bool:
        latest = await repo.latest_checkpoint(session)
        if size == 0 or (latest is not None and latest.tree_size >= size):
            return False
        return force or latest is None or self._checkpoint_due(size, latest.tree_size, latest.signed_at, now)

    async def _refusal(self, session: AsyncSession, size: int, root: bytes) -> str | None:
        """Why the tree of `size` must not be signed: it does not extend the head this signer
        signed last (the head file, outside the database), checked by an RFC 9162 proof."""
        try:
            head = self.heads.read()
        except HeadFileError as error:
            return f"signing stopped: {error}"
        if head is None:
            return None
        if head.origin != self.settings.audit_origin:
            return f"signing stopped: the head file is for origin {head.origin!r}, not {self.settings.audit_origin!r}"
        if head.tree_size > size:
            return (
                f"signing refused: the database's tree holds {size} entries but this signer already signed "
                f"a tree of {head.tree_size}; the log was truncated or rewritten"
            )
        try:
            proof = await consistency_hashes(session, head.tree_size, size)
            verify_consistency(head.tree_size, size, proof, head.root_hash, root)
        except (ProofError, KeyError) as error:
            return (
                f"signing refused: the tree of size {size} is not consistent with the head of size "
                f"{head.tree_size} this signer signed last ({error}); the log was rewritten"
            )
        return None

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
