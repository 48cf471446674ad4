"""Email through SMTP.

With ``MAIL_SERVER`` unset in development, messages are written to the log
instead, so a fresh ``make run`` works without a mail server; elsewhere only
that a message was not sent is logged (no addresses, no content).
"""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

from flask import current_app


class MailError(RuntimeError):
    """The message could not be handed to the SMTP server."""


def send_email(to: list[str] | str, subject: str, body: str) -> bool:
    """Send one plain-text message to ``to``; raise MailError if SMTP fails.

    Returns False when no mail server is configured (the message is logged).
    """
    recipients = [to] if isinstance(to, str) else list(to)
    config = current_app.config
    message = EmailMessage()
    message["From"] = config["MAIL_DEFAULT_SENDER"]
    message["To"] = ", ".join(recipients)
    message["Subject"] = subject
    message.set_content(body)
    if not config.get("MAIL_SERVER"):
        if config["ENV_NAME"] == "development":  # to follow an invitation's link without a mail server
            current_app.logger.info("MAIL_SERVER unset; email not sent:\n%s", message)
        else:  # never people's addresses or a message's content in a server's logs
            current_app.logger.warning("MAIL_SERVER unset; an email to %d recipient(s) was not sent", len(recipients))
        return False
    try:
        with smtplib.SMTP(config["MAIL_SERVER"], config["MAIL_PORT"], timeout=config["MAIL_TIMEOUT"]) as smtp:
            if config.get("MAIL_USE_TLS"):
                smtp.starttls()
            if config.get("MAIL_USERNAME"):
                smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        current_app.logger.warning("email to %d recipient(s) failed: %s", len(recipients), type(exc).__name__)
        raise MailError(str(exc)) from exc
    return True
