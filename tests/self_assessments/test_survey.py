"""The practitioner survey of a Section 11 round: set up by the QA group, answered anonymously by link, counted per
agency beside its self-assessment with small counts suppressed, through the pages and the API."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
import yaml

from audit_app.core import clock
from audit_app.core.audit import AuditEvent, system_actor
from audit_app.core.errors import FieldErrors, NotAllowedError
from audit_app.core.roles import Role
from audit_app.extensions import db
from audit_app.questionnaires import services as questionnaire_services
from audit_app.questionnaires.models import QuestionnaireKind, QuestionType
from audit_app.rounds import services as round_services
from audit_app.rounds.models import Return, RoundStatus
from audit_app.self_assessments import surveys
from audit_app.self_assessments.models import PractitionerSurvey, SurveyAnswer, SurveyLink, SurveyResponse
from tests.conftest import login
from tests.factories import make_questionnaire, make_return_answered, make_round, make_user

S11 = "section11_self_assessment"
SURVEY = "practitioner_survey"
DUE = date(2027, 4, 30)
TODAY = date(2027, 3, 1)
#: every required question of the library survey answered "Agree"
AGREE = {
    "leadership_know_senior_lead": "Agree",
    "leadership_priority": "Agree",
    "responsibilities_know_policy": "Agree",
    "responsibilities_allegations": "Agree",
    "accountability_know_who_to_ask": "Agree",
    "views_heard": "Agree",
    "training_up_to_date": "Agree",
    "training_supervision": "Agree",
    "recruitment_checks": "Agree",
    "interagency_thresholds": "Agree",
    "interagency_escalation": "Agree",
    "information_confident": "Agree",
}


@pytest.fixture(autouse=True)
def _today():
    with clock.frozen(TODAY):
        yield


@pytest.fixture()
def s11(world):
    """An open Section 11 round for police and health (due 30 April 2027), and a published library survey."""
    with system_actor("test:setup"):
        round_ = make_round(
            world.partnership.id,
            version=make_questionnaire(world.partnership.id, library_key=S11),
            title="Section 11, 2027",
            agencies=[world.police, world.health],
            status=RoundStatus.OPEN,
        )
        round_.due_on = DUE
        survey_version = make_questionnaire(world.partnership.id, library_key=SURVEY)
        db.session.commit()
    return round_, survey_version


@pytest.fixture()
def survey(s11):
    round_, version = s11
    with system_actor("test:setup"):
        made = surveys.set_up_survey(round_, version=version, closes_on=None)
        db.session.commit()
    return made


def _link(survey: PractitionerSurvey, agency_id: int) -> tuple[SurveyLink, str]:
    with system_actor("test:setup"):
        link, token = surveys.make_link(survey, agency_id)
        db.session.commit()
    return link, token


def _answer(client, token: str, answers: dict[str, str]):
    return client.post(f"/survey/{token}", data={f"q-{k}": v for k, v in answers.items()})


def _responses(link: SurveyLink, n: int, answers: dict[str, str] | None = None) -> None:
    for _ in range(n):
        surveys.record_response(link, answers or AGREE)
    db.session.commit()


# -- the questionnaire --


def test_the_library_survey_speaks_to_the_section_11_standards():
    survey = next(i for i in questionnaire_services.library() if i["key"] == SURVEY)["data"]
    standards = {
        s["key"] for s in yaml.safe_load((questionnaire_services.LIBRARY_DIR / f"{S11}.yaml").read_text())["sections"]
    }
    assert survey["kind"] == "practitioner_survey"
    keyed = [s["key"] for s in survey["sections"] if s["key"] != "about_you"]
    assert set(keyed) == standards  # every standard asked about, each under its own key
    assert {q["type"] for s in survey["sections"] for q in s["questions"]} <= {"scale", "single_choice"}


def test_a_practitioner_survey_is_never_a_round_of_its_own(client, world, s11):
    _, version = s11
    login(client, world.user("admin"))
    page = client.get("/rounds/new").get_data(as_text=True)
    assert "Section 11 self-assessment (version 1)" in page and "Practitioner survey" not in page
    with pytest.raises(FieldErrors) as refused:
        round_services.plan_round(world.partnership.id, title="Survey", version=version, opens_on=None, due_on=None)
    assert "not answered in a round of its own" in refused.value.fields["version_id"][0]


# -- set-up --


def test_the_qa_group_switches_on_a_survey_closing_on_the_due_date(client, world, s11):
    round_, version = s11
    login(client, world.user("qa_member"))
    assert "Practitioner survey" in client.get(f"/rounds/{round_.id}").get_data(as_text=True)
    page = client.get(f"/rounds/{round_.id}/survey").get_data(as_text=True)
    assert "This round has no practitioner survey" in page and "Practitioner survey (Section 11) (version 1)" in page
    done = client.post(f"/rounds/{round_.id}/survey", data={"version_id": version.id})
    assert done.status_code == 303
    survey = surveys.survey_of(round_)
    assert survey.closes_on == DUE and survey.questionnaire_version_id == version.id
    page = client.get(f"/rounds/{round_.id}/survey").get_data(as_text=True)
    assert "30 April 2027" in page and "North Police" in page and "North Hospital" in page and "No link yet" in page


def test_set_up_names_every_bad_field_at_once_and_saves_nothing(client, world, s11):
    round_, _ = s11
    round_.due_on = None
    db.session.commit()
    login(client, world.user("admin"))
    refused = client.post(
        f"/rounds/{round_.id}/survey",
        data={"version_id": "", "closes_on": ["31", "2", "2027"]},
    )
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "govuk-error-summary" in page
    assert "Choose the survey&#39;s questions" in page and "Enter a real date" in page
    assert surveys.survey_of(round_) is None


def test_set_up_refuses_other_kinds_past_dates_and_changing_answered_questions(world, s11, survey):
    round_, version = s11
    s11_version = round_.version
    with pytest.raises(FieldErrors) as refused:
        surveys.set_up_survey(round_, version=s11_version, closes_on=TODAY - timedelta(days=1))
    assert set(refused.value.fields) == {"version_id", "closes_on"}
    db.session.rollback()
    link, _ = _link(survey, world.police.agency_id)
    _responses(link, 1)
    other = make_questionnaire(world.partnership.id, library_key=SURVEY, key="another_survey")
    with pytest.raises(FieldErrors) as refused:
        surveys.set_up_survey(round_, version=other, closes_on=None)
    assert "already answered" in refused.value.fields["version_id"][0]
    db.session.rollback()
    # the closing date can still move
    assert surveys.set_up_survey(round_, version=version, closes_on=date(2027, 5, 15)).closes_on == date(2027, 5, 15)
    case_round = make_round(world.partnership.id, agencies=[world.police])
    with pytest.raises(NotAllowedError):
        surveys.set_up_survey(case_round, version=version, closes_on=None)


# -- the link, answered without an account --


def test_an_agency_lead_makes_a_link_and_a_practitioner_answers_without_an_account(client, world, survey, app):
    round_ = survey.round
    login(client, world.user("agency_lead"))
    page = client.get(f"/rounds/{round_.id}/survey/agencies/{world.police.agency_id}").get_data(as_text=True)
    assert "North Police has no working link" in page
    made = client.post(f"/rounds/{round_.id}/survey/agencies/{world.police.agency_id}/link")
    shown = made.get_data(as_text=True)
    assert made.status_code == 200 and "only time the link is shown" in shown
    url = re.search(r'value="(http[^"]+/survey/[^"]+)"', shown).group(1)
    token = url.rsplit("/", 1)[1]
    link = db.session.scalar(sa.select(SurveyLink).where(SurveyLink.survey_id == survey.id))
    assert link.token_hash != token and token not in link.token_hash  # only its hash is kept
    assert "no longer" not in client.get(f"/rounds/{round_.id}/survey/agencies/{world.police.agency_id}").get_data(
        as_text=True
    )

    with app.test_client() as stranger:  # no account, no session
        page = stranger.get(f"/survey/{token}")
        html = page.get_data(as_text=True)
        assert page.status_code == 200
        assert "North Police" in html and "North Test Partnership" in html and "Open until 30 April 2027" in html
        assert "I know which senior leader" in html
        # nothing else of the app: no navigation, no other agency, no round details
        for other in ("North Hospital", "Section 11, 2027", "Sign out", "/rounds", "/returns", "Home", "/api/"):
            assert other not in html, other
        assert page.headers["Referrer-Policy"] == "no-referrer"
        sent = _answer(stranger, token, AGREE | {"about_role": "Manager"})
        assert sent.status_code == 303 and sent.location.endswith("/survey/thanks")
        thanks = stranger.get(sent.location).get_data(as_text=True)
        assert "Thank you" in thanks and "North Police" not in thanks
    response = db.session.scalar(sa.select(SurveyResponse))
    assert (response.agency_id, response.survey_id, response.responded_on) == (world.police.agency_id, survey.id, TODAY)
    assert {a.value for a in response.answers} == {"Agree", "Manager"}


def test_bad_answers_are_named_all_at_once_and_nothing_is_kept(app, world, survey):
    _, token = _link(survey, world.police.agency_id)
    with app.test_client() as stranger:
        refused = _answer(stranger, token, {"leadership_priority": "Agree", "views_heard": "Maybe"})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "There is a problem" in page
    summary = page.split('govuk-error-summary__list">')[1].split("</ul>")[0]
    assert summary.count("<li>") == len(AGREE) - 1  # every required question unanswered, and the bad one
    assert "Choose one of: Agree, Partly agree, Disagree, Don&#39;t know" in summary
    assert 'href="#q-leadership_know_senior_lead"' in summary
    # what was chosen stays chosen
    assert re.search(r'name="q-leadership_priority" type="radio" value="Agree" checked', page), page
    assert db.session.scalar(sa.select(sa.func.count(SurveyResponse.id))) == 0
    assert db.session.scalar(sa.select(sa.func.count(SurveyAnswer.id))) == 0


def test_the_form_needs_its_csrf_token_and_says_so_on_the_survey(app, world, survey):
    _, token = _link(survey, world.police.agency_id)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        with app.test_client() as stranger:
            refused = _answer(stranger, token, AGREE)
            page = refused.get_data(as_text=True)
            assert refused.status_code == 400 and "page had been open too long" in page
            assert "I know which senior leader" in page and "Sign in" not in page  # still only the survey
            form = stranger.get(f"/survey/{token}").get_data(as_text=True)
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
            sent = stranger.post(
                f"/survey/{token}", data={"csrf_token": csrf} | {f"q-{k}": v for k, v in AGREE.items()}
            )
            assert sent.status_code == 303
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert db.session.scalar(sa.select(sa.func.count(SurveyResponse.id))) == 1


def test_the_link_closes_after_its_closing_date(app, world, survey):
    _, token = _link(survey, world.police.agency_id)
    with app.test_client() as stranger:
        with clock.frozen(DUE):
            assert stranger.get(f"/survey/{token}").status_code == 200  # the whole closing day
        with clock.frozen(DUE + timedelta(days=1)):
            closed = stranger.get(f"/survey/{token}")
            assert closed.status_code == 410 and "This survey has closed" in closed.get_data(as_text=True)
            assert _answer(stranger, token, AGREE).status_code == 410
    assert db.session.scalar(sa.select(sa.func.count(SurveyResponse.id))) == 0


def test_a_revoked_or_replaced_link_says_closed_and_takes_nothing(client, app, world, survey):
    _, first = _link(survey, world.police.agency_id)
    _, second = _link(survey, world.police.agency_id)  # regenerated: the first stops working
    with app.test_client() as stranger:
        assert stranger.get(f"/survey/{first}").status_code == 410
        assert stranger.get(f"/survey/{second}").status_code == 200
        assert stranger.get("/survey/sv_not-a-link").status_code == 404
    login(client, world.user("qa_member"))
    revoked = client.post(f"/rounds/{survey.round_id}/survey/agencies/{world.police.agency_id}/revoke")
    assert revoked.status_code == 303
    with app.test_client() as stranger:
        assert _answer(stranger, second, AGREE).status_code == 410
    assert db.session.scalar(sa.select(sa.func.count(SurveyResponse.id))) == 0
    assert client.post(f"/rounds/{survey.round_id}/survey/agencies/{world.police.agency_id}/revoke").status_code == 303
    assert "no link to revoke" in client.get(
        f"/rounds/{survey.round_id}/survey/agencies/{world.police.agency_id}"
    ).get_data(as_text=True)


def test_a_link_takes_only_so_many_answers_a_day(app, world, survey):
    link, token = _link(survey, world.police.agency_id)
    before = app.config["SURVEY_DAILY_LIMIT"]
    app.config["SURVEY_DAILY_LIMIT"] = 2
    try:
        _responses(link, 2)
        with app.test_client() as stranger:
            full = _answer(stranger, token, AGREE)
        assert full.status_code == 429 and "try again tomorrow" in full.get_data(as_text=True)
        with clock.frozen(TODAY + timedelta(days=1)):
            _responses(link, 1)
    finally:
        app.config["SURVEY_DAILY_LIMIT"] = before
    assert db.session.scalar(sa.select(sa.func.count(SurveyResponse.id))) == 3


def test_posts_to_a_link_are_rate_limited_per_link_not_per_person(app, world, survey):
    _, token = _link(survey, world.police.agency_id)
    _, health_token = _link(survey, world.health.agency_id)
    before = app.config["SURVEY_RATE_LIMIT"]
    app.config["SURVEY_RATE_LIMIT"] = "2 per minute"
    try:
        with app.test_client() as stranger:
            assert _answer(stranger, token, {}).status_code == 400  # refused answers are not counted
            assert [_answer(stranger, token, AGREE).status_code for _ in range(2)] == [303, 303]
            busy = _answer(stranger, token, AGREE)
            assert busy.status_code == 429 and "Wait a minute" in busy.get_data(as_text=True)
            assert "Sign in" not in busy.get_data(as_text=True) and "/api/" not in busy.get_data(as_text=True)
            assert _answer(stranger, health_token, AGREE).status_code == 303  # another agency's link is not held up
    finally:
        app.config["SURVEY_RATE_LIMIT"] = before
    assert db.session.scalar(sa.select(sa.func.count(SurveyResponse.id))) == 3


def test_no_respondent_identity_is_stored(client, world, survey):
    _, token = _link(survey, world.police.agency_id)
    login(client, world.user("auditor"))  # even someone signed in answers anonymously
    sent = client.post(
        f"/survey/{token}",
        data={f"q-{k}": v for k, v in AGREE.items()},
        headers={"User-Agent": "Tracker/9.9"},
        environ_base={"REMOTE_ADDR": "203.0.113.77"},
    )
    assert sent.status_code == 303
    columns = {
        table: {c.name for c in db.metadata.tables[table].columns} for table in ("survey_responses", "survey_answers")
    }
    assert columns == {
        "survey_responses": {"id", "survey_id", "agency_id", "responded_on"},
        "survey_answers": {"id", "response_id", "question_id", "scale_level_id", "value"},
    }
    rows = [
        *db.session.execute(sa.select(db.metadata.tables["survey_responses"])).all(),
        *db.session.execute(sa.select(db.metadata.tables["survey_answers"])).all(),
    ]
    text = repr(rows)
    for trace in ("203.0.113.77", "Tracker", world.user("auditor").email, "auditor"):
        assert trace not in text
    response = db.session.scalar(sa.select(SurveyResponse))
    assert isinstance(response.responded_on, date) and response.responded_on == TODAY  # the day, no time
    assert response.agency_id == world.police.agency_id
    # nor in the audit trail, which would time it and name the person signed in
    tables = {e.entity_type for e in db.session.scalars(sa.select(AuditEvent))}
    assert not tables & {"survey_responses", "survey_answers", "SurveyResponse", "SurveyAnswer"}


# -- counts beside the self-assessment, small counts suppressed --


def _police_return(round_) -> Return:
    return db.session.scalar(
        sa.select(Return).where(Return.round_id == round_.id, Return.agency_id == world_police_id(round_))
    )


def world_police_id(round_) -> int:
    return next(a.id for a in round_.agencies if a.name == "North Police")


def test_four_responses_say_fewer_than_5_and_show_nothing_else(client, world, survey):
    link, _ = _link(survey, world.police.agency_id)
    _responses(link, 4)
    login(client, world.user("agency_lead"))
    ret = _police_return(survey.round)
    for url in (f"/returns/{ret.id}", f"/rounds/{survey.round_id}/survey/agencies/{world.police.agency_id}"):
        page = client.get(url).get_data(as_text=True)
        assert "Responses from practitioners: <strong>fewer than 5</strong>" in page, url
        assert "survey-distribution" not in page and "survey-comparisons" not in page and "Agree: 4" not in page
    login(client, world.user("qa_member"))
    page = client.get(f"/rounds/{survey.round_id}/survey").get_data(as_text=True)
    row = page.split(f'id="survey-agency-{world.police.agency_id}"')[1].split("</tr>")[0]
    assert "fewer than 5" in row and ">4<" not in row


def test_five_responses_show_the_distribution_and_where_practitioners_and_leaders_disagree(client, world, survey):
    round_ = survey.round
    ret = _police_return(round_)
    # the agency rates every leadership criterion Fully met and every training one Not met
    s11 = round_.version
    answers = {}
    for q in s11.questions:
        if q.type == QuestionType.SCALE:
            section = q.section.key
            answers[q.key] = "Not met" if section == "training" else "Fully met"
    make_return_answered(ret, world.user("auditor"), answers=answers)
    db.session.commit()
    link, _ = _link(survey, world.police.agency_id)
    practitioners = AGREE | {
        "leadership_know_senior_lead": "Disagree",
        "leadership_priority": "Disagree",
        "training_up_to_date": "Disagree",
        "training_supervision": "Disagree",
    }
    _responses(link, 4, practitioners)
    _responses(
        link,
        1,
        AGREE
        | {"leadership_priority": "Don't know", "training_up_to_date": "Disagree", "training_supervision": "Disagree"},
    )
    login(client, world.user("auditor"))  # the agency itself sees it beside its return
    page = client.get(f"/returns/{ret.id}").get_data(as_text=True)
    assert "Responses from practitioners: <strong>5</strong>" in page
    leadership = page.split('id="survey-compare-leadership"')[1].split("</div>")[0]
    assert "They differ" in leadership and "practitioners are less positive" in leadership
    assert "the agency rated" in leadership.lower() and "of 9 practitioners" in leadership  # "Don't know" left out
    training = page.split('id="survey-compare-training"')[1].split("</div>")[0]
    assert "In line" in training and "broadly agree" in training
    assert "Practitioners and leaders disagree on 1 standard" in page
    row = page.split('id="survey-q-leadership_priority"')[1].split("</tr>")[0]
    assert "Agree: 0 (0%)" in row and "Disagree: 4 (80%)" in row and "Don&#39;t know: 1 (20%)" in row
    # the API says the same, with keys and counts
    results = surveys.agency_results(survey, ret.agency)
    assert results.responses == 5 and not results.suppressed
    assert [c.section_key for c in results.disagreements] == ["leadership"]


def test_compare_uses_a_25_point_gap():
    assert surveys.compare(4, 4, 3, 4) == "leaders_higher"  # 100% against 75%: 25 points is a disagreement
    assert surveys.compare(4, 4, 4, 5) == "agree"  # 100% against 80%
    assert surveys.compare(3, 5, 7, 20) == "leaders_higher"  # 60% against 35%: exactly 25 points (no float error)
    assert surveys.compare(3, 5, 36, 100) == "agree"  # 60% against 36%
    assert surveys.compare(4, 4, 2, 4) == "leaders_higher"
    assert surveys.compare(0, 4, 4, 4) == "practitioners_higher"
    assert surveys.compare(2, 4, 3, 6) == "agree"
    assert surveys.compare(0, 0, 3, 6) == "not_compared"
    assert surveys.compare(3, 3, 0, 0) == "not_compared"
    assert surveys.count_text(0) == "none yet"
    assert surveys.count_text(4) == "fewer than 5" and surveys.count_text(5) == "5"


# -- who sees what --


def test_each_agency_sees_its_own_counts_only(client, world, survey):
    health_lead = make_user(
        world.partnership.id, Role.AGENCY_LEAD, email="lead@health.example.org", agency=world.health
    )
    db.session.commit()
    police, health = world.police.agency_id, world.health.agency_id
    login(client, health_lead)
    assert client.get(f"/rounds/{survey.round_id}/survey/agencies/{health}").status_code == 200
    assert client.get(f"/rounds/{survey.round_id}/survey/agencies/{police}").status_code == 404
    assert client.post(f"/rounds/{survey.round_id}/survey/agencies/{police}/link").status_code == 404
    assert client.get(f"/rounds/{survey.round_id}/survey").status_code == 403
    login(client, world.user("auditor"))  # police's auditor reads police's counts, but does not make its link
    page = client.get(f"/rounds/{survey.round_id}/survey/agencies/{police}").get_data(as_text=True)
    assert "make-link" not in page
    assert client.post(f"/rounds/{survey.round_id}/survey/agencies/{police}/link").status_code == 403
    login(client, world.user("scrutineer"))  # reads every agency, changes nothing
    page = client.get(f"/rounds/{survey.round_id}/survey").get_data(as_text=True)
    assert "North Hospital" in page and "Save the survey" not in page
    assert client.post(f"/rounds/{survey.round_id}/survey", data={}).status_code == 403
    login(client, world.user("other_admin"))
    assert client.get(f"/rounds/{survey.round_id}/survey").status_code == 404
    assert client.get(f"/rounds/{survey.round_id}/survey/agencies/{police}").status_code == 404


# -- the API --


def test_the_api_sets_up_makes_links_and_counts_but_never_names_respondents(api, world, s11, app):
    round_, version = s11
    qa = api(world.user("qa_member"))
    refused = qa.put(
        f"/api/v1/rounds/{round_.id}/survey",
        json={"version_id": round_.questionnaire_version_id, "closes_on": "2020-01-01"},
    )
    assert refused.status_code == 400 and set(refused.json["error"]["fields"]) == {"version_id", "closes_on"}
    assert qa.put(f"/api/v1/rounds/{round_.id}/survey", json={"version_id": "x"}).status_code == 400
    made = qa.put(f"/api/v1/rounds/{round_.id}/survey", json={"version_id": version.id})
    assert made.status_code == 200, made.json
    assert made.json["closes_on"] == "2027-04-30" and made.json["version"]["questionnaire_key"] == SURVEY
    assert [a["agency"]["name"] for a in made.json["agencies"]] == ["North Hospital", "North Police"]

    lead = api(world.user("agency_lead"))
    link = lead.post(f"/api/v1/rounds/{round_.id}/survey/agencies/{world.police.agency_id}/link")
    assert link.status_code == 201 and link.json["url"].endswith(link.json["token"])
    token = link.json["token"]
    assert token not in repr(db.session.execute(sa.select(db.metadata.tables["survey_links"])).all())
    assert lead.get(f"/api/v1/rounds/{round_.id}/survey").status_code == 403
    with app.test_client() as stranger:
        for _ in range(5):
            assert _answer(stranger, token, AGREE).status_code == 303

    counts = qa.get(f"/api/v1/rounds/{round_.id}/survey").json
    police = next(a for a in counts["agencies"] if a["agency"]["id"] == world.police.agency_id)
    assert (
        police["responses"] == 5 and police["link"]["id"] == link.json["link"]["id"] and "token" not in police["link"]
    )
    result = lead.get(f"/api/v1/rounds/{round_.id}/survey/agencies/{world.police.agency_id}").json
    assert result["responses"] == 5 and not result["suppressed"]
    question = next(q for q in result["questions"] if q["key"] == "views_heard")
    assert question["section_key"] == "views" and {"label": "Agree", "count": 5, "percent": 100} in question["choices"]
    assert {c["section_key"] for c in result["comparisons"]} >= {"leadership", "information"}
    assert all("respondent" not in key and "user" not in key for key in result)
    assert lead.get(f"/api/v1/rounds/{round_.id}/survey/agencies/{world.health.agency_id}").status_code == 404

    assert lead.delete(f"/api/v1/rounds/{round_.id}/survey/agencies/{world.police.agency_id}/link").status_code == 204
    assert lead.delete(f"/api/v1/rounds/{round_.id}/survey/agencies/{world.police.agency_id}/link").status_code == 404
    with app.test_client() as stranger:
        assert stranger.get(f"/survey/{token}").status_code == 410


def test_the_api_suppresses_fewer_than_5(api, world, survey):
    link, _ = _link(survey, world.police.agency_id)
    _responses(link, 4)
    result = api(world.user("qa_member")).get(
        f"/api/v1/rounds/{survey.round_id}/survey/agencies/{world.police.agency_id}"
    )
    assert result.json["responses"] is None and result.json["responses_text"] == "fewer than 5"
    assert result.json["suppressed"] and result.json["questions"] == [] and result.json["comparisons"] == []
    health = api(world.user("qa_member")).get(f"/api/v1/rounds/{survey.round_id}/survey").json["agencies"][0]
    assert (
        health["agency"]["name"] == "North Hospital"
        and health["responses"] == 0
        and health["responses_text"] == "none yet"
    )


def test_kind_label():
    assert QuestionnaireKind.PRACTITIONER_SURVEY.label == "Practitioner survey"
