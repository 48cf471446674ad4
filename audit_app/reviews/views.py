"""The review register and each review's page: type, pseudonym, dates, status, clocks and their pauses,
publication. Managers (admins and the QA group) start and change reviews and pause and resume clocks;
scrutineers read; agency staff see the published reviews only."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload

from ..actions.forms import field_errors
from ..core import clock
from ..core.access_log import AccessKind, record_access
from ..core.errors import FieldErrors
from ..core.forms import check_csrf, posted_date
from ..core.permissions import allowed_or_403, current_principal
from ..extensions import db
from . import services
from .clocks import DUE_SOON_WORKING_DAYS, clock_kinds, review_clocks
from .due import due_clocks
from .models import ClockKind, ClockPause, LearningReview, PublicationState, ReviewStatus, ReviewType
from .permissions import (
    can_manage_review,
    can_manage_reviews,
    can_view_register,
    get_managed_review_or_404,
    get_review_or_404,
    reviews_query,
)
from .queries import RegisterFilters, review_year

bp = Blueprint("reviews", __name__)

TYPE_HINTS = {
    ReviewType.RAPID_REVIEW: "Runs the notification clock (5 working days from the day the authority became aware) "
    "and the rapid review clock (15 working days from the notification)",
    ReviewType.LCSPR: "Runs the practice review clock: 6 months from the decision that commissioned it",
}

DATE_FIELDS = {
    "aware_on": "date the local authority became aware",
    "notified_on": "date the National Panel was notified",
    "completed_on": "date the review was completed",
}


def _choice(kind, raw: str | None):
    try:
        return kind(raw) if raw else None
    except ValueError:
        return None


@bp.get("/reviews")
@login_required
def register():
    """The partnership's register of learning reviews, with what is due soon or overdue at the top."""
    p = current_principal()
    allowed_or_403(can_view_register(p))
    visible = db.session.scalars(
        reviews_query(p)
        .options(selectinload(LearningReview.pauses))
        .order_by(LearningReview.created_at.desc(), LearningReview.id.desc())
    ).all()
    today = clock.today()
    try:
        year = int(request.args.get("year") or 0) or None
    except ValueError:
        year = None
    filters = RegisterFilters(
        review_type=_choice(ReviewType, request.args.get("type")),
        status=_choice(ReviewStatus, request.args.get("status")),
        publication=_choice(PublicationState, request.args.get("publication")),
        year=year if year is not None and 1900 <= year <= 2200 else None,
    )
    reviews = db.session.scalars(
        filters.apply(reviews_query(p))
        .options(selectinload(LearningReview.pauses))
        .order_by(LearningReview.created_at.desc(), LearningReview.id.desc())
    ).all()
    return render_template(
        "reviews/register.html",
        reviews=reviews,
        total=len(visible),
        clocks={r.id: review_clocks(r, today) for r in reviews},
        due=due_clocks([r for r in visible if r.status == ReviewStatus.IN_PROGRESS], today),
        due_soon_days=DUE_SOON_WORKING_DAYS,
        years=[(y, str(y)) for y in sorted({review_year(r) for r in visible}, reverse=True)],
        types=[(t.value, t.label) for t in ReviewType],
        statuses=[(s.value, s.label) for s in ReviewStatus],
        publications=[(s.value, s.label) for s in PublicationState],
        clock_kinds=list(ClockKind),
        can_manage=can_manage_reviews(p),
    )


@bp.get("/reviews/<int:review_id>")
@login_required
def review_detail(review_id: int):
    """One review: its dates, clocks, agency summaries, panel, decision, learning and publication."""
    p = current_principal()
    review = get_review_or_404(p, review_id)
    record_access(AccessKind.REVIEW, review.id)
    return render_template(
        "reviews/review.html",
        review=review,
        clocks=review_clocks(review, clock.today()),
        can_manage=can_manage_review(p, review),
    )


def _posted_review(form: Any, errors: dict[str, str]) -> services.ReviewIn:
    dates = {}
    for name, what in DATE_FIELDS.items():
        dates[name], problem = posted_date(form, name, what)
        if problem:
            errors[name] = problem
    return services.ReviewIn(
        review_type=form.get("review_type") or None,
        pseudonym=form.get("pseudonym") or "",
        summary=form.get("summary") or "",
        status=form.get("status") or None,
        **dates,
    )


def _review_form(review: LearningReview | None, values: Any, errors: dict[str, str]):
    return render_template(
        "reviews/review_form.html",
        review=review,
        values=values,
        errors=errors,
        review_types=[(t.value, t.label, TYPE_HINTS.get(t, "")) for t in ReviewType],
        statuses=[(s.value, s.label, "") for s in ReviewStatus],
    ), (400 if errors else 200)


@bp.route("/reviews/new", methods=["GET", "POST"])
@login_required
def review_new():
    """Start a review: put it on the register."""
    p = current_principal()
    allowed_or_403(can_manage_reviews(p))
    errors: dict[str, str] = {}
    if request.method == "POST":
        check_csrf()
        given = _posted_review(request.form, errors)
        try:
            review = services.create_review(p.partnership_id, given, by=current_user.id)
        except FieldErrors as error:
            errors.update(field_errors(error) | errors)
        if errors:
            db.session.rollback()
        else:
            db.session.commit()
            flash(f"{review.title} added to the register", "success")
            return redirect(url_for("reviews.review_detail", review_id=review.id), 303)
        return _review_form(None, request.form, errors)
    return _review_form(None, None, errors)


