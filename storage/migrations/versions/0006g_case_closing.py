"""cases: withdrawal and abandonment (closed_at, closed_by_principal_id, close_reason), collection of results

Revision ID: 0006g_case_closing
Revises: 0005_merge
Create Date: 2026-11-30 04:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006g_case_closing"
down_revision = "0005_merge"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("cases") as batch:
        batch.add_column(sa.Column("results_collected_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("closed_by_principal_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True)
        )
        batch.add_column(sa.Column("close_reason", sa.Text(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_cases_closed_by_principal_id_principals"), "principals", ["closed_by_principal_id"], ["id"]
        )
    op.create_index("ix_cases_status_opened", "cases", ["status", "opened_at"])


def downgrade() -> None:
    op.drop_index("ix_cases_status_opened", table_name="cases")
    with op.batch_alter_table("cases") as batch:
        batch.drop_constraint(op.f("fk_cases_closed_by_principal_id_principals"), type_="foreignkey")
        batch.drop_column("close_reason")
        batch.drop_column("closed_by_principal_id")
        batch.drop_column("closed_at")
        batch.drop_column("results_collected_at")
