"""Command-line tools: `flask demo load`, `flask partnerships create`, `flask tokens ...`."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask import Flask
from flask.cli import AppGroup

from ..accounts import services
from ..accounts.models import ApiToken, Partnership, Role, User
from ..extensions import db
from . import clock
from .audit import system_actor
from .demo import DEMO_PASSWORD, USERS, load_demo
from .errors import DomainError

demo_cli = AppGroup("demo", help="Demo data.")
questionnaires_cli = AppGroup("questionnaires", help="Questionnaires: import and export files.")
reminders_cli = AppGroup("reminders", help="Reminder emails about returns.")


@reminders_cli.command("send")
@click.option(
    "--date", "on", type=click.DateTime(formats=["%Y-%m-%d"]), default=None, help="Act as if today were this date."
)
def reminders_send(on) -> None:
    """Send the day's automatic reminders (run once a day, for example from cron)."""

    from flask import current_app

    from ..rounds.notifications import send_due_reminders

    today = on.date() if on else clock.today()
    with current_app.test_request_context(base_url=current_app.config.get("BASE_URL") or "http://localhost"):
        results = send_due_reminders(today)
    for title, sent in results:
        click.echo(f"{title}: reminded {len(sent)} agencies")
    if not results:
        click.echo("No reminders due today.")


partnerships_cli = AppGroup("partnerships", help="Partnerships.")
tokens_cli = AppGroup("tokens", help="Personal API tokens.")


@demo_cli.command("load")
def demo_load() -> None:
    """Load the demo partnership (does nothing if it is already there)."""
    with system_actor("cli:demo load"):
        created, questionnaires = load_demo()
        db.session.commit()
    if created:
        click.echo(f"Demo partnership loaded, with {questionnaires} published questionnaires from the library.")
    elif questionnaires:
        click.echo(f"Demo partnership already present; added {questionnaires} questionnaires from the library.")
    else:
        click.echo("Demo partnership already present; nothing changed.")
    click.echo(f"Demo users (password for all: {DEMO_PASSWORD}):")
    for email, _name, role, agency in USERS:
        click.echo(f"  {email:42} {role.value:12} {agency or ''}")


@partnerships_cli.command("create")
@click.argument("name")
@click.option("--admin-email", required=True, help="Email of the first admin.")
@click.option("--admin-name", required=True, help="Full name of the first admin.")
@click.option("--qa-group-name", default=None, help="What the partnership calls its QA subgroup.")
def partnership_create(name: str, admin_email: str, admin_name: str, qa_group_name: str | None) -> None:
    """Create a partnership with its first admin.

    A new admin account is asked for a password; an existing account (someone
    who already works in another partnership) just gets the admin role.
    """
    existing = db.session.scalar(sa.select(User).where(User.email == services.normalise_email(admin_email)))
    password = None
    if existing is None:
        password = click.prompt("Password for the first admin", hide_input=True, confirmation_prompt=True)
    with system_actor("cli:partnerships create"):
        try:
            partnership = services.create_partnership(name, qa_group_name=qa_group_name)
            services.create_user(partnership.id, email=admin_email, name=admin_name, role=Role.ADMIN, password=password)
        except DomainError as error:
            db.session.rollback()
            raise click.ClickException(f"{error.field or 'input'}: {error.message}") from None
        db.session.commit()
    click.echo(f"Partnership {name!r} created with admin {admin_email}.")


@tokens_cli.command("create")
@click.option("--email", required=True, help="The user the token acts for.")
@click.option("--partnership", "partnership_name", required=True, help="The partnership's name.")
@click.option("--name", "token_name", required=True, help="What the token is for.")
@click.option(
    "--days", type=click.IntRange(1, 3650), default=None, help="Expire after this many days (default: never)."
)
def token_create(email: str, partnership_name: str, token_name: str, days: int | None) -> None:
    """Create a personal API token and print its secret once."""
    user = db.session.scalar(sa.select(User).where(User.email == services.normalise_email(email)))
    if user is None:
        raise click.ClickException(f"no user with email {email}")
    partnership = db.session.scalar(sa.select(Partnership).where(Partnership.name == partnership_name))
    if partnership is None:
        raise click.ClickException(f"no partnership named {partnership_name!r}")
    with system_actor("cli:tokens create"):
        try:
            token, secret = services.create_api_token(user, partnership.id, token_name, expires_in_days=days)
        except DomainError as error:
            db.session.rollback()
            raise click.ClickException(error.message) from None
        db.session.commit()
    click.echo(f"Token {token.id} ({token.name}) for {user.email} in {partnership.name}:")
    click.echo(secret)


