"""Answer types (questionnaires/answers.py): one definition per question type, and one rule for which
questions are asked, shared by the pages, submission, the workbook, the API and the answers export."""

from __future__ import annotations

import io
import json
import re
from datetime import date

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from werkzeug.datastructures import MultiDict

from audit_app.case_audits import services as case_services
from audit_app.extensions import db
from audit_app.questionnaires import answers
from audit_app.questionnaires import services as questionnaires
from audit_app.questionnaires.answers import AnswerErrors, AnswerProblem, answer_type
from audit_app.questionnaires.models import Question, QuestionType, Scale, ScaleLevel
from audit_app.reporting import queries
from audit_app.rounds import services
from audit_app.rounds.models import Return, RoundStatus
from audit_app.rounds.workbook import build_workbook
from tests.conftest import login
from tests.questionnaires.test_questionnaire_spec import EXAMPLE

SCALE = Scale(
    key="ynp",
    name="Yes/partly/no",
    levels=[
        ScaleLevel(id=11, position=0, label="Yes", value=3),
        ScaleLevel(id=12, position=1, label="Partly", value=2),
        ScaleLevel(id=13, position=2, label="No", value=1),
        ScaleLevel(id=14, position=3, label="Not applicable", value=None, is_not_applicable=True),
    ],
)
OPTIONS = ["Universal service (for example GP, health visiting, school)", "Early help", "Police"]


def _question(qtype: QuestionType, **extra) -> Question:
    extra.setdefault("key", "q")
    if qtype == QuestionType.SCALE:
        extra["scale"] = SCALE
    if qtype in (QuestionType.SINGLE_CHOICE, QuestionType.MULTIPLE_CHOICE):
        extra["options"] = OPTIONS
    return Question(text="Q?", type=qtype, **extra)


# (type, raw, stored, level id, display, export cell, JSON value)
GOOD = [
    (QuestionType.SCALE, "Partly", "Partly", 12, "Partly", "Partly", "Partly"),
    (QuestionType.SCALE, " Yes ", "Yes", 11, "Yes", "Yes", "Yes"),
    (QuestionType.SINGLE_CHOICE, "Police", "Police", None, "Police", "Police", "Police"),
    (
        QuestionType.MULTIPLE_CHOICE,
        ["Police", OPTIONS[0]],
        json.dumps([OPTIONS[0], "Police"]),  # the questionnaire's order, whatever the order given
        None,
        f"{OPTIONS[0]}, Police",
        f"{OPTIONS[0]}, Police",
        [OPTIONS[0], "Police"],
    ),
    (QuestionType.MULTIPLE_CHOICE, "Early help", '["Early help"]', None, "Early help", "Early help", ["Early help"]),
    (QuestionType.TEXT, "  Seen twice.  ", "Seen twice.", None, "Seen twice.", "Seen twice.", "Seen twice."),
    (QuestionType.NUMBER, "4", "4", None, "4", 4.0, "4"),
    (QuestionType.NUMBER, 2.5, "2.5", None, "2.5", 2.5, "2.5"),
    (QuestionType.NUMBER, "-3", "-3", None, "-3", -3.0, "-3"),
    (QuestionType.DATE, "2025-11-02", "2025-11-02", None, "2 November 2025", "2025-11-02", "2025-11-02"),
    (
        QuestionType.DATE,
        {"day": "2", "month": "11", "year": "2025"},
        "2025-11-02",
        None,
        "2 November 2025",
        "2025-11-02",
        "2025-11-02",
    ),
    (QuestionType.DATE, date(2026, 3, 27), "2026-03-27", None, "27 March 2026", "2026-03-27", "2026-03-27"),
]


@pytest.mark.parametrize(("qtype", "raw", "stored", "level_id", "shown", "cell", "as_json"), GOOD)
def test_each_type_cleans_stores_displays_and_exports_one_way(qtype, raw, stored, level_id, shown, cell, as_json):
    question = _question(qtype)
    kind = answer_type(question)
    assert kind.clean(question, raw) == (stored, level_id)
    assert kind.display(question, stored) == answers.display(question, stored) == shown
    assert kind.export(stored) == cell
    assert kind.to_json(stored) == as_json
    assert not kind.is_empty(stored)


