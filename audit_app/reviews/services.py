"""The review register: start a review, change its type, pseudonym, summary, dates and status, record its
publication, and pause and resume its statutory clocks.

Services flush and leave the commit to the caller; every refusal names each field at fault at once. The
panel's meeting and decision are recorded by ``panel.py``, never here. Every change is in the audit trail
(the models are ``Audited``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from urllib.parse import urlparse

import sqlalchemy as sa

from ..core import clock
from ..core.errors import FieldErrors
from ..extensions import db
from .clocks import clock_kinds, review_clocks
from .models import ClockKind, ClockPause, LearningReview, PublicationState, ReviewStatus, ReviewType
from .pseudonyms import pseudonym_problem

TEXT_LIMIT = 5000
URL_LIMIT = 500


@dataclass
class ReviewIn:
    """A review's register entry as given (page or API): enum values as their keys."""

    review_type: str | None = None
    pseudonym: str = ""
    summary: str = ""
    aware_on: date | None = None
    notified_on: date | None = None
    completed_on: date | None = None
    status: str | None = ReviewStatus.IN_PROGRESS.value


@dataclass
class PublicationIn:
    state: str | None = None
    delay_reason: str = ""
    published_on: date | None = None
    published_url: str = ""


def _enum(kind, value):
    try:
        return kind(value) if value not in (None, "") else None
    except ValueError:
        return None


def _pseudonym_taken(partnership_id: int, pseudonym: str, review_id: int | None) -> bool:
    query = sa.select(LearningReview.id).where(
        LearningReview.partnership_id == partnership_id,
        sa.func.lower(LearningReview.pseudonym) == pseudonym.lower(),
    )
    if review_id is not None:
        query = query.where(LearningReview.id != review_id)
    return db.session.scalar(query.limit(1)) is not None


def _checked(partnership_id: int, given: ReviewIn, review_id: int | None) -> dict[str, object]:
    problems: dict[str, list[str]] = {}
    today = clock.today()

    def add(name: str, message: str) -> None:
        problems.setdefault(name, []).append(message)

    review_type = _enum(ReviewType, given.review_type)
    if review_type is None:
        add("review_type", "Choose the type of review")
    problem = pseudonym_problem(given.pseudonym)
    pseudonym = " ".join((given.pseudonym or "").split())
    if problem:
        add("pseudonym", problem)
    elif _pseudonym_taken(partnership_id, pseudonym, review_id):
        add("pseudonym", "Another review on the register already has this pseudonym: choose another")
    summary = (given.summary or "").strip()
    if len(summary) > TEXT_LIMIT:
        add("summary", f"The summary must be {TEXT_LIMIT:,} characters or fewer")
    status = _enum(ReviewStatus, given.status)
    if status is None:
        add("status", "Choose whether the review is in progress or completed")
    for name, value, what in (
        ("aware_on", given.aware_on, "The date the local authority became aware"),
        ("notified_on", given.notified_on, "The date the National Panel was notified"),
        ("completed_on", given.completed_on, "The date the review was completed"),
    ):
        if value is not None and value > today:
            add(name, f"{what} must be today or in the past")
    if given.notified_on is not None and given.aware_on is not None and given.notified_on < given.aware_on:
        add("notified_on", "The date the National Panel was notified must be on or after the date the local "
            "authority became aware")  # fmt: skip
    if given.completed_on is not None and given.aware_on is not None and given.completed_on < given.aware_on:
        add("completed_on", "The date the review was completed must be on or after the date the local authority "
            "became aware")  # fmt: skip
    if problems:
        raise FieldErrors(problems, "fields")
    return {
        "review_type": review_type,
        "pseudonym": pseudonym,
        "summary": summary,
        "aware_on": given.aware_on,
        "notified_on": given.notified_on,
        "completed_on": given.completed_on,
        "status": status,
    }


def create_review(partnership_id: int, given: ReviewIn, *, by: int | None) -> LearningReview:
    """Put a review on the partnership's register."""
    values = _checked(partnership_id, given, None)
    review = LearningReview(partnership_id=partnership_id, created_by_id=by, **values)
    db.session.add(review)
    db.session.flush()
    return review


def update_review(review: LearningReview, given: ReviewIn) -> LearningReview:
    """Change a review's type, pseudonym, summary, dates or status (not its panel or decision)."""
    values = _checked(review.partnership_id, given, review.id)
    for name, value in values.items():
        setattr(review, name, value)
    db.session.flush()
    return review


def review_in(review: LearningReview) -> ReviewIn:
    """A review's register entry as it stands (for a change to a few fields)."""
    return ReviewIn(
        review_type=review.review_type.value,
        pseudonym=review.pseudonym,
        summary=review.summary,
        aware_on=review.aware_on,
        notified_on=review.notified_on,
        completed_on=review.completed_on,
        status=review.status.value,
    )


def _is_web_link(url: str) -> bool:
    parsed = urlparse(url)
    return parsed.scheme in ("http", "https") and bool(parsed.netloc) and " " not in url


