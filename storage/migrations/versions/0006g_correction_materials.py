"""review opinions: the material types a correction request finds deficient

Revision ID: 0006g_correction_materials
Revises: 0006g_case_item_acceptance
Create Date: 2026-11-30 04:25:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006g_correction_materials"
down_revision = "0006g_case_item_acceptance"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("review_opinions") as batch:
        batch.add_column(
            sa.Column("correction_material_types", sa.String(length=500), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("review_opinions") as batch:
        batch.drop_column("correction_material_types")
