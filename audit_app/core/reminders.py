"""The daily reminders (`flask reminders send`): each domain registers what it sends once a day.

Core knows no domain: the round engine registers its reminders about returns, the action plan its reminders
to action owners and the QA group's digest; the command runs them all, in order, for one day.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

#: a daily sender: given the day, sends what is due and returns the lines the command prints
DailySender = Callable[[date], list[str]]

_SENDERS: dict[str, tuple[int, DailySender]] = {}


def register_daily_sender(order: int, sender: DailySender) -> None:
    """Run ``sender`` each time the daily reminders run, after every sender with a smaller ``order``."""
    _SENDERS[f"{sender.__module__}.{sender.__qualname__}"] = (order, sender)


def send_daily_reminders(today: date) -> list[str]:
    """Run every registered sender for ``today``; the lines they report, in order."""
    lines: list[str] = []
    for _, sender in sorted(_SENDERS.values(), key=lambda item: item[0]):
        lines.extend(sender(today))
    return lines
