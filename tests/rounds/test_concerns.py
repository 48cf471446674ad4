"""Immediate safeguarding concerns: an auditor's answer (read by the question's role and its ``concern_if``)
emails the QA group and admins once per concern, by page, workbook or API; the pages tag the return and case,
and the discussion's "escalated?" starts from what the agencies said."""

from __future__ import annotations

import io
import json

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from audit_app.core.audit import system_actor
from audit_app.core.roles import Role
from audit_app.extensions import db
from audit_app.questionnaires import roles
from audit_app.questionnaires.spec import SpecContext, SpecError, validate_spec
from audit_app.rounds import services
from audit_app.rounds.models import RoundStatus
from audit_app.rounds.workbook import FIRST_ROW, build_workbook
from tests.conftest import login
from tests.factories import make_agency, make_return_answered, make_round, make_user, returns_of
from tests.questionnaires.test_question_roles import BUILTIN, _q, _spec

CONCERN = "overall_immediate_concern"
ACTION = "overall_immediate_action"
#: what the auditor writes about the concern: it must never reach an email
SECRET = "Told the MASH team manager about bruising seen at the home visit"
QA_AND_ADMIN = {"qa@north.example.org", "admin@north.example.org"}


@pytest.fixture()
def open_round(world):
    round_ = make_round(
        world.partnership.id,
        title="Neglect audit 2026",
        agencies=[world.police, world.health],
        cases=["CS-41"],
        status=RoundStatus.OPEN,
    )
    db.session.commit()
    return round_


def _police_return(world, round_):
    return next(r for r in returns_of(round_) if r.agency_id == world.police.agency_id)


def _save(ret, user, answers):
    with system_actor("test"):
        services.save_answers(ret, answers, by=user, expected_version=ret.lock_version)
    db.session.commit()


def test_the_concern_question_is_found_by_its_role_and_the_answer_by_concern_if(open_round):
    question = roles.immediate_concern_question(open_round.version)
    assert question is not None and question.key == CONCERN
    assert question.concern_values == ["Yes"]
    assert roles.raises_concern(question, "Yes") and not roles.raises_concern(question, "No")
    assert not roles.raises_concern(question, "") and not roles.raises_concern(question, None)


def test_a_concern_emails_the_qa_group_and_admins_once_without_the_answers(world, open_round, mailbox):
    ret = _police_return(world, open_round)
    auditor = world.user("auditor")
    _save(ret, auditor, {CONCERN: "Yes", ACTION: SECRET})
    assert ret.concern_raised_at is not None
    assert len(mailbox) == 1
    message = mailbox[0]
    assert set(message["To"].split(", ")) == QA_AND_ADMIN  # not the auditors, not the other partnership
    assert message["Subject"] == "Immediate safeguarding concern raised: Neglect audit 2026"
    body = message.get_content()
    assert "Round: Neglect audit 2026" in body and "Case: CS-41" in body and "Agency: North Police" in body
    assert f"/returns/{ret.id}\n" in body.replace("\r\n", "\n")
    assert SECRET not in body and "bruising" not in body
    first = ret.concern_raised_at

    # later saves that still say "Yes" send nothing more
    _save(ret, auditor, {CONCERN: "Yes", ACTION: SECRET + " (updated)"})
    _save(ret, auditor, {"overall_learning_themes": ["Voice of the child"]})
    assert len(mailbox) == 1 and ret.concern_raised_at == first

    # answered away, the flag goes; said again, it is a new concern and a new email
    _save(ret, auditor, {CONCERN: "No"})
    assert ret.concern_raised_at is None and len(mailbox) == 1
    _save(ret, auditor, {CONCERN: "Yes"})
    assert ret.concern_raised_at is not None and len(mailbox) == 2


def test_a_refused_save_raises_nothing_and_sends_nothing(world, open_round, mailbox):
    ret = _police_return(world, open_round)
    with system_actor("test"), pytest.raises(Exception):  # noqa: B017 (any refusal: the value is wrong)
        services.save_answers(
            ret, {CONCERN: "Yes", "overall_grade": "Brilliant"}, by=world.user("auditor"), expected_version=1
        )
    db.session.rollback()
    db.session.commit()
    assert mailbox == [] and _police_return(world, open_round).concern_raised_at is None


