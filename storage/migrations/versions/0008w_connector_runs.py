"""connector runs and the materials pulls issued: what each run did, and what a rerun must not duplicate

Revision ID: 0008w_connector_runs
Revises: 0007_merge
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008w_connector_runs"
down_revision = "0007_merge"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "connector_materials",
        sa.Column("source_key", sa.String(length=128), nullable=False),
        sa.Column("record_key", sa.String(length=128), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("material_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["material_id"], ["materials.id"], name=op.f("fk_connector_materials_material_id_materials")
        ),
        sa.PrimaryKeyConstraint("source_key", "record_key", name=op.f("pk_connector_materials")),
    )
    op.create_table(
        "connector_runs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("records", sa.Integer(), nullable=False),
        sa.Column("outcomes", sa.Text(), nullable=False),
        sa.Column("refusals", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connector_runs")),
    )


def downgrade() -> None:
    op.drop_table("connector_runs")
    op.drop_table("connector_materials")
