"""The competency catalogue: frameworks, levels, units, elements, criteria, translations.

Revision ID: 2026_11_24_catalogue
Revises: (none)
Created: 2026-11-24 13:59:53.385130
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import certify.core.types

revision = '2026_11_24_catalogue'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('frameworks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.Enum('qf_units', 'skill_levels', 'proficiency_levels', name='framework_kind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('hours_per_credit', sa.Integer(), nullable=True),
    sa.Column('source_language', sa.String(length=35), nullable=False),
    sa.Column('created_at', certify.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', certify.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_frameworks')),
    sa.UniqueConstraint('code', name=op.f('uq_frameworks_code'))
    )
    op.create_table('framework_levels',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('framework_id', sa.Integer(), nullable=False),
    sa.Column('level', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('essence', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['framework_id'], ['frameworks.id'], name=op.f('fk_framework_levels_framework_id_frameworks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_framework_levels')),
    sa.UniqueConstraint('framework_id', 'level', name=op.f('uq_framework_levels_framework_id_level'))
    )
    op.create_table('units',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('framework_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=60), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('level', sa.Integer(), nullable=True),
    sa.Column('level_label', sa.String(length=100), nullable=True),
    sa.Column('credits', sa.Integer(), nullable=True),
    sa.Column('family_code', sa.String(length=60), nullable=True),
    sa.Column('functional_area', sa.Text(), nullable=True),
    sa.Column('remark', sa.Text(), nullable=True),
    sa.Column('guidance', sa.Text(), nullable=True),
    sa.Column('language', sa.String(length=35), nullable=False),
    sa.Column('status', sa.Enum('current', 'superseded', name='unit_status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('superseded_by_id', sa.Integer(), nullable=True),
    sa.Column('source_name', sa.String(length=255), nullable=True),
    sa.Column('source_sha256', sa.String(length=64), nullable=True),
    sa.Column('content_sha256', sa.String(length=64), nullable=False),
    sa.Column('imported_at', certify.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', certify.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', certify.core.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['framework_id'], ['frameworks.id'], name=op.f('fk_units_framework_id_frameworks')),
    sa.ForeignKeyConstraint(['superseded_by_id'], ['units.id'], name=op.f('fk_units_superseded_by_id_units')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_units')),
    sa.UniqueConstraint('framework_id', 'code', 'version', name=op.f('uq_units_framework_id_code_version'))
    )
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.create_index('ix_units_code', ['code'], unique=False)

    op.create_table('elements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('ref', sa.String(length=40), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_elements_unit_id_units'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_elements')),
    sa.UniqueConstraint('unit_id', 'ref', name=op.f('uq_elements_unit_id_ref'))
    )
    op.create_table('unit_translations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('language', sa.String(length=35), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('guidance', sa.Text(), nullable=True),
    sa.Column('source_name', sa.String(length=255), nullable=True),
    sa.Column('source_sha256', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_unit_translations_unit_id_units'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_unit_translations')),
    sa.UniqueConstraint('unit_id', 'language', name=op.f('uq_unit_translations_unit_id_language'))
    )
    op.create_table('criteria',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('unit_id', sa.Integer(), nullable=False),
    sa.Column('element_id', sa.Integer(), nullable=True),
    sa.Column('ref', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.Enum('performance_requirement', 'assessment_criterion', 'level_statement', name='criterion_kind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('lead_in', sa.Text(), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['element_id'], ['elements.id'], name=op.f('fk_criteria_element_id_elements'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['unit_id'], ['units.id'], name=op.f('fk_criteria_unit_id_units'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_criteria')),
    sa.UniqueConstraint('unit_id', 'ref', name=op.f('uq_criteria_unit_id_ref'))
    )
    op.create_table('element_translations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('element_id', sa.Integer(), nullable=False),
    sa.Column('language', sa.String(length=35), nullable=False),
    sa.Column('title', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['element_id'], ['elements.id'], name=op.f('fk_element_translations_element_id_elements'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_element_translations')),
    sa.UniqueConstraint('element_id', 'language', name=op.f('uq_element_translations_element_id_language'))
    )
    op.create_table('criterion_translations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('criterion_id', sa.Integer(), nullable=False),
    sa.Column('language', sa.String(length=35), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('lead_in', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['criterion_id'], ['criteria.id'], name=op.f('fk_criterion_translations_criterion_id_criteria'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_criterion_translations')),
    sa.UniqueConstraint('criterion_id', 'language', name=op.f('uq_criterion_translations_criterion_id_language'))
    )


def downgrade() -> None:
    op.drop_table('criterion_translations')
    op.drop_table('element_translations')
    op.drop_table('criteria')
    op.drop_table('unit_translations')
    op.drop_table('elements')
    with op.batch_alter_table('units', schema=None) as batch_op:
        batch_op.drop_index('ix_units_code')

    op.drop_table('units')
    op.drop_table('framework_levels')
    op.drop_table('frameworks')
