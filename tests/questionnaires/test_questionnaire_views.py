"""Building questionnaires through the pages, the API and the command line."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa
import yaml

from audit_app.extensions import db
from audit_app.questionnaires import services
from audit_app.questionnaires.models import (
    Question,
    Questionnaire,
    QuestionnaireKind,
    QuestionType,
    Section,
    VersionStatus,
)
from audit_app.rounds.models import Round
from tests.conftest import login
from tests.questionnaires.test_questionnaire_spec import EXAMPLE, EXPLICIT


@pytest.fixture()
def qa(client, world):
    return login(client, world.user("qa_member"))


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_build_a_two_section_questionnaire_publish_and_preview(qa, world):
    response = qa.post(
        "/questionnaires/new",
        data={
            "key": "missing_audit",
            "title": "Missing children audit",
            "kind": "case_audit",
            "theme": "Missing",
            "description": "",
        },
    )
    assert response.status_code == 302
    q = db.session.scalar(sa.select(Questionnaire).where(Questionnaire.key == "missing_audit"))
    base = f"/questionnaires/{q.id}/versions/1"
    assert (
        qa.post(f"{base}/sections/new", data={"title": "Return interviews", "key": "return_interviews"}).status_code
        == 302
    )
    assert qa.post(f"{base}/sections/new", data={"title": "Overall", "key": "overall"}).status_code == 302
    sections = db.session.scalars(
        sa.select(Section).where(Section.version_id == q.latest.id).order_by(Section.position)
    ).all()
    ofsted = db.session.scalar(sa.text("SELECT id FROM scales WHERE key = 'ofsted'"))
    first = qa.post(
        f"{base}/sections/{sections[0].id}/questions/new",
        data={
            "text": "Was a return interview offered?",
            "key": "offered",
            "type": "single_choice",
            "options": "Yes\nNo",
            "is_required": "y",
            "applies_to": ["social_care"],
        },
    )
    assert first.status_code == 302
    follow_up = qa.post(
        f"{base}/sections/{sections[0].id}/questions/new",
        data={
            "text": "Why not?",
            "key": "why_not",
            "type": "text",
            "condition_question_key": "offered",
            "condition_values": "No",
        },
    )
    assert follow_up.status_code == 302
    grade = qa.post(
        f"{base}/sections/{sections[1].id}/questions/new",
        data={
            "text": "Overall grade",
            "key": "overall_grade",
            "type": "scale",
            "scale_id": str(ofsted),
            "is_required": "y",
        },
    )
    assert grade.status_code == 302
    assert qa.post(f"{base}/publish").status_code == 302
    db.session.refresh(q)
    assert q.latest.status == VersionStatus.PUBLISHED
    preview = qa.get(base)
    assert preview.status_code == 200
    html = preview.data.decode()
    assert "Was a return interview offered?" in html and "Outstanding" in html
    assert "Asked only if the answer to “Was a return interview offered?” is No" in html
    assert "answer to offered" not in html  # people read the question, never its key
    assert "None</textarea>" not in html
    # As the police see it, the social-care question is not there.
    police = qa.get(f"{base}?sector=police").data.decode()
    assert 'name="q-offered"' not in police and "Overall grade" in police
    assert qa.get(f"{base}?sector=nonsense").status_code == 400


def test_editor_refusals_appear_beside_the_field(qa, world):
    version = services.import_questionnaire(world.partnership.id, EXAMPLE)
    db.session.commit()
    base = f"/questionnaires/{version.questionnaire_id}/versions/1"
    section = version.sections[0]
    cases = [
        ({"text": "Dup", "key": "signs_recognised", "type": "text"}, "key", b"already used"),
        ({"text": "Scale?", "key": "s1", "type": "scale"}, "scale_id", b"A scale question needs a scale"),
        (
            {"text": "Choice", "key": "c1", "type": "single_choice", "options": "Only"},
            "options",
            b"at least two options",
        ),
        (
            {
                "text": "Cond",
                "key": "c2",
                "type": "text",
                "condition_question_key": "signs_recognised",
                "condition_values": "Maybe",
            },
            "condition_values",
            b"is not an answer",
        ),
        (
            {"text": "Cond", "key": "c3", "type": "text", "condition_question_key": "signs_recognised"},
            "condition_values",
            b"Enter the answers that show this question",
        ),
        ({"text": "", "key": "Bad Key", "type": "text"}, "key", b"Use lower-case letters"),
        ({"text": "T", "key": "t", "type": "essay"}, "type", b"Select one of the options"),
        (
            {"text": "Who", "key": "who", "type": "multiple_choice", "options": "Police\nHealth; CAMHS"},
            "options",
            b"Option &#39;Health; CAMHS&#39; of question &#39;who&#39; contains &#39;;&#39;",
        ),
    ]
    for data, field, message in cases:
        before = _count(Question)
        response = qa.post(f"{base}/sections/{section.id}/questions/new", data=data)
        assert response.status_code == 400, data
        assert message in response.data, (data, response.data[:200])
        assert f'href="#{field}"'.encode() in response.data, (field, data)
        assert _count(Question) == before


def test_removing_a_question_others_depend_on_is_refused(qa, world):
    version = services.import_questionnaire(world.partnership.id, EXAMPLE)
    db.session.commit()
    target = next(q for q in version.questions if q.key == "signs_recognised")
    response = qa.post(
        f"/questionnaires/{version.questionnaire_id}/versions/1/questions/{target.id}/remove", follow_redirects=True
    )
    assert b"show_if.question: no question with key" in response.data
    assert db.session.get(Question, target.id) is not None


def test_reorder_and_move_between_sections(qa, world):
    version = services.import_questionnaire(world.partnership.id, EXAMPLE)
    db.session.commit()
    base = f"/questionnaires/{version.questionnaire_id}/versions/1"
    grade = next(q for q in version.questions if q.key == "recognition_grade")
    assert qa.post(f"{base}/questions/{grade.id}/move", data={"direction": "up"}).status_code == 302
    db.session.expire_all()
    assert [q.key for q in version.sections[0].questions] == ["signs_recognised", "recognition_grade", "signs_detail"]
    assert qa.post(f"{base}/questions/{grade.id}/move", data={"direction": "sideways"}).status_code == 400
    first = version.sections[0].questions[0]
    moved = qa.post(f"{base}/questions/{first.id}/move", data={"direction": "up"}, follow_redirects=True)
    assert b"already at the top" in moved.data
    assert qa.post(f"{base}/sections/{version.sections[1].id}/move", data={"direction": "up"}).status_code == 302
    db.session.expire_all()
    assert [s.key for s in version.sections] == ["impact_section", "recognition"]
    edit = qa.post(
        f"{base}/questions/{grade.id}/edit",
        data={
            "text": "Grade",
            "key": "recognition_grade",
            "type": "scale",
            "scale_id": str(grade.scale_id),
            "is_required": "y",
            "section_id": str(version.sections[0].id),
        },
    )
    assert edit.status_code == 302
    db.session.expire_all()
    assert db.session.get(Question, grade.id).section.key == "impact_section"


def test_published_and_in_use_versions_cannot_be_edited_in_the_ui(qa, world):
    version = services.import_questionnaire(world.partnership.id, EXAMPLE, publish=True)
    db.session.commit()
    base = f"/questionnaires/{version.questionnaire_id}/versions/1"
    page = qa.get(f"{base}/edit", follow_redirects=True)
    assert b"Published versions cannot be changed" in page.data
    assert qa.post(f"{base}/sections/new", data={"title": "X", "key": "x"}).status_code == 303
    assert qa.post(f"{base}/delete", follow_redirects=True).status_code == 200
    assert db.session.get(type(version), version.id) is not None
    db.session.add(
        Round(
            partnership_id=world.partnership.id,
            questionnaire_version_id=version.id,
            kind=QuestionnaireKind.CASE_AUDIT,
            title="R",
        )
    )
    db.session.commit()
    detail = qa.get(f"/questionnaires/{version.questionnaire_id}").data
    assert b"Used by a round" in detail
    assert qa.post(f"{base}/retire").status_code == 302
    db.session.refresh(version)
    assert version.status == VersionStatus.RETIRED


def test_new_draft_compare_and_delete_draft(qa, world):
    version = services.import_questionnaire(world.partnership.id, EXAMPLE, publish=True)
    db.session.commit()
    qid = version.questionnaire_id
    assert qa.post(f"/questionnaires/{qid}/drafts").status_code == 302
    draft = db.session.get(Questionnaire, qid).draft
    question = draft.questions[0]
    qa.post(
        f"/questionnaires/{qid}/versions/2/questions/{question.id}/edit",
        data={
            "text": "Were the signs of neglect recognised?",
            "key": question.key,
            "type": "scale",
            "scale_id": str(question.scale_id),
            "section_id": str(question.section_id),
        },
    )
    compare = qa.get(f"/questionnaires/{qid}/compare?from=1&to=2").data.decode()
    assert "Were the signs of neglect recognised?" in compare
    assert "required" in compare  # the required tick was dropped
    assert qa.get(f"/questionnaires/{qid}/compare?from=x").status_code == 400
    assert qa.get(f"/questionnaires/{qid}/compare?from=1&to=9").status_code == 404
    assert qa.post(f"/questionnaires/{qid}/versions/2/delete").status_code == 302
    assert db.session.get(Questionnaire, qid).draft is None


def test_library_start_and_copy(qa, world):
    items = services.library()
    assert items
    key = items[0]["key"]
    page = qa.get("/questionnaires/library")
    assert page.status_code == 200 and items[0]["title"].encode() in page.data
    assert qa.post(f"/questionnaires/library/{key}", data={"key": ""}).status_code == 302
    again = qa.post(f"/questionnaires/library/{key}", data={"key": ""})
    assert again.status_code == 400 and b"already exists" in again.data
    assert qa.post(f"/questionnaires/library/{key}", data={"key": "Not A Key"}).status_code == 400
    assert qa.post("/questionnaires/library/no_such_thing", data={"key": ""}).status_code == 404
    assert qa.post(f"/questionnaires/library/{key}", data={"key": "my_copy"}).status_code == 302
    source = db.session.scalar(sa.select(Questionnaire).where(Questionnaire.key == "my_copy"))
    copied = qa.post(f"/questionnaires/{source.id}/copy", data={"key": "my_second_copy", "title": "Second"})
    assert copied.status_code == 302
    second = db.session.scalar(sa.select(Questionnaire).where(Questionnaire.key == "my_second_copy"))
    assert services.export_version(second.latest)["sections"] == services.export_version(source.latest)["sections"]


def test_import_page_lists_every_problem_and_saves_nothing(qa, world):
    bad = dict(
        EXAMPLE,
        sections=[
            {"key": "s", "title": "S", "questions": []},
            {"key": "s", "title": "T", "questions": [{"key": "q", "text": "Q", "type": "scale", "scale": "nope"}]},
        ],
    )
    before = _count(Questionnaire)
    response = qa.post("/questionnaires/import", data={"text": yaml.safe_dump(bad)})
    assert response.status_code == 400
    html = response.data.decode()
    for path in ("sections[0].questions", "sections[1].key", "sections[1].questions[0].scale"):
        assert path in html
    assert _count(Questionnaire) == before
    upload = qa.post(
        "/questionnaires/import",
        data={"file": (io.BytesIO(yaml.safe_dump(EXAMPLE).encode()), "neglect.yaml")},
        content_type="multipart/form-data",
    )
    assert upload.status_code == 302
    assert _count(Questionnaire) == before + 1
    binary = qa.post(
        "/questionnaires/import",
        data={"file": (io.BytesIO(b"\xff\xfe\x00"), "x.yaml")},
        content_type="multipart/form-data",
    )
    assert binary.status_code == 400 and b"must be text" in binary.data
    big = qa.post(
        "/questionnaires/import",
        data={"file": (io.BytesIO(b"a" * (2 * 1024 * 1024 + 10)), "x.yaml")},
        content_type="multipart/form-data",
    )
    assert big.status_code == 400 and b"2 MB or smaller" in big.data
    assert qa.post("/questionnaires/import", data={}).status_code == 400


def test_export_download_round_trips(qa, world):
    version = services.import_questionnaire(world.partnership.id, EXAMPLE)
    db.session.commit()
    response = qa.get(f"/questionnaires/{version.questionnaire_id}/versions/1/export.yaml")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    assert yaml.safe_load(response.data) == services.export_version(version)


def test_scales_page_and_new_scale(qa, world):
    page = qa.get("/questionnaires/scales").data.decode()
    for label in ("Outstanding", "Requires improvement", "Fully met", "Partly", "Amber"):
        assert label in page
    ok = qa.post(
        "/questionnaires/scales/new",
        data={"name": "Confidence", "key": "confidence", "levels": "High | 3 | #00703c\nLow | 1\nNot known | N/A"},
    )
    assert ok.status_code == 302
    for levels, message in [
        ("Only | 1", b"at least 2"),
        ("A | x", b"must be a number"),
        ("A\nB", b"write label | value"),
        ("A | 1 | red\nB | 2", b"String should match"),
    ]:
        response = qa.post("/questionnaires/scales/new", data={"name": "X", "key": "x_scale", "levels": levels})
        assert response.status_code == 400, levels
        assert message in response.data, (levels, response.data[-3000:])
    duplicate = qa.post("/questionnaires/scales/new", data={"name": "O", "key": "ofsted", "levels": "A | 1\nB | 2"})
    assert duplicate.status_code == 400 and b"already exists" in duplicate.data


def test_list_filters(qa, world):
    services.import_questionnaire(world.partnership.id, EXAMPLE)
    db.session.commit()
    assert b"Neglect case audit" in qa.get("/questionnaires?kind=case_audit").data
    assert b"Neglect case audit" not in qa.get("/questionnaires?kind=self_assessment").data
    assert qa.get("/questionnaires?kind=bogus").status_code == 400
    assert qa.get("/questionnaires?theme=abc").status_code == 400


def test_auditors_may_preview_but_not_build(client, world):
    version = services.import_questionnaire(world.partnership.id, EXAMPLE)
    db.session.commit()
    login(client, world.user("auditor"))
    assert client.get(f"/questionnaires/{version.questionnaire_id}/versions/1").status_code == 200
    assert client.get("/questionnaires/new").status_code == 403
    other = services.import_questionnaire(world.other_partnership.id, EXAMPLE)
    db.session.commit()
    assert client.get(f"/questionnaires/{other.questionnaire_id}").status_code == 404


# -- API --


def test_api_lists_reads_and_imports(api, world):
    qa = api(world.user("qa_member"))
    created = qa.post("/api/v1/questionnaires/import?publish=true", json=EXAMPLE)
    assert created.status_code == 201
    assert created.json["status"] == "published"
    assert created.json["content"] == services.export_version(
        db.session.get(Questionnaire, created.json["questionnaire_id"]).latest
    )
    listed = qa.get("/api/v1/questionnaires").json["items"]
    assert [q["key"] for q in listed] == ["neglect_audit"]
    assert listed[0]["versions"][0]["question_count"] == 7
    qid = listed[0]["id"]
    assert qa.get(f"/api/v1/questionnaires/{qid}").json["title"] == "Neglect case audit"
    full = qa.get(f"/api/v1/questionnaires/{qid}/versions/1").json
    assert full["content"]["sections"][0]["questions"][1]["show_if"] == {
        "question": "signs_recognised",
        "in": ["Partly", "No"],
    }
    as_yaml = qa.post(
        "/api/v1/questionnaires/import", data=yaml.safe_dump(EXAMPLE), headers={"Content-Type": "application/yaml"}
    )
    assert as_yaml.status_code == 201 and as_yaml.json["number"] == 2
    assert qa.get("/api/v1/questionnaires?kind=weird").status_code == 400


def test_api_import_errors_are_listed_by_path(api, world):
    qa = api(world.user("qa_member"))
    bad = dict(
        EXAMPLE,
        sections=[
            {"key": "s", "title": "S", "questions": [{"key": "q", "text": "Q", "type": "scale", "scale": "nope"}]}
        ],
    )
    response = qa.post("/api/v1/questionnaires/import", json=bad)
    assert response.status_code == 400
    assert response.json["error"]["fields"] == {"sections[0].questions[0].scale": ["unknown scale 'nope'"]}
    assert qa.post("/api/v1/questionnaires/import", data="x", headers={"Content-Type": "text/plain"}).status_code == 415
    assert (
        qa.post(
            "/api/v1/questionnaires/import", data="key: [", headers={"Content-Type": "application/yaml"}
        ).status_code
        == 400
    )
    assert qa.post("/api/v1/questionnaires/import?publish=maybe", json=EXAMPLE).status_code == 400
    assert api(world.user("auditor")).post("/api/v1/questionnaires/import", json=EXAMPLE).status_code == 403
    assert _count(Questionnaire) == 0


# -- CLI --


def test_cli_import_and_export(app, world, tmp_path):
    runner = app.test_cli_runner()
    path = tmp_path / "q.yaml"
    path.write_text(yaml.safe_dump(EXPLICIT))
    result = runner.invoke(
        args=["questionnaires", "import", str(path), "--partnership", "North Test Partnership", "--publish"]
    )
    assert result.exit_code == 0, result.output
    assert "published version 1" in result.output
    exported = runner.invoke(
        args=["questionnaires", "export", "neglect_audit", "--partnership", "North Test Partnership"]
    )
    assert yaml.safe_load(exported.output) == yaml.safe_load(path.read_text()) | {
        "scales": yaml.safe_load(exported.output)["scales"]
    }
    bad = tmp_path / "bad.yaml"
    bad.write_text("key: x\ntitle: X\nkind: case_audit\nsections: []\n")
    failed = runner.invoke(args=["questionnaires", "import", str(bad), "--partnership", "North Test Partnership"])
    assert failed.exit_code != 0 and "sections: a questionnaire needs at least one section" in failed.output
    missing = runner.invoke(args=["questionnaires", "export", "nope", "--partnership", "North Test Partnership"])
    assert missing.exit_code != 0
    ambiguous = runner.invoke(args=["questionnaires", "export", "neglect_audit"])
    assert ambiguous.exit_code != 0 and "--partnership" in ambiguous.output


def test_every_library_questionnaire_imports_publishes_and_round_trips(world):
    items = services.library()
    for item in items:
        version = services.import_questionnaire(world.partnership.id, item["data"], publish=True)
        exported = services.export_version(version)
        again = services.import_questionnaire(world.other_partnership.id, yaml.safe_load(yaml.safe_dump(exported)))
        assert services.export_version(again) == exported, item["key"]
        assert all(q.type in QuestionType for q in version.questions)