def test_the_email_goes_to_the_round_s_own_partnership(world, mailbox):
    partnership_id = world.other_partnership.id
    with system_actor("test"):
        agency = make_agency(partnership_id, "South Police")
        auditor = make_user(partnership_id, Role.AUDITOR, email="auditor@south.example.org", agency=agency)
    db.session.commit()
    round_ = make_round(partnership_id, agencies=[agency], cases=["CS-9"], status=RoundStatus.OPEN)
    db.session.commit()
    _save(returns_of(round_)[0], auditor, {CONCERN: "Yes"})
    assert [m["To"] for m in mailbox] == ["admin@south.example.org"]


def test_saving_on_the_page_tags_the_return_round_list_and_discussion(client, world, open_round, mailbox):
    ret = _police_return(world, open_round)
    login(client, world.user("auditor"))
    page = client.post(
        f"/returns/{ret.id}/sections/overall",
        data={"lock_version": str(ret.lock_version), f"q-{CONCERN}": "Yes", f"q-{ACTION}": SECRET},
    )
    assert page.status_code == 302, page.data[-1500:]
    assert len(mailbox) == 1 and "Case: CS-41" in mailbox[0].get_content()
    detail = client.get(f"/returns/{ret.id}").get_data(as_text=True)
    assert "Concern raised" in detail and "QA group and admins were emailed" in detail
    # the hint of the follow-up question names the question, never its key
    section = client.get(f"/returns/{ret.id}/sections/overall").get_data(as_text=True)
    assert "Asked only if the answer to “Was any immediate safeguarding concern" in section
    assert CONCERN not in section.replace(f"q-{CONCERN}", "")

    login(client, world.user("qa_member"))
    assert "Concern raised" in client.get("/returns").get_data(as_text=True)
    assert "Concern raised" in client.get(f"/rounds/{open_round.id}").get_data(as_text=True)
    with system_actor("test"):
        services.move_round(open_round, RoundStatus.CLOSED)
    db.session.commit()
    round_case = open_round.cases[0]
    discussion = client.get(f"/rounds/{open_round.id}/cases/{round_case.id}/discussion").get_data(as_text=True)
    assert "Concern raised" in discussion
    assert "Agencies that raised a concern in their return: North Police" in discussion
    # "escalated?" starts at Yes, from the agencies' returns
    assert 'id="concern_escalated" name="concern_escalated" type="radio" value="yes" checked' in discussion
    assert CONCERN not in discussion and "None" not in discussion


def test_without_a_concern_the_discussion_says_so_and_no_tag_shows(client, world, open_round, mailbox):
    ret = _police_return(world, open_round)
    make_return_answered(ret, world.user("agency_lead"), submit=True)
    db.session.commit()
    # the submit's hand-off email goes to the QA group; no concern email goes anywhere
    assert not any("concern" in m["Subject"].lower() for m in mailbox) and ret.concern_raised_at is None
    with system_actor("test"):
        services.move_round(open_round, RoundStatus.CLOSED)
    db.session.commit()
    login(client, world.user("qa_member"))
    discussion = client.get(f"/rounds/{open_round.id}/cases/{open_round.cases[0].id}/discussion").get_data(as_text=True)
    assert "Concern raised" not in discussion
    assert "No agency raised an immediate concern in its return." in discussion


