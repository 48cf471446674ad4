"""What the register, the home page and the reminders watch: every open clock due soon or overdue."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from .clocks import Clock, ClockState, review_clocks
from .models import LearningReview

#: the states a clock needs attention in
WATCHED = (ClockState.OVERDUE, ClockState.DUE_SOON)


@dataclass(frozen=True)
class DueClock:
    review: LearningReview
    clock: Clock


def due_clocks(reviews: Iterable[LearningReview], today: date) -> list[DueClock]:
    """The open clocks of ``reviews`` that are overdue or due within ``DUE_SOON_WORKING_DAYS``: overdue first,
    then by due date."""
    rows = [DueClock(review, c) for review in reviews for c in review_clocks(review, today) if c.state in WATCHED]
    return sorted(rows, key=lambda r: (r.clock.state != ClockState.OVERDUE, r.clock.due_on, r.review.pseudonym))
