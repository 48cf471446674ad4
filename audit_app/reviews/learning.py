"""A review's key learning points, numbered within the review and tagged with the partnership's learning themes,
and the review's recommendations on the composite action plan.

A point is numbered next when added; moving or deleting one renumbers the rest so the numbers run 1, 2, 3...
Only active themes may be newly tagged; a point keeps a theme retired after it was tagged. Services flush and
leave the commit to the caller; a refusal names every bad field at once.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from ..actions.models import Recommendation, SourceKind
from ..core.errors import FieldErrors
from ..extensions import db
from ..questionnaires.models import LearningTheme
from .models import LearningPoint, LearningReview

TEXT_LIMIT = 4000


def _checked(
    review: LearningReview, text: str | None, theme_ids: Iterable[int], *, current: LearningPoint | None = None
) -> tuple[str, list[LearningTheme]]:
    problems: dict[str, list[str]] = {}
    text = (text or "").strip()
    if not text:
        problems["text"] = ["Enter the learning point"]
    elif len(text) > TEXT_LIMIT:
        problems["text"] = [f"The learning point must be {TEXT_LIMIT:,} characters or fewer"]
    wanted = sorted(set(theme_ids))
    themes = (
        list(
            db.session.scalars(
                sa.select(LearningTheme).where(
                    LearningTheme.id.in_(wanted), LearningTheme.partnership_id == review.partnership_id
                )
            )
        )
        if wanted
        else []
    )
    had = {t.id for t in current.themes} if current is not None else set()
    if len(themes) != len(wanted):
        problems["theme_ids"] = ["Choose learning themes from the partnership's list"]
    elif any(t.is_retired and t.id not in had for t in themes):
        names = ", ".join(t.name for t in themes if t.is_retired and t.id not in had)
        problems["theme_ids"] = [f"{names}: retired, so no longer offered; choose a theme in use"]
    if problems:
        raise FieldErrors(problems)
    return text, sorted(themes, key=lambda t: (t.position, t.name))


def add_point(review: LearningReview, text: str | None, theme_ids: Iterable[int] = ()) -> LearningPoint:
    """Add a learning point, numbered after the review's last."""
    text, themes = _checked(review, text, theme_ids)
    highest = db.session.scalar(
        sa.select(sa.func.max(LearningPoint.number)).where(LearningPoint.review_id == review.id)
    )
    point = LearningPoint(review_id=review.id, number=(highest or 0) + 1, text=text, themes=themes)
    db.session.add(point)
    db.session.flush()
    db.session.refresh(review, ["learning_points"])
    return point


def update_point(point: LearningPoint, text: str | None, theme_ids: Iterable[int]) -> LearningPoint:
    """Change a learning point's text and themes."""
    text, themes = _checked(point.review, text, theme_ids, current=point)
    point.text = text
    point.themes = themes
    db.session.flush()
    return point


def _points(review_id: int) -> list[LearningPoint]:
    return list(
        db.session.scalars(
            sa.select(LearningPoint).where(LearningPoint.review_id == review_id).order_by(LearningPoint.number)
        )
    )


def _renumber(review_id: int, ordered: list[LearningPoint]) -> None:
    """Number the points 1, 2, 3... in the order given (through free numbers, as numbers are unique)."""
    if [p.number for p in ordered] == list(range(1, len(ordered) + 1)):
        return
    offset = max([p.number for p in ordered] + [len(ordered)]) + 1
    for index, each in enumerate(ordered, start=1):
        each.number = offset + index
    db.session.flush()
    for index, each in enumerate(ordered, start=1):
        each.number = index
    db.session.flush()


def move_point(point: LearningPoint, number: int) -> LearningPoint:
    """Give a learning point another number; the points between shift to make room."""
    ordered = _points(point.review_id)
    if not 1 <= number <= len(ordered):
        raise FieldErrors({"number": [f"The number must be from 1 to {len(ordered)}"]})
    ordered.remove(point)
    ordered.insert(number - 1, point)
    _renumber(point.review_id, ordered)
    return point


def delete_point(point: LearningPoint) -> None:
    """Delete a learning point; those after it move up a number."""
    review_id = point.review_id
    review = point.review
    db.session.delete(point)
    db.session.flush()
    _renumber(review_id, _points(review_id))
    db.session.refresh(review, ["learning_points"])


def review_recommendations(review: LearningReview) -> list[Recommendation]:
    """The review's recommendations on the action plan, by number (every one: callers scope them)."""
    return list(
        db.session.scalars(
            sa.select(Recommendation)
            .where(Recommendation.source == SourceKind.REVIEW, Recommendation.review_id == review.id)
            .order_by(Recommendation.number, Recommendation.id)
        )
    )
