"""cases: ethnicity as a 2021 Census category key; agencies: a short code per partnership

Case.ethnicity was free text. It now holds a key of the 2021 Census categories (19 under 5 groups, see
audit_app/case_audits/cohort.py), "not_stated", or "" for not recorded. Each existing value is folded (lower
case, punctuation as spaces) and looked up among the keys, labels, short names and common synonyms frozen
below; a value not recognised becomes "" (not recorded). Every case changed gets an audit event (actor
"data migration 90e42322cc2f") whose "before" holds the original text, so nothing typed is lost: it shows in
the case's history and the audit log. The migration logs how many were mapped and how many were not.

PartnershipAgency.short_code: the partnership's own short code for an agency, unique per partnership (stored in
capitals, so unique ignoring case); NULL for none.

Revision ID: 90e42322cc2f
Revises: 6f39a1781d34
Create Date: 2026-11-30 16:20:00.000000

"""
import logging
import re
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '90e42322cc2f'
down_revision = '6f39a1781d34'
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

ACTOR = "data migration 90e42322cc2f (2021 Census ethnicity)"

#: folded text -> category key, frozen from cohort.py as it stood when this migration was written
LOOKUP = {
    "african": "black_african",
    "any other asian background": "asian_other",
    "any other black background": "black_other",
    "any other ethnic group": "other_any",
    "any other mixed background": "mixed_other",
    "any other white background": "white_other",
    "arab": "other_arab",
    "asian asian british or asian welsh bangladeshi": "asian_bangladeshi",
    "asian asian british or asian welsh chinese": "asian_chinese",
    "asian asian british or asian welsh indian": "asian_indian",
    "asian asian british or asian welsh other asian": "asian_other",
    "asian asian british or asian welsh pakistani": "asian_pakistani",
    "asian bangladeshi": "asian_bangladeshi",
    "asian british bangladeshi": "asian_bangladeshi",
    "asian british indian": "asian_indian",
    "asian british pakistani": "asian_pakistani",
    "asian chinese": "asian_chinese",
    "asian indian": "asian_indian",
    "asian other": "asian_other",
    "asian pakistani": "asian_pakistani",
    "bangladeshi": "asian_bangladeshi",
    "black african": "black_african",
    "black black british black welsh caribbean or african african": "black_african",
    "black black british black welsh caribbean or african caribbean": "black_caribbean",
    "black black british black welsh caribbean or african other black": "black_other",
    "black caribbean": "black_caribbean",
    "black other": "black_other",
    "british": "white_british",
    "caribbean": "black_caribbean",
    "chinese": "asian_chinese",
    "declined": "not_stated",
    "english welsh scottish northern irish or british": "white_british",
    "gypsy or irish traveller": "white_gypsy_traveller",
    "gypsy roma": "white_gypsy_traveller",
    "indian": "asian_indian",
    "information not yet obtained": "",
    "irish": "white_irish",
    "mixed or multiple ethnic groups other mixed or multiple ethnic groups": "mixed_other",
    "mixed or multiple ethnic groups white and asian": "mixed_white_asian",
    "mixed or multiple ethnic groups white and black african": "mixed_white_black_african",
    "mixed or multiple ethnic groups white and black caribbean": "mixed_white_black_caribbean",
    "mixed other": "mixed_other",
    "mixed white and asian": "mixed_white_asian",
    "mixed white and black african": "mixed_white_black_african",
    "mixed white and black caribbean": "mixed_white_black_caribbean",
    "mixed white asian": "mixed_white_asian",
    "mixed white black african": "mixed_white_black_african",
    "mixed white black caribbean": "mixed_white_black_caribbean",
    "not known": "",
    "not recorded": "",
    "not stated": "not_stated",
    "not stated chose not to say": "not_stated",
    "other any": "other_any",
    "other arab": "other_arab",
    "other asian": "asian_other",
    "other black": "black_other",
    "other ethnic group": "other_any",
    "other ethnic group any other ethnic group": "other_any",
    "other ethnic group arab": "other_arab",
    "other mixed or multiple ethnic groups": "mixed_other",
    "other white": "white_other",
    "pakistani": "asian_pakistani",
    "prefer not to say": "not_stated",
    "refused": "not_stated",
    "roma": "white_roma",
    "traveller of irish heritage": "white_gypsy_traveller",
    "unknown": "",
    "white and asian": "mixed_white_asian",
    "white and black african": "mixed_white_black_african",
    "white and black caribbean": "mixed_white_black_caribbean",
    "white british": "white_british",
    "white english": "white_british",
    "white english welsh scottish northern irish or british": "white_british",
    "white gypsy or irish traveller": "white_gypsy_traveller",
    "white gypsy traveller": "white_gypsy_traveller",
    "white irish": "white_irish",
    "white other": "white_other",
    "white other white": "white_other",
    "white roma": "white_roma"
}