@bp.route("/reviews/<int:review_id>/edit", methods=["GET", "POST"])
@login_required
def review_edit(review_id: int):
    """Change a review's type, pseudonym, summary, dates or status."""
    p = current_principal()
    review = get_managed_review_or_404(p, review_id)
    record_access(AccessKind.REVIEW, review.id)  # the form shows the review's details (a GET only)
    errors: dict[str, str] = {}
    if request.method == "POST":
        check_csrf()
        given = _posted_review(request.form, errors)
        try:
            services.update_review(review, given)
        except FieldErrors as error:
            errors.update(field_errors(error) | errors)
        if errors:
            db.session.rollback()
            review = get_review_or_404(p, review_id)
        else:
            db.session.commit()
            flash("Review saved", "success")
            return redirect(url_for("reviews.review_detail", review_id=review.id), 303)
        return _review_form(review, request.form, errors)
    return _review_form(review, None, errors)


@bp.route("/reviews/<int:review_id>/publication", methods=["GET", "POST"])
@login_required
def review_publication(review_id: int):
    """Record the review's publication state, the reason for a delay, or the date and link it was published."""
    p = current_principal()
    review = get_managed_review_or_404(p, review_id)
    errors: dict[str, str] = {}
    values: Any = None
    if request.method == "POST":
        check_csrf()
        published_on, problem = posted_date(request.form, "published_on", "date the report was published")
        if problem:
            errors["published_on"] = problem
        given = services.PublicationIn(
            state=request.form.get("publication_state") or None,
            delay_reason=request.form.get("publication_delay_reason") or "",
            published_on=published_on,
            published_url=request.form.get("published_url") or "",
        )
        if problem and given.state != PublicationState.PUBLISHED.value:
            errors.pop("published_on")  # a date only counts for a published report
        try:
            services.set_publication(review, given)
        except FieldErrors as error:
            errors.update(field_errors(error) | errors)
        if errors:
            db.session.rollback()
            review = get_review_or_404(p, review_id)
        else:
            db.session.commit()
            flash(f"Publication: {review.publication_state.label}", "success")
            return redirect(url_for("reviews.review_detail", review_id=review.id), 303)
        values = request.form
    return render_template(
        "reviews/publication_form.html",
        review=review,
        values=values,
        errors=errors,
        states=list(PublicationState),
    ), (400 if errors else 200)


@bp.route("/reviews/<int:review_id>/pauses/new", methods=["GET", "POST"])
@login_required
def clock_pause(review_id: int):
    """Pause one of the review's clocks (``?clock=`` chooses it), with the date and the reason."""
    p = current_principal()
    review = get_managed_review_or_404(p, review_id)
    kinds = clock_kinds(review.review_type, review.decision)
    errors: dict[str, str] = {}
    values: Any = {"clock": request.args.get("clock", "")}
    if request.method == "POST":
        check_csrf()
        paused_on, problem = posted_date(request.form, "paused_on", "date the clock was paused")
        try:
            services.pause_clock(
                review, request.form.get("clock") or None, paused_on, request.form.get("reason") or "",
                by=current_user.id,
            )  # fmt: skip
        except FieldErrors as error:
            errors.update(field_errors(error))
        if problem:
            errors["paused_on"] = problem
        if errors:
            db.session.rollback()
            review = get_review_or_404(p, review_id)
        else:
            db.session.commit()
            flash(f"{ClockKind(request.form['clock']).label} clock paused", "success")
            return redirect(url_for("reviews.review_detail", review_id=review.id, _anchor="clocks"), 303)
        values = request.form
    return render_template(
        "reviews/pause_form.html",
        review=review,
        clocks=[c for c in review_clocks(review, clock.today()) if c.kind in kinds],
        values=values,
        errors=errors,
    ), (400 if errors else 200)


@bp.route("/reviews/<int:review_id>/pauses/<int:pause_id>/resume", methods=["GET", "POST"])
@login_required
def clock_resume(review_id: int, pause_id: int):
    """Resume a paused clock: the day it counts again."""
    p = current_principal()
    review = get_managed_review_or_404(p, review_id)
    pause = db.session.get(ClockPause, pause_id)
    if pause is None or pause.review_id != review.id:
        abort(404)
    errors: dict[str, str] = {}
    values: Any = None
    if request.method == "POST":
        check_csrf()
        resumed_on, problem = posted_date(request.form, "resumed_on", "date the clock resumed")
        try:
            services.resume_clock(pause, resumed_on, by=current_user.id)
        except FieldErrors as error:
            errors.update(field_errors(error))
        if problem:
            errors["resumed_on"] = problem
        if errors:
            db.session.rollback()
            review = get_review_or_404(p, review_id)
            pause = db.session.get(ClockPause, pause_id)
        else:
            db.session.commit()
            flash(f"{pause.clock.label} clock resumed", "success")
            return redirect(url_for("reviews.review_detail", review_id=review.id, _anchor="clocks"), 303)
        values = request.form
    return render_template("reviews/resume_form.html", review=review, pause=pause, values=values, errors=errors), (
        400 if errors else 200
    )
