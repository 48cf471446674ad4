"""Answers of the wrong JSON kind are refused per question, and any option text works in a show-if."""

from __future__ import annotations

import copy
from datetime import date

import pytest
import sqlalchemy as sa

from audit_app.case_audits import services as case_services
from audit_app.extensions import db
from audit_app.questionnaires import answers
from audit_app.questionnaires import services as questionnaires
from audit_app.questionnaires.answers import AnswerProblem, answer_type
from audit_app.questionnaires.models import Question, QuestionType
from audit_app.rounds import services
from audit_app.rounds.models import Return, ReturnStatus, RoundStatus
from tests.conftest import login
from tests.questionnaires.test_answers import _question
from tests.questionnaires.test_questionnaire_spec import EXAMPLE

WRONG_KINDS = [
    (QuestionType.TEXT, 3, "as text"),
    (QuestionType.TEXT, 2.5, "as text"),
    (QuestionType.TEXT, True, "as text"),
    (QuestionType.TEXT, False, "as text"),
    (QuestionType.TEXT, ["a", "b"], "as text"),
    (QuestionType.TEXT, {"a": 1}, "as text"),
    (QuestionType.NUMBER, True, "Enter a number"),
    (QuestionType.NUMBER, [3], "Enter a number"),
    (QuestionType.NUMBER, {"n": 3}, "Enter a number"),
    (QuestionType.DATE, 20260301, "YYYY-MM-DD"),
    (QuestionType.DATE, True, "YYYY-MM-DD"),
    (QuestionType.DATE, ["2026-03-01"], "YYYY-MM-DD"),
    (QuestionType.SCALE, 1, "Choose one"),
    (QuestionType.SCALE, True, "Choose one"),
    (QuestionType.SINGLE_CHOICE, ["Police"], "Choose one"),
    (QuestionType.SINGLE_CHOICE, 0, "Choose one"),
    (QuestionType.MULTIPLE_CHOICE, {"Police": True}, "Choose from"),
    (QuestionType.MULTIPLE_CHOICE, 3, "Choose from"),
    (QuestionType.MULTIPLE_CHOICE, [1], "Choose from"),
]


@pytest.mark.parametrize(("qtype", "raw", "message"), WRONG_KINDS)
def test_each_type_refuses_json_of_the_wrong_kind(qtype, raw, message):
    question = _question(qtype)
    with pytest.raises(AnswerProblem) as refused:
        answer_type(question).clean(question, raw)
    assert message in refused.value.message


@pytest.mark.parametrize(
    ("qtype", "raw", "stored"),
    [
        (QuestionType.TEXT, "3", "3"),
        (QuestionType.NUMBER, 3, "3"),
        (QuestionType.NUMBER, 2.5, "2.5"),
        (QuestionType.DATE, date(2026, 3, 1), "2026-03-01"),
        (QuestionType.DATE, {"day": "1", "month": "3", "year": "2026"}, "2026-03-01"),
        (QuestionType.SINGLE_CHOICE, "Police", "Police"),
    ],
)
def test_the_right_kinds_still_clean(qtype, raw, stored):
    question = _question(qtype)
    assert answer_type(question).clean(question, raw)[0] == stored


BRACKETS = ["[draft]", "[a, b]", "[]", "[1]"]


@pytest.fixture()
def bracket_return(world) -> Return:
    """A return whose first question's options start with "[", and a required follow-up shown by them."""
    spec = copy.deepcopy(EXAMPLE) | {"key": "brackets"}
    spec["sections"][0]["questions"][:0] = [
        {"key": "stage", "text": "Stage", "type": "single_choice", "options": [*BRACKETS, "Final"]},
        {"key": "kinds", "text": "Kinds", "type": "multiple_choice", "options": [*BRACKETS, "Final"]},
        {
            "key": "why",
            "text": "Why is it at that stage?",
            "type": "text",
            "required": True,
            "show_if": {"question": "stage", "in": BRACKETS},
        },
        {
            "key": "which",
            "text": "Which kinds?",
            "type": "text",
            "required": True,
            "show_if": {"question": "kinds", "in": ["[draft]", "[a, b]"]},
        },
    ]
    version = questionnaires.import_questionnaire(world.partnership.id, spec, publish=True)
    round_ = services.plan_round(world.partnership.id, title="Brackets", version=version, opens_on=None, due_on=None)
    case_services.add_case(round_, agency_ids=[world.police.agency_id], reference="CS-9")
    services.move_round(round_, RoundStatus.OPEN)
    db.session.commit()
    return db.session.scalar(sa.select(Return).where(Return.round_id == round_.id))


@pytest.mark.parametrize("option", BRACKETS)
def test_an_option_starting_with_a_bracket_shows_its_follow_up(option):
    stage = _question(QuestionType.SINGLE_CHOICE, key="stage")
    follow_up = _question(QuestionType.TEXT, key="why", condition_question_key="stage", condition_values=[option])
    assert answers.shown(follow_up, {"stage": option})
    assert not answers.shown(follow_up, {"stage": "Final"})
    assert stage.key == "stage"


def test_a_multiple_choice_with_bracket_options_shows_its_follow_up():
    follow_up = _question(QuestionType.TEXT, key="which", condition_question_key="kinds", condition_values=["[a, b]"])
    kinds = Question(key="kinds", text="Kinds", type=QuestionType.MULTIPLE_CHOICE, options=["[draft]", "[a, b]"])
    stored, _ = answer_type(kinds).clean(kinds, ["[a, b]"])
    assert answers.shown(follow_up, {"kinds": stored})
    assert not answers.shown(follow_up, {"kinds": "[" * 100_000})  # never a RecursionError


@pytest.mark.parametrize("option", ["[draft]", "[a, b]"])
def test_a_return_with_bracket_options_opens_saves_and_submits(client, world, bracket_return, option):
    ret = bracket_return
    login(client, world.user("auditor"))
    saved = client.post(
        f"/returns/{ret.id}/sections/recognition",
        data={"q-stage": option, "q-kinds": option, "lock_version": str(ret.lock_version)},
    )
    assert saved.status_code == 302
    page = client.get(f"/returns/{ret.id}/sections/recognition")
    assert page.status_code == 200
    assert "Why is it at that stage?" in page.get_data(as_text=True)
    assert {q.key for q in services.missing_answers(ret)} >= {"why", "which"}
    db.session.refresh(ret)
    answers_given = {
        "why": "Waiting for the panel",
        "which": "Both",
        "signs_recognised": "Yes",
        "recognition_grade": "Good",
    }
    services.save_answers(ret, answers_given, by=world.user("auditor"), expected_version=ret.lock_version)
    db.session.commit()
    assert services.missing_answers(ret) == []
    assert client.get(f"/returns/{ret.id}").status_code == 200
    submitted = client.post(f"/returns/{ret.id}/submit")
    assert submitted.status_code == 302
    db.session.refresh(ret)
    assert ret.status in (ReturnStatus.READY_FOR_SIGN_OFF, ReturnStatus.SUBMITTED)


def test_the_api_names_each_question_given_the_wrong_kind(api, world, bracket_return):
    ret = bracket_return
    refused = api(world.user("auditor")).put(
        f"/api/v1/returns/{ret.id}/answers",
        json={"lock_version": ret.lock_version, "answers": {"why": 3, "which": True, "stage": ["[draft]"]}},
    )
    assert refused.status_code == 400
    fields = refused.json["error"]["fields"]
    assert set(fields) == {"why", "which", "stage"}
    assert "as text" in fields["why"][0] and "as text" in fields["which"][0]
