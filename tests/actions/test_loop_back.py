"""The loop back: a re-audit's findings pages list the recommendations it tests, their actions and whether their
impact is evidenced, to each viewer only those they may see."""

from __future__ import annotations

import io

from audit_app.actions import services
from audit_app.core.audit import system_actor
from audit_app.extensions import db
from audit_app.rounds.models import RoundStatus
from tests.conftest import login
from tests.factories import make_action, make_recommendation, make_round

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def _tested_by(rec, round_) -> None:
    with system_actor("test"):
        services.update_recommendation(
            rec,
            services.RecommendationIn(
                source=rec.source.value,
                round_id=rec.round_id,
                source_description=rec.source_description,
                text=rec.text,
                agency_ids=[a.id for a in rec.agencies],
                tested_by_round_id=round_.id,
            ),
        )


def test_the_reaudit_lists_the_recommendations_it_tests(client, world):
    pid = world.partnership.id
    first = make_round(pid, title="CSE audit, autumn", agencies=[world.police], cases=1, status=RoundStatus.CLOSED)
    again = make_round(pid, title="CSE re-audit, spring", agencies=[world.police], cases=1, status=RoundStatus.CLOSED)
    for_police = make_recommendation(
        pid, "Quote the child's own words in every review.", round_=first, agencies=[world.police]
    )
    for_health = make_recommendation(
        pid, "Invite the named nurse to every strategy discussion.", round_=first, agencies=[world.health]
    )
    untested = make_recommendation(pid, "Refresh the escalation protocol.", round_=first, agencies=[world.police])
    done = make_action(for_police, "Add a 'child's words' box to the template", owner=world.user("auditor"))
    make_action(for_police, "Audit ten reviews", owner_name="DS Priya Nair", agency=world.police)
    with system_actor("test"):
        evidence = services.add_evidence(
            done,
            services.EvidenceIn(description="Reviews now quote the child."),
            [(io.BytesIO(PDF), "audit.pdf")],
            by=None,
        )
        services.decide_evidence(evidence, accept=True, note="", by=None, complete_action=True)
    _tested_by(for_police, again)
    _tested_by(for_health, again)
    db.session.commit()

    login(client, world.user("qa_member"))
    for url in (f"/rounds/{again.id}/findings", f"/rounds/{again.id}/findings/re-audit"):
        page = " ".join(client.get(url).data.decode().split())
        assert "Recommendations this round tests" in page, url
        assert "Quote the child&#39;s own words in every review." in page
        assert "Invite the named nurse" in page and "Refresh the escalation protocol" not in page
        assert "2 actions: 1 in progress" not in page  # one complete, one not started
        assert "2 actions: 1 not started; 1 complete" in page
        assert "CSE audit, autumn" in page and "Yes" in page and "No actions yet" in page and "Not yet" in page
    # The first round tests nothing: no list.
    assert "Recommendations this round tests" not in client.get(f"/rounds/{first.id}/findings").data.decode()
    # A re-audit that nothing names says so on its comparison page.
    with system_actor("test"):
        from audit_app.case_audits import services as case_services
        from audit_app.rounds import services as rounds

        third = rounds.plan_round(
            pid, title="CSE re-audit, autumn", version=first.version, opens_on=None, due_on=None, previous_round=first
        )
        case_services.carry_cases(third, list(first.cases))
        rounds.move_round(third, RoundStatus.OPEN)
    db.session.commit()
    page = client.get(f"/rounds/{third.id}/findings/re-audit").data.decode()
    assert "No recommendation in the action plan names this round" in page

    # An agency user sees only the recommendations addressed to (or acted on by) their agency.
    login(client, world.user("auditor"))
    page = client.get(f"/rounds/{again.id}/findings").data.decode()
    assert "Quote the child&#39;s own words" in page and "Invite the named nurse" not in page
    assert untested.text not in page
