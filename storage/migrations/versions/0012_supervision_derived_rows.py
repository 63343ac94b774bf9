"""supervision: timing states and warnings keep their case's id without a foreign key

A first evaluation writes a state for every open case and review and a warning for each change
(300,000 and 180,000 rows for 100,000 cases); PostgreSQL checked each row's case with a row lock on
it, half the time of the write. Both tables are written only by the evaluation, from the cases it
has just read, and cases are never deleted.

Revision ID: 0012_supervision_derived
Revises: 0011_merge
Create Date: 2026-11-30 09:50:00
"""

from __future__ import annotations

from alembic import op

revision = "0012_supervision_derived"
down_revision = "0011_merge"
branch_labels = None
depends_on = None

TABLES = ("supervision_timing_states", "supervision_warnings")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(f"fk_{table}_case_id_cases", type_="foreignkey")


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.create_foreign_key(f"fk_{table}_case_id_cases", "cases", ["case_id"], ["id"])
