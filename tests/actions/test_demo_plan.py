"""The demo's composite action plan: about 40 actions from the demo rounds and other sources, in every status
and RAG, some overdue, some with accepted evidence of impact, one recommendation tested by the re-audit."""

from __future__ import annotations

from collections import Counter

import sqlalchemy as sa

from audit_app.accounts.demo import PARTNERSHIP
from audit_app.accounts.models import Partnership
from audit_app.actions.models import (
    Action,
    ActionStatus,
    EvidenceStatus,
    ImpactEvidence,
    Rag,
    Recommendation,
    SourceKind,
)
from audit_app.extensions import db
from audit_app.rounds.models import Round


def test_the_demo_loads_a_composite_action_plan(app, db_session, clock):
    result = app.test_cli_runner().invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    north = db.session.scalar(sa.select(Partnership).where(Partnership.name == PARTNERSHIP))
    actions = db.session.scalars(sa.select(Action).where(Action.partnership_id == north.id)).all()
    recs = db.session.scalars(sa.select(Recommendation).where(Recommendation.partnership_id == north.id)).all()
    # the case-audit plan, the self-assessments' challenge events and an agency's improvement actions, and four
    # learning reviews' recommendations
    assert 40 <= len(actions) <= 50 and 14 <= len(recs) <= 20
    assert sum(r.source == SourceKind.REVIEW for r in recs) == 4
    assert {a.status for a in actions} == set(ActionStatus)
    assert {a.rag for a in actions} == set(Rag)
    assert sum(a.overdue for a in actions) >= 5
    assert sum(a.due_date_moved for a in actions) >= 3
    assert all(a.closure_reason for a in actions if a.status == ActionStatus.CLOSED)
    assert all(a.has_accepted_evidence for a in actions if a.status == ActionStatus.COMPLETE)
    assert sum(bool(a.updates) for a in actions) >= 25
    assert any(a.owner_user_id for a in actions) and any(a.owner_name for a in actions)
    evidence = db.session.scalars(sa.select(ImpactEvidence).join(Action).where(Action.partnership_id == north.id)).all()
    statuses = Counter(e.status for e in evidence)
    assert statuses[EvidenceStatus.ACCEPTED] >= 5 and statuses[EvidenceStatus.REJECTED] == 1
    assert statuses[EvidenceStatus.PENDING] == 1
    assert any(e.before_value is not None and e.after_value is not None for e in evidence)
    assert any(e.files for e in evidence)
    # Sources: the chair's reports of both CSE rounds, panel case recommendations, and other sources.
    assert any(r.report_recommendation_id for r in recs) and any(r.case_judgement_id for r in recs)
    others = {r.source_description for r in recs if r.source == SourceKind.OTHER}
    assert others == {"Ofsted JTAI, March 2026", "Board challenge: neglect", "Annual report 2025-26"}
    reaudit = db.session.scalar(sa.select(Round).where(Round.title == "CSE re-audit, spring 2026"))
    assert any(r.tested_by_round_id == reaudit.id for r in recs)
    assert all(r.themes for r in recs if r.return_id is None)  # an agency's own improvement actions have none
    # Varied texts: no action title, update or evidence repeated.
    titles = [a.title for a in actions]
    assert len(set(titles)) == len(titles)
    notes = [u.note for a in actions for u in a.updates]
    repeated = [n for n, count in Counter(notes).items() if count > 2]
    assert repeated == []
    # Loading again adds nothing.
    app.test_cli_runner().invoke(args=["demo", "load"])
    assert db.session.scalar(sa.select(sa.func.count(Action.id))) == len(actions)
    # The re-audit's findings page lists the recommendation it tests.
    from tests.conftest import login

    client = app.test_client()
    from audit_app.accounts.models import User

    login(client, db.session.scalar(sa.select(User).where(User.email == "qa@northbridge.example.org")), north.id)
    page = client.get(f"/rounds/{reaudit.id}/findings/re-audit").data.decode()
    assert "Recommendations this round tests" in page
