"""An agency's own improvement actions on its self-assessment return (actions.improvement): they join the
composite action plan under the round, with the agency as owner agency; the agency's people add and update them,
nobody else's; bad input named field by field; the API."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from audit_app.actions import improvement
from audit_app.actions.models import Action, Recommendation, SourceKind
from audit_app.core.audit import system_actor
from audit_app.core.errors import FieldErrors, NotAllowedError
from audit_app.core.roles import Role
from audit_app.extensions import db
from audit_app.rounds import services as rounds
from audit_app.rounds.models import Return, RoundStatus
from tests.conftest import login
from tests.factories import make_questionnaire, make_round, make_user

S11 = "section11_self_assessment"
KEY = "leadership_named_lead"
DUE = date(2099, 3, 31)


def _sa_return(world, agency=None, status: RoundStatus = RoundStatus.OPEN) -> Return:
    version = make_questionnaire(world.partnership.id, library_key=S11)
    round_ = make_round(
        world.partnership.id,
        version=version,
        title="Section 11, 2027",
        agencies=[agency or world.police],
        status=status,
    )
    db.session.commit()
    return db.session.scalar(sa.select(Return).where(Return.round_id == round_.id))


@pytest.fixture()
def ret(world) -> Return:
    return _sa_return(world)


def _given(world, **changes) -> improvement.ImprovementIn:
    values = {"title": "Refresh the safeguarding policy", "owner_user_id": world.user("auditor").id, "due_on": DUE}
    return improvement.ImprovementIn(**(values | changes))


# -- services --


def test_the_first_action_makes_one_recommendation_of_the_round_for_the_agency(world, ret):
    with system_actor("test"):
        first = improvement.add_improvement_action(ret, _given(world, question_key=KEY))
        second = improvement.add_improvement_action(ret, _given(world, title="Train governors"))
        db.session.commit()
    rec = first.recommendation
    assert second.recommendation_id == rec.id and rec.return_id == ret.id
    assert (rec.source, rec.round_id, rec.source_key) == (SourceKind.ROUND, ret.round_id, f"round:{ret.round_id}")
    assert [a.id for a in rec.agencies] == [world.police.agency_id]
    assert rec.text == "Improvement actions from North Police's self-assessment"
    assert (first.owner_agency_id, first.owner_user_id, first.question_key) == (
        world.police.agency_id,
        world.user("auditor").id,
        KEY,
    )
    assert [a.id for a in improvement.improvement_actions(ret)] == [first.id, second.id]


def test_every_bad_field_is_named_at_once_and_nothing_is_kept(world, ret):
    with system_actor("test"):
        other = make_user(world.partnership.id, Role.AUDITOR, agency_id=world.health.agency_id)
    with pytest.raises(FieldErrors) as refused:
        improvement.add_improvement_action(
            ret,
            improvement.ImprovementIn(title=" ", owner_user_id=other.id, due_on=date(2000, 1, 1), question_key="nope"),
        )
    assert set(refused.value.fields) == {"title", "owner_user_id", "due_on", "question_key"}
    with pytest.raises(FieldErrors) as refused:
        improvement.add_improvement_action(ret, improvement.ImprovementIn(title="x" * 301))
    assert set(refused.value.fields) == {"title", "owner_user_id", "due_on"}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Recommendation)) == 0


def test_a_case_audit_return_and_a_reported_round_take_none(world):
    audit_round = make_round(world.partnership.id, agencies=[world.police], cases=1, status=RoundStatus.OPEN)
    audit_return = db.session.scalar(sa.select(Return).where(Return.round_id == audit_round.id))
    with pytest.raises(NotAllowedError):
        improvement.add_improvement_action(audit_return, _given(world))
    reported = _sa_return(world, status=RoundStatus.CLOSED)
    with system_actor("test"):
        rounds.move_round(reported.round, RoundStatus.REPORTED)
    with pytest.raises(NotAllowedError):
        improvement.add_improvement_action(reported, _given(world))


# -- pages --


def test_the_agency_adds_an_action_on_its_return_and_it_is_on_the_plan_under_the_round(client, world, ret):
    login(client, world.user("agency_lead"))
    page = client.get(f"/returns/{ret.id}").get_data(as_text=True)
    assert "Improvement actions" in page and "No improvement actions yet." in page
    form = client.get(f"/returns/{ret.id}/improvement-actions/new").get_data(as_text=True)
    assert world.user("auditor").name in form and "admin" not in form.lower().split("owner")[1][:200]
    added = client.post(
        f"/returns/{ret.id}/improvement-actions/new",
        data={
            "title": "Audit safer recruitment files",
            "owner_user_id": str(world.user("auditor").id),
            "due_on-day": "31",
            "due_on-month": "3",
            "due_on-year": "2099",
            "question_key": KEY,
        },
    )
    assert added.status_code == 303
    page = client.get(f"/returns/{ret.id}").get_data(as_text=True)
    assert "Audit safer recruitment files" in page and "31 March 2099" in page
    plan = client.get("/actions").get_data(as_text=True)
    assert "Audit safer recruitment files" in plan and "Section 11, 2027" in plan
    # the QA group sees it in the plan filtered by the round
    login(client, world.user("qa_member"))
    plan = client.get(f"/actions?source=round:{ret.round_id}").get_data(as_text=True)
    assert "Audit safer recruitment files" in plan and "North Police" in plan


def test_bad_input_on_the_page_gets_the_error_summary(client, world, ret):
    login(client, world.user("auditor"))
    refused = client.post(
        f"/returns/{ret.id}/improvement-actions/new",
        data={"title": "", "owner_user_id": "abc", "due_on-day": "31", "due_on-month": "2", "due_on-year": "2099"},
    )
    assert refused.status_code == 400
    page = refused.get_data(as_text=True)
    assert "There is a problem" in page and "Enter what will be done" in page
    assert 'href="#owner_user_id"' in page and 'href="#due_on"' in page
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Action)) == 0


def test_the_agencys_auditors_update_its_actions_and_nobody_elses_reach_them(client, world, ret):
    with system_actor("test"):
        action = improvement.add_improvement_action(ret, _given(world, owner_user_id=world.user("agency_lead").id))
        health_auditor = make_user(world.partnership.id, Role.AUDITOR, agency_id=world.health.agency_id)
        db.session.commit()
    # the police auditor does not own it, but it is the agency's own: they post an update
    login(client, world.user("auditor"))
    posted = client.post(f"/actions/{action.id}/updates", data={"update-note": "Policy drafted", "update-rag": "green"})
    assert posted.status_code == 303, posted.get_data(as_text=True)[:400]
    # another agency's auditor sees neither the action nor the return
    login(client, health_auditor)
    assert (
        client.get(f"/actions/{action.id}").get_data(as_text=True)
        and client.get(f"/actions/{action.id}").status_code == 404
    )
    assert client.get(f"/returns/{ret.id}/improvement-actions/new").status_code == 404
    # the scrutineer reads the return but adds nothing
    login(client, world.user("scrutineer"))
    assert client.get(f"/returns/{ret.id}/improvement-actions/new").status_code == 403


# -- the API --


def test_the_api_adds_and_lists_improvement_actions(api, world, ret):
    auditor = api(world.user("auditor"))
    created = auditor.post(
        f"/api/v1/returns/{ret.id}/improvement-actions",
        json={"title": "Train governors", "owner_user_id": world.user("auditor").id, "due_on": "2099-03-31"},
    )
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["owner_agency"] == {"id": world.police.agency_id, "name": "North Police"}
    assert body["source"] == "round" and body["can_update"] is True
    listed = api(world.user("qa_member")).get(f"/api/v1/returns/{ret.id}/improvement-actions").get_json()
    assert [row["title"] for row in listed["items"]] == ["Train governors"]
    bad = auditor.post(
        f"/api/v1/returns/{ret.id}/improvement-actions",
        json={"title": "", "owner_user_id": world.user("admin").id, "due_on": "2000-01-01", "question_key": "x"},
    )
    assert bad.status_code == 400
    assert set(bad.get_json()["error"]["fields"]) == {"title", "owner_user_id", "due_on", "question_key"}
    assert (
        api(world.user("scrutineer")).post(f"/api/v1/returns/{ret.id}/improvement-actions", json={}).status_code == 403
    )


# -- the rules, as a table of people x the police return's improvement action --

#: person -> (may add on the police return, may update the action the police lead owns)
RULES = {
    "admin": (True, True),
    "qa_member": (True, True),
    "agency_lead": (True, True),
    "auditor": (True, True),  # not the owner, but an auditor of the owner agency: its own improvement action
    "scrutineer": (False, False),
    "health_auditor": (False, False),
    "health_lead": (False, False),
    "other_admin": (False, False),
}


@pytest.mark.parametrize("person", sorted(RULES))
def test_who_adds_and_updates_improvement_actions(world, ret, person):
    from audit_app.actions.permissions import can_add_improvement_action, can_update_action
    from tests.factories import principal_of

    with system_actor("test"):
        action = improvement.add_improvement_action(ret, _given(world, owner_user_id=world.user("agency_lead").id))
        if person.startswith("health_"):
            role = Role.AUDITOR if person == "health_auditor" else Role.AGENCY_LEAD
            user = make_user(world.partnership.id, role, agency_id=world.health.agency_id)
        else:
            user = world.user(person)
        db.session.commit()
    partnership_id = world.other_partnership.id if person == "other_admin" else world.partnership.id
    p = principal_of(user, partnership_id)
    assert (can_add_improvement_action(p, ret), can_update_action(p, action)) == RULES[person]


def test_an_ordinary_actions_auditor_rule_is_unchanged(world, ret):
    """An auditor of the owner agency updates its improvement actions, not the partnership's other actions."""
    from audit_app.actions.permissions import can_update_action
    from tests.factories import make_action, make_recommendation, principal_of

    rec = make_recommendation(world.partnership.id, round_=ret.round, agencies=[world.police])
    other = make_action(rec, owner=world.user("agency_lead"), agency=world.police)
    db.session.commit()
    assert can_update_action(principal_of(world.user("auditor"), world.partnership.id), other) is False
