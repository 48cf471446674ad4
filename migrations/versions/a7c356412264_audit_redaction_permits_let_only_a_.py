"""audit redaction permits: the append-only triggers let only a redaction rewrite an event's JSON

A wrongly entered case reference must be replaced everywhere, the audit trail included, while the trail
stays append-only for everything else. A permit row in ``audit_redaction_permits`` is inserted and deleted
within the redacting transaction (never committed, so no other transaction sees it); the new triggers let
an UPDATE of ``audit_events`` through only when a permit for the event's partnership exists (or, for an
event recorded without a partnership, any permit) and the UPDATE changes nothing but ``before`` and ``after``. DELETE stays refused always. The same on PostgreSQL and
SQLite (SQLite triggers cannot see temporary tables, hence an ordinary table).

Revision ID: a7c356412264
Revises: d7c2e5a9f013
Create Date: 2026-11-30 15:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a7c356412264'
down_revision = 'd7c2e5a9f013'
branch_labels = None
depends_on = None

#: the columns a redaction may never change
_FIXED = ("id", "occurred_at", "actor_id", "actor_label", "partnership_id", "entity_type", "entity_id", "action",
          "request_id")


def upgrade():
    op.create_table('audit_redaction_permits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('partnership_id', sa.Integer(), nullable=False),
    sa.Column('granted_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['partnership_id'], ['partnerships.id'], name=op.f('fk_audit_redaction_permits_partnership_id_partnerships')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_redaction_permits'))
    )
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        unchanged = " AND ".join(f"NEW.{c} IS NOT DISTINCT FROM OLD.{c}" for c in _FIXED)
        op.execute(f"""
CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND EXISTS (SELECT 1 FROM audit_redaction_permits p
                   WHERE p.partnership_id = OLD.partnership_id OR OLD.partnership_id IS NULL)
       AND {unchanged} THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'audit events are append-only';
END;
$$ LANGUAGE plpgsql
""")
    elif dialect == "sqlite":
        changed = " OR ".join(f"NEW.{c} IS NOT OLD.{c}" for c in _FIXED)
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_update")
        op.execute(
            "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events "
            "WHEN NOT EXISTS (SELECT 1 FROM audit_redaction_permits p "
            "WHERE p.partnership_id = OLD.partnership_id OR OLD.partnership_id IS NULL) "
            f"OR {changed} "
            "BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END"
        )


def downgrade():
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("""
CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only';
END;
$$ LANGUAGE plpgsql
""")
    elif dialect == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_update")
        op.execute(
            "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events "
            "BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END"
        )
    op.drop_table('audit_redaction_permits')
