"""Core's command-line tools (`flask demo load`, `flask jobs worker`) and the registration of each domain's.

Each domain package keeps its own commands in its ``cli.py`` (a ``COMMANDS`` list), added by the app
factory; core knows none of them.
"""

from __future__ import annotations

from collections.abc import Iterable

import click
from flask import Flask
from flask.cli import AppGroup

from ..extensions import db
from .audit import system_actor
from .demo import load_demo

demo_cli = AppGroup("demo", help="Demo data.")


@demo_cli.command("load")
def demo_load() -> None:
    """Load the demo partnership (does nothing if it is already there)."""
    with system_actor("cli:demo load"):
        demo = load_demo()
        db.session.commit()
    added = demo.questionnaires_added
    if demo.created:
        click.echo(f"Demo partnership loaded, with {added} published questionnaires from the library.")
    elif added:
        click.echo(f"Demo partnership already present; added {added} questionnaires from the library.")
    else:
        click.echo("Demo partnership already present; nothing changed.")
    for line in demo.notes:
        click.echo(line)


def register_cli(app: Flask, domain_commands: Iterable[click.Command] = ()) -> None:
    """Core's commands, then every domain's."""
    from .jobs import jobs_cli

    app.cli.add_command(jobs_cli)
    app.cli.add_command(demo_cli)
    for command in domain_commands:
        app.cli.add_command(command)
