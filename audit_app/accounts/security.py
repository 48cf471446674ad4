"""Account security: sign-in lockout, two-factor sign-in (TOTP and recovery codes) and server-side sessions.

Services flush; views commit (except :func:`touch_session`, which runs before any view, as the API's token
"last used" does).

- **Lockout** counts consecutive failed sign-ins (wrong password, wrong second-factor code) per email address,
  kept as a keyed hash whether or not an account has the address, so an unknown address locks and answers
  exactly as a real one does: the sign-in page never tells which addresses have accounts.
- **Two-factor sign-in** is TOTP (RFC 6238, 30-second steps, 6 digits; pyotp) with one step of clock drift
  either way; a code's time-step is remembered, so no code is accepted twice. Ten single-use recovery codes
  are shown once and stored as sha256 hashes.
- **Sessions**: each sign-in gets a row; the cookie holds a random key whose hash the row keeps. A cookie works
  while its row is not ended, the user's ``session_version`` is the one it started with, and it has not been
  idle for SESSION_IDLE_MINUTES.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta

import pyotp
import segno
import sqlalchemy as sa
from flask import current_app

from ..core import clock
from ..core.audit import AuditAction, record_event
from ..core.errors import DomainError, NotAllowedError
from ..core.roles import Role
from ..extensions import db
from .models import RecoveryCode, SignInFailure, User, UserSession
from .services import check_password, normalise_email

#: what a locked address is told, whether or not it has an account
LOCKED_MESSAGE = (
    "This account is locked because of too many failed sign-ins. Ask an administrator of your partnership to unlock it."
)
#: roles that a partnership's "require two-factor sign-in" setting applies to
TWO_FACTOR_ROLES = frozenset({Role.ADMIN, Role.QA_MEMBER})
RECOVERY_CODE_COUNT = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read aloud or typed from paper
TOTP_STEP_SECONDS = 30
#: how long the second step of a sign-in may wait after the password
PENDING_SIGN_IN_SECONDS = 600
#: a session's last_active_at is written at most this often
TOUCH_EVERY = timedelta(minutes=1)


# -- lockout --


def _email_key(email: str) -> str:
    secret = current_app.config["SECRET_KEY"].encode()
    return hmac.new(secret, b"sign-in:" + normalise_email(email).encode(), hashlib.sha256).hexdigest()


def _failure_row(email: str) -> SignInFailure | None:
    return db.session.scalar(sa.select(SignInFailure).where(SignInFailure.email_key == _email_key(email)))


def lockout_attempts() -> int:
    return current_app.config["SIGN_IN_LOCKOUT_ATTEMPTS"]


def is_locked(email: str) -> bool:
    """Whether sign-in with this address is locked (it need not have an account)."""
    row = _failure_row(email)
    return row is not None and row.locked_at is not None


def record_failure(email: str) -> bool:
    """Count a failed sign-in with this address; True when the address is (now) locked."""
    now = clock.now()
    key = _email_key(email)
    updated = db.session.execute(
        sa.update(SignInFailure)
        .where(SignInFailure.email_key == key)
        .values(failed_count=SignInFailure.failed_count + 1, last_failed_at=now)
    ).rowcount
    if not updated:
        try:
            with db.session.begin_nested():
                db.session.add(SignInFailure(email_key=key, failed_count=1, last_failed_at=now))
        except sa.exc.IntegrityError:  # another request counted the first failure meanwhile
            db.session.execute(
                sa.update(SignInFailure)
                .where(SignInFailure.email_key == key)
                .values(failed_count=SignInFailure.failed_count + 1, last_failed_at=now)
            )
    db.session.execute(
        sa.update(SignInFailure)
        .where(
            SignInFailure.email_key == key,
            SignInFailure.locked_at.is_(None),
            SignInFailure.failed_count >= lockout_attempts(),
        )
        .values(locked_at=now)
    )
    db.session.expire_all()
    locked = is_locked(email)
    if locked:
        current_app.logger.warning("sign-in locked after %s failures (address key %s)", lockout_attempts(), key[:12])
    return locked


def clear_failures(email: str) -> None:
    """A successful sign-in: the count starts again."""
    db.session.execute(sa.delete(SignInFailure).where(SignInFailure.email_key == _email_key(email)))


def locked_emails(emails: list[str]) -> set[str]:
    """Which of these addresses are locked (for a page of users)."""
    keys = {_email_key(email): email for email in emails}
    locked = db.session.scalars(
        sa.select(SignInFailure.email_key).where(
            SignInFailure.email_key.in_(list(keys)), SignInFailure.locked_at.is_not(None)
        )
    )
    return {keys[key] for key in locked}


def unlock_user(user: User, *, partnership_id: int) -> None:
    """An admin unlocks a locked account; recorded in the partnership's audit trail."""
    row = _failure_row(user.email)
    if row is None or row.locked_at is None:
        raise NotAllowedError("This account is not locked")
    db.session.delete(row)
    db.session.flush()
    record_event("User", user.id, AuditAction.UPDATE, partnership_id=partnership_id, after={"sign_in": "unlocked"})


