"""Assessment: decisions with judgements per criterion, verification, appeals, conflicts of
interest, notifications, and the providers' assessment settings.

Revision ID: 2026_11_24_assessment
Revises: 2026_11_24_evidence_portfolio
Created: 2026-11-24 16:19:25.902969
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import certify.core.types

revision = '2026_11_24_assessment'
down_revision = '2026_11_24_evidence_portfolio'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('conflicts_of_interest',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('declared_by_id', sa.Integer(), nullable=True),
    sa.Column('withdrawn_at', certify.core.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', certify.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', certify.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['candidate_id'], ['users.id'], name=op.f('fk_conflicts_of_interest_candidate_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['declared_by_id'], ['users.id'], name=op.f('fk_conflicts_of_interest_declared_by_id_users')),
    sa.ForeignKeyConstraint(['provider_id'], ['providers.id'], name=op.f('fk_conflicts_of_interest_provider_id_providers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['staff_id'], ['users.id'], name=op.f('fk_conflicts_of_interest_staff_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conflicts_of_interest'))
    )
    with op.batch_alter_table('conflicts_of_interest', schema=None) as batch_op:
        batch_op.create_index('ix_conflicts_of_interest_provider_id_staff_id', ['provider_id', 'staff_id'], unique=False)

    op.create_table('notifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('title', sa.String(length=255), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('url', sa.String(length=500), nullable=True),
    sa.Column('created_at', certify.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('read_at', certify.core.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['provider_id'], ['providers.id'], name=op.f('fk_notifications_provider_id_providers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_notifications_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notifications'))
    )
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index('ix_notifications_user_id_read_at', ['user_id', 'read_at'], unique=False)

    op.create_table('assessments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('submission_id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('assessor_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('initial', 'correction', 'rework', 'appeal', name='assessment_kind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('status', sa.Enum('draft', 'awaiting_verification', 'confirmed', 'sent_back', 'superseded', 'discarded', name='assessment_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('replaces_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('assigned_at', certify.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('assigned_by_id', sa.Integer(), nullable=True),
    sa.Column('assigned_via', sa.String(length=20), nullable=False),
    sa.Column('rule_valid', sa.Boolean(), nullable=False),
    sa.Column('rule_sufficient', sa.Boolean(), nullable=False),
    sa.Column('rule_authentic', sa.Boolean(), nullable=False),
    sa.Column('rule_current', sa.Boolean(), nullable=False),
    sa.Column('feedback', sa.Text(), nullable=False),
    sa.Column('outcome', sa.Enum('competent', 'not_yet_competent', name='assessment_outcome', native_enum=False, create_constraint=True, length=32), nullable=True),
    sa.Column('signed_at', certify.core.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('signature_method', sa.String(length=20), nullable=True),
    sa.Column('flagged_at', certify.core.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('flagged_by_id', sa.Integer(), nullable=True),
    sa.Column('flag_reason', sa.Text(), nullable=False),
    sa.Column('sampled', sa.Boolean(), nullable=False),
    sa.Column('sample_reason', sa.String(length=200), nullable=True),
    sa.Column('confirmed_at', certify.core.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', certify.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', certify.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['assessor_id'], ['users.id'], name=op.f('fk_assessments_assessor_id_users')),
    sa.ForeignKeyConstraint(['assigned_by_id'], ['users.id'], name=op.f('fk_assessments_assigned_by_id_users')),
    sa.ForeignKeyConstraint(['flagged_by_id'], ['users.id'], name=op.f('fk_assessments_flagged_by_id_users')),
    sa.ForeignKeyConstraint(['provider_id'], ['providers.id'], name=op.f('fk_assessments_provider_id_providers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['replaces_id'], ['assessments.id'], name=op.f('fk_assessments_replaces_id_assessments')),
    sa.ForeignKeyConstraint(['submission_id'], ['submissions.id'], name=op.f('fk_assessments_submission_id_submissions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_assessments_unit_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_assessments'))
    )
    with op.batch_alter_table('assessments', schema=None) as batch_op:
        batch_op.create_index('ix_assessments_assessor_id_status', ['assessor_id', 'status'], unique=False)
        batch_op.create_index('ix_assessments_provider_id_status', ['provider_id', 'status'], unique=False)
        batch_op.create_index('ix_assessments_submission_id', ['submission_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_assessments_unit_id'), ['unit_id'], unique=False)

    op.create_table('appeals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('provider_id', sa.Integer(), nullable=False),
    sa.Column('assessment_id', sa.Integer(), nullable=False),
    sa.Column('candidate_id', sa.Integer(), nullable=False),
    sa.Column('statement', sa.Text(), nullable=False),
    sa.Column('status', sa.Enum('lodged', 'assigned', 'decided', name='appeal_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('lodged_at', certify.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('new_assessment_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', certify.core.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', certify.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', certify.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['assessment_id'], ['assessments.id'], name=op.f('fk_appeals_assessment_id_assessments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['candidate_id'], ['users.id'], name=op.f('fk_appeals_candidate_id_users')),
    sa.ForeignKeyConstraint(['new_assessment_id'], ['assessments.id'], name=op.f('fk_appeals_new_assessment_id_assessments')),
    sa.ForeignKeyConstraint(['provider_id'], ['providers.id'], name=op.f('fk_appeals_provider_id_providers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_appeals')),
    sa.UniqueConstraint('assessment_id', name=op.f('uq_appeals_assessment_id'))
    )
    with op.batch_alter_table('appeals', schema=None) as batch_op:
        batch_op.create_index('ix_appeals_provider_id_status', ['provider_id', 'status'], unique=False)

    op.create_table('judgements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assessment_id', sa.Integer(), nullable=False),
    sa.Column('criterion_id', sa.Integer(), nullable=False),
    sa.Column('satisfactory', sa.Boolean(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['assessment_id'], ['assessments.id'], name=op.f('fk_judgements_assessment_id_assessments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['criterion_id'], ['criteria.id'], name=op.f('fk_judgements_criterion_id_criteria')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_judgements')),
    sa.UniqueConstraint('assessment_id', 'criterion_id', name=op.f('uq_judgements_assessment_id_criterion_id'))
    )
    op.create_table('verifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('assessment_id', sa.Integer(), nullable=False),
    sa.Column('verifier_id', sa.Integer(), nullable=False),
    sa.Column('agreed', sa.Boolean(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('at', certify.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['assessment_id'], ['assessments.id'], name=op.f('fk_verifications_assessment_id_assessments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['verifier_id'], ['users.id'], name=op.f('fk_verifications_verifier_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_verifications'))
    )
    with op.batch_alter_table('verifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_verifications_assessment_id'), ['assessment_id'], unique=False)

    with op.batch_alter_table('providers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('max_attempts', sa.Integer(), server_default='3', nullable=False))
        batch_op.add_column(sa.Column('appeal_window_days', sa.Integer(), server_default='14', nullable=False))
        batch_op.add_column(sa.Column('sample_first_n', sa.Integer(), server_default='5', nullable=False))
        batch_op.add_column(sa.Column('sample_percent', sa.Integer(), server_default='10', nullable=False))



def downgrade() -> None:
    with op.batch_alter_table('providers', schema=None) as batch_op:
        batch_op.drop_column('sample_percent')
        batch_op.drop_column('sample_first_n')
        batch_op.drop_column('appeal_window_days')
        batch_op.drop_column('max_attempts')

    with op.batch_alter_table('verifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_verifications_assessment_id'))

    op.drop_table('verifications')
    op.drop_table('judgements')
    with op.batch_alter_table('appeals', schema=None) as batch_op:
        batch_op.drop_index('ix_appeals_provider_id_status')

    op.drop_table('appeals')
    with op.batch_alter_table('assessments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_assessments_unit_id'))
        batch_op.drop_index('ix_assessments_submission_id')
        batch_op.drop_index('ix_assessments_provider_id_status')
        batch_op.drop_index('ix_assessments_assessor_id_status')

    op.drop_table('assessments')
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index('ix_notifications_user_id_read_at')

    op.drop_table('notifications')
    with op.batch_alter_table('conflicts_of_interest', schema=None) as batch_op:
        batch_op.drop_index('ix_conflicts_of_interest_provider_id_staff_id')

    op.drop_table('conflicts_of_interest')