def test_an_uploaded_workbook_raises_the_concern(client, world, open_round, mailbox):
    ret = _police_return(world, open_round)
    workbook = load_workbook(io.BytesIO(build_workbook(ret)))
    sheet = workbook["Return"]
    for row in sheet.iter_rows(min_row=FIRST_ROW):
        if row[0].value == CONCERN:
            row[5].value = "Yes"
        if row[0].value == "overall_grade":
            row[5].value = "Brilliant"  # wrong first: nothing saved, nothing sent
    buffer = io.BytesIO()
    workbook.save(buffer)
    login(client, world.user("auditor"))
    refused = client.post(f"/returns/{ret.id}/workbook", data={"file": (io.BytesIO(buffer.getvalue()), "return.xlsx")})
    assert refused.status_code == 400 and mailbox == []
    for row in sheet.iter_rows(min_row=FIRST_ROW):
        if row[0].value == "overall_grade":
            row[5].value = "Good"
    buffer = io.BytesIO()
    workbook.save(buffer)
    saved = client.post(f"/returns/{ret.id}/workbook", data={"file": (io.BytesIO(buffer.getvalue()), "return.xlsx")})
    assert saved.status_code == 302, saved.data[-1500:]
    assert len(mailbox) == 1 and "Agency: North Police" in mailbox[0].get_content()


def test_the_api_carries_the_flag_on_the_return_and_the_case(world, open_round, api, mailbox):
    ret = _police_return(world, open_round)
    auditor = api(world.user("auditor"))
    saved = auditor.put(f"/api/v1/returns/{ret.id}/answers", json={"lock_version": 1, "answers": {CONCERN: "Yes"}})
    assert saved.status_code == 200, saved.json
    assert saved.json["concern_raised"] is True and saved.json["concern_raised_at"]
    assert len(mailbox) == 1
    again = auditor.put(
        f"/api/v1/returns/{ret.id}/answers",
        json={"lock_version": saved.json["lock_version"], "answers": {CONCERN: "Yes", ACTION: SECRET}},
    )
    assert again.status_code == 200 and len(mailbox) == 1

    qa = api(world.user("qa_member"))
    case = qa.get(f"/api/v1/rounds/{open_round.id}").json["cases"][0]
    assert case["concern_raised"] is True
    assert [(c["agency_id"], c["agency_name"]) for c in case["concerns"]] == [(world.police.agency_id, "North Police")]
    assert case["concerns"][0]["raised_at"] == saved.json["concern_raised_at"]
    judgements = qa.get(f"/api/v1/rounds/{open_round.id}/cases/{case['id']}/judgements").json
    assert judgements["concern_raised"] is True and judgements["concerns"][0]["agency_name"] == "North Police"
    other = next(r for r in returns_of(open_round) if r.agency_id == world.health.agency_id)
    assert qa.get(f"/api/v1/returns/{other.id}").json["concern_raised"] is False


# -- the file format: concern_if --


def test_concern_if_defaults_to_yes_and_is_checked():
    spec = validate_spec(_spec([_q("worry", "single_choice", "immediate_concern")]), SpecContext(scales=BUILTIN))
    assert spec.sections[0].questions[0].concern_if == ["Yes"]
    spec = validate_spec(
        _spec(
            [
                _q(
                    "worry",
                    "single_choice",
                    "immediate_concern",
                    options=["Concern", "None found"],
                    concern_if=["Concern"],
                )
            ]
        ),
        SpecContext(scales=BUILTIN),
    )
    assert spec.sections[0].questions[0].concern_if == ["Concern"]
    bad = _spec(
        [
            _q("worry", "single_choice", "immediate_concern", options=["Concern", "None found"]),  # no Yes, none named
            _q("grade", "scale", "grade", concern_if=["Good"]),  # not the concern question
        ],
        [_q("other", "scale", "immediate_concern", scale="yes_partly_no", concern_if=["Maybe"])],
    )
    with pytest.raises(SpecError) as info:
        validate_spec(bad, SpecContext(scales=BUILTIN))
    problems = {p.path: p.message for p in info.value.problems}
    assert problems["sections[0].questions[0].concern_if"] == (
        "say which answers mean an immediate concern was identified (concern_if)"
    )
    assert "only the immediate concern question" in problems["sections[0].questions[1].concern_if"]
    assert problems["sections[1].questions[0].concern_if[0]"] == "'Maybe' is not an answer of this question"


# -- the migration --


