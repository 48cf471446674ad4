"""The audit trail stays append-only at the database, except for a redaction under a permit; how values are
matched; every table with text is a redaction place or says why not."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from audit_app.core.audit import AuditAction, AuditEvent, AuditRedactionPermit, permit_redaction, record_event
from audit_app.core.redaction import Replacer, exempt_tables, places, unclassified_tables
from audit_app.extensions import db

EVENTS = AuditEvent.__table__


def test_every_table_with_text_is_a_redaction_place_or_says_why_not(app):
    assert unclassified_tables(db.metadata) == [], (
        "register these tables with core.redaction.register_place (they may hold a case reference) "
        "or exempt_table (with the reason they never do)"
    )
    assert set(places()) >= {"cases", "answers", "returns", "return_events", "case_judgements", "audit_events"}
    assert "users" in exempt_tables()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("ZQ-4471", "CS-9"),
        ("Seen as ZQ-4471; see zq-4471 notes.", "Seen as CS-9; see CS-9 notes."),
        ("(ZQ-4471)", "(CS-9)"),
        ('["ZQ-4471", "other"]', '["CS-9", "other"]'),
        # a longer reference holding it is another reference
        ("XZQ-4471 ZQ-44710 ZQ-4471/2 AB-ZQ-4471 ZQ-4471.5", "XZQ-4471 ZQ-44710 ZQ-4471/2 AB-ZQ-4471 ZQ-4471.5"),
        # another case's reference is kept whole, the case's own is replaced beside it
        ("ZQ-4471 B and ZQ-4471", "ZQ-4471 B and CS-9"),
        ("nothing here", "nothing here"),
    ],
)
def test_a_reference_is_replaced_as_a_whole_ignoring_case(text, expected):
    assert Replacer("ZQ-4471", "CS-9", keep=["ZQ-4471 B", "unrelated"]).text(text) == expected


def test_case_is_respected_when_another_reference_differs_only_in_case():
    replacer = Replacer("ab12", "CS-9", keep=["AB12"])
    assert replacer.text("ab12 and AB12") == "CS-9 and AB12"


def test_json_is_replaced_at_any_depth_keys_included():
    value = {"reference": "ZQ-4471", "n": 3, "deep": [{"note": "about ZQ-4471"}, None, True], "ZQ-4471": 1}
    assert Replacer("ZQ-4471", "CS-9").json(value) == {
        "reference": "CS-9",
        "n": 3,
        "deep": [{"note": "about CS-9"}, None, True],
        "CS-9": 1,
    }


# -- the database: append-only, except a redaction under a permit --


def _refused(statement) -> None:
    with pytest.raises(sa.exc.DBAPIError, match="append-only"), db.session.begin_nested():
        db.session.execute(statement)


def _event_of(partnership_id: int | None) -> int:
    return db.session.scalar(
        sa.select(EVENTS.c.id).where(
            EVENTS.c.partnership_id == partnership_id if partnership_id else EVENTS.c.partnership_id.is_(None)
        )
    )


def _set_after(event_id: int, **values):
    return sa.update(EVENTS).where(EVENTS.c.id == event_id).values(**values)


def test_a_plain_update_or_delete_of_an_event_is_refused(world):
    event_id = _event_of(world.partnership.id)
    _refused(_set_after(event_id, after={"name": "changed"}))
    _refused(_set_after(event_id, actor_label="someone else"))
    _refused(sa.delete(EVENTS).where(EVENTS.c.id == event_id))
    _refused(sa.text("UPDATE audit_events SET before = NULL"))


def test_a_permit_lets_only_the_json_of_its_partnerships_events_change(world):
    north, south = world.partnership.id, world.other_partnership.id
    event_id, south_event_id = _event_of(north), _event_of(south)
    with db.session.begin_nested():
        with permit_redaction(north) as connection:
            connection.execute(_set_after(event_id, after={"name": "redacted"}, before=None))
        assert db.session.scalar(sa.select(EVENTS.c.after).where(EVENTS.c.id == event_id)) == {"name": "redacted"}
    for statement in (
        _set_after(event_id, actor_label="someone else"),
        _set_after(event_id, action="delete", after={"name": "again"}),
        _set_after(event_id, entity_id=999),
        _set_after(event_id, partnership_id=south),
        _set_after(south_event_id, after={"name": "not this partnership's"}),
        sa.delete(EVENTS).where(EVENTS.c.id == event_id),
    ):
        with (
            pytest.raises(sa.exc.DBAPIError, match="append-only"),
            db.session.begin_nested(),
            permit_redaction(north) as connection,
        ):
            connection.execute(statement)


def test_an_event_recorded_without_a_partnership_changes_only_under_a_permit(world):
    record_event("Case", 123456, AuditAction.UPDATE, partnership_id=None, after={"reference": "ZQ-4471"})
    event_id = db.session.scalar(sa.select(EVENTS.c.id).where(EVENTS.c.entity_id == 123456))
    _refused(_set_after(event_id, after={"reference": "CS-9"}))
    with db.session.begin_nested(), permit_redaction(world.partnership.id) as connection:
        connection.execute(_set_after(event_id, after={"reference": "CS-9"}))
    assert db.session.get(AuditEvent, event_id).after == {"reference": "CS-9"}


def test_the_permit_never_outlives_its_block_and_is_never_committed(world):
    event_id = _event_of(world.partnership.id)
    permits = sa.select(sa.func.count()).select_from(AuditRedactionPermit.__table__)
    with permit_redaction(world.partnership.id):
        assert db.session.scalar(permits) == 1
    assert db.session.scalar(permits) == 0
    _refused(_set_after(event_id, after={"name": "after the block"}))
    # a block that fails leaves no permit behind either
    with pytest.raises(RuntimeError), permit_redaction(world.partnership.id):
        raise RuntimeError("the redaction failed")
    assert db.session.scalar(permits) == 0
    db.session.commit()
    assert db.session.scalar(permits) == 0
