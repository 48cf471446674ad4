"""The review register and each review's page: type, pseudonym, dates, status, clocks and their pauses,
publication."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import login_required

from ..core import clock
from ..core.permissions import allowed_or_403, current_principal
from ..extensions import db
from .clocks import review_clocks
from .models import LearningReview
from .permissions import can_manage_review, can_manage_reviews, can_view_register, get_review_or_404, reviews_query

bp = Blueprint("reviews", __name__)


@bp.get("/reviews")
@login_required
def register():
    """The partnership's register of learning reviews."""
    p = current_principal()
    allowed_or_403(can_view_register(p))
    reviews = db.session.scalars(
        reviews_query(p).order_by(LearningReview.created_at.desc(), LearningReview.id.desc())
    ).all()
    today = clock.today()
    return render_template(
        "reviews/register.html",
        reviews=reviews,
        clocks={r.id: review_clocks(r, today) for r in reviews},
        can_manage=can_manage_reviews(p),
    )


@bp.get("/reviews/<int:review_id>")
@login_required
def review_detail(review_id: int):
    """One review: its dates, clocks, agency summaries, panel, decision, learning and publication."""
    p = current_principal()
    review = get_review_or_404(p, review_id)
    return render_template(
        "reviews/review.html",
        review=review,
        clocks=review_clocks(review, clock.today()),
        can_manage=can_manage_review(p, review),
    )
