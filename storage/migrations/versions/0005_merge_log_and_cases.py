"""Join the access log and cases branches: one head again.

The access log (0003) and materials/cases (0002, 0004) were built in parallel on the foundation;
this revision changes nothing but gives `alembic upgrade head` a single target.

Revision ID: 0005_merge
Revises: 0003_access_log, 0004_cases
"""

from __future__ import annotations

revision = "0005_merge"
down_revision = ("0003_access_log", "0004_cases")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
