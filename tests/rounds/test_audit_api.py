"""The case-audit API: rounds, cases, returns, answers, submission and review."""

from __future__ import annotations

import sqlalchemy as sa

from audit_app.extensions import db
from audit_app.questionnaires import services as questionnaires
from audit_app.rounds.models import Return
from tests.questionnaires.test_questionnaire_spec import EXAMPLE


def test_a_round_from_plan_to_accepted_return(api, world, mailbox):
    version = questionnaires.import_questionnaire(world.partnership.id, EXAMPLE, publish=True)
    db.session.commit()
    qa = api(world.user("qa_member"))
    created = qa.post("/api/v1/rounds", json={"title": "API round", "version_id": version.id, "due_on": "2026-12-01"})
    assert created.status_code == 201
    round_id = created.json["id"]
    bad_case = qa.post(
        f"/api/v1/rounds/{round_id}/cases", json={"reference": "Mary Jones", "agency_ids": [world.police.agency_id]}
    )
    assert bad_case.status_code == 400 and "reference" in bad_case.json["error"]["fields"]
    added = qa.post(
        f"/api/v1/rounds/{round_id}/cases",
        json={"reference": "CS-9", "agency_ids": [world.police.agency_id, world.health.agency_id]},
    )
    assert added.status_code == 201 and added.json["cases"][0]["reference"] == "CS-9"
    assert qa.post(f"/api/v1/rounds/{round_id}/status", json={"to": "reported"}).status_code == 409
    assert qa.post(f"/api/v1/rounds/{round_id}/status", json={"to": "sideways"}).status_code == 400
    opened = qa.post(f"/api/v1/rounds/{round_id}/status", json={"to": "open"})
    assert opened.status_code == 200 and opened.json["status"] == "open"
    assert len(mailbox) == 1  # the police; the hospital has nobody to email

    auditor = api(world.user("auditor"))
    mine = auditor.get("/api/v1/returns").json["items"]
    assert [r["agency_name"] for r in mine] == ["North Police"]
    ret = mine[0]
    wrong = auditor.put(
        f"/api/v1/returns/{ret['id']}/answers",
        json={"lock_version": ret["lock_version"], "answers": {"signs_recognised": "Maybe"}},
    )
    assert wrong.status_code == 400 and "signs_recognised" in wrong.json["error"]["fields"]
    saved = auditor.put(
        f"/api/v1/returns/{ret['id']}/answers",
        json={"lock_version": ret["lock_version"], "answers": {"signs_recognised": "Yes", "recognition_grade": "Good"}},
    )
    assert saved.status_code == 200 and saved.json["answers"]["recognition_grade"] == "Good"
    stale = auditor.put(
        f"/api/v1/returns/{ret['id']}/answers",
        json={"lock_version": ret["lock_version"], "answers": {"signs_recognised": "No"}},
    )
    assert stale.status_code == 409 and "lock_version" in stale.json["error"]["fields"]
    assert auditor.post(f"/api/v1/returns/{ret['id']}/submit").json["status"] == "ready_for_sign_off"
    lead = api(world.user("agency_lead"))
    assert lead.post(f"/api/v1/returns/{ret['id']}/submit").json["status"] == "submitted"
    assert qa.post(f"/api/v1/returns/{ret['id']}/request-changes", json={"note": ""}).status_code == 400
    back = qa.post(f"/api/v1/returns/{ret['id']}/request-changes", json={"note": "Add the meeting date"})
    assert back.json["status"] == "changes_requested" and back.json["note"] == "Add the meeting date"
    assert lead.post(f"/api/v1/returns/{ret['id']}/submit").json["status"] == "submitted"
    assert qa.post(f"/api/v1/returns/{ret['id']}/accept").json["status"] == "accepted"
    assert qa.get(f"/api/v1/rounds/{round_id}").json["cases"][0]["agency_ids"] == sorted(
        [world.police.agency_id, world.health.agency_id],
        key=lambda i: {world.police.agency_id: "North Police", world.health.agency_id: "North Hospital"}[i],
    )


def test_agencies_cannot_reach_each_others_returns_by_api(api, world):
    version = questionnaires.import_questionnaire(world.partnership.id, EXAMPLE, publish=True)
    db.session.commit()
    qa = api(world.user("qa_member"))
    round_id = qa.post("/api/v1/rounds", json={"title": "R", "version_id": version.id}).json["id"]
    qa.post(f"/api/v1/rounds/{round_id}/cases", json={"reference": "CS-1", "agency_ids": [world.health.agency_id]})
    qa.post(f"/api/v1/rounds/{round_id}/status", json={"to": "open"})
    health_return = db.session.scalar(sa.select(Return.id))
    police = api(world.user("auditor"))
    assert police.get(f"/api/v1/returns/{health_return}").status_code == 404
    assert (
        police.put(f"/api/v1/returns/{health_return}/answers", json={"lock_version": 1, "answers": {}}).status_code
        == 404
    )
    assert police.get("/api/v1/returns").json["items"] == []
    assert police.get(f"/api/v1/rounds/{round_id}").status_code == 403
    other = api(world.user("other_admin"))
    assert other.get(f"/api/v1/rounds/{round_id}").status_code == 404
    assert other.get(f"/api/v1/returns/{health_return}").status_code == 404
    assert qa.post("/api/v1/rounds", json={"title": "X", "version_id": 999999}).status_code == 400
