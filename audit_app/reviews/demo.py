"""The demo's register of learning reviews (`flask demo load`): fifteen reviews over three reporting years, in
every type, status, decision and publication state, with clocks met, missed, running, due soon, overdue and
paused, learning points tagged with the partnership's learning themes, the current rapid review's agency
summaries (asked of three agencies: one submitted, one started), four recommendations with their actions on
the action plan, and learning themes on some of the panel's case findings and on the challenge events.

Dates count back from the clock's today in working days, so the register always has a notification overdue,
a rapid review due soon and a paused clock, whatever day the demo is loaded. Each review's story is written
out below, one by one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa

from ..accounts.models import Agency, User
from ..actions import services as actions
from ..actions.models import SourceKind
from ..case_audits.models import CaseJudgement, RoundCase
from ..core import clock
from ..core.calendar import add_working_days, is_working_day
from ..core.demo import Demo, register_demo_step
from ..extensions import db
from ..questionnaires import learning_themes_tags as tags
from ..questionnaires.models import LearningTheme, QuestionType
from ..rounds import services as rounds
from ..rounds.models import Return, Round
from ..self_assessments.models import ChallengeEvent
from . import summaries
from .clocks import add_months
from .models import (
    ClockKind,
    ClockPause,
    LearningPoint,
    LearningReview,
    PanelResponse,
    PublicationState,
    ReviewDecision,
    ReviewStatus,
    ReviewType,
)


def working_days_before(d: date, n: int) -> date:
    """The working day ``n`` working days before ``d``."""
    day = d
    while n:
        day -= timedelta(days=1)
        if is_working_day(day):
            n -= 1
    return day


@dataclass
class Story:
    """One review: when the authority became aware (working days before today), how many working days later it
    notified the National Panel and the panel decided, and what happened next."""

    pseudonym: str
    review_type: ReviewType
    summary: str
    #: working days before today the authority became aware (or, without a rapid review, it was commissioned)
    aware_ago: int
    #: working days from aware to notification (None: not yet notified)
    notify_after: int | None = None
    #: working days from notification to the decision (None: not yet decided)
    decide_after: int | None = None
    decision: ReviewDecision | None = None
    rationale: str = ""
    panel_response: PanelResponse | None = None
    attendees: str = ""
    #: calendar days from the decision (commissioning) to the final report (None: not finished)
    complete_after: int | None = None
    publication: PublicationState = PublicationState.NOT_FOR_PUBLICATION
    delay_reason: str = ""
    #: calendar days from completion to publication
    publish_after: int | None = None
    #: (clock, working days after its start it was paused, working days later it resumed or None, reason)
    pauses: list[tuple[ClockKind, int, int | None, str]] = field(default_factory=list)
    #: (learning point, its themes)
    learning: list[tuple[str, list[str]]] = field(default_factory=list)


PANEL = (
    "Head of Service, Children's Social Care\nDetective Inspector, Public Protection\nDesignated Nurse for "
    "Safeguarding, ICB\nNamed GP\nHead of Education Safeguarding\nIndependent chair"
)

STORIES = [
    Story(
        "Child A",
        ReviewType.RAPID_REVIEW,
        "A four-year-old seriously injured at home; known to health visiting and early help.",
        aware_ago=560,
        notify_after=3,
        decide_after=14,
        decision=ReviewDecision.LCSPR,
        rationale="Several agencies were involved and the case raises issues of importance nationally about "
        "early help for pre-school children.",
        panel_response=PanelResponse.AGREED,
        attendees=PANEL,
        complete_after=170,
        publication=PublicationState.PUBLISHED,
        publish_after=40,
        learning=[
            (
                "Health visiting and early help held different pictures of the home and did not share them.",
                ["Information sharing", "Think family"],
            ),
            (
                "Nobody asked the child's nursery what they saw day to day.",
                ["Voice of the child", "Professional curiosity"],
            ),
            ("Supervision did not test the plan when progress stalled.", ["Management oversight and supervision"]),
        ],
    ),
    Story(
        "Baby B",
        ReviewType.RAPID_REVIEW,
        "An unexplained injury to a six-week-old baby; the family was new to the area.",
        aware_ago=520,
        notify_after=7,
        decide_after=15,
        decision=ReviewDecision.NO_FURTHER_REVIEW,
        rationale="The learning is single-agency and already in hand through the hospital's own review.",
        panel_response=PanelResponse.AGREED,
        attendees=PANEL,
        learning=[
            (
                "The records of the family's previous area arrived after the birth.",
                ["Cross-border working", "Information sharing"],
            ),
        ],
    ),
    Story(
        "Child C",
        ReviewType.RAPID_REVIEW,
        "A teenager who died after being exploited; criminal proceedings against adults followed.",
        aware_ago=470,
        notify_after=2,
        decide_after=13,
        decision=ReviewDecision.LCSPR,
        rationale="The exploitation crossed three areas and the agencies' responses were not joined up.",
        panel_response=PanelResponse.AGREED,
        attendees=PANEL,
        complete_after=300,
        publication=PublicationState.AWAITING_PUBLICATION,
        delay_reason="Criminal trial listed for next spring: the report waits for the verdict.",
        pauses=[
            (
                ClockKind.PRACTICE_REVIEW,
                20,
                85,
                "Police asked that practitioners were not interviewed until charging decisions were made.",
            )
        ],
        learning=[
            ("Missing episodes were recorded but never looked at together.", ["Recording", "Professional curiosity"]),
            ("Concerns were not escalated when the strategy meeting was delayed.", ["Escalation", "Drift and delay"]),
            ("The teenager's own account of the risk was not sought.", ["Voice of the child"]),
        ],
    ),
    Story(
        "Adolescent neglect",
        ReviewType.THEMATIC_REVIEW,
        "A thematic review of neglect of young people aged 11 to 17, across eight cases.",
        aware_ago=430,
        complete_after=160,
        publication=PublicationState.PUBLISHED,
        publish_after=30,
        learning=[
            (
                "Thresholds for older children were applied as if they could protect themselves.",
                ["Application of thresholds"],
            ),
            (
                "Schools saw the neglect first but their referrals were closed without feedback.",
                ["Information sharing", "Escalation"],
            ),
        ],
    ),
    Story(
        "Child Q",
        ReviewType.LCSPR,
        "A practice review commissioned by the partnership after a serious case in a neighbouring area.",
        aware_ago=390,
        rationale="Commissioned directly by the partnership's executive.",
        complete_after=175,
        publication=PublicationState.PUBLISHED,
        publish_after=35,
        learning=[
            (
                "Information from the other area's child protection plan did not follow the child.",
                ["Cross-border working", "Information sharing"],
            ),
        ],
    ),
    Story(
        "Young person S",
        ReviewType.LOCAL_LEARNING_REVIEW,
        "A local learning review of the response to a sixteen-year-old's repeated self-harm.",
        aware_ago=150,
        publication=PublicationState.DRAFT,
        learning=[
            ("Escalation between CAMHS and social care stalled over who held the case.", ["Escalation"]),
        ],
    ),
    Story(
        "Child D",
        ReviewType.RAPID_REVIEW,
        "A nine-year-old with a disability admitted to hospital malnourished.",
        aware_ago=330,
        notify_after=4,
        decide_after=12,
        decision=ReviewDecision.LOCAL_LEARNING_REVIEW,
        rationale="The threshold for a practice review is not met, but the multi-agency learning about disabled "
        "children is significant locally.",
        panel_response=PanelResponse.AGREED,
        attendees=PANEL,
        complete_after=120,
        publication=PublicationState.DRAFT,
        learning=[
            ("The child's communication needs meant their views were never gathered.", ["Voice of the child"]),
            (
                "Appointments missed over two years were not seen as a pattern.",
                ["Drift and delay", "Professional curiosity"],
            ),
        ],
    ),
    Story(
        "Siblings E and F",
        ReviewType.RAPID_REVIEW,
        "Two siblings harmed by a parent's partner; domestic abuse was known to adult services.",
        aware_ago=280,
        notify_after=5,
        decide_after=15,
        decision=ReviewDecision.LCSPR,
        rationale="Adult and children's services held different parts of the picture; the learning is wide.",
        panel_response=PanelResponse.AGREED,
        attendees=PANEL,
        complete_after=215,
        publication=PublicationState.PUBLISHED,
        publish_after=21,
        learning=[
            ("Adult mental health did not ask who else lived in the home.", ["Think family"]),
            ("The new partner's history was not checked.", ["Professional curiosity", "Information sharing"]),
        ],
    ),
    Story(
        "Child G",
        ReviewType.JOINT_REVIEW,
        "A joint review with the domestic homicide review of the child's mother.",
        aware_ago=230,
        publication=PublicationState.NOT_FOR_PUBLICATION,
    ),
    Story(
        "Baby H",
        ReviewType.RAPID_REVIEW,
        "A sudden unexpected death of an infant; co-sleeping and parental drug use.",
        aware_ago=200,
        notify_after=5,
        decide_after=19,
        decision=ReviewDecision.NO_FURTHER_REVIEW,
        rationale="The safe sleep learning is known and being taken forward by the child death overview panel.",
        panel_response=PanelResponse.DISAGREED,
        attendees=PANEL,
        learning=[
            ("Safe sleep advice was given but not checked at later visits.", ["Professional curiosity"]),
        ],
    ),
    Story(
        "Child J",
        ReviewType.RAPID_REVIEW,
        "A twelve-year-old seriously injured in a road accident while missing from care.",
        aware_ago=70,
        notify_after=3,
        decide_after=14,
        decision=ReviewDecision.LCSPR,
        rationale="Placement stability and missing-from-care responses need a multi-agency look.",
        panel_response=PanelResponse.AWAITING,
        attendees=PANEL,
        learning=[
            ("Return home interviews were not completed after three missing episodes.", ["Drift and delay"]),
        ],
    ),
    Story(
        "Child L",
        ReviewType.RAPID_REVIEW,
        "A toddler admitted with a head injury; the family has a social worker.",
        aware_ago=16,
        notify_after=3,
    ),
    Story(
        "Child N",
        ReviewType.RAPID_REVIEW,
        "A fifteen-year-old seriously assaulted; a police investigation is under way.",
        aware_ago=14,
        notify_after=4,
        pauses=[
            (
                ClockKind.RAPID_REVIEW,
                5,
                None,
                "The police investigation asked for agency contact with the "
                "family to wait until suspects were interviewed.",
            )
        ],
    ),
    Story(
        "Child P",
        ReviewType.RAPID_REVIEW,
        "A seven-year-old found home alone and injured; notification not yet sent.",
        aware_ago=7,
    ),
    Story(
        "Baby M",
        ReviewType.RAPID_REVIEW,
        "A three-month-old with bruising seen by a GP; the authority learned of it this week.",
        aware_ago=2,
    ),
]


def _theme(partnership_id: int, name: str) -> LearningTheme:
    theme = db.session.scalar(
        sa.select(LearningTheme).where(LearningTheme.partnership_id == partnership_id, LearningTheme.name == name)
    )
    if theme is None:
        position = db.session.scalar(
            sa.select(sa.func.count()).select_from(LearningTheme).where(LearningTheme.partnership_id == partnership_id)
        )
        theme = LearningTheme(partnership_id=partnership_id, name=name, position=position + 1)
        db.session.add(theme)
        db.session.flush()
    return theme


#: the agencies at every rapid review panel of the demo
PANEL_AGENCIES = [
    "Northbridge and Eastvale Police (North BCU)",
    "Northbridge Council Children's Social Care",
    "Northbridge University Hospitals NHS Trust",
    "Northbridge and Eastvale Integrated Care Board",
]


def _review(partnership_id: int, story: Story, today: date, by_id: int | None, panel: list[Agency]) -> LearningReview:
    aware = working_days_before(today, story.aware_ago)
    review = LearningReview(
        partnership_id=partnership_id,
        review_type=story.review_type,
        pseudonym=story.pseudonym,
        summary=story.summary,
        created_by_id=by_id,
        publication_state=story.publication,
        publication_delay_reason=story.delay_reason,
    )
    if story.review_type == ReviewType.RAPID_REVIEW:
        review.aware_on = aware
        if story.notify_after is not None:
            review.notified_on = add_working_days(aware, story.notify_after)
            if story.decide_after is not None:
                decided = add_working_days(review.notified_on, story.decide_after)
                review.panel_met_on = working_days_before(decided, 2)
                review.panel_attendees = story.attendees
                review.panel_agencies = list(panel)
                review.decision, review.decided_on = story.decision, decided
                review.decision_rationale, review.panel_response = story.rationale, story.panel_response
    else:
        # a review commissioned without a rapid review: its commissioning date starts its clock (an LCSPR's)
        if story.review_type == ReviewType.LCSPR:
            review.decision, review.decided_on, review.decision_rationale = ReviewDecision.LCSPR, aware, story.rationale
    start = review.decided_on or aware
    if story.complete_after is not None:
        review.completed_on = start + timedelta(days=story.complete_after)
    if review.completed_on is not None or story.decision == ReviewDecision.NO_FURTHER_REVIEW:
        review.status = ReviewStatus.COMPLETED
    if story.publish_after is not None and review.completed_on is not None:
        review.published_on = review.completed_on + timedelta(days=story.publish_after)
        review.published_url = (
            f"https://www.northbridge-safeguarding.example.org/reviews/{story.pseudonym.lower().replace(' ', '-')}"
        )
    db.session.add(review)
    db.session.flush()
    # when it was registered: the day the authority became aware (so each review counts in its own year)
    review.created_at = review.created_at.replace(year=aware.year, month=aware.month, day=aware.day)
    starts = {
        ClockKind.NOTIFICATION: review.aware_on,
        ClockKind.RAPID_REVIEW: review.notified_on,
        ClockKind.PRACTICE_REVIEW: review.decided_on,
    }
    for kind, after, resumed_after, reason in story.pauses:
        begun = starts[kind]
        assert begun is not None, f"{story.pseudonym}: the {kind.value} clock has not started"
        paused = add_working_days(begun, after)
        resumed = add_working_days(paused, resumed_after) if resumed_after is not None else None
        db.session.add(
            ClockPause(
                review_id=review.id,
                clock=kind,
                paused_on=paused,
                resumed_on=resumed,
                reason=reason,
                paused_by_id=by_id,
                resumed_by_id=by_id if resumed else None,
            )
        )
    for number, (text, themes) in enumerate(story.learning, start=1):
        db.session.add(
            LearningPoint(
                review_id=review.id, number=number, text=text, themes=[_theme(partnership_id, name) for name in themes]
            )
        )
    db.session.flush()
    return review


#: the current rapid review whose agency summaries are asked for, and from whom (agency names); the first two
#: have answered: the police submitted, the hospital has started
SUMMARIES_OF = "Child L"
SUMMARY_AGENCIES = [
    "Northbridge and Eastvale Police (North BCU)",
    "Northbridge University Hospitals NHS Trust",
    "Northbridge Council Children's Social Care",
]

#: recommendations of finished reviews, each with its first action (owner, months to the due date), on the plan
RECOMMENDATIONS = [
    (
        "Child A",
        "Health visiting and early help share a single chronology for every pre-school child on an early help plan.",
        ["Information sharing"],
        "Named nurse and early help manager agree a shared chronology form",
        3,
    ),
    (
        "Child C",
        "Missing episodes are reviewed together, not one by one, at every strategy discussion for a child "
        "at risk of exploitation.",
        ["Professional curiosity", "Recording"],
        "Add a missing-episode history to the strategy discussion template",
        2,
    ),
    (
        "Siblings E and F",
        "Adult services ask who lives in the home and who cares for children at every assessment.",
        ["Think family"],
        "Add the household question to the adult mental health assessment",
        4,
    ),
    (
        "Young person S",
        "CAMHS and children's social care agree who holds a case within five working days of a disagreement.",
        ["Escalation"],
        "Publish a joint escalation route between CAMHS and social care",
        1,
    ),
]


def _summaries(partnership_id: int, users: dict[str, User]) -> None:
    """Child L's agency summaries: asked of three agencies, the police's submitted, the hospital's started."""
    review = db.session.scalar(
        sa.select(LearningReview).where(
            LearningReview.partnership_id == partnership_id, LearningReview.pseudonym == SUMMARIES_OF
        )
    )
    agencies = db.session.scalars(sa.select(Agency).where(Agency.name.in_(SUMMARY_AGENCIES))).all()
    if review is None or summaries.summary_version(partnership_id) is None or len(agencies) != len(SUMMARY_AGENCIES):
        return
    order = {name: n for n, name in enumerate(SUMMARY_AGENCIES)}
    agencies = sorted(agencies, key=lambda a: order[a.name])
    round_, _ = summaries.ask_for_summaries(
        review, summaries.SummariesIn(agency_ids=[a.id for a in agencies], due_on=summaries.default_due_on(review))
    )
    returns = {r.agency_id: r for r in db.session.scalars(sa.select(Return).where(Return.round_id == round_.id))}
    admin = users["admin"]
    police, hospital = returns[agencies[0].id], returns[agencies[1].id]
    rounds.save_answers(police, _summary_answers(police, complete=True), by=admin, expected_version=police.lock_version)
    rounds.submit_return(police, by=admin, as_lead=True)
    rounds.save_answers(
        hospital, _summary_answers(hospital, complete=False), by=admin, expected_version=hospital.lock_version
    )


