"""Emails about returns: the round has opened, reminders before and after the due date, chasing.

Sent after the change they describe is committed; a mail failure never undoes it.
"""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa
from flask import current_app, url_for

from ..accounts.models import Membership, Role, User
from ..core.mail import MailError, send_email
from ..extensions import db
from .models import Return, ReturnStatus, Round, RoundStatus

OUTSTANDING = (
    ReturnStatus.NOT_STARTED,
    ReturnStatus.IN_PROGRESS,
    ReturnStatus.READY_FOR_SIGN_OFF,
    ReturnStatus.CHANGES_REQUESTED,
)


def agency_recipients(partnership_id: int, agency_id: int) -> list[str]:
    """Emails of the active auditors and agency leads of an agency in a partnership."""
    return sorted(
        set(
            db.session.scalars(
                sa.select(User.email)
                .join(Membership, Membership.user_id == User.id)
                .where(
                    Membership.partnership_id == partnership_id,
                    Membership.agency_id == agency_id,
                    Membership.role.in_([Role.AUDITOR, Role.AGENCY_LEAD]),
                    User.is_active.is_(True),
                )
            )
        )
    )


def _outstanding_by_agency(round_: Round, agency_ids: set[int] | None = None) -> dict[int, list[Return]]:
    query = sa.select(Return).where(Return.round_id == round_.id, Return.status.in_(OUTSTANDING))
    if agency_ids:
        query = query.where(Return.agency_id.in_(agency_ids))
    grouped: dict[int, list[Return]] = {}
    for ret in db.session.scalars(query):
        grouped.setdefault(ret.agency_id, []).append(ret)
    return grouped


def _send_to_agencies(
    round_: Round, grouped: dict[int, list[Return]], subject: str, opening: str
) -> tuple[list[str], list[str]]:
    """Email each agency; (agencies emailed, agencies that could not be)."""
    sent, failed = [], []
    link = url_for("rounds.return_list", _external=True)
    due = f" They are due by {round_.due_on.strftime('%-d %B %Y')}." if round_.due_on else ""
    for returns in grouped.values():
        agency = returns[0].agency
        recipients = agency_recipients(round_.partnership_id, agency.id)
        if not recipients:
            failed.append(f"{agency.name} (nobody with an auditor or agency lead role)")
            continue
        body = (
            f"{opening}\n\n"
            f"Round: {round_.title}\n"
            f"{agency.name} has {len(returns)} return(s) to complete.{due}\n\n"
            f"Your returns: {link}\n"
        )
        try:
            delivered = send_email(recipients, subject, body)
        except MailError:
            failed.append(agency.name)
        else:
            (sent if delivered else failed).append(
                agency.name if delivered else f"{agency.name} (email is not set up on this server)"
            )
    return sent, failed


def notify_round_opened(round_: Round) -> tuple[list[str], list[str]]:
    """Tell every agency with returns in the round that they can start."""
    return _send_to_agencies(
        round_,
        _outstanding_by_agency(round_),
        f"Audit returns to complete: {round_.title}",
        f"The {current_app.config['SERVICE_NAME']} round '{round_.title}' is open and has returns for your agency.",
    )


def chase(round_: Round, agency_ids: set[int] | None = None) -> tuple[list[str], list[str]]:
    """Remind agencies with returns still outstanding."""
    return _send_to_agencies(
        round_,
        _outstanding_by_agency(round_, agency_ids),
        f"Reminder: audit returns outstanding for {round_.title}",
        "This is a reminder that your agency still has returns to submit.",
    )


def send_due_reminders(today: date) -> list[tuple[str, list[str]]]:
    """The automatic reminders: run once a day (``flask reminders send``).

    An open round reminds its agencies ``remind_days_before`` days before its
    due date and ``remind_days_after`` days after it.
    """
    results = []
    rounds = db.session.scalars(sa.select(Round).where(Round.status == RoundStatus.OPEN, Round.due_on.is_not(None)))
    for round_ in rounds:
        due = round_.due_on
        before = round_.remind_days_before and today == due - timedelta(days=round_.remind_days_before)
        after = round_.remind_days_after and today == due + timedelta(days=round_.remind_days_after)
        if before or after:
            sent, _failed = chase(round_)
            results.append((round_.title, sent))
    return results
