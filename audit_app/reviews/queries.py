"""The register's filters, shared by its page and the API: type, status, publication and year (the year the
authority became aware, or, without that date, the year the review was registered)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import sqlalchemy as sa

from .models import LearningReview, PublicationState, ReviewStatus, ReviewType


@dataclass(frozen=True)
class RegisterFilters:
    review_type: ReviewType | None = None
    status: ReviewStatus | None = None
    publication: PublicationState | None = None
    year: int | None = None

    def apply(self, query: sa.Select) -> sa.Select:
        if self.review_type is not None:
            query = query.where(LearningReview.review_type == self.review_type)
        if self.status is not None:
            query = query.where(LearningReview.status == self.status)
        if self.publication is not None:
            query = query.where(LearningReview.publication_state == self.publication)
        if self.year is not None:
            y = self.year
            query = query.where(
                sa.or_(
                    LearningReview.aware_on.between(date(y, 1, 1), date(y, 12, 31)),
                    sa.and_(
                        LearningReview.aware_on.is_(None),
                        LearningReview.created_at >= datetime(y, 1, 1, tzinfo=UTC),
                        LearningReview.created_at < datetime(y + 1, 1, 1, tzinfo=UTC),
                    ),
                )
            )
        return query


def review_year(review: LearningReview) -> int:
    """The year a review counts in for the filter."""
    return review.aware_on.year if review.aware_on is not None else review.created_at.year
