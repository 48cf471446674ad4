"""Guard rails on a round (issue 11): warnings before opening, moves confirmed with what they leave undone,
a round's title, dates and reminders changed until it is reported, and a planning round deleted."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from audit_app.case_audits.models import Case, RoundCase
from audit_app.core.errors import FieldErrors, NotAllowedError
from audit_app.extensions import db
from audit_app.rounds import services
from audit_app.rounds.models import Return, Round, RoundStatus
from tests.conftest import login
from tests.factories import make_questionnaire, make_round
from tests.questionnaires.test_questionnaire_spec import EXAMPLE


@pytest.fixture()
def version(world):
    return make_questionnaire(world.partnership.id, EXAMPLE)


def _round(world, version, *, status=RoundStatus.PLANNING, agencies=None, **plan) -> Round:
    round_ = make_round(
        world.partnership.id,
        version=version,
        title="Neglect audit",
        agencies=agencies or [world.police, world.health],
        cases=["CS-1", "CS-2"],
        status=status,
        **plan,
    )
    db.session.commit()
    return round_


# -- warnings --


def test_a_planning_round_warns_of_agencies_with_nobody_and_a_past_due_date(world, version, clock):
    clock.set(date(2027, 3, 10))
    round_ = _round(world, version)
    keys = {w.key: w.message for w in services.round_warnings(round_)}
    # the hospital has no auditor or lead in the world; the police have both
    assert set(keys) == {"agencies_without_completers"}
    assert (
        "North Hospital" in keys["agencies_without_completers"]
        and "North Police" not in keys["agencies_without_completers"]
    )
    services.update_round(
        round_, title=round_.title, opens_on=None, due_on=date(2027, 3, 1), remind_days_before=3, remind_days_after=2
    )
    keys = {w.key: w.message for w in services.round_warnings(round_)}
    assert "1 March 2027" in keys["due_date_passed"] and "before opening" in keys["due_date_passed"]
    police_only = _round(world, version, agencies=[world.police])
    assert services.round_warnings(police_only) == []


def test_warnings_show_on_the_round_page_and_in_the_api(client, api, world, version):
    round_ = _round(world, version)
    login(client, world.user("qa_member"))
    page = client.get(f"/rounds/{round_.id}").get_data(as_text=True)
    assert "govuk-warning-text" in page and "nobody with an auditor or agency lead role" in page
    body = api(world.user("admin")).get(f"/api/v1/rounds/{round_.id}").json
    assert [w["key"] for w in body["warnings"]] == ["agencies_without_completers"]
    assert "North Hospital" in body["warnings"][0]["message"]


# -- confirmations --


def test_closing_says_how_many_returns_are_outstanding_before_it_happens(client, world, version):
    round_ = _round(world, version, status=RoundStatus.OPEN)
    login(client, world.user("qa_member"))
    detail = client.get(f"/rounds/{round_.id}").get_data(as_text=True)
    assert f'href="/rounds/{round_.id}/status/closed"' in detail  # a link to the confirmation, not a form
    page = client.get(f"/rounds/{round_.id}/status/closed")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "Close for returns?" in text
    assert "4 returns are still outstanding" in text and "unless you reopen the round" in text
    db.session.refresh(round_)
    assert round_.status == RoundStatus.OPEN  # asking changes nothing
    done = client.post(f"/rounds/{round_.id}/status", data={"to": "closed"})
    assert done.status_code == 302
    db.session.refresh(round_)
    assert round_.status == RoundStatus.CLOSED


def test_marking_reported_says_how_many_cases_have_no_agreed_grade(client, api, world, version):
    round_ = _round(world, version, status=RoundStatus.IN_DISCUSSION)
    login(client, world.user("admin"))
    text = client.get(f"/rounds/{round_.id}/status/reported").get_data(as_text=True)
    assert "2 cases have no agreed grade from the panel" in text
    moves = api(world.user("admin")).get(f"/api/v1/rounds/{round_.id}/moves").json
    assert moves["status"] == "in_discussion"
    assert [m["to"] for m in moves["moves"]] == ["reported"]
    assert "2 cases have no agreed grade" in moves["moves"][0]["consequences"][0]


def test_opening_lists_the_returns_it_creates_and_the_warnings(client, world, version):
    round_ = _round(world, version)
    login(client, world.user("qa_member"))
    text = client.get(f"/rounds/{round_.id}/status/open").get_data(as_text=True)
    assert "4 returns will be created" in text and "North Hospital" in text


def test_a_move_the_round_cannot_make_is_not_offered(client, world, version):
    round_ = _round(world, version)
    login(client, world.user("qa_member"))
    refused = client.get(f"/rounds/{round_.id}/status/reported", follow_redirects=True)
    assert refused.status_code == 200 and b"cannot become reported" in refused.data
    assert client.get(f"/rounds/{round_.id}/status/nonsense").status_code == 404


# -- editing --


def test_title_dates_and_reminders_change_until_the_round_is_reported(client, world, version):
    round_ = _round(world, version, status=RoundStatus.OPEN)
    login(client, world.user("qa_member"))
    form = client.get(f"/rounds/{round_.id}/edit").get_data(as_text=True)
    assert 'value="Neglect audit"' in form
    saved = client.post(
        f"/rounds/{round_.id}/edit",
        data={
            "title": "Neglect audit, spring",
            "due_on": ["30", "4", "2027"],
            "remind_days_before": "5",
            "remind_days_after": "1",
        },
    )
    assert saved.status_code == 302
    db.session.refresh(round_)
    assert (round_.title, round_.due_on, round_.remind_days_before, round_.remind_days_after) == (
        "Neglect audit, spring",
        date(2027, 4, 30),
        5,
        1,
    )
    round_.status = RoundStatus.REPORTED
    db.session.commit()
    refused = client.get(f"/rounds/{round_.id}/edit", follow_redirects=True)
    assert b"A reported round cannot be changed" in refused.data
    with pytest.raises(NotAllowedError):
        services.update_round(round_, title="x", opens_on=None, due_on=None, remind_days_before=0, remind_days_after=0)


def test_every_bad_field_of_an_edit_is_reported_at_once(client, world, version):
    round_ = _round(world, version)
    login(client, world.user("qa_member"))
    page = client.post(
        f"/rounds/{round_.id}/edit",
        data={
            "title": "",
            "opens_on": ["10", "5", "2027"],
            "due_on": ["1", "5", "2027"],
            "remind_days_before": "99",
            "remind_days_after": "1",
        },
    )
    text = page.get_data(as_text=True)
    assert page.status_code == 400 and "govuk-error-summary" in text
    assert 'href="#title"' in text and 'href="#remind_days_before"' in text
    with pytest.raises(FieldErrors) as refused:
        services.update_round(
            round_,
            title="",
            opens_on=date(2027, 5, 10),
            due_on=date(2027, 5, 1),
            remind_days_before=99,
            remind_days_after=1,
        )
    assert set(refused.value.fields) == {"title", "due_on", "remind_days_before"}
    db.session.rollback()
    assert db.session.get(Round, round_.id).title == "Neglect audit"


def test_the_api_changes_only_the_fields_sent(api, world, version):
    round_ = _round(world, version)
    admin = api(world.user("admin"))
    body = admin.patch(f"/api/v1/rounds/{round_.id}", json={"due_on": "2027-06-30"}).json
    assert body["title"] == "Neglect audit" and body["due_on"] == "2027-06-30"
    cleared = admin.patch(f"/api/v1/rounds/{round_.id}", json={"due_on": None, "remind_days_after": 0}).json
    assert cleared["due_on"] is None and cleared["remind_days_after"] == 0 and cleared["remind_days_before"] == 3
    bad = admin.patch(f"/api/v1/rounds/{round_.id}", json={"title": "", "remind_days_before": 61})
    assert bad.status_code == 400 and {"title", "remind_days_before"} <= set(bad.json["error"]["fields"])
    assert api(world.user("auditor")).patch(f"/api/v1/rounds/{round_.id}", json={"title": "x"}).status_code == 403


# -- deleting --


def test_a_planning_round_is_deleted_after_confirmation_and_its_cases_stay(client, world, version):
    round_ = _round(world, version)
    round_id = round_.id
    login(client, world.user("qa_member"))
    confirm = client.get(f"/rounds/{round_id}/delete").get_data(as_text=True)
    assert "Delete this round?" in confirm and "Its 2 cases are taken out of it" in confirm
    assert client.post(f"/rounds/{round_id}/delete").status_code == 302
    db.session.expire_all()
    assert db.session.get(Round, round_id) is None
    assert (
        db.session.scalar(sa.select(sa.func.count()).select_from(RoundCase).where(RoundCase.round_id == round_id)) == 0
    )
    references = set(db.session.scalars(sa.select(Case.reference).where(Case.partnership_id == world.partnership.id)))
    assert {"CS-1", "CS-2"} <= references


def test_an_opened_round_cannot_be_deleted(client, api, world, version):
    round_ = _round(world, version, status=RoundStatus.OPEN)
    login(client, world.user("qa_member"))
    page = client.post(f"/rounds/{round_.id}/delete", follow_redirects=True)
    assert b"Only a round still in planning can be deleted" in page.data
    refused = api(world.user("admin")).delete(f"/api/v1/rounds/{round_.id}")
    assert refused.status_code == 409 and "still in planning" in refused.json["error"]["message"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Return).where(Return.round_id == round_.id)) == 4


def test_the_api_deletes_a_planning_round(api, world, version):
    round_ = _round(world, version)
    round_id = round_.id
    assert api(world.user("admin")).delete(f"/api/v1/rounds/{round_id}").status_code == 204
    db.session.expire_all()
    assert db.session.get(Round, round_id) is None
    assert api(world.user("admin")).get(f"/api/v1/rounds/{round_id}").status_code == 404


def test_a_round_that_is_re_audited_cannot_be_deleted_first(world, version):
    first = _round(world, version)
    make_round(world.partnership.id, version=version, title="Re-audit", previous_round=first)
    with pytest.raises(NotAllowedError, match="re-audits this round"):
        services.delete_round(first)


# -- planning reports every bad field at once --


def test_planning_reports_every_bad_field_at_once(world, version):
    with pytest.raises(FieldErrors) as refused:
        services.plan_round(
            world.partnership.id,
            title=" ",
            version=None,
            opens_on=date(2027, 5, 10),
            due_on=date(2027, 5, 1),
            remind_days_before=-1,
        )
    assert set(refused.value.fields) == {"title", "version_id", "due_on", "remind_days_before"}


def test_accepting_a_return_is_confirmed_first(client, world, version):
    from audit_app.rounds.models import ReturnStatus

    round_ = _round(world, version, status=RoundStatus.OPEN)
    ret = db.session.scalar(sa.select(Return).where(Return.round_id == round_.id).limit(1))
    ret.status = ReturnStatus.SUBMITTED
    db.session.commit()
    login(client, world.user("qa_member"))
    detail = client.get(f"/returns/{ret.id}").get_data(as_text=True)
    assert f'href="/returns/{ret.id}/accept"' in detail
    page = client.get(f"/returns/{ret.id}/accept").get_data(as_text=True)
    assert "Accept this return?" in page and "can no longer send it back" in page
    db.session.refresh(ret)
    assert ret.status == ReturnStatus.SUBMITTED  # asking changes nothing
    assert client.post(f"/returns/{ret.id}/accept").status_code == 302
    db.session.refresh(ret)
    assert ret.status == ReturnStatus.ACCEPTED
    again = client.get(f"/returns/{ret.id}/accept", follow_redirects=True)
    assert b"Only a submitted return can be accepted" in again.data


def test_removing_a_case_is_confirmed_first(client, world, version):
    round_ = _round(world, version)
    round_case = round_.cases[0]
    login(client, world.user("qa_member"))
    page = client.get(f"/rounds/{round_.id}/cases/{round_case.id}/remove").get_data(as_text=True)
    assert "Remove case CS-1 from the round?" in page and "North Police" in page and "North Hospital" in page
    assert len(db.session.get(Round, round_.id).cases) == 2
    assert client.post(f"/rounds/{round_.id}/cases/{round_case.id}/remove").status_code == 302
    db.session.expire_all()
    assert [rc.case.reference for rc in db.session.get(Round, round_.id).cases] == ["CS-2"]