# -- two-factor sign-in: TOTP --


def two_factor_required(user: User) -> bool:
    """An admin or QA member of a partnership that requires two-factor sign-in."""
    return any(m.role in TWO_FACTOR_ROLES and m.partnership.require_two_factor for m in user.memberships)


def start_enrolment(user: User) -> None:
    """A new secret, not yet confirmed (two-factor sign-in stays off until a code from it is entered)."""
    if user.has_two_factor:
        raise NotAllowedError("Two-factor sign-in is already on")
    user.totp_secret = pyotp.random_base32()
    user.totp_last_step = None
    db.session.flush()


def provisioning_uri(user: User) -> str:
    """The otpauth:// address an authenticator app reads from the QR code."""
    return pyotp.TOTP(user.totp_secret).provisioning_uri(
        name=user.email, issuer_name=current_app.config["SERVICE_NAME"]
    )


def qr_code_data_uri(user: User) -> str:
    """The QR code of :func:`provisioning_uri` as an inline SVG data URI (drawn here: nothing from the network)."""
    return segno.make(provisioning_uri(user), error="m").svg_data_uri(scale=5, border=4)


def grouped_secret(user: User) -> str:
    """The secret in groups of four, for typing into an app by hand."""
    secret = user.totp_secret or ""
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def _clean_code(code: str | None) -> str:
    return re.sub(r"[\s-]", "", code or "").lower()


def looks_like_totp(code: str | None) -> bool:
    return bool(re.fullmatch(r"\d{6}", _clean_code(code)))


def _matching_step(secret: str, code: str, at: datetime) -> int | None:
    """The time-step (this one, or one either side for clock drift) whose code ``code`` is."""
    totp = pyotp.TOTP(secret)
    step = int(at.timestamp()) // TOTP_STEP_SECONDS
    for candidate in (step, step - 1, step + 1):
        if hmac.compare_digest(totp.at(candidate * TOTP_STEP_SECONDS), code):
            return candidate
    return None


def verify_totp(user: User, code: str | None) -> bool:
    """Whether ``code`` is a current code of the user's secret not used before; remembers its time-step."""
    code = _clean_code(code)
    if not user.totp_secret or not re.fullmatch(r"\d{6}", code):
        return False
    step = _matching_step(user.totp_secret, code, clock.now())
    if step is None or (user.totp_last_step is not None and step <= user.totp_last_step):
        return False
    user.totp_last_step = step
    db.session.flush()
    return True


def confirm_enrolment(user: User, code: str | None, *, keep_session_id: int | None = None) -> list[str]:
    """Turn two-factor sign-in on with a code from the new secret; the recovery codes, to show once.

    The user's other sessions end: whoever else was signed in did not pass the new second factor."""
    if user.has_two_factor:
        raise NotAllowedError("Two-factor sign-in is already on")
    if not user.totp_secret:
        raise NotAllowedError("Start setting up two-factor sign-in again")
    if not _clean_code(code):
        raise DomainError("Enter the 6-digit code from your authenticator app", field="code")
    if not verify_totp(user, code):
        raise DomainError(
            "The code is not right: enter the 6-digit code your app shows now, for this service", field="code"
        )
    user.totp_enabled_at = clock.now()
    codes = regenerate_recovery_codes(user)
    end_other_sessions(user, keep_session_id)
    return codes


# -- recovery codes --


def _code_hash(code: str) -> str:
    return hashlib.sha256(_clean_code(code).encode()).hexdigest()


def regenerate_recovery_codes(user: User) -> list[str]:
    """Ten new single-use codes (the old ones stop working); only their hashes are kept."""
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))
        codes.append(f"{raw[:5]}-{raw[5:]}")
    db.session.add_all(RecoveryCode(user_id=user.id, code_hash=_code_hash(code)) for code in codes)
    db.session.flush()
    return codes


def use_recovery_code(user: User, code: str | None) -> bool:
    """Whether ``code`` is one of the user's unused recovery codes; it is used up."""
    if not _clean_code(code):
        return False
    used = db.session.execute(
        sa.update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id, RecoveryCode.code_hash == _code_hash(code), RecoveryCode.used_at.is_(None)
        )
        .values(used_at=clock.now())
    ).rowcount
    return bool(used)


def recovery_codes_left(user: User) -> int:
    return db.session.scalar(
        sa.select(sa.func.count()).where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    )


def check_second_factor(user: User, code: str | None) -> str | None:
    """Which second factor ``code`` is ("app" or "recovery"), used up; None if it is neither."""
    if looks_like_totp(code):
        return "app" if verify_totp(user, code) else None
    return "recovery" if use_recovery_code(user, code) else None