BAD = [
    (QuestionType.SCALE, "Brilliant", "Choose one of: Yes, Partly, No, Not applicable"),
    (QuestionType.SCALE, ["Yes"], "Choose one of"),
    (QuestionType.SINGLE_CHOICE, "Ambulance", "Choose one of"),
    (QuestionType.MULTIPLE_CHOICE, ["Police", "Telepathy"], "'Telepathy' is not one of the options"),
    (QuestionType.MULTIPLE_CHOICE, ["Telepathy", "Magic"], "'Telepathy', 'Magic' are not one of the options"),
    (QuestionType.MULTIPLE_CHOICE, [3], "Choose from the options"),
    (QuestionType.TEXT, "x" * 10_001, "10,000 characters or fewer"),
    (QuestionType.NUMBER, "lots", "Enter a number"),
    (QuestionType.NUMBER, "1e12", "between"),
    (QuestionType.NUMBER, "NaN", "between"),
    (QuestionType.NUMBER, True, "Enter a number"),
    (QuestionType.DATE, "31/02/2025", "real date"),
    (QuestionType.DATE, {"day": "31", "month": "2", "year": "2025"}, "real date"),
    (QuestionType.DATE, {"day": "", "month": "2", "year": "2025"}, "must include a day"),
    (QuestionType.DATE, {"day": "1", "month": "", "year": ""}, "must include a month and year"),
]


@pytest.mark.parametrize(("qtype", "raw", "message"), BAD)
def test_each_type_refuses_bad_answers_with_a_message(qtype, raw, message):
    question = _question(qtype)
    with pytest.raises(AnswerProblem) as info:
        answer_type(question).clean(question, raw)
    assert message in info.value.message


@pytest.mark.parametrize("qtype", list(QuestionType))
@pytest.mark.parametrize("blank", [None, "", "   ", []])
def test_blank_is_empty_for_every_type(qtype, blank):
    question = _question(qtype)
    kind = answer_type(question)
    assert kind.clean(question, blank) == ("", None)
    assert kind.is_empty("") and kind.is_empty(None)
    assert kind.display(question, "") == ""
    assert kind.to_json("") is None


def test_every_question_type_has_an_answer_type():
    assert set(answers.TYPES) == set(QuestionType)


# What the return page posts for each type, and what it should store and show again.
FORM = [
    (QuestionType.SCALE, {"q-q": "No"}, "No", "No"),
    (QuestionType.SINGLE_CHOICE, {"q-q": "Early help"}, "Early help", "Early help"),
    (
        QuestionType.MULTIPLE_CHOICE,
        {"q-q": ["Police", "Early help", ""]},
        "Early help, Police",
        ["Early help", "Police"],
    ),
    (QuestionType.TEXT, {"q-q": "Seen at home"}, "Seen at home", "Seen at home"),
    (QuestionType.NUMBER, {"q-q": "7"}, "7", "7"),
    (
        QuestionType.DATE,
        {"q-q-day": "5", "q-q-month": "1", "q-q-year": "2026"},
        "5 January 2026",
        {"day": "5", "month": "1", "year": "2026"},
    ),
]


