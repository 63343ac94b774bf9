"""Join the visits (0008h) and connector runs (0008w) branches: one head again.

Both were built in parallel on 0007 and touch their own tables; this revision changes nothing but
gives `alembic upgrade head` a single target.

Revision ID: 0009_merge
Revises: 0008h_visits, 0008w_connector_runs
"""

from __future__ import annotations

revision = "0009_merge"
down_revision = ("0008h_visits", "0008w_connector_runs")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
