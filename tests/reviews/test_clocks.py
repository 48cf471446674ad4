"""The statutory clocks against worked examples: weekends, Easter, Christmas and New Year, pauses, month ends
and leap years. Every expected date is worked out by hand from the calendar, not from the code."""

from __future__ import annotations

from datetime import date

import pytest

from audit_app.reviews.clocks import ClockState, Pause, add_months, clock_kinds, compute
from audit_app.reviews.models import ClockKind, ReviewDecision, ReviewType

N, R, P = ClockKind.NOTIFICATION, ClockKind.RAPID_REVIEW, ClockKind.PRACTICE_REVIEW


@pytest.mark.parametrize(
    ("kind", "starts_on", "due_on"),
    [
        # Monday 2 March 2026: Tue, Wed, Thu, Fri, Mon -> Monday 9 March
        (N, date(2026, 3, 2), date(2026, 3, 9)),
        # Friday 6 March 2026: the weekend is skipped -> Friday 13 March
        (N, date(2026, 3, 6), date(2026, 3, 13)),
        # aware on a Saturday: Mon 9 .. Fri 13 March
        (N, date(2026, 3, 7), date(2026, 3, 13)),
        # Easter 2025: Good Friday 18 April and Easter Monday 21 April are not counted.
        # Thursday 17 April -> Tue 22, Wed 23, Thu 24, Fri 25, Mon 28 April
        (N, date(2025, 4, 17), date(2025, 4, 28)),
        # Christmas 2026: Friday 25 December, Boxing Day on Saturday so Monday 28 December is its substitute,
        # New Year's Day Friday 1 January 2027. Wednesday 23 December 2026 -> Thu 24, Tue 29, Wed 30, Thu 31
        # December, Mon 4 January 2027
        (N, date(2026, 12, 23), date(2027, 1, 4)),
        # rapid review: notified Wednesday 23 December 2026, 15 working days. Thu 24 (1), Tue 29 (2), Wed 30 (3),
        # Thu 31 (4), Mon 4 Jan (5), Tue 5 (6), Wed 6 (7), Thu 7 (8), Fri 8 (9), Mon 11 (10), Tue 12 (11),
        # Wed 13 (12), Thu 14 (13), Fri 15 (14), Mon 18 January 2027 (15)
        (R, date(2026, 12, 23), date(2027, 1, 18)),
        # rapid review over a month end: notified Friday 27 February 2026 -> 15 working days: Mon 2 March (1) ..
        # Fri 6 (5), Mon 9 .. Fri 13 (10), Mon 16 .. Fri 20 March (15)
        (R, date(2026, 2, 27), date(2026, 3, 20)),
        # practice review, 6 months: 15 January 2026 -> 15 July 2026
        (P, date(2026, 1, 15), date(2026, 7, 15)),
        # month end: 31 August 2026 -> 28 February 2027 (no 31st; not a leap year)
        (P, date(2026, 8, 31), date(2027, 2, 28)),
        # leap year: 31 August 2027 -> 29 February 2028
        (P, date(2027, 8, 31), date(2028, 2, 29)),
        # over a year end: 30 September 2026 -> 30 March 2027
        (P, date(2026, 9, 30), date(2027, 3, 30)),
    ],
)
def test_due_dates(kind: ClockKind, starts_on: date, due_on: date) -> None:
    clock = compute(kind, starts_on, None, [], today=starts_on)
    assert clock.base_due_on == due_on
    assert clock.due_on == due_on


def test_a_pause_moves_a_working_day_clock_by_the_working_days_it_covered() -> None:
    # aware Monday 2 March 2026, due Monday 9 March. Paused Wednesday 4, resumed Friday 6 March: Wed and Thu
    # are not counted, so Tue 3 (1), Fri 6 (2), Mon 9 (3), Tue 10 (4), Wed 11 March (5)
    clock = compute(N, date(2026, 3, 2), None, [Pause(date(2026, 3, 4), date(2026, 3, 6))], today=date(2026, 3, 6))
    assert clock.paused_days == 2
    assert clock.due_on == date(2026, 3, 11)
    assert clock.state == ClockState.DUE_SOON


def test_a_pause_over_easter_counts_only_working_days() -> None:
    # notified Wednesday 9 April 2025, rapid review due 15 working days later: Thu 10, Fri 11, Mon 14 .. Thu 17
    # (6), [Good Friday 18, Easter Monday 21], Tue 22 .. Fri 25 (10), Mon 28 .. Fri 2 May (15): Friday 2 May.
    # Paused Thursday 17 April, resumed Wednesday 23 April: Thu 17 and Tue 22 are the working days not
    # counted (the bank holidays never were), so the due date moves 2 working days, past the early May bank
    # holiday (Monday 5 May 2025): Tuesday 6 May, Wednesday 7 May.
    clock = compute(R, date(2025, 4, 9), None, [Pause(date(2025, 4, 17), date(2025, 4, 23))], today=date(2025, 4, 23))
    assert clock.base_due_on == date(2025, 5, 2)
    assert clock.paused_days == 2
    assert clock.due_on == date(2025, 5, 7)


