"""A review's learning points and recommendations, and the partnership's list of learning themes.

The review's page shows its learning (``templates/reviews/_learning.html``, through ``review_learning``); these
pages add, change, move and delete learning points, and keep the list of learning themes. A review's
recommendations are recorded on the action plan's form with the review as their source.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import login_required

from ..actions.forms import field_errors
from ..actions.models import Recommendation, SourceKind
from ..actions.permissions import can_manage_recommendations, recommendations_query
from ..core.errors import FieldErrors
from ..core.forms import check_csrf, id_value
from ..core.permissions import allowed_or_403, current_principal
from ..extensions import db
from ..questionnaires import learning_themes as themes_service
from ..questionnaires.models import LearningTheme
from . import learning
from .models import LearningPoint, LearningReview
from .permissions import (
    can_manage_learning_themes,
    can_manage_review,
    can_manage_reviews,
    can_view_learning_themes,
    get_learning_point_or_404,
    get_learning_theme_or_404,
    get_review_or_404,
)

bp = Blueprint("learning", __name__)


@bp.app_template_global()
def review_learning(review: LearningReview) -> dict[str, Any]:
    """What the review's page shows of its learning: the numbered points, and the recommendations (those the
    viewer may see on the plan) with their actions' RAG."""
    p = current_principal()
    recommendations = list(
        db.session.scalars(
            recommendations_query(p)
            .where(Recommendation.source == SourceKind.REVIEW, Recommendation.review_id == review.id)
            .order_by(Recommendation.number, Recommendation.id)
        )
    )
    return {
        "points": review.learning_points,
        "recommendations": recommendations,
        "can_add_recommendation": can_manage_recommendations(p) and can_manage_review(p, review),
    }


# -- the list of learning themes --


def _theme_page(p: Any, errors: dict[str, str], values: Any, status: int = 200):
    return render_template(
        "reviews/learning_themes.html",
        themes=themes_service.themes_of(p.partnership_id),
        can_manage=can_manage_learning_themes(p),
        values=values,
        errors=errors,
    ), status


@bp.get("/learning-themes")
@login_required
def theme_list():
    """The partnership's learning themes: active ones in order, then retired ones."""
    p = current_principal()
    allowed_or_403(can_view_learning_themes(p))
    return _theme_page(p, {}, {})


@bp.route("/learning-themes/new", methods=["GET", "POST"])
@login_required
def theme_new():
    """Add a learning theme at the end of the list."""
    p = current_principal()
    allowed_or_403(can_manage_learning_themes(p))
    errors: dict[str, str] = {}
    if request.method == "POST":
        check_csrf()
        try:
            theme = themes_service.add_theme(
                p.partnership_id, request.form.get("name"), request.form.get("description")
            )
        except FieldErrors as error:
            errors = field_errors(error)
            db.session.rollback()
        else:
            db.session.commit()
            flash(f"Learning theme added: {theme.name}", "success")
            return redirect(url_for("learning.theme_list"), 303)
    return render_template(
        "reviews/learning_theme_form.html",
        theme=None,
        values=request.form if request.method == "POST" else {},
        errors=errors,
    ), (400 if errors else 200)


@bp.route("/learning-themes/<int:learning_theme_id>/edit", methods=["GET", "POST"])
@login_required
def theme_edit(learning_theme_id: int):
    """Rename a learning theme or change its description (recommendations tagged with it follow the new name)."""
    p = current_principal()
    allowed_or_403(can_manage_learning_themes(p))
    theme = get_learning_theme_or_404(p, learning_theme_id)
    errors: dict[str, str] = {}
    if request.method == "POST":
        check_csrf()
        try:
            themes_service.update_theme(theme, request.form.get("name"), request.form.get("description"))
        except FieldErrors as error:
            errors = field_errors(error)
            db.session.rollback()
            theme = get_learning_theme_or_404(p, learning_theme_id)
        else:
            db.session.commit()
            flash(f"Learning theme saved: {theme.name}", "success")
            return redirect(url_for("learning.theme_list"), 303)
        values: Any = request.form
    else:
        values = {"name": theme.name, "description": theme.description}
    return render_template("reviews/learning_theme_form.html", theme=theme, values=values, errors=errors), (
        400 if errors else 200
    )


@bp.post("/learning-themes/<int:learning_theme_id>/move")
@login_required
def theme_move(learning_theme_id: int):
    """Move a theme up or down the list."""
    p = current_principal()
    allowed_or_403(can_manage_learning_themes(p))
    theme = get_learning_theme_or_404(p, learning_theme_id)
    check_csrf()
    try:
        themes_service.move_theme(theme, request.form.get("direction") or "")
    except FieldErrors as error:
        db.session.rollback()
        flash(error.message, "error")
    else:
        db.session.commit()
    return redirect(url_for("learning.theme_list") + f"#theme-{learning_theme_id}", 303)


@bp.post("/learning-themes/<int:learning_theme_id>/retire")
@login_required
def theme_retire(learning_theme_id: int):
    """Stop offering a theme for new tags; what is tagged with it keeps the tag."""
    p = current_principal()
    allowed_or_403(can_manage_learning_themes(p))
    theme = get_learning_theme_or_404(p, learning_theme_id)
    check_csrf()
    themes_service.retire_theme(theme)
    db.session.commit()
    flash(f"{theme.name} retired: it is no longer offered, and keeps its past tags", "success")
    return redirect(url_for("learning.theme_list"), 303)