def confirm_identity(user: User, answer: str | None) -> None:
    """Before turning two-factor sign-in off or making new recovery codes: the password, or a current code."""
    if not (answer or "").strip():
        raise DomainError("Enter your password or a code from your authenticator app", field="answer")
    ok = verify_totp(user, answer) if looks_like_totp(answer) else check_password(user, answer)
    if not ok:
        raise DomainError("That is not your password, or a current code from your authenticator app", field="answer")


def disable_two_factor(user: User, answer: str | None, *, keep_session_id: int | None = None) -> None:
    """Turn two-factor sign-in off (refused while a partnership requires it)."""
    if not user.has_two_factor:
        raise NotAllowedError("Two-factor sign-in is already off")
    if two_factor_required(user):
        raise NotAllowedError(
            "You cannot turn two-factor sign-in off: a partnership you work in requires it for your role"
        )
    confirm_identity(user, answer)
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    end_other_sessions(user, keep_session_id)
    db.session.flush()


def reset_two_factor(user: User, *, partnership_id: int) -> None:
    """An admin turns off the two-factor sign-in of someone who lost their phone and recovery codes.

    Every session of theirs ends; where it is required, they are asked to set it up again after their password."""
    if not user.has_two_factor:
        raise NotAllowedError("Two-factor sign-in is already off for this account")
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    user.audit_partnership_id = partnership_id
    db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    user.end_sessions()
    db.session.flush()


# -- sessions --


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


_BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"), ("Safari/", "Safari"))
_SYSTEMS = (
    ("Windows", "Windows"),
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Android", "Android"),
    ("CrOS", "ChromeOS"),
    ("Mac OS X", "macOS"),
    ("Linux", "Linux"),
)


def describe_browser(user_agent: str | None) -> str:
    """A short description of a browser, such as "Firefox on Windows" ("Unknown browser" if it says nothing)."""
    agent = user_agent or ""
    browser = next((name for marker, name in _BROWSERS if marker in agent), None)
    system = next((name for marker, name in _SYSTEMS if marker in agent), None)
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or "Unknown browser"


def _idle_limit() -> datetime:
    return clock.now() - timedelta(minutes=current_app.config["SESSION_IDLE_MINUTES"])


def _live(user: User) -> list[sa.ColumnElement[bool]]:
    return [
        UserSession.user_id == user.id,
        UserSession.ended_at.is_(None),
        UserSession.session_version == user.session_version,
        UserSession.last_active_at > _idle_limit(),
    ]


def start_session(user: User, *, ip_address: str | None, user_agent: str | None) -> str:
    """Record a new signed-in session; the key for the cookie (only its hash is kept).

    The user's dead sessions (ended, idle or from an older session_version) are deleted here, so the table
    holds about one row per live session."""
    db.session.execute(
        sa.delete(UserSession).where(
            UserSession.user_id == user.id,
            sa.or_(
                UserSession.ended_at.is_not(None),
                UserSession.session_version != user.session_version,
                UserSession.last_active_at <= _idle_limit(),
            ),
        )
    )
    key = secrets.token_urlsafe(32)
    db.session.add(
        UserSession(
            user_id=user.id,
            key_hash=_key_hash(key),
            session_version=user.session_version,
            ip_address=(ip_address or "")[:45],
            browser=describe_browser(user_agent)[:100],
        )
    )
    db.session.flush()
    return key


def session_for_key(user: User, key: str | None) -> UserSession | None:
    """The user's live session with this cookie key, or None."""
    if not key or not isinstance(key, str) or len(key) > 100:
        return None
    return db.session.scalar(sa.select(UserSession).where(UserSession.key_hash == _key_hash(key), *_live(user)))


def touch_session(row: UserSession) -> None:
    """Note the session was used (at most once a minute), committed at once like an API token's last use."""
    now = clock.now()
    if now - row.last_active_at >= TOUCH_EVERY:
        db.session.execute(sa.update(UserSession).where(UserSession.id == row.id).values(last_active_at=now))
        db.session.commit()


def live_sessions_query(user: User) -> sa.Select:
    """The user's sessions that still work, most recently active first."""
    return sa.select(UserSession).where(*_live(user)).order_by(UserSession.last_active_at.desc(), UserSession.id)


def live_sessions(user: User) -> list[UserSession]:
    return list(db.session.scalars(live_sessions_query(user)))


def get_live_session(user: User, session_id: int) -> UserSession | None:
    return db.session.scalar(sa.select(UserSession).where(UserSession.id == session_id, *_live(user)))


def end_session(row: UserSession) -> None:
    """The session's cookie stops working at its next request."""
    row.ended_at = clock.now()
    db.session.flush()


def end_other_sessions(user: User, keep_session_id: int | None) -> int:
    """End every live session of the user but one (none, for None); how many ended."""
    ended = db.session.execute(
        sa.update(UserSession)
        .where(*_live(user), UserSession.id != (keep_session_id or 0))
        .values(ended_at=clock.now())
    ).rowcount
    db.session.flush()
    return ended
