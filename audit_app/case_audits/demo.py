"""Demo case audits: a complete past CSE round and an open round with returns in every status.

Made through the same services as the pages, from a seeded random generator,
so `make run` always shows the same fictional figures.
"""

from __future__ import annotations

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
from .demo_texts import DemoRandom

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


def _answer(question: Any, rng: DemoRandom) -> Any:
    example = answer_type(question).example(question, rng, grade_weights=GRADE_WEIGHTS)
    if example is not None:
        return example
    if question.role == QuestionRole.DEVELOPMENT:
        return rng.development()
    if question.role == QuestionRole.RECOMMENDATION:
        return rng.recommendation()
    if question.role == QuestionRole.STRENGTHS:
        return rng.strength()
    return rng.any_note() if rng.random() < 0.7 else ""


def _fill(ret: Return, by: User, rng: DemoRandom, *, complete: bool = True) -> None:
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
            follow[q.key] = _answer(q, rng) or rng.escalation()
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
    rng = DemoRandom(2026)
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
    _write_up(past, WRITE_UPS["past"], rng, meeting_on=date(2025, 11, 12), period=(date(2024, 9, 1), date(2025, 2, 28)))

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
    _write_up(again, WRITE_UPS["again"], rng, meeting_on=date(2026, 5, 6), period=(date(2025, 9, 1), date(2026, 2, 28)))

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
    round_: Round, users: dict[str, User], police: int, rng: DemoRandom, *, escalated_on: date, better: bool = False
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
                strengths=rng.strength(),
                areas_for_development=rng.development(),
            )
        escalated = rng.random() < 0.1
        case_services.record_judgement(
            round_case,
            section_key="",
            grade=rng.choices(list(weights), weights=list(weights.values()))[0],
            strengths=rng.strength(),
            areas_for_development=rng.development(),
            recommendations=rng.recommendation(),
            concern_escalated=escalated,
            escalated_to="MASH team manager" if escalated else "",
            escalated_on=escalated_on if escalated else None,
        )
    services.move_round(round_, RoundStatus.REPORTED)


