"""The plan-a-round form shows only what applies to the kind chosen (without scripts), and the service refuses a
case audit's re-audit and answer sharing for a self-assessment, on the page and through the API."""

from __future__ import annotations

import sqlalchemy as sa

from audit_app.extensions import db
from audit_app.rounds.models import Round
from tests.conftest import login
from tests.factories import make_questionnaire, make_round

S11 = "section11_self_assessment"
DATES = {
    "opens_on-day": "1",
    "opens_on-month": "3",
    "opens_on-year": "2027",
    "due_on-day": "30",
    "due_on-month": "4",
    "due_on-year": "2027",
    "remind_days_before": "3",
    "remind_days_after": "2",
}


def _versions(world):
    sa_version = make_questionnaire(world.partnership.id, library_key=S11)
    earlier = make_round(world.partnership.id, title="Earlier case audit", agencies=[world.police], cases=1)
    db.session.commit()
    return sa_version, earlier


def test_a_self_assessment_form_shows_none_of_a_case_audits_fields(client, world):
    _versions(world)
    login(client, world.user("admin"))
    page = client.get("/rounds/new?kind=self_assessment").get_data(as_text=True)
    assert "Plan a self-assessment round" in page and "Section 11 self-assessment (version 1)" in page
    for case_only in ("Re-audit of", "see each other", "Earlier case audit", 'name="previous_round_id"'):
        assert case_only not in page, case_only
    assert "plan a case audit round" in page
    # without a kind, every field, the case-audit ones said to be so
    page = client.get("/rounds/new").get_data(as_text=True)
    assert "Re-audit of an earlier round (case audits only)" in page
    case_page = client.get("/rounds/new?kind=case_audit").get_data(as_text=True)
    assert "Section 11 self-assessment" not in case_page and "Re-audit of an earlier round" in case_page


def test_posted_case_audit_fields_are_ignored_on_the_self_assessment_form(client, world):
    sa_version, earlier = _versions(world)
    login(client, world.user("admin"))
    planned = client.post(
        "/rounds/new?kind=self_assessment",
        data={
            "title": "Section 11, 2027",
            "version_id": sa_version.id,
            "previous_round_id": earlier.id,
            "shares_answers_in_discussion": "y",
            **DATES,
        },
    )
    assert planned.status_code == 302, planned.get_data(as_text=True)[:500]
    round_ = db.session.scalar(sa.select(Round).where(Round.title == "Section 11, 2027"))
    assert round_.previous_round_id is None and round_.shares_answers_in_discussion is False


def test_the_form_without_a_kind_refuses_them_for_a_self_assessment_naming_each(client, world):
    sa_version, earlier = _versions(world)
    login(client, world.user("admin"))
    refused = client.post(
        "/rounds/new",
        data={
            "title": "Section 11, 2027",
            "version_id": sa_version.id,
            "previous_round_id": earlier.id,
            "shares_answers_in_discussion": "y",
            **DATES,
        },
    )
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert "is not a re-audit" in page and "applies only to case audits" in page
    assert 'href="#previous_round_id"' in page and 'href="#shares_answers_in_discussion"' in page
    assert db.session.scalar(sa.select(Round).where(Round.title == "Section 11, 2027")) is None
    # a self-assessment chosen on the case-audit form is not one of its choices
    wrong = client.post("/rounds/new?kind=case_audit", data={"title": "X", "version_id": sa_version.id, **DATES})
    assert wrong.status_code == 400


def test_the_api_refuses_them_for_a_self_assessment(api, world):
    sa_version, earlier = _versions(world)
    refused = api(world.user("admin")).post(
        "/api/v1/rounds",
        json={
            "title": "Section 11, 2027",
            "version_id": sa_version.id,
            "previous_round_id": earlier.id,
            "shares_answers_in_discussion": True,
        },
    )
    assert refused.status_code == 400
    assert set(refused.get_json()["error"]["fields"]) == {"previous_round_id", "shares_answers_in_discussion"}
