"""Agency summaries of a rapid review: the review asks the agencies involved for a summary of their work with the
child and family, as the returns of a round of kind ``agency_summary``.

The round answers the partnership's latest published agency-summary questionnaire and opens at once, so each
agency's return follows the engine's save, sign-off, submit and access rules unchanged. Adding an agency later
adds it to the same round. Services flush and leave the commit to the view; every refusal names each field at
fault at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa

from ..accounts.models import Sector
from ..core import clock
from ..core.calendar import add_working_days
from ..core.errors import FieldErrors, NotAllowedError
from ..extensions import db
from ..questionnaires import services as questionnaires
from ..questionnaires.models import Questionnaire, QuestionnaireKind, QuestionnaireVersion, VersionStatus
from ..rounds import services as rounds
from ..rounds.models import Return, ReturnGroup, Round, RoundStatus
from .clocks import review_clocks
from .models import ClockKind, LearningReview, ReviewType

#: the library's agency-summary questionnaire, offered when the partnership has none published
LIBRARY_KEY = "rapid_review_agency_summary"
#: the default due date: this many working days after the National Panel was notified...
DUE_AFTER_NOTIFICATION = 10
#: ...but never fewer than this many working days from today
DUE_AT_LEAST = 5

NOT_RAPID = "Only a rapid review asks the agencies involved for summaries"
NO_QUESTIONNAIRE = (
    "This partnership has no published agency summary questionnaire. Publish one first: go to Questionnaires, "
    "choose 'Rapid review: agency summary' from the library, check it and publish it"
)


@dataclass
class SummariesIn:
    """Who is asked and by when (page or API). ``due_on`` None keeps a round's due date when adding agencies."""

    agency_ids: list[int] = field(default_factory=list)
    sector_ids: list[int] = field(default_factory=list)
    due_on: date | None = None


@dataclass(frozen=True)
class SummaryRow:
    """One agency's summary as the review page and the API show it."""

    ret: Return

    @property
    def agency(self):
        return self.ret.agency

    @property
    def is_in(self) -> bool:
        return self.ret.status.group == ReturnGroup.RETURNED


def asks_for_summaries(review: LearningReview) -> bool:
    return review.review_type == ReviewType.RAPID_REVIEW


def summary_version(partnership_id: int) -> QuestionnaireVersion | None:
    """The partnership's latest published agency-summary questionnaire version, if any."""
    return db.session.scalar(
        sa.select(QuestionnaireVersion)
        .join(Questionnaire, Questionnaire.id == QuestionnaireVersion.questionnaire_id)
        .where(
            Questionnaire.partnership_id == partnership_id,
            Questionnaire.kind == QuestionnaireKind.AGENCY_SUMMARY,
            QuestionnaireVersion.status == VersionStatus.PUBLISHED,
        )
        .order_by(QuestionnaireVersion.published_at.desc(), QuestionnaireVersion.id.desc())
        .limit(1)
    )


def can_publish_from_library(partnership_id: int) -> bool:
    """The one-click "start from the library and publish" is offered when the partnership has no questionnaire
    with the library's key yet (one it started and left as a draft is for it to finish on its own page)."""
    return (
        db.session.scalar(
            sa.select(Questionnaire.id).where(
                Questionnaire.partnership_id == partnership_id, Questionnaire.key == LIBRARY_KEY
            )
        )
        is None
    )


def publish_from_library(partnership_id: int) -> QuestionnaireVersion:
    """The library's agency-summary questionnaire, copied to the partnership and published as it is."""
    if not can_publish_from_library(partnership_id):
        raise NotAllowedError(
            "This partnership already has the library's agency summary questionnaire: publish it from the "
            "Questionnaires page"
        )
    version = questionnaires.start_from_library(partnership_id, LIBRARY_KEY)
    questionnaires.publish_version(version)
    return version


def rapid_review_due(review: LearningReview, today: date | None = None) -> date | None:
    """When the rapid review clock is due (None: it has not started)."""
    today = today or clock.today()
    for c in review_clocks(review, today):
        if c.kind == ClockKind.RAPID_REVIEW:
            return c.due_on
    return None


