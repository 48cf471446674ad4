"""A case-audit round with answered returns and the panel's judgements, for the chair's report tests."""

from __future__ import annotations

from audit_app.case_audits import services as case_services
from audit_app.core.audit import system_actor
from audit_app.extensions import db
from audit_app.rounds import services as rounds
from audit_app.rounds.models import Round, RoundStatus
from tests.factories import World, make_return_answered, make_round, returns_of

GRADES = ["Good", "Requires improvement", "Outstanding", "Inadequate"]


def judged_round(
    world: World, *, cases: int = 3, title: str = "Neglect audit", status=RoundStatus.IN_DISCUSSION
) -> Round:
    """Police and the hospital on every case, every return answered and submitted, each case judged."""
    round_ = make_round(
        world.partnership.id,
        title=title,
        agencies=[world.police, world.health],
        cases=[f"NG-{n + 1:03d}" for n in range(cases)],
        status=RoundStatus.OPEN,
    )
    for ret in returns_of(round_):
        make_return_answered(ret, world.user("agency_lead"), submit=True)
    with system_actor("test:setup"):
        rounds.move_round(round_, RoundStatus.CLOSED)
        rounds.move_round(round_, RoundStatus.IN_DISCUSSION)
        for n, round_case in enumerate(round_.cases):
            case_services.record_judgement(
                round_case,
                section_key="",
                grade=GRADES[n % len(GRADES)],
                strengths=f"Strength on case {n + 1}",
                areas_for_development="Management oversight was not recorded",
            )
        if status == RoundStatus.REPORTED:
            rounds.move_round(round_, RoundStatus.REPORTED)
        db.session.commit()
    return round_
