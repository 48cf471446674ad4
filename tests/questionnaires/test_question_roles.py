"""Question roles and good levels: the file rules, import defaults, export, and the migration that filled them."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from audit_app import create_app
from audit_app.core.errors import NotAllowedError
from audit_app.extensions import db
from audit_app.questionnaires import roles, services
from audit_app.questionnaires.models import Question, QuestionRole, QuestionType, Scale, default_role
from audit_app.questionnaires.spec import SpecContext, SpecError, parse_text, to_yaml, validate_spec
from tests.conftest import login
from tests.questionnaires.test_questionnaire_spec import EXAMPLE


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


BUILTIN = {
    "ofsted": ["Outstanding", "Good", "Requires improvement", "Inadequate"],
    "yes_partly_no": ["Yes", "Partly", "No", "Not applicable"],
}


def _q(key: str, type_: str = "text", role: str | None = None, **extra) -> dict:
    question = {"key": key, "text": key.replace("_", " "), "type": type_, **extra}
    if type_ == "scale":
        question.setdefault("scale", "ofsted")
    if type_ in ("single_choice", "multiple_choice"):
        question.setdefault("options", ["Yes", "No"])
    if role is not None:
        question["role"] = role
    return question


def _spec(*sections: list[dict], scales: list | None = None) -> dict:
    return {
        "key": "roles",
        "title": "Roles",
        "kind": "case_audit",
        "scales": scales or [],
        "sections": [
            {"key": key, "title": key, "questions": questions}
            for key, questions in zip(["first", "second", "overall"], sections, strict=False)
        ],
    }


def _problems(data: dict) -> dict[str, str]:
    with pytest.raises(SpecError) as info:
        validate_spec(data, SpecContext(scales=BUILTIN))
    return {p.path: p.message for p in info.value.problems}


# -- the rules, good and bad --


@pytest.mark.parametrize(
    ("role", "type_"),
    [
        ("grade", "scale"),
        ("overall_grade", "scale"),
        ("strengths", "text"),
        ("development", "text"),
        ("recommendation", "text"),
        ("evidence", "text"),
        ("immediate_concern", "single_choice"),
        ("immediate_concern", "scale"),
        ("learning_themes", "multiple_choice"),
        ("learning_themes", "text"),
        ("none", "scale"),
    ],
)
def test_a_role_on_a_question_of_a_fitting_type_is_kept(role, type_):
    # an immediate concern on a scale needs an answer meaning "concern": yes_partly_no has "Yes"
    extra = {"scale": "yes_partly_no"} if (role, type_) == ("immediate_concern", "scale") else {}
    spec = validate_spec(_spec([_q("anything", type_, role, **extra)]), SpecContext(scales=BUILTIN))
    settled = spec.sections[0].questions[0].role
    assert settled == (None if role == "none" else QuestionRole(role))


@pytest.mark.parametrize(
    ("role", "type_", "message"),
    [
        ("grade", "text", "the role grade needs a scale question"),
        ("overall_grade", "single_choice", "the role overall_grade needs a scale question"),
        ("strengths", "scale", "the role strengths needs a text question"),
        ("development", "number", "the role development needs a text question"),
        ("recommendation", "multiple_choice", "the role recommendation needs a text question"),
        ("evidence", "date", "the role evidence needs a text question"),
        (
            "immediate_concern",
            "text",
            "the role immediate_concern needs a scale or single_choice question (such as Yes / No)",
        ),
        ("learning_themes", "single_choice", "the role learning_themes needs a multiple_choice or text question"),
    ],
)
def test_a_role_on_a_question_of_the_wrong_type_is_refused(role, type_, message):
    problems = _problems(_spec([_q("anything", type_, role)]))
    assert problems == {"sections[0].questions[0].role": message}


def test_an_unknown_role_is_refused_by_name():
    problems = _problems(_spec([_q("anything", "text", "verdict")]))
    assert list(problems) == ["sections[0].questions[0].role"]
    assert "'grade'" in problems["sections[0].questions[0].role"]


def test_every_bad_role_is_reported_at_once():
    data = _spec(
        [
            _q("a", "scale", "grade"),
            _q("b", "scale", "grade"),  # a second grade in the section
            _q("c", "text", "strengths"),
            _q("d", "text", "strengths"),  # a second strengths question
            _q("e", "text", "overall_grade"),  # wrong type
        ],
        [_q("f", "scale", "overall_grade"), _q("g", "single_choice", "immediate_concern")],
        [
            _q("h", "scale", "overall_grade"),  # a second overall grade
            _q("i", "scale", "grade"),  # the overall section has no grade of its own
            _q("j", "scale", "immediate_concern", scale="yes_partly_no"),  # a second immediate concern
            _q("k", "text", "learning_themes"),
            _q("m", "multiple_choice", "learning_themes"),  # a second learning themes question
            _q("n", "text", "evidence"),
            _q("o", "text", "evidence"),  # evidence may repeat
        ],
    )
    problems = _problems(data)
    assert set(problems) == {
        "sections[0].questions[1].role",
        "sections[0].questions[3].role",
        "sections[0].questions[4].role",
        "sections[2].questions[0].role",
        "sections[2].questions[1].role",
        "sections[2].questions[2].role",
        "sections[2].questions[4].role",
    }
    assert problems["sections[0].questions[1].role"] == (
        "a section has one grade question; sections[0].questions[0] is already"
    )
    assert problems["sections[2].questions[0].role"] == (
        "only one question can be the overall grade; sections[1].questions[0] is already"
    )
    assert "overall_grade" in problems["sections[2].questions[1].role"]


def test_good_levels_rules_are_checked_with_the_rest():
    scales = [
        {
            "key": "marked_na",
            "name": "Marked N/A",
            "levels": [
                {"label": "High", "value": 2, "good": True},
                {"label": "Low", "value": 1},
                {"label": "N/A", "not_applicable": True, "good": True},
            ],
        },
        {
            "key": "none_good",
            "name": "None good",
            "levels": [{"label": "High", "value": 2, "good": False}, {"label": "Low", "value": 1, "good": False}],
        },
    ]
    problems = _problems(
        _spec([_q("a", "scale", "grade", scale="marked_na"), _q("b", "scale", "strengths")], scales=scales)
    )
    assert problems["scales[0].levels[2].good"] == "a not-applicable level cannot count as good"
    assert problems["scales[1].levels"] == "mark at least one graded level good: true (it counts as good)"
    assert problems["sections[0].questions[1].role"] == "the role strengths needs a text question"


def test_a_known_scale_with_other_good_levels_is_refused():
    context = SpecContext(scales={"impact": ["High", "Low"]}, good={"impact": ["High"]})
    scale = {
        "key": "impact",
        "name": "Impact",
        "levels": [{"label": "High", "value": 2, "good": True}, {"label": "Low", "value": 1, "good": True}],
    }
    with pytest.raises(SpecError) as info:
        validate_spec(_spec([_q("a", "scale", scale="impact")], scales=[scale]), context)
    assert [p.path for p in info.value.problems] == ["scales[0].key"]


# -- defaults on import --


@pytest.mark.parametrize(
    ("key", "type_", "role"),
    [
        ("overall_grade", "scale", QuestionRole.OVERALL_GRADE),
        ("recognition_grade", "scale", QuestionRole.GRADE),
        ("risk_assessment_grade", "scale", QuestionRole.GRADE),
        ("recognition_grade", "text", None),  # a default never refuses: the type does not fit, so no role
        ("overall_grade", "text", None),
        ("recognition_good_practice", "text", QuestionRole.STRENGTHS),
        ("overall_strengths", "text", QuestionRole.STRENGTHS),
        ("overall_development", "text", QuestionRole.DEVELOPMENT),
        ("overall_recommendations", "text", QuestionRole.RECOMMENDATION),
        ("overall_recommendation", "text", None),
        ("leadership_named_lead_evidence", "text", QuestionRole.EVIDENCE),
        ("overall_immediate_concern", "single_choice", QuestionRole.IMMEDIATE_CONCERN),
        ("overall_immediate_concern", "text", None),
        ("overall_learning_themes", "multiple_choice", QuestionRole.LEARNING_THEMES),
        ("grade", "scale", None),
        ("signs_recognised", "scale", None),
    ],
)
def test_default_role_from_the_key(key, type_, role):
    assert default_role(key, QuestionType(type_)) == role


def test_import_gives_roles_from_keys_and_a_file_role_wins(world):
    data = copy.deepcopy(EXAMPLE)
    data["sections"][1]["questions"].append(_q("impact_good_practice", "text", "none"))
    data["sections"][1]["questions"].append(_q("what_went_well", "text", "strengths"))
    version = services.import_questionnaire(world.partnership.id, data)
    by_key = {q.key: q.role for q in version.questions}
    assert by_key["recognition_grade"] == QuestionRole.GRADE  # from the key
    assert by_key["impact_good_practice"] is None  # "none" overrides the key
    assert by_key["what_went_well"] == QuestionRole.STRENGTHS  # any key, from the file
    assert by_key["signs_recognised"] is None
    assert [(s.key, q.key) for s, q in roles.graded_sections(version)] == [("recognition", "recognition_grade")]
    assert roles.overall_grade_question(version) is None
    levels = {level.label: level.counts_as_good for level in version.questions[0].section.questions[2].scale.levels}
    assert levels == {"Outstanding": True, "Good": True, "Requires improvement": False, "Inadequate": False}


def test_import_default_for_good_levels():
    spec = validate_spec(
        _spec(
            [_q("a", "scale", scale="mine"), _q("b", "scale", scale="graded")],
            scales=[
                {  # no level marked: the best graded level
                    "key": "mine",
                    "name": "Mine",
                    "levels": [
                        {"label": "N/A", "not_applicable": True},
                        {"label": "High", "value": 2},
                        {"label": "Low", "value": 1},
                    ],
                },
                {  # no level marked, Ofsted-like labels: Outstanding and Good
                    "key": "graded",
                    "name": "Graded",
                    "levels": [
                        {"label": "Outstanding", "value": 3},
                        {"label": "Good", "value": 2},
                        {"label": "Poor", "value": 1},
                    ],
                },
            ],
        ),
        SpecContext(scales=BUILTIN),
    )
    assert [level.good for level in spec.scales[0].levels] == [False, True, False]
    assert [level.good for level in spec.scales[1].levels] == [True, True, False]


def test_export_writes_roles_and_flags_and_round_trips(world):
    data = copy.deepcopy(EXAMPLE)
    data["scales"][0]["levels"][1]["good"] = True  # Low only (odd, but the file's to decide)
    data["sections"][0]["questions"][2]["role"] = "none"  # recognition_grade, but no role
    data["sections"][1]["questions"][0]["role"] = "grade"  # impact_rating grades its section
    version = services.import_questionnaire(world.partnership.id, data)
    exported = services.export_version(version)
    questions = {q["key"]: q for s in exported["sections"] for q in s["questions"]}
    assert questions["recognition_grade"]["role"] == "none"  # stated, so importing keeps it
    assert questions["impact_rating"]["role"] == "grade"
    assert "role" not in questions["signs_recognised"]  # no role, and the key gives none
    assert [level.get("good", False) for level in exported["scales"][0]["levels"]] == [False, True, False]
    again = services.import_questionnaire(world.other_partnership.id, parse_text(to_yaml(exported)))
    assert services.export_version(again) == exported
    assert {q.key: q.role for q in again.questions} == {q.key: q.role for q in version.questions}


def test_every_library_file_states_its_roles(app):
    for item in services.library():
        for section in item["data"]["sections"]:
            for question in section["questions"]:
                expected = default_role(question["key"], QuestionType(question["type"]))
                if expected is not None:
                    assert question.get("role") == expected.value, (item["file"], question["key"])


# -- the migration --

OLD_HEAD, NEW = "29da7376780c", "c4e8a1d2f6b7"


def test_migration_fills_roles_and_good_levels_from_todays_rules(tmp_path: Path):
    app = create_app("test", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'migrate.db'}", MAIL_SERVER=None)
    with app.app_context():
        upgrade(revision=OLD_HEAD)
        now = "2026-01-01 00:00:00"
        questions = [
            ("overall_grade", "scale", "overall_grade"),
            ("recognition_grade", "scale", "grade"),
            ("recognition_good_practice", "text", "strengths"),
            ("overall_strengths", "text", "strengths"),
            ("recognition_development", "text", "development"),
            ("recognition_recommendations", "text", "recommendation"),
            ("named_lead_evidence", "text", "evidence"),
            ("overall_immediate_concern", "single_choice", "immediate_concern"),
            ("overall_learning_themes", "multiple_choice", "learning_themes"),
            ("notes_grade", "text", None),  # findings never read a text "grade"
            ("signs_recognised", "scale", None),
        ]
        with db.engine.begin() as conn:

            def run(sql: str, rows: list[dict] | dict | None = None) -> None:
                conn.execute(sa.text(sql), rows or {})

            stamp = {"now": now}
            run(
                "INSERT INTO partnerships (id, name, qa_group_name, created_at, updated_at) "
                "VALUES (1, 'P', 'QA', :now, :now)",
                stamp,
            )
            run(
                "INSERT INTO questionnaires (id, partnership_id, key, title, kind, description, created_at, updated_at) "
                "VALUES (1, 1, 'old', 'Old', 'case_audit', '', :now, :now)",
                stamp,
            )
            run(
                "INSERT INTO questionnaire_versions (id, questionnaire_id, number, status, created_at, updated_at) "
                "VALUES (1, 1, 1, 'published', :now, :now)",
                stamp,
            )
            run(
                "INSERT INTO sections (id, version_id, key, position, title, description) VALUES (1, 1, 's', 0, 'S', '')"
            )
            run(
                "INSERT INTO scales (id, partnership_id, key, name, created_at, updated_at) "
                "VALUES (:id, 1, :key, :key, :now, :now)",
                [{"id": 100, "key": "mine", "now": now}, {"id": 101, "key": "graded", "now": now}],
            )
            run(
                "INSERT INTO scale_levels (scale_id, position, label, value, colour, is_not_applicable) "
                "VALUES (:scale_id, :position, :label, :value, '#505a5f', :na)",
                [
                    {"scale_id": scale_id, "position": position, "label": label, "value": value, "na": value is None}
                    for scale_id, levels in (
                        (100, [("Unknown", None), ("High", 2), ("Low", 1)]),
                        (101, [("Outstanding", 3), ("Good", 2), ("Poor", 1)]),
                    )
                    for position, (label, value) in enumerate(levels)
                ],
            )
            run(
                "INSERT INTO questions (version_id, section_id, key, position, text, guidance, type, is_required, "
                "applies_to, options, condition_values) "
                "VALUES (1, 1, :key, :position, 'T', '', :type, false, '[]', '[]', '[]')",
                [{"key": key, "position": i, "type": type_} for i, (key, type_, _role) in enumerate(questions)],
            )
        upgrade(revision=NEW)
        with db.engine.connect() as conn:
            got = dict(conn.execute(sa.text("SELECT key, role FROM questions")).all())
            good = conn.execute(
                sa.text(
                    "SELECT s.key, l.label FROM scale_levels l JOIN scales s ON s.id = l.scale_id "
                    "WHERE l.counts_as_good ORDER BY s.id, l.position"
                )
            ).all()
        assert got == {key: role for key, _type, role in questions}
        assert [tuple(row) for row in good] == [
            ("ofsted", "Outstanding"),
            ("ofsted", "Good"),
            ("fully_partly_not_met", "Fully met"),
            ("yes_partly_no", "Yes"),
            ("rag", "Green"),
            ("mine", "High"),  # the best graded level, past the not-applicable one
            ("graded", "Outstanding"),
            ("graded", "Good"),
        ]
        downgrade(revision=OLD_HEAD)
        with db.engine.connect() as conn:
            columns = {c["name"] for c in sa.inspect(conn).get_columns("questions")}
            level_columns = {c["name"] for c in sa.inspect(conn).get_columns("scale_levels")}
        assert "role" not in columns and "counts_as_good" not in level_columns
        db.session.remove()
        db.engine.dispose()


# -- the editor --


@pytest.fixture()
def qa(client, world):
    return login(client, world.user("qa_member"))


def test_editor_sets_a_role_and_refuses_a_bad_one_beside_the_field(qa, world):
    version = services.import_questionnaire(world.partnership.id, EXAMPLE)
    db.session.commit()
    base = f"/questionnaires/{version.questionnaire_id}/versions/1"
    first, second = version.sections
    ofsted = db.session.scalar(sa.text("SELECT id FROM scales WHERE key = 'ofsted'"))
    cases = [
        ({"text": "Grade?", "key": "g1", "type": "text", "role": "grade"}, first, b"The role grade needs a scale"),
        (  # the first section already has its grade (recognition_grade, from its key)
            {"text": "Grade", "key": "g2", "type": "scale", "scale_id": str(ofsted), "role": "grade"},
            first,
            b"A section has one grade question",
        ),
        ({"text": "Verdict", "key": "g3", "type": "text", "role": "verdict"}, first, b"Select one of the options"),
    ]
    for data, section, message in cases:
        before = _count(Question)
        response = qa.post(f"{base}/sections/{section.id}/questions/new", data=data)
        assert response.status_code == 400, data
        assert message in response.data, (data, response.data[-2000:])
        assert b'href="#role"' in response.data, data
        assert _count(Question) == before
    ok = qa.post(
        f"{base}/sections/{second.id}/questions/new",
        data={
            "text": "Impact grade",
            "key": "impact_verdict",
            "type": "scale",
            "scale_id": str(ofsted),
            "role": "grade",
        },
    )
    assert ok.status_code == 302
    added = db.session.scalar(sa.select(Question).where(Question.key == "impact_verdict"))
    assert added.role == QuestionRole.GRADE
    assert [s.key for s, _q in roles.graded_sections(added.section.version)] == ["recognition", "impact_section"]
    # Changing a role in the editor: the form shows the current one, and "no role" clears it.
    page = qa.get(f"{base}/questions/{added.id}/edit").data.decode()
    assert '<option selected value="grade">' in page or 'value="grade" selected' in page
    cleared = qa.post(
        f"{base}/questions/{added.id}/edit",
        data={
            "text": "Impact grade",
            "key": "impact_verdict",
            "type": "scale",
            "scale_id": str(ofsted),
            "role": "",
            "section_id": str(second.id),
        },
    )
    assert cleared.status_code == 302
    db.session.refresh(added)
    assert added.role is None


def test_a_published_version_keeps_its_roles(qa, world):
    version = services.import_questionnaire(world.partnership.id, EXAMPLE, publish=True)
    db.session.commit()
    question = version.sections[0].questions[2]
    with pytest.raises(NotAllowedError):
        services.update_question(question, role=None)
    response = qa.post(
        f"/questionnaires/{version.questionnaire_id}/versions/1/questions/{question.id}/edit",
        data={"text": "Grade", "key": "recognition_grade", "type": "scale", "role": ""},
    )
    assert response.status_code == 303  # sent back to the questionnaire: published versions are not edited
    db.session.refresh(question)
    assert question.role == QuestionRole.GRADE


def test_scale_editor_marks_good_levels(qa, world):
    ok = qa.post(
        "/questionnaires/scales/new",
        data={
            "name": "Confidence",
            "key": "confidence",
            "levels": "High | 3 | #00703c | good\nMedium | 2 | good\nLow | 1\nNot known | N/A",
        },
    )
    assert ok.status_code == 302
    scale = db.session.scalar(sa.select(Scale).where(Scale.key == "confidence"))
    assert [level.counts_as_good for level in scale.levels] == [True, True, False, False]
    assert [level.colour for level in scale.levels][:2] == ["#00703c", "#505a5f"]
    listed = qa.get("/questionnaires/scales").data.decode()
    assert "Counts as good" in listed
    for levels, message in [
        ("A | 1 | #00703c | best\nB | 2", b"the last part can only be the word good"),
        ("A | 1 | good\nB | N/A | good", b"a not-applicable level cannot count as good"),
    ]:
        response = qa.post("/questionnaires/scales/new", data={"name": "X", "key": "x_scale", "levels": levels})
        assert response.status_code == 400, levels
        assert message in response.data, (levels, response.data[-2000:])
        assert b'href="#levels"' in response.data
