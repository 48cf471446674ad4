"""The application's clock: the one place that asks what time it is.

``now()`` is a timezone-aware UTC datetime (for timestamps); ``today()`` is the
date in England (Europe/London), because due dates, reminders and statutory
clocks count English office days, and just after midnight in British Summer
Time the UTC date is still yesterday. ``local_now()`` is the London wall-clock
time, for "produced at" lines people read.

Tests stop the clock with :func:`frozen` (or :func:`set_clock` /
:func:`reset_clock`, or the ``clock`` fixture in ``tests/core_fixtures.py``).
The setting is kept at module level, so it holds for every thread of the
process (a test's live server, an inline job), but not for other processes
such as an RQ worker started apart.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

#: the zone English office dates are counted in
LONDON = ZoneInfo("Europe/London")

_lock = threading.Lock()
#: the frozen time, or None for the real clock
_frozen: datetime | None = None


def now() -> datetime:
    """The current time, timezone-aware, in UTC."""
    frozen_at = _frozen
    if frozen_at is not None:
        return frozen_at
    return datetime.now(UTC)


def local_now() -> datetime:
    """The current time on a wall clock in England (aware, Europe/London)."""
    return now().astimezone(LONDON)


def today() -> date:
    """Today's date in England."""
    return local_now().date()


def _as_utc(at: datetime | date) -> datetime:
    if isinstance(at, datetime):
        if at.tzinfo is None:
            raise ValueError("set the clock with an aware datetime (e.g. tzinfo=UTC), or a date")
        return at.astimezone(UTC)
    # A bare date means midday in England that day: well clear of midnight either side.
    return datetime.combine(at, time(12, 0), tzinfo=LONDON).astimezone(UTC)


def set_clock(at: datetime | date) -> datetime:
    """Stop the clock at ``at`` (an aware datetime, or a date meaning midday in England).

    Returns the frozen time in UTC.
    """
    global _frozen
    with _lock:
        _frozen = _as_utc(at)
        return _frozen


def advance(delta: timedelta) -> datetime:
    """Move a stopped clock on by ``delta``; returns the new time."""
    global _frozen
    with _lock:
        if _frozen is None:
            raise RuntimeError("the clock is running; set_clock() before advance()")
        _frozen = _frozen + delta
        return _frozen


def reset_clock() -> None:
    """Let the clock run again from the real time."""
    global _frozen
    with _lock:
        _frozen = None


def is_frozen() -> bool:
    return _frozen is not None


@contextmanager
def frozen(at: datetime | date) -> Iterator[datetime]:
    """Stop the clock at ``at`` inside the block, then put back whatever was there."""
    global _frozen
    with _lock:
        previous = _frozen
    set_clock(at)
    try:
        yield now()
    finally:
        with _lock:
            _frozen = previous
