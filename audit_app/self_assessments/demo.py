"""Demo self-assessments: last year's Section 11 round (reported, moderated, challenged), this year's started
from it (open, carried forward, shared with the neighbouring partnership) and a schools s175/157 round across
about forty settings, with returns submitted, declined, sent on another template and late.

Made through the same services as the pages, from a seeded random generator, so `make run` always shows the
same fictional figures.
"""

from __future__ import annotations

import random
from datetime import date
from typing import Any

import sqlalchemy as sa

from ..accounts import services as accounts
from ..accounts.models import Agency, Partnership, PartnershipAgency, Sector, User
from ..actions import improvement
from ..actions import services as actions
from ..actions.models import RecommendationTheme
from ..core import clock
from ..core.demo import Demo, register_demo_step
from ..extensions import db
from ..questionnaires.answers import answer_type
from ..questionnaires.models import Questionnaire, QuestionnaireVersion, QuestionRole, QuestionType
from ..rounds import carry, evidence, services
from ..rounds.models import Return, ReturnStatus, Round, RoundStatus
from . import challenges, scrutiny, surveys
from .models import MessageSide

S11 = "section11_self_assessment"
S175 = "schools_s175_self_assessment"
LAST_YEAR = "Section 11 self-assessment 2025"
THIS_YEAR = "Section 11 self-assessment 2026"
SCHOOLS = "Schools safeguarding audit (s175/157) 2026"
#: how often each rating is chosen: most criteria met, some partly, a few not
RATING_WEIGHTS = {"Fully met": 6, "Partly met": 3, "Not met": 1}

#: the schools and early years settings of the s175 round, with their URNs (fictional)
SCHOOL_NAMES = [
    "Ashgrove Primary School",
    "Beacon Hill Primary School",
    "Brookside Infant School",
    "Castle Mead Junior School",
    "Cedar Park Primary School",
    "Elm Tree Primary Academy",
    "Fairfield Community Primary School",
    "Fenwick Church of England Primary School",
    "Greenacres Primary School",
    "Hawthorn Primary School",
    "Holy Family Catholic Primary School",
    "Kingsmead Primary School",
    "Larchwood Primary School",
    "Lowfield Primary School",
    "Meadowbank Primary School",
    "Millbrook Primary School",
    "Northgate Primary School",
    "Oakfield Primary School",
    "Orchard Vale Primary School",
    "Parkside Primary School",
    "Queensway Primary School",
    "Riverside Primary School",
    "Rosehill Infant and Nursery School",
    "St Luke's Church of England Primary School",
    "St Mary's Catholic Primary School",
    "Thornbury Primary School",
    "Westfield Primary School",
    "Willowbrook Primary School",
    "Northbridge High School",
    "Eastgate Academy",
    "Kingfisher Secondary School",
    "Riverbank Academy",
    "Northbridge Sixth Form College",
    "Meadow View Special School",
    "Northbridge Pupil Referral Unit",
    "Bright Stars Day Nursery",
    "Little Acorns Pre-School",
    "Sunflower Nursery",
]
EARLY_YEARS = {"Bright Stars Day Nursery", "Little Acorns Pre-School", "Sunflower Nursery"}

