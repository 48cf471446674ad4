"""Challenge events on a Section 11 round of the shipped library: recorded by the QA group, read by the agency
challenged (and no other), turned into actions on the composite plan, through the pages and the API."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from audit_app.accounts.models import Role
from audit_app.actions.models import Action, Recommendation
from audit_app.core.audit import system_actor
from audit_app.extensions import db
from audit_app.questionnaires.models import QuestionnaireKind
from audit_app.rounds.models import RoundStatus
from audit_app.self_assessments import challenges
from audit_app.self_assessments.models import ChallengeEvent
from tests.conftest import login
from tests.factories import make_round, make_user

TODAY = date(2026, 11, 30)


@pytest.fixture()
def s11(world, clock):
    clock.set(TODAY)
    round_ = make_round(
        world.partnership.id,
        kind=QuestionnaireKind.SELF_ASSESSMENT,
        title="Section 11, 2026",
        agencies=[world.police, world.health],
        status=RoundStatus.OPEN,
    )
    with system_actor("test:setup"):
        health_lead = make_user(
            world.partnership.id, Role.AGENCY_LEAD, email="lead@hospital.example.org", agency_id=world.health.agency_id
        )
        db.session.commit()
    return {"round": round_, "health_lead": health_lead}


def _event(world, round_, agency_id=None) -> ChallengeEvent:
    with system_actor("test:setup"):
        event = challenges.record_challenge(
            round_,
            world.partnership.id,
            challenges.ChallengeIn(
                agency_id=agency_id or world.police.agency_id,
                held_on=date(2026, 11, 20),
                attendees="Jo Reid, Head of Safeguarding, North Police\nSam Patel, QA chair",
                questions="How do you know night shifts had the training?",
                agreed="Audit training records for night shifts by March.",
            ),
            by=world.user("qa_member").id,
        )
        db.session.commit()
    return event


def test_the_qa_group_records_a_challenge_event_and_every_bad_field_is_named_at_once(client, world, s11):
    round_ = s11["round"]
    login(client, world.user("qa_member"))
    page = client.get(f"/rounds/{round_.id}/challenge-events").get_data(as_text=True)
    assert "North Police" in page and "North Hospital" in page and "No challenge event recorded yet" in page
    refused = client.post(
        f"/rounds/{round_.id}/challenge-events/new",
        data={"held_on-day": "1", "held_on-month": "12", "held_on-year": "2026", "attendees": " "},
    )
    assert refused.status_code == 400
    text = refused.get_data(as_text=True)
    for message in (
        "Choose the agency challenged",
        "must be today or in the past",
        "Enter who attended",
        "Enter the questions asked",
    ):
        assert message in text, message
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ChallengeEvent)) == 0
    done = client.post(
        f"/rounds/{round_.id}/challenge-events/new",
        data={
            "agency_id": world.police.agency_id,
            "held_on-day": "20",
            "held_on-month": "11",
            "held_on-year": "2026",
            "attendees": "Jo Reid, Head of Safeguarding, North Police\nSam Patel, QA chair",
            "questions": "How do you know night shifts had the training?",
        },
    )
    assert done.status_code == 303
    event = db.session.scalar(sa.select(ChallengeEvent))
    detail = client.get(done.location).get_data(as_text=True)
    assert "Challenge event with North Police" in detail and "Sam Patel, QA chair" in detail
    assert "20 November 2026" in detail and "None" not in detail.replace("None yet", "")
    listed = client.get(f"/rounds/{round_.id}/challenge-events").get_data(as_text=True)
    assert "2 people" in listed
    changed = client.post(
        f"/challenge-events/{event.id}/edit",
        data={
            "held_on-day": "21",
            "held_on-month": "11",
            "held_on-year": "2026",
            "attendees": event.attendees,
            "questions": event.questions,
            "agreed": "Audit night-shift training records",
        },
    )
    assert changed.status_code == 303 and event.held_on == date(2026, 11, 21)


def test_only_the_agency_challenged_and_the_partnership_see_an_event(client, world, s11, api):
    event = _event(world, s11["round"])
    login(client, world.user("agency_lead"))  # police
    assert client.get(f"/challenge-events/{event.id}").status_code == 200
    assert "North Police" in client.get(f"/rounds/{s11['round'].id}/challenge-events").get_data(as_text=True)
    assert client.get(f"/challenge-events/{event.id}/edit").status_code == 403
    login(client, s11["health_lead"])
    assert client.get(f"/challenge-events/{event.id}").status_code == 404
    listed = client.get(f"/rounds/{s11['round'].id}/challenge-events").get_data(as_text=True)
    assert "North Police" not in listed and "North Hospital" in listed
    login(client, world.user("other_admin"))
    assert client.get(f"/challenge-events/{event.id}").status_code == 404
    assert client.get(f"/rounds/{s11['round'].id}/challenge-events").status_code == 404
    # the API says the same
    assert api(s11["health_lead"]).get(f"/api/v1/challenge-events/{event.id}").status_code == 404
    assert api(s11["health_lead"]).get(f"/api/v1/rounds/{s11['round'].id}/challenge-events").get_json()["total"] == 0
    mine = api(world.user("auditor")).get(f"/api/v1/rounds/{s11['round'].id}/challenge-events").get_json()
    assert [e["id"] for e in mine["items"]] == [event.id]
    # a case-audit round has no challenge events
    case_round = make_round(world.partnership.id, agencies=[world.police], cases=1, status=RoundStatus.OPEN)
    login(client, world.user("qa_member"))
    assert client.get(f"/rounds/{case_round.id}/challenge-events").status_code == 404


def test_what_was_agreed_becomes_a_recommendation_and_action_on_the_plan_or_nothing(client, world, s11):
    event = _event(world, s11["round"])
    login(client, world.user("qa_member"))
    form = client.get(f"/challenge-events/{event.id}/actions/new").get_data(as_text=True)
    assert "Audit training records for night shifts by March." in form  # what was agreed, offered as the text
    refused = client.post(f"/challenge-events/{event.id}/actions/new", data={"text": "", "title": ""})
    assert refused.status_code == 400
    text = refused.get_data(as_text=True)
    for message in ("Enter the recommendation", "Enter what will be done", "Choose the action", "Enter the date"):
        assert message in text, message
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Recommendation)) == 0
    done = client.post(
        f"/challenge-events/{event.id}/actions/new",
        data={
            "text": "Audit training records for night shifts",
            "title": "Sample 20 night-shift training records",
            "owner_user_id": world.user("agency_lead").id,
            "owner_agency_id": world.police.agency_id,
            "due_on-day": "31",
            "due_on-month": "3",
            "due_on-year": "2027",
            "rag": "green",
        },
    )
    assert done.status_code == 303
    rec = db.session.scalar(sa.select(Recommendation))
    assert rec.round_id == s11["round"].id and [a.id for a in rec.agencies] == [world.police.agency_id]
    assert event.recommendations == [rec]
    action = db.session.scalar(sa.select(Action))
    assert action.owner_agency_id == world.police.agency_id and action.due_on == date(2027, 3, 31)
    plan = client.get(f"/actions?round_id={s11['round'].id}").get_data(as_text=True)
    assert "Sample 20 night-shift training records" in plan
    detail = client.get(f"/challenge-events/{event.id}").get_data(as_text=True)
    assert "Sample 20 night-shift training records" in detail
    # deleting the event keeps what it agreed on the plan
    assert client.post(f"/challenge-events/{event.id}/delete").status_code == 303
    assert db.session.get(Action, action.id) is not None


def test_challenge_events_through_the_api(world, s11, api):
    qa = api(world.user("qa_member"))
    url = f"/api/v1/rounds/{s11['round'].id}/challenge-events"
    refused = qa.post(url, json={"held_on": "2027-01-01"})
    assert refused.status_code == 400
    assert set(refused.get_json()["error"]["fields"]) >= {"agency_id", "held_on", "attendees", "questions"}
    made = qa.post(
        url,
        json={
            "agency_id": world.health.agency_id,
            "held_on": "2026-11-25",
            "attendees": "Ana Li, Named Nurse, North Hospital",
            "questions": "Who signs off the safeguarding training figures?",
        },
    )
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    assert body["agency_name"] == "North Hospital" and body["attendees"] == ["Ana Li, Named Nurse, North Hospital"]
    assert body["return_id"] is not None
    patched = qa.patch(f"/api/v1/challenge-events/{body['id']}", json={"agreed": "Publish the figures quarterly"})
    assert patched.get_json()["agreed"] == "Publish the figures quarterly"
    agreed = qa.post(
        f"/api/v1/challenge-events/{body['id']}/actions",
        json={
            "text": "Publish training figures",
            "title": "Add figures to the board report",
            "owner_name": "Ana Li",
            "due_on": "2027-02-28",
        },
    )
    assert agreed.status_code == 201, agreed.get_json()
    action = db.session.get(Action, agreed.get_json()["action_id"])
    assert action.owner_agency_id == world.health.agency_id  # the agency challenged, by default
    again = qa.get(f"/api/v1/challenge-events/{body['id']}").get_json()
    assert again["recommendations"][0]["action_ids"] == [action.id]
    assert api(world.user("agency_lead")).post(url, json={}).status_code == 403
    assert qa.delete(f"/api/v1/challenge-events/{body['id']}").status_code == 204
    assert qa.get(f"/api/v1/challenge-events/{body['id']}").status_code == 404