def default_due_on(review: LearningReview, today: date | None = None) -> date:
    """10 working days after the notification, or 5 working days from today when that is later (or the review
    has no notification date)."""
    today = today or clock.today()
    floor = add_working_days(today, DUE_AT_LEAST)
    if review.notified_on is None:
        return floor
    return max(add_working_days(review.notified_on, DUE_AFTER_NOTIFICATION), floor)


def due_warnings(review: LearningReview, due_on: date | None) -> list[str]:
    """Advice (not refusals) about a due date: after the rapid review clock's due date, the panel cannot read
    the summaries in time."""
    due = rapid_review_due(review)
    if due_on is not None and due is not None and due_on > due:
        return [
            f"The summaries are due after the rapid review itself is due ({due.strftime('%-d %B %Y')}): the "
            "panel may not have them in time"
        ]
    return []


def summary_rows(review: LearningReview, query: sa.Select | None = None) -> list[SummaryRow]:
    """The review's agency summaries (those ``query`` selects: see ``permissions.summaries_query``), by agency
    name."""
    if review.summary_round_id is None:
        return []
    if query is None:
        query = sa.select(Return).where(Return.round_id == review.summary_round_id)
    returns = db.session.scalars(query).all()
    return [SummaryRow(r) for r in sorted(returns, key=lambda r: (r.agency.name.casefold(), r.id))]


def ask_for_summaries(review: LearningReview, given: SummariesIn) -> tuple[Round, set[int]]:
    """Ask agencies of the partnership (and every active agency of whole sectors) for summaries.

    The first time, a round of agency summaries is planned, opened (its returns created) and linked to the
    review; later, the agencies are added to that round. Returns the round and the ids of the agencies newly
    asked (the view emails them once this commits).
    """
    if not asks_for_summaries(review):
        raise NotAllowedError(NOT_RAPID)
    partnership_id = review.partnership_id
    if review.summary_round_id is None:
        db.session.refresh(review, with_for_update=True)  # two managers asking at once make one round
    round_ = review.summary_round
    today = clock.today()
    problems: dict[str, list[str]] = {}
    version = None
    if round_ is None:
        version = summary_version(partnership_id)
        if version is None:
            raise NotAllowedError(NO_QUESTIONNAIRE)
    elif round_.status not in (RoundStatus.PLANNING, RoundStatus.OPEN):
        raise NotAllowedError(
            f"The round of agency summaries is {round_.status.label.lower()}: reopen it from its round page to "
            "ask another agency"
        )
    agency_ids, sector_ids = set(given.agency_ids), set(given.sector_ids)
    if agency_ids - rounds.active_agency_ids(partnership_id):
        problems["agency_ids"] = ["Choose active agencies of this partnership only"]
    if sector_ids:
        known = set(db.session.scalars(sa.select(Sector.id).where(Sector.partnership_id == partnership_id)))
        if sector_ids - known:
            problems["sector_ids"] = ["Choose sectors of this partnership only"]
    wanted = agency_ids | (rounds.active_agency_ids(partnership_id, sorted(sector_ids)) if sector_ids else set())
    asked = {a.id for a in round_.agencies} if round_ is not None else set()
    if problems:
        pass
    elif round_ is None and not wanted:
        problems["agency_ids"] = ["Choose at least one agency or sector"]
    elif round_ is not None and not wanted - asked and given.due_on in (None, round_.due_on):
        problems["agency_ids"] = [
            "These agencies have already been asked for summaries: choose another agency"
            if wanted
            else "Choose an agency to ask, or change the due date"
        ]
    if given.due_on is None:
        if round_ is None:
            problems["due_on"] = ["Enter the date the summaries are due"]
    elif given.due_on < today:
        problems["due_on"] = ["The date the summaries are due must be today or later"]
    if problems:
        raise FieldErrors(problems, "fields")
    if round_ is None:
        round_ = rounds.plan_round(
            partnership_id,
            title=f"{review.title}: agency summaries",
            version=version,
            opens_on=today,
            due_on=given.due_on,
            agency_ids=sorted(wanted),
        )
        rounds.move_round(round_, RoundStatus.OPEN)
        review.summary_round = round_
        db.session.flush()
        return round_, wanted
    if given.due_on is not None and given.due_on != round_.due_on:
        round_.due_on = given.due_on
    if wanted - asked:
        rounds.set_round_agencies(round_, agency_ids=sorted(asked | wanted), partnership_id=partnership_id)
    db.session.flush()
    return round_, wanted - asked