def test_two_pauses_add_up() -> None:
    # aware Monday 2 March 2026 (due Monday 9). Paused Tue 3 to Wed 4 (1 working day) and Thu 5 to Mon 9
    # (Thu, Fri: 2 working days): due 3 working days after Monday 9 March, Thursday 12 March
    pauses = [Pause(date(2026, 3, 3), date(2026, 3, 4)), Pause(date(2026, 3, 5), date(2026, 3, 9))]
    clock = compute(N, date(2026, 3, 2), None, pauses, today=date(2026, 3, 9))
    assert clock.paused_days == 3
    assert clock.due_on == date(2026, 3, 12)


def test_an_open_pause_counts_up_to_today_and_shows_paused() -> None:
    # notified Monday 2 March 2026, base due Monday 23 March. Paused since Monday 9 March; today Friday 13
    # March: Mon 9 .. Thu 12 are not counted (4), so for now it is due 4 working days after 23 March
    clock = compute(R, date(2026, 3, 2), None, [Pause(date(2026, 3, 9))], today=date(2026, 3, 13))
    assert clock.base_due_on == date(2026, 3, 23)
    assert clock.state == ClockState.PAUSED
    assert clock.paused_since == date(2026, 3, 9)
    assert clock.paused_days == 4
    assert clock.due_on == date(2026, 3, 27)


def test_a_practice_review_pause_moves_it_by_calendar_days() -> None:
    # decided 15 January 2026, due 15 July. Paused 1 February for criminal proceedings, resumed 3 May (91
    # days): due 14 October 2026
    clock = compute(P, date(2026, 1, 15), None, [Pause(date(2026, 2, 1), date(2026, 5, 3))], today=date(2026, 6, 1))
    assert clock.paused_days == 91
    assert clock.due_on == date(2026, 10, 14)
    assert clock.state == ClockState.RUNNING


@pytest.mark.parametrize(
    ("today", "state", "left"),
    [
        (date(2026, 3, 2), ClockState.RUNNING, 15),
        # Monday 16 March: 5 working days left -> due soon
        (date(2026, 3, 16), ClockState.DUE_SOON, 5),
        (date(2026, 3, 23), ClockState.DUE_SOON, 0),
        # Tuesday 24 March: a working day late
        (date(2026, 3, 24), ClockState.OVERDUE, -1),
        # Saturday 28 March: still 4 working days late (Tue 24 .. Fri 27)
        (date(2026, 3, 28), ClockState.OVERDUE, -4),
    ],
)
def test_states_as_the_days_pass(today: date, state: ClockState, left: int) -> None:
    clock = compute(R, date(2026, 3, 2), None, [], today=today)
    assert clock.due_on == date(2026, 3, 23)
    assert (clock.state, clock.working_days_left) == (state, left)


def test_met_on_or_before_the_due_date_is_met_and_after_it_missed() -> None:
    assert compute(N, date(2026, 3, 2), date(2026, 3, 9), [], today=date(2026, 6, 1)).state == ClockState.MET
    missed = compute(N, date(2026, 3, 2), date(2026, 3, 10), [], today=date(2026, 6, 1))
    assert missed.state == ClockState.MISSED
    assert not missed.is_open


def test_a_pause_left_open_after_the_clock_was_met_stops_counting_at_the_met_day() -> None:
    # notified Monday 2 March 2026, due Monday 23 March; paused Friday 20 March and never resumed; met Thursday
    # 26 March. Fri 20 and Mon 23 .. Wed 25 (4 working days) were paused: due Friday 27 March, so it was met
    clock = compute(R, date(2026, 3, 2), date(2026, 3, 26), [Pause(date(2026, 3, 20))], today=date(2026, 9, 1))
    assert clock.paused_days == 4
    assert clock.due_on == date(2026, 3, 27)
    assert clock.state == ClockState.MET


def test_not_started_without_its_start_date() -> None:
    clock = compute(R, None, None, [], today=date(2026, 3, 2))
    assert clock.state == ClockState.NOT_STARTED
    assert clock.due_on is None


@pytest.mark.parametrize(
    ("d", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),
        (date(2026, 7, 31), 6, date(2027, 1, 31)),
        (date(2026, 12, 1), 6, date(2027, 6, 1)),
        (date(2028, 2, 29), 6, date(2028, 8, 29)),
    ],
)
def test_add_months(d: date, months: int, expected: date) -> None:
    assert add_months(d, months) == expected


def test_which_clocks_a_review_runs() -> None:
    assert clock_kinds(ReviewType.RAPID_REVIEW, None) == [N, R]
    assert clock_kinds(ReviewType.RAPID_REVIEW, ReviewDecision.LCSPR) == [N, R, P]
    assert clock_kinds(ReviewType.RAPID_REVIEW, ReviewDecision.NO_FURTHER_REVIEW) == [N, R]
    assert clock_kinds(ReviewType.LCSPR, None) == [P]
    assert clock_kinds(ReviewType.THEMATIC_REVIEW, None) == []


def test_the_modules_worked_example() -> None:
    # aware Thursday 17 April 2025, due Monday 28 April; paused Tuesday 22, resumed Thursday 24: Wednesday 30 April
    assert compute(N, date(2025, 4, 17), None, [], today=date(2025, 4, 17)).due_on == date(2025, 4, 28)
    paused = compute(N, date(2025, 4, 17), None, [Pause(date(2025, 4, 22), date(2025, 4, 24))], today=date(2025, 4, 24))
    assert paused.due_on == date(2025, 4, 30)
