"""round engine: shared rounds, chosen agencies, one return per round and agency without a case

Revision ID: 263b2a1957d0
Revises: 5c0e7d41a9b2
Create Date: 2026-11-30 12:57:05.866758

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '263b2a1957d0'
down_revision = '5c0e7d41a9b2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('round_agencies',
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('agency_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_round_agencies_agency_id_agencies')),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], name=op.f('fk_round_agencies_round_id_rounds'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('round_id', 'agency_id', name=op.f('pk_round_agencies'))
    )
    op.create_table('round_partnerships',
    sa.Column('round_id', sa.Integer(), nullable=False),
    sa.Column('partnership_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['partnership_id'], ['partnerships.id'], name=op.f('fk_round_partnerships_partnership_id_partnerships')),
    sa.ForeignKeyConstraint(['round_id'], ['rounds.id'], name=op.f('fk_round_partnerships_round_id_rounds'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('round_id', 'partnership_id', name=op.f('pk_round_partnerships'))
    )
    with op.batch_alter_table('round_partnerships', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_round_partnerships_partnership_id'), ['partnership_id'], unique=False)

    # Every existing round counts for the partnership that planned it.
    op.execute("INSERT INTO round_partnerships (round_id, partnership_id) SELECT id, partnership_id FROM rounds")

    with op.batch_alter_table('returns', schema=None) as batch_op:
        batch_op.create_index('uq_returns_round_agency_no_case', ['round_id', 'agency_id'], unique=True, sqlite_where=sa.text('round_case_id IS NULL'), postgresql_where=sa.text('round_case_id IS NULL'))



def downgrade():
    with op.batch_alter_table('returns', schema=None) as batch_op:
        batch_op.drop_index('uq_returns_round_agency_no_case', sqlite_where=sa.text('round_case_id IS NULL'), postgresql_where=sa.text('round_case_id IS NULL'))

    with op.batch_alter_table('round_partnerships', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_round_partnerships_partnership_id'))

    op.drop_table('round_partnerships')
    op.drop_table('round_agencies')
