"""immediate safeguarding concerns: questions.concern_values and returns.concern_raised_at

``questions.concern_values`` holds the answers of the immediate-concern question that mean a
concern was identified (``concern_if`` in a questionnaire file), so nothing compares a label at run
time. Existing immediate-concern questions get the file format's default: "Yes" where it is one of
their answers (every shipped Yes / No question), otherwise none.

``returns.concern_raised_at`` is when a return's answers first said a concern was identified (the
QA group and admins are emailed once then). Existing returns are left empty: their concerns were
raised before these emails existed, and none is sent for them.

Revision ID: f7c4c386575e
Revises: 2830f734d44e
Create Date: 2026-11-30 15:50:00.000000

"""
import json

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f7c4c386575e'
down_revision = '2830f734d44e'
branch_labels = None
depends_on = None

#: questionnaires.spec.LEGACY_CONCERN_LABEL when this revision was written
LEGACY_CONCERN_LABEL = "Yes"


def upgrade():
    with op.batch_alter_table('questions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('concern_values', sa.JSON(), server_default='[]', nullable=False))
    with op.batch_alter_table('returns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('concern_raised_at', sa.DateTime(timezone=True), nullable=True))

    conn = op.get_bind()
    rows = conn.execute(sa.text(
        "SELECT q.id, q.type, q.options, q.scale_id FROM questions q WHERE q.role = 'immediate_concern'"
    )).all()
    for question_id, question_type, options, scale_id in rows:
        if question_type == 'scale':
            answers = list(conn.execute(
                sa.text("SELECT label FROM scale_levels WHERE scale_id = :s"), {"s": scale_id}
            ).scalars())
        else:
            answers = options if isinstance(options, list) else json.loads(options or "[]")
        if LEGACY_CONCERN_LABEL in answers:
            conn.execute(
                sa.text("UPDATE questions SET concern_values = :v WHERE id = :id").bindparams(
                    sa.bindparam("v", type_=sa.JSON())
                ),
                {"v": [LEGACY_CONCERN_LABEL], "id": question_id},
            )


def downgrade():
    with op.batch_alter_table('returns', schema=None) as batch_op:
        batch_op.drop_column('concern_raised_at')
    with op.batch_alter_table('questions', schema=None) as batch_op:
        batch_op.drop_column('concern_values')