@pytest.mark.parametrize(("qtype", "posted", "shown", "prefill"), FORM)
def test_form_to_clean_to_display_to_form_round_trip(qtype, posted, shown, prefill):
    question = _question(qtype)
    kind = answer_type(question)
    raw = kind.from_form(
        MultiDict([(k, v) for k, vs in posted.items() for v in (vs if isinstance(vs, list) else [vs])]), "q-q"
    )
    stored, _ = kind.clean(question, raw)
    assert kind.display(question, stored) == shown
    assert kind.for_form(stored) == prefill
    # Posting the prefilled value again stores the same thing.
    assert kind.clean(question, prefill)[0] == stored
    # The page's field is filled with it.
    params = kind.field(question, name="q-q", value=prefill, label="Q?", hint="", error=None)
    text = json.dumps(params)
    if kind.widget in ("radios", "checkboxes"):
        assert {i["value"] for i in params["items"] if i["checked"]} == set(
            prefill if isinstance(prefill, list) else [prefill]
        )
    elif kind.widget == "date":
        assert [i["value"] for i in params["items"]] == [prefill["day"], prefill["month"], prefill["year"]]
    else:
        assert params["value"] == prefill and "q-q" in text


def test_an_empty_form_posts_blank_for_every_type():
    for qtype in QuestionType:
        question = _question(qtype)
        kind = answer_type(question)
        assert kind.clean(question, kind.from_form(MultiDict(), "q-q")) == ("", None)


@pytest.mark.parametrize(
    ("cell", "chosen"),
    [
        ("Police; Early help", ["Police", "Early help"]),
        ("Early help, Police", ["Early help", "Police"]),
        (f"{OPTIONS[0]}, Police", [OPTIONS[0], "Police"]),  # an option holding commas is still one option
        (f"Police;{OPTIONS[0]}", ["Police", OPTIONS[0]]),
        ("Police, Telepathy", ["Police", "Telepathy"]),  # kept so the problem names it
    ],
)
def test_a_workbook_cell_of_several_options_reads_back(cell, chosen):
    question = _question(QuestionType.MULTIPLE_CHOICE)
    kind = answer_type(question)
    assert kind.from_cell(question, cell) == chosen
    stored = json.dumps([o for o in OPTIONS if o in chosen])
    if "Telepathy" not in chosen:
        # What the workbook shows (the display text) reads back to the same answer.
        assert kind.clean(question, kind.from_cell(question, kind.cell(question, stored)))[0] == stored


def test_workbook_drop_downs_come_from_the_type():
    assert answer_type(_question(QuestionType.SCALE)).choices(_question(QuestionType.SCALE)) == [
        "Yes",
        "Partly",
        "No",
        "Not applicable",
    ]
    assert answer_type(_question(QuestionType.SINGLE_CHOICE)).choices(_question(QuestionType.SINGLE_CHOICE)) == OPTIONS
    for qtype in (QuestionType.MULTIPLE_CHOICE, QuestionType.TEXT, QuestionType.DATE):
        assert answer_type(_question(qtype)).choices(_question(qtype)) is None
    assert answer_type(QuestionType.NUMBER).cell_validation["type"] == "decimal"


def test_show_if_and_required_rule():
    trigger = _question(QuestionType.MULTIPLE_CHOICE, key="who")
    follow = _question(
        QuestionType.TEXT, key="why", is_required=True, condition_question_key="who", condition_values=["Police"]
    )
    plain = _question(QuestionType.NUMBER, key="n", is_required=True, applies_to=["health"])
    questions = [trigger, follow, plain]
    assert answers.applicable(questions, "police") == [trigger, follow]
    assert answers.applicable(questions, "health") == questions
    assert not answers.shown(follow, {})
    assert not answers.shown(follow, {"who": '["Early help"]'})
    assert answers.shown(follow, {"who": '["Early help", "Police"]'})
    assert answers.required_missing(questions, {}) == [plain]
    assert answers.required_missing(questions, {"who": '["Police"]'}) == [follow, plain]
    assert answers.required_missing(questions, {"who": '["Police"]', "why": "x", "n": "0"}) == []
    scale_follow = _question(QuestionType.TEXT, key="f", condition_question_key="s", condition_values=["No"])
    assert answers.shown(scale_follow, {"s": "No"}) and not answers.shown(scale_follow, {"s": "Yes"})


# -- through the services, pages, API and exports --


