"""The action plan's API: recommendations (and promoting them), actions, updates, evidence with its files, the plan.

Each endpoint's happy path and its refusals: every bad field named at once (400), what one cannot see is 404
(another partnership's, or for an agency user what is not addressed to or owned by their agency), a role that
may not write is 403, a state that does not allow the change is 409.
"""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta

import pytest
import sqlalchemy as sa

from audit_app.actions.models import Action, ActionStatus, ImpactEvidence, Recommendation
from audit_app.case_audits import services as case_services
from audit_app.case_audits.models import CaseJudgement
from audit_app.core import clock
from audit_app.core.audit import system_actor
from audit_app.core.storage import StoredFile
from audit_app.extensions import db
from audit_app.rounds.models import RoundStatus
from tests.factories import (
    make_action,
    make_recommendation,
    make_return_answered,
    make_round,
    returns_of,
)

V1 = "/api/v1"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture()
def plan(world):
    """A recommendation addressed to police with an action the police auditor owns, and one addressed to health
    with an action of a named person at health."""
    pid = world.partnership.id
    police_rec = make_recommendation(
        pid, "Invite health to every strategy discussion.", agencies=[world.police], themes=["Neglect"]
    )
    police_action = make_action(police_rec, owner=world.user("auditor"), agency=world.police)
    health_rec = make_recommendation(
        pid, "Audit discharge planning.", description="Ofsted JTAI", agencies=[world.health]
    )
    health_action = make_action(
        health_rec,
        "Review discharge letters",
        owner_name="Dr Amira Shah",
        agency=world.health,
        due_on=clock.today() - timedelta(days=5),
    )
    db.session.commit()
    return {
        "police_rec": police_rec.id,
        "police_action": police_action.id,
        "health_rec": health_rec.id,
        "health_action": health_action.id,
    }


