"""The working-day calendar of England.

A working day is Monday to Friday and not a bank holiday in England (substitute
days included: when Boxing Day is a Saturday, the Monday after is the holiday).
Bank holidays come from the ``holidays`` package (GB, subdivision ENG), computed
offline; one-off days (a state funeral, a coronation) arrive with a new release
of that package, so keep it up to date in requirements.txt.

Counting, as statutory guidance counts it: "5 working days after X" is the
5th working day after X, X itself not counted, whatever day X is.

* ``add_working_days(x, 5)`` is that day; ``add_working_days(x, 0)`` is ``x``.
* ``working_days_between(a, b)`` counts the working days after ``a`` up to and
  including ``b``, so ``working_days_between(x, add_working_days(x, n)) == n``.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays

_ONE_DAY = timedelta(days=1)


@lru_cache(maxsize=64)
def _bank_holidays(year: int) -> dict[date, str]:
    return dict(holidays.country_holidays("GB", subdiv="ENG", years=year).items())


def bank_holiday(d: date) -> str | None:
    """The name of the English bank holiday on ``d``, or None."""
    return _bank_holidays(d.year).get(d)


def is_working_day(d: date) -> bool:
    """Monday to Friday and not an English bank holiday."""
    return d.weekday() < 5 and d not in _bank_holidays(d.year)


def add_working_days(d: date, n: int) -> date:
    """The ``n``-th working day after ``d`` (``d`` not counted); ``d`` itself when ``n`` is 0."""
    if n < 0:
        raise ValueError("add_working_days counts forwards: n must be 0 or more")
    day = d
    while n:
        day += _ONE_DAY
        if is_working_day(day):
            n -= 1
    return day


def working_day_on_or_after(d: date) -> date:
    """``d`` if it is a working day, else the next one (a deadline that falls on a holiday)."""
    while not is_working_day(d):
        d += _ONE_DAY
    return d


def working_days_between(a: date, b: date) -> int:
    """Working days after ``a`` up to and including ``b``; negative when ``b`` is before ``a``."""
    if b < a:
        return -working_days_between(b, a)
    count = 0
    day = a + _ONE_DAY
    while day <= b:
        if is_working_day(day):
            count += 1
        day += _ONE_DAY
    return count