REQUIRED_FOLLOW_UP = EXAMPLE | {
    "key": "cond_required",
    "sections": [
        {
            **EXAMPLE["sections"][0],
            "questions": [
                EXAMPLE["sections"][0]["questions"][0],
                EXAMPLE["sections"][0]["questions"][1] | {"required": True},
                EXAMPLE["sections"][0]["questions"][2],
            ],
        },
        EXAMPLE["sections"][1],
    ],
}


@pytest.fixture()
def ret(world) -> Return:
    """An open police return on a questionnaire whose follow-up 'signs_detail' is required when shown."""
    version = questionnaires.import_questionnaire(world.partnership.id, REQUIRED_FOLLOW_UP, publish=True)
    round_ = services.plan_round(world.partnership.id, title="Answers", version=version, opens_on=None, due_on=None)
    case_services.add_case(round_, agency_ids=[world.police.agency_id, world.health.agency_id], reference="CS-7")
    services.move_round(round_, RoundStatus.OPEN)
    db.session.commit()
    return db.session.scalar(
        sa.select(Return).where(Return.round_id == round_.id, Return.agency_id == world.police.agency_id)
    )


def test_a_save_reports_every_bad_answer_at_once_and_saves_nothing(world, ret):
    before = ret.lock_version
    with pytest.raises(AnswerErrors) as info:
        services.save_answers(
            ret,
            {
                "signs_recognised": "Brilliant",
                "recognition_grade": "Good",
                "visits": "lots",
                "first_contact": "31/02/2025",
                "nonsense": "1",
            },
            by=world.user("auditor"),
            expected_version=ret.lock_version,
        )
    fields = info.value.fields
    assert set(fields) == {"signs_recognised", "visits", "first_contact", "nonsense"}
    assert "Choose one of" in fields["signs_recognised"][0] and "Enter a number" in fields["visits"][0]
    assert info.value.field == "signs_recognised"  # the first, for callers that show one
    db.session.rollback()
    db.session.refresh(ret)
    assert ret.answers == [] and ret.lock_version == before


def _task_state(client, ret, title: str) -> list[str]:
    page = client.get(f"/returns/{ret.id}").data.decode()
    item = page.split(title, 1)[1].split("</li>", 1)[0]
    status = item.split('govuk-task-list__status"', 1)[1]
    return re.sub(r"<[^>]+>", " ", status.split(">", 1)[1]).split()[0:2]


def _save(world, ret, given: dict) -> None:
    services.save_answers(ret, given, by=world.user("auditor"), expected_version=ret.lock_version)
    db.session.commit()


def test_task_list_and_submission_agree_on_show_if(client, world, ret):
    login(client, world.user("auditor"))
    # The required follow-up is hidden ("Yes"): the section is complete and the return can be submitted.
    _save(world, ret, {"signs_recognised": "Yes", "recognition_grade": "Good"})
    assert _task_state(client, ret, "Recognition of risk") == ["Completed"]
    assert services.missing_answers(ret) == []
    # Shown ("Partly"): it is missing on the task list exactly as at submission.
    _save(world, ret, {"signs_recognised": "Partly"})
    assert _task_state(client, ret, "Recognition of risk") == ["In", "progress"]
    assert [q.key for q in services.missing_answers(ret)] == ["signs_detail"]
    refused = client.post(f"/returns/{ret.id}/submit", follow_redirects=True)
    assert b"What was missed?" in refused.data
    _save(world, ret, {"signs_detail": "The chronology"})
    assert _task_state(client, ret, "Recognition of risk") == ["Completed"]
    assert services.missing_answers(ret) == []


