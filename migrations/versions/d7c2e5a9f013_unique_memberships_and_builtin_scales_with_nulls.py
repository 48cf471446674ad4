"""unique indexes where NULLs defeated unique constraints: memberships without an agency, built-in scales

A unique constraint treats NULLs as different, so (user, partnership, agency, role) allowed any
number of identical admin, QA or scrutineer memberships (agency NULL), and (partnership, key) any
number of built-in scales (partnership NULL) with one key. Partial unique indexes close both.

Before creating them, existing duplicates are resolved, and the migration logs how many:
- identical memberships without an agency are deleted, keeping the lowest id of each group
  (they grant exactly the same role, so nothing is lost; no table refers to memberships);
- duplicate built-in scales are not deleted (levels and questions refer to them): every one but
  the lowest id gets its key suffixed with "_dup<id>".

Revision ID: d7c2e5a9f013
Revises: a747c8892c50
Create Date: 2026-11-30 14:20:00.000000

"""
import logging

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd7c2e5a9f013'
down_revision = 'a747c8892c50'
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")


def upgrade():
    conn = op.get_bind()
    removed = conn.execute(sa.text(
        "DELETE FROM memberships WHERE agency_id IS NULL AND id NOT IN ("
        " SELECT MIN(id) FROM memberships WHERE agency_id IS NULL GROUP BY user_id, partnership_id, role)"
    )).rowcount
    if removed:
        log.warning("removed %d duplicate membership(s) without an agency (kept the lowest id of each)", removed)
    renamed = conn.execute(sa.text(
        "UPDATE scales SET key = SUBSTR(key, 1, 48) || '_dup' || CAST(id AS VARCHAR(12))"
        " WHERE partnership_id IS NULL AND id NOT IN ("
        " SELECT MIN(id) FROM scales WHERE partnership_id IS NULL GROUP BY key)"
    )).rowcount
    if renamed:
        log.warning("renamed %d duplicate built-in scale key(s) to <key>_dup<id>", renamed)

    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.create_index('uq_memberships_no_agency', ['user_id', 'partnership_id', 'role'], unique=True, sqlite_where=sa.text('agency_id IS NULL'), postgresql_where=sa.text('agency_id IS NULL'))

    with op.batch_alter_table('scales', schema=None) as batch_op:
        batch_op.create_index('uq_scales_builtin_key', ['key'], unique=True, sqlite_where=sa.text('partnership_id IS NULL'), postgresql_where=sa.text('partnership_id IS NULL'))


def downgrade():
    with op.batch_alter_table('scales', schema=None) as batch_op:
        batch_op.drop_index('uq_scales_builtin_key', sqlite_where=sa.text('partnership_id IS NULL'), postgresql_where=sa.text('partnership_id IS NULL'))

    with op.batch_alter_table('memberships', schema=None) as batch_op:
        batch_op.drop_index('uq_memberships_no_agency', sqlite_where=sa.text('agency_id IS NULL'), postgresql_where=sa.text('agency_id IS NULL'))