#: key -> short name, for the downgrade (back to free text)
SHORT = {
    "asian_bangladeshi": "Bangladeshi",
    "asian_chinese": "Chinese",
    "asian_indian": "Indian",
    "asian_pakistani": "Pakistani",
    "asian_other": "Other Asian",
    "black_african": "African",
    "black_caribbean": "Caribbean",
    "black_other": "Other Black",
    "mixed_white_asian": "White and Asian",
    "mixed_white_black_african": "White and Black African",
    "mixed_white_black_caribbean": "White and Black Caribbean",
    "mixed_other": "Other Mixed or Multiple ethnic groups",
    "white_british": "English, Welsh, Scottish, Northern Irish or British",
    "white_irish": "Irish",
    "white_gypsy_traveller": "Gypsy or Irish Traveller",
    "white_roma": "Roma",
    "white_other": "Other White",
    "other_arab": "Arab",
    "other_any": "Any other ethnic group",
    "not_stated": "Not stated"
}


def _fold(text):
    text = text.replace("\u2019", "'").replace("\u2018", "'").lower()
    return " ".join(re.sub(r"[^a-z0-9']+", " ", text).split())


audit_events = sa.table(
    "audit_events",
    sa.column("occurred_at", sa.DateTime(timezone=True)),
    sa.column("actor_id", sa.Integer),
    sa.column("actor_label", sa.String),
    sa.column("partnership_id", sa.Integer),
    sa.column("entity_type", sa.String),
    sa.column("entity_id", sa.Integer),
    sa.column("action", sa.String),
    sa.column("before", sa.JSON),
    sa.column("after", sa.JSON),
    sa.column("request_id", sa.String),
)


def _recode(conn, new_value):
    """Rewrite every case's ethnicity by new_value(old) and record each change in the audit trail."""
    now = datetime.now(timezone.utc)
    rows = conn.execute(sa.text("SELECT id, partnership_id, ethnicity FROM cases WHERE ethnicity <> ''")).all()
    events = []
    counts = {"mapped": 0, "not recognised": 0}
    for case_id, partnership_id, old in rows:
        new, recognised = new_value(old)
        counts["mapped" if recognised else "not recognised"] += 1
        if new == old:
            continue
        conn.execute(sa.text("UPDATE cases SET ethnicity = :new WHERE id = :id"), {"new": new, "id": case_id})
        events.append({
            "occurred_at": now, "actor_id": None, "actor_label": ACTOR, "partnership_id": partnership_id,
            "entity_type": "Case", "entity_id": case_id, "action": "update",
            "before": {"ethnicity": old}, "after": {"ethnicity": new}, "request_id": None,
        })
    if events:
        op.bulk_insert(audit_events, events)
    return counts


def upgrade():
    with op.batch_alter_table('partnership_agencies', schema=None) as batch_op:
        batch_op.add_column(sa.Column('short_code', sa.String(length=20), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_partnership_agencies_partnership_id_short_code'), ['partnership_id', 'short_code'])

    def to_key(old):
        key = LOOKUP.get(_fold(old))
        return ("" if key is None else key), key is not None

    counts = _recode(op.get_bind(), to_key)
    if counts["mapped"] or counts["not recognised"]:
        log.warning(
            "case ethnicity: %d value(s) mapped to 2021 Census categories, %d not recognised and set to not "
            "recorded (the original text is in each case's audit event)",
            counts["mapped"], counts["not recognised"],
        )


def downgrade():
    _recode(op.get_bind(), lambda key: (SHORT.get(key, key), True))
    with op.batch_alter_table('partnership_agencies', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_partnership_agencies_partnership_id_short_code'), type_='unique')
        batch_op.drop_column('short_code')
