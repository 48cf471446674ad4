"""The questionnaire file format: every rule, every error listed by path, round trips."""

from __future__ import annotations

import copy

import pytest
import sqlalchemy as sa

from audit_app.core.errors import DomainError
from audit_app.extensions import db
from audit_app.questionnaires import services
from audit_app.questionnaires.models import Questionnaire, QuestionnaireKind, QuestionType, VersionStatus
from audit_app.questionnaires.spec import SpecError, parse_text, to_yaml
from audit_app.rounds.models import Round

EXAMPLE = {
    "format": 1,
    "key": "neglect_audit",
    "title": "Neglect case audit",
    "kind": "case_audit",
    "theme": "Neglect",
    "description": "Audit of neglect cases.",
    "scales": [
        {
            "key": "impact",
            "name": "Impact",
            "levels": [
                {"label": "High", "value": 3, "colour": "#00703c"},
                {"label": "Low", "value": 1, "colour": "#d4351c"},
                {"label": "Unknown", "not_applicable": True},
            ],
        }
    ],
    "sections": [
        {
            "key": "recognition",
            "title": "Recognition of risk",
            "description": "Was neglect recognised early?",
            "questions": [
                {
                    "key": "signs_recognised",
                    "text": "Were signs recognised?",
                    "type": "scale",
                    "scale": "yes_partly_no",
                    "required": True,
                },
                {
                    "key": "signs_detail",
                    "text": "What was missed?",
                    "type": "text",
                    "guidance": "Look at the chronology.",
                    "show_if": {"question": "signs_recognised", "in": ["Partly", "No"]},
                },
                {"key": "recognition_grade", "text": "Grade", "type": "scale", "scale": "ofsted", "required": True},
            ],
        },
        {
            "key": "impact_section",
            "title": "Impact",
            "questions": [
                {"key": "impact_rating", "text": "Impact for the child", "type": "scale", "scale": "impact"},
                {
                    "key": "tools",
                    "text": "Tools used",
                    "type": "multiple_choice",
                    "options": ["Graded Care Profile", "Other"],
                    "applies_to": ["social_care", "health"],
                },
                {"key": "visits", "text": "Home visits", "type": "number"},
                {"key": "first_contact", "text": "First contact", "type": "date"},
            ],
        },
    ],
}


def _explicit(data):
    """EXAMPLE as an export writes it: every role and good level stated."""
    data = copy.deepcopy(data)
    data["scales"][0]["levels"][0]["good"] = True
    questions = data["sections"][0]["questions"]
    questions[2] = {"key": "recognition_grade", "text": "Grade", "type": "scale", "role": "grade"} | questions[2]
    return data


EXPLICIT = _explicit(EXAMPLE)


def _problems(world, data) -> dict[str, str]:
    with pytest.raises(SpecError) as info:
        services.import_questionnaire(world.partnership.id, data)
    return {p.path: p.message for p in info.value.problems}


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_import_creates_a_draft_with_everything(world):
    version = services.import_questionnaire(world.partnership.id, EXAMPLE)
    db.session.commit()
    assert version.status == VersionStatus.DRAFT and version.number == 1
    q = version.questionnaire
    assert (q.key, q.kind, q.theme.name) == ("neglect_audit", QuestionnaireKind.CASE_AUDIT, "Neglect")
    assert [s.key for s in version.sections] == ["recognition", "impact_section"]
    questions = {question.key: question for question in version.questions}
    assert questions["signs_detail"].condition_values == ["Partly", "No"]
    assert questions["tools"].type == QuestionType.MULTIPLE_CHOICE
    assert questions["impact_rating"].scale.partnership_id == world.partnership.id
    assert questions["recognition_grade"].scale.is_builtin


def test_export_then_import_gives_back_an_identical_questionnaire(world):
    version = services.import_questionnaire(world.partnership.id, EXAMPLE)
    exported = services.export_version(version)
    # Export states what import settled: the role the key gave, the level counted as good.
    assert exported == EXPLICIT | {"scales": [_with_defaults(EXPLICIT["scales"][0])]}
    text = to_yaml(exported)
    # Into another partnership: a new questionnaire, the same content.
    other = services.import_questionnaire(world.other_partnership.id, parse_text(text))
    assert services.export_version(other) == exported
    # Into the same partnership once published: the next draft, the same content.
    services.publish_version(version)
    again = services.import_questionnaire(world.partnership.id, parse_text(text))
    assert again.number == 2
    assert services.export_version(again) == exported


