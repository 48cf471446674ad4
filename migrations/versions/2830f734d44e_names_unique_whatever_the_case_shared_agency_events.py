"""agency and sector names unique whatever the case or spaces; a shared agency's past events in each partnership

Names: "Northbridge Police" and " northbridge  police" could both exist (the unique constraint on sector
names, and the service's check on agency names, went by the exact text). A name key (case folded, spaces
around and between words collapsed) is stored beside each sector name and, since an agency has no
partnership column, on each of its partnership links; a unique constraint holds one key per partnership.
It replaces the sectors' constraint on the exact name, which says less.

Existing duplicates are NOT resolved here: renaming an agency or sector is a decision for the
partnership's admins (records, people and returns hang off both). If any exist the migration stops
before changing anything, listing each clash (partnership, names, ids); rename one of each pair in the
running version (Admin > Agencies or Sectors > Edit), then upgrade again.

Shared agencies: from now on a change to an agency serving several partnerships is recorded in each of
their audit logs, the others' copies naming the acting partnership, never the person
(core/audit.py Audited.audit_shared_with). The agency's past events (its creation and renames, and the
old names kept), until now filed only under the partnership that acted but shown with the actor in every
partnership's history of the agency, are copied here the same way into each partnership the agency
serves today. Audit events are append-only: a downgrade keeps those copies.

Revision ID: 2830f734d44e
Revises: a7c356412264
Create Date: 2026-11-30 16:00:00.000000

"""
import logging
import unicodedata
from collections import defaultdict

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '2830f734d44e'
down_revision = 'a7c356412264'
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")


def _name_key(name):
    """accounts.models.name_key as of this revision (a migration states the rule of its day)."""
    return " ".join(unicodedata.normalize("NFC", name or "").split()).casefold()


def _clashes(rows):
    """rows of (partnership, id, name, key) -> one line per set of rows sharing a partnership and key."""
    groups = defaultdict(list)
    for partnership, row_id, name, key in rows:
        groups[(partnership, key)].append((row_id, name))
    return [
        f"  {partnership}: " + ", ".join(f"'{name}' (id {row_id})" for row_id, name in sorted(same))
        for (partnership, _key), same in sorted(groups.items())
        if len(same) > 1
    ]


def upgrade():
    conn = op.get_bind()
    sectors = [
        (f"{pname} (partnership id {pid})", sid, name, _name_key(name))
        for sid, pid, name, pname in conn.execute(sa.text(
            "SELECT s.id, s.partnership_id, s.name, p.name FROM sectors s JOIN partnerships p ON p.id = s.partnership_id"
        ))
    ]
    links = [
        (f"{pname} (partnership id {pid})", agency_id, name, _name_key(name), link_id)
        for link_id, pid, agency_id, name, pname in conn.execute(sa.text(
            "SELECT pa.id, pa.partnership_id, a.id, a.name, p.name FROM partnership_agencies pa"
            " JOIN agencies a ON a.id = pa.agency_id JOIN partnerships p ON p.id = pa.partnership_id"
        ))
    ]
    problems = []
    if clashes := _clashes(sectors):
        problems += ["Sectors whose names differ only in capitals or spaces:", *clashes]
    if clashes := _clashes([row[:4] for row in links]):
        problems += ["Agencies whose names differ only in capitals or spaces:", *clashes]
    if problems:
        raise RuntimeError(
            "Names must be unique in a partnership whatever their capitals or spaces, and some are not. "
            "Nothing was changed. Rename one of each (Admin > Agencies or Sectors > Edit) and upgrade again.\n"
            + "\n".join(problems)
        )

    op.add_column('sectors', sa.Column('name_key', sa.String(length=360), nullable=True))
    op.add_column('partnership_agencies', sa.Column('agency_name_key', sa.String(length=600), nullable=True))
    if sectors:
        conn.execute(
            sa.text("UPDATE sectors SET name_key = :key WHERE id = :id"),
            [{"key": key, "id": sid} for _p, sid, _name, key in sectors],
        )
    if links:
        conn.execute(
            sa.text("UPDATE partnership_agencies SET agency_name_key = :key WHERE id = :id"),
            [{"key": key, "id": link_id} for _p, _a, _name, key, link_id in links],
        )
    with op.batch_alter_table('sectors', schema=None) as batch_op:
        batch_op.alter_column('name_key', existing_type=sa.String(length=360), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_sectors_partnership_id_name_key'), ['partnership_id', 'name_key'])
        # the exact name's constraint says less than the key's
        batch_op.drop_constraint(batch_op.f('uq_sectors_partnership_id_name'), type_='unique')
    with op.batch_alter_table('partnership_agencies', schema=None) as batch_op:
        batch_op.alter_column('agency_name_key', existing_type=sa.String(length=600), nullable=False)
        batch_op.create_unique_constraint(
            batch_op.f('uq_partnership_agencies_partnership_id_agency_name_key'), ['partnership_id', 'agency_name_key']
        )

    # A shared agency's past events, into each partnership it serves, without the person.
    hidden = (
        "CASE WHEN e.actor_id IS NULL THEN e.actor_label"
        " WHEN p.name IS NULL THEN 'Another partnership'"
        " ELSE 'An administrator of ' || p.name END"
    )
    columns = "occurred_at, actor_id, actor_label, partnership_id, entity_type, entity_id, action, before, after, request_id"
    copied = 0
    for entity_type, agency_of in (("Agency", "e.entity_id"), ("AgencyName", "an.agency_id")):
        names_join = "JOIN agency_names an ON an.id = e.entity_id " if entity_type == "AgencyName" else ""
        copied += conn.execute(sa.text(
            f"INSERT INTO audit_events ({columns}) "
            f"SELECT e.occurred_at, NULL, {hidden}, pa.partnership_id, e.entity_type, e.entity_id, e.action,"
            " e.before, e.after, NULL "
            f"FROM audit_events e {names_join}"
            f"JOIN partnership_agencies pa ON pa.agency_id = {agency_of} "
            "LEFT JOIN partnerships p ON p.id = e.partnership_id "
            "WHERE e.entity_type = :entity_type AND (e.partnership_id IS NULL OR e.partnership_id <> pa.partnership_id) "
            "ORDER BY e.id, pa.partnership_id"
        ), {"entity_type": entity_type}).rowcount
    if copied:
        log.warning("copied %d past event(s) of shared agencies into the other partnerships they serve", copied)


def downgrade():
    with op.batch_alter_table('partnership_agencies', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_partnership_agencies_partnership_id_agency_name_key'), type_='unique')
        batch_op.drop_column('agency_name_key')
    with op.batch_alter_table('sectors', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_sectors_partnership_id_name_key'), type_='unique')
        batch_op.create_unique_constraint(batch_op.f('uq_sectors_partnership_id_name'), ['partnership_id', 'name'])
        batch_op.drop_column('name_key')
