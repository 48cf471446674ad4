"""Emails about the statutory clocks, sent by the daily reminders (`flask reminders send`), to the
partnership's QA group and admins:

- when a running clock is due within ``REMIND_WORKING_DAYS`` working days;
- when it becomes overdue.

Each is sent once per clock and due date (recorded in ``ReviewReminder`` in the same transaction as it is sent,
and checked first): running the reminders daily sends no repeats. A pause that moves the due date makes a new
due date, reminded about again. A paused clock is not reminded about. A failed email is not recorded, so the
next run tries again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from ..accounts.models import Membership, Partnership, User
from ..core.mail import MailError, send_email
from ..core.reminders import register_daily_sender
from ..core.roles import Role
from ..extensions import db
from .clocks import Clock, ClockState, review_clocks
from .models import LearningReview, ReviewReminder, ReviewStatus

log = logging.getLogger(__name__)

DUE_SOON = "due_soon"
OVERDUE = "overdue"
#: a clock due within this many working days is reminded about
REMIND_WORKING_DAYS = 3


def _day(value: date) -> str:
    return value.strftime("%-d %B %Y")


def review_link(review_id: int) -> str:
    base = (current_app.config.get("BASE_URL") or "http://localhost").rstrip("/")
    return f"{base}/reviews/{review_id}"


def manager_emails(partnership_id: int) -> list[str]:
    """The active QA members and admins of the partnership."""
    return sorted(
        set(
            db.session.scalars(
                sa.select(User.email)
                .join(Membership, Membership.user_id == User.id)
                .where(
                    Membership.partnership_id == partnership_id,
                    Membership.role.in_((Role.QA_MEMBER, Role.ADMIN)),
                    User.is_active.is_(True),
                )
            )
        )
    )


def reminder_kind(c: Clock) -> str | None:
    """What to remind about for a clock today: overdue, due soon, or nothing."""
    if c.state == ClockState.OVERDUE:
        return OVERDUE
    left = c.working_days_left
    if c.state in (ClockState.DUE_SOON, ClockState.RUNNING) and left is not None and 0 <= left <= REMIND_WORKING_DAYS:
        return DUE_SOON
    return None


def reminder_email(review: LearningReview, c: Clock, kind: str) -> tuple[str, str]:
    moved = f" (first due {_day(c.base_due_on)}; pauses moved it)" if c.base_due_on != c.due_on else ""
    if kind == OVERDUE:
        left = -(c.working_days_left or 0)
        subject = f"Overdue: {c.label} clock of {review.title}"
        opening = (
            f"The {c.label} clock of {review.title} was due on {_day(c.due_on)}{moved} and is "
            f"{left} working day{'s' if left != 1 else ''} overdue."
        )
    else:
        left = c.working_days_left or 0
        when = "today" if left == 0 else f"in {left} working day{'s' if left != 1 else ''}"
        subject = f"Due {_day(c.due_on)}: {c.label} clock of {review.title}"
        opening = f"The {c.label} clock of {review.title} is due {when}, on {_day(c.due_on)}{moved}."
    body = (
        f"{opening}\n\n"
        f"Clock: {c.label}, started {_day(c.starts_on)}\n"
        f"Review: {review.title}\n\n"
        f"Record the date it was met on the review's page, or pause the clock there with the reason: "
        f"{review_link(review.id)}\n\n"
        f"You get this because you are in the partnership's quality assurance group or an admin. Each clock is "
        f"reminded about once when it is due soon and once when it becomes overdue.\n"
    )
    return subject, body


def _claim(review: LearningReview, c: Clock, kind: str, today: date, recipients: int) -> bool:
    taken = db.session.scalar(
        sa.select(ReviewReminder.id).where(
            ReviewReminder.review_id == review.id,
            ReviewReminder.clock == c.kind.value,
            ReviewReminder.kind == kind,
            ReviewReminder.due_on == c.due_on,
        )
    )
    if taken is not None:
        return False
    try:
        with db.session.begin_nested():
            db.session.add(
                ReviewReminder(
                    review_id=review.id,
                    clock=c.kind.value,
                    kind=kind,
                    due_on=c.due_on,
                    sent_on=today,
                    recipients=recipients,
                )
            )
    except IntegrityError:
        return False
    return True


@dataclass
class Sent:
    due_soon: int = 0
    overdue: int = 0
    failed: int = 0
    nobody: int = 0


def send_partnership_review_reminders(partnership: Partnership, today: date) -> Sent:
    sent = Sent()
    reviews = db.session.scalars(
        sa.select(LearningReview)
        .where(LearningReview.partnership_id == partnership.id, LearningReview.status == ReviewStatus.IN_PROGRESS)
        .options(selectinload(LearningReview.pauses))
        .order_by(LearningReview.id)
    ).all()
    to: list[str] | None = None
    for review in reviews:
        for c in review_clocks(review, today):
            kind = reminder_kind(c)
            if kind is None:
                continue
            if to is None:
                to = manager_emails(partnership.id)
            if not to:
                sent.nobody += 1
                continue
            if not _claim(review, c, kind, today, len(to)):
                continue
            subject, body = reminder_email(review, c, kind)
            try:
                send_email(to, subject, body)
            except MailError:
                db.session.rollback()
                log.warning("%s reminder for review %s clock %s could not be sent", kind, review.id, c.kind)
                sent.failed += 1
                continue
            db.session.commit()
            setattr(sent, kind, getattr(sent, kind) + 1)
    return sent


def send_review_reminders(today: date) -> list[str]:
    """The day's clock reminders for every partnership with reviews in progress; the lines to print."""
    ids = db.session.scalars(
        sa.select(LearningReview.partnership_id).where(LearningReview.status == ReviewStatus.IN_PROGRESS).distinct()
    ).all()
    lines = []
    for partnership in db.session.scalars(
        sa.select(Partnership).where(Partnership.id.in_(ids)).order_by(Partnership.name)
    ).all():
        sent = send_partnership_review_reminders(partnership, today)
        name = f"{partnership.name} review register"
        if sent.due_soon or sent.overdue:
            lines.append(
                f"{name}: reminded the QA group and admins of {sent.due_soon} clock(s) due soon and "
                f"{sent.overdue} overdue clock(s)"
            )
        if sent.nobody:
            lines.append(f"{name}: nobody to remind about {sent.nobody} clock(s) (no active QA member or admin)")
        if sent.failed:
            lines.append(f"{name}: {sent.failed} email(s) could not be sent; the next run tries again")
    return lines


register_daily_sender(30, send_review_reminders)
