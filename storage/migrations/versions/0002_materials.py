"""materials: blobs (encrypted, deduplicated), materials and their versions

Revision ID: 0002_materials
Revises: 0001
Create Date: 2026-11-23 08:38:30.700460
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = '0002_materials'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('blobs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('chunk_size', sa.Integer(), nullable=False),
    sa.Column('key_id', sa.String(length=64), nullable=False),
    sa.Column('wrapped_key', sa.LargeBinary(length=64), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('claimed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('stored_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_blobs')),
    sa.UniqueConstraint('name', name=op.f('uq_blobs_name'))
    )
    with op.batch_alter_table('blobs', schema=None) as batch_op:
        batch_op.create_index('ix_blobs_state_claimed', ['state', 'claimed_at'], unique=False)

    op.create_table('materials',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('applicant_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('material_type_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('issuing_department_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('issued_on', sa.Date(), nullable=True),
    sa.Column('valid_until', sa.Date(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('revoked_reason', sa.Text(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_by_principal_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('superseded_by_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('uploaded_by_principal_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('uploaded_by_department_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['applicant_id'], ['applicants.id'], name=op.f('fk_materials_applicant_id_applicants')),
    sa.ForeignKeyConstraint(['issuing_department_id'], ['departments.id'], name=op.f('fk_materials_issuing_department_id_departments')),
    sa.ForeignKeyConstraint(['material_type_id'], ['material_types.id'], name=op.f('fk_materials_material_type_id_material_types')),
    sa.ForeignKeyConstraint(['revoked_by_principal_id'], ['principals.id'], name=op.f('fk_materials_revoked_by_principal_id_principals')),
    sa.ForeignKeyConstraint(['superseded_by_id'], ['materials.id'], name=op.f('fk_materials_superseded_by_id_materials')),
    sa.ForeignKeyConstraint(['uploaded_by_department_id'], ['departments.id'], name=op.f('fk_materials_uploaded_by_department_id_departments')),
    sa.ForeignKeyConstraint(['uploaded_by_principal_id'], ['principals.id'], name=op.f('fk_materials_uploaded_by_principal_id_principals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_materials'))
    )
    with op.batch_alter_table('materials', schema=None) as batch_op:
        batch_op.create_index('ix_materials_applicant_type', ['applicant_id', 'material_type_id', 'id'], unique=False)

    op.create_table('material_versions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('material_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('version_no', sa.Integer(), nullable=False),
    sa.Column('blob_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('file_name', sa.String(length=255), nullable=False),
    sa.Column('declared_content_type', sa.String(length=100), nullable=False),
    sa.Column('detected_content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('uploaded_by_principal_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('superseded_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['blob_id'], ['blobs.id'], name=op.f('fk_material_versions_blob_id_blobs')),
    sa.ForeignKeyConstraint(['material_id'], ['materials.id'], name=op.f('fk_material_versions_material_id_materials')),
    sa.ForeignKeyConstraint(['uploaded_by_principal_id'], ['principals.id'], name=op.f('fk_material_versions_uploaded_by_principal_id_principals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_material_versions')),
    sa.UniqueConstraint('material_id', 'version_no', name=op.f('uq_material_versions_material_id'))
    )
    with op.batch_alter_table('material_versions', schema=None) as batch_op:
        batch_op.create_index('ix_material_versions_blob', ['blob_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('material_versions', schema=None) as batch_op:
        batch_op.drop_index('ix_material_versions_blob')

    op.drop_table('material_versions')
    with op.batch_alter_table('materials', schema=None) as batch_op:
        batch_op.drop_index('ix_materials_applicant_type')

    op.drop_table('materials')
    with op.batch_alter_table('blobs', schema=None) as batch_op:
        batch_op.drop_index('ix_blobs_state_claimed')

    op.drop_table('blobs')
