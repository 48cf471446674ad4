"""Every route of the app, and a world with a real object behind each of its URL arguments.

Shared by the access table (``tests/test_access.py``) and the form fuzzer (``tests/test_form_fuzz.py``):
both visit every route as every role, so both need the same routes and the same ids to fill them with.
"""

from __future__ import annotations

import io
import re
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa

from audit_app import create_app
from audit_app.accounts import services
from audit_app.accounts.models import Membership
from audit_app.actions import improvement as improvement_actions
from audit_app.actions import services as action_services
from audit_app.case_audits import services as case_services
from audit_app.core import clock
from audit_app.core.audit import system_actor
from audit_app.extensions import db
from audit_app.questionnaires import services as questionnaire_services
from audit_app.questionnaires.learning_themes import add_theme, retire_theme, themes_of
from audit_app.questionnaires.models import QuestionnaireKind
from audit_app.reviews import summaries as review_summaries
from audit_app.reviews.learning import add_point
from audit_app.reviews.models import ClockKind, ClockPause, LearningReview, ReviewType
from audit_app.rounds import evidence as criterion_evidence
from audit_app.rounds.models import Return, RoundStatus
from audit_app.self_assessments import challenges, scrutiny
from audit_app.self_assessments import surveys as survey_services
from tests.factories import (
    api_token,
    build_world,
    make_action,
    make_questionnaire,
    make_recommendation,
    make_round,
    world_ids,
)
from tests.questionnaires.test_questionnaire_spec import EXAMPLE

LIBRARY_KEY = sorted(p.stem for p in questionnaire_services.LIBRARY_DIR.glob("*.yaml"))[0]


def _routes() -> list[tuple[str, str, str]]:
    app = create_app("test")
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            routes.append((rule.endpoint, rule.rule, method))
    return sorted(routes)


#: (endpoint, rule, method) for every route of the URL map but static files
ROUTES = _routes()


def fill_url(rule: str, ids: dict[str, object]) -> str:
    """The URL of ``rule`` with each ``<converter:name>`` replaced by ``ids[name]``."""

    def value(match: re.Match) -> str:
        return str(ids[match.group(2)])

    return re.sub(r"<(?:(\w+):)?(\w+)>", value, rule)