def _count(model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


# -- recommendations --


def test_qa_records_lists_changes_and_deletes_a_recommendation(api, world, plan):
    qa = api(world.user("qa_member"))
    created = qa.post(
        f"{V1}/recommendations",
        json={
            "source": "other",
            "source_description": "Board challenge, May 2026",
            "text": "Check that escalation is understood by schools.",
            "themes": ["Escalation", "Neglect"],
            "agency_ids": [world.police.agency_id],
        },
    )
    assert created.status_code == 201, created.json
    rec = created.json
    assert rec["source"] == "other" and rec["source_label"] == "Other source"
    assert rec["source_name"] == "Board challenge, May 2026" and rec["number"] == 1
    assert rec["agencies"] == [{"id": world.police.agency_id, "name": "North Police"}]
    assert rec["themes"] == ["Escalation", "Neglect"]
    assert rec["impact_evidenced"] is False and rec["actions_total"] == 0

    listed = qa.get(f"{V1}/recommendations").json
    assert listed["total"] == 3
    assert {r["id"] for r in qa.get(f"{V1}/recommendations?theme=Escalation").json["items"]} == {rec["id"]}
    by_agency = qa.get(f"{V1}/recommendations?agency_id={world.health.agency_id}").json["items"]
    assert [r["id"] for r in by_agency] == [plan["health_rec"]]
    by_source = qa.get(f"{V1}/recommendations", query_string={"source": rec["source_key"]}).json["items"]
    assert [r["id"] for r in by_source] == [rec["id"]]
    assert qa.get(f"{V1}/recommendations?source=round").json["total"] == 0

    url = f"{V1}/recommendations/{rec['id']}"
    assert qa.get(url).json["text"] == "Check that escalation is understood by schools."
    changed = qa.patch(url, json={"text": "Check escalation with schools.", "agency_ids": []})
    assert changed.status_code == 200, changed.json
    assert changed.json["text"] == "Check escalation with schools."
    assert changed.json["agencies"] == [] and changed.json["themes"] == ["Escalation", "Neglect"]

    assert qa.delete(url).status_code == 204
    assert qa.get(url).status_code == 404
    # one with actions keeps its history: 409
    refused = qa.delete(f"{V1}/recommendations/{plan['police_rec']}")
    assert refused.status_code == 409
    assert "actions" in refused.json["error"]["message"]


def test_a_recommendation_of_a_round_takes_the_rounds_title(api, world):
    round_ = make_round(world.partnership.id, title="Neglect audit 2026", agencies=[world.police], cases=1)
    db.session.commit()
    body = api(world.user("admin")).post(
        f"{V1}/recommendations", json={"source": "round", "round_id": round_.id, "text": "Use the neglect toolkit."}
    )
    assert body.status_code == 201
    assert body.json["round"] == {"id": round_.id, "title": "Neglect audit 2026"}
    assert body.json["source_name"] == "Neglect audit 2026" and body.json["source_key"] == f"round:{round_.id}"
    listed = api(world.user("admin")).get(f"{V1}/recommendations?round_id={round_.id}").json
    assert [r["id"] for r in listed["items"]] == [body.json["id"]]


def test_every_bad_field_of_a_recommendation_is_named_at_once(api, world):
    qa = api(world.user("qa_member"))
    theirs = make_round(world.other_partnership.id)
    db.session.commit()
    refused = qa.post(
        f"{V1}/recommendations",
        json={
            "source": "other",
            "source_description": "",
            "text": "",
            "agency_ids": [world.other_agency.agency_id],
            "tested_by_round_id": theirs.id,
            "number": 0,
        },
    )
    assert refused.status_code == 400
    assert set(refused.json["error"]["fields"]) == {
        "source_description",
        "text",
        "agency_ids",
        "tested_by_round_id",
        "number",
    }
    typed = qa.post(f"{V1}/recommendations", json={"source": "inspection", "round_id": 0, "number": "3"})
    assert typed.status_code == 400
    assert {"source", "round_id", "number"} <= set(typed.json["error"]["fields"])
    assert _count(Recommendation) == 0


def test_what_one_cannot_see_is_404_and_scrutineers_only_read(api, world, plan):
    police_url = f"{V1}/recommendations/{plan['police_rec']}"
    health_url = f"{V1}/recommendations/{plan['health_rec']}"
    elsewhere = api(world.user("other_admin"))
    assert elsewhere.get(police_url).status_code == 404
    assert elsewhere.patch(police_url, json={"text": "x"}).status_code == 404
    assert elsewhere.get(f"{V1}/actions/{plan['police_action']}").status_code == 404
    assert elsewhere.get(f"{V1}/recommendations").json["total"] == 0
    assert elsewhere.get(f"{V1}/plan").json["counts"]["total"] == 0

    auditor = api(world.user("auditor"))
    assert auditor.get(police_url).status_code == 200
    assert auditor.get(health_url).status_code == 404
    assert auditor.get(f"{V1}/actions/{plan['health_action']}").status_code == 404
    assert auditor.get(f"{V1}/actions/{plan['health_action']}/updates").status_code == 404
    assert [r["id"] for r in auditor.get(f"{V1}/recommendations").json["items"]] == [plan["police_rec"]]
    assert auditor.post(f"{V1}/recommendations", json={"source": "other"}).status_code == 403

    scrutineer = api(world.user("scrutineer"))
    assert scrutineer.get(health_url).status_code == 200
    assert scrutineer.get(health_url).json["can_manage"] is False
    assert scrutineer.patch(health_url, json={"text": "x"}).status_code == 403
    assert scrutineer.post(f"{V1}/recommendations/{plan['health_rec']}/actions", json={}).status_code == 403
    update = scrutineer.post(f"{V1}/actions/{plan['health_action']}/updates", json={"note": "Seen"})
    assert update.status_code == 403
    assert scrutineer.post(f"{V1}/actions/{plan['health_action']}/evidence", json={}).status_code == 403


# -- promoting from the chair's report and the panel --


@pytest.fixture()
def discussed_round(world):
    """A case audit in discussion: a police return submitted with a recommendation in it, a chair's report
    recommendation and the panel's recommendation on the case."""
    round_ = make_round(
        world.partnership.id,
        title="Neglect audit",
        agencies=[world.police],
        cases=["CS-101"],
        status=RoundStatus.OPEN,
    )
    (ret,) = returns_of(round_)
    make_return_answered(ret, world.user("auditor"), submit=True)
    from audit_app.rounds import services as round_services

    with system_actor("test"):
        round_services.move_round(round_, RoundStatus.CLOSED)
        _, (report_rec,) = case_services.save_chair_report(round_, {}, [(None, "Invite health to strategy meetings")])
        judgement = CaseJudgement(
            round_case_id=round_.cases[0].id, section_key="", recommendations="Share the chronology with school."
        )
        db.session.add(judgement)
        db.session.commit()
    return round_, report_rec, judgement


def test_qa_promotes_the_chair_reports_recommendation_once(api, world, discussed_round):
    round_, report_rec, _ = discussed_round
    url = f"{V1}/report-recommendations/{report_rec.id}/promote"
    assert api(world.user("scrutineer")).post(url).status_code == 403
    assert api(world.user("other_admin")).post(url).status_code == 404
    promoted = api(world.user("qa_member")).post(url)
    assert promoted.status_code == 201, promoted.json
    assert promoted.json["report_recommendation_id"] == report_rec.id
    assert promoted.json["number"] == 1 and promoted.json["round"]["id"] == round_.id
    assert promoted.json["text"] == "Invite health to strategy meetings"
    again = api(world.user("qa_member")).post(url)
    assert again.status_code == 409
    assert "already in the action plan" in again.json["error"]["message"]


def test_qa_promotes_the_panels_case_recommendation_once(api, world, discussed_round):
    round_, _, judgement = discussed_round
    round_case = round_.cases[0]
    url = f"{V1}/rounds/{round_.id}/cases/{round_case.id}/promote-recommendation"
    assert api(world.user("auditor")).post(url).status_code == 403
    promoted = api(world.user("qa_member")).post(url)
    assert promoted.status_code == 201, promoted.json
    assert promoted.json["case_judgement_id"] == judgement.id
    assert promoted.json["agencies"] == [{"id": world.police.agency_id, "name": "North Police"}]
    assert api(world.user("qa_member")).post(url).status_code == 409
    # a case the panel made no recommendation on: 409, saying so
    other = make_round(world.partnership.id, agencies=[world.police], cases=1)
    db.session.commit()
    none = api(world.user("qa_member")).post(f"{V1}/rounds/{other.id}/cases/{other.cases[0].id}/promote-recommendation")
    assert none.status_code == 409
    assert "no recommendation" in none.json["error"]["message"]
    assert api(world.user("other_admin")).post(url).status_code == 404


def test_the_rounds_candidates_say_where_each_came_from(api, world, discussed_round):
    round_, report_rec, judgement = discussed_round
    qa = api(world.user("qa_member"))
    qa.post(f"{V1}/report-recommendations/{report_rec.id}/promote")
    body = qa.get(f"{V1}/rounds/{round_.id}/recommendation-candidates")
    assert body.status_code == 200, body.json
    kinds = {c["kind"]: c for c in body.json["candidates"]}
    assert set(kinds) == {"chair_report", "panel", "return"}
    assert kinds["chair_report"]["recommendation_id"] is not None
    assert kinds["chair_report"]["kind_label"] == "Chair's report"
    assert kinds["panel"]["case_reference"] == "CS-101" and kinds["panel"]["recommendation_id"] is None
    assert kinds["panel"]["case_judgement_id"] == judgement.id
    answer = kinds["return"]
    assert answer["agency"] == {"id": world.police.agency_id, "name": "North Police"}
    assert answer["case_reference"] == "CS-101" and answer["text"]
    assert api(world.user("scrutineer")).get(f"{V1}/rounds/{round_.id}/recommendation-candidates").status_code == 200
    assert api(world.user("auditor")).get(f"{V1}/rounds/{round_.id}/recommendation-candidates").status_code == 403
    assert api(world.user("other_admin")).get(f"{V1}/rounds/{round_.id}/recommendation-candidates").status_code == 404


# -- actions, due dates and updates --


def test_qa_adds_an_action_and_every_bad_field_is_named(api, world, plan):
    qa = api(world.user("qa_member"))
    url = f"{V1}/recommendations/{plan['police_rec']}/actions"
    refused = qa.post(url, json={"title": "", "owner_agency_id": world.other_agency.agency_id})
    assert refused.status_code == 400
    assert set(refused.json["error"]["fields"]) == {"title", "owner_user_id", "owner_agency_id", "due_on"}
    blue = qa.post(url, json={"title": "x", "owner_name": "A", "due_on": "2026-12-01", "rag": "blue"})
    assert blue.status_code == 400 and "rag" in blue.json["error"]["fields"]
    due = (clock.today() + timedelta(days=40)).isoformat()
    created = qa.post(
        url,
        json={
            "title": "Brief police on health's role",
            "owner_user_id": world.user("agency_lead").id,
            "owner_agency_id": world.police.agency_id,
            "due_on": due,
            "rag": "amber",
        },
    )
    assert created.status_code == 201, created.json
    action = created.json
    assert action["owner"] == {"user_id": world.user("agency_lead").id, "name": world.user("agency_lead").name}
    assert action["owner_agency"] == {"id": world.police.agency_id, "name": "North Police"}
    assert (action["status"], action["status_label"]) == ("not_started", "Not started")
    assert (action["rag"], action["rag_label"]) == ("amber", "Amber")
    assert action["due_on"] == action["original_due_on"] == due
    assert action["overdue"] is False and action["latest_update"] is None
    assert action["recommendation_id"] == plan["police_rec"]

    listed = qa.get(url).json
    assert [a["id"] for a in listed["items"]] == [plan["police_action"], action["id"]]

    patched = qa.patch(f"{V1}/actions/{action['id']}", json={"owner_name": "Sgt Jo Bell"})
    assert patched.status_code == 200, patched.json
    assert patched.json["owner"] == {"user_id": None, "name": "Sgt Jo Bell"}
    assert patched.json["owner_label"] == "Sgt Jo Bell (North Police)"
    bad = qa.patch(f"{V1}/actions/{action['id']}", json={"title": "", "owner_user_id": world.user("other_admin").id})
    assert bad.status_code == 400
    assert set(bad.json["error"]["fields"]) == {"title", "owner_user_id"}
    # the owner updates but does not edit
    assert api(world.user("auditor")).patch(f"{V1}/actions/{plan['police_action']}", json={}).status_code == 403


def test_an_overdue_action_says_so_and_its_due_date_moves_only_with_a_reason(api, world, plan):
    qa = api(world.user("qa_member"))
    url = f"{V1}/actions/{plan['health_action']}"
    action = qa.get(url).json
    assert action["overdue"] is True
    assert action["owner"] == {"user_id": None, "name": "Dr Amira Shah"}
    refused = qa.post(f"{url}/due-date", json={"due_on": action["due_on"], "reason": ""})
    assert refused.status_code == 400
    assert set(refused.json["error"]["fields"]) == {"due_on", "reason"}
    new = (clock.today() + timedelta(days=30)).isoformat()
    moved = qa.post(f"{url}/due-date", json={"due_on": new, "reason": "Waiting for the new discharge policy"})
    assert moved.status_code == 200, moved.json
    assert moved.json["due_on"] == new and moved.json["original_due_on"] == action["original_due_on"]
    assert moved.json["due_date_moved"] is True and moved.json["overdue"] is False
    (change,) = moved.json["due_date_changes"]
    assert change["reason"] == "Waiting for the new discharge policy"
    assert change["changed_by"]["user_id"] == world.user("qa_member").id
    # the police auditor cannot see it, nor move it
    assert api(world.user("auditor")).post(f"{url}/due-date", json={"due_on": new, "reason": "x"}).status_code == 404


def test_the_owner_posts_updates_and_the_rules_are_explained(api, world, plan):
    auditor = api(world.user("auditor"))
    url = f"{V1}/actions/{plan['police_action']}/updates"
    posted = auditor.post(url, json={"note": "Invitations changed", "rag": "amber", "status": "in_progress"})
    assert posted.status_code == 201, posted.json
    assert (posted.json["rag"], posted.json["rag_label"]) == ("amber", "Amber")
    assert (posted.json["status"], posted.json["status_label"]) == ("in_progress", "In progress")
    assert posted.json["author"] == {"user_id": world.user("auditor").id, "name": world.user("auditor").name}

    closed = auditor.post(url, json={"note": "", "status": "closed"})
    assert closed.status_code == 400
    assert set(closed.json["error"]["fields"]) == {"note", "closure_reason"}
    complete = auditor.post(url, json={"note": "Done", "status": "complete"})
    assert complete.status_code == 400
    assert "accepted" in complete.json["error"]["fields"]["status"][0]
    typed = auditor.post(url, json={"note": "x", "rag": "purple", "status": "done"})
    assert typed.status_code == 400 and {"rag", "status"} <= set(typed.json["error"]["fields"])
    future = auditor.post(url, json={"note": "x", "written_on": (clock.today() + timedelta(days=2)).isoformat()})
    assert future.status_code == 400 and "written_on" in future.json["error"]["fields"]

    listed = auditor.get(url).json
    assert listed["total"] == 1 and listed["items"][0]["note"] == "Invitations changed"
    action = auditor.get(f"{V1}/actions/{plan['police_action']}").json
    assert action["latest_update"]["note"] == "Invitations changed" and action["rag"] == "amber"
    assert action["can_update"] is True and action["can_edit"] is False

    # the police lead updates the police action; a named person's health action is beyond both
    lead = api(world.user("agency_lead"))
    assert lead.post(url, json={"note": "Checked"}).status_code == 201
    # an action the auditor can see (addressed to police) but does not own: 403
    other = make_action(db.session.get(Recommendation, plan["police_rec"]), owner_name="Someone Else")
    db.session.commit()
    assert auditor.get(f"{V1}/actions/{other.id}").status_code == 200
    assert auditor.post(f"{V1}/actions/{other.id}/updates", json={"note": "x"}).status_code == 403


def test_closing_takes_blue_and_a_reason(api, world, plan):
    qa = api(world.user("qa_member"))
    url = f"{V1}/actions/{plan['health_action']}"
    closed = qa.post(f"{url}/updates", json={"note": "Service decommissioned", "rag": "blue", "closure_reason": "Gone"})
    assert closed.status_code == 201
    action = qa.get(url).json
    assert (action["status"], action["rag"], action["closure_reason"]) == ("closed", "blue", "Gone")
    assert action["rag_label"] == "Blue" and action["overdue"] is False
    moved = qa.post(f"{url}/due-date", json={"due_on": "2030-01-01", "reason": "x"})
    assert moved.status_code == 400 and "due_on" in moved.json["error"]["fields"]


# -- evidence of impact, its files and the QA group's decision --


def test_owner_adds_evidence_with_a_file_and_qa_accepts_it_completing_the_action(api, world, plan):
    auditor = api(world.user("auditor"))
    url = f"{V1}/actions/{plan['police_action']}/evidence"
    content = b"Health attended 9 of 10 strategy discussions in May.\n"
    added = auditor.post(
        url,
        data={
            "description": "Health now attends strategy discussions",
            "measure": "Strategy discussions with health present",
            "unit": "%",
            "before_value": "40",
            "before_on": "2026-01-31",
            "after_value": "90",
            "after_on": "2026-05-31",
            "files": [(io.BytesIO(content), "attendance.txt"), (io.BytesIO(PDF), "minutes.pdf")],
        },
        content_type="multipart/form-data",
    )
    assert added.status_code == 201, added.json
    evidence = added.json
    assert (evidence["status"], evidence["status_label"]) == ("pending", "Awaiting the QA group")
    assert (evidence["before_value"], evidence["after_value"]) == (40.0, 90.0)
    assert evidence["before_on"] == "2026-01-31"
    text_file, pdf_file = evidence["files"]
    assert text_file["filename"] == "attendance.txt" and text_file["content_type"] == "text/plain"
    assert text_file["sha256"] == hashlib.sha256(content).hexdigest() and text_file["size_bytes"] == len(content)
    assert pdf_file["content_type"] == "application/pdf"

    download = auditor.get(text_file["url"])
    assert download.status_code == 200
    assert download.data == content
    assert download.mimetype == "text/plain"
    assert download.headers["Content-Disposition"].startswith("attachment")
    assert "attendance.txt" in download.headers["Content-Disposition"]
    assert download.headers["X-Content-SHA256"] == text_file["sha256"]
    assert download.headers["X-Content-Type-Options"] == "nosniff"
    assert api(world.user("scrutineer")).get(pdf_file["url"]).data == PDF
    assert api(world.user("other_admin")).get(text_file["url"]).status_code == 404
    assert auditor.get(f"{url}/{evidence['id']}/files/{pdf_file['id'] + 1000}").status_code == 404
    # content lost from the file store (a restore without the files): said in words, never a 500
    from audit_app.core.storage import _blob_path

    blob = _blob_path(pdf_file["sha256"])
    kept = blob.read_bytes()
    blob.unlink()
    try:
        lost = auditor.get(pdf_file["url"])
        assert lost.status_code == 410 and "minutes.pdf is missing from the file store" in lost.json["error"]["message"]
    finally:
        blob.write_bytes(kept)

    assert auditor.get(url).json["total"] == 1
    assert auditor.get(f"{url}/{evidence['id']}").json["description"] == "Health now attends strategy discussions"

    decision = f"{url}/{evidence['id']}/decision"
    assert auditor.post(decision, json={"accept": True}).status_code == 403
    qa = api(world.user("qa_member"))
    no_note = qa.post(decision, json={"accept": False})
    assert no_note.status_code == 400 and set(no_note.json["error"]["fields"]) == {"note"}
    assert qa.post(decision, json={"accept": "yes"}).status_code == 400
    accepted = qa.post(decision, json={"accept": True, "note": "Clear before and after", "complete_action": True})
    assert accepted.status_code == 200, accepted.json
    assert (
        accepted.json["status"] == "accepted" and accepted.json["decided_by"]["user_id"] == world.user("qa_member").id
    )
    action = qa.get(f"{V1}/actions/{plan['police_action']}").json
    assert (action["status"], action["rag"], action["has_accepted_evidence"]) == ("complete", "green", True)
    assert qa.get(f"{V1}/recommendations/{plan['police_rec']}").json["impact_evidenced"] is True
    again = qa.post(decision, json={"accept": False, "note": "Changed my mind"})
    assert again.status_code == 409 and "already accepted" in again.json["error"]["message"]


def test_a_refused_file_names_itself_and_nothing_is_stored(api, world, plan):
    auditor = api(world.user("auditor"))
    url = f"{V1}/actions/{plan['police_action']}/evidence"
    before = (_count(ImpactEvidence), _count(StoredFile))
    refused = auditor.post(
        url,
        data={
            "description": "",
            "before_on": "31/02/2026",
            "before_value": "lots",
            "files": [(io.BytesIO(b"MZ\x90\x00\x03binary"), "tool.exe"), (io.BytesIO(PDF), "minutes.pdf")],
        },
        content_type="multipart/form-data",
    )
    assert refused.status_code == 400
    fields = refused.json["error"]["fields"]
    assert set(fields) == {"description", "before_on", "before_value", "measure", "files"}
    assert any("tool.exe" in message for message in fields["files"])
    assert (_count(ImpactEvidence), _count(StoredFile)) == before
    renamed = auditor.post(
        url,
        data={"description": "x", "files": [(io.BytesIO(PDF), "minutes.txt")]},
        content_type="multipart/form-data",
    )
    assert renamed.status_code == 400 and "minutes.txt" in renamed.json["error"]["fields"]["files"][0]
    assert (_count(ImpactEvidence), _count(StoredFile)) == before


def test_evidence_without_files_may_be_json(api, world, plan):
    qa = api(world.user("qa_member"))
    url = f"{V1}/actions/{plan['health_action']}/evidence"
    added = qa.post(
        url, json={"description": "Discharge letters now name the GP", "measure": "Letters", "after_value": 12}
    )
    assert added.status_code == 201, added.json
    assert added.json["files"] == [] and added.json["after_value"] == 12.0
    bad = qa.post(url, json={"description": "", "after_on": "2026-01-01", "before_on": "2026-02-01"})
    assert bad.status_code == 400 and set(bad.json["error"]["fields"]) == {"description", "after_on"}
    assert qa.post(url, data="description=x", content_type="text/plain").status_code == 415


# -- the composite plan --


def test_the_plan_filters_and_counts(api, world, plan):
    qa = api(world.user("qa_member"))
    body = qa.get(f"{V1}/plan")
    assert body.status_code == 200, body.json
    counts = body.json["counts"]
    assert (counts["total"], counts["overdue"], counts["complete"]) == (2, 1, 0)
    assert [(r["key"], r["label"], r["count"]) for r in counts["by_rag"]] == [
        ("red", "Red", 0),
        ("amber", "Amber", 0),
        ("green", "Green", 2),
        ("blue", "Blue", 0),
    ]
    assert [(a["name"], a["agency_id"], a["total"], a["overdue"]) for a in counts["by_agency"]] == [
        ("North Hospital", world.health.agency_id, 1, 1),
        ("North Police", world.police.agency_id, 1, 0),
    ]
    # overdue first
    assert [a["id"] for a in body.json["actions"]] == [plan["health_action"], plan["police_action"]]
    assert body.json["themes"] == ["Neglect"]
    assert {s["label"] for s in body.json["sources"]} == {"Board challenge", "Ofsted JTAI"}

    def ids(**query) -> list[int]:
        response = qa.get(f"{V1}/plan", query_string=query)
        assert response.status_code == 200, response.json
        return [a["id"] for a in response.json["actions"]]

    assert ids(overdue="true") == [plan["health_action"]]
    assert ids(agency_id=world.police.agency_id) == [plan["police_action"]]
    assert ids(owner_user_id=world.user("auditor").id) == [plan["police_action"]]
    assert ids(theme="Neglect") == [plan["police_action"]]
    assert ids(recommendation_id=plan["health_rec"]) == [plan["health_action"]]
    assert ids(source="other") == [plan["health_action"], plan["police_action"]]
    assert ids(source="round") == []
    assert ids(rag="red") == [] and ids(status="not_started") == [plan["health_action"], plan["police_action"]]

    qa.post(f"{V1}/actions/{plan['police_action']}/updates", json={"note": "Slipping", "rag": "red"})
    assert ids(rag="red") == [plan["police_action"]]
    red = qa.get(f"{V1}/plan?rag=red").json["counts"]
    assert red["total"] == 1 and red["by_rag"][0]["count"] == 1

    refused = qa.get(f"{V1}/plan?rag=purple&status=done&agency_id=0")
    assert refused.status_code == 400
    assert set(refused.json["error"]["fields"]) == {"rag", "status", "agency_id"}


def test_the_plan_and_lists_take_a_few_queries_however_long(api, world, plan, count_queries):
    qa = api(world.user("qa_member"))
    rec = db.session.get(Recommendation, plan["police_rec"])

    def queries() -> tuple[int, ...]:
        counts = []
        for url in (f"{V1}/plan", f"{V1}/recommendations", f"{V1}/recommendations/{rec.id}/actions"):
            with count_queries() as counter:
                assert qa.get(url).status_code == 200
            counts.append(counter.count)
        return tuple(counts)

    def add(n: int) -> None:
        for i in range(n):
            action = make_action(rec, f"Action {i}", owner=world.user("agency_lead"), agency=world.police)
            qa.post(f"{V1}/actions/{action.id}/updates", json={"note": "Started", "status": "in_progress"})
            qa.post(f"{V1}/actions/{action.id}/due-date", json={"due_on": "2030-01-01", "reason": "Later"})
            make_recommendation(
                world.partnership.id, f"Recommendation {i}", agencies=[world.health], themes=["Neglect"]
            )
        db.session.commit()

    add(1)  # one of each kind of row, so that every eager load has something to load
    few = queries()
    add(5)
    assert queries() == few


def test_an_agency_user_sees_only_their_part_of_the_plan(api, world, plan):
    body = api(world.user("auditor")).get(f"{V1}/plan").json
    assert [a["id"] for a in body["actions"]] == [plan["police_action"]]
    assert body["counts"]["total"] == 1
    assert body["actions"][0]["can_update"] is True
    assert db.session.get(Action, plan["police_action"]).status == ActionStatus.NOT_STARTED


# -- fuzzed with real objects behind the URLs (tests/api/test_api_fuzz.py fuzzes with made-up ids, mostly 404) --


def _fuzz_runner(operation, ids: dict[str, int], token: str):
    from hypothesis import HealthCheck, given, settings
    from schemathesis.checks import not_a_server_error, status_code_conformance

    @given(case=operation.as_strategy())
    @settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None)
    def run(case) -> None:
        if case.path_parameters:
            case.path_parameters = {name: ids[name] for name in case.path_parameters}
        response = case.call(headers={"Authorization": f"Bearer {token}"})
        case.validate_response(response, checks=[not_a_server_error, status_code_conformance])

    return run


