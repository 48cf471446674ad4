"""The rows learning-review reports read: the register, the clocks' pauses, the learning points and their themes,
and the reviews' recommendations. Plain rows only; ``review_aggregation`` turns them into figures.

Every query takes the select of reviews the reader may see (``reviews.permissions.reviews_query``), so the
files hold exactly what the register page shows that person.
"""

from __future__ import annotations

import enum

import pandas as pd
import sqlalchemy as sa

from ..actions.models import Action, Recommendation, RecommendationTheme, SourceKind
from ..extensions import db
from ..questionnaires.models import LearningTheme
from ..reviews.models import ClockPause, LearningPoint, LearningReview, learning_point_themes

REVIEW_COLUMNS = [
    "review_id",
    "pseudonym",
    "review_type",
    "status",
    "summary",
    "aware_on",
    "notified_on",
    "panel_met_on",
    "decision",
    "decided_on",
    "decision_rationale",
    "panel_response",
    "completed_on",
    "publication_state",
    "publication_delay_reason",
    "published_on",
    "published_url",
    "created_on",
]


def _plain(value: object) -> object:
    """An enum as its value (its key); anything else as it is."""
    return value.value if isinstance(value, enum.Enum) else value


def _frame(query: sa.Select, columns: list[str]) -> pd.DataFrame:
    rows = [tuple(_plain(v) for v in row) for row in db.session.execute(query).all()]
    return pd.DataFrame(rows, columns=columns, dtype=object)  # None stays None (never NaN), ids stay ints


def reviews(visible: sa.Select) -> pd.DataFrame:
    """One row per review ``visible`` selects (oldest first), with :data:`REVIEW_COLUMNS`; enum columns hold
    their values (keys)."""
    ids = visible.with_only_columns(LearningReview.id).order_by(None)
    r = LearningReview
    query = (
        sa.select(
            r.id,
            r.pseudonym,
            r.review_type,
            r.status,
            r.summary,
            r.aware_on,
            r.notified_on,
            r.panel_met_on,
            r.decision,
            r.decided_on,
            r.decision_rationale,
            r.panel_response,
            r.completed_on,
            r.publication_state,
            r.publication_delay_reason,
            r.published_on,
            r.published_url,
            r.created_at,
        )
        .where(r.id.in_(ids))
        .order_by(sa.func.coalesce(r.aware_on, r.decided_on, sa.func.date(r.created_at)), r.id)
    )
    frame = _frame(query, REVIEW_COLUMNS)
    frame["created_on"] = frame["created_on"].map(lambda v: v.date())
    return frame


def pauses(visible: sa.Select) -> pd.DataFrame:
    """The clock pauses of the visible reviews: ``review_id``, ``clock`` (key), ``paused_on``, ``resumed_on``,
    ``reason``."""
    ids = visible.with_only_columns(LearningReview.id).order_by(None)
    query = (
        sa.select(
            ClockPause.review_id, ClockPause.clock, ClockPause.paused_on, ClockPause.resumed_on, ClockPause.reason
        )
        .where(ClockPause.review_id.in_(ids))
        .order_by(ClockPause.review_id, ClockPause.paused_on, ClockPause.id)
    )
    return _frame(query, ["review_id", "clock", "paused_on", "resumed_on", "reason"])


def learning_points(visible: sa.Select) -> pd.DataFrame:
    """The learning points of the visible reviews, one row per point and theme (``theme_id`` and ``theme``
    empty for an untagged point): ``review_id``, ``point_id``, ``number``, ``text``, ``theme_id``, ``theme``."""
    ids = visible.with_only_columns(LearningReview.id).order_by(None)
    query = (
        sa.select(
            LearningPoint.review_id,
            LearningPoint.id,
            LearningPoint.number,
            LearningPoint.text,
            LearningTheme.id,
            LearningTheme.name,
        )
        .select_from(LearningPoint)
        .outerjoin(learning_point_themes, learning_point_themes.c.learning_point_id == LearningPoint.id)
        .outerjoin(LearningTheme, LearningTheme.id == learning_point_themes.c.learning_theme_id)
        .where(LearningPoint.review_id.in_(ids))
        .order_by(LearningPoint.review_id, LearningPoint.number, LearningTheme.position, LearningTheme.name)
    )
    return _frame(query, ["review_id", "point_id", "number", "text", "theme_id", "theme"])


def themes(partnership_id: int) -> pd.DataFrame:
    """The partnership's learning themes in their order: ``theme_id``, ``theme``, ``is_retired``."""
    query = (
        sa.select(LearningTheme.id, LearningTheme.name, LearningTheme.is_retired)
        .where(LearningTheme.partnership_id == partnership_id)
        .order_by(LearningTheme.position, LearningTheme.name)
    )
    return _frame(query, ["theme_id", "theme", "is_retired"])


def recommendations(visible: sa.Select) -> pd.DataFrame:
    """The recommendations of the visible reviews: ``review_id``, ``recommendation_id``, ``number``, ``text``,
    ``themes`` (names joined by "; "), ``actions`` (how many), ``open_actions`` (not complete or closed)."""
    ids = visible.with_only_columns(LearningReview.id).order_by(None)
    actions = (
        sa.select(sa.func.count(Action.id))
        .where(Action.recommendation_id == Recommendation.id)
        .correlate(Recommendation)
        .scalar_subquery()
    )
    open_actions = (
        sa.select(sa.func.count(Action.id))
        .where(Action.recommendation_id == Recommendation.id, Action.status.not_in(["complete", "closed"]))
        .correlate(Recommendation)
        .scalar_subquery()
    )
    query = (
        sa.select(
            Recommendation.review_id,
            Recommendation.id,
            Recommendation.number,
            Recommendation.text,
            actions,
            open_actions,
        )
        .where(Recommendation.source == SourceKind.REVIEW, Recommendation.review_id.in_(ids))
        .order_by(Recommendation.review_id, Recommendation.number)
    )
    frame = _frame(query, ["review_id", "recommendation_id", "number", "text", "actions", "open_actions"])
    names: dict[int, list[str]] = {}
    tags = sa.select(RecommendationTheme.recommendation_id, RecommendationTheme.name).where(
        RecommendationTheme.recommendation_id.in_(frame["recommendation_id"].tolist() or [-1])
    )
    for rec_id, name in db.session.execute(tags.order_by(RecommendationTheme.name)):
        names.setdefault(rec_id, []).append(name)
    frame["themes"] = frame["recommendation_id"].map(lambda i: "; ".join(names.get(i, [])))
    return frame
