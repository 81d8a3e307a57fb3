"""Certification: qualifications and their rules, certificates with their units, numbering
counters, providers' signing keys, bulk issue jobs, and the providers' certificate settings.

Revision ID: 2026_11_24_certification
Revises: 2026_11_24_assessment
Created: 2026-11-24 19:47:34.421423
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import certify.core.types

revision = '2026_11_24_certification'
down_revision = '2026_11_24_assessment'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('certificate_counters',
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=30), nullable=False),
    sa.Column('value', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['provider_id'], ['providers.id'], name=op.f('fk_certificate_counters_provider_id_providers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('provider_id', 'name', name=op.f('pk_certificate_counters'))
    )
    op.create_table('issue_jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.Enum('queued', 'running', 'finished', 'failed', name='job_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('issued', sa.Integer(), nullable=False),
    sa.Column('failed', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', certify.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('started_at', certify.core.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', certify.core.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['provider_id'], ['providers.id'], name=op.f('fk_issue_jobs_provider_id_providers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_issue_jobs_requested_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_issue_jobs'))
    )
    with op.batch_alter_table('issue_jobs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_issue_jobs_provider_id'), ['provider_id'], unique=False)

    op.create_table('qualifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('framework_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('min_credits', sa.Integer(), nullable=False),
    sa.Column('min_credits_at_level', sa.Integer(), nullable=False),
    sa.Column('at_level', sa.Integer(), nullable=True),
    sa.Column('validity_months', sa.Integer(), nullable=True),
    sa.Column('withdrawn_at', certify.core.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', certify.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', certify.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_qualifications_created_by_id_users')),
    sa.ForeignKeyConstraint(['framework_id'], ['frameworks.id'], name=op.f('fk_qualifications_framework_id_frameworks')),
    sa.ForeignKeyConstraint(['provider_id'], ['providers.id'], name=op.f('fk_qualifications_provider_id_providers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qualifications')),
    sa.UniqueConstraint('provider_id', 'code', name=op.f('uq_qualifications_provider_id_code'))
    )
    with op.batch_alter_table('qualifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_qualifications_provider_id'), ['provider_id'], unique=False)

    op.create_table('signing_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('kid', sa.String(length=64), nullable=False),
    sa.Column('private_key', sa.Text(), nullable=False),
    sa.Column('certificate_pem', sa.Text(), nullable=False),
    sa.Column('source', sa.Enum('generated', 'uploaded', name='key_source', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('subject', sa.String(length=500), nullable=False),
    sa.Column('not_after', certify.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', certify.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('retired_at', certify.core.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_signing_keys_created_by_id_users')),
    sa.ForeignKeyConstraint(['provider_id'], ['providers.id'], name=op.f('fk_signing_keys_provider_id_providers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_signing_keys')),
    sa.UniqueConstraint('kid', name=op.f('uq_signing_keys_kid'))
    )
    with op.batch_alter_table('signing_keys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_signing_keys_provider_id'), ['provider_id'], unique=False)

    op.create_table('certificates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('qualification_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.Enum('statement_of_attainment', 'qualification', name='certificate_kind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.Column('verification_code', sa.String(length=64), nullable=False),
    sa.Column('status', sa.Enum('valid', 'revoked', 'superseded', name='certificate_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('snapshot', sa.JSON(), nullable=False),
    sa.Column('achieved_on', sa.Date(), nullable=False),
    sa.Column('issued_at', certify.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('issued_by_id', sa.Integer(), nullable=True),
    sa.Column('expires_on', sa.Date(), nullable=True),
    sa.Column('pdf_key', sa.String(length=80), nullable=False),
    sa.Column('pdf_sha256', sa.String(length=64), nullable=False),
    sa.Column('pdf_size', sa.Integer(), nullable=False),
    sa.Column('credential', sa.Text(), nullable=False),
    sa.Column('status_index', sa.Integer(), nullable=False),
    sa.Column('revoked_at', certify.core.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_by_id', sa.Integer(), nullable=True),
    sa.Column('revocation_reason', sa.Text(), nullable=True),
    sa.Column('replaces_id', sa.Integer(), nullable=True),
    sa.Column('superseded_by_id', sa.Integer(), nullable=True),
    sa.Column('superseded_at', certify.core.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('reissue_reason', sa.Text(), nullable=True),
    sa.Column('created_at', certify.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', certify.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['candidate_id'], ['users.id'], name=op.f('fk_certificates_candidate_id_users')),
    sa.ForeignKeyConstraint(['issued_by_id'], ['users.id'], name=op.f('fk_certificates_issued_by_id_users')),
    sa.ForeignKeyConstraint(['provider_id'], ['providers.id'], name=op.f('fk_certificates_provider_id_providers')),
    sa.ForeignKeyConstraint(['qualification_id'], ['qualifications.id'], name=op.f('fk_certificates_qualification_id_qualifications')),
    sa.ForeignKeyConstraint(['replaces_id'], ['certificates.id'], name=op.f('fk_certificates_replaces_id_certificates')),
    sa.ForeignKeyConstraint(['revoked_by_id'], ['users.id'], name=op.f('fk_certificates_revoked_by_id_users')),
    sa.ForeignKeyConstraint(['superseded_by_id'], ['certificates.id'], name=op.f('fk_certificates_superseded_by_id_certificates')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificates')),
    sa.UniqueConstraint('number', name=op.f('uq_certificates_number')),
    sa.UniqueConstraint('provider_id', 'status_index', name=op.f('uq_certificates_provider_id_status_index')),
    sa.UniqueConstraint('verification_code', name=op.f('uq_certificates_verification_code'))
    )
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certificates_candidate_id'), ['candidate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_certificates_pdf_sha256'), ['pdf_sha256'], unique=False)
        batch_op.create_index('ix_certificates_provider_issued', ['provider_id', 'issued_at'], unique=False)

    op.create_table('elective_groups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('qualification_id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('choose', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['qualification_id'], ['qualifications.id'], name=op.f('fk_elective_groups_qualification_id_qualifications'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_elective_groups'))
    )
    with op.batch_alter_table('elective_groups', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_elective_groups_qualification_id'), ['qualification_id'], unique=False)

    op.create_table('certificate_units',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('certificate_id', sa.Integer(), nullable=False),
    sa.Column('enrolment_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['certificate_id'], ['certificates.id'], name=op.f('fk_certificate_units_certificate_id_certificates'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['enrolment_id'], ['enrolments.id'], name=op.f('fk_certificate_units_enrolment_id_enrolments')),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_certificate_units_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificate_units')),
    sa.UniqueConstraint('certificate_id', 'enrolment_id', name=op.f('uq_certificate_units_certificate_id_enrolment_id'))
    )
    with op.batch_alter_table('certificate_units', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_certificate_units_certificate_id'), ['certificate_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_certificate_units_enrolment_id'), ['enrolment_id'], unique=False)

    op.create_table('issue_job_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.Integer(), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('qualification_id', sa.Integer(), nullable=True),
    sa.Column('enrolment_ids', sa.JSON(), nullable=False),
    sa.Column('status', sa.Enum('pending', 'issued', 'failed', name='job_item_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('certificate_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['candidate_id'], ['users.id'], name=op.f('fk_issue_job_items_candidate_id_users')),
    sa.ForeignKeyConstraint(['certificate_id'], ['certificates.id'], name=op.f('fk_issue_job_items_certificate_id_certificates')),
    sa.ForeignKeyConstraint(['job_id'], ['issue_jobs.id'], name=op.f('fk_issue_job_items_job_id_issue_jobs'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['qualification_id'], ['qualifications.id'], name=op.f('fk_issue_job_items_qualification_id_qualifications')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_issue_job_items'))
    )
    with op.batch_alter_table('issue_job_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_issue_job_items_job_id'), ['job_id'], unique=False)

    op.create_table('qualification_units',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('qualification_id', sa.Integer(), nullable=False),
    sa.Column('group_id', sa.Integer(), nullable=True),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['group_id'], ['elective_groups.id'], name=op.f('fk_qualification_units_group_id_elective_groups'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['qualification_id'], ['qualifications.id'], name=op.f('fk_qualification_units_qualification_id_qualifications'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_qualification_units_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_qualification_units')),
    sa.UniqueConstraint('qualification_id', 'unit_id', name=op.f('uq_qualification_units_qualification_id_unit_id'))
    )
    with op.batch_alter_table('qualification_units', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_qualification_units_qualification_id'), ['qualification_id'], unique=False)

    with op.batch_alter_table('providers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('signatory_name', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('signatory_title', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('logo_key', sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column('certificate_days', sa.Integer(), server_default='30', nullable=False))



def downgrade() -> None:
    with op.batch_alter_table('providers', schema=None) as batch_op:
        batch_op.drop_column('certificate_days')
        batch_op.drop_column('logo_key')
        batch_op.drop_column('signatory_title')
        batch_op.drop_column('signatory_name')

    with op.batch_alter_table('qualification_units', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_qualification_units_qualification_id'))

    op.drop_table('qualification_units')
    with op.batch_alter_table('issue_job_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_issue_job_items_job_id'))

    op.drop_table('issue_job_items')
    with op.batch_alter_table('certificate_units', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_certificate_units_enrolment_id'))
        batch_op.drop_index(batch_op.f('ix_certificate_units_certificate_id'))

    op.drop_table('certificate_units')
    with op.batch_alter_table('elective_groups', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_elective_groups_qualification_id'))

    op.drop_table('elective_groups')
    with op.batch_alter_table('certificates', schema=None) as batch_op:
        batch_op.drop_index('ix_certificates_provider_issued')
        batch_op.drop_index(batch_op.f('ix_certificates_pdf_sha256'))
        batch_op.drop_index(batch_op.f('ix_certificates_candidate_id'))

    op.drop_table('certificates')
    with op.batch_alter_table('signing_keys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_signing_keys_provider_id'))

    op.drop_table('signing_keys')
    with op.batch_alter_table('qualifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_qualifications_provider_id'))

    op.drop_table('qualifications')
    with op.batch_alter_table('issue_jobs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_issue_jobs_provider_id'))

    op.drop_table('issue_jobs')
    op.drop_table('certificate_counters')
