"""The access log: entries, the stored Merkle tree (hash tiles), its state and signed checkpoints.

Entries get consecutive sequence numbers from one counter row (`audit_counter`): the reads' group
commit numbers its batch as it inserts it, on PostgreSQL; entries written inside a transaction (a
write and its entries) are inserted with `seq` NULL and numbered by the sequencer
(hub/audit/sequencer.py) in a short transaction of its own. The sequencer then adds the numbered
entries to the tree, in order, and signs checkpoints. Rows are never updated after numbering;
hub/audit/verify.py detects it if they are.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, LargeBinary, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, BigId, UTCDateTime

_SEQUENCED = text("seq IS NOT NULL")
_REFUSALS = text("outcome = 'denied' AND principal_id IS NOT NULL AND seq IS NOT NULL")


class AccessEntry(Base):
    __tablename__ = "access_entries"

    # Queue order: assigned at insert, may have gaps (rolled-back transactions).
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # Log order: 1, 2, 3... without gaps, from audit_counter; leaf index is seq - 1. NULL: queued.
    seq: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    request_id: Mapped[str] = mapped_column(String(64))
    client_address: Mapped[str] = mapped_column(String(64), default="")
    principal_id: Mapped[int | None] = mapped_column(BigId, nullable=True)
    department_code: Mapped[str] = mapped_column(String(32), default="")
    role: Mapped[str] = mapped_column(String(32), default="")
    action: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))
    applicant_ref: Mapped[str] = mapped_column(String(18), default="")
    object_ref: Mapped[str] = mapped_column(String(200), default="")
    # Comma-separated names: profile fields and material type codes touched (never values).
    fields: Mapped[str] = mapped_column(Text, default="")
    material_types: Mapped[str] = mapped_column(Text, default="")
    purpose: Mapped[str] = mapped_column(String(200), default="")
    reason: Mapped[str] = mapped_column(Text, default="")

    # A queued entry's insert touches only the primary key and the queue index: the search indexes
    # cover numbered entries only, and a queued entry enters them when the sequencer numbers it.
    __table_args__ = (
        Index(
            "ix_access_entries_pending", "id", postgresql_where=text("seq IS NULL"), sqlite_where=text("seq IS NULL")
        ),
        *(
            Index(
                name,
                *columns,
                unique=name == "ix_access_entries_seq",
                postgresql_where=_SEQUENCED,
                sqlite_where=_SEQUENCED,
            )
            for name, columns in (
                ("ix_access_entries_seq", ("seq",)),
                ("ix_access_entries_applicant_seq", ("applicant_ref", "seq")),
                ("ix_access_entries_department_seq", ("department_code", "seq")),
                ("ix_access_entries_principal_seq", ("principal_id", "seq")),
            )
        ),
        # A principal's refusals: the probing rule reads those of the last hour or more on every
        # supervision pass, and a read over the seq index looked at every entry of that span
        # (docs/supervision.md, "Refusals by index"). Refusals are few: the index stays small.
        Index("ix_access_entries_refusals", "seq", postgresql_where=_REFUSALS, sqlite_where=_REFUSALS),
    )


class AuditTile(Base):
    """Up to TILE_WIDTH consecutive node hashes of one tree level (level 0: leaf hashes).

    Every complete subtree hash is kept, so a checkpoint or a proof reads O(log n) hashes.
    """

    __tablename__ = "audit_tiles"

    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hashes: Mapped[bytes] = mapped_column(LargeBinary)


class AuditLogState(Base):
    """One row: how many entries the tree holds and its root. Locked by the sequencer."""

    __tablename__ = "audit_log_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    tree_size: Mapped[int] = mapped_column(BigInteger, default=0)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AuditCounter(Base):
    """One row: the last sequence number given to an entry.

    Whoever numbers entries (the group commit's insert, the sequencer's numbering) adds to it in the
    same transaction, so its row lock, held to the commit, makes the numbered entries commit in
    number order: every snapshot sees entries 1..N without a gap, and a rolled-back transaction
    takes its numbers back. Kept apart from `audit_log_state`, which the sequencer holds for a
    whole batch: nobody numbering waits for the hashing.
    """

    __tablename__ = "audit_counter"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(BigInteger, default=0)


class AuditCheckpoint(Base):
    """A signed checkpoint (C2SP tlog-checkpoint as a signed note), kept forever."""

    __tablename__ = "audit_checkpoints"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tree_size: Mapped[int] = mapped_column(BigInteger, unique=True)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary)
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Keyring ids of the signing keys (comma-separated); the note carries signed-note key ids.
    key_ids: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text)