@pytest.mark.parametrize("role", ["qa_member", "auditor"])
def test_the_plans_operations_fuzzed_over_real_objects_never_fail(app, world, plan, discussed_round, role):
    import schemathesis

    from tests.factories import api_token

    round_, report_rec, _ = discussed_round
    with system_actor("test"):
        from audit_app.actions import services as action_services

        added = action_services.add_evidence(
            db.session.get(Action, plan["police_action"]),
            action_services.EvidenceIn(description="Attendance rose"),
            [(io.BytesIO(b"Attendance rose.\n"), "attendance.txt")],
            by=world.user("auditor").id,
        )
        db.session.commit()
    ids = {
        "recommendation_id": plan["police_rec"],
        "action_id": plan["police_action"],
        "evidence_id": added.id,
        "file_id": added.files[0].id,
        "report_recommendation_id": report_rec.id,
        "round_id": round_.id,
        "round_case_id": round_.cases[0].id,
    }
    token = api_token(world.user(role), world.partnership.id)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    failures: list[str] = []
    ran = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.definition.raw.get("tags") != ["actions"]:
            continue
        ran += 1

        run = _fuzz_runner(operation, ids, token)
        try:
            run()
        except Exception as error:  # every failing operation is listed, not only the first
            failures.append(f"{operation.label}: {str(error).strip().splitlines()[0][:300]}")
    assert ran >= 20
    assert failures == []


