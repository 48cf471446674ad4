"""Command-line tools for accounts: `flask partnerships create`, `flask tokens create|list|revoke`."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from ..core.audit import system_actor
from ..core.errors import DomainError
from ..core.roles import Role
from ..extensions import db
from . import services
from .models import ApiToken, Partnership, User

partnerships_cli = AppGroup("partnerships", help="Partnerships.")
tokens_cli = AppGroup("tokens", help="Personal API tokens.")


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


def partnership_named(name: str | None) -> Partnership:
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


COMMANDS = [partnerships_cli, tokens_cli]
