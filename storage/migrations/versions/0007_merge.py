"""Join the branches built in parallel on 0005: one head again.

Retired tokens (0006b), supervision (0006e), the calendar and pauses (0006f), case closing, bundles,
corrections and cancellation (0006g_*), webhooks and pull watermarks (0006h*) and the console's
people (0006i) each touch their own tables or columns; this revision changes nothing but gives
`alembic upgrade head` a single target.

Revision ID: 0007_merge
Revises: 0006b_retired_tokens, 0006e_supervision, 0006f_calendar_and_pauses, 0006g_cancellation,
    0006h2_pull_watermarks, 0006i_console
"""

from __future__ import annotations

revision = "0007_merge"
down_revision = (
    "0006b_retired_tokens",
    "0006e_supervision",
    "0006f_calendar_and_pauses",
    "0006g_cancellation",
    "0006h2_pull_watermarks",
    "0006i_console",
)
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
