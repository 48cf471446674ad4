"""The statutory clocks of a learning review: pure arithmetic on the working-day calendar, never stored.

* **Notification**: the National Panel is notified within 5 working days of the local authority becoming
  aware of the serious incident (rapid reviews).
* **Rapid review**: finished (the panel's decision sent) within 15 working days of the notification.
* **Practice review**: a commissioned local child safeguarding practice review finishes within 6 months of
  the decision that commissioned it.

A clock starts on a day (not counted) and is due a number of working days (or calendar months) later. It can
be paused: a pause runs from ``paused_on`` (the first day not counted) to ``resumed_on`` (the day it counts
again), and the due date moves by the working days (or, for the month clock, the calendar days) the pause
covered. An open pause moves it as if the clock resumed today. A clock is met on the day its event happened;
met after its due date, it was missed.

Worked example: aware on Thursday 17 April 2025 (Good Friday 18 April and Easter Monday 21 April are bank
holidays): the 5 working days are Tuesday 22 to Friday 25 and Monday 28 April, so notification is due Monday 28
April. Paused Tuesday 22, resumed Thursday 24 April (two working days not counted), it is due Wednesday 30 April.
"""

from __future__ import annotations

import calendar
import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from ..core.calendar import add_working_days, working_days_between
from .models import ClockKind, ReviewDecision, ReviewType

NOTIFICATION_WORKING_DAYS = 5
RAPID_REVIEW_WORKING_DAYS = 15
PRACTICE_REVIEW_MONTHS = 6
#: a running clock due within this many working days is "due soon"
DUE_SOON_WORKING_DAYS = 5


class ClockState(enum.StrEnum):
    NOT_STARTED = "not_started"
    RUNNING = "running"
    DUE_SOON = "due_soon"
    OVERDUE = "overdue"
    PAUSED = "paused"
    MET = "met"
    MISSED = "missed"

    @property
    def label(self) -> str:
        return CLOCK_STATE_LABELS[self]


CLOCK_STATE_LABELS = {
    ClockState.NOT_STARTED: "Not started",
    ClockState.RUNNING: "Running",
    ClockState.DUE_SOON: "Due soon",
    ClockState.OVERDUE: "Overdue",
    ClockState.PAUSED: "Paused",
    ClockState.MET: "Met",
    ClockState.MISSED: "Missed",
}


@dataclass(frozen=True)
class Pause:
    paused_on: date
    resumed_on: date | None = None


@dataclass(frozen=True)
class Clock:
    """One clock of one review, as of ``today``."""

    kind: ClockKind
    #: the day the clock started (not counted); None: not started
    starts_on: date | None
    #: the due date with no pauses
    base_due_on: date | None
    #: the due date after pauses (an open pause counted up to today)
    due_on: date | None
    #: the day its event happened
    met_on: date | None
    #: the open pause's first day
    paused_since: date | None
    state: ClockState
    #: working days (calendar days for the month clock) the pauses moved the due date by
    paused_days: int
    #: working days left before the due date (negative: overdue by that many); None when met or not started
    working_days_left: int | None

    @property
    def label(self) -> str:
        return self.kind.label

    @property
    def is_open(self) -> bool:
        """Started, not met: the register and dashboards watch it."""
        return self.state in {ClockState.RUNNING, ClockState.DUE_SOON, ClockState.OVERDUE, ClockState.PAUSED}


def add_months(d: date, months: int) -> date:
    """The same day ``months`` later, or the month's last day when it has no such day (31 August + 6 months is
    28 February, or 29 in a leap year)."""
    month_index = d.month - 1 + months
    year, month = d.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(d.day, calendar.monthrange(year, month)[1]))


def _paused_working_days(pause: Pause, today: date) -> int:
    """Working days from ``paused_on`` up to the day before ``resumed_on`` (today, while open)."""
    end = pause.resumed_on if pause.resumed_on is not None else max(today, pause.paused_on)
    return working_days_between(pause.paused_on - timedelta(days=1), end - timedelta(days=1))


def _paused_calendar_days(pause: Pause, today: date) -> int:
    end = pause.resumed_on if pause.resumed_on is not None else max(today, pause.paused_on)
    return (end - pause.paused_on).days


def compute(
    kind: ClockKind, starts_on: date | None, met_on: date | None, pauses: Iterable[Pause], today: date
) -> Clock:
    """The clock ``kind`` started on ``starts_on`` with these pauses, met on ``met_on``, as of ``today``."""
    pauses = sorted(pauses, key=lambda p: p.paused_on)
    if starts_on is None:
        return Clock(kind, None, None, None, met_on, None, ClockState.NOT_STARTED, 0, None)
    # a pause only counts up to the day the clock was met
    as_of = met_on if met_on is not None else today
    if kind == ClockKind.PRACTICE_REVIEW:
        base = add_months(starts_on, PRACTICE_REVIEW_MONTHS)
        paused = sum(_paused_calendar_days(p, as_of) for p in pauses)
        due = base + timedelta(days=paused)
    else:
        days = NOTIFICATION_WORKING_DAYS if kind == ClockKind.NOTIFICATION else RAPID_REVIEW_WORKING_DAYS
        base = add_working_days(starts_on, days)
        paused = sum(_paused_working_days(p, as_of) for p in pauses)
        due = add_working_days(base, paused)
    open_pause = next((p for p in pauses if p.resumed_on is None), None)
    paused_since = open_pause.paused_on if open_pause is not None and met_on is None else None
    if met_on is not None:
        state = ClockState.MET if met_on <= due else ClockState.MISSED
        return Clock(kind, starts_on, base, due, met_on, None, state, paused, None)
    left = working_days_between(today, due)
    if paused_since is not None:
        state = ClockState.PAUSED
    elif today > due:
        state = ClockState.OVERDUE
    elif left <= DUE_SOON_WORKING_DAYS:
        state = ClockState.DUE_SOON
    else:
        state = ClockState.RUNNING
    return Clock(kind, starts_on, base, due, None, paused_since, state, paused, left)


# ----------------------------------------------------------------------------------------------------------
# Which clocks a review has, from its type, dates and decision
# ----------------------------------------------------------------------------------------------------------


def clock_kinds(review_type: ReviewType, decision: ReviewDecision | None) -> list[ClockKind]:
    """The clocks a review runs: a rapid review the notification and rapid review clocks (and the practice
    review clock once it commissions an LCSPR); a review registered as an LCSPR the practice review clock."""
    kinds: list[ClockKind] = []
    if review_type == ReviewType.RAPID_REVIEW:
        kinds += [ClockKind.NOTIFICATION, ClockKind.RAPID_REVIEW]
    if review_type == ReviewType.LCSPR or decision == ReviewDecision.LCSPR:
        kinds.append(ClockKind.PRACTICE_REVIEW)
    return kinds


def review_clocks(review, today: date) -> list[Clock]:
    """Every clock of ``review`` (a :class:`~.models.LearningReview`) as of ``today``."""
    ends = {
        ClockKind.NOTIFICATION: (review.aware_on, review.notified_on),
        ClockKind.RAPID_REVIEW: (review.notified_on, review.decided_on),
        ClockKind.PRACTICE_REVIEW: (review.decided_on, review.completed_on),
    }
    clocks = []
    for kind in clock_kinds(review.review_type, review.decision):
        starts_on, met_on = ends[kind]
        pauses = [Pause(p.paused_on, p.resumed_on) for p in review.pauses if p.clock == kind]
        clocks.append(compute(kind, starts_on, met_on, pauses, today))
    return clocks
