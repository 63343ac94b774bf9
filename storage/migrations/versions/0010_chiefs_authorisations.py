"""authorisations (首席代表): a department authorises a clerk to decide listed items; opinions carry it

Revision ID: 0010_chiefs
Revises: 0009_merge
Create Date: 2026-11-30 06:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_chiefs"
down_revision = "0009_merge"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "authorisations",
        sa.Column("id", ID, nullable=False),
        sa.Column("department_id", ID, nullable=False),
        sa.Column("clerk_principal_id", ID, nullable=False),
        sa.Column("item_codes", sa.String(length=2000), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("granted_by_principal_id", ID, nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_by_principal_id", ID, nullable=True),
        sa.Column("withdraw_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["department_id"], ["departments.id"], name=op.f("fk_authorisations_department_id_departments")
        ),
        sa.ForeignKeyConstraint(
            ["clerk_principal_id"], ["principals.id"], name=op.f("fk_authorisations_clerk_principal_id_principals")
        ),
        sa.ForeignKeyConstraint(
            ["granted_by_principal_id"],
            ["principals.id"],
            name=op.f("fk_authorisations_granted_by_principal_id_principals"),
        ),
        sa.ForeignKeyConstraint(
            ["withdrawn_by_principal_id"],
            ["principals.id"],
            name=op.f("fk_authorisations_withdrawn_by_principal_id_principals"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_authorisations")),
    )
    op.create_index("ix_authorisations_clerk", "authorisations", ["clerk_principal_id", "department_id"])
    op.create_index("ix_authorisations_department", "authorisations", ["department_id", "granted_at"])
    with op.batch_alter_table("review_opinions") as batch:
        batch.add_column(sa.Column("authorisation_id", ID, nullable=True))
        batch.create_foreign_key(
            op.f("fk_review_opinions_authorisation_id_authorisations"), "authorisations", ["authorisation_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("review_opinions") as batch:
        batch.drop_constraint(op.f("fk_review_opinions_authorisation_id_authorisations"), type_="foreignkey")
        batch.drop_column("authorisation_id")
    op.drop_index("ix_authorisations_department", table_name="authorisations")
    op.drop_index("ix_authorisations_clerk", table_name="authorisations")
    op.drop_table("authorisations")
