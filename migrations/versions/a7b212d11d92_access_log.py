"""The access log: who viewed which case, return, review or evidence file, when, how and from where

Revision ID: a7b212d11d92
Revises: b7d2e4a91c30
Create Date: 2026-12-01 06:42:03.278972

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a7b212d11d92'
down_revision = 'b7d2e4a91c30'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('access_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('occurred_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('partnership_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('api_token_id', sa.Integer(), nullable=True),
    sa.Column('via', sa.Enum('page', 'api', 'download', 'export', name='via', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('object_kind', sa.Enum('case', 'return', 'review', 'evidence_file', name='object_kind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('object_id', sa.Integer(), nullable=False),
    sa.Column('endpoint', sa.String(length=100), nullable=False),
    sa.Column('ip', sa.String(length=45), nullable=False),
    sa.Column('user_agent', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['api_token_id'], ['api_tokens.id'], name=op.f('fk_access_events_api_token_id_api_tokens')),
    sa.ForeignKeyConstraint(['partnership_id'], ['partnerships.id'], name=op.f('fk_access_events_partnership_id_partnerships')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_access_events_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_events'))
    )
    with op.batch_alter_table('access_events', schema=None) as batch_op:
        batch_op.create_index('ix_access_events_object', ['object_kind', 'object_id'], unique=False)
        batch_op.create_index('ix_access_events_partnership_time', ['partnership_id', 'occurred_at'], unique=False)
        batch_op.create_index('ix_access_events_user_time', ['user_id', 'occurred_at'], unique=False)



def downgrade():
    with op.batch_alter_table('access_events', schema=None) as batch_op:
        batch_op.drop_index('ix_access_events_user_time')
        batch_op.drop_index('ix_access_events_partnership_time')
        batch_op.drop_index('ix_access_events_object')

    op.drop_table('access_events')
