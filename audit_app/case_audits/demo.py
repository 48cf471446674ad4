"""Demo case audits: a complete past CSE round and an open round with returns in every status.

Made through the same services as the pages, from a seeded random generator,
so `make run` always shows the same fictional figures.
"""

from __future__ import annotations

import random
from datetime import date
from typing import Any

import sqlalchemy as sa

from ..accounts.models import Agency, PartnershipAgency, User
from ..case_audits import services as case_services
from ..core.demo import Demo, register_demo_step
from ..extensions import db
from ..questionnaires import roles
from ..questionnaires.answers import answer_type, shown
from ..questionnaires.models import Questionnaire, QuestionRole
from ..rounds import services
from ..rounds.models import Return, ReturnStatus, Round, RoundStatus

GOOD_PRACTICE = [
    "Risk was recognised at the first contact and recorded clearly.",
    "The worker visited promptly and spoke to the young person alone.",
    "Information was shared with the school and the GP the same day.",
    "Management oversight is recorded at each decision point.",
    "The chronology is up to date and shows the pattern of missing episodes.",
    "Return home interviews were completed within 72 hours.",
]
DEVELOPMENT = [
    "The young person's own words are not recorded in the assessment.",
    "No evidence that the exploitation screening tool was reviewed after new information.",
    "Health were not invited to the strategy discussion.",
    "Supervision notes do not show challenge or a plan to reduce risk.",
    "Disruption activity against the adults of concern is not recorded.",
    "Drift: the plan was not reviewed for four months.",
]
RECOMMENDATIONS = [
    "Refresh training on recognising exploitation for front-line staff.",
    "Invite health partners to every strategy discussion about exploitation.",
    "Record the child's views in their own words at every review.",
    "Audit supervision records for this team in six months.",
]
AGE_BANDS = ["10-14", "15-17", "15-17", "10-14", "18-25"]
SEXES = ["Female", "Female", "Male", "Female", "Male"]
PLANS = ["Child in need", "Child protection", "Looked after", "Early help"]
#: 2021 Census category keys (cohort.ETHNICITIES), "" for not recorded
ETHNICITIES = [
    "white_british",
    "white_british",
    "black_caribbean",
    "black_african",
    "mixed_white_black_caribbean",
    "asian_pakistani",
    "asian_bangladeshi",
    "white_irish",
    "white_other",
    "not_stated",
    "",
]
GRADE_WEIGHTS = {"Outstanding": 1, "Good": 5, "Requires improvement": 4, "Inadequate": 1}


def _answer(question: Any, rng: random.Random) -> Any:
    example = answer_type(question).example(question, rng, grade_weights=GRADE_WEIGHTS)
    if example is not None:
        return example
    if question.role == QuestionRole.DEVELOPMENT:
        return rng.choice(DEVELOPMENT)
    if question.role == QuestionRole.RECOMMENDATION:
        return rng.choice(RECOMMENDATIONS)
    if question.role == QuestionRole.STRENGTHS:
        return rng.choice(GOOD_PRACTICE)
    return rng.choice(GOOD_PRACTICE + DEVELOPMENT) if rng.random() < 0.7 else ""