@bp.post("/learning-themes/<int:learning_theme_id>/restore")
@login_required
def theme_restore(learning_theme_id: int):
    """Offer a retired theme again."""
    p = current_principal()
    allowed_or_403(can_manage_learning_themes(p))
    theme = get_learning_theme_or_404(p, learning_theme_id)
    check_csrf()
    themes_service.restore_theme(theme)
    db.session.commit()
    flash(f"{theme.name} is offered again", "success")
    return redirect(url_for("learning.theme_list"), 303)


@bp.post("/learning-themes/<int:learning_theme_id>/delete")
@login_required
def theme_delete(learning_theme_id: int):
    """Delete a theme never used (one used is retired instead: 409 explains)."""
    p = current_principal()
    allowed_or_403(can_manage_learning_themes(p))
    theme = get_learning_theme_or_404(p, learning_theme_id)
    check_csrf()
    name = theme.name
    themes_service.delete_theme(theme)
    db.session.commit()
    flash(f"Learning theme deleted: {name}", "success")
    return redirect(url_for("learning.theme_list"), 303)


# -- learning points --


def _posted_theme_ids(form: Any, errors: dict[str, str]) -> list[int]:
    ids = []
    for raw in form.getlist("theme_ids"):
        try:
            ids.append(id_value(raw))
        except ValueError:
            errors["theme_ids"] = "Choose learning themes from the partnership's list"
    return ids


def _theme_choices(partnership_id: int, point: LearningPoint | None) -> list[LearningTheme]:
    """The active themes, and any retired one the point already carries."""
    had = {t.id for t in point.themes} if point is not None else set()
    return [t for t in themes_service.themes_of(partnership_id) if not t.is_retired or t.id in had]


def _review_url(review_id: int) -> str:
    return url_for("reviews.review_detail", review_id=review_id) + "#learning"


@bp.route("/reviews/<int:review_id>/learning-points/new", methods=["GET", "POST"])
@login_required
def point_new(review_id: int):
    """Add a key learning point to a review, numbered after its last."""
    p = current_principal()
    allowed_or_403(can_manage_reviews(p))
    review = get_review_or_404(p, review_id)
    errors: dict[str, str] = {}
    if request.method == "POST":
        check_csrf()
        theme_ids = _posted_theme_ids(request.form, errors)
        try:
            point = learning.add_point(review, request.form.get("text"), theme_ids)
        except FieldErrors as error:
            errors.update(field_errors(error) | errors)
        if errors:
            db.session.rollback()
            review = get_review_or_404(p, review_id)
        else:
            db.session.commit()
            flash(f"Learning point {point.number} added", "success")
            return redirect(_review_url(review.id), 303)
    return render_template(
        "reviews/learning_point_form.html",
        review=review,
        point=None,
        values=request.form if request.method == "POST" else {},
        chosen=request.form.getlist("theme_ids") if request.method == "POST" else [],
        themes=_theme_choices(review.partnership_id, None),
        errors=errors,
    ), (400 if errors else 200)


@bp.route("/learning-points/<int:learning_point_id>/edit", methods=["GET", "POST"])
@login_required
def point_edit(learning_point_id: int):
    """Change a learning point's text, themes or number."""
    p = current_principal()
    allowed_or_403(can_manage_reviews(p))
    point = get_learning_point_or_404(p, learning_point_id)
    errors: dict[str, str] = {}
    if request.method == "POST":
        check_csrf()
        theme_ids = _posted_theme_ids(request.form, errors)
        number = None
        raw = (request.form.get("number") or "").strip()
        try:
            number = int(raw) if raw else point.number
        except ValueError:
            errors["number"] = f"The number must be a whole number from 1 to {len(point.review.learning_points)}"
        try:
            learning.update_point(point, request.form.get("text"), theme_ids)
        except FieldErrors as error:
            errors.update(field_errors(error) | errors)
        if number is not None and not errors:
            try:
                learning.move_point(point, number)
            except FieldErrors as error:
                errors.update(field_errors(error))
        if errors:
            db.session.rollback()
            point = get_learning_point_or_404(p, learning_point_id)
        else:
            db.session.commit()
            flash(f"Learning point {point.number} saved", "success")
            return redirect(_review_url(point.review_id), 303)
        values: Any = request.form
        chosen = request.form.getlist("theme_ids")
    else:
        values = {"text": point.text, "number": str(point.number)}
        chosen = [str(t.id) for t in point.themes]
    return render_template(
        "reviews/learning_point_form.html",
        review=point.review,
        point=point,
        values=values,
        chosen=chosen,
        themes=_theme_choices(point.review.partnership_id, point),
        errors=errors,
    ), (400 if errors else 200)


@bp.post("/learning-points/<int:learning_point_id>/move")
@login_required
def point_move(learning_point_id: int):
    """Move a learning point up or down one place."""
    p = current_principal()
    allowed_or_403(can_manage_reviews(p))
    point = get_learning_point_or_404(p, learning_point_id)
    check_csrf()
    direction = request.form.get("direction") or ""
    step = {"up": -1, "down": 1}.get(direction)
    total = len(point.review.learning_points)
    if step is None:
        flash("Choose to move the learning point up or down", "error")
    elif 1 <= point.number + step <= total:
        learning.move_point(point, point.number + step)
        db.session.commit()
    return redirect(_review_url(point.review_id), 303)


@bp.post("/learning-points/<int:learning_point_id>/delete")
@login_required
def point_delete(learning_point_id: int):
    """Delete a learning point; those after it move up a number."""
    p = current_principal()
    allowed_or_403(can_manage_reviews(p))
    point = get_learning_point_or_404(p, learning_point_id)
    check_csrf()
    review_id, number = point.review_id, point.number
    learning.delete_point(point)
    db.session.commit()
    flash(f"Learning point {number} deleted: those after it moved up a number", "success")
    return redirect(_review_url(review_id), 303)
