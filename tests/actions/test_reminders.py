"""Reminders about actions: to the owner before the due date and every few days while overdue, the QA group's
weekly digest, nothing sent twice, and all of it from the daily `flask reminders send`."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from audit_app.actions import services
from audit_app.actions.models import ActionReminder, Rag
from audit_app.actions.notifications import send_action_reminders
from audit_app.core.audit import system_actor
from audit_app.extensions import db
from audit_app.rounds import services as rounds
from audit_app.rounds.models import RoundStatus
from tests.factories import make_action, make_recommendation, make_round

TODAY = date(2026, 6, 1)


def _to(message) -> set[str]:
    return set(message["To"].split(", "))


def _by_subject(mailbox, start: str) -> list:
    return [m for m in mailbox if m["Subject"].startswith(start)]


def test_the_owner_is_reminded_before_the_due_date_on_that_day_only(world, mailbox, clock, app):
    clock.set(TODAY)
    rec = make_recommendation(world.partnership.id, "Health attends every strategy discussion.")
    action = make_action(rec, "Add health to the invitation list", owner=world.user("auditor"), due_on=date(2026, 6, 8))
    db.session.commit()
    with app.test_request_context():
        assert send_action_reminders(date(2026, 5, 31)) == []
        lines = send_action_reminders(date(2026, 6, 1))  # 7 days before, the partnership's default
    assert mailbox and len(_by_subject(mailbox, "Action due on 8 June 2026")) == 1
    message = _by_subject(mailbox, "Action due on")[0]
    assert _to(message) == {"auditor@north.example.org"}
    body = message.get_content()
    assert "is due in 7 days" in body and "Add health to the invitation list" in body
    assert f"http://localhost/actions/{action.id}" in body or f"/actions/{action.id}" in body
    assert "reminded owners of 1 action(s) due soon" in lines[0]
    # The digest has nothing to say: nothing is overdue or red.
    assert _by_subject(mailbox, "Action plan digest") == []
    mailbox.clear()
    with app.test_request_context():
        send_action_reminders(date(2026, 6, 2))
    assert mailbox == []


def test_overdue_reminders_go_every_week_and_the_qa_group_gets_a_digest(world, mailbox, clock, app):
    clock.set(TODAY)
    rec = make_recommendation(world.partnership.id, "Supervision records show challenge.", agencies=[world.police])
    # A named person without an account: the reminders go to the leads of the owner agency.
    late = make_action(
        rec, "Audit supervision notes", owner_name="DI Jo Marsh", agency=world.police, due_on=date(2026, 5, 20)
    )
    red = make_action(rec, "Train team managers", owner=world.user("auditor"), due_on=date(2026, 9, 1))
    with system_actor("test"):
        services.post_update(red, services.UpdateIn(note="Trainer off sick.", rag=Rag.RED.value), by=None)
    db.session.commit()
    with app.test_request_context():
        lines = send_action_reminders(TODAY)
    overdue = _by_subject(mailbox, "Action overdue: Audit supervision notes")
    assert len(overdue) == 1 and _to(overdue[0]) == {"lead@north.example.org"}
    assert "12 days overdue" in overdue[0].get_content()
    digest = _by_subject(mailbox, "Action plan digest: 1 overdue, 1 red")
    assert len(digest) == 1 and _to(digest[0]) == {"qa@north.example.org"}
    text = digest[0].get_content()
    assert "Audit supervision notes" in text and "Train team managers" in text and f"/actions/{late.id}" in text
    assert any("weekly digest of 2" in line for line in lines)
    # Running again the same day sends nothing more.
    mailbox.clear()
    with app.test_request_context():
        assert send_action_reminders(TODAY) == []
    assert mailbox == []
    # Six days on: nothing; seven days on: the overdue reminder and the digest again.
    with app.test_request_context():
        send_action_reminders(TODAY + timedelta(days=6))
    assert mailbox == []
    with app.test_request_context():
        send_action_reminders(TODAY + timedelta(days=7))
    assert len(_by_subject(mailbox, "Action overdue")) == 1 and len(_by_subject(mailbox, "Action plan digest")) == 1
    kinds = db.session.execute(sa.select(ActionReminder.kind, ActionReminder.sent_on)).all()
    assert sorted(kinds) == sorted(
        [
            ("overdue", TODAY),
            ("digest", TODAY),
            ("overdue", TODAY + timedelta(days=7)),
            ("digest", TODAY + timedelta(days=7)),
        ]
    )


def test_the_partnership_settings_turn_reminders_off(world, mailbox, clock, app):
    clock.set(TODAY)
    rec = make_recommendation(world.partnership.id)
    make_action(rec, "Due soon", owner=world.user("auditor"), due_on=TODAY + timedelta(days=7))
    make_action(rec, "Late", owner=world.user("auditor"), due_on=TODAY - timedelta(days=3))
    world.partnership.action_remind_days_before = 0
    world.partnership.action_overdue_every_days = 0
    db.session.commit()
    with app.test_request_context():
        send_action_reminders(TODAY)
    # Only the QA group's digest (of the overdue action) goes.
    assert [m["Subject"] for m in mailbox] == [f"Action plan digest: 1 overdue, 0 red ({world.partnership.name})"]


def test_a_finished_action_and_another_partnership_are_left_alone(world, mailbox, clock, app):
    clock.set(TODAY)
    ours = make_recommendation(world.partnership.id)
    closed = make_action(ours, "Closed", owner=world.user("auditor"), due_on=TODAY - timedelta(days=1))
    with system_actor("test"):
        services.post_update(
            closed,
            services.UpdateIn(note="Service decommissioned.", rag="blue", closure_reason="The service closed."),
            by=None,
        )
    theirs = make_recommendation(world.other_partnership.id)
    make_action(theirs, "Theirs", owner=world.user("other_admin"), due_on=TODAY - timedelta(days=1))
    db.session.commit()
    with app.test_request_context():
        send_action_reminders(TODAY)
    assert mailbox and all(_to(m) == {"admin@south.example.org"} for m in mailbox)
    assert "North" not in "".join(m.get_content() for m in mailbox)


def test_flask_reminders_send_sends_return_and_action_reminders(world, mailbox, clock, app):
    clock.set(date(2026, 3, 1))
    round_ = make_round(world.partnership.id, title="Neglect audit", agencies=[world.police], cases=1)
    round_.due_on = date(2026, 4, 1)
    db.session.commit()
    with system_actor("test"):  # the round opens (its opening emails are not this test's concern)
        rounds.move_round(round_, RoundStatus.OPEN)
    rec = make_recommendation(world.partnership.id)
    make_action(rec, "Due in a week", owner=world.user("auditor"), due_on=date(2026, 4, 5))
    db.session.commit()
    mailbox.clear()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["reminders", "send", "--date", "2026-03-29"])
    assert result.exit_code == 0, result.output
    assert "Neglect audit: reminded 1 agencies" in result.output
    assert "reminded owners of 1 action(s) due soon" in result.output
    subjects = sorted(m["Subject"] for m in mailbox)
    assert subjects == [
        "Action due on 5 April 2026: Due in a week",
        "Reminder: audit returns outstanding for Neglect audit",
    ]
    # The same day again: the action's reminder is not sent twice.
    mailbox.clear()
    again = runner.invoke(args=["reminders", "send", "--date", "2026-03-29"])
    assert "action plan" not in again.output
    assert not _by_subject(mailbox, "Action due")


# -- the partnership's settings --


def test_the_settings_page_sets_the_reminder_days(client, world):
    from tests.conftest import login

    login(client, world.user("admin"))
    page = client.get("/admin/settings").data.decode()
    assert 'name="action_remind_days_before"' in page and 'value="7"' in page
    saved = client.post(
        "/admin/settings",
        data={"qa_group_name": "Learning Hub", "action_remind_days_before": "14", "action_overdue_every_days": "0"},
    )
    assert saved.status_code == 302
    db.session.refresh(world.partnership)
    assert (world.partnership.action_remind_days_before, world.partnership.action_overdue_every_days) == (14, 0)


def test_bad_reminder_days_are_named_and_nothing_changes(client, world):
    from tests.conftest import login

    login(client, world.user("admin"))
    for before, every in (("91", "-1"), ("seven", "1.5"), ("", " "), ("\uff11\uff12", "99999999999999")):
        response = client.post(
            "/admin/settings",
            data={"qa_group_name": "Renamed", "action_remind_days_before": before, "action_overdue_every_days": every},
        )
        assert response.status_code == 400, (before, every)
        page = response.data.decode()
        assert 'href="#action_remind_days_before"' in page and 'href="#action_overdue_every_days"' in page
        assert "from 0 to 90" in page
    db.session.refresh(world.partnership)
    assert world.partnership.qa_group_name != "Renamed"
    assert (world.partnership.action_remind_days_before, world.partnership.action_overdue_every_days) == (7, 7)


def test_the_service_refuses_days_out_of_range(world):
    import pytest

    from audit_app.accounts import services as accounts
    from audit_app.core.errors import FieldErrors

    with pytest.raises(FieldErrors) as refused:
        accounts.update_partnership_settings(
            world.partnership, qa_group_name="X", action_remind_days_before=91, action_overdue_every_days=-1
        )
    assert set(refused.value.fields) == {"action_remind_days_before", "action_overdue_every_days"}


def test_a_refused_email_is_not_recorded_and_the_next_run_tries_again(world, mailbox, clock, app, monkeypatch):
    from audit_app.actions import notifications
    from audit_app.core.mail import MailError

    clock.set(TODAY)
    make_action(
        make_recommendation(world.partnership.id), "Late", owner=world.user("auditor"), due_on=TODAY - timedelta(days=2)
    )
    db.session.commit()

    def refuse(*args, **kwargs):
        raise MailError("connection refused")

    monkeypatch.setattr(notifications, "send_email", refuse)
    with app.test_request_context():
        lines = send_action_reminders(TODAY)
    assert any("could not be sent; the next run tries again" in line for line in lines)
    assert db.session.scalar(sa.select(sa.func.count(ActionReminder.id))) == 0
    monkeypatch.undo()
    with app.test_request_context():
        send_action_reminders(TODAY)
    assert sorted(m["Subject"].split(":")[0] for m in mailbox) == ["Action overdue", "Action plan digest"]
