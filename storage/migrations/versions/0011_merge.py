"""Join the branches built in parallel on 0009: one head again.

Each touches its own tables (centres; connector schedules; trusted documents); this
revision changes nothing but gives `alembic upgrade head` a single target.

Revision ID: 0011_merge
Revises: 0010_halls3, 0010_webhooks3_schedules, 0010_compiled
"""

from __future__ import annotations

revision = "0011_merge"
down_revision = ("0010_halls3", "0010_webhooks3_schedules", "0010_compiled")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
