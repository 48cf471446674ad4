"""CHECK constraints: every enum column holds one of its values; a round's dates and reminder days are sane

Revision ID: 5c0e7d41a9b2
Revises: 29da7376780c
Create Date: 2026-11-30 13:20:00

Existing rows already hold only these values (the application never wrote others), so nothing is moved.
The values are written out here, not imported: a migration states the schema of its day.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '5c0e7d41a9b2'
down_revision = '29da7376780c'
branch_labels = None
depends_on = None

KINDS = ('case_audit', 'self_assessment', 'agency_summary')
ROUND_STATUSES = ('planning', 'open', 'closed', 'in_discussion', 'reported')
RETURN_STATUSES = (
    'not_started', 'in_progress', 'ready_for_sign_off', 'submitted', 'changes_requested', 'accepted', 'declined',
    'alternative_template',
)
ROLES = ('admin', 'qa_member', 'agency_lead', 'auditor', 'scrutineer')
VERSION_STATUSES = ('draft', 'published', 'retired')
QUESTION_TYPES = ('scale', 'text', 'number', 'date', 'single_choice', 'multiple_choice')


def _one_of(column, values):
    return f"{column} IN ({', '.join(repr(value) for value in values)})"


#: table -> [(constraint name, condition)]
CHECKS = {
    'rounds': [
        ('ck_rounds_kind', _one_of('kind', KINDS)),
        ('ck_rounds_status', _one_of('status', ROUND_STATUSES)),
        ('ck_rounds_due_on_or_after_opening', 'due_on IS NULL OR opens_on IS NULL OR due_on >= opens_on'),
        ('ck_rounds_reminder_days', 'remind_days_before BETWEEN 0 AND 60 AND remind_days_after BETWEEN 0 AND 60'),
    ],
    'returns': [('ck_returns_status', _one_of('status', RETURN_STATUSES))],
    'return_events': [
        ('ck_return_events_from_status', _one_of('from_status', RETURN_STATUSES)),
        ('ck_return_events_to_status', _one_of('to_status', RETURN_STATUSES)),
    ],
    'memberships': [('ck_memberships_role', _one_of('role', ROLES))],
    'questionnaires': [('ck_questionnaires_kind', _one_of('kind', KINDS))],
    'questionnaire_versions': [('ck_questionnaire_versions_status', _one_of('status', VERSION_STATUSES))],
    'questions': [('ck_questions_type', _one_of('type', QUESTION_TYPES))],
}


def upgrade():
    for table, checks in CHECKS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, rule in checks:
                batch_op.create_check_constraint(op.f(name), rule)


def downgrade():
    for table, checks in reversed(list(CHECKS.items())):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for name, _ in reversed(checks):
                batch_op.drop_constraint(op.f(name), type_='check')
