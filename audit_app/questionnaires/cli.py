"""Command-line tools for questionnaires: `flask questionnaires import|export`."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from ..accounts.cli import partnership_named
from ..core.audit import system_actor
from ..extensions import db

questionnaires_cli = AppGroup("questionnaires", help="Questionnaires: import and export files.")


@questionnaires_cli.command("import")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option(
    "--partnership", "partnership_name", default=None, help="The partnership's name (needed if there are several)."
)
@click.option("--publish", is_flag=True, help="Publish the imported version at once.")
def questionnaire_import(file, partnership_name: str | None, publish: bool) -> None:
    """Import a questionnaire file (YAML or JSON); refused whole if anything is wrong."""
    from .services import import_text
    from .spec import SpecError

    partnership = partnership_named(partnership_name)
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
    from .models import Questionnaire
    from .services import export_version
    from .spec import to_yaml

    partnership = partnership_named(partnership_name)
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


COMMANDS = [questionnaires_cli]
