"""A rapid review's panel meeting and decision: recorded by the QA group, every bad field named at once; no
further review completes the review; commissioning a practice review starts its clock; a corrected decision is
kept in the audit trail."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from audit_app.core.audit import AuditEvent, system_actor
from audit_app.core.errors import FieldErrors, NotAllowedError
from audit_app.extensions import db
from audit_app.reviews import panel
from audit_app.reviews.clocks import ClockState, review_clocks
from audit_app.reviews.models import ClockKind, LearningReview, ReviewDecision, ReviewStatus, ReviewType
from tests.conftest import login

#: Monday 14 December 2026
TODAY = date(2026, 12, 14)
NOTIFIED = date(2026, 11, 26)


@pytest.fixture()
def review(world, clock) -> LearningReview:
    clock.set(TODAY)
    with system_actor("test:setup"):
        review = LearningReview(
            partnership_id=world.partnership.id,
            review_type=ReviewType.RAPID_REVIEW,
            pseudonym="Child K",
            aware_on=date(2026, 11, 24),
            notified_on=NOTIFIED,
        )
        db.session.add(review)
        db.session.commit()
    return review


def _date(prefix: str, d: date) -> dict[str, str]:
    return {f"{prefix}-day": str(d.day), f"{prefix}-month": str(d.month), f"{prefix}-year": str(d.year)}


def test_the_qa_group_records_the_panel_meeting(client, world, review):
    login(client, world.user("qa_member"))
    assert client.get(f"/reviews/{review.id}/panel").status_code == 200
    refused = client.post(f"/reviews/{review.id}/panel", data={**_date("met_on", date(2026, 11, 25)), "attendees": " "})
    body = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert "on or after the day the National Panel was notified (26 November 2026)" in body
    assert "Enter who attended" in body and "Choose the agencies present" in body
    future = client.post(f"/reviews/{review.id}/panel", data=_date("met_on", date(2026, 12, 15)))
    assert "today or in the past" in future.get_data(as_text=True)

    saved = client.post(
        f"/reviews/{review.id}/panel",
        data={
            **_date("met_on", date(2026, 12, 9)),
            "attendees": "Designated nurse, Integrated care board\n\n  Detective inspector, North Police  ",
            "agency_ids": [world.police.agency_id, world.health.agency_id],
        },
    )
    assert saved.status_code == 303
    db.session.refresh(review)
    assert review.panel_met_on == date(2026, 12, 9)
    assert review.panel_attendee_lines == [
        "Designated nurse, Integrated care board",
        "Detective inspector, North Police",
    ]
    assert [a.name for a in review.panel_agencies] == ["North Hospital", "North Police"]
    page = client.get(f"/reviews/{review.id}").get_data(as_text=True)
    assert "9 December 2026" in page and "Detective inspector, North Police" in page
    assert "Change the panel meeting" in page


def test_every_bad_panel_field_at_once_and_agencies_of_the_partnership_only(world, review):
    with pytest.raises(FieldErrors) as caught:
        panel.record_panel(review, panel.PanelIn(agency_ids=[world.other_agency.agency_id]))
    assert set(caught.value.fields) == {"met_on", "attendees", "agency_ids"}
    assert caught.value.fields["agency_ids"] == ["Choose agencies of this partnership only"]


def test_no_further_review_completes_the_review_and_a_correction_reopens_it(client, world, review):
    with system_actor("test:setup"):
        panel.record_panel(
            review, panel.PanelIn(met_on=date(2026, 12, 9), attendees="Chair", agency_ids=[world.police.agency_id])
        )
        db.session.commit()
    login(client, world.user("qa_member"))
    refused = client.post(
        f"/reviews/{review.id}/decision",
        data={**_date("decided_on", date(2026, 12, 8)), "decision": "sideways", "panel_response": "maybe"},
    )
    body = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert "Choose what was decided" in body
    assert "on or after the panel met (9 December 2026)" in body
    assert "Enter the reasons for the decision" in body
    assert "Choose the National Panel" in body

    saved = client.post(
        f"/reviews/{review.id}/decision",
        data={
            **_date("decided_on", date(2026, 12, 10)),
            "decision": "no_further_review",
            "rationale": "Agencies' learning is already in hand.",
            "panel_response": "awaiting",
        },
    )
    assert saved.status_code == 303
    db.session.refresh(review)
    assert review.decision == ReviewDecision.NO_FURTHER_REVIEW and review.status == ReviewStatus.COMPLETED
    rapid = next(c for c in review_clocks(review, TODAY) if c.kind == ClockKind.RAPID_REVIEW)
    assert rapid.state == ClockState.MET  # due 17 December, met on 10 December
    page = client.get(f"/reviews/{review.id}").get_data(as_text=True)
    assert "No further review" in page and "learning is already in hand" in page
    assert "Awaiting the National Panel" in page and "Correct the decision" in page

    # corrected: the panel commissions a practice review; its 6-month clock starts from the decision
    corrected = client.post(
        f"/reviews/{review.id}/decision",
        data={
            **_date("decided_on", date(2026, 12, 11)),
            "decision": "lcspr",
            "rationale": "The National Panel asked for a practice review.",
            "panel_response": "agreed",
        },
    )
    assert corrected.status_code == 303
    db.session.refresh(review)
    assert review.status == ReviewStatus.IN_PROGRESS and review.decision == ReviewDecision.LCSPR
    practice = next(c for c in review_clocks(review, TODAY) if c.kind == ClockKind.PRACTICE_REVIEW)
    assert practice.starts_on == date(2026, 12, 11) and practice.due_on == date(2027, 6, 11)
    events = db.session.scalars(
        sa.select(AuditEvent)
        .where(AuditEvent.entity_type == "LearningReview", AuditEvent.entity_id == review.id)
        .order_by(AuditEvent.id)
    ).all()
    changes = [e for e in events if e.after and "decision" in e.after]
    assert [e.after["decision"] for e in changes][-2:] == ["no_further_review", "lcspr"]
    assert changes[-1].before["decision"] == "no_further_review"


def test_the_decision_date_rules_and_every_field_at_once(world, review):
    with pytest.raises(FieldErrors) as caught:
        panel.record_decision(review, panel.DecisionIn())
    assert set(caught.value.fields) == {"decision", "decided_on", "rationale"}
    with pytest.raises(FieldErrors) as caught:
        panel.record_decision(
            review, panel.DecisionIn(decision="lcspr", decided_on=date(2026, 12, 15), rationale="Why")
        )
    assert caught.value.fields == {"decided_on": ["The date of the decision must be today or in the past"]}
    with pytest.raises(FieldErrors) as caught:
        panel.record_decision(
            review, panel.DecisionIn(decision="lcspr", decided_on=date(2026, 11, 25), rationale="Why")
        )
    assert "National Panel was notified" in caught.value.fields["decided_on"][0]
    # the panel cannot meet after the decision it took
    with system_actor("test:setup"):
        panel.record_decision(
            review, panel.DecisionIn(decision="local_learning_review", decided_on=date(2026, 12, 1), rationale="Why")
        )
    with pytest.raises(FieldErrors) as caught:
        panel.record_panel(
            review, panel.PanelIn(met_on=date(2026, 12, 2), attendees="Chair", agency_ids=[world.police.agency_id])
        )
    assert "on or before the decision (1 December 2026)" in caught.value.fields["met_on"][0]


def test_only_a_rapid_review_has_a_panel_and_decision_here(client, world, review):
    review.review_type = ReviewType.THEMATIC_REVIEW
    with pytest.raises(NotAllowedError):
        panel.record_panel(review, panel.PanelIn())
    with pytest.raises(NotAllowedError):
        panel.record_decision(review, panel.DecisionIn())
    db.session.commit()
    login(client, world.user("qa_member"))
    for page in ("panel", "decision"):
        shown = client.get(f"/reviews/{review.id}/{page}").get_data(as_text=True)
        assert "Only a rapid review has a panel meeting" in shown and 'name="rationale"' not in shown
    refused = client.post(
        f"/reviews/{review.id}/decision",
        data={**_date("decided_on", date(2026, 12, 10)), "decision": "lcspr", "rationale": "Why"},
    )
    assert refused.status_code == 409


def test_who_may_record(client, world, review):
    for role in ("auditor", "agency_lead", "scrutineer"):
        login(client, world.user(role))
        assert client.get(f"/reviews/{review.id}/panel").status_code == 403, role
        assert client.post(f"/reviews/{review.id}/decision", data={}).status_code in (400, 403), role
    login(client, world.user("scrutineer"))
    page = client.get(f"/reviews/{review.id}").get_data(as_text=True)
    assert "Panel meeting" in page and "Record the panel meeting" not in page


def test_panel_and_decision_through_the_api(world, review, api):
    qa = api(world.user("qa_member"))
    url = f"/api/v1/reviews/{review.id}"
    assert qa.get(f"{url}/panel").get_json() == {
        "review_id": review.id,
        "met_on": None,
        "attendees": [],
        "agencies": [],
    }
    bad = qa.put(f"{url}/panel", json={"met_on": "2026-12-25"})
    assert bad.status_code == 400 and set(bad.get_json()["error"]["fields"]) == {"met_on", "attendees", "agency_ids"}
    put = qa.put(
        f"{url}/panel",
        json={"met_on": "2026-12-09", "attendees": ["Chair, partnership"], "agency_ids": [world.police.agency_id]},
    )
    assert put.status_code == 200
    assert put.get_json()["agencies"] == [{"id": world.police.agency_id, "name": "North Police"}]
    assert qa.put(f"{url}/decision", json={"decision": "sideways"}).status_code == 400
    decided = qa.put(
        f"{url}/decision",
        json={
            "decision": "no_further_review",
            "decided_on": "2026-12-10",
            "rationale": "In hand",
            "panel_response": "agreed",
        },
    )
    assert decided.status_code == 200
    body = decided.get_json()
    assert body["decision_label"] == "No further review" and body["status"] == "completed"
    assert body["panel_response_label"] == "Agreed"
    scrutineer = api(world.user("scrutineer"))
    assert scrutineer.get(f"{url}/decision").get_json()["decision"] == "no_further_review"
    assert scrutineer.put(f"{url}/decision", json={}).status_code == 403
    assert api(world.user("auditor")).get(f"{url}/panel").status_code == 403
