"""Core's command-line tools (`flask demo load`, `flask jobs worker`, `flask backup`, `flask restore`) and the registration of each domain's.

Each domain package keeps its own commands in its ``cli.py`` (a ``COMMANDS`` list), added by the app
factory; core knows none of them.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import click
import sqlalchemy as sa
from flask import Flask, current_app
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


@click.command("backup")
@click.option(
    "--output",
    type=click.Path(dir_okay=True, file_okay=True),
    help="The archive to write, or a directory to write it in (default: BACKUP_DIR), named by the time.",
)
@click.option(
    "--keep-days",
    type=click.IntRange(min=1),
    help="After a good backup, delete this command's archives in the same directory older than this many days.",
)
def backup_command(output: str | None, keep_days: int | None) -> None:
    """Write the database and the file store to one archive (restore it with `flask restore`)."""
    from .backup import BackupError, default_backup_path, make_backup, prune_backups

    target = Path(output or current_app.config["BACKUP_DIR"])
    if output is None or target.is_dir() or output.endswith(("/", "\\")):
        target = default_backup_path(target)
    try:
        summary = make_backup(target)
    except BackupError as error:
        raise click.ClickException(str(error)) from None
    except (sa.exc.OperationalError, sa.exc.InterfaceError) as error:
        raise click.ClickException(f"No backup was written: the database cannot be reached ({error.orig}).") from None
    click.echo(
        f"Backup written to {summary.path}: {summary.tables} tables, {summary.rows} rows, {summary.files} files "
        f"({summary.file_bytes} bytes), {summary.size} bytes in all, at migration revision {summary.revision}."
    )
    if summary.missing_files:
        click.secho(
            f"Warning: {len(summary.missing_files)} stored files named in the database are missing from "
            f"{current_app.config['FILE_STORAGE_DIR']} and are not in the archive.",
            fg="yellow",
            err=True,
        )
    if keep_days:
        for old in prune_backups(summary.path.parent, keep_days, summary.path):
            click.echo(f"Deleted {old.name} (older than {keep_days} days).")


@click.command("restore")
@click.argument("archive", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--force", is_flag=True, help="Delete everything in the database first if it holds data.")
def restore_command(archive: Path, force: bool) -> None:
    """Restore an archive written by `flask backup` into an empty database and the file store."""
    from .backup import BackupError, restore_backup

    def say(line: str) -> None:
        click.secho(line, fg="red", bold=True, err=True)

    try:
        summary = restore_backup(archive, force=force, say=say)
    except BackupError as error:
        raise click.ClickException(f"Nothing was restored. {error}") from None
    except (sa.exc.OperationalError, sa.exc.InterfaceError) as error:
        raise click.ClickException(f"Nothing was restored: the database cannot be reached ({error.orig}).") from None
    click.echo(
        f"Restored {archive}: {summary.tables} tables, {summary.rows} rows (every table's count and checksum "
        f"match the archive), {summary.files} files checked by SHA-256 ({summary.files_written} written), "
        f"at migration revision {summary.revision}. Run `flask db upgrade` if this version of the application is newer."
    )


def register_cli(app: Flask, domain_commands: Iterable[click.Command] = ()) -> None:
    """Core's commands, then every domain's."""
    from .jobs import jobs_cli

    app.cli.add_command(jobs_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
    for command in domain_commands:
        app.cli.add_command(command)
