"""Who may see and do what with learning reviews: pure ``can_<verb>_<noun>(principal, obj)`` functions and the
scoped queries behind them, one block per part of the workflow.

A review is seen only inside its partnership. An unpublished review is seen only by the QA group, admins and
scrutineers; a published one by everyone in the partnership. Agency summaries are returns of the review's
``agency_summary`` round: the engine's ``returns_query`` scopes them (an agency its own; the QA group, admins
and scrutineers all of them).
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort

from ..accounts.models import Role
from ..core.permissions import Principal
from ..extensions import db
from ..questionnaires.models import LearningTheme
from .models import LearningPoint, LearningReview, PublicationState

# ----------------------------------------------------------------------------------------------------------
# The register
# ----------------------------------------------------------------------------------------------------------

#: see every review of the partnership, published or not
REGISTER_READERS = (Role.ADMIN, Role.QA_MEMBER, Role.SCRUTINEER)
#: start and run reviews, pause clocks, record decisions and learning
REVIEW_MANAGERS = (Role.ADMIN, Role.QA_MEMBER)


def can_view_register(p: Principal) -> bool:
    """The register page lists reviews: every role of the partnership sees it (agency staff only the published
    reviews)."""
    return p.partnership_id is not None and bool(p.roles)


def can_view_unpublished(p: Principal) -> bool:
    return p.has(*REGISTER_READERS)


def can_manage_reviews(p: Principal) -> bool:
    """Start a review, change it, pause and resume its clocks, send agency summaries, record the panel."""
    return p.has(*REVIEW_MANAGERS)


def can_manage_review(p: Principal, review: LearningReview) -> bool:
    return can_manage_reviews(p) and review.partnership_id == p.partnership_id


def reviews_query(p: Principal) -> sa.Select:
    """The reviews the principal may see (SQL): their partnership's, and only the published ones unless they
    are of the QA group, an admin or a scrutineer."""
    query = sa.select(LearningReview).where(
        LearningReview.partnership_id == (p.partnership_id if p.partnership_id is not None else -1)
    )
    if not can_view_unpublished(p):
        query = query.where(LearningReview.publication_state == PublicationState.PUBLISHED)
    return query


def get_review_or_404(p: Principal, review_id: int) -> LearningReview:
    """A review the principal may see, or 404 (one of another partnership, or unpublished, is not there)."""
    review = db.session.scalar(reviews_query(p).where(LearningReview.id == review_id))
    if review is None:
        abort(404)
    return review


def get_managed_review_or_404(p: Principal, review_id: int) -> LearningReview:
    """A review the principal may run (a page or form that changes it): 403 for a role that runs none, 404 for
    one not there, 403 for one they may see but not run."""
    if not can_manage_reviews(p):
        abort(403)
    review = get_review_or_404(p, review_id)
    if not can_manage_review(p, review):
        abort(403)
    return review


# ----------------------------------------------------------------------------------------------------------
# Learning points (learning.py)
# ----------------------------------------------------------------------------------------------------------


def learning_points_query(p: Principal) -> sa.Select:
    """The learning points of the reviews the principal may see (SQL)."""
    return sa.select(LearningPoint).where(
        LearningPoint.review_id.in_(reviews_query(p).with_only_columns(LearningReview.id))
    )


def get_learning_point_or_404(p: Principal, point_id: int) -> LearningPoint:
    point = db.session.scalar(learning_points_query(p).where(LearningPoint.id == point_id))
    if point is None:
        abort(404)
    return point


# ----------------------------------------------------------------------------------------------------------
# Agency summaries (summaries.py): the returns of the review's agency_summary round, as the engine scopes them
# ----------------------------------------------------------------------------------------------------------


def summaries_query(p: Principal, review: LearningReview) -> sa.Select:
    """The review's agency summaries the principal may see (SQL): the engine's ``returns_query`` (an agency
    its own; the QA group, admins and scrutineers all of them)."""
    from ..rounds.models import Return
    from ..rounds.permissions import returns_query

    return returns_query(p).where(Return.round_id == (review.summary_round_id or -1))


# -- the partnership's list of learning themes (questionnaires.learning_themes; reviews.learning_views) --


def can_view_learning_themes(p: Principal) -> bool:
    """Every member of the partnership reads its list of learning themes."""
    return p.partnership_id is not None and bool(p.roles)


def can_manage_learning_themes(p: Principal) -> bool:
    """Admins and the QA group add, rename, order, retire and delete themes."""
    return p.partnership_id is not None and p.has(*REVIEW_MANAGERS)


def get_learning_theme_or_404(p: Principal, theme_id: int) -> LearningTheme:
    theme = db.session.scalar(
        sa.select(LearningTheme).where(
            LearningTheme.id == theme_id,
            LearningTheme.partnership_id == (p.partnership_id if p.partnership_id is not None else -1),
        )
    )
    if theme is None:
        abort(404)
    return theme