EVIDENCE = [
    "Policy reviewed and approved by the board in {month}; minutes and the review log are held by the "
    "safeguarding lead.",
    "Quarterly safeguarding report to the executive team, with training figures and case audit findings.",
    "Training records: {pct}% of staff completed the level 2 course in the last three years.",
    "Annual audit of {n} supervision records; the findings went to the safeguarding committee.",
    "Named lead's job description and the structure chart, both on the intranet.",
    "Staff survey in {month}: {pct}% knew how to raise a concern out of hours.",
    "Escalation policy on the intranet; two escalations this year, both recorded and resolved.",
    "Safer recruitment checks audited on a sample of {n} files: all complete.",
]
IMPROVEMENT = [
    "Training reaches day staff but not bank and night staff: the figures hide the gap.",
    "We have the policy but have not checked it is followed: no audit since it was updated.",
    "Children's and families' views are collected but do not yet change how services are designed.",
    "Supervision happens, but records rarely show reflection on the child's lived experience.",
    "Information sharing with schools relies on individuals rather than an agreed route.",
]
ACTIONS = [
    "Audit night-shift training records (Head of Learning, March 2027)",
    "Re-audit supervision records against the new template (Named Nurse, June 2027)",
    "Add a children's feedback question to every service review (Service Manager, April 2027)",
    "Agree an information-sharing route with the education safeguarding team (DSL lead, February 2027)",
]
#: (kind, the QA group's first message, the agency's answer or "" while it is awaited)
THREADS = [
    (
        "query",
        "Your rating is Fully met, but the evidence names a policy only. How do you know it is followed?",
        "We audited 20 cases in September: 18 followed the policy. The audit report is on the intranet.",
    ),
    ("more_evidence", "Please add the training figures for bank and night staff.", ""),
    ("comment", "Good evidence of children's views changing a service: please share it with the group.", ""),
]
MODERATION_NOTES = [
    "The evidence shows the policy exists but not that it is followed: no audit since the update.",
    "Training figures exclude bank staff; with them the rate is under 70%.",
    "Board minutes confirm the report was received twice this year: rated higher than self-assessed.",
    "The named lead post was vacant for five months of the year.",
]


def _version(partnership_id: int, key: str) -> QuestionnaireVersion | None:
    questionnaire = db.session.scalar(
        sa.select(Questionnaire).where(Questionnaire.partnership_id == partnership_id, Questionnaire.key == key)
    )
    return questionnaire.current_published if questionnaire else None


def _text(question: Any, rng: random.Random) -> str:
    fill = {"month": rng.choice(["March", "June", "September"]), "pct": rng.randint(72, 98), "n": rng.randint(8, 30)}
    if question.role == QuestionRole.EVIDENCE:
        return rng.choice(EVIDENCE).format(**fill)
    if question.role == QuestionRole.DEVELOPMENT:
        return rng.choice(IMPROVEMENT) if rng.random() < 0.6 else ""
    return rng.choice(ACTIONS) if rng.random() < 0.5 else ""


def _answers(ret: Return, rng: random.Random, *, strength: float) -> dict[str, Any]:
    """A return's answers: ratings leaning better with ``strength`` (0 to 1), evidence and plans in words."""
    weights = {
        "Fully met": RATING_WEIGHTS["Fully met"] * (0.5 + strength),
        "Partly met": RATING_WEIGHTS["Partly met"],
        "Not met": RATING_WEIGHTS["Not met"] * (1.5 - strength),
    }
    given: dict[str, Any] = {}
    for question in services.applicable_questions(ret):
        if question.type == QuestionType.SCALE:
            given[question.key] = answer_type(question).example(question, rng, grade_weights=weights)
        elif question.type in (QuestionType.SINGLE_CHOICE, QuestionType.MULTIPLE_CHOICE, QuestionType.DATE):
            example = answer_type(question).example(question, rng, grade_weights=weights)
            if example is not None:
                given[question.key] = example
        elif question.type == QuestionType.NUMBER:
            given[question.key] = str(rng.randint(90, 1400))
        else:
            text = _text(question, rng)
            if text:
                given[question.key] = text
    return given


def _returns(round_: Round) -> list[Return]:
    return list(
        db.session.scalars(
            sa.select(Return).where(Return.round_id == round_.id).join(Return.agency).order_by(Agency.name)
        )
    )


def _submit(ret: Return, by: User, rng: random.Random, *, strength: float) -> None:
    services.save_answers(ret, _answers(ret, rng, strength=strength), by=by, expected_version=ret.lock_version)
    services.submit_return(ret, by=by, as_lead=True)


