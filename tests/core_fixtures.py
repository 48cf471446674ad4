"""Fixtures for the core services, kept apart from conftest.py until it registers them.

Register in tests/conftest.py with ``from tests.core_fixtures import clock as clock``
(the redundant alias tells ruff the import is a re-export). A test module may
also bring a fixture in itself: ``from tests.core_fixtures import clock as clock``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta

import pytest

from audit_app.core import clock as app_clock


class ClockControl:
    """The app's clock as a test sees it: stop it, move it on, read it."""

    def set(self, at: datetime | date) -> datetime:
        """Stop the clock at ``at`` (aware datetime, or a date meaning midday in England)."""
        return app_clock.set_clock(at)

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        """Move the stopped clock on: ``clock.advance(days=3)``."""
        return app_clock.advance(delta if delta is not None else timedelta(**kwargs))

    def now(self) -> datetime:
        return app_clock.now()

    def today(self) -> date:
        return app_clock.today()

    def reset(self) -> None:
        app_clock.reset_clock()


@pytest.fixture()
def clock() -> Iterator[ClockControl]:
    """Control the app's clock in one test; it runs again when the test ends.

    The clock runs until the test calls ``clock.set(...)``.
    """
    control = ClockControl()
    try:
        yield control
    finally:
        app_clock.reset_clock()