def _fill(ret: Return, by: User, rng: random.Random, *, complete: bool = True) -> None:
    questions = services.applicable_questions(ret)
    if not complete:
        questions = questions[: max(1, len(questions) // 3)]
    first = {q.key: _answer(q, rng) for q in questions if not q.condition_question_key}
    services.save_answers(ret, first, by=by, expected_version=ret.lock_version)
    # Follow-up questions whose condition is now met.
    follow = {}
    given = services.stored_answers(ret)
    for q in questions:
        if q.condition_question_key and shown(q, given):
            follow[q.key] = _answer(q, rng) or "Escalated to the MASH team manager the same day."
    if follow:
        services.save_answers(ret, follow, by=by, expected_version=ret.lock_version)


def _questionnaire(partnership_id: int, key: str) -> Any:
    q = db.session.scalar(
        sa.select(Questionnaire).where(Questionnaire.partnership_id == partnership_id, Questionnaire.key == key)
    )
    return q.current_published if q else None


def _agency_ids(partnership_id: int) -> dict[str, int]:
    rows = db.session.execute(
        sa.select(Agency.name, Agency.id)
        .join(PartnershipAgency, PartnershipAgency.agency_id == Agency.id)
        .where(PartnershipAgency.partnership_id == partnership_id)
    )
    return dict(rows.all())


def load_case_audits(partnership_id: int, users: dict[str, User]) -> bool:
    """The demo rounds, once; False if the partnership already has rounds or lacks the library."""
    if db.session.scalar(sa.select(Round.id).where(Round.partnership_id == partnership_id).limit(1)):
        return False
    cse = _questionnaire(partnership_id, "cse_case_audit")
    strategy = _questionnaire(partnership_id, "strategy_meetings_case_audit")
    if cse is None or strategy is None:
        return False
    rng = random.Random(2026)
    agencies = _agency_ids(partnership_id)
    police = agencies["Northbridge and Eastvale Police (North BCU)"]
    social_care = agencies["Northbridge Council Children's Social Care"]
    others = [
        agencies["Northbridge University Hospitals NHS Trust"],
        agencies["Riverside Community Health NHS Trust"],
        agencies["Northbridge Academy"],
        agencies["Northbridge Youth Justice Service"],
        agencies["Safe Haven Domestic Abuse Service"],
    ]
    admin, qa = users["admin"], users["qa"]

    # A complete past round: 20 cases, 2 to 4 agencies each, every return accepted, judged and reported.
    past = services.plan_round(
        partnership_id,
        title="CSE multi-agency case audit, autumn 2025",
        version=cse,
        opens_on=date(2025, 9, 8),
        due_on=date(2025, 10, 17),
        shares_answers_in_discussion=True,
    )
    for n in range(20):
        involved = [police, social_care, *rng.sample(others, k=rng.randint(0, 2))]
        case_services.add_case(
            past,
            agency_ids=involved,
            reference=f"CSE-25-{n + 1:03d}",
            age_band=rng.choice(AGE_BANDS),
            sex=rng.choice(SEXES),
            ethnicity=rng.choice(ETHNICITIES),
            disability=rng.choice(["No", "No", "Yes", "Not known"]),
            plan_type=rng.choice(PLANS),
        )
    _complete_and_judge(past, users, police, rng, escalated_on=date(2025, 11, 12))

    # A re-audit six months on: 16 of the cases carried, 5 new ones, judged and reported.
    again = services.plan_round(
        partnership_id,
        title="CSE re-audit, spring 2026",
        version=cse,
        opens_on=date(2026, 3, 9),
        due_on=date(2026, 4, 17),
        shares_answers_in_discussion=True,
        previous_round=past,
    )
    case_services.carry_cases(again, list(past.cases[:16]))
    for round_case in again.cases:
        earlier = next(rc for rc in past.cases if rc.id == round_case.previous_round_case_id)
        case_services.set_case_agencies(round_case, [a.id for a in earlier.agencies])
    for n in range(5):
        case_services.add_case(
            again,
            agency_ids=[police, social_care, *rng.sample(others, k=rng.randint(0, 2))],
            reference=f"CSE-26-{n + 1:03d}",
            age_band=rng.choice(AGE_BANDS),
            sex=rng.choice(SEXES),
            ethnicity=rng.choice(ETHNICITIES),
            disability=rng.choice(["No", "No", "Yes", "Not known"]),
            plan_type=rng.choice(PLANS),
        )
    _complete_and_judge(again, users, police, rng, escalated_on=date(2026, 5, 6), better=True)

    # An open round with returns in every status.
    current = services.plan_round(
        partnership_id,
        title="Strategy discussions audit, winter 2026",
        version=strategy,
        opens_on=date(2026, 11, 2),
        due_on=date(2026, 12, 11),
    )
    for n in range(4):
        case_services.add_case(
            current,
            agency_ids=[police, social_care, others[n % len(others)]],
            reference=f"SM-26-{n + 1:03d}",
            age_band=rng.choice(AGE_BANDS),
            sex=rng.choice(SEXES),
            plan_type=rng.choice(PLANS),
        )
    services.move_round(current, RoundStatus.OPEN)
    returns = list(db.session.scalars(sa.select(Return).where(Return.round_id == current.id).order_by(Return.id)))
    plan = [
        "not_started",
        "in_progress",
        "ready_for_sign_off",
        "submitted",
        "changes_requested",
        "accepted",
        "declined",
        "in_progress",
        "submitted",
        "not_started",
        "accepted",
        "in_progress",
    ]
    for ret, target in zip(returns, plan, strict=False):
        if target == "not_started":
            continue
        if target == "declined":
            services.decline_return(
                ret, by=admin, reason="No record of involvement with this child in the audit period."
            )
            continue
        _fill(ret, admin, rng, complete=target != "in_progress")
        if target == "in_progress":
            continue
        services.submit_return(ret, by=admin, as_lead=target != "ready_for_sign_off")
        if target == "changes_requested":
            services.request_changes(
                ret, by=qa, note="Please add the date of the strategy discussion and who attended."
            )
        elif target == "accepted":
            services.accept_return(ret, by=qa)
    assert {r.status for r in returns} >= {ReturnStatus(s) for s in plan}
    return True


def _complete_and_judge(
    round_: Round, users: dict[str, User], police: int, rng: random.Random, *, escalated_on: date, better: bool = False
) -> None:
    """Open a round, fill and accept every return, judge every case and report it."""
    admin, qa, lead = users["admin"], users["qa"], users["lead"]
    weights = dict(GRADE_WEIGHTS, **({"Outstanding": 2, "Good": 7, "Inadequate": 0.5} if better else {}))
    db.session.flush()
    db.session.expire(round_, ["cases"])
    services.move_round(round_, RoundStatus.OPEN)
    # In id order: the answers draw from one random sequence, so the demo is the same on every database.
    for ret in db.session.scalars(sa.select(Return).where(Return.round_id == round_.id).order_by(Return.id)):
        _fill(ret, admin, rng)
        services.submit_return(ret, by=lead if ret.agency_id == police else admin, as_lead=True)
        services.accept_return(ret, by=qa)
    services.move_round(round_, RoundStatus.CLOSED)
    services.move_round(round_, RoundStatus.IN_DISCUSSION)
    for round_case in round_.cases:
        for section, grade_question in roles.graded_sections(round_.version):
            case_services.record_judgement(
                round_case,
                section_key=section.key,
                grade=rng.choices(list(weights), weights=list(weights.values()))[0]
                if better
                else _answer(grade_question, rng),
                strengths=rng.choice(GOOD_PRACTICE),
                areas_for_development=rng.choice(DEVELOPMENT),
            )
        escalated = rng.random() < 0.1
        case_services.record_judgement(
            round_case,
            section_key="",
            grade=rng.choices(list(weights), weights=list(weights.values()))[0],
            strengths=rng.choice(GOOD_PRACTICE),
            areas_for_development=rng.choice(DEVELOPMENT),
            recommendations=rng.choice(RECOMMENDATIONS),
            concern_escalated=escalated,
            escalated_to="MASH team manager" if escalated else "",
            escalated_on=escalated_on if escalated else None,
        )
    services.move_round(round_, RoundStatus.REPORTED)


def _load(demo: Demo) -> None:
    load_case_audits(demo.partnership_id, demo.users)


register_demo_step(30, _load)
