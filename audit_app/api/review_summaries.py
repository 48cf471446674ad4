"""API: a rapid review's agency summaries, panel meeting and decision: the same records and rules as the pages
(reviews.summaries, reviews.panel)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from flask import jsonify
from pydantic import BaseModel, Field

from ..accounts.models import Agency
from ..core.access_log import AccessKind, record_access
from ..core.inputs import Id
from ..extensions import db
from ..reviews import panel, summaries
from ..reviews.models import LearningReview, PanelResponse, ReviewDecision, ReviewStatus
from ..reviews.permissions import (
    REGISTER_READERS,
    REVIEW_MANAGERS,
    can_manage_reviews,
    can_view_unpublished,
    get_review_or_404,
    summaries_query,
)
from ..rounds.models import EmailKind, Return, ReturnStatus
from ..rounds.notifications import queue_round_emails
from .helpers import page_of, parse_body, principal, require
from .schemas import Strict
from .spec import PageQuery, api_route

TAG = "reviews"
AGENCY_NOTE = "agency staff read their own agency's summary through the returns endpoints"


class SummariesIn(Strict):
    agency_ids: list[Id] = Field(default_factory=list, description="Active agencies of your partnership to ask")
    sector_ids: list[Id] = Field(default_factory=list, description="Ask every active agency of these sectors too")
    due_on: date | None = Field(
        default=None,
        description="When the summaries are due (today or later). Required the first time; later, changes the "
        "round's due date for every agency",
    )


class SummaryOut(BaseModel):
    return_id: int
    round_id: int
    agency_id: int
    agency_name: str
    status: ReturnStatus = Field(description="The return's status key")
    status_label: str
    submitted_at: datetime | None


class AskedOut(BaseModel):
    review_id: int
    round_id: int
    due_on: date | None
    asked_agency_ids: list[int] = Field(description="The agencies newly asked by this call")
    warnings: list[str] = Field(description="Advice, such as a due date after the rapid review's own")


class PanelIn(Strict):
    met_on: date | None = Field(default=None, description="The day the panel met (not in the future)")
    attendees: list[str] = Field(default_factory=list, description="Who attended: role and agency, one each")
    agency_ids: list[Id] = Field(default_factory=list, description="The agencies present")


class PanelOut(BaseModel):
    review_id: int
    met_on: date | None
    attendees: list[str]
    agencies: list[dict[str, Any]] = Field(description="The agencies present: id and name")


class DecisionIn(Strict):
    decision: ReviewDecision | None = None
    decided_on: date | None = Field(default=None, description="On or after the panel met; not in the future")
    rationale: str = Field(default="", description="Why the panel decided this")
    panel_response: PanelResponse | None = Field(default=None, description="The National Panel's response")


class DecisionOut(BaseModel):
    review_id: int
    decision: ReviewDecision | None
    decision_label: str | None
    decided_on: date | None
    rationale: str
    panel_response: PanelResponse | None
    panel_response_label: str | None
    status: ReviewStatus = Field(description="The review's status key")
    status_label: str


def _reader_review(review_id: int) -> LearningReview:
    """The review an endpoint shows (its summaries, panel or decision): a view, recorded in the access log."""
    p = principal()
    require(can_view_unpublished(p))
    review = get_review_or_404(p, review_id)
    record_access(AccessKind.REVIEW, review.id)
    return review


def _managed_review(review_id: int) -> LearningReview:
    p = principal()
    require(can_manage_reviews(p))
    return get_review_or_404(p, review_id)


def _summary_out(ret: Return) -> dict[str, Any]:
    return SummaryOut(
        return_id=ret.id,
        round_id=ret.round_id,
        agency_id=ret.agency_id,
        agency_name=ret.agency.name,
        status=ret.status,
        status_label=ret.status.label,
        submitted_at=ret.submitted_at,
    ).model_dump(mode="json")


def _panel_out(review: LearningReview) -> dict[str, Any]:
    return PanelOut(
        review_id=review.id,
        met_on=review.panel_met_on,
        attendees=review.panel_attendee_lines,
        agencies=[{"id": a.id, "name": a.name} for a in review.panel_agencies],
    ).model_dump(mode="json")


def _decision_out(review: LearningReview) -> dict[str, Any]:
    return DecisionOut(
        review_id=review.id,
        decision=review.decision,
        decision_label=review.decision.label if review.decision else None,
        decided_on=review.decided_on,
        rationale=review.decision_rationale,
        panel_response=review.panel_response,
        panel_response_label=review.panel_response.label if review.panel_response else None,
        status=review.status,
        status_label=review.status.label,
    ).model_dump(mode="json")


@api_route(
    "/reviews/<int:review_id>/summaries",
    "GET",
    summary="List a rapid review's agency summaries (the returns of its round of agency summaries), by agency",
    tag=TAG,
    query_model=PageQuery,
    response_model=SummaryOut,
    many=True,
    roles=REGISTER_READERS,
    roles_note=AGENCY_NOTE,
)
def review_summaries_list(review_id: int):
    review = _reader_review(review_id)
    query = (
        summaries_query(principal(), review)
        .join(Agency, Agency.id == Return.agency_id)
        .order_by(sa.func.lower(Agency.name), Return.id)
    )
    return page_of(query, _summary_out)


@api_route(
    "/reviews/<int:review_id>/summaries",
    "POST",
    summary="Ask agencies for summaries: the first call opens the review's round of agency summaries; later "
    "calls add agencies to it (or change its due date)",
    tag=TAG,
    request_model=SummariesIn,
    response_model=AskedOut,
    status=201,
    roles=REVIEW_MANAGERS,
)
def review_summaries_ask(review_id: int):
    review = _managed_review(review_id)
    body = parse_body(SummariesIn)
    round_, new_ids = summaries.ask_for_summaries(
        review, summaries.SummariesIn(agency_ids=body.agency_ids, sector_ids=body.sector_ids, due_on=body.due_on)
    )
    if new_ids:
        queue_round_emails(round_, EmailKind.OPENED, new_ids)  # sent once this commits
    db.session.commit()
    return jsonify(
        AskedOut(
            review_id=review.id,
            round_id=round_.id,
            due_on=round_.due_on,
            asked_agency_ids=sorted(new_ids),
            warnings=summaries.due_warnings(review, round_.due_on),
        ).model_dump(mode="json")
    ), 201


@api_route(
    "/reviews/<int:review_id>/panel",
    "GET",
    summary="Get a rapid review's panel meeting: date, who attended, the agencies present",
    tag=TAG,
    response_model=PanelOut,
    roles=REGISTER_READERS,
)
def review_panel_get(review_id: int):
    return jsonify(_panel_out(_reader_review(review_id)))


@api_route(
    "/reviews/<int:review_id>/panel",
    "PUT",
    summary="Record or correct a rapid review's panel meeting",
    tag=TAG,
    request_model=PanelIn,
    response_model=PanelOut,
    roles=REVIEW_MANAGERS,
)
def review_panel_put(review_id: int):
    review = _managed_review(review_id)
    body = parse_body(PanelIn)
    panel.record_panel(
        review, panel.PanelIn(met_on=body.met_on, attendees="\n".join(body.attendees), agency_ids=body.agency_ids)
    )
    db.session.commit()
    return jsonify(_panel_out(review))


@api_route(
    "/reviews/<int:review_id>/decision",
    "GET",
    summary="Get a rapid review's decision, its reasons and the National Panel's response",
    tag=TAG,
    response_model=DecisionOut,
    roles=REGISTER_READERS,
)
def review_decision_get(review_id: int):
    return jsonify(_decision_out(_reader_review(review_id)))


@api_route(
    "/reviews/<int:review_id>/decision",
    "PUT",
    summary="Record or correct a rapid review's decision (no further review completes the review; commissioning "
    "a practice review starts its clock)",
    tag=TAG,
    request_model=DecisionIn,
    response_model=DecisionOut,
    roles=REVIEW_MANAGERS,
)
def review_decision_put(review_id: int):
    review = _managed_review(review_id)
    body = parse_body(DecisionIn)
    panel.record_decision(
        review,
        panel.DecisionIn(
            decision=body.decision.value if body.decision else None,
            decided_on=body.decided_on,
            rationale=body.rationale,
            panel_response=body.panel_response.value if body.panel_response else None,
        ),
    )
    db.session.commit()
    return jsonify(_decision_out(review))
