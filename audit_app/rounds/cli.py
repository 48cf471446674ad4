"""Command-line tools for rounds: `flask reminders send`, run once a day.

The command runs every daily sender registered with ``core.reminders``: the reminders about returns
(registered here) and whatever other domains add (the action plan's reminders and digest), so the round
engine needs to know none of them.
"""

from __future__ import annotations

from datetime import date

import click
from flask.cli import AppGroup

from ..core import clock
from ..core.reminders import register_daily_sender, send_daily_reminders

reminders_cli = AppGroup("reminders", help="Reminder emails about returns and actions.")


def _return_reminders(today: date) -> list[str]:
    """The reminders about returns in open rounds: one line per round reminded."""
    from .notifications import send_due_reminders

    return [f"{title}: reminded {len(sent)} agencies" for title, sent in send_due_reminders(today)]


register_daily_sender(10, _return_reminders)


@reminders_cli.command("send")
@click.option(
    "--date", "on", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, help="Act as if today were this date."
)
def reminders_send(on) -> None:
    """Send the day's automatic reminders (run once a day, for example from cron)."""

    from flask import current_app

    today = on.date() if on else clock.today()
    with current_app.test_request_context(base_url=current_app.config.get("BASE_URL") or "http://localhost"):
        lines = send_daily_reminders(today)
    for line in lines:
        click.echo(line)
    if not lines:
        click.echo("No reminders due today.")


COMMANDS = [reminders_cli]