def _with_defaults(scale):
    scale = copy.deepcopy(scale)
    scale["levels"][2] = {"label": "Unknown", "value": None, "colour": "#505a5f", "not_applicable": True}
    return scale


def test_a_multiple_choice_option_holding_a_semicolon_is_refused_naming_question_and_option(world):
    # A workbook cell separates chosen options with ";": "Health; CAMHS" would come back as two options.
    data = copy.deepcopy(EXAMPLE)
    data["sections"][1]["questions"][1]["options"] = ["Graded Care Profile", "Health; CAMHS", "Other;"]
    before = _count(Questionnaire)
    problems = _problems(world, data)
    assert set(problems) == {"sections[1].questions[1].options[1]", "sections[1].questions[1].options[2]"}
    assert problems["sections[1].questions[1].options[1]"].startswith(
        "option 'Health; CAMHS' of question 'tools' contains ';'"
    )
    assert _count(Questionnaire) == before


def test_a_single_choice_option_may_hold_a_semicolon(world):
    # One option per answer: nothing splits it.
    data = copy.deepcopy(EXAMPLE)
    question = data["sections"][1]["questions"][1]
    question.update(type="single_choice", options=["Graded Care Profile; version 2", "Other"])
    question.pop("applies_to")
    version = services.import_questionnaire(world.partnership.id, data)
    assert [q.options for q in version.questions if q.key == "tools"] == [["Graded Care Profile; version 2", "Other"]]


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        (
            lambda d: d["sections"][0]["questions"][2].update(scale="shiny"),
            "sections[0].questions[2].scale",
            "unknown scale 'shiny'",
        ),
        (
            lambda d: d["sections"][1]["questions"][0].update(key="signs_recognised"),
            "sections[1].questions[0].key",
            "already used at sections[0].questions[0]",
        ),
        (
            lambda d: d["sections"][0]["questions"][1]["show_if"].update(question="nowhere"),
            "sections[0].questions[1].show_if.question",
            "no question with key 'nowhere'",
        ),
        (
            lambda d: d["sections"][0]["questions"][1]["show_if"].update({"in": ["Maybe"]}),
            "sections[0].questions[1].show_if.in[0]",
            "'Maybe' is not an answer",
        ),
        (lambda d: d["sections"][1].update(questions=[]), "sections[1].questions", "at least one question"),
        (lambda d: d.update(sections=[]), "sections", "at least one section"),
        (lambda d: d["sections"][1].update(key="recognition"), "sections[1].key", "used twice"),
        (
            lambda d: d["sections"][1]["questions"][1].update(options=["Only one"]),
            "sections[1].questions[1].options",
            "at least two options",
        ),
        (
            lambda d: d["sections"][1]["questions"][2].update(scale="ofsted"),
            "sections[1].questions[2].scale",
            "only scale questions",
        ),
        (
            lambda d: d["sections"][1]["questions"][1].update(applies_to=["martians"]),
            "sections[1].questions[1].applies_to[0]",
            "unknown sector 'martians'",
        ),
        (
            lambda d: d["sections"][0]["questions"][0].update(type="essay"),
            "sections[0].questions[0].type",
            "Input should be",
        ),
        (
            lambda d: d["sections"][0]["questions"][0].update(colour="red"),
            "sections[0].questions[0].colour",
            "Extra inputs",
        ),
        (
            lambda d: d["sections"][0]["questions"][0].update(key="Bad Key"),
            "sections[0].questions[0].key",
            "String should match",
        ),
        (lambda d: d.update(kind="survey"), "kind", "Input should be"),
        (lambda d: d["scales"][0]["levels"][0].pop("value"), "scales[0].levels[0].value", "give a value"),
    ],
)
def test_bad_files_are_refused_whole_with_paths(world, change, path, message):
    data = copy.deepcopy(EXAMPLE)
    change(data)
    before = (_count(Questionnaire), _count(Round))
    problems = _problems(world, data)
    assert path in problems, problems
    assert message in problems[path]
    assert (_count(Questionnaire), _count(Round)) == before