def _summary_answers(ret: Return, *, complete: bool) -> dict[str, Any]:
    """An agency's summary in words: each required question answered (every question if ``complete``)."""
    given: dict[str, Any] = {}
    for question in rounds.applicable_questions(ret):
        if not (complete or question.is_required):
            continue
        if question.type in (QuestionType.SINGLE_CHOICE, QuestionType.MULTIPLE_CHOICE):
            first = question.options[0]
            given[question.key] = first if question.type == QuestionType.SINGLE_CHOICE else [first]
        elif question.type == QuestionType.TEXT:
            given[question.key] = SUMMARY_TEXT
    return given


SUMMARY_TEXT = (
    "Two contacts with the family in the period: a domestic incident attended in August, recorded as verbal only "
    "with the children asleep upstairs, and a welfare check in October. Neither was shared with the school."
)


def _recommendations(partnership_id: int, users: dict[str, User]) -> None:
    by_name = {
        r.pseudonym: r
        for r in db.session.scalars(sa.select(LearningReview).where(LearningReview.partnership_id == partnership_id))
    }
    today = clock.today()
    for pseudonym, text, themes, action, months in RECOMMENDATIONS:
        review = by_name.get(pseudonym)
        if review is None:
            continue
        rec = actions.create_recommendation(
            partnership_id,
            actions.RecommendationIn(source=SourceKind.REVIEW.value, review_id=review.id, text=text, themes=themes),
        )
        actions.add_action(
            rec,
            actions.ActionIn(title=action, owner_user_id=users["qa"].id, due_on=add_months(today, months)),
        )