def test_the_section_page_shows_every_error_beside_its_field(client, world, ret):
    login(client, world.user("auditor"))
    refused = client.post(
        f"/returns/{ret.id}/sections/impact_section",
        data={
            "lock_version": ret.lock_version,
            "q-impact_rating": "Huge",
            "q-visits": "lots",
            "q-first_contact-day": "31",
            "q-first_contact-month": "2",
            "q-first_contact-year": "2025",
        },
    )
    assert refused.status_code == 400
    html = refused.data.decode()
    summary = html.split('class="govuk-error-summary', 1)[1].split("</div>\n</div>", 1)[0]
    for anchor in ("#q-impact_rating", "#q-visits", "#q-first_contact-day"):
        assert f'href="{anchor}"' in summary
    assert html.count('class="govuk-error-message"') == 3
    # What was typed is kept, so it can be corrected.
    assert 'value="lots"' in html and 'value="31"' in html
    db.session.refresh(ret)
    assert ret.answers == []
    saved = client.post(
        f"/returns/{ret.id}/sections/impact_section",
        data={
            "lock_version": ret.lock_version,
            "q-impact_rating": "High",
            "q-visits": "3",
            "q-first_contact-day": "2",
            "q-first_contact-month": "11",
            "q-first_contact-year": "2025",
        },
    )
    assert saved.status_code == 302
    again = client.get(f"/returns/{ret.id}/sections/impact_section").data.decode()
    assert 'value="2"' in again and 'value="11"' in again and 'value="2025"' in again


def test_the_api_names_every_bad_question(api, world, ret):
    auditor = api(world.user("auditor"))
    refused = auditor.put(
        f"/api/v1/returns/{ret.id}/answers",
        json={"lock_version": ret.lock_version, "answers": {"signs_recognised": "Maybe", "visits": "lots", "x": 1}},
    )
    assert refused.status_code == 400
    assert set(refused.json["error"]["fields"]) == {"signs_recognised", "visits", "x"}
    assert auditor.get(f"/api/v1/returns/{ret.id}").json["answers"] == {}


def test_multiple_choice_is_one_list_everywhere(client, api, world, ret):
    health = db.session.scalar(
        sa.select(Return).where(Return.round_id == ret.round_id, Return.agency_id == world.health.agency_id)
    )
    given = {"tools": ["Other", "Graded Care Profile"], "signs_recognised": "No", "signs_detail": "Missed"}
    _save(world, health, given | {"recognition_grade": "Good", "visits": "2"})
    services.submit_return(health, by=world.user("agency_lead"), as_lead=True)
    db.session.commit()
    assert {a.question.key: a.value for a in health.answers}["tools"] == '["Graded Care Profile", "Other"]'
    # API: a JSON list.
    qa = api(world.user("qa_member"))
    assert qa.get(f"/api/v1/returns/{health.id}").json["answers"]["tools"] == ["Graded Care Profile", "Other"]
    # Workbook: the options joined with "; " (an option may hold a comma), which reads back to the same answer.
    sheet = load_workbook(io.BytesIO(build_workbook(health)))["Return"]
    row = next(r for r in range(4, sheet.max_row + 1) if sheet.cell(row=r, column=1).value == "tools")
    assert sheet.cell(row=row, column=6).value == "Graded Care Profile; Other"
    # The read-only section page: the display text.
    login(client, world.user("qa_member"))
    assert "Graded Care Profile, Other" in client.get(f"/returns/{health.id}/sections/impact_section").data.decode()
    # The answers export: the display text.
    rows = {row[5]: row for row in queries.answer_rows(world.partnership.id, round_id=ret.round_id)}
    assert rows["tools"][7] == "Graded Care Profile, Other"
    assert rows["visits"][7] == 2.0 and rows["signs_detail"][9] == "Missed"
    # Once the follow-up is hidden by its condition, its kept answer is reported nowhere.
    services.request_changes(health, by=world.user("qa_member"), note="Recheck recognition")
    _save(world, health, {"signs_recognised": "Yes"})
    services.submit_return(health, by=world.user("agency_lead"), as_lead=True)
    db.session.commit()
    rows = {row[5]: row for row in queries.answer_rows(world.partnership.id, round_id=ret.round_id)}
    assert "signs_detail" not in rows and rows["signs_recognised"][8] == "Yes"
    assert "signs_detail" not in qa.get(f"/api/v1/returns/{health.id}").json["answers"]
