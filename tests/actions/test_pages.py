"""The action plan's pages: recommendations, promotion from the chair's report and a case, actions, progress,
evidence of impact and its files, and "My actions" on the home page (client tests over a real database)."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
import sqlalchemy as sa

from audit_app.actions import services
from audit_app.actions.models import (
    Action,
    ActionStatus,
    ActionUpdate,
    DueDateChange,
    EvidenceStatus,
    ImpactEvidence,
    Rag,
    Recommendation,
)
from audit_app.case_audits import services as case_services
from audit_app.core import clock
from audit_app.core.audit import system_actor
from audit_app.extensions import db
from tests.case_audits.report_world import judged_round
from tests.conftest import login
from tests.factories import make_action, make_recommendation

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
LEAKS = ("None", "nan", "NaT")


def _clean(body: str) -> None:
    for leak in LEAKS:
        assert f">{leak}<" not in body and f" {leak} " not in body and f": {leak}" not in body, leak


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.fixture()
def rec(world):
    rec = make_recommendation(
        world.partnership.id,
        "Health attends every strategy discussion about a child",
        description="Ofsted JTAI, March 2026",
        agencies=[world.police],
        themes=["Information sharing"],
    )
    db.session.commit()
    return rec


@pytest.fixture()
def action(world, rec):
    action = make_action(
        rec, "Invite health to every strategy discussion", owner=world.user("auditor"), agency=world.police
    )
    db.session.commit()
    return action


def _evidence(action, world, files=()):
    with system_actor("test"):
        evidence = services.add_evidence(
            action,
            services.EvidenceIn(description="Health attended 9 in 10 strategy discussions in March"),
            files,
            by=world.user("auditor").id,
        )
        db.session.commit()
    return evidence


# -- recommendations --


def test_the_qa_member_records_a_recommendation_from_another_source(client, world):
    login(client, world.user("qa_member"))
    page = client.get("/recommendations/new")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "Where did the recommendation come from?" in body and "North Police" in body
    response = client.post(
        "/recommendations/new",
        data={
            "source": "other",
            "source_description": "Board challenge, May 2026",
            "text": "Agencies check that the child's voice is recorded in every plan",
            "themes": [],
            "new_theme": "Voice of the child; Supervision",
            "agency_ids": [str(world.police.agency_id), str(world.health.agency_id)],
        },
    )
    assert response.status_code == 303
    rec = db.session.scalar(sa.select(Recommendation))
    assert rec.number == 1 and rec.source_label == "Board challenge, May 2026"
    assert rec.theme_names == ["Supervision", "Voice of the child"]
    detail = client.get(response.location).get_data(as_text=True)
    assert "Recommendation 1" in detail and "Board challenge, May 2026" in detail and "Voice of the child" in detail
    assert "No actions yet" in detail and "Impact evidenced" in detail and "No, not yet" in detail
    _clean(detail)


def test_every_bad_field_of_a_recommendation_is_shown_at_once_and_nothing_saved(client, world):
    login(client, world.user("qa_member"))
    response = client.post(
        "/recommendations/new",
        data={"source": "round", "round_id": "", "text": "", "agency_ids": ["999999"], "tested_by_round_id": "x"},
    )
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert "There is a problem" in body
    for field in ("round_id", "text", "agency_ids", "tested_by_round_id"):
        assert f'href="#{field}"' in body, field
        assert f'id="{field}-error"' in body, field
    assert _count(Recommendation) == 0


def test_the_form_is_prefilled_from_a_round(client, world):
    round_ = judged_round(world, cases=1)
    login(client, world.user("qa_member"))
    body = client.get(f"/recommendations/new?source=round&round_id={round_.id}&text=Audit+supervision").get_data(
        as_text=True
    )
    assert f'<option value="{round_.id}" selected>' in body and ">Audit supervision</textarea>" in body


def test_recommendation_pages_by_role(client, world, rec, action):
    for role, status in (("qa_member", 200), ("scrutineer", 200), ("auditor", 200), ("agency_lead", 200)):
        login(client, world.user(role))
        page = client.get(f"/recommendations/{rec.id}")
        assert page.status_code == status, role
        body = page.get_data(as_text=True)
        assert "Invite health to every strategy discussion" in body and "Not started" in body and "Green" in body
        assert ("Add an action" in body) == (role == "qa_member"), role
        _clean(body)
    login(client, world.user("scrutineer"))
    assert client.get(f"/recommendations/{rec.id}/edit").status_code == 403
    login(client, world.user("other_admin"))
    assert client.get(f"/recommendations/{rec.id}").status_code == 404


def test_a_round_recommendation_links_its_round_only_for_those_who_may_open_it(client, world):
    round_ = judged_round(world, cases=1)
    rec = make_recommendation(world.partnership.id, "Audit supervision", round_=round_, agencies=[world.police])
    db.session.commit()
    for role in ("admin", "qa_member", "scrutineer", "auditor", "agency_lead"):
        login(client, world.user(role))
        body = client.get(f"/recommendations/{rec.id}").get_data(as_text=True)
        assert round_.title in body, role
        assert (f'href="/rounds/{round_.id}"' in body) == (role in ("admin", "qa_member", "scrutineer")), role
        if f'href="/rounds/{round_.id}"' in body:
            assert client.get(f"/rounds/{round_.id}").status_code == 200, role


def test_a_recommendation_only_for_health_is_hidden_from_police(client, world):
    health_only = make_recommendation(world.partnership.id, "Health only", agencies=[world.health])
    login(client, world.user("auditor"))
    assert client.get(f"/recommendations/{health_only.id}").status_code == 404


def test_a_recommendation_is_edited_and_deleted_only_without_actions(client, world, rec):
    login(client, world.user("qa_member"))
    edit = client.get(f"/recommendations/{rec.id}/edit").get_data(as_text=True)
    assert "Information sharing" in edit and 'value="other" checked' in edit
    response = client.post(
        f"/recommendations/{rec.id}/edit",
        data={
            "source": "other",
            "source_description": "Ofsted JTAI, March 2026",
            "text": "Health attends every strategy discussion",
            "number": "4",
            "themes": ["Information sharing"],
        },
    )
    assert response.status_code == 303
    assert (rec.number, rec.text, rec.agencies) == (4, "Health attends every strategy discussion", [])
    confirm = client.get(f"/recommendations/{rec.id}/delete")
    assert confirm.status_code == 200 and "Yes, delete the recommendation" in confirm.get_data(as_text=True)
    assert client.post(f"/recommendations/{rec.id}/delete").status_code == 303
    assert _count(Recommendation) == 0


def test_a_recommendation_with_actions_is_not_deleted(client, world, rec, action):
    login(client, world.user("qa_member"))
    response = client.post(f"/recommendations/{rec.id}/delete")
    assert response.status_code == 303
    assert db.session.get(Recommendation, rec.id) is not None
    assert "cannot be deleted" in client.get(response.location).get_data(as_text=True)


# -- promotion from the chair's report and from a case --


def test_promoted_from_the_chair_report_in_one_step(client, world):
    round_ = judged_round(world, cases=1)
    with system_actor("test"):
        _, (first, second) = case_services.save_chair_report(
            round_, {}, [(None, "Invite health to strategy discussions"), (None, "Audit supervision records")]
        )
        db.session.commit()
    login(client, world.user("qa_member"))
    report = client.get(f"/rounds/{round_.id}/chair-report").get_data(as_text=True)
    assert report.count("Add to the action plan") == 2
    response = client.post(f"/rounds/{round_.id}/report-recommendations/{second.id}/promote")
    assert response.status_code == 303
    rec = db.session.scalar(sa.select(Recommendation).where(Recommendation.report_recommendation_id == second.id))
    assert (rec.number, rec.text, rec.round_id) == (2, "Audit supervision records", round_.id)
    report = client.get(f"/rounds/{round_.id}/chair-report").get_data(as_text=True)
    assert report.count("Add to the action plan") == 1 and "Recommendation 2 in the action plan" in report
    # twice: refused in words, nothing doubled
    again = client.post(f"/rounds/{round_.id}/report-recommendations/{second.id}/promote")
    assert again.status_code == 303 and _count(Recommendation) == 1
    assert "already in the action plan" in client.get(again.location).get_data(as_text=True)
    # the scrutineer reads, and cannot promote
    login(client, world.user("scrutineer"))
    assert "Add to the action plan" not in client.get(f"/rounds/{round_.id}/chair-report").get_data(as_text=True)
    assert client.post(f"/rounds/{round_.id}/report-recommendations/{first.id}/promote").status_code == 403


def test_the_panel_recommendation_of_a_case_is_promoted(client, world):
    round_ = judged_round(world, cases=1)
    round_case = round_.cases[0]
    with system_actor("test"):
        case_services.record_judgement(
            round_case, section_key="", grade="Good", recommendations="Record the child's words in every plan"
        )
        db.session.commit()
    login(client, world.user("qa_member"))
    url = f"/rounds/{round_.id}/cases/{round_case.id}/discussion"
    assert "Add the panel's recommendation to the action plan" in client.get(url).get_data(as_text=True)
    response = client.post(f"/rounds/{round_.id}/cases/{round_case.id}/promote-recommendation")
    assert response.status_code == 303
    rec = db.session.scalar(sa.select(Recommendation))
    assert rec.text == "Record the child's words in every plan"
    assert {a.id for a in rec.agencies} == {world.police.agency_id, world.health.agency_id}
    assert f"recommendation {rec.number} in the action plan" in client.get(url).get_data(as_text=True)
    listing = client.get(f"/rounds/{round_.id}/recommendations").get_data(as_text=True)
    assert "The panel, case NG-001" in listing and "In the action plan" in listing
    _clean(listing)


def test_a_case_without_a_panel_recommendation_is_not_promoted(client, world):
    round_ = judged_round(world, cases=1)
    login(client, world.user("qa_member"))
    response = client.post(f"/rounds/{round_.id}/cases/{round_.cases[0].id}/promote-recommendation")
    assert response.status_code == 303 and _count(Recommendation) == 0


# -- actions --


def _action_form(world, **changes):
    due = clock.today() + timedelta(days=60)
    form = {
        "title": "Add a health question to the strategy discussion template",
        "owner_user_id": str(world.user("auditor").id),
        "owner_name": "",
        "owner_agency_id": str(world.police.agency_id),
        "due_on-day": str(due.day),
        "due_on-month": str(due.month),
        "due_on-year": str(due.year),
        "rag": "amber",
    }
    form.update(changes)
    return form


def test_the_qa_member_adds_an_action(client, world, rec):
    login(client, world.user("qa_member"))
    page = client.get(f"/recommendations/{rec.id}/actions/new").get_data(as_text=True)
    assert "Add an action" in page and "Amber: at risk" in page and "Blue" not in page
    response = client.post(f"/recommendations/{rec.id}/actions/new", data=_action_form(world))
    assert response.status_code == 303
    action = db.session.scalar(sa.select(Action))
    assert (action.rag, action.owner_user_id, action.status) == (
        Rag.AMBER,
        world.user("auditor").id,
        ActionStatus.NOT_STARTED,
    )


def test_every_bad_field_of_an_action_at_once(client, world, rec):
    login(client, world.user("qa_member"))
    response = client.post(
        f"/recommendations/{rec.id}/actions/new",
        data=_action_form(
            world, title="", owner_user_id="", owner_agency_id="99999", **{"due_on-day": "31", "due_on-month": "2"}
        ),
    )
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    for field in ("title", "owner_user_id", "owner_agency_id", "due_on"):
        assert f'href="#{field}"' in body, field
    assert _count(Action) == 0


def test_an_action_is_edited_by_the_qa_group_only(client, world, action):
    login(client, world.user("auditor"))
    assert client.get(f"/actions/{action.id}/edit").status_code == 403
    login(client, world.user("qa_member"))
    response = client.post(
        f"/actions/{action.id}/edit", data={"title": "Invite the designated nurse", "owner_name": "Sam Patel"}
    )
    assert response.status_code == 303
    assert (action.title, action.owner_user_id, action.owner_name) == ("Invite the designated nurse", None, "Sam Patel")


def test_the_action_page_shows_everything(client, world, action):
    with system_actor("test"):
        services.move_due_date(action, action.due_on + timedelta(days=14), "Waiting for the new template", by=None)
        services.post_update(
            action, services.UpdateIn(note="Template drafted", rag="amber", status="in_progress"), by=None
        )
        db.session.commit()
    _evidence(action, world, [(io.BytesIO(PDF), "attendance.pdf")])
    for role in ("auditor", "agency_lead", "qa_member", "scrutineer", "admin"):
        login(client, world.user(role))
        page = client.get(f"/actions/{action.id}")
        assert page.status_code == 200, role
        body = page.get_data(as_text=True)
        assert "Template drafted" in body and "Waiting for the new template" in body and "First agreed" in body
        assert "attendance.pdf" in body and "SHA-256" in body and "Awaiting the QA group" in body
        assert ("Post an update" in body) == (role != "scrutineer"), role
        assert ("Record the decision" in body) == (role in ("qa_member", "admin")), role
        _clean(body)


def test_the_owner_posts_an_update_and_a_bad_one_names_every_field(client, world, action):
    login(client, world.user("auditor"))
    bad = client.post(
        f"/actions/{action.id}/updates", data={"update-note": "", "update-status": "closed", "update-rag": "red"}
    )
    assert bad.status_code == 400
    body = bad.get_data(as_text=True)
    for field in ("update-note", "update-rag", "update-closure_reason"):
        assert f'href="#{field}"' in body, field
    assert _count(ActionUpdate) == 0 and action.status == ActionStatus.NOT_STARTED
    complete = client.post(
        f"/actions/{action.id}/updates",
        data={"update-note": "Done", "update-status": "complete", "update-rag": "green"},
    )
    assert complete.status_code == 400 and "accepted at least one piece of evidence" in complete.get_data(as_text=True)
    good = client.post(
        f"/actions/{action.id}/updates",
        data={"update-note": "Invitations sent", "update-status": "in_progress", "update-rag": "green"},
    )
    assert good.status_code == 303 and action.status == ActionStatus.IN_PROGRESS


def test_a_due_date_moves_only_with_a_reason(client, world, action):
    login(client, world.user("agency_lead"))
    first = action.due_on
    bad = client.post(
        f"/actions/{action.id}/due-date",
        data={"move-due_on-day": "40", "move-due_on-month": "1", "move-due_on-year": "2027"},
    )
    assert bad.status_code == 400
    body = bad.get_data(as_text=True)
    assert 'href="#move-due_on"' in body and 'href="#move-reason"' in body
    assert _count(DueDateChange) == 0
    new = first + timedelta(days=10)
    good = client.post(
        f"/actions/{action.id}/due-date",
        data={
            "move-due_on-day": new.day,
            "move-due_on-month": new.month,
            "move-due_on-year": new.year,
            "move-reason": "Staff sickness",
        },
    )
    assert good.status_code == 303 and action.due_on == new and action.original_due_on == first


def test_evidence_with_files_then_accepted_completes_the_action(client, world, action):
    login(client, world.user("auditor"))
    response = client.post(
        f"/actions/{action.id}/evidence",
        data={
            "evidence-description": "Health attended 9 in 10 strategy discussions",
            "evidence-measure": "Strategy discussions with health present",
            "evidence-unit": "%",
            "evidence-before_value": "40",
            "evidence-after_value": "90",
            "evidence-files": [(io.BytesIO(PDF), "audit.pdf"), (io.BytesIO(b"Notes\n"), "notes.txt")],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 303
    evidence = db.session.scalar(sa.select(ImpactEvidence))
    assert [f.original_filename for f in evidence.files] == ["audit.pdf", "notes.txt"]
    login(client, world.user("qa_member"))
    decided = client.post(
        f"/actions/{action.id}/evidence/{evidence.id}/decision",
        data={"decision": "accept", "decision_note": "Clear change", "complete_action": "yes"},
    )
    assert decided.status_code == 303
    assert evidence.status == EvidenceStatus.ACCEPTED and action.status == ActionStatus.COMPLETE
    assert "Yes: the QA group accepted" in client.get(f"/recommendations/{action.recommendation_id}").get_data(
        as_text=True
    )


def test_refused_evidence_names_the_file_and_every_field_and_keeps_nothing(client, world, action):
    login(client, world.user("auditor"))
    response = client.post(
        f"/actions/{action.id}/evidence",
        data={
            "evidence-description": "",
            "evidence-before_value": "lots",
            "evidence-after_on-day": "1",
            "evidence-files": [(io.BytesIO(b"MZ\x90\x00binary"), "tool.exe")],
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    for field in (
        "evidence-description",
        "evidence-before_value",
        "evidence-measure",
        "evidence-after_on",
        "evidence-files",
    ):
        assert f'href="#{field}"' in body, field
    assert "tool.exe" in body
    assert _count(ImpactEvidence) == 0


def test_a_rejection_needs_a_note(client, world, action):
    evidence = _evidence(action, world)
    login(client, world.user("qa_member"))
    response = client.post(f"/actions/{action.id}/evidence/{evidence.id}/decision", data={"decision": "reject"})
    assert response.status_code == 400
    assert f'href="#decision-{evidence.id}-note"' in response.get_data(as_text=True)
    assert evidence.status == EvidenceStatus.PENDING
    login(client, world.user("auditor"))
    assert (
        client.post(f"/actions/{action.id}/evidence/{evidence.id}/decision", data={"decision": "accept"}).status_code
        == 403
    )


# -- the file download --


def test_the_file_is_downloaded_only_by_those_who_see_the_action(client, world, rec):
    police_action = make_action(rec, "Police action", owner=world.user("auditor"), agency=world.police)
    evidence = _evidence(police_action, world, [(io.BytesIO(PDF), "attendance.pdf")])
    stored = evidence.files[0]
    url = f"/actions/{police_action.id}/evidence/{evidence.id}/files/{stored.id}"
    login(client, world.user("auditor"))
    response = client.get(url)
    assert response.status_code == 200 and response.data == PDF
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert "attendance.pdf" in response.headers["Content-Disposition"]
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    login(client, world.user("other_admin"))
    assert client.get(url).status_code == 404
    # a health-only action: police users do not see it, nor its files
    health_rec = make_recommendation(world.partnership.id, "Health only", agencies=[world.health])
    health_action = make_action(health_rec, "Health action", owner_name="Sam Patel", agency=world.health)
    health_evidence = _evidence(health_action, world, [(io.BytesIO(PDF), "health.pdf")])
    health_url = f"/actions/{health_action.id}/evidence/{health_evidence.id}/files/{health_evidence.files[0].id}"
    for role in ("auditor", "agency_lead"):
        login(client, world.user(role))
        assert client.get(health_url).status_code == 404, role
        assert client.get(f"/actions/{health_action.id}").status_code == 404, role
    # the file of another evidence through this evidence's URL
    login(client, world.user("qa_member"))
    assert (
        client.get(
            f"/actions/{police_action.id}/evidence/{evidence.id}/files/{health_evidence.files[0].id}"
        ).status_code
        == 404
    )


def test_a_body_past_the_limit_is_refused_beside_the_field(app, client, world, action):
    app.config["MAX_CONTENT_LENGTH"] = 1000
    try:
        login(client, world.user("auditor"))
        response = client.post(
            f"/actions/{action.id}/evidence",
            data={"evidence-description": "x", "evidence-files": [(io.BytesIO(b"a" * 5000), "big.txt")]},
            content_type="multipart/form-data",
        )
    finally:
        app.config["MAX_CONTENT_LENGTH"] = 10 * 1024 * 1024
    assert response.status_code == 413
    body = response.get_data(as_text=True)
    assert 'href="#evidence-files"' in body and "too large" in body
    assert _count(ImpactEvidence) == 0


# -- My actions --


def test_my_actions_on_the_home_page(client, world, rec):
    with system_actor("test"):
        late = make_action(rec, "Late action", owner=world.user("auditor"), due_on=clock.today() + timedelta(days=1))
        late.due_on = clock.today() - timedelta(days=3)  # due dates in the past are set by time passing
        db.session.commit()
    make_action(rec, "Agency action", owner_name="Sam Patel", agency=world.police)
    login(client, world.user("auditor"))
    body = client.get("/").get_data(as_text=True)
    assert "My actions" in body and "Late action" in body and "Agency action" not in body
    assert "1 overdue" in body and f"/actions?owner_user_id={world.user('auditor').id}" in body
    assert "/actions?overdue=yes" in body
    login(client, world.user("agency_lead"))
    body = client.get("/").get_data(as_text=True)
    assert "Agency action" in body and "Late action" not in body
    assert f"/actions?agency_id={world.police.agency_id}" in body
    login(client, world.user("scrutineer"))
    assert "My actions" not in client.get("/").get_data(as_text=True)
