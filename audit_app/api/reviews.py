"""API: the review register, each review's clocks and their pauses: the same records, rules and access as the
pages (reviews.services, reviews.permissions)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import abort, jsonify
from pydantic import BaseModel, Field

from ..accounts.models import Role
from ..core import clock
from ..core.access_log import AccessKind, record_access
from ..extensions import db
from ..reviews import services
from ..reviews.clocks import Clock, review_clocks
from ..reviews.models import ClockKind, ClockPause, LearningReview, PublicationState, ReviewStatus, ReviewType
from ..reviews.permissions import (
    can_manage_review,
    can_manage_reviews,
    can_view_register,
    get_review_or_404,
    reviews_query,
)
from ..reviews.queries import RegisterFilters
from .helpers import page_of, parse_body, principal, query_args, require
from .schemas import Strict
from .spec import PageQuery, api_route

TAG = "reviews"
READERS = (Role.ADMIN, Role.QA_MEMBER, Role.SCRUTINEER, Role.AGENCY_LEAD, Role.AUDITOR)
MANAGERS = (Role.ADMIN, Role.QA_MEMBER)
SCOPED = "agency leads and auditors see published reviews only"
REVIEW_SCOPED = "agency leads and auditors reach published reviews only (others are 404)"


class ReviewsQuery(PageQuery):
    review_type: ReviewType | None = Field(default=None, description="Reviews of this type")
    status: ReviewStatus | None = None
    publication_state: PublicationState | None = None
    year: int | None = Field(
        default=None, ge=1900, le=2200, description="The year the authority became aware (or, without it, registered)"
    )


class ReviewBody(Strict):
    review_type: ReviewType | None = None
    pseudonym: str = Field(
        default="", description="Child K, Baby Y, a first name not theirs, or a theme; never a full name or a date"
    )
    summary: str = ""
    aware_on: date | None = Field(default=None, description="The local authority became aware (starts notification)")
    notified_on: date | None = Field(default=None, description="The National Panel was notified")
    completed_on: date | None = Field(default=None, description="The final report was agreed")
    status: ReviewStatus = ReviewStatus.IN_PROGRESS


class ReviewPatch(Strict):
    """Fields left out keep their values; a date given as null is cleared."""

    review_type: ReviewType | None = None
    pseudonym: str | None = None
    summary: str | None = None
    aware_on: date | None = None
    notified_on: date | None = None
    completed_on: date | None = None
    status: ReviewStatus | None = None


class PublicationBody(Strict):
    publication_state: PublicationState | None = None
    publication_delay_reason: str = Field(default="", description="Needed when awaiting publication")
    published_on: date | None = Field(default=None, description="Needed when published (today or earlier)")
    published_url: str = Field(default="", description="Needed when published: an http(s) link")


class PauseBody(Strict):
    clock: ClockKind | None = None
    paused_on: date | None = Field(default=None, description="The first day not counted (today or earlier)")
    reason: str = ""


class ResumeBody(Strict):
    resumed_on: date | None = Field(default=None, description="The day the clock counts again (today or earlier)")


class PauseOut(BaseModel):
    id: int
    clock: ClockKind
    clock_label: str
    paused_on: date
    resumed_on: date | None
    reason: str
    paused_by: str | None
    resumed_by: str | None


class ClockOut(BaseModel):
    kind: ClockKind
    kind_label: str
    starts_on: date | None
    base_due_on: date | None = Field(description="The due date with no pauses")
    due_on: date | None = Field(description="The due date after pauses")
    met_on: date | None
    state: str
    state_label: str
    paused_days: int = Field(description="Working days (calendar days for the practice review) the pauses moved it")
    working_days_left: int | None
    pauses: list[PauseOut]


class ClocksOut(BaseModel):
    items: list[ClockOut] = Field(description="The clocks the review runs, in order")


class ReviewOut(BaseModel):
    id: int
    review_type: ReviewType
    review_type_label: str
    pseudonym: str
    title: str
    summary: str
    status: ReviewStatus
    status_label: str
    aware_on: date | None
    notified_on: date | None
    completed_on: date | None
    decision: str | None
    decision_label: str | None
    decided_on: date | None
    publication_state: PublicationState
    publication_state_label: str
    publication_delay_reason: str
    published_on: date | None
    published_url: str
    clocks: list[ClockOut]
    created_at: datetime
    updated_at: datetime


def _pause(p: ClockPause) -> dict[str, Any]:
    return PauseOut(
        id=p.id,
        clock=p.clock,
        clock_label=p.clock.label,
        paused_on=p.paused_on,
        resumed_on=p.resumed_on,
        reason=p.reason,
        paused_by=p.paused_by.name if p.paused_by else None,
        resumed_by=p.resumed_by.name if p.resumed_by else None,
    ).model_dump(mode="json")


def _clock(review: LearningReview, c: Clock) -> dict[str, Any]:
    return ClockOut(
        kind=c.kind,
        kind_label=c.label,
        starts_on=c.starts_on,
        base_due_on=c.base_due_on,
        due_on=c.due_on,
        met_on=c.met_on,
        state=c.state.value,
        state_label=c.state.label,
        paused_days=c.paused_days,
        working_days_left=c.working_days_left,
        pauses=[_pause(p) for p in review.pauses if p.clock == c.kind],
    ).model_dump(mode="json")


def _clocks(review: LearningReview) -> list[dict[str, Any]]:
    return [_clock(review, c) for c in review_clocks(review, clock.today())]


def _out(review: LearningReview) -> dict[str, Any]:
    return ReviewOut(
        id=review.id,
        review_type=review.review_type,
        review_type_label=review.review_type.label,
        pseudonym=review.pseudonym,
        title=review.title,
        summary=review.summary,
        status=review.status,
        status_label=review.status.label,
        aware_on=review.aware_on,
        notified_on=review.notified_on,
        completed_on=review.completed_on,
        decision=review.decision.value if review.decision else None,
        decision_label=review.decision.label if review.decision else None,
        decided_on=review.decided_on,
        publication_state=review.publication_state,
        publication_state_label=review.publication_state.label,
        publication_delay_reason=review.publication_delay_reason,
        published_on=review.published_on,
        published_url=review.published_url,
        clocks=_clocks(review),
        created_at=review.created_at,
        updated_at=review.updated_at,
    ).model_dump(mode="json")


@api_route(
    "/reviews",
    "GET",
    summary="List the review register, newest first, with each review's clocks",
    tag=TAG,
    query_model=ReviewsQuery,
    response_model=ReviewOut,
    many=True,
    roles=READERS,
    roles_note=SCOPED,
)
def reviews_list():
    p = principal()
    require(can_view_register(p))
    args = query_args()
    filters = RegisterFilters(
        review_type=args.review_type, status=args.status, publication=args.publication_state, year=args.year
    )
    query = filters.apply(reviews_query(p)).order_by(LearningReview.created_at.desc(), LearningReview.id.desc())
    return page_of(query, _out)


@api_route(
    "/reviews",
    "POST",
    summary="Start a review: put it on the register",
    tag=TAG,
    request_model=ReviewBody,
    response_model=ReviewOut,
    status=201,
    roles=MANAGERS,
)
def reviews_create():
    p = principal()
    require(can_manage_reviews(p))
    body = parse_body(ReviewBody)
    given = services.ReviewIn(
        review_type=body.review_type.value if body.review_type else None,
        pseudonym=body.pseudonym,
        summary=body.summary,
        aware_on=body.aware_on,
        notified_on=body.notified_on,
        completed_on=body.completed_on,
        status=body.status.value,
    )
    review = services.create_review(p.partnership_id, given, by=p.user_id)
    db.session.commit()
    return jsonify(_out(review)), 201


@api_route(
    "/reviews/<int:review_id>",
    "GET",
    summary="Get a review with its clocks and their pauses",
    tag=TAG,
    response_model=ReviewOut,
    roles=READERS,
    roles_note=REVIEW_SCOPED,
)
def reviews_get(review_id: int):
    p = principal()
    require(can_view_register(p))
    review = get_review_or_404(p, review_id)
    record_access(AccessKind.REVIEW, review.id)
    return jsonify(_out(review))


@api_route(
    "/reviews/<int:review_id>",
    "PATCH",
    summary="Change a review's type, pseudonym, summary, dates or status (not its panel or decision)",
    tag=TAG,
    request_model=ReviewPatch,
    response_model=ReviewOut,
    roles=MANAGERS,
)
def reviews_update(review_id: int):
    p = principal()
    require(can_manage_reviews(p))
    review = get_review_or_404(p, review_id)
    require(can_manage_review(p, review))
    body = parse_body(ReviewPatch)
    given = services.review_in(review)
    for name in body.model_fields_set:
        value = getattr(body, name)
        if name in ("review_type", "status"):
            value = value.value if value is not None else None
        elif name in ("pseudonym", "summary") and value is None:
            continue
        setattr(given, name, value)
    services.update_review(review, given)
    db.session.commit()
    return jsonify(_out(review))


@api_route(
    "/reviews/<int:review_id>/publication",
    "PUT",
    summary="Record a review's publication: state, the reason for a delay, or the date and link published",
    tag=TAG,
    request_model=PublicationBody,
    response_model=ReviewOut,
    roles=MANAGERS,
)
def reviews_publication(review_id: int):
    p = principal()
    require(can_manage_reviews(p))
    review = get_review_or_404(p, review_id)
    require(can_manage_review(p, review))
    body = parse_body(PublicationBody)
    services.set_publication(
        review,
        services.PublicationIn(
            state=body.publication_state.value if body.publication_state else None,
            delay_reason=body.publication_delay_reason,
            published_on=body.published_on,
            published_url=body.published_url,
        ),
    )
    db.session.commit()
    return jsonify(_out(review))


@api_route(
    "/reviews/<int:review_id>/clocks",
    "GET",
    summary="A review's statutory clocks: due dates (original and after pauses), states and pauses",
    tag=TAG,
    response_model=ClocksOut,
    roles=READERS,
    roles_note=REVIEW_SCOPED,
)
def reviews_clocks(review_id: int):
    p = principal()
    require(can_view_register(p))
    review = get_review_or_404(p, review_id)
    record_access(AccessKind.REVIEW, review.id)
    return jsonify({"items": _clocks(review)})


@api_route(
    "/reviews/<int:review_id>/pauses",
    "POST",
    summary="Pause one of a review's running clocks, with the date and the reason",
    tag=TAG,
    request_model=PauseBody,
    response_model=PauseOut,
    status=201,
    roles=MANAGERS,
)
def reviews_pause(review_id: int):
    p = principal()
    require(can_manage_reviews(p))
    review = get_review_or_404(p, review_id)
    require(can_manage_review(p, review))
    body = parse_body(PauseBody)
    pause = services.pause_clock(review, body.clock, body.paused_on, body.reason, by=p.user_id)
    db.session.commit()
    return jsonify(_pause(pause)), 201


@api_route(
    "/reviews/<int:review_id>/pauses/<int:pause_id>/resume",
    "POST",
    summary="Resume a paused clock: the day it counts again",
    tag=TAG,
    request_model=ResumeBody,
    response_model=PauseOut,
    roles=MANAGERS,
)
def reviews_resume(review_id: int, pause_id: int):
    p = principal()
    require(can_manage_reviews(p))
    review = get_review_or_404(p, review_id)
    require(can_manage_review(p, review))
    pause = db.session.get(ClockPause, pause_id)
    if pause is None or pause.review_id != review.id:
        abort(404)
    body = parse_body(ResumeBody)
    services.resume_clock(pause, body.resumed_on, by=p.user_id)
    db.session.commit()
    return jsonify(_pause(pause))