def test_the_migration_gives_existing_concern_questions_the_default(tmp_path):
    from flask_migrate import downgrade, upgrade

    from audit_app import create_app

    app = create_app("test", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'migrate.db'}", MAIL_SERVER=None)
    with app.app_context():
        upgrade(revision="2830f734d44e")
        now = {"now": "2026-01-01 00:00:00"}
        with db.engine.begin() as conn:
            for sql in (
                "INSERT INTO partnerships (id, name, qa_group_name, created_at, updated_at) "
                "VALUES (1, 'P', 'QA', :now, :now)",
                "INSERT INTO questionnaires (id, partnership_id, key, title, kind, description, created_at, updated_at) "
                "VALUES (1, 1, 'old', 'Old', 'case_audit', '', :now, :now)",
                "INSERT INTO questionnaire_versions (id, questionnaire_id, number, status, created_at, updated_at) "
                "VALUES (1, 1, 1, 'published', :now, :now)",
            ):
                conn.execute(sa.text(sql), now)
            conn.execute(
                sa.text(
                    "INSERT INTO sections (id, version_id, key, position, title, description) "
                    "VALUES (1, 1, 's', 0, 'S', '')"
                )
            )
            yes_no = conn.execute(sa.text("SELECT id FROM scales WHERE key = 'yes_partly_no'")).scalar()
            conn.execute(
                sa.text(
                    "INSERT INTO questions (version_id, section_id, key, position, text, guidance, type, is_required, "
                    "applies_to, options, condition_values, scale_id, role) "
                    "VALUES (1, 1, :key, :position, 'T', '', :type, false, '[]', :options, '[]', :scale_id, :role)"
                ),
                [
                    {
                        "key": "a",
                        "position": 0,
                        "type": "single_choice",
                        "options": '["Yes", "No"]',
                        "scale_id": None,
                        "role": "immediate_concern",
                    },
                    {
                        "key": "b",
                        "position": 1,
                        "type": "single_choice",
                        "options": '["Concern", "None"]',
                        "scale_id": None,
                        "role": None,
                    },
                    {
                        "key": "c",
                        "position": 2,
                        "type": "scale",
                        "options": "[]",
                        "scale_id": yes_no,
                        "role": "immediate_concern",
                    },
                    {
                        "key": "d",
                        "position": 3,
                        "type": "single_choice",
                        "options": '["Yes", "No"]',
                        "scale_id": None,
                        "role": None,
                    },
                ],
            )
        upgrade(revision="f7c4c386575e")
        with db.engine.connect() as conn:
            got = {
                key: json.loads(values) if isinstance(values, str) else values
                for key, values in conn.execute(sa.text("SELECT key, concern_values FROM questions"))
            }
            raised = conn.execute(sa.text("SELECT count(*) FROM returns WHERE concern_raised_at IS NOT NULL")).scalar()
        # two questions have the role (a Yes answer each); a Yes elsewhere is not a concern
        assert got == {"a": ["Yes"], "b": [], "c": ["Yes"], "d": []}
        assert raised == 0
        downgrade(revision="2830f734d44e")
        with db.engine.connect() as conn:
            question_columns = {c["name"] for c in sa.inspect(conn).get_columns("questions")}
            return_columns = {c["name"] for c in sa.inspect(conn).get_columns("returns")}
        assert "concern_values" not in question_columns and "concern_raised_at" not in return_columns
        db.session.remove()
        db.engine.dispose()


def test_the_workbook_guidance_names_the_question_a_follow_up_depends_on(world, open_round):
    sheet = load_workbook(io.BytesIO(build_workbook(_police_return(world, open_round))))["Return"]
    guidance = {row[0].value: row[3].value or "" for row in sheet.iter_rows(min_row=FIRST_ROW)}
    assert guidance[ACTION].endswith(
        "(Asked only if the answer to “Was any immediate safeguarding concern about the child identified during "
        "this audit?” is Yes.)"
    )
    assert not any(CONCERN in text for text in guidance.values())  # keys stay in the key column
