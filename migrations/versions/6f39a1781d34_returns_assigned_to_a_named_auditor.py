"""returns.assigned_to_id: the named auditor of the agency who completes the return

Revision ID: 6f39a1781d34
Revises: 5aa763fb76b4
Create Date: 2026-11-30 15:45:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '6f39a1781d34'
down_revision = '5aa763fb76b4'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('returns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('assigned_to_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_returns_assigned_to_id'), ['assigned_to_id'], unique=False)
        batch_op.create_foreign_key(
            batch_op.f('fk_returns_assigned_to_id_users'), 'users', ['assigned_to_id'], ['id']
        )


def downgrade():
    with op.batch_alter_table('returns', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_returns_assigned_to_id_users'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_returns_assigned_to_id'))
        batch_op.drop_column('assigned_to_id')
