"""centres: the service centres' tree (three-level halls); where clerks, departments and cases sit,
at which levels an item is accepted and which level decides it

Revision ID: 0010_halls3
Revises: 0009_merge
Create Date: 2026-11-30 06:50:00

Existing rows get no centre (NULL): a hub of one hall, as before (docs/cases.md, "Three-level halls").
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_halls3"
down_revision = "0009_merge"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ALL_LEVELS = "city,county,township,village"


def _centre_column(batch: object, table: str, column: str) -> None:
    batch.add_column(sa.Column(column, ID, nullable=True))  # type: ignore[attr-defined]
    batch.create_foreign_key(op.f(f"fk_{table}_{column}_centres"), "centres", [column], ["id"])  # type: ignore[attr-defined]


def upgrade() -> None:
    op.create_table(
        "centres",
        sa.Column("id", ID, nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("level", sa.String(length=16), nullable=False),
        sa.Column("parent_id", ID, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["parent_id"], ["centres.id"], name=op.f("fk_centres_parent_id_centres")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_centres")),
        sa.UniqueConstraint("code", name=op.f("uq_centres_code")),
    )
    with op.batch_alter_table("departments") as batch:
        _centre_column(batch, "departments", "centre_id")
        batch.add_column(sa.Column("branch_of_id", ID, nullable=True))
        batch.create_foreign_key(
            op.f("fk_departments_branch_of_id_departments"), "departments", ["branch_of_id"], ["id"]
        )
    with op.batch_alter_table("principals") as batch:
        _centre_column(batch, "principals", "centre_id")
    with op.batch_alter_table("service_items") as batch:
        batch.add_column(sa.Column("accept_levels", sa.String(length=64), nullable=False, server_default=ALL_LEVELS))
        batch.add_column(sa.Column("decide_level", sa.String(length=16), nullable=True))
    with op.batch_alter_table("cases") as batch:
        _centre_column(batch, "cases", "centre_id")
        _centre_column(batch, "cases", "collect_centre_id")
        _centre_column(batch, "cases", "results_collected_centre_id")
    op.create_index("ix_cases_centre", "cases", ["centre_id"])
    with op.batch_alter_table("review_tasks") as batch:
        _centre_column(batch, "review_tasks", "centre_id")
        batch.add_column(sa.Column("routed_from_department_id", ID, nullable=True))
        batch.create_foreign_key(
            op.f("fk_review_tasks_routed_from_department_id_departments"),
            "departments",
            ["routed_from_department_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("review_tasks") as batch:
        batch.drop_constraint(op.f("fk_review_tasks_routed_from_department_id_departments"), type_="foreignkey")
        batch.drop_constraint(op.f("fk_review_tasks_centre_id_centres"), type_="foreignkey")
        batch.drop_column("routed_from_department_id")
        batch.drop_column("centre_id")
    op.drop_index("ix_cases_centre", table_name="cases")
    with op.batch_alter_table("cases") as batch:
        for column in ("results_collected_centre_id", "collect_centre_id", "centre_id"):
            batch.drop_constraint(op.f(f"fk_cases_{column}_centres"), type_="foreignkey")
            batch.drop_column(column)
    with op.batch_alter_table("service_items") as batch:
        batch.drop_column("decide_level")
        batch.drop_column("accept_levels")
    with op.batch_alter_table("principals") as batch:
        batch.drop_constraint(op.f("fk_principals_centre_id_centres"), type_="foreignkey")
        batch.drop_column("centre_id")
    with op.batch_alter_table("departments") as batch:
        batch.drop_constraint(op.f("fk_departments_branch_of_id_departments"), type_="foreignkey")
        batch.drop_constraint(op.f("fk_departments_centre_id_centres"), type_="foreignkey")
        batch.drop_column("branch_of_id")
        batch.drop_column("centre_id")
    op.drop_table("centres")
