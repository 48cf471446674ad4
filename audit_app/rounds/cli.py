"""Command-line tools for rounds: `flask reminders send`, run once a day."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from ..core import clock

reminders_cli = AppGroup("reminders", help="Reminder emails about returns.")


@reminders_cli.command("send")
@click.option(
    "--date", "on", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, help="Act as if today were this date."
)
def reminders_send(on) -> None:
    """Send the day's automatic reminders (run once a day, for example from cron)."""

    from flask import current_app

    from .notifications import send_due_reminders

    today = on.date() if on else clock.today()
    with current_app.test_request_context(base_url=current_app.config.get("BASE_URL") or "http://localhost"):
        results = send_due_reminders(today)
    for title, sent in results:
        click.echo(f"{title}: reminded {len(sent)} agencies")
    if not results:
        click.echo("No reminders due today.")


COMMANDS = [reminders_cli]