def test_the_document_describes_the_evidence_form_and_the_plans_enums(client, db_session):
    document = client.get(f"{V1}/openapi.json").get_json()
    schemas = document["components"]["schemas"]
    body = document["paths"][f"{V1}/actions/{{action_id}}/evidence"]["post"]["requestBody"]["content"]
    assert set(body) == {"application/json", "multipart/form-data"}
    form = body["multipart/form-data"]["schema"]["properties"]
    assert {"description", "measure", "unit", "before_value", "before_on", "after_value", "after_on"} <= set(form)
    assert form["files"]["type"] == "array"
    download = document["paths"][f"{V1}/actions/{{action_id}}/evidence/{{evidence_id}}/files/{{file_id}}"]["get"]
    assert {"application/pdf", "text/plain", "image/png"} <= set(download["responses"]["200"]["content"])

    def values(schema_name: str, prop: str) -> set[str]:
        schema = schemas[schema_name]["properties"][prop]
        schema = schemas[schema["$ref"].rsplit("/", 1)[-1]] if "$ref" in schema else schema
        return set(schema["enum"])

    assert values("ActionOut", "status") == {s.value for s in ActionStatus}
    assert values("ActionOut", "rag") == {"red", "amber", "green", "blue"}
    assert values("ActionIn", "rag") == {"red", "amber", "green"}
    assert values("EvidenceOut", "status") == {"pending", "accepted", "rejected"}
    assert values("CandidateOut", "kind") == {"chair_report", "panel", "return"}
    plan = {p["name"]: p["schema"] for p in document["paths"][f"{V1}/plan"]["get"]["parameters"]}
    assert {"source", "agency_id", "owner_user_id", "status", "rag", "theme", "overdue", "recommendation_id"} <= set(
        plan
    )


def test_a_patch_that_moves_a_recommendation_to_a_round_needs_the_round(api, world, plan):
    url = f"{V1}/recommendations/{plan['health_rec']}"
    refused = api(world.user("admin")).patch(url, json={"source": "round", "text": ""})
    assert refused.status_code == 400
    assert set(refused.json["error"]["fields"]) == {"round_id", "text"}
    assert api(world.user("admin")).get(url).json["source"] == "other"
