"""questions.role and scale_levels.counts_as_good: meaning as data, filled from today's rules

Roles are set on existing questions from their keys by the rules findings used
until now (a scale question ending in ``_grade`` grades its section, exactly
``overall_grade`` is the overall grade, text questions ending in
``_good_practice``/``_strengths``, ``_development`` and ``_recommendations``
are strengths, areas for development and recommendations), plus the import
defaults for evidence, immediate concern and learning themes, which no figure
read. A level counts as good where findings counted it as "Good or better":
Outstanding and Good where a scale has them, otherwise its best graded level
(Fully met, Yes, Green on the built-in scales).

Revision ID: c4e8a1d2f6b7
Revises: b5374870484c
Create Date: 2026-11-24 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c4e8a1d2f6b7'
down_revision = 'b5374870484c'
branch_labels = None
depends_on = None

# (role, how the key matches, the pattern, question types): the first match wins,
# as in questionnaires.models.ROLE_DEFAULTS when this revision was written.
ROLE_RULES = [
    ("overall_grade", "equals", "overall_grade", ("scale",)),
    ("grade", "endswith", "_grade", ("scale",)),
    ("strengths", "endswith", "_good_practice", ("text",)),
    ("strengths", "endswith", "_strengths", ("text",)),
    ("development", "endswith", "_development", ("text",)),
    ("recommendation", "endswith", "_recommendations", ("text",)),
    ("evidence", "endswith", "_evidence", ("text",)),
    ("immediate_concern", "endswith", "_immediate_concern", ("scale", "single_choice")),
    ("learning_themes", "endswith", "_learning_themes", ("multiple_choice", "text")),
]
#: labels findings counted as "Good or better" before this revision
GOOD_OR_BETTER = ("Outstanding", "Good")

questions = sa.table(
    "questions",
    sa.column("id", sa.Integer),
    sa.column("key", sa.String),
    sa.column("type", sa.String),
    sa.column("role", sa.String),
)
levels = sa.table(
    "scale_levels",
    sa.column("id", sa.Integer),
    sa.column("scale_id", sa.Integer),
    sa.column("position", sa.Integer),
    sa.column("label", sa.String),
    sa.column("is_not_applicable", sa.Boolean),
    sa.column("counts_as_good", sa.Boolean),
)


def _role_of(key, question_type):
    for role, how, pattern, types in ROLE_RULES:
        if (key == pattern) if how == "equals" else key.endswith(pattern):
            return role if question_type in types else None
    return None


def upgrade():
    with op.batch_alter_table('questions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('role', sa.Enum('grade', 'overall_grade', 'strengths', 'development', 'recommendation', 'evidence', 'immediate_concern', 'learning_themes', name='questionrole', native_enum=False, create_constraint=False, length=32), nullable=True))

    with op.batch_alter_table('scale_levels', schema=None) as batch_op:
        batch_op.add_column(sa.Column('counts_as_good', sa.Boolean(), server_default=sa.false(), nullable=False))

    bind = op.get_bind()
    # Roles: decided in Python (keys are few), written one UPDATE per role.
    by_role = {}
    for question_id, key, question_type in bind.execute(sa.select(questions.c.id, questions.c.key, questions.c.type)):
        role = _role_of(key, question_type)
        if role is not None:
            by_role.setdefault(role, []).append(question_id)
    for role, ids in by_role.items():
        for start in range(0, len(ids), 500):
            bind.execute(questions.update().where(questions.c.id.in_(ids[start:start + 500])).values(role=role))

    # Good levels, per scale: Outstanding and Good where it has them, else its best graded level.
    rows = bind.execute(
        sa.select(levels.c.id, levels.c.scale_id, levels.c.label)
        .where(levels.c.is_not_applicable == sa.false())
        .order_by(levels.c.scale_id, levels.c.position)
    ).all()
    graded = {}
    for level_id, scale_id, label in rows:
        graded.setdefault(scale_id, []).append((level_id, label))
    good_ids = []
    for scale_levels in graded.values():
        named = [level_id for level_id, label in scale_levels if label in GOOD_OR_BETTER]
        good_ids.extend(named or [scale_levels[0][0]])
    for start in range(0, len(good_ids), 500):
        bind.execute(levels.update().where(levels.c.id.in_(good_ids[start:start + 500])).values(counts_as_good=True))

    with op.batch_alter_table('scale_levels', schema=None) as batch_op:
        batch_op.create_check_constraint(op.f('ck_scale_levels_good_is_not_not_applicable'), 'NOT (counts_as_good AND is_not_applicable)')

    roles = ', '.join(repr(role) for role, *_ in dict.fromkeys((rule[0],) for rule in ROLE_RULES))
    with op.batch_alter_table('questions', schema=None) as batch_op:
        batch_op.create_check_constraint(op.f('ck_questions_role'), f'role IN ({roles})')


def downgrade():
    with op.batch_alter_table('scale_levels', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_scale_levels_good_is_not_not_applicable'), type_='check')
        batch_op.drop_column('counts_as_good')

    with op.batch_alter_table('questions', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_questions_role'), type_='check')
        batch_op.drop_column('role')
