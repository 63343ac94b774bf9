"""access log: sequence numbers, hash tiles, log state, signed checkpoints; applicant principals

Revision ID: 0003_access_log
Revises: 0001
Create Date: 2026-11-23 08:50:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = "0003_access_log"
down_revision = "0001"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
INDEXES = (
    ("ix_access_entries_seq", ["seq"]),
    ("ix_access_entries_applicant_seq", ["applicant_ref", "seq"]),
    ("ix_access_entries_department_seq", ["department_code", "seq"]),
    ("ix_access_entries_principal_seq", ["principal_id", "seq"]),
)


def upgrade() -> None:
    with op.batch_alter_table("access_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column("material_types", sa.Text(), nullable=False, server_default=""))
        batch_op.drop_index("ix_access_entries_applicant")
        batch_op.create_index(
            "ix_access_entries_pending",
            ["id"],
            unique=False,
            postgresql_where=sa.text("seq IS NULL"),
            sqlite_where=sa.text("seq IS NULL"),
        )
        # Search indexes hold sequenced entries only, so a request's insert does not touch them.
        for name, columns in INDEXES:
            batch_op.create_index(
                name,
                columns,
                unique=name == "ix_access_entries_seq",
                postgresql_where=sa.text("seq IS NOT NULL"),
                sqlite_where=sa.text("seq IS NOT NULL"),
            )

    op.create_table(
        "audit_tiles",
        sa.Column("level", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("idx", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hashes", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("level", "idx", name=op.f("pk_audit_tiles")),
    )
    op.create_table(
        "audit_log_state",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log_state")),
    )
    op.create_table(
        "audit_checkpoints",
        sa.Column("id", BigId, nullable=False),
        sa.Column("tree_size", sa.BigInteger(), nullable=False),
        sa.Column("root_hash", sa.LargeBinary(), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("key_ids", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_checkpoints")),
        sa.UniqueConstraint("tree_size", name=op.f("uq_audit_checkpoints_tree_size")),
    )
    with op.batch_alter_table("principals", schema=None) as batch_op:
        batch_op.add_column(sa.Column("applicant_ref", sa.String(length=18), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("principals", schema=None) as batch_op:
        batch_op.drop_column("applicant_ref")
    op.drop_table("audit_checkpoints")
    op.drop_table("audit_log_state")
    op.drop_table("audit_tiles")
    with op.batch_alter_table("access_entries", schema=None) as batch_op:
        for name, _ in INDEXES:
            batch_op.drop_index(name)
        batch_op.drop_index("ix_access_entries_pending")
        batch_op.create_index("ix_access_entries_applicant", ["applicant_ref", "id"], unique=False)
        batch_op.drop_column("material_types")
        batch_op.drop_column("seq")