def build_route_world() -> dict[str, Any]:
    """The world, an open round with one police return, and an API token per person, committed.

    Returns ids and secrets (never ORM objects): ``world`` (``world_ids``), ``ids`` (a value for every URL
    argument name of the URL map) and ``secrets`` (an API token per person).
    """
    world = build_world()
    with system_actor("test:setup"):
        token, _ = services.create_api_token(world.user("auditor"), world.partnership.id, "auditor's")
        version = make_questionnaire(world.partnership.id, EXAMPLE, publish=False)
        published = make_questionnaire(world.partnership.id, EXAMPLE, key="published_one")
        round_ = make_round(
            world.partnership.id,
            version=published,
            title="Access round",
            agencies=[world.police],
            cases=["CS-ACCESS"],
            status=RoundStatus.OPEN,
        )
        # the action plan: a recommendation of the round addressed to police, an action the police auditor
        # owns, and a piece of evidence of impact with a file
        recommendation = make_recommendation(world.partnership.id, round_=round_, agencies=[world.police])
        action = make_action(recommendation, owner=world.user("auditor"), agency=world.police)
        evidence = action_services.add_evidence(
            action,
            action_services.EvidenceIn(description="Health attends strategy discussions"),
            [(io.BytesIO(b"Attendance rose from 4 in 10 to 9 in 10.\n"), "attendance.txt")],
            by=world.user("auditor").id,
        )
        # a chair's report recommendation, to promote into the plan
        _, (report_recommendation, *_) = case_services.save_chair_report(round_, {}, [(None, "Invite health")])
        # a Section 11 self-assessment round, open, with a police return (sa_round_id, sa_return_id)
        sa_round = make_round(
            world.partnership.id,
            kind=QuestionnaireKind.SELF_ASSESSMENT,
            title="Access self-assessment",
            agencies=[world.police],
            status=RoundStatus.OPEN,
        )
        # -- self-assessments: scrutiny threads, moderation, follow-up list --
        # a query from the QA group on the police return's first rated criterion (question_key, thread_id)
        sa_police_return = db.session.scalar(sa.select(Return).where(Return.round_id == sa_round.id))
        sa_question_key = next(q.key for q in scrutiny.criteria(sa_police_return) if q.type.value == "scale")
        sa_thread = scrutiny.open_thread(
            sa_police_return, sa_question_key, "query", "What does the evidence show?", by=world.user("qa_member")
        )

        # -- self-assessments: practitioner surveys --
        # the round's survey, open for a year, with a working link for police (survey_token)
        survey = survey_services.set_up_survey(
            sa_round,
            version=make_questionnaire(world.partnership.id, library_key="practitioner_survey"),
            closes_on=clock.today() + timedelta(days=365),
        )
        _, survey_token = survey_services.make_link(survey, world.police.agency_id)

        # -- self-assessments: reports --

        # -- self-assessments: settings from a CSV, evidence files and links, improvement actions --
        # a file on a criterion of the world's police return (question_key, criterion_evidence_id): links and files
        # are an engine feature, reached through return_id
        audit_return = db.session.scalar(sa.select(Return).where(Return.round_id == round_.id))
        sa_key = criterion_evidence.criterion_keys(audit_return)[0]
        (sa_file,) = criterion_evidence.add_files(
            audit_return, sa_key, [(io.BytesIO(b"Minutes of the safeguarding board.\n"), "minutes.txt")], by=None
        )
        # the police self-assessment return's improvement actions: one, owned by the police auditor
        sa_return = db.session.scalar(sa.select(Return).where(Return.round_id == sa_round.id))
        improvement_actions.add_improvement_action(
            sa_return,
            improvement_actions.ImprovementIn(
                title="Refresh the safeguarding policy",
                owner_user_id=world.user("auditor").id,
                due_on=date(2027, 3, 31),
                question_key=criterion_evidence.criterion_keys(sa_return)[0],
            ),
        )

        # -- self-assessments: challenge events, shared rounds --
        challenge = challenges.record_challenge(
            sa_round,
            world.partnership.id,
            challenges.ChallengeIn(
                agency_id=world.police.agency_id,
                held_on=date(2026, 11, 2),
                attendees="Jo Reid, Head of Safeguarding, North Police",
                questions="How do you know training reached night shifts?",
            ),
            by=world.user("qa_member").id,
        )

        # -- learning reviews: the register, clocks and pauses --
        # a rapid review, unpublished (review_id)
        review = LearningReview(
            partnership_id=world.partnership.id,
            review_type=ReviewType.RAPID_REVIEW,
            pseudonym="Child A",
            aware_on=date(2026, 11, 2),
            notified_on=date(2026, 11, 5),
        )
        db.session.add(review)
        db.session.flush()
        # its rapid review clock paused, still open (pause_id)
        pause = ClockPause(
            review=review, clock=ClockKind.RAPID_REVIEW, paused_on=date(2026, 11, 9), reason="Criminal proceedings"
        )
        db.session.add(pause)
        db.session.flush()
        # -- learning reviews: agency summaries, the panel meeting, the decision --
        # the review asks police for a summary: a round of agency summaries, open, with a police return
        make_questionnaire(world.partnership.id, library_key=review_summaries.LIBRARY_KEY)
        summary_round, _ = review_summaries.ask_for_summaries(
            review,
            review_summaries.SummariesIn(
                agency_ids=[world.police.agency_id], due_on=clock.today() + timedelta(days=14)
            ),
        )
        # -- learning reviews: learning points, recommendations, the list of learning themes --
        # a learning point tagged with the first default theme (learning_point_id); the last theme is never used,
        # so it can be deleted (learning_theme_id)
        partnership_themes = themes_of(world.partnership.id)
        learning_point = add_point(
            review, "Practitioners did not ask who else lived at home.", [partnership_themes[0].id]
        )
        add_point(review, "Nobody escalated when the plan drifted.")  # a second point: the move buttons show
        learning_theme = partnership_themes[-1]
        # a retired theme (the list offers to restore it)
        retire_theme(add_theme(world.partnership.id, "Retired in the world"))
        # -- learning themes across sources --
        # the themes pages take the learning points' theme (learning_theme_id, above): the partnership's own list
        db.session.commit()
    police_return = db.session.scalar(sa.select(Return).where(Return.round_id == round_.id))
    # a signed-in browser session of the auditor's (accounts.security): only they may end it
    from audit_app.accounts.models import UserSession
    from audit_app.accounts.security import start_session

    auditor_session_key = start_session(world.user("auditor"), ip_address="192.0.2.1", user_agent="Firefox/1 Windows")
    db.session.commit()
    auditor_session_id = db.session.scalar(
        sa.select(UserSession.id).where(UserSession.user_id == world.user("auditor").id).order_by(UserSession.id.desc())
    )
    assert auditor_session_key
    auditor_membership = db.session.scalar(sa.select(Membership).where(Membership.user_id == world.user("auditor").id))
    ids = {
        "questionnaire_id": version.questionnaire_id,
        "number": version.number,
        "section_id": version.sections[0].id,
        "question_id": version.questions[0].id,
        "library_key": LIBRARY_KEY,
        "round_id": round_.id,
        "return_id": police_return.id,
        "section_key": "recognition",
        "round_case_id": round_.cases[0].id,
        "case_id": round_.cases[0].case_id,
        "agency_id": world.police.agency_id,
        "sector_id": world.police.sector_id,
        "user_id": world.user("auditor").id,
        "membership_id": auditor_membership.id,
        "token_id": token.id,
        "session_id": auditor_session_id,
        "entity_type": "agency",
        "entity_id": world.police.agency_id,
        "token": "not-a-valid-token",
        "theme_id": round_.theme_id,
        "to": "closed",
        "kind": "briefing",
        "recommendation_id": recommendation.id,
        "action_id": action.id,
        "evidence_id": evidence.id,
        "file_id": evidence.files[0].id,
        "report_recommendation_id": report_recommendation.id,
        "sa_round_id": sa_round.id,
        "sa_return_id": db.session.scalar(sa.select(Return.id).where(Return.round_id == sa_round.id)),
        # -- self-assessments: scrutiny threads, moderation, follow-up list --
        "sa_question_key": sa_question_key,
        "thread_id": sa_thread.id,
        # -- self-assessments: practitioner surveys --
        "survey_token": survey_token,
        # -- self-assessments: reports --
        # -- self-assessments: settings from a CSV, evidence files and links, improvement actions --
        "question_key": sa_key,
        "criterion_evidence_id": sa_file.id,
        # -- self-assessments: challenge events, shared rounds --
        "partnership_id": world.partnership.id,
        "challenge_id": challenge.id,
        # -- learning reviews: the register, clocks and pauses --
        "review_id": review.id,
        "pause_id": pause.id,
        # -- learning reviews: agency summaries, the panel meeting, the decision --
        "summary_round_id": summary_round.id,
        # -- learning reviews: learning points, recommendations, the list of learning themes --
        "learning_point_id": learning_point.id,
        "learning_theme_id": learning_theme.id,
        # -- learning themes across sources --
    }
    secrets = {name: api_token(user, name="access test") for name, user in world.users.items()}
    return {"world": world_ids(world), "ids": ids, "secrets": secrets}
