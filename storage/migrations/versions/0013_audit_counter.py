"""access log: the counter that numbers entries as they are inserted

Until now the sequencer numbered every entry with an UPDATE after it was inserted: more than half of
the log's write-ahead volume and all of its dead row versions (docs/performance.md, "session 7").
The counter lets the reads' group commit number its batch in the insert itself. It starts at the
tree's size: until this revision, only the sequencer numbered entries, always up to the tree's size
in the same transaction, so a row numbered above it was numbered by someone else and stays an alarm.

Revision ID: 0013_audit_counter
Revises: 0012_supervision_derived
Create Date: 2026-11-30 20:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_audit_counter"
down_revision = "0012_supervision_derived"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_counter",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_counter")),
    )
    op.execute(
        "INSERT INTO audit_counter (id, last_seq) "
        "SELECT 1, COALESCE((SELECT tree_size FROM audit_log_state WHERE id = 1), 0)"
    )


def downgrade() -> None:
    # Stop the hub and let the sequencer catch up first (`hub audit checkpoint`): the earlier code
    # takes an entry numbered above the tree's size for one numbered in SQL, and stops on it.
    op.drop_table("audit_counter")
