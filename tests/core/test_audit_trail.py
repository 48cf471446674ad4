"""The audit trail: one mechanism records every change; nobody can alter it."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DatabaseError

from audit_app.accounts import services
from audit_app.accounts.models import AgencyName, Role
from audit_app.core.audit import AppendOnlyError, AuditEvent, system_actor
from audit_app.extensions import db
from tests.conftest import login, sector


def _events(entity_type: str, entity_id: int) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.entity_type == entity_type, AuditEvent.entity_id == entity_id)
            .order_by(AuditEvent.id)
        )
    )


def test_create_update_delete_are_recorded_with_before_and_after(world):
    with system_actor("test:admin"):
        link = services.create_agency(world.partnership.id, "Youth Service", sector(world.partnership.id, "justice"))
        db.session.commit()
        services.update_agency(link, "Youth Justice Service", link.sector)
        db.session.commit()
    agency_events = _events("Agency", link.agency_id)
    assert [e.action for e in agency_events] == ["create", "update"]
    created, renamed = agency_events
    assert created.before is None
    assert created.after["name"] == "Youth Service"
    assert created.actor_label == "test:admin"
    assert renamed.before == {"name": "Youth Service"}
    assert renamed.after == {"name": "Youth Justice Service"}
    assert renamed.partnership_id == world.partnership.id or renamed.partnership_id is None

    previous = db.session.scalar(sa.select(AgencyName).where(AgencyName.agency_id == link.agency_id))
    assert [e.action for e in _events("AgencyName", previous.id)] == ["create"]

    membership = services.add_membership(world.user("qa_member"), world.partnership.id, Role.SCRUTINEER)
    db.session.commit()
    membership_id = membership.id
    services.remove_membership(membership)
    db.session.commit()
    deleted = _events("Membership", membership_id)[-1]
    assert deleted.action == "delete"
    assert deleted.before["role"] == "scrutineer"
    assert deleted.after is None
    assert deleted.partnership_id == world.partnership.id


def test_web_changes_are_attributed_to_the_signed_in_user(client, world):
    login(client, world.user("admin"))
    response = client.post("/admin/sectors/new", data={"name": "Housing"})
    assert response.status_code == 302
    event = db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.entity_type == "Sector").order_by(AuditEvent.id.desc()).limit(1)
    )
    assert event.actor_id == world.user("admin").id
    assert event.actor_label == "admin@north.example.org"
    assert event.after["name"] == "Housing"
    assert event.request_id


def test_password_hashes_and_token_hashes_are_redacted(world):
    user = world.user("auditor")
    services.set_password(user, "another-long-password")
    services.create_api_token(user, world.partnership.id, "reporting")
    db.session.commit()
    update = _events("User", user.id)[-1]
    assert update.after == {"password_hash": "[redacted]"}
    token_event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.entity_type == "ApiToken"))
    assert token_event.after["token_hash"] == "[redacted]"
    blob = str([e.after for e in _events("User", user.id)])
    assert "argon2" not in blob


def test_failed_request_leaves_no_event(client, world):
    login(client, world.user("admin"))
    before = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
    response = client.post(
        "/admin/agencies/new", data={"name": "North Police", "sector_id": str(world.police.sector_id)}
    )
    assert response.status_code == 400
    assert b"An agency with this name already exists" in response.data
    after = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent))
    assert after == before


def test_events_cannot_be_changed_through_the_orm(world):
    event = db.session.scalar(sa.select(AuditEvent).limit(1))
    event.action = "forged"
    with pytest.raises(AppendOnlyError):
        db.session.flush()
    db.session.rollback()
    event = db.session.scalar(sa.select(AuditEvent).limit(1))
    db.session.delete(event)
    with pytest.raises(AppendOnlyError):
        db.session.flush()
    db.session.rollback()


@pytest.mark.parametrize("statement", ["UPDATE audit_events SET action = 'forged'", "DELETE FROM audit_events"])
def test_events_cannot_be_changed_in_sql(world, statement):
    nested = db.session.begin_nested()
    with pytest.raises(DatabaseError, match="append-only"):
        db.session.execute(sa.text(statement))
    nested.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) > 0


def test_history_page_shows_the_agency_changes(client, world):
    with system_actor("test:admin"):
        services.update_agency(world.police, "North Police Service", world.police.sector)
        db.session.commit()
    login(client, world.user("scrutineer"))
    page = client.get(f"/history/agency/{world.police.agency_id}")
    assert page.status_code == 200
    assert b"North Police Service" in page.data
    assert b"test:admin" in page.data
    # The history has no way to change anything.
    assert b'method="post"' not in page.data.split(b"<main")[1]


def test_user_history_leaves_out_roles_in_other_partnerships(client, world):
    auditor = world.user("auditor")
    services.add_membership(auditor, world.other_partnership.id, Role.QA_MEMBER)
    db.session.commit()
    login(client, world.user("admin"))
    page = client.get(f"/history/user/{auditor.id}").data.decode()
    assert "qa_member" not in page
    assert "auditor" in page


def test_audit_log_is_scoped_to_the_partnership_and_paged(client, world):
    login(client, world.user("admin"))
    page = client.get("/audit-log").data.decode()
    assert "North Police" in page
    assert "South Council" not in page
    assert client.get("/audit-log?page=0").status_code == 400
    assert client.get("/audit-log?page=x").status_code == 400
    assert client.get("/audit-log?type=Agency").status_code == 200


def test_history_of_unknown_kinds_and_other_partnerships_is_404(client, world):
    login(client, world.user("admin"))
    assert client.get(f"/history/agency/{world.other_agency.agency_id}").status_code == 404
    assert client.get(f"/history/user/{world.user('other_admin').id}").status_code == 404
    assert client.get("/history/nonsense/1").status_code == 404
    assert client.get(f"/history/partnership/{world.other_partnership.id}").status_code == 404
    assert client.get(f"/history/partnership/{world.partnership.id}").status_code == 200
    assert client.get(f"/history/sector/{world.police.sector_id}").status_code == 200


def test_there_is_no_route_that_writes_events(app):
    writers = [
        rule
        for rule in app.url_map.iter_rules()
        if ("history" in rule.rule or "audit" in rule.rule) and rule.methods & {"POST", "PUT", "PATCH", "DELETE"}
    ]
    assert writers == []


def test_the_audit_log_reads_as_a_record_for_people_and_filters(client, world):
    from audit_app.core.audit import AuditEvent

    login(client, world.user("admin"))
    page = client.get("/audit-log").data.decode()
    assert "Partnership agency: North Police" in page and "Created" in page
    assert ">PartnershipAgency" not in page and "is_active" not in page and ">None<" not in page
    events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.partnership_id == world.partnership.id)).all()
    person = events[0].actor_label
    only = client.get("/audit-log", query_string={"person": person, "type": "Agency"})
    assert only.status_code == 200
    shown = only.data.decode()
    expected = sum(1 for e in events if e.actor_label == person and e.entity_type == "Agency")
    assert f"{expected} recorded change" in shown and "that match the filters" in shown
    today = events[0].occurred_at.date().isoformat()
    assert f"{len(events)} recorded changes" in client.get(f"/audit-log?from={today}&to={today}").data.decode()
    assert "0 recorded changes" in client.get("/audit-log?from=2001-01-01&to=2001-01-02").data.decode()
    bad = client.get("/audit-log?from=31/12/2026&to=2001-01-01&person=nobody&type=Nothing")
    assert bad.status_code == 400
    text = bad.data.decode()
    for message in (
        "From: enter a date such as 2026-11-30",
        "Made by: choose one of the people listed",
        "Show changes to: choose one of the kinds listed",
    ):
        assert message in text
    assert client.get("/audit-log?from=2026-02-01&to=2026-01-01").status_code == 400


def test_the_audit_log_pages_show_a_window_not_every_number(client, world):
    from audit_app.accounts import services as accounts
    from audit_app.core.audit import system_actor

    with system_actor("test:setup"):
        for n in range(30):
            accounts.set_short_code(world.police, f"NP{n}")  # one change each
    db.session.commit()
    login(client, world.user("admin"))
    total = client.get("/audit-log?per_page=1").data.decode()
    assert "govuk-pagination" in total, total[total.find("recorded change") - 20 : total.find("recorded change") + 200]
    assert "page=2" in total and "govuk-pagination__item--ellipsis" in total
    middle = client.get("/audit-log?per_page=1&page=15").data.decode()
    numbers = re.findall(r'class="govuk-link govuk-pagination__link" href="[^"]*?[?&]page=(\d+)', middle)
    assert {"1", "13", "14", "15", "16", "17"} <= set(numbers) and "5" not in numbers and len(set(numbers)) <= 7
    assert client.get("/audit-log?page=100000").status_code == 404


def test_the_audit_log_filters_to_one_round_or_one_case(client, world):
    """A round's events are the round's, its cases', its returns' and their answers'; a case's follow it across
    rounds (issue 11: the audit log filters by round and case)."""
    from audit_app.rounds.models import Answer, Return, RoundStatus
    from tests.factories import make_questionnaire, make_return_answered, make_round, returns_of
    from tests.questionnaires.test_questionnaire_spec import EXAMPLE

    version = make_questionnaire(world.partnership.id, EXAMPLE)
    first = make_round(world.partnership.id, version=version, title="Round Alpha", agencies=[world.police],
                       cases=["CS-ALPHA"], status=RoundStatus.OPEN)  # fmt: skip
    second = make_round(world.partnership.id, version=version, title="Round Beta", agencies=[world.police],
                        cases=["CS-BETA"], status=RoundStatus.OPEN)  # fmt: skip
    make_return_answered(returns_of(first)[0], world.user("auditor"), limit=2)
    db.session.commit()
    login(client, world.user("admin"))

    def count(**conditions) -> int:
        return db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(*conditions.values()))

    returns = sa.select(Return.id).where(Return.round_id == first.id)
    answers = sa.select(Answer.id).where(Answer.return_id.in_(returns))
    expected = (
        count(a=AuditEvent.entity_type == "Round", b=AuditEvent.entity_id == first.id)
        + count(a=AuditEvent.entity_type == "Return", b=AuditEvent.entity_id.in_(returns))
        + count(a=AuditEvent.entity_type == "Answer", b=AuditEvent.entity_id.in_(answers))
        + count(a=AuditEvent.entity_type == "RoundCase", b=AuditEvent.entity_id == first.cases[0].id)
    )
    assert expected >= 5  # the round, its case, its return, two answers at least
    page = client.get("/audit-log", query_string={"round": first.id}).get_data(as_text=True)
    table = page[page.index('id="events"') :]  # the filter's own list names every round
    assert f"{expected} recorded change" in page and "Round Alpha" in table and "Round Beta" not in table
    assert 'name="round"' in page and 'name="case"' in page
    case_page = client.get("/audit-log", query_string={"case": second.cases[0].case_id}).get_data(as_text=True)
    assert "Round Alpha" not in case_page[case_page.index('id="events"') :] and "that match the filters" in case_page
    assert "0 recorded changes" not in case_page
    bad = client.get("/audit-log", query_string={"round": 999999, "case": "x"})
    assert bad.status_code == 400
    assert "Round: choose one of those listed" in bad.get_data(as_text=True)
    assert "Case: choose one of those listed" in bad.get_data(as_text=True)


def test_recorded_ids_read_as_the_names_of_what_they_point_to(client, world):
    """An agency's link records its sector by id; the log shows the sector's name there, never "Sector id: 3"."""
    login(client, world.user("admin"))
    page = client.get("/audit-log", query_string={"type": "PartnershipAgency"}).get_data(as_text=True)
    table = page[page.index('id="events"') :]
    sector_name = world.police.sector.name
    assert f"Sector: {sector_name}" in table or f"Sector id: {sector_name}" in table, table[:2000]
    assert not re.search(r"Sector(?: id)?: \d+\n", table)
