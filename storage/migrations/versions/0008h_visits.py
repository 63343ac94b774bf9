"""visits: an applicant at a clerk's window, the purpose `visit:<id>` a clerk reads their data under

Revision ID: 0008h_visits
Revises: 0007_merge
Create Date: 2026-11-30 05:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008h_visits"
down_revision = "0007_merge"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "visits",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("principal_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("id_number", sa.String(length=18), nullable=False),
        sa.Column("opened_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["principal_id"], ["principals.id"], name=op.f("fk_visits_principal_id_principals")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visits")),
    )
    op.create_index("ix_visits_principal_id", "visits", ["principal_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_visits_principal_id", table_name="visits")
    op.drop_table("visits")
