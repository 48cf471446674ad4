"""Emails about actions, sent by the daily reminders (`flask reminders send`).

- An action's owner is reminded ``Partnership.action_remind_days_before`` days before its due date, and every
  ``Partnership.action_overdue_every_days`` days while it is overdue (0 turns either off). An owner with an
  account gets the email; for a named person without an account it goes to the leads of the owner agency.
- The QA group gets a weekly digest of its partnership's overdue and red actions (none when there are none).

Each sending is recorded in ``ActionReminder`` (unique by partnership, kind, subject and day) in the same
transaction as it is sent, and the record is checked first: running the reminders twice on a day sends nothing
twice, and "weekly" counts from the last recorded sending. A failed email is not recorded, so the next run
tries again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from ..accounts.models import Membership, Partnership, User
from ..core.mail import MailError, send_email
from ..core.reminders import register_daily_sender
from ..core.roles import Role
from ..extensions import db
from .models import Action, ActionReminder, ActionStatus, Rag
from .services import qa_emails

log = logging.getLogger(__name__)

DUE = "due"
OVERDUE = "overdue"
DIGEST = "digest"
#: the QA group's digest goes at most once in this many days
DIGEST_EVERY_DAYS = 7
FINISHED = (ActionStatus.COMPLETE, ActionStatus.CLOSED)


def _day(value: date) -> str:
    return value.strftime("%-d %B %Y")


def _short(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def action_link(action_id: int) -> str:
    """The action's page, at the address people use (``BASE_URL``)."""
    base = (current_app.config.get("BASE_URL") or "http://localhost").rstrip("/")
    return f"{base}/actions/{action_id}"


def owner_recipients(action: Action) -> list[str]:
    """Who is reminded about an action: its owner, or (a named person without an account, or an owner whose
    account is no longer active) the active leads of the owner agency; nobody if there are none."""
    if action.owner_user is not None and action.owner_user.is_active:
        return [action.owner_user.email]
    if action.owner_agency_id is None:
        return []
    return sorted(
        set(
            db.session.scalars(
                sa.select(User.email)
                .join(Membership, Membership.user_id == User.id)
                .where(
                    Membership.partnership_id == action.partnership_id,
                    Membership.agency_id == action.owner_agency_id,
                    Membership.role == Role.AGENCY_LEAD,
                    User.is_active.is_(True),
                )
            )
        )
    )


def _last_sent(partnership_id: int, kind: str, subject_id: int) -> date | None:
    return db.session.scalar(
        sa.select(sa.func.max(ActionReminder.sent_on)).where(
            ActionReminder.partnership_id == partnership_id,
            ActionReminder.kind == kind,
            ActionReminder.subject_id == subject_id,
        )
    )


def _claim(partnership_id: int, kind: str, subject_id: int, today: date, recipients: int) -> bool:
    """Record a sending for today, unless one is recorded already (then False: it has gone)."""
    taken = db.session.scalar(
        sa.select(ActionReminder.id).where(
            ActionReminder.partnership_id == partnership_id,
            ActionReminder.kind == kind,
            ActionReminder.subject_id == subject_id,
            ActionReminder.sent_on == today,
        )
    )
    if taken is not None:
        return False
    try:
        with db.session.begin_nested():
            db.session.add(
                ActionReminder(
                    partnership_id=partnership_id,
                    kind=kind,
                    subject_id=subject_id,
                    sent_on=today,
                    recipients=recipients,
                )
            )
    except IntegrityError:  # another run recorded it in the meantime
        return False
    return True


def _send_recorded(
    partnership_id: int, kind: str, subject_id: int, today: date, to: list[str], subject: str, body: str
) -> str:
    """Record, send, commit: "sent", "already" (recorded earlier today) or "failed" (not recorded)."""
    if not _claim(partnership_id, kind, subject_id, today, len(to)):
        return "already"
    try:
        send_email(to, subject, body)
    except MailError:
        db.session.rollback()
        log.warning("%s reminder for %s %s could not be sent", kind, partnership_id, subject_id)
        return "failed"
    db.session.commit()
    return "sent"


def _about(action: Action) -> str:
    rec = action.recommendation
    moved = f" (first agreed for {_day(action.original_due_on)})" if action.due_date_moved else ""
    return (
        f"Action: {action.title}\n"
        f"Owner: {action.owner_label}\n"
        f"Recommendation {rec.number} of {rec.source_label}: {_short(rec.text, 300)}\n"
        f"Due: {_day(action.due_on)}{moved}\n"
        f"Status: {action.status.label}. RAG: {action.rag.label} ({action.rag.meaning})\n"
    )


def _greeting(action: Action) -> str:
    if action.owner_user is not None and action.owner_user.is_active:
        return "an action you own"
    agency = action.owner_agency.name if action.owner_agency is not None else "your agency"
    return f"an action owned by {action.owner_person} at {agency} (you are a lead of that agency)"


def due_email(action: Action, today: date) -> tuple[str, str]:
    days = (action.due_on - today).days
    subject = f"Action due on {_day(action.due_on)}: {_short(action.title, 100)}"
    body = (
        f"This is a reminder that {_greeting(action)} in the action plan is due in "
        f"{days} day{'s' if days != 1 else ''}.\n\n{_about(action)}\n"
        f"Post a progress update, or add evidence of its impact, on the action's page: {action_link(action.id)}\n"
    )
    return subject, body


