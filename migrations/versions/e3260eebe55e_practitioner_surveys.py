"""Practitioner surveys: a round's survey, a link per agency (its token's hash only), anonymous responses (agency
and day only) and their answers; questionnaires (and so rounds) take the kind practitioner_survey

Revision ID: e3260eebe55e
Revises: c9166808a1b4
Create Date: 2026-11-30 22:06:19.182212

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e3260eebe55e'
down_revision = 'c9166808a1b4'
branch_labels = None
depends_on = None

#: the kinds as written out in 5c0e7d41a9b2, and with the practitioner survey
KINDS = ('case_audit', 'self_assessment', 'agency_summary')
WIDER_KINDS = KINDS + ('practitioner_survey',)


def _one_of(column, values):
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


def _kinds_check(kinds):
    # rounds never take the new kind (the engine refuses it), but the column shares the enum with questionnaires
    for table in ('questionnaires', 'rounds'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(op.f(f'ck_{table}_kind'), type_='check')
            batch_op.create_check_constraint(op.f(f'ck_{table}_kind'), _one_of('kind', kinds))


def upgrade():
    op.create_table('practitioner_surveys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('questionnaire_version_id', sa.Integer(), nullable=False),
    sa.Column('closes_on', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['questionnaire_version_id'], ['questionnaire_versions.id'], name=op.f('fk_practitioner_surveys_questionnaire_version_id_questionnaire_versions')),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], name=op.f('fk_practitioner_surveys_round_id_rounds'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_practitioner_surveys')),
    sa.UniqueConstraint('round_id', name=op.f('uq_practitioner_surveys_round_id'))
    )
    with op.batch_alter_table('practitioner_surveys', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_practitioner_surveys_questionnaire_version_id'), ['questionnaire_version_id'], unique=False)

    op.create_table('survey_links',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('survey_id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_survey_links_agency_id_agencies')),
    sa.ForeignKeyConstraint(['survey_id'], ['practitioner_surveys.id'], name=op.f('fk_survey_links_survey_id_practitioner_surveys'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_links')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_survey_links_token_hash'))
    )
    with op.batch_alter_table('survey_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_survey_links_agency_id'), ['agency_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_survey_links_survey_id'), ['survey_id'], unique=False)
        batch_op.create_index('uq_survey_links_live', ['survey_id', 'agency_id'], unique=True, sqlite_where=sa.text('revoked_at IS NULL'), postgresql_where=sa.text('revoked_at IS NULL'))

    op.create_table('survey_responses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('survey_id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('responded_on', sa.Date(), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_survey_responses_agency_id_agencies')),
    sa.ForeignKeyConstraint(['survey_id'], ['practitioner_surveys.id'], name=op.f('fk_survey_responses_survey_id_practitioner_surveys'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_responses'))
    )
    with op.batch_alter_table('survey_responses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_survey_responses_agency_id'), ['agency_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_survey_responses_survey_id'), ['survey_id'], unique=False)

    op.create_table('survey_answers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('response_id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.Integer(), nullable=False),
    sa.Column('scale_level_id', sa.Integer(), nullable=True),
    sa.Column('value', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['question_id'], ['questions.id'], name=op.f('fk_survey_answers_question_id_questions')),
    sa.ForeignKeyConstraint(['response_id'], ['survey_responses.id'], name=op.f('fk_survey_answers_response_id_survey_responses'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['scale_level_id'], ['scale_levels.id'], name=op.f('fk_survey_answers_scale_level_id_scale_levels')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_survey_answers')),
    sa.UniqueConstraint('response_id', 'question_id', name=op.f('uq_survey_answers_response_id_question_id'))
    )
    with op.batch_alter_table('survey_answers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_survey_answers_question_id'), ['question_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_survey_answers_response_id'), ['response_id'], unique=False)

    _kinds_check(WIDER_KINDS)


def downgrade():
    # Fails (the narrower check) while practitioner-survey questionnaires exist: remove them first.
    _kinds_check(KINDS)
    with op.batch_alter_table('survey_answers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_survey_answers_response_id'))
        batch_op.drop_index(batch_op.f('ix_survey_answers_question_id'))

    op.drop_table('survey_answers')
    with op.batch_alter_table('survey_responses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_survey_responses_survey_id'))
        batch_op.drop_index(batch_op.f('ix_survey_responses_agency_id'))

    op.drop_table('survey_responses')
    with op.batch_alter_table('survey_links', schema=None) as batch_op:
        batch_op.drop_index('uq_survey_links_live', sqlite_where=sa.text('revoked_at IS NULL'), postgresql_where=sa.text('revoked_at IS NULL'))
        batch_op.drop_index(batch_op.f('ix_survey_links_survey_id'))
        batch_op.drop_index(batch_op.f('ix_survey_links_agency_id'))

    op.drop_table('survey_links')
    with op.batch_alter_table('practitioner_surveys', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_practitioner_surveys_questionnaire_version_id'))

    op.drop_table('practitioner_surveys')
