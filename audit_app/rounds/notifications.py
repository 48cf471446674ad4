"""Emails about returns: the round has opened, reminders before and after the due date, chasing.

Sent by a job after the change they describe is committed (``core.jobs``): opening a round to 100
agencies sends nothing inside the request, and a mail failure never undoes the change. Each email's
outcome is kept (``AgencyEmail``) for the round's page to report.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from flask import current_app, url_for

from ..accounts.models import Membership, Role, User
from ..core import clock, jobs
from ..core.mail import MailError, send_email
from ..extensions import db
from .models import AgencyEmail, EmailKind, EmailOutcome, Return, ReturnGroup, ReturnStatus, Round, RoundStatus

OUTSTANDING = ReturnStatus.in_group(ReturnGroup.OUTSTANDING)

SUBJECTS = {
    EmailKind.OPENED: "Audit returns to complete: {title}",
    EmailKind.CHASE: "Reminder: audit returns outstanding for {title}",
    EmailKind.REMINDER: "Reminder: audit returns outstanding for {title}",
}


def agency_recipients(partnership_ids: list[int], agency_id: int) -> list[str]:
    """Emails of the active auditors and agency leads of an agency in any of the partnerships (a round shared
    by several reaches an agency's people in whichever partnership they were given their role)."""
    return sorted(
        set(
            db.session.scalars(
                sa.select(User.email)
                .join(Membership, Membership.user_id == User.id)
                .where(
                    Membership.partnership_id.in_(partnership_ids),
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


def _opening(kind: EmailKind, round_: Round) -> str:
    if kind == EmailKind.OPENED:
        return (
            f"The {current_app.config['SERVICE_NAME']} round '{round_.title}' is open and has returns for your agency."
        )
    return "This is a reminder that your agency still has returns to submit."


def send_round_emails(round_id: int, kind: str, agency_ids: list[int] | None = None, base_url: str = "") -> str:
    """Email each agency with returns outstanding in the round (or only ``agency_ids``); record each outcome.

    A job (see :func:`queue_round_emails`), also called directly by the daily reminders. Returns the batch id.
    """
    email_kind = EmailKind(kind)
    base = base_url or current_app.config.get("BASE_URL") or "http://localhost"
    with current_app.test_request_context(base_url=base):
        round_ = db.session.get(Round, round_id)
        batch = uuid.uuid4().hex
        link = url_for("rounds.return_list", _external=True)
        due = f" They are due by {round_.due_on.strftime('%-d %B %Y')}." if round_.due_on else ""
        subject = SUBJECTS[email_kind].format(title=round_.title)
        for returns in _outstanding_by_agency(round_, set(agency_ids) if agency_ids else None).values():
            agency = returns[0].agency
            recipients = agency_recipients([p.id for p in round_.partnerships], agency.id)
            outcome = EmailOutcome.NOBODY
            if recipients:
                body = (
                    f"{_opening(email_kind, round_)}\n\n"
                    f"Round: {round_.title}\n"
                    f"{agency.name} has {len(returns)} return(s) to complete.{due}\n\n"
                    f"Your returns: {link}\n"
                )
                try:
                    outcome = (
                        EmailOutcome.SENT if send_email(recipients, subject, body) else EmailOutcome.NOT_CONFIGURED
                    )
                except MailError:
                    outcome = EmailOutcome.FAILED
            db.session.add(
                AgencyEmail(
                    round_id=round_.id,
                    agency_id=agency.id,
                    batch=batch,
                    kind=email_kind,
                    outcome=outcome,
                    recipients=len(recipients),
                    returns=len(returns),
                )
            )
        db.session.commit()
    return batch


def queue_round_emails(round_: Round, kind: EmailKind, agency_ids: set[int] | None = None) -> int:
    """Send the round's emails once the current change commits; how many agencies will be written to."""
    from flask import has_request_context, request

    count = len(_outstanding_by_agency(round_, agency_ids))
    if count:
        base_url = request.host_url if has_request_context() else ""
        jobs.enqueue(send_round_emails, round_.id, kind.value, sorted(agency_ids) if agency_ids else None, base_url)
    return count


def concern_recipients(partnership_id: int) -> list[str]:
    """Emails of the active QA group members and admins of a partnership."""
    return sorted(
        set(
            db.session.scalars(
                sa.select(User.email)
                .join(Membership, Membership.user_id == User.id)
                .where(
                    Membership.partnership_id == partnership_id,
                    Membership.role.in_([Role.QA_MEMBER, Role.ADMIN]),
                    User.is_active.is_(True),
                )
            )
        )
    )


def send_concern_email(return_id: int, base_url: str = "") -> bool:
    """Tell the QA group and admins that a return raised an immediate safeguarding concern (a job).

    Names the round, the case and the agency and links to the return; never quotes an answer.
    Returns whether the email went out."""
    base = base_url or current_app.config.get("BASE_URL") or "http://localhost"
    with current_app.test_request_context(base_url=base):
        ret = db.session.get(Return, return_id)
        if ret is None or ret.concern_raised_at is None:
            return False  # answered away before the job ran: nothing to tell
        round_ = ret.round
        recipients = concern_recipients(round_.partnership_id)
        if not recipients:
            current_app.logger.warning("concern raised on return %s: nobody in the QA group or admins", ret.id)
            return False
        case = f"Case: {ret.round_case.case.reference}\n" if ret.round_case is not None else ""
        body = (
            f"An agency auditor has recorded that an immediate safeguarding concern was identified "
            f"while auditing a case.\n\n"
            f"Round: {round_.title}\n{case}Agency: {ret.agency.name}\n\n"
            f"The agency has been asked to act on it at once through its own safeguarding procedures. "
            f"Read the return to see what was done: {url_for('rounds.return_detail', return_id=ret.id, _external=True)}\n"
        )
        try:
            sent = send_email(recipients, f"Immediate safeguarding concern raised: {round_.title}", body)
        except MailError:
            current_app.logger.warning("concern email for return %s failed", ret.id)
            return False
        current_app.logger.info("concern email for return %s sent to %d recipient(s)", ret.id, len(recipients))
        return sent


def queue_concern_email(ret: Return) -> None:
    """Send the concern email once the current change commits."""
    from flask import has_request_context, request

    jobs.enqueue(send_concern_email, ret.id, request.host_url if has_request_context() else "")


@dataclass(frozen=True)
class EmailReport:
    """The latest sending of a round's emails, as its page reports it."""

    kind: EmailKind
    sent: list[str]
    failed: list[str]


def latest_emails(round_: Round, agency_ids: set[int] | None = None) -> EmailReport | None:
    """Who the round's latest sending reached, and who it could not (of ``agency_ids`` only, if given: a
    shared round's partnership reads of its own agencies)."""
    batch = db.session.scalar(
        sa.select(AgencyEmail.batch).where(AgencyEmail.round_id == round_.id).order_by(AgencyEmail.id.desc()).limit(1)
    )
    if batch is None:
        return None
    emails = db.session.scalars(sa.select(AgencyEmail).where(AgencyEmail.batch == batch).order_by(AgencyEmail.id)).all()
    if agency_ids is not None:
        emails = [e for e in emails if e.agency_id in agency_ids]
        if not emails:
            return None
    return EmailReport(
        kind=emails[0].kind,
        sent=[e.agency.name for e in emails if e.outcome == EmailOutcome.SENT],
        failed=[e.agency_text for e in emails if e.outcome != EmailOutcome.SENT],
    )


def _reminded_on(round_id: int, day: date) -> set[int]:
    """The agencies of a round whose automatic reminder went (or had nobody to go to) on ``day``, in England."""
    start = datetime.combine(day, time.min, tzinfo=clock.LONDON)
    end = datetime.combine(day + timedelta(days=1), time.min, tzinfo=clock.LONDON)
    return set(
        db.session.scalars(
            sa.select(AgencyEmail.agency_id).where(
                AgencyEmail.round_id == round_id,
                AgencyEmail.kind == EmailKind.REMINDER,
                AgencyEmail.outcome != EmailOutcome.FAILED,
                AgencyEmail.sent_at >= start,
                AgencyEmail.sent_at < end,
            )
        )
    )


def send_due_reminders(today: date) -> list[tuple[str, list[str]]]:
    """The automatic reminders: run once a day (``flask reminders send``).

    An open round reminds its agencies ``remind_days_before`` days before its
    due date and ``remind_days_after`` days after it.
    """
    results = []
    rounds = db.session.scalars(sa.select(Round).where(Round.status == RoundStatus.OPEN, Round.due_on.is_not(None)))
    for round_ in list(rounds):
        due = round_.due_on
        before = round_.remind_days_before and today == due - timedelta(days=round_.remind_days_before)
        after = round_.remind_days_after and today == due + timedelta(days=round_.remind_days_after)
        if before or after:
            # run twice on a day (or two copies at once after a restart): an agency reminded today is not
            # reminded again; one whose email failed is tried again
            done = _reminded_on(round_.id, today)
            remaining = set(_outstanding_by_agency(round_)) - done
            if not remaining:
                continue
            batch = send_round_emails(round_.id, EmailKind.REMINDER.value, sorted(remaining) if done else None)
            sent = db.session.scalars(
                sa.select(AgencyEmail)
                .where(AgencyEmail.batch == batch, AgencyEmail.outcome == EmailOutcome.SENT)
                .order_by(AgencyEmail.id)
            ).all()
            results.append((round_.title, [e.agency.name for e in sent]))
    return results


# -- hand-offs: one email to the people the return now waits for --

#: the hand-offs that email someone: status reached -> (who, subject)
HANDOFFS = {
    ReturnStatus.READY_FOR_SIGN_OFF: "Ready for your sign-off: {what}",
    ReturnStatus.SUBMITTED: "Submitted for review: {what}",
    ReturnStatus.CHANGES_REQUESTED: "Changes requested: {what}",
}


def _emails_of(partnership_ids: list[int], role: Role, agency_id: int | None = None) -> list[str]:
    query = (
        sa.select(User.email)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.partnership_id.in_(partnership_ids), Membership.role == role, User.is_active.is_(True))
    )
    if agency_id is not None:
        query = query.where(Membership.agency_id == agency_id)
    return sorted(set(db.session.scalars(query)))


def handoff_recipients(ret: Return, status: ReturnStatus) -> list[str]:
    """Who a return now waits for: its agency's leads (ready for sign-off), the QA group of the partnership that
    planned the round (submitted), or the auditor it is assigned to, else its agency's auditors (changes
    requested)."""
    if status == ReturnStatus.READY_FOR_SIGN_OFF:
        return _emails_of([ret.round.partnership_id], Role.AGENCY_LEAD, ret.agency_id)
    if status == ReturnStatus.SUBMITTED:
        return _emails_of([ret.round.partnership_id], Role.QA_MEMBER)
    if status == ReturnStatus.CHANGES_REQUESTED:
        if ret.assigned_to is not None and ret.assigned_to.is_active:
            return [ret.assigned_to.email]
        return _emails_of([ret.round.partnership_id], Role.AUDITOR, ret.agency_id)
    return []


def send_handoff_email(return_id: int, status: str, base_url: str = "") -> str:
    """Email the people a return now waits for, with a link to it (a job, queued by the status change).

    Returns what became of it: sent, nobody, not_configured or failed (also logged).
    """
    import logging

    base = base_url or current_app.config.get("BASE_URL") or "http://localhost"
    with current_app.test_request_context(base_url=base):
        ret = db.session.get(Return, return_id)
        reached = ReturnStatus(status)
        if ret is None or ret.status != reached:
            return "moved_on"  # it moved again before the email went: the newer change sends its own
        recipients = handoff_recipients(ret, reached)
        what = (f"case {ret.round_case.case.reference}, " if ret.round_case else "") + f"{ret.agency.name}"
        subject = HANDOFFS[reached].format(what=f"{ret.round.title} ({what})")
        outcome = EmailOutcome.NOBODY
        if recipients:
            link = url_for("rounds.return_answers", return_id=ret.id, _external=True)
            lines = {
                ReturnStatus.READY_FOR_SIGN_OFF: "An auditor has completed this return. Check the answers and sign it off.",
                ReturnStatus.SUBMITTED: "This return has been submitted. Review it: accept it or request changes.",
                ReturnStatus.CHANGES_REQUESTED: f"The QA group has asked for changes to this return:\n\n{ret.note}",
            }
            body = (
                f"{lines[reached]}\n\nRound: {ret.round.title}\nAgency: {ret.agency.name}\n"
                + (f"Case: {ret.round_case.case.reference}\n" if ret.round_case else "")
                + f"\nThe return: {link}\n"
            )
            try:
                outcome = EmailOutcome.SENT if send_email(recipients, subject, body) else EmailOutcome.NOT_CONFIGURED
            except MailError:
                outcome = EmailOutcome.FAILED
        logging.getLogger(__name__).info(
            "hand-off email for return %s (%s): %s to %d", ret.id, reached.value, outcome.value, len(recipients)
        )
        return outcome.value


def queue_handoff_email(ret: Return, status: ReturnStatus) -> None:
    """Email the people the return now waits for once the current change commits (for the hand-offs in
    ``HANDOFFS``; other moves send nothing)."""
    from flask import has_request_context, request

    if status in HANDOFFS:
        base_url = request.host_url if has_request_context() else ""
        jobs.enqueue(send_handoff_email, ret.id, status.value, base_url)
