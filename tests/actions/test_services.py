"""The rules of recommendations and actions, enforced in the services (and the database) whatever calls them."""

from __future__ import annotations

import hashlib
import io
from datetime import timedelta

import pytest
import sqlalchemy as sa

from audit_app.actions import services
from audit_app.actions.models import Action, ActionStatus, EvidenceStatus, Rag, Recommendation
from audit_app.actions.plan import PlanFilters, plan_actions, plan_counts
from audit_app.case_audits import services as case_services
from audit_app.core import clock
from audit_app.core.audit import system_actor
from audit_app.core.errors import FieldErrors, NotAllowedError
from audit_app.extensions import db
from audit_app.rounds.models import RoundStatus
from tests.factories import make_action, make_recommendation, make_round, principal_of

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_recommendations_are_numbered_within_their_source(world):
    pid = world.partnership.id
    first = make_recommendation(pid, description="Ofsted JTAI, March 2026")
    second = make_recommendation(pid, description="  ofsted jtai, MARCH 2026 ")
    other = make_recommendation(pid, description="Board challenge")
    assert (first.number, second.number, other.number) == (1, 2, 1)
    with system_actor("test"), pytest.raises(FieldErrors) as refused:
        services.create_recommendation(
            pid, services.RecommendationIn(source_description="Board challenge", text="x", number=1)
        )
    assert refused.value.fields == {"number": ["Recommendation 1 of this source already exists"]}


def test_every_bad_field_of_a_recommendation_is_named_at_once(world):
    with system_actor("test"), pytest.raises(FieldErrors) as refused:
        services.create_recommendation(
            world.partnership.id,
            services.RecommendationIn(
                source="round", round_id=None, text="", agency_ids=[world.other_agency.agency_id], number=0
            ),
        )
    assert set(refused.value.fields) == {"round_id", "text", "agency_ids", "number"}
    assert db.session.scalar(sa.select(sa.func.count(Recommendation.id))) == 0


def test_a_round_of_another_partnership_is_refused_as_a_source(world):
    theirs = make_round(world.other_partnership.id)
    with system_actor("test"), pytest.raises(FieldErrors) as refused:
        services.create_recommendation(
            world.partnership.id, services.RecommendationIn(source="round", round_id=theirs.id, text="x")
        )
    assert "round_id" in refused.value.fields


def test_blue_and_closed_go_together_and_need_a_reason(world):
    action = make_action(make_recommendation(world.partnership.id), owner=world.user("auditor"))
    with system_actor("test"):
        with pytest.raises(FieldErrors) as refused:
            services.post_update(action, services.UpdateIn(note="Cannot progress", rag="blue"), by=None)
        assert set(refused.value.fields) == {"closure_reason"}
        with pytest.raises(FieldErrors) as refused:
            services.post_update(action, services.UpdateIn(note="x", status="closed", rag="red"), by=None)
        assert set(refused.value.fields) == {"rag", "closure_reason"}
        with pytest.raises(FieldErrors) as refused:
            services.post_update(action, services.UpdateIn(note="x", status="in_progress", rag="blue"), by=None)
        assert set(refused.value.fields) == {"rag"}
        services.post_update(
            action,
            services.UpdateIn(note="Service recommissioned", rag="blue", closure_reason="Service ended"),
            by=None,
        )
    assert (action.status, action.rag, action.closure_reason) == (ActionStatus.CLOSED, Rag.BLUE, "Service ended")
    # reopening asks for a RAG rating: Blue never outlives "closed"
    with system_actor("test"), pytest.raises(FieldErrors) as refused:
        services.post_update(action, services.UpdateIn(note="Reopened", status="in_progress"), by=None)
    assert set(refused.value.fields) == {"rag"}
    with system_actor("test"):
        services.post_update(action, services.UpdateIn(note="Reopened", status="in_progress", rag="amber"), by=None)
    assert (action.status, action.rag, action.closure_reason) == (ActionStatus.IN_PROGRESS, Rag.AMBER, "")


def test_the_database_itself_refuses_blue_without_closed(world):
    action = make_action(make_recommendation(world.partnership.id), owner=world.user("auditor"))
    db.session.commit()
    with pytest.raises(sa.exc.IntegrityError):
        db.session.execute(sa.update(Action).where(Action.id == action.id).values(rag="blue"))
    db.session.rollback()


def test_complete_needs_accepted_evidence_and_accepting_can_complete(world):
    action = make_action(make_recommendation(world.partnership.id), owner=world.user("auditor"))
    with system_actor("test"):
        with pytest.raises(FieldErrors) as refused:
            services.post_update(action, services.UpdateIn(note="Done", status="complete"), by=None)
        assert "accepted at least one piece of evidence" in refused.value.fields["status"][0]
        evidence = services.add_evidence(
            action,
            services.EvidenceIn(description="Health now attends 9 in 10 strategy discussions"),
            [(io.BytesIO(PDF), "attendance.pdf")],
            by=world.user("auditor").id,
        )
        assert evidence.status == EvidenceStatus.PENDING and evidence.files[0].original_filename == "attendance.pdf"
        with pytest.raises(FieldErrors) as refused:
            services.decide_evidence(evidence, accept=False, note="", by=world.user("qa_member").id)
        assert set(refused.value.fields) == {"decision_note"}
        services.decide_evidence(evidence, accept=True, note="", by=world.user("qa_member").id, complete_action=True)
    assert (action.status, action.rag, action.completed_on) == (ActionStatus.COMPLETE, Rag.GREEN, clock.today())
    assert action.recommendation.impact_evidenced
    assert action.updates[0].status == ActionStatus.COMPLETE