#: the panel's overall findings on cases of the demo's reported CSE rounds, and the challenge events of last
#: year's Section 11 round, tagged with learning themes (so every source shows on the themes page)
FINDING_THEMES = [
    ["Information sharing", "Voice of the child"],
    ["Professional curiosity"],
    ["Escalation", "Drift and delay"],
]
CHALLENGE_THEMES = [["Management oversight and supervision"], ["Information sharing", "Think family"]]


def _tag_findings(partnership_id: int) -> None:
    """Tag some of the panel's overall findings and the challenge events with learning themes."""
    judgements = db.session.scalars(
        sa.select(CaseJudgement)
        .join(RoundCase, RoundCase.id == CaseJudgement.round_case_id)
        .join(Round, Round.id == RoundCase.round_id)
        .where(Round.partnership_id == partnership_id, CaseJudgement.section_key == "")
        .order_by(CaseJudgement.id)
    ).all()
    for n, judgement in enumerate(judgements[::3]):
        names = FINDING_THEMES[n % len(FINDING_THEMES)]
        tags.set_themes(judgement, [_theme(partnership_id, name) for name in names], partnership_id=partnership_id)
    events = db.session.scalars(
        sa.select(ChallengeEvent).where(ChallengeEvent.partnership_id == partnership_id).order_by(ChallengeEvent.id)
    ).all()
    for event, names in zip(events, CHALLENGE_THEMES, strict=False):
        tags.set_themes(event, [_theme(partnership_id, name) for name in names], partnership_id=partnership_id)


def load_reviews(partnership_id: int, users: dict[str, User]) -> list[LearningReview]:
    """The register, once: loading the demo again adds nothing."""
    if db.session.scalar(sa.select(LearningReview.id).where(LearningReview.partnership_id == partnership_id).limit(1)):
        return []
    today = clock.today()
    qa = users.get("qa")
    panel = db.session.scalars(sa.select(Agency).where(Agency.name.in_(PANEL_AGENCIES)).order_by(Agency.name)).all()
    made = [_review(partnership_id, story, today, qa.id if qa is not None else None, panel) for story in STORIES]
    if qa is not None and "admin" in users:
        _summaries(partnership_id, users)
        _recommendations(partnership_id, users)
    _tag_findings(partnership_id)
    return made


def _load(demo: Demo) -> None:
    load_reviews(demo.partnership_id, demo.users)


register_demo_step(50, _load)
