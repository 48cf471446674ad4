"""The clock: aware UTC now, English today, stoppable in tests and across threads."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta

import pytest

from audit_app.core import clock as app_clock
from audit_app.core.models import utcnow
from tests.core_fixtures import clock as clock


def test_now_is_aware_utc_and_close_to_the_real_time():
    before = datetime.now(UTC)
    now = app_clock.now()
    assert now.tzinfo is not None
    assert now.utcoffset() == timedelta(0)
    assert before - timedelta(seconds=1) <= now <= datetime.now(UTC) + timedelta(seconds=1)


def test_today_is_the_date_in_england_not_in_utc(clock):
    # 23:30 UTC on 30 June is 00:30 BST on 1 July.
    clock.set(datetime(2026, 6, 30, 23, 30, tzinfo=UTC))
    assert clock.now().date() == date(2026, 6, 30)
    assert app_clock.today() == date(2026, 7, 1)
    assert app_clock.local_now().hour == 0
    # In winter London is on UTC.
    clock.set(datetime(2026, 12, 31, 23, 30, tzinfo=UTC))
    assert app_clock.today() == date(2026, 12, 31)


def test_a_date_means_midday_in_england(clock):
    assert clock.set(date(2026, 7, 1)) == datetime(2026, 7, 1, 11, 0, tzinfo=UTC)
    assert clock.today() == date(2026, 7, 1)


def test_utcnow_follows_the_clock(clock):
    at = clock.set(datetime(2027, 3, 29, 9, 0, tzinfo=UTC))
    assert utcnow() == at
    assert clock.advance(days=1, hours=2) == datetime(2027, 3, 30, 11, 0, tzinfo=UTC)
    assert utcnow() == datetime(2027, 3, 30, 11, 0, tzinfo=UTC)


def test_the_fixture_lets_the_clock_run_again(clock):
    clock.set(date(2020, 1, 1))
    clock.reset()
    assert app_clock.now().year > 2020
    assert not app_clock.is_frozen()


def test_frozen_restores_what_was_there_before():
    assert not app_clock.is_frozen()
    with app_clock.frozen(date(2026, 12, 25)) as outer:
        with app_clock.frozen(datetime(2027, 1, 1, tzinfo=UTC)):
            assert app_clock.today() == date(2027, 1, 1)
        assert app_clock.now() == outer
    assert not app_clock.is_frozen()


def test_frozen_restores_even_after_an_error():
    with pytest.raises(ZeroDivisionError), app_clock.frozen(date(2026, 12, 25)):
        _ = 1 / 0
    assert not app_clock.is_frozen()


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="aware datetime"):
        app_clock.set_clock(datetime(2026, 1, 1, 12, 0))  # naive on purpose
    assert not app_clock.is_frozen()


def test_advance_needs_a_stopped_clock():
    with pytest.raises(RuntimeError, match="running"):
        app_clock.advance(timedelta(days=1))


def test_a_stopped_clock_holds_in_other_threads(clock):
    clock.set(datetime(2026, 12, 28, 8, 0, tzinfo=UTC))
    seen: list[date] = []
    thread = threading.Thread(target=lambda: seen.append(app_clock.today()))
    thread.start()
    thread.join()
    assert seen == [date(2026, 12, 28)]


def test_model_timestamps_use_the_clock(clock, db_session):
    from audit_app.accounts.models import Partnership

    clock.set(datetime(2026, 5, 4, 10, 15, tzinfo=UTC))
    partnership = Partnership(name="Clockwork Partnership")
    db_session.add(partnership)
    db_session.flush()
    assert partnership.created_at == datetime(2026, 5, 4, 10, 15, tzinfo=UTC)


def test_exports_say_when_they_were_downloaded_in_english_time(clock):
    import io

    from openpyxl import load_workbook

    from audit_app.reporting.exports import tables_xlsx

    clock.set(datetime(2026, 7, 1, 8, 5, tzinfo=UTC))  # 09:05 BST
    book = load_workbook(io.BytesIO(tables_xlsx([], about=[("Round", "Neglect")])))
    rows = {row[0]: row[1] for row in book["About"].iter_rows(values_only=True)}
    assert rows["Downloaded"] == "01 July 2026 09:05"