@tokens_cli.command("list")
@click.option("--email", required=True)
def token_list(email: str) -> None:
    """List a user's tokens (never their secrets)."""
    tokens = db.session.scalars(
        sa.select(ApiToken)
        .join(ApiToken.user)
        .where(User.email == services.normalise_email(email))
        .order_by(ApiToken.id)
    ).all()
    for token in tokens:
        state = "revoked" if token.revoked_at else ("usable" if token.is_usable else "expired")
        click.echo(f"{token.id:5} {token.prefix}…  {state:8} {token.partnership.name}  {token.name}")


@tokens_cli.command("revoke")
@click.argument("token_id", type=int)
def token_revoke(token_id: int) -> None:
    """Revoke a token by its id."""
    token = db.session.get(ApiToken, token_id)
    if token is None:
        raise click.ClickException(f"no token {token_id}")
    with system_actor("cli:tokens revoke"):
        try:
            services.revoke_api_token(token)
        except DomainError as error:
            raise click.ClickException(error.message) from None
        db.session.commit()
    click.echo(f"Token {token_id} revoked.")


def _partnership_named(name: str | None) -> Partnership:
    """The partnership named, or the only one there is."""
    if name is None:
        partnerships = db.session.scalars(sa.select(Partnership).limit(2)).all()
        if len(partnerships) != 1:
            raise click.ClickException("name the partnership with --partnership (there is more than one, or none)")
        return partnerships[0]
    partnership = db.session.scalar(sa.select(Partnership).where(Partnership.name == name))
    if partnership is None:
        raise click.ClickException(f"no partnership named {name!r}")
    return partnership


@questionnaires_cli.command("import")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option(
    "--partnership", "partnership_name", default=None, help="The partnership's name (needed if there are several)."
)
@click.option("--publish", is_flag=True, help="Publish the imported version at once.")
def questionnaire_import(file, partnership_name: str | None, publish: bool) -> None:
    """Import a questionnaire file (YAML or JSON); refused whole if anything is wrong."""
    from ..questionnaires.services import import_text
    from ..questionnaires.spec import SpecError

    partnership = _partnership_named(partnership_name)
    with system_actor("cli:questionnaires import"):
        try:
            version = import_text(partnership.id, file.read(), publish=publish)
        except SpecError as error:
            db.session.rollback()
            lines = "\n".join(f"  {p.path}: {p.message}" for p in error.problems)
            raise click.ClickException(f"not imported, {len(error.problems)} problem(s):\n{lines}") from None
        db.session.commit()
    state = "published" if publish else "draft"
    click.echo(f"Imported {version.questionnaire.key} as {state} version {version.number}.")


@questionnaires_cli.command("export")
@click.argument("key")
@click.option(
    "--partnership", "partnership_name", default=None, help="The partnership's name (needed if there are several)."
)
@click.option("--version", "number", type=int, default=None, help="Version number (default: the latest).")
@click.option(
    "--output",
    "-o",
    type=click.File("w", encoding="utf-8"),
    default="-",
    help="File to write (default: standard output).",
)
def questionnaire_export(key: str, partnership_name: str | None, number: int | None, output) -> None:
    """Export a questionnaire version as YAML."""
    from ..questionnaires.models import Questionnaire
    from ..questionnaires.services import export_version
    from ..questionnaires.spec import to_yaml

    partnership = _partnership_named(partnership_name)
    questionnaire = db.session.scalar(
        sa.select(Questionnaire).where(Questionnaire.partnership_id == partnership.id, Questionnaire.key == key)
    )
    if questionnaire is None:
        raise click.ClickException(f"no questionnaire with key {key!r} in {partnership.name}")
    version = (
        questionnaire.latest
        if number is None
        else next((v for v in questionnaire.versions if v.number == number), None)
    )
    if version is None:
        raise click.ClickException(f"{key} has no version {number}")
    output.write(to_yaml(export_version(version)))


def register_cli(app: Flask) -> None:
    from .jobs import jobs_cli

    app.cli.add_command(jobs_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(questionnaires_cli)
    app.cli.add_command(reminders_cli)
    app.cli.add_command(partnerships_cli)
    app.cli.add_command(tokens_cli)
