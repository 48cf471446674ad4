"""The load test's extra data, made through the application's own services, and the ids the locustfile needs.

Run by ``bench/load/run.py`` after ``flask db upgrade`` and ``flask demo load``, with the same environment as
the web processes (``DATABASE_URL``, ``SECRET_KEY``)::

    python bench/load/prepare.py --cases 300 --out plan.json

It opens one more case-audit round in Northbridge, *Load test: strategy discussions*, on the demo's
strategy-discussions questionnaire, with ``--cases`` cases each read by the police and the hospital trust, so
that the simulated auditors (of those two agencies) always have returns to open, save and submit without two
of them working on the same return. It then writes a JSON plan: the return ids by agency, and one id of each
kind of page the mix visits (a reported round, its cases, a theme, a review, an action).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from audit_app import create_app  # noqa: E402  (after the path is set, when run as a script)
from audit_app.accounts.demo import AGENCIES, PARTNERSHIP  # noqa: E402
from audit_app.accounts.models import Agency, Partnership  # noqa: E402
from audit_app.actions.models import Action  # noqa: E402
from audit_app.case_audits import services as case_services  # noqa: E402
from audit_app.case_audits.demo import AGE_BANDS, PLANS, SEXES  # noqa: E402
from audit_app.case_audits.models import RoundCase  # noqa: E402
from audit_app.core import clock  # noqa: E402
from audit_app.core.audit import system_actor  # noqa: E402
from audit_app.extensions import db  # noqa: E402
from audit_app.questionnaires.models import Questionnaire, QuestionnaireKind  # noqa: E402
from audit_app.reviews.models import LearningReview  # noqa: E402
from audit_app.rounds import services  # noqa: E402
from audit_app.rounds.models import Return, Round, RoundStatus  # noqa: E402

LOAD_ROUND_TITLE = "Load test: strategy discussions"
#: the demo agencies whose auditors the load test signs in as (police, hospital trust)
POLICE, HEALTH = AGENCIES[0][0], AGENCIES[2][0]


def prepare(cases: int) -> dict:
    """Open the load round (once) and return the plan the locustfile reads."""
    partnership_id = db.session.scalar(sa.select(Partnership.id).where(Partnership.name == PARTNERSHIP))
    if partnership_id is None:
        raise SystemExit("The demo is not loaded: run `flask demo load` first")
    agency_ids = dict(
        db.session.execute(sa.select(Agency.name, Agency.id).where(Agency.name.in_([POLICE, HEALTH]))).all()
    )
    load_round = db.session.scalar(sa.select(Round).where(Round.title == LOAD_ROUND_TITLE))
    if load_round is None:
        version = db.session.scalar(
            sa.select(Questionnaire).where(
                Questionnaire.partnership_id == partnership_id, Questionnaire.key == "strategy_meetings_case_audit"
            )
        ).current_published
        today = clock.today()
        with system_actor("bench:load"):
            load_round = services.plan_round(
                partnership_id, title=LOAD_ROUND_TITLE, version=version, opens_on=today, due_on=today + timedelta(30)
            )
            for n in range(cases):
                case_services.add_case(
                    load_round,
                    agency_ids=[agency_ids[POLICE], agency_ids[HEALTH]],
                    reference=f"LOAD-{n + 1:04d}",
                    age_band=AGE_BANDS[n % len(AGE_BANDS)],
                    sex=SEXES[n % len(SEXES)],
                    plan_type=PLANS[n % len(PLANS)],
                )
            services.move_round(load_round, RoundStatus.OPEN)
        db.session.commit()

    def ids(statement: sa.Select) -> list[int]:
        return list(db.session.scalars(statement))

    returns = {
        key: ids(
            sa.select(Return.id)
            .where(Return.round_id == load_round.id, Return.agency_id == agency_ids[name])
            .order_by(Return.id)
        )
        for key, name in (("police", POLICE), ("health", HEALTH))
    }
    reported = ids(
        sa.select(Round.id)
        .where(
            Round.partnership_id == partnership_id,
            Round.status == RoundStatus.REPORTED,
            Round.kind == QuestionnaireKind.CASE_AUDIT,
        )
        .order_by(Round.id)
    )
    reported_rounds = db.session.scalars(sa.select(Round).where(Round.id.in_(reported)).order_by(Round.id)).all()
    return {
        "partnership_id": partnership_id,
        "load_round_id": load_round.id,
        "returns": returns,
        #: the reported case-audit rounds: findings, re-audit comparison, PDFs
        "reported_round_ids": reported,
        #: a re-audit among them (its findings have a re-audit comparison), or none
        "reaudit_round_id": next((r.id for r in reported_rounds if r.previous_round_id), None),
        "theme_ids": sorted({r.theme_id for r in reported_rounds if r.theme_id}),
        #: (round id, round case id) of the first reported round's cases: the discussion pages
        "cases": [
            [rc.round_id, rc.id]
            for rc in db.session.scalars(
                sa.select(RoundCase).where(RoundCase.round_id == reported[0]).order_by(RoundCase.id).limit(10)
            )
        ],
        "review_ids": ids(
            sa.select(LearningReview.id)
            .where(LearningReview.partnership_id == partnership_id)
            .order_by(LearningReview.id)
            .limit(10)
        ),
        "action_ids": ids(
            sa.select(Action.id).where(Action.partnership_id == partnership_id).order_by(Action.id).limit(10)
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=300, help="cases in the load round (two returns each)")
    parser.add_argument("--out", required=True, help="where to write the JSON plan")
    args = parser.parse_args()
    app = create_app()
    with app.app_context():
        plan = prepare(args.cases)
        db.session.remove()
    Path(args.out).write_text(json.dumps(plan, indent=1), encoding="utf-8")
    print(
        f"load round {plan['load_round_id']}: {len(plan['returns']['police'])} police and "
        f"{len(plan['returns']['health'])} hospital returns"
    )


if __name__ == "__main__":
    main()