#: the chair's write-up of each reported demo round: meeting, method, report fields and recommendations
WRITE_UPS: dict[str, dict[str, Any]] = {
    "past": {
        "chair": "Dr Amara Okafor, independent chair of the Learning from Practice Group",
        "attendees": (
            "Detective Inspector, Exploitation Hub\nHead of Service, Children's Social Care\n"
            "Named Nurse for Safeguarding, Northbridge University Hospitals\nDesignated Safeguarding Lead, "
            "Northbridge Academy\nYouth Justice Service Manager\nPartnership Business Manager (notes)"
        ),
        "selection_method": "random",
        "selection_criteria": (
            "Twenty children drawn at random from those referred for child sexual exploitation concerns between "
            "September 2024 and February 2025, aged 10 to 25, whatever their plan."
        ),
        "executive_summary": (
            "Twenty children's cases were audited by six agencies. In most cases exploitation was recognised early "
            "and information was shared the same day, and no child was found to be at immediate risk that had not "
            "already been acted on.\n"
            "Practice was weakest after the first response: plans drifted, the child's own words were seldom "
            "recorded, and supervision rarely showed challenge. Two cases were escalated to the MASH during the "
            "audit."
        ),
        "strengths": (
            "Quick recognition of risk at the front door, with a strategy discussion within a day in most cases.\n"
            "Schools and the police shared information promptly and fully.\n"
            "Return home interviews were completed on time and their findings used in the plan."
        ),
        "challenges": (
            "The voice of the child: their own words are missing from most assessments and reviews.\n"
            "Health colleagues were invited to fewer than half of the strategy discussions.\n"
            "Drift after the first month: plans were not reviewed, and disruption of the adults of concern was "
            "rarely recorded."
        ),
        "themes": "Voice of the child; multi-agency strategy discussions; management oversight; drift and delay.",
        "why_it_matters": (
            "Children who are exploited often do not see themselves as victims. What protects them is a plan that "
            "keeps going after the first crisis, built on what they tell us in their own words."
        ),
        "what_good_looks_like": (
            "The child's words are quoted in every assessment and review. Health is at every strategy discussion. "
            "Supervision records the risk, the challenge and the next step, and the plan is reviewed at least "
            "monthly while the risk lasts."
        ),
        "recommendations": [
            "Every agency records the child's views in their own words at each assessment and review, checked by "
            "managers in supervision.",
            "Children's Social Care invites the named health professional to every strategy discussion about "
            "exploitation; the business unit reports attendance quarterly.",
            "Agencies audit supervision records for exploitation cases in six months and report to the Learning "
            "from Practice Group.",
            "The partnership re-audits these cases in spring 2026 to test whether practice has improved.",
        ],
    },
    "again": {
        "chair": "Dr Amara Okafor, independent chair of the Learning from Practice Group",
        "attendees": (
            "Detective Sergeant, Exploitation Hub\nTeam Manager, Adolescent Service\nNamed GP for Safeguarding\n"
            "Safeguarding Lead, Safe Haven Domestic Abuse Service\nPartnership Business Officer (notes)"
        ),
        "selection_method": "mixed",
        "selection_criteria": (
            "Sixteen cases carried from the autumn 2025 audit to test the recommendations, and five new cases chosen "
            "purposively from referrals since September 2025 where the child was missing from home."
        ),
        "executive_summary": (
            "Re-auditing sixteen children six months on shows real change: more sections were judged good or "
            "better, and health attended most strategy discussions. The five new cases show the same early "
            "strengths.\n"
            "Recording of the child's voice improved but is still uneven between agencies, and two carried cases "
            "were judged worse because plans ended while risk remained."
        ),
        "strengths": (
            "Health attendance at strategy discussions rose sharply after the invitation protocol.\n"
            "Supervision notes now show challenge and a clear next step in most cases."
        ),
        "challenges": (
            "Plans closed while missing episodes continued in two cases.\n"
            "Youth justice and education records still rarely quote the child."
        ),
        "themes": "Voice of the child; ending plans safely; missing from home.",
        "why_it_matters": (
            "A re-audit tests whether learning changed practice. Closing a plan while a child keeps going missing "
            "leaves them exposed to the adults who exploit them."
        ),
        "what_good_looks_like": (
            "A plan ends only when the risk has reduced and the child agrees with the evidence. Every agency's "
            "record includes what the child said, in their own words."
        ),
        "recommendations": [
            "No exploitation plan closes while missing episodes continue without a multi-agency review.",
            "Education and youth justice add the child's own words to their recording templates.",
        ],
    },
}

PRACTITIONER_VIEWS = [
    "The audit was fair; the delay came from waiting for the strategy discussion.",
    "I had not seen the school's records before; the chronology explained the pattern of missing episodes.",
    "Caseloads that winter meant supervision was cancelled twice.",
    "The child trusted the youth worker more than anyone; that relationship should have been used in the plan.",
]


def _write_up(
    round_: Round, text: dict[str, Any], rng: DemoRandom, *, meeting_on: date, period: tuple[date, date]
) -> None:
    """The chair's write-up of a reported round: the meeting, the method, practitioners and the chair's report."""
    involved = sorted(case_services.round_agency_ids(round_))
    case_services.save_meeting(
        round_,
        case_services.MeetingIn(
            meeting_on=meeting_on,
            chair=text["chair"],
            attendees=text["attendees"],
            agency_ids=tuple(involved[:-1] or involved),
            period_from=period[0],
            period_to=period[1],
            selection_method=text["selection_method"],
            selection_criteria=text["selection_criteria"],
        ),
    )
    fields = {name: text[name] for name, _ in case_services.REPORT_FIELDS}
    case_services.save_chair_report(round_, fields, [(None, rec) for rec in text["recommendations"]])
    for round_case in round_.cases[:6]:
        given = {}
        for agency in round_case.agencies:
            invited = rng.random() < 0.7
            attended = invited and rng.random() < 0.6
            given[agency.id] = case_services.PractitionerIn(
                invited=invited, attended=attended, view=rng.choice(PRACTITIONER_VIEWS) if attended else ""
            )
        case_services.save_practitioners(round_case, given)


def _load(demo: Demo) -> None:
    load_case_audits(demo.partnership_id, demo.users)


register_demo_step(30, _load)
