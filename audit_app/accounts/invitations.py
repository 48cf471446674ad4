"""Emailing set-password links (invitations and resets)."""

from __future__ import annotations

from flask import current_app, url_for

from ..core.mail import MailError, send_email
from . import services
from .models import Partnership, User


def send_invitation(user: User, partnership: Partnership) -> dict[str, object]:
    """Email ``user`` a single-use link to set their password.

    Returns ``{"sent": True, "link": None}``, or ``{"sent": False, "link": ...}`` when the
    email could not go (SMTP failed, or MAIL_SERVER is not configured) so that
    the admin can pass the link on by hand: nothing is lost.
    """
    link = url_for("accounts.set_password", token=services.make_password_token(user), _external=True)
    body = (
        f"Hello {user.name},\n\n"
        f"You have been given access to {current_app.config['SERVICE_NAME']} for {partnership.name}.\n"
        f"Choose your password here (the link works once, for 7 days):\n\n{link}\n\n"
        "If you were not expecting this, you can ignore this email.\n"
    )
    try:
        sent = send_email(user.email, f"Your access to {partnership.name} audits", body)
    except MailError:
        sent = False
    return {"sent": True, "link": None} if sent else {"sent": False, "link": link}