def test_several_errors_are_all_listed(world):
    data = copy.deepcopy(EXAMPLE)
    data["sections"][0]["questions"][2]["scale"] = "shiny"
    data["sections"][1]["questions"] = []
    problems = _problems(world, data)
    assert {"sections[0].questions[2].scale", "sections[1].questions"} <= set(problems)


def test_bad_yaml_is_refused_with_its_line(world):
    with pytest.raises(SpecError) as info:
        services.import_text(world.partnership.id, "key: x\nsections: [\n  - bad")
    assert info.value.problems[0].path.startswith("line ")
    with pytest.raises(SpecError):
        services.import_text(world.partnership.id, "- just\n- a list\n")


def test_the_kind_of_an_existing_questionnaire_cannot_change(world):
    services.import_questionnaire(world.partnership.id, EXAMPLE)
    problems = _problems(world, EXAMPLE | {"kind": "self_assessment"})
    assert "kind" in problems


def test_a_conflicting_scale_definition_is_refused(world):
    data = copy.deepcopy(EXAMPLE)
    data["scales"][0]["key"] = "ofsted"
    data["sections"][1]["questions"][0]["scale"] = "ofsted"
    problems = _problems(world, data)
    assert "already exists with other levels" in problems["scales[0].key"]


def test_published_versions_are_immutable_and_new_drafts_keep_keys(world):
    version = services.import_questionnaire(world.partnership.id, EXAMPLE, publish=True)
    with pytest.raises(DomainError, match="Published versions cannot be changed"):
        services.add_section(version, key="extra", title="Extra")
    with pytest.raises(DomainError):
        services.delete_draft(version)
    draft = services.new_draft(version.questionnaire)
    assert draft.number == 2
    assert [q.key for q in draft.questions] == [q.key for q in version.questions]
    with pytest.raises(DomainError, match="already has a draft"):
        services.new_draft(version.questionnaire)


def test_a_version_used_by_a_round_can_never_be_edited_or_deleted(world):
    version = services.import_questionnaire(world.partnership.id, EXAMPLE)
    db.session.add(
        Round(
            partnership_id=world.partnership.id,
            questionnaire_version_id=version.id,
            kind=QuestionnaireKind.CASE_AUDIT,
            title="R",
        )
    )
    db.session.flush()
    for action in (
        lambda: services.add_section(version, key="x", title="X"),
        lambda: services.update_question(version.questions[0], text="Changed"),
        lambda: services.remove_question(version.questions[0]),
        lambda: services.delete_draft(version),
        lambda: services.publish_version(version),
    ):
        with pytest.raises(DomainError, match="used by a round"):
            action()


def test_retire_only_published(world):
    version = services.import_questionnaire(world.partnership.id, EXAMPLE)
    with pytest.raises(DomainError, match="Only a published version"):
        services.retire_version(version)
    services.publish_version(version)
    services.retire_version(version)
    assert version.status == VersionStatus.RETIRED and version.retired_at is not None


def test_diff_between_versions(world):
    v1 = services.import_questionnaire(world.partnership.id, EXAMPLE, publish=True)
    v2 = services.new_draft(v1.questionnaire)
    grade = next(q for q in v2.questions if q.key == "recognition_grade")
    services.update_question(grade, text="Overall grade for recognition", is_required=False)
    services.remove_question(next(q for q in v2.questions if q.key == "visits"))
    services.add_question(v2.sections[1], key="new_q", text="New?", type=QuestionType.TEXT)
    changes = {(c["kind"], c["key"]): c for c in services.diff_versions(v1, v2)}
    assert changes[("changed", "recognition_grade")]["fields"]["text"] == ("Grade", "Overall grade for recognition")
    assert changes[("changed", "recognition_grade")]["fields"]["required"] == (True, None)
    assert ("removed", "visits") in changes
    assert ("added", "new_q") in changes
    assert len(changes) == 3


def test_the_documented_example_imports_and_round_trips(world):
    from pathlib import Path

    doc = (Path(__file__).parents[2] / "docs" / "questionnaire-format.md").read_text()
    example = doc.split("```yaml\n", 1)[1].split("```", 1)[0]
    version = services.import_text(world.partnership.id, example, publish=True)
    assert version.questionnaire.key == "missing_children_audit"
    assert len(version.questions) == 10
    exported = services.export_version(version)
    again = services.import_questionnaire(world.other_partnership.id, parse_text(to_yaml(exported)))
    assert services.export_version(again) == exported
