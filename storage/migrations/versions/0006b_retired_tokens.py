"""retired_tokens: token hashes replaced by a rotation, so their later attempts name the principal

Revision ID: 0006b_retired_tokens
Revises: 0005_merge
Create Date: 2026-11-30 04:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006b_retired_tokens"
down_revision = "0005_merge"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "retired_tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("principal_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["principal_id"], ["principals.id"], name=op.f("fk_retired_tokens_principal_id_principals")
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_retired_tokens")),
    )


def downgrade() -> None:
    op.drop_table("retired_tokens")
