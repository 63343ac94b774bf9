"""注销: service items that end a holder's right, a case's counterparty, cancelled materials

Revision ID: 0006g_cancellation
Revises: 0006g_correction_materials
Create Date: 2026-11-30 04:35:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006g_cancellation"
down_revision = "0006g_correction_materials"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("service_items") as batch:
        batch.add_column(sa.Column("cancels", sa.String(length=500), nullable=False, server_default=""))
    with op.batch_alter_table("cases") as batch:
        batch.add_column(
            sa.Column("counterparty_applicant_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True)
        )
        batch.create_foreign_key(
            op.f("fk_cases_counterparty_applicant_id_applicants"), "applicants", ["counterparty_applicant_id"], ["id"]
        )
    with op.batch_alter_table("materials") as batch:
        batch.add_column(sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("cancel_reason", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("materials") as batch:
        batch.drop_column("cancel_reason")
        batch.drop_column("cancelled_at")
    with op.batch_alter_table("cases") as batch:
        batch.drop_constraint(op.f("fk_cases_counterparty_applicant_id_applicants"), type_="foreignkey")
        batch.drop_column("counterparty_applicant_id")
    with op.batch_alter_table("service_items") as batch:
        batch.drop_column("cancels")
