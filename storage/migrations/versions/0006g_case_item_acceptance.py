"""case items: accepted one by one (一件事一次办), each with its own acceptance time

Items of cases accepted before this revision were all accepted with their case: they take its time.

Revision ID: 0006g_case_item_acceptance
Revises: 0006g_case_closing
Create Date: 2026-11-30 04:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006g_case_item_acceptance"
down_revision = "0006g_case_closing"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("case_items") as batch:
        batch.add_column(sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE case_items SET accepted_at = (SELECT cases.accepted_at FROM cases WHERE cases.id = case_items.case_id)"
    )


def downgrade() -> None:
    with op.batch_alter_table("case_items") as batch:
        batch.drop_column("accepted_at")
