"""cases: receipt counters, cases, items, attachments, review tasks, opinions, minutes, results

Revision ID: 0004_cases
Revises: 0002_materials
Create Date: 2026-11-23 08:45:00
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0004_cases'
down_revision = '0002_materials'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('case_receipt_counters',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('last_number', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_case_receipt_counters'))
    )
    op.create_table('cases',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('receipt_number', sa.String(length=32), nullable=False),
    sa.Column('applicant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('catalog_version_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('window', sa.String(length=64), nullable=False),
    sa.Column('received_by_principal_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('window_department_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=True),
    sa.Column('opened_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('accepted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('accepted_by_principal_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('completed_by_principal_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['accepted_by_principal_id'], ['principals.id'], name=op.f('fk_cases_accepted_by_principal_id_principals')),
    sa.ForeignKeyConstraint(['applicant_id'], ['applicants.id'], name=op.f('fk_cases_applicant_id_applicants')),
    sa.ForeignKeyConstraint(['catalog_version_id'], ['catalog_versions.id'], name=op.f('fk_cases_catalog_version_id_catalog_versions')),
    sa.ForeignKeyConstraint(['completed_by_principal_id'], ['principals.id'], name=op.f('fk_cases_completed_by_principal_id_principals')),
    sa.ForeignKeyConstraint(['received_by_principal_id'], ['principals.id'], name=op.f('fk_cases_received_by_principal_id_principals')),
    sa.ForeignKeyConstraint(['window_department_id'], ['departments.id'], name=op.f('fk_cases_window_department_id_departments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_cases')),
    sa.UniqueConstraint('receipt_number', name=op.f('uq_cases_receipt_number'))
    )
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.create_index('ix_cases_applicant_opened', ['applicant_id', 'opened_at', 'id'], unique=False)

    op.create_table('case_items',
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('service_item_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_items_case_id_cases')),
    sa.ForeignKeyConstraint(['service_item_id'], ['service_items.id'], name=op.f('fk_case_items_service_item_id_service_items')),
    sa.PrimaryKeyConstraint('case_id', 'service_item_id', name=op.f('pk_case_items'))
    )
    op.create_table('joint_review_minutes',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('held_on', sa.Date(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('recorded_by_principal_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_joint_review_minutes_case_id_cases')),
    sa.ForeignKeyConstraint(['recorded_by_principal_id'], ['principals.id'], name=op.f('fk_joint_review_minutes_recorded_by_principal_id_principals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_joint_review_minutes'))
    )
    op.create_table('review_tasks',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('department_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_review_tasks_case_id_cases')),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_review_tasks_department_id_departments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_tasks')),
    sa.UniqueConstraint('case_id', 'department_id', name=op.f('uq_review_tasks_case_id'))
    )
    with op.batch_alter_table('review_tasks', schema=None) as batch_op:
        batch_op.create_index('ix_review_tasks_department', ['department_id', 'case_id'], unique=False)

    op.create_table('case_materials',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('material_type_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('origin', sa.String(length=16), nullable=False),
    sa.Column('material_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('material_version_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('promised_on', sa.Date(), nullable=True),
    sa.Column('attached_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attached_by_principal_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('superseded_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['attached_by_principal_id'], ['principals.id'], name=op.f('fk_case_materials_attached_by_principal_id_principals')),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_materials_case_id_cases')),
    sa.ForeignKeyConstraint(['material_id'], ['materials.id'], name=op.f('fk_case_materials_material_id_materials')),
    sa.ForeignKeyConstraint(['material_type_id'], ['material_types.id'], name=op.f('fk_case_materials_material_type_id_material_types')),
    sa.ForeignKeyConstraint(['material_version_id'], ['material_versions.id'], name=op.f('fk_case_materials_material_version_id_material_versions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_materials'))
    )
    with op.batch_alter_table('case_materials', schema=None) as batch_op:
        batch_op.create_index('ix_case_materials_current', ['case_id', 'material_type_id'], unique=True, postgresql_where=sa.text('superseded_at IS NULL'), sqlite_where=sa.text('superseded_at IS NULL'))
        batch_op.create_index('ix_case_materials_material', ['material_id'], unique=False)

    op.create_table('case_results',
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('material_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('material_version_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_results_case_id_cases')),
    sa.ForeignKeyConstraint(['material_id'], ['materials.id'], name=op.f('fk_case_results_material_id_materials')),
    sa.ForeignKeyConstraint(['material_version_id'], ['material_versions.id'], name=op.f('fk_case_results_material_version_id_material_versions')),
    sa.PrimaryKeyConstraint('case_id', 'material_id', name=op.f('pk_case_results'))
    )
    op.create_table('review_opinions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('review_task_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('department_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('decision', sa.String(length=24), nullable=False),
    sa.Column('comments', sa.Text(), nullable=False),
    sa.Column('fix_due_on', sa.Date(), nullable=True),
    sa.Column('minutes_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('recorded_by_principal_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_review_opinions_case_id_cases')),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_review_opinions_department_id_departments')),
    sa.ForeignKeyConstraint(['minutes_id'], ['joint_review_minutes.id'], name=op.f('fk_review_opinions_minutes_id_joint_review_minutes')),
    sa.ForeignKeyConstraint(['recorded_by_principal_id'], ['principals.id'], name=op.f('fk_review_opinions_recorded_by_principal_id_principals')),
    sa.ForeignKeyConstraint(['review_task_id'], ['review_tasks.id'], name=op.f('fk_review_opinions_review_task_id_review_tasks')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_opinions')),
    sa.UniqueConstraint('review_task_id', 'revision', name=op.f('uq_review_opinions_review_task_id'))
    )
    with op.batch_alter_table('review_opinions', schema=None) as batch_op:
        batch_op.create_index('ix_review_opinions_case', ['case_id', 'department_id', 'revision'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('review_opinions', schema=None) as batch_op:
        batch_op.drop_index('ix_review_opinions_case')

    op.drop_table('review_opinions')
    op.drop_table('case_results')
    with op.batch_alter_table('case_materials', schema=None) as batch_op:
        batch_op.drop_index('ix_case_materials_material')
        batch_op.drop_index('ix_case_materials_current', postgresql_where=sa.text('superseded_at IS NULL'), sqlite_where=sa.text('superseded_at IS NULL'))

    op.drop_table('case_materials')
    with op.batch_alter_table('review_tasks', schema=None) as batch_op:
        batch_op.drop_index('ix_review_tasks_department')

    op.drop_table('review_tasks')
    op.drop_table('joint_review_minutes')
    op.drop_table('case_items')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_index('ix_cases_applicant_opened')

    op.drop_table('cases')
    op.drop_table('case_receipt_counters')
