"""What reviews add to the access log: a review is named by its pseudonym and type."""

from __future__ import annotations

import sqlalchemy as sa

from ..core.access_log import AccessKind, register_access_labels
from ..extensions import db
from .models import LearningReview


def _review_labels(partnership_id: int, ids: set[int]) -> dict[int, str]:
    rows = db.session.execute(
        sa.select(LearningReview.id, LearningReview.pseudonym, LearningReview.review_type).where(
            LearningReview.partnership_id == partnership_id, LearningReview.id.in_(sorted(ids))
        )
    )
    return {review_id: f"{pseudonym} ({review_type.label.lower()})" for review_id, pseudonym, review_type in rows}


register_access_labels(AccessKind.REVIEW, _review_labels)
