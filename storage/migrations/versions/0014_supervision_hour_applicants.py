"""supervision: the volume rule's distinct applicants per principal and hour, kept as a set

Each evaluation used to count a principal's distinct applicants in an hour by reading the
principal's whole hour from the access log again: under one busy principal that read grew through
the hour and with it PostgreSQL's CPU per request and the reads' tail (docs/performance.md,
"session 10"). The set lets an evaluation add its batch's reads. It starts empty: the first
evaluation after the upgrade counts from the log, as before, and fills it.

Revision ID: 0014_hour_applicants
Revises: 0013_audit_counter
Create Date: 2026-12-01 01:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_hour_applicants"
down_revision = "0013_audit_counter"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "supervision_hour_applicants",
        sa.Column("principal_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("hour", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("applicant_ref", sa.String(length=18), nullable=False),
        sa.PrimaryKeyConstraint("principal_id", "hour", "applicant_ref", name=op.f("pk_supervision_hour_applicants")),
    )


def downgrade() -> None:
    op.drop_table("supervision_hour_applicants")
