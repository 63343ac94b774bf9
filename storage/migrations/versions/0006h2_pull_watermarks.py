"""connector watermarks: how far each pull from a department's database has read

Revision ID: 0006h2_pull_watermarks
Revises: 0006h_webhooks
Create Date: 2026-11-30 04:20:44.697753
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0006h2_pull_watermarks'
down_revision = '0006h_webhooks'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('connector_watermarks',
    sa.Column('source_key', sa.String(length=128), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('source_key', name=op.f('pk_connector_watermarks'))
    )


def downgrade() -> None:
    op.drop_table('connector_watermarks')