def _moderate(ret: Return, rng: random.Random, share: float, by: User) -> None:
    """The moderators' view beside the agency's own on a share of its ratings (the self-rating is kept)."""
    for answer in sorted(ret.answers, key=lambda a: a.question.position):
        question = answer.question
        if question.type != QuestionType.SCALE or answer.scale_level is None or rng.random() > share:
            continue
        levels = [lvl for lvl in question.scale.levels if not lvl.is_not_applicable]
        here = next(i for i, lvl in enumerate(levels) if lvl.id == answer.scale_level_id)
        step = 1 if rng.random() < 0.8 else -1  # mostly rated down: the evidence did not bear it out
        moved = min(max(here + step, 0), len(levels) - 1)
        if moved != here:
            scrutiny.set_moderation(ret, question.key, levels[moved].id, rng.choice(MODERATION_NOTES), by=by)


def _section_11_rounds(partnership_id: int, users: dict[str, User], rng: random.Random) -> None:
    version = _version(partnership_id, S11)
    if version is None or db.session.scalar(sa.select(Round.id).where(Round.title == LAST_YEAR)):
        return
    not_schools = list(
        db.session.scalars(
            sa.select(PartnershipAgency.agency_id)
            .join(Sector, Sector.id == PartnershipAgency.sector_id)
            .where(PartnershipAgency.partnership_id == partnership_id, Sector.key.notin_(["education", "early_years"]))
        )
    )
    admin, qa, lead = users["admin"], users["qa"], users["lead"]
    with clock.frozen(date(2025, 9, 1)):
        last = services.plan_round(
            partnership_id,
            title=LAST_YEAR,
            version=version,
            opens_on=date(2025, 9, 1),
            due_on=date(2025, 11, 28),
            agency_ids=not_schools,
        )
        services.move_round(last, RoundStatus.OPEN)
    returns = _returns(last)
    with clock.frozen(date(2025, 11, 20)):
        for n, ret in enumerate(returns):
            if n == len(returns) - 1:  # the housing association returns its landlord's audit instead
                services.record_alternative_template(
                    ret, by=qa, note="Returned the housing regulator's safeguarding audit, which covers the standards"
                )
                continue
            _submit(ret, lead if n == 0 else admin, rng, strength=rng.random())
    with clock.frozen(date(2025, 12, 5)):
        services.move_round(last, RoundStatus.CLOSED)
        for ret in returns:
            if ret.status == ReturnStatus.SUBMITTED:
                services.accept_return(ret, by=qa)
                _moderate(ret, rng, share=0.25, by=qa)
    with clock.frozen(date(2026, 1, 20)):
        for ret in returns[:2]:
            _challenge(ret, partnership_id, qa, rng)
        services.move_round(last, RoundStatus.REPORTED)
    db.session.flush()

    # This year's round, started from last year's: each agency's answers carried forward for review.
    with clock.frozen(date(2026, 9, 1)):
        this = carry.plan_next_round(
            last, title=THIS_YEAR, opens_on=date(2026, 9, 1), due_on=date(2026, 12, 18), remind_days_before=5
        )
        east = db.session.scalar(
            sa.select(Partnership).where(Partnership.id != partnership_id).order_by(Partnership.id)
        )
        if east is not None:
            services.share_round(this, east)
        services.move_round(this, RoundStatus.OPEN)
    mine = _returns(this)
    police_id = next(m.agency_id for m in lead.memberships if m.agency_id is not None)
    # the police first: it has reviewed, changed and submitted its return, with links and an improvement action
    mine.sort(key=lambda r: r.agency_id != police_id)
    with clock.frozen(date(2026, 11, 16)):
        for n, ret in enumerate(mine):
            by = lead if ret.agency_id == police_id else admin
            if n % 4 == 0 and n < len(mine) - 1:
                # reviewed, changed where things moved on, and submitted
                if ret.agency_id == police_id:
                    _evidence_and_actions(ret, lead)
                carried = {a.question.key for a in ret.answers if a.carried_forward}
                services.save_answers(
                    ret,
                    {k: v for k, v in _answers(ret, rng, strength=0.7).items() if k in carried or rng.random() < 0.3},
                    by=by,
                    expected_version=ret.lock_version,
                )
                services.submit_return(ret, by=by, as_lead=True, confirm_carried=True)
            elif n % 4 == 1:
                # part-way through the review: one section confirmed unchanged
                first_section = ret.round.version.sections[0]
                carry.confirm_carried(ret, section=first_section, by=admin, expected_version=ret.lock_version)
    db.session.flush()
    with clock.frozen(date(2026, 11, 23)):
        _scrutiny(this, mine, users, rng)
        _survey(this, mine, rng)
    db.session.flush()