def overdue_email(action: Action, today: date) -> tuple[str, str]:
    days = (today - action.due_on).days
    subject = f"Action overdue: {_short(action.title, 100)}"
    body = (
        f"{_greeting(action)[0].upper()}{_greeting(action)[1:]} in the action plan was due on {_day(action.due_on)} "
        f"and is {days} day{'s' if days != 1 else ''} overdue.\n\n{_about(action)}\n"
        f"Post a progress update on the action's page, and if the date has to move, move it there with the "
        f"reason: {action_link(action.id)}\n"
    )
    return subject, body


def digest_email(partnership: Partnership, actions: list[Action], today: date) -> tuple[str, str]:
    overdue = [a for a in actions if a.is_overdue(today)]
    red = [a for a in actions if a.rag == Rag.RED]
    subject = f"Action plan digest: {len(overdue)} overdue, {len(red)} red ({partnership.name})"
    lines = []
    for action in actions:
        marks = []
        if action.is_overdue(today):
            marks.append(f"overdue since {_day(action.due_on)}")
        else:
            marks.append(f"due {_day(action.due_on)}")
        marks.append(action.rag.label)
        rec = action.recommendation
        lines.append(
            f"- {action.title} ({', '.join(marks)})\n"
            f"  Owner: {action.owner_label}. Recommendation {rec.number} of {rec.source_label}.\n"
            f"  {action_link(action.id)}"
        )
    body = (
        f"The weekly digest for the {partnership.qa_group_name}: the actions of the {partnership.name} action plan "
        f"that are overdue or rated Red on {_day(today)}.\n\n" + "\n".join(lines) + "\n"
    )
    return subject, body


@dataclass
class Sent:
    """What one partnership's run sent."""

    due: int = 0
    overdue: int = 0
    digest: int = 0
    nobody: list[str] = field(default_factory=list)
    failed: int = 0


def _open_actions(partnership_id: int) -> list[Action]:
    return list(
        db.session.scalars(
            sa.select(Action)
            .where(Action.partnership_id == partnership_id, Action.status.not_in(FINISHED))
            .order_by(Action.due_on, Action.id)
        )
    )


def send_partnership_reminders(partnership: Partnership, today: date) -> Sent:
    """One partnership's reminders and digest for ``today``."""
    sent = Sent()
    before, every = partnership.action_remind_days_before, partnership.action_overdue_every_days
    actions = _open_actions(partnership.id)
    for action in actions:
        if before and (action.due_on - today).days == before:
            kind, email = DUE, due_email
        elif every and action.is_overdue(today):
            last = _last_sent(partnership.id, OVERDUE, action.id)
            # within this spell of being overdue (a moved date starts a new one), every ``every`` days
            if last is not None and last > action.due_on and (today - last).days < every:
                continue
            kind, email = OVERDUE, overdue_email
        else:
            continue
        to = owner_recipients(action)
        if not to:
            sent.nobody.append(action.title)
            continue
        subject, body = email(action, today)
        outcome = _send_recorded(partnership.id, kind, action.id, today, to, subject, body)
        if outcome == "sent":
            setattr(sent, kind, getattr(sent, kind) + 1)
        elif outcome == "failed":
            sent.failed += 1
    wanted = [a for a in _open_actions(partnership.id) if a.is_overdue(today) or a.rag == Rag.RED]
    last = _last_sent(partnership.id, DIGEST, partnership.id)
    due_digest = last is None or (today - last).days >= DIGEST_EVERY_DAYS
    qa = qa_emails(partnership.id)
    if wanted and due_digest and qa:
        subject, body = digest_email(partnership, wanted, today)
        outcome = _send_recorded(partnership.id, DIGEST, partnership.id, today, qa, subject, body)
        if outcome == "sent":
            sent.digest = len(wanted)
        elif outcome == "failed":
            sent.failed += 1
    return sent


def send_action_reminders(today: date) -> list[str]:
    """The day's action reminders and digests, for every partnership with open actions; the lines to print."""
    partnership_ids = db.session.scalars(
        sa.select(Action.partnership_id).where(Action.status.not_in(FINISHED)).distinct()
    ).all()
    lines = []
    for partnership in db.session.scalars(
        sa.select(Partnership).where(Partnership.id.in_(partnership_ids)).order_by(Partnership.name)
    ).all():
        sent = send_partnership_reminders(partnership, today)
        name = f"{partnership.name} action plan"
        if sent.due or sent.overdue:
            lines.append(
                f"{name}: reminded owners of {sent.due} action(s) due soon and {sent.overdue} overdue action(s)"
            )
        if sent.digest:
            lines.append(f"{name}: weekly digest of {sent.digest} overdue or red action(s) to the QA group")
        if sent.nobody:
            lines.append(
                f"{name}: nobody to remind about {len(sent.nobody)} action(s) (no owner account or agency lead)"
            )
        if sent.failed:
            lines.append(f"{name}: {sent.failed} email(s) could not be sent; the next run tries again")
    return lines


register_daily_sender(20, send_action_reminders)
