"""Agency summaries of a rapid review (the returns of its agency_summary round), the panel meeting and the
decision: the forms a review's managers fill in. The review page shows what they record
(``templates/reviews/_summaries.html``)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required

from ..accounts.models import Agency, Sector
from ..actions.forms import field_errors
from ..core import clock
from ..core.access_log import AccessKind, record_access
from ..core.errors import DomainError, FieldErrors
from ..core.forms import check_csrf, posted_date
from ..core.inputs import whole_number
from ..core.permissions import current_principal
from ..extensions import db
from ..rounds.models import EmailKind
from ..rounds.notifications import queue_round_emails
from ..rounds.services import active_agency_ids
from . import panel, summaries
from .models import LearningReview, PanelResponse, ReviewDecision
from .permissions import get_managed_review_or_404, summaries_query

bp = Blueprint("review_summaries", __name__)


def _back(review: LearningReview, anchor: str = "summaries") -> str:
    return url_for("reviews.review_detail", review_id=review.id, _anchor=anchor)


def _ids(form: Any, name: str, errors: dict[str, str], message: str) -> list[int]:
    ids = [whole_number(v) for v in form.getlist(name)]
    if None in ids:
        errors[name] = message
        return []
    return ids  # type: ignore[return-value]


def _date_values(name: str, d: Any) -> dict[str, str]:
    return {f"{name}-day": str(d.day), f"{name}-month": str(d.month), f"{name}-year": str(d.year)} if d else {}


# -- asking agencies for summaries --


def _agency_choices(review: LearningReview) -> list[Agency]:
    ids = active_agency_ids(review.partnership_id)
    return list(
        db.session.scalars(sa.select(Agency).where(Agency.id.in_(ids or {-1})).order_by(sa.func.lower(Agency.name)))
    )


def _sector_choices(review: LearningReview) -> list[Sector]:
    return list(
        db.session.scalars(
            sa.select(Sector).where(Sector.partnership_id == review.partnership_id).order_by(sa.func.lower(Sector.name))
        )
    )


def _summaries_form(review_id: int, *, adding: bool):
    review = get_managed_review_or_404(current_principal(), review_id)
    errors: dict[str, str] = {}
    refusal, refusal_status = "", 400
    if request.method == "POST":
        check_csrf()
        agency_ids = _ids(request.form, "agency_ids", errors, "Choose active agencies of this partnership only")
        sector_ids = _ids(request.form, "sector_ids", errors, "Choose sectors of this partnership only")
        due_on, problem = posted_date(request.form, "due_on", "date the summaries are due")
        if problem:
            errors["due_on"] = problem
        try:
            round_, new_ids = summaries.ask_for_summaries(
                review, summaries.SummariesIn(agency_ids=agency_ids, sector_ids=sector_ids, due_on=due_on)
            )
        except FieldErrors as error:
            errors.update(field_errors(error) | errors)
        except DomainError as error:
            refusal, refusal_status = error.message, error.status_code
        if errors or refusal:
            db.session.rollback()
            review = get_managed_review_or_404(current_principal(), review_id)
        else:
            emailing = queue_round_emails(round_, EmailKind.OPENED, new_ids) if new_ids else 0
            db.session.commit()  # the emails go once this commits
            count = len(new_ids)
            if count:
                flash(f"{count} {'agency' if count == 1 else 'agencies'} asked for a summary", "success")
            else:
                flash(f"The summaries are now due {round_.due_on.strftime('%-d %B %Y')}", "success")
            if emailing:
                flash(f"Emailing {emailing} agencies about their summaries", "info")
            return redirect(_back(review), 303)
        values: Any = request.form
    else:
        due = review.summary_round.due_on if review.summary_round else summaries.default_due_on(review)
        values = _date_values("due_on", due)
    if review.summary_round is None and not adding:
        heading = "Ask agencies for summaries"
    else:
        heading = "Ask another agency for a summary"
    asked = {a.id for a in review.summary_round.agencies} if review.summary_round else set()
    chosen = set(request.form.getlist("agency_ids")) if request.method == "POST" else set()
    posted_due, _ = posted_date(values, "due_on", "date the summaries are due")
    return render_template(
        "reviews/summaries_form.html",
        review=review,
        heading=heading,
        adding=review.summary_round is not None,
        agencies=[a for a in _agency_choices(review) if a.id not in asked],
        sectors=_sector_choices(review),
        chosen=chosen,
        chosen_sectors=set(request.form.getlist("sector_ids")) if request.method == "POST" else set(),
        values=values,
        errors=errors,
        refusal=refusal,
        warnings=summaries.due_warnings(review, posted_due),
        rapid_due=summaries.rapid_review_due(review),
        version=summaries.summary_version(review.partnership_id),
        can_publish=summaries.can_publish_from_library(review.partnership_id),
        not_rapid=not summaries.asks_for_summaries(review),
        not_rapid_message=summaries.NOT_RAPID,
        no_questionnaire_message=summaries.NO_QUESTIONNAIRE,
    ), (400 if errors else refusal_status if refusal else 200)


@bp.route("/reviews/<int:review_id>/summaries/new", methods=["GET", "POST"])
@login_required
def summaries_ask(review_id: int):
    """Ask the agencies involved in a rapid review for summaries: which agencies (or whole sectors) and by when.
    Opens a round of agency summaries."""
    return _summaries_form(review_id, adding=False)


@bp.route("/reviews/<int:review_id>/summaries/agencies", methods=["GET", "POST"])
@login_required
def summaries_add_agency(review_id: int):
    """Ask another agency for a summary: it joins the review's round of agency summaries."""
    return _summaries_form(review_id, adding=True)


