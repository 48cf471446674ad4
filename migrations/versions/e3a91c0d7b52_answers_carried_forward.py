"""answers.carried_forward: an answer copied from the previous round, still to be reviewed

A round started from the previous one (year on year) opens with each agency's last returned answers
copied in, each flagged until the agency saves or confirms it. Existing answers were all entered by
people: they are not flagged.

Revision ID: e3a91c0d7b52
Revises: ad0102a669c4
Create Date: 2026-11-30 19:45:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "e3a91c0d7b52"
down_revision = "ad0102a669c4"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("answers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("carried_forward", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table("answers", schema=None) as batch_op:
        batch_op.drop_column("carried_forward")