def test_a_refused_file_names_itself_and_nothing_is_kept(world):
    action = make_action(make_recommendation(world.partnership.id), owner=world.user("auditor"))
    db.session.commit()
    with system_actor("test"), pytest.raises(FieldErrors) as refused:
        services.add_evidence(
            action,
            services.EvidenceIn(description="x", before_value="lots", measure=""),
            [
                (io.BytesIO(PDF), "ok.pdf"),
                (io.BytesIO(b"PK\x03\x04 not really"), "slides.pptx"),
                (io.BytesIO(b"MZ\x90"), "run.exe"),
            ],
            by=None,
        )
    fields = refused.value.fields
    assert set(fields) == {"before_value", "measure", "files"}
    assert [m.split(":")[0] for m in fields["files"]] == ["slides.pptx", "run.exe"]
    with system_actor("test"), pytest.raises(FieldErrors) as refused:
        services.add_evidence(
            action,
            services.EvidenceIn(description="x"),
            [(io.BytesIO(PDF), "ok.pdf"), (io.BytesIO(b"MZ\x90\x00binary"), "run.exe")],
            by=None,
        )
    assert refused.value.fields["files"][0].startswith("run.exe: ")
    # the PDF accepted before the refused file is not kept either: no row, no content on disk
    from audit_app.core.storage import StoredFile, _blob_path

    assert not _blob_path(hashlib.sha256(PDF).hexdigest()).exists()
    assert db.session.scalar(sa.select(sa.func.count(StoredFile.id))) == 0
    db.session.rollback()
    assert db.session.get(Action, action.id).evidence == []


def test_a_due_date_moves_only_with_a_reason_and_the_first_date_stays(world):
    action = make_action(make_recommendation(world.partnership.id), owner=world.user("auditor"))
    first = action.due_on
    with system_actor("test"):
        with pytest.raises(FieldErrors) as refused:
            services.move_due_date(action, first, "", by=None)
        assert set(refused.value.fields) == {"reason", "due_on"}
        services.move_due_date(action, first + timedelta(days=30), "Training postponed by the provider", by=None)
    assert (action.due_on, action.original_due_on, action.due_date_moved) == (first + timedelta(days=30), first, True)
    assert action.due_date_changes[0].reason == "Training postponed by the provider"


def test_overdue_is_computed_and_the_plan_puts_it_first(world, clock):
    rec = make_recommendation(world.partnership.id, agencies=[world.police])
    late = make_action(rec, "Late", agency=world.police, due_on=clock.today() - timedelta(days=1))
    red = make_action(rec, "Red", agency=world.health, due_on=clock.today() + timedelta(days=3))
    green = make_action(rec, "Green", due_on=clock.today() + timedelta(days=1))
    with system_actor("test"):
        services.post_update(red, services.UpdateIn(note="Stalled", rag="red"), by=None)
    db.session.commit()
    qa = principal_of(world.user("qa_member"), world.partnership.id)
    listed = plan_actions(qa)
    assert [a.title for a in listed] == ["Late", "Red", "Green"] and late.overdue and not green.overdue
    counts = plan_counts(listed)
    assert (counts.total, counts.overdue) == (3, 1)
    assert dict(counts.by_rag) == {Rag.RED: 1, Rag.AMBER: 0, Rag.GREEN: 2, Rag.BLUE: 0}
    assert [name for name, _, _ in counts.by_agency] == ["North Hospital", "North Police", "No agency named"]
    assert [a.title for a in plan_actions(qa, PlanFilters(overdue=True))] == ["Late"]
    assert [a.title for a in plan_actions(qa, PlanFilters(rag="red"))] == ["Red"]
    # the police auditor sees the recommendation addressed to police, so all three of its actions
    auditor = principal_of(world.user("auditor"), world.partnership.id)
    assert len(plan_actions(auditor)) == 3
    # another partnership sees none of them
    other = principal_of(world.user("other_admin"), world.other_partnership.id)
    assert plan_actions(other) == []


def test_an_agency_user_sees_only_what_concerns_their_agency(world):
    pid = world.partnership.id
    theirs = make_recommendation(pid, "For health", agencies=[world.health])
    make_action(theirs, "Health's", agency=world.health)
    owned = make_action(theirs, "Police's, under health's", agency=world.police)
    db.session.commit()
    auditor = principal_of(world.user("auditor"), pid)
    assert [a.id for a in plan_actions(auditor)] == [owned.id]


def test_promoting_the_chair_s_report_and_a_case_recommendation_keeps_the_link(world):
    round_ = make_round(world.partnership.id, agencies=[world.police], cases=["CS-1"], status=RoundStatus.CLOSED)
    with system_actor("test"):
        case_services.save_chair_report(round_, {}, [(None, "Invite health"), (None, "Audit again")])
        report_recs = case_services.report_recommendations(round_)
        rec = services.promote_report_recommendation(report_recs[1])
        assert (rec.number, rec.round_id, rec.report_recommendation_id) == (2, round_.id, report_recs[1].id)
        with pytest.raises(NotAllowedError):
            services.promote_report_recommendation(report_recs[1])
        judgement = case_services.record_judgement(
            round_.cases[0], section_key="", grade="", recommendations="Share the plan"
        )
        from_case = services.promote_case_recommendation(judgement)
    assert from_case.text == "Share the plan" and from_case.number == 3  # next after the 2 promoted
    assert [a.id for a in from_case.agencies] == [world.police.agency_id]
