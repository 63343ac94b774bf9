"""connector schedules: the pulls that workers run every N seconds, one run at a time under a lease

Revision ID: 0010_webhooks3_schedules
Revises: 0009_merge
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_webhooks3_schedules"
down_revision = "0009_merge"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "connector_schedules",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("mapping", sa.Text(), nullable=False),
        sa.Column("purpose", sa.String(length=200), nullable=False),
        sa.Column("token_file", sa.Text(), nullable=False),
        sa.Column("interval_seconds", sa.Integer(), nullable=False),
        sa.Column("next_run_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_owner", sa.String(length=64), nullable=True),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connector_schedules")),
        sa.UniqueConstraint("name", name=op.f("uq_connector_schedules_name")),
    )


def downgrade() -> None:
    op.drop_table("connector_schedules")