@bp.post("/reviews/<int:review_id>/summaries/questionnaire")
@login_required
def summaries_questionnaire(review_id: int):
    """Copy the library's agency summary questionnaire to the partnership and publish it as it is."""
    review = get_managed_review_or_404(current_principal(), review_id)
    check_csrf()
    back = url_for("review_summaries.summaries_ask", review_id=review.id)
    try:
        version = summaries.publish_from_library(review.partnership_id)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(back, 303)
    db.session.commit()
    flash(f"'{version.questionnaire.title}' published: agencies can now be asked for summaries", "success")
    return redirect(back, 303)


# -- the panel meeting --


@bp.route("/reviews/<int:review_id>/panel", methods=["GET", "POST"])
@login_required
def panel_edit(review_id: int):
    """Record the rapid review panel's meeting: date, who attended, the agencies present."""
    review = get_managed_review_or_404(current_principal(), review_id)
    record_access(AccessKind.REVIEW, review.id)  # the form shows the panel (a GET only)
    errors: dict[str, str] = {}
    refusal, refusal_status = "", 400
    if request.method == "POST":
        check_csrf()
        met_on, problem = posted_date(request.form, "met_on", "date the panel met")
        if problem:
            errors["met_on"] = problem
        agency_ids = _ids(request.form, "agency_ids", errors, "Choose agencies of this partnership only")
        try:
            panel.record_panel(
                review,
                panel.PanelIn(met_on=met_on, attendees=request.form.get("attendees") or "", agency_ids=agency_ids),
            )
        except FieldErrors as error:
            errors.update(field_errors(error) | errors)
        except DomainError as error:
            refusal, refusal_status = error.message, error.status_code
        if errors or refusal:
            db.session.rollback()
            review = get_managed_review_or_404(current_principal(), review_id)
        else:
            db.session.commit()
            flash("Panel meeting saved", "success")
            return redirect(_back(review, "panel"), 303)
        values: Any = request.form
        chosen = set(request.form.getlist("agency_ids"))
    else:
        values = {**_date_values("met_on", review.panel_met_on), "attendees": review.panel_attendees}
        chosen = {str(a.id) for a in review.panel_agencies}
    return render_template(
        "reviews/panel_form.html",
        review=review,
        agencies=panel.panel_agency_choices(review),
        chosen=chosen,
        values=values,
        errors=errors,
        refusal=refusal,
        not_rapid="" if summaries.asks_for_summaries(review) else panel.NOT_RAPID,
    ), (400 if errors else refusal_status if refusal else 200)


# -- the decision --


@bp.route("/reviews/<int:review_id>/decision", methods=["GET", "POST"])
@login_required
def decision_edit(review_id: int):
    """Record or correct the panel's decision, its reasons and the National Panel's response."""
    review = get_managed_review_or_404(current_principal(), review_id)
    record_access(AccessKind.REVIEW, review.id)  # the form shows the decision (a GET only)
    errors: dict[str, str] = {}
    refusal, refusal_status = "", 400
    if request.method == "POST":
        check_csrf()
        decided_on, problem = posted_date(request.form, "decided_on", "date of the decision")
        if problem:
            errors["decided_on"] = problem
        given = panel.DecisionIn(
            decision=request.form.get("decision") or None,
            decided_on=decided_on,
            rationale=request.form.get("rationale") or "",
            panel_response=request.form.get("panel_response") or None,
        )
        try:
            panel.record_decision(review, given)
        except FieldErrors as error:
            errors.update(field_errors(error) | errors)
        except DomainError as error:
            refusal, refusal_status = error.message, error.status_code
        if errors or refusal:
            db.session.rollback()
            review = get_managed_review_or_404(current_principal(), review_id)
        else:
            decision = review.decision
            db.session.commit()
            flash(f"Decision saved: {decision.label}", "success")
            return redirect(_back(review, "decision"), 303)
        values: Any = request.form
    else:
        values = {
            **_date_values("decided_on", review.decided_on or (clock.today() if review.decision is None else None)),
            "decision": review.decision.value if review.decision else "",
            "rationale": review.decision_rationale,
            "panel_response": review.panel_response.value if review.panel_response else "",
        }
    return render_template(
        "reviews/decision_form.html",
        review=review,
        decisions=list(ReviewDecision),
        responses=list(PanelResponse),
        values=values,
        errors=errors,
        refusal=refusal,
        not_rapid="" if summaries.asks_for_summaries(review) else panel.NOT_RAPID,
    ), (400 if errors else refusal_status if refusal else 200)


# -- what the review page shows (templates/reviews/_summaries.html) --


@bp.app_template_global("review_summary_rows")
def review_summary_rows(review: LearningReview) -> list[summaries.SummaryRow]:
    """The review's agency summaries the signed-in person may see (an agency its own)."""
    return summaries.summary_rows(review, summaries_query(current_principal(), review))


@bp.app_template_global("review_asks_for_summaries")
def review_asks_for_summaries(review: LearningReview) -> bool:
    return summaries.asks_for_summaries(review)
