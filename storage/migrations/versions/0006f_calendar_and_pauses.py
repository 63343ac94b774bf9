"""calendar: official holiday notices loaded as data, versioned; cases: review pauses (art. 45)

Revision ID: 0006f_calendar_and_pauses
Revises: 0005_merge
Create Date: 2026-11-30 04:01:21.871168
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0006f_calendar_and_pauses'
down_revision = '0005_merge'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('calendar_notices',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=200), nullable=False),
    sa.Column('source_name', sa.String(length=300), nullable=False),
    sa.Column('digest', sa.String(length=64), nullable=False),
    sa.Column('loaded_by', sa.String(length=200), nullable=False),
    sa.Column('loaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_calendar_notices')),
    sa.UniqueConstraint('year', 'version', name=op.f('uq_calendar_notices_year'))
    )
    op.create_table('calendar_notice_days',
    sa.Column('notice_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['notice_id'], ['calendar_notices.id'], name=op.f('fk_calendar_notice_days_notice_id_calendar_notices')),
    sa.PrimaryKeyConstraint('notice_id', 'day', name=op.f('pk_calendar_notice_days'))
    )
    op.create_table('review_pauses',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('review_task_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('department_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('reason', sa.String(length=24), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_by_principal_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_by_principal_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_review_pauses_case_id_cases')),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_review_pauses_department_id_departments')),
    sa.ForeignKeyConstraint(['ended_by_principal_id'], ['principals.id'], name=op.f('fk_review_pauses_ended_by_principal_id_principals')),
    sa.ForeignKeyConstraint(['review_task_id'], ['review_tasks.id'], name=op.f('fk_review_pauses_review_task_id_review_tasks')),
    sa.ForeignKeyConstraint(['started_by_principal_id'], ['principals.id'], name=op.f('fk_review_pauses_started_by_principal_id_principals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_pauses'))
    )
    with op.batch_alter_table('review_pauses', schema=None) as batch_op:
        batch_op.create_index('ix_review_pauses_case', ['case_id', 'department_id'], unique=False)
        batch_op.create_index('ix_review_pauses_open', ['review_task_id'], unique=True, postgresql_where=sa.text('ended_at IS NULL'), sqlite_where=sa.text('ended_at IS NULL'))



def downgrade() -> None:
    with op.batch_alter_table('review_pauses', schema=None) as batch_op:
        batch_op.drop_index('ix_review_pauses_open', postgresql_where=sa.text('ended_at IS NULL'), sqlite_where=sa.text('ended_at IS NULL'))
        batch_op.drop_index('ix_review_pauses_case')

    op.drop_table('review_pauses')
    op.drop_table('calendar_notice_days')
    op.drop_table('calendar_notices')
