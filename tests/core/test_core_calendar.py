"""The working-day calendar of England, against known dates."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from audit_app.core.calendar import (
    add_working_days,
    bank_holiday,
    is_working_day,
    working_day_on_or_after,
    working_days_between,
)


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 12, 24), True),  # Thursday
        (date(2026, 12, 25), False),  # Christmas Day, Friday
        (date(2026, 12, 26), False),  # Boxing Day, Saturday
        (date(2026, 12, 27), False),  # Sunday
        (date(2026, 12, 28), False),  # Monday: Boxing Day substitute
        (date(2026, 12, 29), True),
        (date(2027, 3, 26), False),  # Good Friday 2027
        (date(2027, 3, 29), False),  # Easter Monday 2027
        (date(2027, 3, 30), True),
        (date(2026, 5, 4), False),  # early May bank holiday
        (date(2026, 5, 25), False),  # spring bank holiday
        (date(2026, 8, 31), False),  # summer bank holiday (England's, the last Monday)
        (date(2026, 8, 3), True),  # Scotland's summer bank holiday is not England's
        (date(2026, 1, 2), True),  # nor is 2 January
        (date(2026, 11, 30), True),  # nor St Andrew's Day
        (date(2026, 3, 17), True),  # nor St Patrick's Day
        (date(2027, 12, 27), False),  # Christmas Day (Saturday) substitute
        (date(2027, 12, 28), False),  # Boxing Day (Sunday) substitute
        (date(2023, 5, 8), False),  # the coronation: a one-off bank holiday
        (date(2022, 9, 19), False),  # the Queen's state funeral
    ],
)
def test_working_days_of_england(day, working):
    assert is_working_day(day) is working


def test_bank_holidays_have_names():
    assert bank_holiday(date(2026, 12, 28)) is not None
    assert bank_holiday(date(2026, 12, 27)) is None  # a Sunday, not a holiday
    assert bank_holiday(date(2026, 12, 29)) is None


@pytest.mark.parametrize(
    ("start", "n", "expected"),
    [
        (date(2026, 12, 23), 1, date(2026, 12, 24)),
        (date(2026, 12, 24), 1, date(2026, 12, 29)),  # over Christmas and the Boxing Day substitute
        (date(2026, 12, 24), 4, date(2027, 1, 4)),  # and over New Year's Day (Friday)
        (date(2026, 12, 18), 15, date(2027, 1, 13)),
        (date(2027, 3, 25), 1, date(2027, 3, 30)),  # Easter 2027
        (date(2026, 5, 1), 1, date(2026, 5, 5)),  # Friday before the early May bank holiday
        (date(2027, 12, 24), 1, date(2027, 12, 29)),
        (date(2026, 12, 26), 1, date(2026, 12, 29)),  # from a non-working day
        (date(2026, 6, 1), 5, date(2026, 6, 8)),  # Monday + 5 = next Monday
        (date(2026, 6, 1), 0, date(2026, 6, 1)),
        (date(2026, 12, 26), 0, date(2026, 12, 26)),  # 0 is the day itself, working or not
    ],
)
def test_add_working_days(start, n, expected):
    assert add_working_days(start, n) == expected


def test_add_working_days_refuses_negative_counts():
    with pytest.raises(ValueError, match="0 or more"):
        add_working_days(date(2026, 6, 1), -1)


def test_working_day_on_or_after():
    assert working_day_on_or_after(date(2026, 12, 24)) == date(2026, 12, 24)
    assert working_day_on_or_after(date(2026, 12, 25)) == date(2026, 12, 29)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (date(2026, 12, 24), date(2026, 12, 29), 1),
        (date(2026, 12, 18), date(2027, 1, 13), 15),
        (date(2027, 1, 13), date(2026, 12, 18), -15),
        (date(2026, 6, 1), date(2026, 6, 1), 0),
        (date(2026, 12, 25), date(2026, 12, 28), 0),
        (date(2026, 1, 1), date(2026, 12, 31), 253),  # 261 weekdays less 8 weekday bank holidays (1 Jan among them)
    ],
)
def test_working_days_between(a, b, expected):
    assert working_days_between(a, b) == expected


def test_counting_and_adding_agree_over_a_year():
    start = date(2026, 11, 1)
    for offset in range(0, 120, 3):
        day = start + timedelta(days=offset)
        for n in (0, 1, 5, 15, 20):
            assert working_days_between(day, add_working_days(day, n)) == n
