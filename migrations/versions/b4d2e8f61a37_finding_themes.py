"""Learning themes on case-audit findings (the panel's judgement of a case) and self-assessment findings
(challenge events)

Revision ID: b4d2e8f61a37
Revises: 0f8b3d267457
Create Date: 2026-12-01 03:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b4d2e8f61a37'
down_revision = '0f8b3d267457'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('case_judgement_themes',
    sa.Column('case_judgement_id', sa.Integer(), nullable=False),
    sa.Column('learning_theme_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['case_judgement_id'], ['case_judgements.id'], name=op.f('fk_case_judgement_themes_case_judgement_id_case_judgements'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['learning_theme_id'], ['learning_themes.id'], name=op.f('fk_case_judgement_themes_learning_theme_id_learning_themes')),
    sa.PrimaryKeyConstraint('case_judgement_id', 'learning_theme_id', name=op.f('pk_case_judgement_themes'))
    )
    with op.batch_alter_table('case_judgement_themes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_judgement_themes_learning_theme_id'), ['learning_theme_id'], unique=False)

    op.create_table('challenge_event_themes',
    sa.Column('challenge_event_id', sa.Integer(), nullable=False),
    sa.Column('learning_theme_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['challenge_event_id'], ['challenge_events.id'], name=op.f('fk_challenge_event_themes_challenge_event_id_challenge_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['learning_theme_id'], ['learning_themes.id'], name=op.f('fk_challenge_event_themes_learning_theme_id_learning_themes')),
    sa.PrimaryKeyConstraint('challenge_event_id', 'learning_theme_id', name=op.f('pk_challenge_event_themes'))
    )
    with op.batch_alter_table('challenge_event_themes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_challenge_event_themes_learning_theme_id'), ['learning_theme_id'], unique=False)


def downgrade():
    with op.batch_alter_table('challenge_event_themes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_challenge_event_themes_learning_theme_id'))

    op.drop_table('challenge_event_themes')
    with op.batch_alter_table('case_judgement_themes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_judgement_themes_learning_theme_id'))

    op.drop_table('case_judgement_themes')