def _scrutiny(round_: Round, returns: list[Return], users: dict[str, User], rng: random.Random) -> None:
    """A named moderator, priority criteria, and threads on the submitted returns: one answered by the agency,
    one awaiting its answer, one asking for more evidence."""
    scrutineer = db.session.scalar(sa.select(User).where(User.email == "scrutineer@northbridge.example.org"))
    if scrutineer is not None:
        scrutiny.add_moderator(round_, scrutineer.id, by=users["admin"])
    rated = scrutiny.rated_criteria(round_)
    scrutiny.set_priority_criteria(round_, [q.key for q in rated[:: max(1, len(rated) // 4)]][:4])
    submitted = [r for r in returns if r.status == ReturnStatus.SUBMITTED]
    qa, lead = users["qa"], users["lead"]
    for n, ret in enumerate(submitted):
        keys = [q.key for q in scrutiny.criteria(ret) if q.type == QuestionType.SCALE]  # rated criteria
        kind, first, reply = THREADS[n % len(THREADS)]
        thread = scrutiny.open_thread(ret, keys[(3 * n + 1) % len(keys)], kind, first, by=qa)
        if reply:
            scrutiny.add_message(
                thread,
                reply,
                by=lead if ret.agency_id == returns[0].agency_id else users["admin"],
                side=MessageSide.AGENCY,
            )
        if n == 0:
            scrutiny.set_moderation(ret, keys[0], _level_below(ret, keys[0]), MODERATION_NOTES[0], by=qa)


def _level_below(ret: Return, key: str) -> int | None:
    answer = scrutiny.answer_of(ret, key)
    levels = [lvl for lvl in answer.question.scale.levels if not lvl.is_not_applicable]
    here = next((i for i, lvl in enumerate(levels) if lvl.id == answer.scale_level_id), 0)
    return levels[min(here + 1, len(levels) - 1)].id


def _survey(round_: Round, returns: list[Return], rng: random.Random) -> None:
    """The practitioner survey: eleven answers from the police's staff, three (too few to show) from another."""
    versions = surveys.survey_versions(round_.partnership_id)
    if not versions:
        return
    survey = surveys.set_up_survey(round_, version=versions[-1], closes_on=round_.due_on)
    questions = surveys.survey_questions(survey)
    for ret, how_many in ((returns[0], 11), (returns[1], 3)):
        link, _ = surveys.make_link(survey, ret.agency_id)
        for _ in range(how_many):
            given = {}
            for question in questions:
                options = answer_type(question).choices(question) or []
                weights = [5, 3, 2, 1][: len(options)] + [1] * max(0, len(options) - 4)
                given[question.key] = rng.choices(options, weights=weights)[0]
            surveys.record_response(link, given)


def _evidence_and_actions(ret: Return, lead: User) -> None:
    """Links on two criteria of the police return, and one of its own improvement actions."""
    keys = [q.key for q in scrutiny.criteria(ret) if q.type == QuestionType.SCALE]
    evidence.add_link(
        ret,
        keys[0],
        title="Safeguarding policy (intranet)",
        url="https://intranet.example.org/safeguarding",
        by=lead.id,
    )
    evidence.add_link(
        ret, keys[1], title="Board minutes, June 2026", url="https://intranet.example.org/board/2026-06", by=lead.id
    )
    improvement.add_improvement_action(
        ret,
        improvement.ImprovementIn(
            title="Dip-sample 20 night-shift referrals for escalation",
            owner_user_id=lead.id,
            due_on=date(2027, 3, 31),
            question_key=keys[2],
        ),
    )


def _challenge(ret: Return, partnership_id: int, qa: User, rng: random.Random) -> None:
    """A challenge event with the agency on last year's return, with one action agreed."""
    event = challenges.record_challenge(
        ret.round,
        partnership_id,
        challenges.ChallengeIn(
            agency_id=ret.agency_id,
            held_on=clock.today(),
            attendees=f"Head of Safeguarding, {ret.agency.name}\nQuentin Adeyemi, Learning from Practice Group chair\n"
            "Independent scrutineer",
            questions="Your training figures are high: how do you know bank and night staff are included?\n"
            "Two criteria were moderated down: what would it take to evidence them fully next year?",
            agreed="Break training figures down by shift pattern and staff group in next year's return.",
        ),
        by=qa.id,
    )
    rec, _ = challenges.agree_action(
        event,
        "Show safeguarding training completion by shift pattern and staff group, including bank staff.",
        actions.ActionIn(
            title=f"Report training completion by shift pattern to the Learning from Practice Group ({ret.agency.name})",
            owner_name=f"Head of Safeguarding, {ret.agency.name}",
            owner_agency_id=ret.agency_id,
            due_on=date(2026, 6, 30),
        ),
    )
    rec.themes = [RecommendationTheme(name="Workforce training and supervision")]


def _schools_round(partnership_id: int, users: dict[str, User], rng: random.Random) -> None:
    version = _version(partnership_id, S175)
    if version is None or db.session.scalar(sa.select(Round.id).where(Round.title == SCHOOLS)):
        return
    sectors = {s.key: s for s in db.session.scalars(sa.select(Sector).where(Sector.partnership_id == partnership_id))}
    linked = {
        a.name
        for a in db.session.scalars(
            sa.select(Agency).join(PartnershipAgency).where(PartnershipAgency.partnership_id == partnership_id)
        )
    }
    for n, name in enumerate(SCHOOL_NAMES):
        if name not in linked:
            # fictional unique reference numbers: a school's URN, a nursery's Ofsted number
            accounts.create_agency(
                partnership_id,
                name,
                sectors["early_years" if name in EARLY_YEARS else "education"],
                reference_number=f"EY{480100 + n * 7}" if name in EARLY_YEARS else str(150200 + n * 13),
            )
    db.session.flush()
    admin, qa = users["admin"], users["qa"]
    with clock.frozen(date(2026, 9, 14)):
        round_ = services.plan_round(
            partnership_id,
            title=SCHOOLS,
            version=version,
            opens_on=date(2026, 9, 14),
            due_on=date(2026, 11, 27),
            sector_ids=[sectors["education"].id, sectors["early_years"].id],
        )
        services.move_round(round_, RoundStatus.OPEN)
    returns = _returns(round_)
    with clock.frozen(date(2026, 11, 25)):
        for n, ret in enumerate(returns):
            if n % 13 == 5:
                services.decline_return(
                    ret, by=qa, reason="Setting closed for refurbishment this term: returns in spring"
                )
            elif n % 17 == 8:
                services.record_alternative_template(
                    ret, by=qa, note="Returned the multi-academy trust's own safeguarding audit"
                )
            elif n % 5 == 4:
                services.save_answers(
                    ret,
                    dict(list(_answers(ret, rng, strength=0.6).items())[:8]),
                    by=admin,
                    expected_version=ret.lock_version,
                )  # started, not finished: late
            elif n % 7 != 3:
                _submit(ret, admin, rng, strength=rng.random())
    db.session.flush()


def load_self_assessments(partnership_id: int, users: dict[str, User]) -> None:
    rng = random.Random(175)
    _section_11_rounds(partnership_id, users, rng)
    _schools_round(partnership_id, users, rng)


def _load(demo: Demo) -> None:
    load_self_assessments(demo.partnership_id, demo.users)


register_demo_step(45, _load)
