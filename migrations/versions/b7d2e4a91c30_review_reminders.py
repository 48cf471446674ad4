"""Review clock reminders: what was sent about each clock of a review, once per clock, kind and due date

Revision ID: b7d2e4a91c30
Revises: b4d2e8f61a37
Create Date: 2026-12-01 04:05:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7d2e4a91c30'
down_revision = 'b4d2e8f61a37'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('review_reminders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('review_id', sa.Integer(), nullable=False),
    sa.Column('clock', sa.String(length=20), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('sent_on', sa.Date(), nullable=False),
    sa.Column('recipients', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['review_id'], ['learning_reviews.id'], name=op.f('fk_review_reminders_review_id_learning_reviews'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_reminders')),
    sa.UniqueConstraint('review_id', 'clock', 'kind', 'due_on', name=op.f('uq_review_reminders_review_id_clock_kind_due_on'))
    )
    with op.batch_alter_table('review_reminders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_reminders_review_id'), ['review_id'], unique=False)


def downgrade():
    with op.batch_alter_table('review_reminders', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_reminders_review_id'))

    op.drop_table('review_reminders')
