"""`flask purge`: remove the case-level records of reported case audit rounds past their partnership's
retention period (``retention``). A dry run unless ``--apply``; scheduled nightly after the backup."""

from __future__ import annotations

import click
import sqlalchemy as sa

from ..accounts.models import Partnership
from ..core import clock
from ..core.audit import system_actor
from ..extensions import db
from . import retention


@click.command("purge")
@click.option("--apply", "apply_", is_flag=True, help="Remove the records (without it, only say what would go).")
@click.option("--partnership", "partnership_id", type=int, help="Only this partnership (its id).")
def purge_command(apply_: bool, partnership_id: int | None) -> None:
    """Remove case records of reported case audit rounds older than their partnership's retention period."""
    today = clock.today()
    try:
        with system_actor("cli:purge"):
            run = retention.run_purge(today, apply=apply_, partnership_id=partnership_id)
    except (sa.exc.OperationalError, sa.exc.InterfaceError) as error:
        db.session.rollback()
        raise click.ClickException(f"Nothing was removed: the database cannot be reached ({error.orig}).") from None
    mode = "removing" if apply_ else "dry run: nothing is removed; add --apply to remove"
    click.echo(f"Retention check for {today.strftime('%-d %B %Y')} ({mode}).")
    for due in run.due:
        round_ = due.round
        verb = "removed" if apply_ else "would remove"
        counts = due.counts
        if apply_:
            done = next((p for p in run.purged if p.round_id == round_.id), None)
            if done is None:
                click.echo(f"- Round {round_.id} '{round_.title}': already purged by another run.")
                continue
            counts = done.removed
        click.echo(
            f"- Round {round_.id} '{round_.title}', reported {retention.when(round_.reported_at)}, kept "
            f"{due.months} months (due {due.due_on.strftime('%-d %B %Y')}): {verb} {retention.describe(counts)}."
        )
    unset = db.session.scalars(
        sa.select(Partnership.name).where(Partnership.retention_months.is_(None)).order_by(Partnership.name)
    ).all()
    if unset and partnership_id is None:
        click.echo(f"No retention period set (case records kept): {', '.join(unset)}.")
    rounds = f"{len(run.due)} {'round' if len(run.due) == 1 else 'rounds'}"
    if not run.due:
        click.echo("No round is past its retention period. Nothing to remove.")
    elif apply_:
        purged = f"{len(run.purged)} {'round' if len(run.purged) == 1 else 'rounds'}"
        click.echo(f"{purged} purged; {run.files_deleted} file contents deleted from the file store. Figures kept.")
    else:
        click.echo(f"{rounds} past the retention period. Nothing removed.")


COMMANDS = [purge_command]
