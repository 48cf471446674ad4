"""Challenge events of self-assessment rounds, and the recommendations (with their actions) each agreed

Revision ID: 0065e682a3ef
Revises: e3a91c0d7b52
Create Date: 2026-11-30 22:13:04.771669

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0065e682a3ef'
down_revision = 'e3a91c0d7b52'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('challenge_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('partnership_id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('held_on', sa.Date(), nullable=False),
    sa.Column('attendees', sa.Text(), nullable=False),
    sa.Column('questions', sa.Text(), nullable=False),
    sa.Column('agreed', sa.Text(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_challenge_events_agency_id_agencies')),
    sa.ForeignKeyConstraint(['partnership_id'], ['partnerships.id'], name=op.f('fk_challenge_events_partnership_id_partnerships')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_challenge_events_recorded_by_id_users')),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], name=op.f('fk_challenge_events_round_id_rounds'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_challenge_events'))
    )
    with op.batch_alter_table('challenge_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_challenge_events_agency_id'), ['agency_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_challenge_events_partnership_id'), ['partnership_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_challenge_events_round_id'), ['round_id'], unique=False)

    op.create_table('challenge_event_recommendations',
    sa.Column('challenge_event_id', sa.Integer(), nullable=False),
    sa.Column('recommendation_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['challenge_event_id'], ['challenge_events.id'], name=op.f('fk_challenge_event_recommendations_challenge_event_id_challenge_events'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recommendation_id'], ['recommendations.id'], name=op.f('fk_challenge_event_recommendations_recommendation_id_recommendations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('challenge_event_id', 'recommendation_id', name=op.f('pk_challenge_event_recommendations'))
    )


def downgrade():
    op.drop_table('challenge_event_recommendations')
    with op.batch_alter_table('challenge_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_challenge_events_round_id'))
        batch_op.drop_index(batch_op.f('ix_challenge_events_partnership_id'))
        batch_op.drop_index(batch_op.f('ix_challenge_events_agency_id'))

    op.drop_table('challenge_events')
