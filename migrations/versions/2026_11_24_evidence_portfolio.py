"""The evidence portfolio: blobs, evidence items and files, mappings, frozen submissions;
providers gain an evidence retention period.

Revision ID: 2026_11_24_evidence_portfolio
Revises: 2026_11_24_accounts_and_audit
Created: 2026-11-24 15:15:28.920917
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import certify.core.types

revision = '2026_11_24_evidence_portfolio'
down_revision = '2026_11_24_accounts_and_audit'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('blobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('media_type', sa.String(length=100), nullable=False),
    sa.Column('storage_key', sa.String(length=200), nullable=False),
    sa.Column('created_at', certify.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_blobs')),
    sa.UniqueConstraint('sha256', name=op.f('uq_blobs_sha256')),
    sa.UniqueConstraint('storage_key', name=op.f('uq_blobs_storage_key'))
    )
    op.create_table('evidence_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('kind', sa.Enum('document', 'observation', 'witness_testimony', 'professional_discussion', 'photo_or_video', 'reflective_account', 'third_party_report', 'link', name='evidence_kind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=True),
    sa.Column('locked_at', certify.core.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', certify.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', certify.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['candidate_id'], ['users.id'], name=op.f('fk_evidence_items_candidate_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['provider_id'], ['providers.id'], name=op.f('fk_evidence_items_provider_id_providers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evidence_items'))
    )
    with op.batch_alter_table('evidence_items', schema=None) as batch_op:
        batch_op.create_index('ix_evidence_items_provider_id_candidate_id', ['provider_id', 'candidate_id'], unique=False)

    op.create_table('evidence_files',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('blob_id', sa.Integer(), nullable=False),
    sa.Column('display_name', sa.String(length=255), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('created_at', certify.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['blob_id'], ['blobs.id'], name=op.f('fk_evidence_files_blob_id_blobs')),
    sa.ForeignKeyConstraint(['item_id'], ['evidence_items.id'], name=op.f('fk_evidence_files_item_id_evidence_items'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evidence_files'))
    )
    with op.batch_alter_table('evidence_files', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evidence_files_blob_id'), ['blob_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_evidence_files_item_id'), ['item_id'], unique=False)

    op.create_table('submissions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('enrolment_id', sa.Integer(), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('submitted', 'returned', 'completed', name='submission_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('declaration', sa.Text(), nullable=False),
    sa.Column('declared_at', certify.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('submitted_at', certify.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', certify.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', certify.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['enrolment_id'], ['enrolments.id'], name=op.f('fk_submissions_enrolment_id_enrolments'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_submissions')),
    sa.UniqueConstraint('enrolment_id', 'attempt', name=op.f('uq_submissions_enrolment_id_attempt'))
    )
    op.create_table('evidence_mappings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('criterion_id', sa.Integer(), nullable=False),
    sa.Column('enrolment_id', sa.Integer(), nullable=False),
    sa.Column('explanation', sa.Text(), nullable=False),
    sa.Column('created_at', certify.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['criterion_id'], ['criteria.id'], name=op.f('fk_evidence_mappings_criterion_id_criteria')),
    sa.ForeignKeyConstraint(['enrolment_id'], ['enrolments.id'], name=op.f('fk_evidence_mappings_enrolment_id_enrolments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['item_id'], ['evidence_items.id'], name=op.f('fk_evidence_mappings_item_id_evidence_items'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evidence_mappings')),
    sa.UniqueConstraint('item_id', 'criterion_id', 'enrolment_id', name=op.f('uq_evidence_mappings_item_id_criterion_id_enrolment_id'))
    )
    with op.batch_alter_table('evidence_mappings', schema=None) as batch_op:
        batch_op.create_index('ix_evidence_mappings_enrolment_id', ['enrolment_id'], unique=False)

    op.create_table('submission_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('submission_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('criterion_id', sa.Integer(), nullable=False),
    sa.Column('item_title', sa.String(length=200), nullable=False),
    sa.Column('item_kind', sa.Enum('document', 'observation', 'witness_testimony', 'professional_discussion', 'photo_or_video', 'reflective_account', 'third_party_report', 'link', name='entry_kind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('item_description', sa.Text(), nullable=False),
    sa.Column('item_url', sa.String(length=2000), nullable=True),
    sa.Column('explanation', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['criterion_id'], ['criteria.id'], name=op.f('fk_submission_entries_criterion_id_criteria')),
    sa.ForeignKeyConstraint(['item_id'], ['evidence_items.id'], name=op.f('fk_submission_entries_item_id_evidence_items')),
    sa.ForeignKeyConstraint(['submission_id'], ['submissions.id'], name=op.f('fk_submission_entries_submission_id_submissions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_submission_entries'))
    )
    with op.batch_alter_table('submission_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_submission_entries_submission_id'), ['submission_id'], unique=False)

    op.create_table('submission_files',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('submission_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('blob_id', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('display_name', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['blob_id'], ['blobs.id'], name=op.f('fk_submission_files_blob_id_blobs')),
    sa.ForeignKeyConstraint(['item_id'], ['evidence_items.id'], name=op.f('fk_submission_files_item_id_evidence_items')),
    sa.ForeignKeyConstraint(['submission_id'], ['submissions.id'], name=op.f('fk_submission_files_submission_id_submissions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_submission_files'))
    )
    with op.batch_alter_table('submission_files', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_submission_files_submission_id'), ['submission_id'], unique=False)

    with op.batch_alter_table('providers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('evidence_retention_days', sa.Integer(), server_default='730', nullable=False))



def downgrade() -> None:
    with op.batch_alter_table('providers', schema=None) as batch_op:
        batch_op.drop_column('evidence_retention_days')

    with op.batch_alter_table('submission_files', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_submission_files_submission_id'))

    op.drop_table('submission_files')
    with op.batch_alter_table('submission_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_submission_entries_submission_id'))

    op.drop_table('submission_entries')
    with op.batch_alter_table('evidence_mappings', schema=None) as batch_op:
        batch_op.drop_index('ix_evidence_mappings_enrolment_id')

    op.drop_table('evidence_mappings')
    op.drop_table('submissions')
    with op.batch_alter_table('evidence_files', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evidence_files_item_id'))
        batch_op.drop_index(batch_op.f('ix_evidence_files_blob_id'))

    op.drop_table('evidence_files')
    with op.batch_alter_table('evidence_items', schema=None) as batch_op:
        batch_op.drop_index('ix_evidence_items_provider_id_candidate_id')

    op.drop_table('evidence_items')
    op.drop_table('blobs')
