"""The register's part of the home page: for admins and the QA group, the clocks overdue or due soon."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import selectinload

from ..core import clock
from ..core.permissions import Principal
from ..core.views import register_home_part
from ..extensions import db
from .due import due_clocks
from .models import LearningReview, ReviewStatus
from .permissions import can_manage_reviews, reviews_query

#: the most clocks listed on the home page (the register lists them all)
LIMIT = 10


def _home_part(p: Principal) -> dict[str, Any]:
    if p.partnership_id is None or not can_manage_reviews(p):
        return {}
    reviews = db.session.scalars(
        reviews_query(p)
        .where(LearningReview.status == ReviewStatus.IN_PROGRESS)
        .options(selectinload(LearningReview.pauses))
    ).all()
    due = due_clocks(reviews, clock.today())
    return {"review_clocks_due": due[:LIMIT], "review_clocks_due_total": len(due)}


register_home_part(_home_part)
