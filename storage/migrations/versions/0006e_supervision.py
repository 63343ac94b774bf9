"""supervision: rules, timing states and warnings, watermarks, hourly reads, alerts and their events, complaints (办不成事), samples (抽查)

Revision ID: 0006e_supervision
Revises: 0005_merge
Create Date: 2026-11-30 04:26:03.411019
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0006e_supervision'
down_revision = '0005_merge'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('supervision_alerts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('rule', sa.String(length=64), nullable=False),
    sa.Column('dedupe_key', sa.String(length=200), nullable=False),
    sa.Column('principal_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('department_code', sa.String(length=32), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('seqs', sa.Text(), nullable=False),
    sa.Column('raised_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('respond_by', sa.Date(), nullable=True),
    sa.Column('escalated', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_supervision_alerts')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_supervision_alerts_dedupe_key'))
    )
    with op.batch_alter_table('supervision_alerts', schema=None) as batch_op:
        batch_op.create_index('ix_supervision_alerts_status', ['status', 'id'], unique=False)

    op.create_table('supervision_hourly_reads',
    sa.Column('principal_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('hour', sa.DateTime(timezone=True), nullable=False),
    sa.Column('applicants', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('principal_id', 'hour', name=op.f('pk_supervision_hourly_reads'))
    )
    op.create_table('supervision_rules',
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('params', sa.Text(), nullable=False),
    sa.Column('loaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_supervision_rules'))
    )
    op.create_table('supervision_watermarks',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('last_seq', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_supervision_watermarks'))
    )
    op.create_table('supervision_alert_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('alert_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('principal_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['alert_id'], ['supervision_alerts.id'], name=op.f('fk_supervision_alert_events_alert_id_supervision_alerts')),
    sa.ForeignKeyConstraint(['principal_id'], ['principals.id'], name=op.f('fk_supervision_alert_events_principal_id_principals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_supervision_alert_events'))
    )
    op.create_table('supervision_complaints',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('receipt_number', sa.String(length=32), nullable=False),
    sa.Column('applicant_ref', sa.String(length=18), nullable=False),
    sa.Column('filed_by_principal_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('item_code', sa.String(length=64), nullable=False),
    sa.Column('department_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('centre_department_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('what_happened', sa.Text(), nullable=False),
    sa.Column('cause', sa.String(length=32), nullable=False),
    sa.Column('complexity', sa.String(length=16), nullable=False),
    sa.Column('filed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('respond_by', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('resolution', sa.String(length=16), nullable=True),
    sa.Column('resolution_note', sa.Text(), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_by_principal_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['centre_department_id'], ['departments.id'], name=op.f('fk_supervision_complaints_centre_department_id_departments')),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_supervision_complaints_department_id_departments')),
    sa.ForeignKeyConstraint(['filed_by_principal_id'], ['principals.id'], name=op.f('fk_supervision_complaints_filed_by_principal_id_principals')),
    sa.ForeignKeyConstraint(['resolved_by_principal_id'], ['principals.id'], name=op.f('fk_supervision_complaints_resolved_by_principal_id_principals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_supervision_complaints')),
    sa.UniqueConstraint('receipt_number', name=op.f('uq_supervision_complaints_receipt_number'))
    )
    with op.batch_alter_table('supervision_complaints', schema=None) as batch_op:
        batch_op.create_index('ix_supervision_complaints_department', ['department_id', 'filed_at'], unique=False)

    op.create_table('supervision_samples',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('month', sa.String(length=7), nullable=False),
    sa.Column('department_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('seed', sa.BigInteger(), nullable=False),
    sa.Column('population', sa.BigInteger(), nullable=False),
    sa.Column('receipt_numbers', sa.Text(), nullable=False),
    sa.Column('drawn_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('drawn_by_principal_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_supervision_samples_department_id_departments')),
    sa.ForeignKeyConstraint(['drawn_by_principal_id'], ['principals.id'], name=op.f('fk_supervision_samples_drawn_by_principal_id_principals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_supervision_samples')),
    sa.UniqueConstraint('month', 'department_id', name=op.f('uq_supervision_samples_month'))
    )
    op.create_table('supervision_timing_states',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('department_id', sa.BigInteger(), nullable=False),
    sa.Column('state', sa.String(length=8), nullable=False),
    sa.Column('since', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_supervision_timing_states_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_supervision_timing_states')),
    sa.UniqueConstraint('case_id', 'department_id', name=op.f('uq_supervision_timing_states_case_id'))
    )
    op.create_table('supervision_warnings',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('department_id', sa.BigInteger(), nullable=False),
    sa.Column('state', sa.String(length=8), nullable=False),
    sa.Column('previous_state', sa.String(length=8), nullable=False),
    sa.Column('raised_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('raised_on', sa.Date(), nullable=False),
    sa.Column('addressed_to', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_supervision_warnings_case_id_cases')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_supervision_warnings'))
    )
    with op.batch_alter_table('supervision_warnings', schema=None) as batch_op:
        batch_op.create_index('ix_supervision_warnings_department_day', ['department_id', 'raised_on'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('supervision_warnings', schema=None) as batch_op:
        batch_op.drop_index('ix_supervision_warnings_department_day')

    op.drop_table('supervision_warnings')
    op.drop_table('supervision_timing_states')
    op.drop_table('supervision_samples')
    with op.batch_alter_table('supervision_complaints', schema=None) as batch_op:
        batch_op.drop_index('ix_supervision_complaints_department')

    op.drop_table('supervision_complaints')
    op.drop_table('supervision_alert_events')
    op.drop_table('supervision_watermarks')
    op.drop_table('supervision_rules')
    op.drop_table('supervision_hourly_reads')
    with op.batch_alter_table('supervision_alerts', schema=None) as batch_op:
        batch_op.drop_index('ix_supervision_alerts_status')

    op.drop_table('supervision_alerts')