def set_publication(review: LearningReview, given: PublicationIn) -> LearningReview:
    """Record the review's publication: not for publication, draft, awaiting publication (with the reason for
    the delay) or published (with the date and the link)."""
    problems: dict[str, list[str]] = {}
    state = _enum(PublicationState, given.state)
    reason = (given.delay_reason or "").strip()
    url = (given.published_url or "").strip()
    if state is None:
        problems["publication_state"] = ["Choose the publication state"]
    if len(reason) > TEXT_LIMIT:
        problems["publication_delay_reason"] = [f"The reason must be {TEXT_LIMIT:,} characters or fewer"]
    elif state == PublicationState.AWAITING_PUBLICATION and not reason:
        problems["publication_delay_reason"] = ["Enter why publication is delayed, such as criminal proceedings"]
    if state == PublicationState.PUBLISHED:
        if given.published_on is None:
            problems["published_on"] = ["Enter the date the report was published"]
        elif given.published_on > clock.today():
            problems["published_on"] = ["The date the report was published must be today or in the past"]
        if not url:
            problems["published_url"] = ["Enter the link to the published report"]
        elif len(url) > URL_LIMIT or not _is_web_link(url):
            problems["published_url"] = [
                f"Enter the link as a web address starting https:// or http://, {URL_LIMIT} characters or fewer"
            ]
    if problems:
        raise FieldErrors(problems, "fields")
    review.publication_state = state
    published = state == PublicationState.PUBLISHED
    review.publication_delay_reason = reason if state in (PublicationState.AWAITING_PUBLICATION,) or published else ""
    review.published_on = given.published_on if published else None
    review.published_url = url if published else ""
    db.session.flush()
    return review


# ----------------------------------------------------------------------------------------------------------
# Pausing and resuming a clock
# ----------------------------------------------------------------------------------------------------------


def pause_clock(
    review: LearningReview, clock_kind: str | ClockKind | None, paused_on: date | None, reason: str, *, by: int | None
) -> ClockPause:
    """Stop one of the review's clocks from ``paused_on`` (the first day not counted), with the reason."""
    problems: dict[str, list[str]] = {}
    today = clock.today()
    kind = _enum(ClockKind, clock_kind)
    running = None
    if kind is None or kind not in clock_kinds(review.review_type, review.decision):
        problems["clock"] = ["Choose a clock this review runs"]
    else:
        running = next(c for c in review_clocks(review, today) if c.kind == kind)
        if running.starts_on is None:
            problems["clock"] = [f"The {kind.label.lower()} clock has not started: it cannot be paused"]
        elif running.met_on is not None:
            problems["clock"] = [f"The {kind.label.lower()} clock was met: it cannot be paused"]
        elif any(p.clock == kind and p.resumed_on is None for p in review.pauses):
            problems["clock"] = [f"The {kind.label.lower()} clock is already paused: resume it first"]
    if paused_on is None:
        problems["paused_on"] = ["Enter the date the clock was paused"]
    elif paused_on > today:
        problems["paused_on"] = ["The date the clock was paused must be today or in the past"]
    elif running is not None and "clock" not in problems:
        if paused_on < running.starts_on:
            problems["paused_on"] = [
                f"The date the clock was paused must be on or after the day it started, "
                f"{running.starts_on.strftime('%-d %B %Y')}"
            ]
        else:
            earlier = [p for p in review.pauses if p.clock == kind and p.resumed_on is not None]
            if any(paused_on < p.resumed_on for p in earlier):
                last = max(p.resumed_on for p in earlier)
                problems["paused_on"] = [
                    f"The clock was already paused on that day: the pause must start on or after "
                    f"{last.strftime('%-d %B %Y')}, when the last pause ended"
                ]
    reason = (reason or "").strip()
    if not reason:
        problems["reason"] = ["Enter why the clock is paused, such as criminal proceedings"]
    elif len(reason) > TEXT_LIMIT:
        problems["reason"] = [f"The reason must be {TEXT_LIMIT:,} characters or fewer"]
    if problems:
        raise FieldErrors(problems, "fields")
    pause = ClockPause(review=review, clock=kind, paused_on=paused_on, reason=reason, paused_by_id=by)
    db.session.add(pause)
    db.session.flush()
    return pause


def resume_clock(pause: ClockPause, resumed_on: date | None, *, by: int | None) -> ClockPause:
    """Start a paused clock again on ``resumed_on`` (the day it counts again)."""
    problems: dict[str, list[str]] = {}
    if pause.resumed_on is not None:
        problems["pause"] = ["This pause has ended already"]
    if resumed_on is None:
        problems["resumed_on"] = ["Enter the date the clock resumed"]
    elif resumed_on > clock.today():
        problems["resumed_on"] = ["The date the clock resumed must be today or in the past"]
    elif resumed_on < pause.paused_on:
        problems["resumed_on"] = [
            f"The date the clock resumed must be on or after the day it was paused, "
            f"{pause.paused_on.strftime('%-d %B %Y')}"
        ]
    if problems:
        raise FieldErrors(problems, "fields")
    pause.resumed_on = resumed_on
    pause.resumed_by_id = by
    db.session.flush()
    return pause
