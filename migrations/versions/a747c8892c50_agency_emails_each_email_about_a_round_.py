"""agency_emails: each email about a round's returns and its outcome, sent by a job

Revision ID: a747c8892c50
Revises: c4e8a1d2f6b7
Create Date: 2026-11-30 13:25:30.887653

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a747c8892c50'
down_revision = 'c4e8a1d2f6b7'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('agency_emails',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.Column('batch', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.Enum('opened', 'chase', 'reminder', name='kind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('outcome', sa.Enum('sent', 'failed', 'nobody', 'not_configured', name='outcome', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('recipients', sa.Integer(), nullable=False),
    sa.Column('returns', sa.Integer(), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_agency_emails_agency_id_agencies')),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], name=op.f('fk_agency_emails_round_id_rounds'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agency_emails'))
    )
    with op.batch_alter_table('agency_emails', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agency_emails_batch'), ['batch'], unique=False)
        batch_op.create_index(batch_op.f('ix_agency_emails_round_id'), ['round_id'], unique=False)



def downgrade():
    with op.batch_alter_table('agency_emails', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agency_emails_round_id'))
        batch_op.drop_index(batch_op.f('ix_agency_emails_batch'))

    op.drop_table('agency_emails')
