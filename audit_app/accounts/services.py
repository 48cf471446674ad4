"""State changes for partnerships, sectors, agencies, users and tokens.

Services flush and let the audit trail record the change; views commit.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import secrets
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Literal

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from ..core.errors import ConflictError, DomainError, FieldErrors, NotAllowedError
from ..core.models import utcnow
from ..extensions import db
from .models import (
    Agency,
    AgencyName,
    ApiToken,
    Membership,
    Partnership,
    PartnershipAgency,
    Role,
    Sector,
    User,
    name_key,
)

TOKEN_PREFIX = "sat_"  # noqa: S105 (a public marker, not a secret)
PASSWORD_MIN = 12
PASSWORD_MAX = 256

# -- passwords --


class _LowPriorityHasher(PasswordHasher):
    """argon2id with the same parameters, hashed and verified in a thread whose nice value is raised by
    ``nice`` (Linux keeps a nice value per thread, and argon2's own lane threads inherit it). The request waits
    for the answer as before (argon2 releases the GIL meanwhile), so a sign-in takes as long as ever on a quiet
    server; on a busy one, pages are served first and sign-ins take what is left."""

    def __init__(self, *, nice: int, **params: int) -> None:
        super().__init__(**params)
        self._nice = nice

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        return _low_priority_pool(self._nice).submit(super().hash, password, salt=salt).result()

    def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
        return _low_priority_pool(self._nice).submit(super().verify, hash, password).result()


#: (process id, nice) -> the pool of that process (a forked child makes its own: threads do not survive a fork)
_POOLS: dict[tuple[int, int], ThreadPoolExecutor] = {}
_POOLS_LOCK = threading.Lock()
#: hashes at once in one process, as with one request at a time (each holds ARGON2_MEMORY_COST and runs
#: ARGON2_PARALLELISM threads while it works); further sign-ins in the same process wait their turn
HASHING_THREADS = 1


def _low_priority_pool(nice: int) -> ThreadPoolExecutor:
    key = (os.getpid(), nice)
    pool = _POOLS.get(key)
    if pool is None:
        with _POOLS_LOCK:
            pool = _POOLS.get(key)
            if pool is None:
                pool = _POOLS[key] = ThreadPoolExecutor(
                    HASHING_THREADS, thread_name_prefix="argon2", initializer=_lower_priority, initargs=(nice,)
                )
    return pool


def _lower_priority(nice: int) -> None:
    """Raise this thread's nice value (only this thread's: Linux treats the id of a thread as a process id
    here). Lowering priority needs no privilege."""
    os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), os.getpriority(os.PRIO_PROCESS, 0) + nice)


def _hasher() -> PasswordHasher:
    config = current_app.config
    params = {
        "time_cost": config["ARGON2_TIME_COST"],
        "memory_cost": config["ARGON2_MEMORY_COST"],
        "parallelism": config["ARGON2_PARALLELISM"],
    }
    nice = config.get("ARGON2_NICE", 0)
    if nice > 0 and sys.platform == "linux":
        return _LowPriorityHasher(nice=nice, **params)
    return PasswordHasher(**params)


_DUMMY_HASHES: dict[tuple[int, int, int], str] = {}


def dummy_password_hash() -> str:
    """A hash of no one's password with the configured parameters, made once per process: an unknown email
    is verified against it, so it costs what a wrong password costs (one verification, no hashing)."""
    config = current_app.config
    params = (config["ARGON2_TIME_COST"], config["ARGON2_MEMORY_COST"], config["ARGON2_PARALLELISM"])
    if params not in _DUMMY_HASHES:
        _DUMMY_HASHES[params] = _hasher().hash(secrets.token_urlsafe(16))
    return _DUMMY_HASHES[params]


def hash_password(password: str) -> str:
    """An argon2id hash of ``password``."""
    return _hasher().hash(password)


def check_password_rules(password: str) -> None:
    """Refuse passwords that are too short or too long."""
    if len(password) < PASSWORD_MIN:
        raise DomainError(f"Password must be at least {PASSWORD_MIN} characters", field="password")
    if len(password) > PASSWORD_MAX:
        raise DomainError(f"Password must be {PASSWORD_MAX} characters or fewer", field="password")


def set_password(user: User, password: str) -> None:
    """Give ``user`` a new password."""
    check_password_rules(password)
    user.password_hash = hash_password(password)
    user.end_sessions()
    db.session.flush()


def spend_one_verification(password: str) -> None:
    """Verify ``password`` against no one's hash: costs what checking a real one does, so timing tells nothing."""
    with contextlib.suppress(VerificationError):
        _hasher().verify(dummy_password_hash(), password + "x")


def check_password(user: User, password: str) -> bool:
    """Whether ``password`` is the user's password (nothing is changed)."""
    if not user.password_hash:
        spend_one_verification(password)
        return False
    try:
        return _hasher().verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def authenticate(email: str, password: str) -> User | None:
    """The active user with this email and password, or None."""
    user = db.session.scalar(sa.select(User).where(User.email == normalise_email(email)))
    hasher = _hasher()
    if user is None or not user.password_hash:
        # One verification, as for a wrong password, so timing does not reveal which emails exist.
        spend_one_verification(password)
        return None
    try:
        hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return None
    if not user.is_active:
        return None
    if hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    user.last_login_at = utcnow()
    db.session.flush()
    return user


# -- invitations (single use: the token embeds the current password hash) --


def _invite_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="set-password")


def _hash_fingerprint(user: User) -> str:
    return hashlib.sha256((user.password_hash or "").encode()).hexdigest()[:16]


def make_password_token(user: User) -> str:
    """A signed, expiring link token that lets ``user`` set a password once."""
    return _invite_serializer().dumps({"uid": user.id, "h": _hash_fingerprint(user)})


def user_for_password_token(token: str) -> User | None:
    """The user a valid, unused, unexpired token was made for, or None."""
    try:
        data = _invite_serializer().loads(token, max_age=current_app.config["INVITE_MAX_AGE_SECONDS"])
    except (BadSignature, SignatureExpired):
        return None
    if not isinstance(data, dict):
        return None
    user = db.session.get(User, data.get("uid"))
    if user is None or not user.is_active or data.get("h") != _hash_fingerprint(user):
        return None
    return user


# -- partnerships and sectors --

DEFAULT_SECTORS = [
    ("police", "Police"),
    ("health", "Health"),
    ("social_care", "Children's social care"),
    ("education", "Education"),
    ("early_years", "Early years"),
    ("justice", "Probation and youth justice"),
    ("voluntary", "Voluntary and community"),
    ("other", "Other"),
]


def create_partnership(name: str, *, qa_group_name: str | None = None) -> Partnership:
    """A new partnership with the usual sectors and learning themes."""
    name = name.strip()
    if db.session.scalar(sa.select(Partnership).where(sa.func.lower(Partnership.name) == name.lower())):
        raise ConflictError("A partnership with this name already exists", field="name")
    partnership = Partnership(name=name, qa_group_name=qa_group_name or "Quality assurance group")
    db.session.add(partnership)
    db.session.flush()
    for key, label in DEFAULT_SECTORS:
        db.session.add(Sector(partnership_id=partnership.id, key=key, name=label))
    db.session.flush()
    from ..questionnaires.learning_themes import seed_default_themes

    seed_default_themes(partnership.id)
    return partnership


#: the most days an action reminder setting may be
REMINDER_DAYS_MAX = 90


class Unset:
    """A setting not given (where None is a value: no retention period)."""


UNSET = Unset()


#: the shortest and longest retention period a partnership may set, in months (case_audits.retention)
RETENTION_MIN_MONTHS, RETENTION_MAX_MONTHS = 12, 600


def retention_problem(months: object) -> str | None:
    """Why ``months`` is not a retention period (None: it is one, or None for no period)."""
    if months is None:
        return None
    if (
        isinstance(months, bool)
        or not isinstance(months, int)
        or not RETENTION_MIN_MONTHS <= months <= RETENTION_MAX_MONTHS
    ):
        return (
            f"Enter a whole number of months from {RETENTION_MIN_MONTHS} to {RETENTION_MAX_MONTHS}, "
            "or leave it empty to keep records"
        )
    return None


def update_partnership_settings(
    partnership: Partnership,
    *,
    qa_group_name: str,
    auditors_can_submit: bool | None = None,
    action_remind_days_before: int | None = None,
    action_overdue_every_days: int | None = None,
    require_two_factor: bool | None = None,
    retention_months: int | Unset | None = UNSET,
) -> None:
    """Change how the partnership names its QA group, whether auditors submit without sign-off, and when action
    owners are reminded (days before the due date, every how many days while overdue; 0 for never), and whether
    its admins and QA members must sign in with a second factor. A setting given as None stays as it is; the
    retention period in months (case_audits.retention), None for none, stays as it is when not given."""
    problems: dict[str, list[str]] = {}
    for name, value, what in (
        ("action_remind_days_before", action_remind_days_before, "before the due date"),
        ("action_overdue_every_days", action_overdue_every_days, "between reminders"),
    ):
        if value is not None and (isinstance(value, bool) or not 0 <= value <= REMINDER_DAYS_MAX):
            problems[name] = [f"Enter a number of days from 0 to {REMINDER_DAYS_MAX}, {what}"]
    if not isinstance(retention_months, Unset) and (problem := retention_problem(retention_months)):
        problems["retention_months"] = [problem]
    if problems:
        raise FieldErrors(problems)
    partnership.qa_group_name = qa_group_name.strip()
    if not isinstance(retention_months, Unset):
        partnership.retention_months = retention_months
    if auditors_can_submit is not None:
        partnership.auditors_can_submit = auditors_can_submit
    if action_remind_days_before is not None:
        partnership.action_remind_days_before = action_remind_days_before
    if action_overdue_every_days is not None:
        partnership.action_overdue_every_days = action_overdue_every_days
    if require_two_factor is not None:
        partnership.require_two_factor = require_two_factor
    db.session.flush()


def slugify(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
    return slug[:64] or "sector"


def create_sector(partnership_id: int, name: str, key: str | None = None) -> Sector:
    """Add a sector to a partnership; names and keys are unique in it."""
    name = name.strip()
    key = slugify(key or name)
    _check_sector_unique(partnership_id, name, key)
    sector = Sector(partnership_id=partnership_id, name=name, key=key)
    db.session.add(sector)
    db.session.flush()
    return sector


def rename_sector(sector: Sector, name: str) -> None:
    """Rename a sector; its key stays so questionnaires keep working."""
    name = name.strip()
    _check_sector_unique(sector.partnership_id, name, None, exclude_id=sector.id)
    sector.name = name
    db.session.flush()


def _check_sector_unique(partnership_id: int, name: str, key: str | None, exclude_id: int | None = None) -> None:
    # A friendly early answer; two requests racing both pass it, and the unique constraint on
    # (partnership_id, name_key) refuses the second: a 409 naming the field, from core/web.py.
    query = sa.select(Sector).where(Sector.partnership_id == partnership_id)
    if exclude_id is not None:
        query = query.where(Sector.id != exclude_id)
    if db.session.scalar(query.where(Sector.name_key == name_key(name))):
        raise ConflictError(
            "A sector with this name already exists (names differing only in capitals or spaces are the same)",
            field="name",
        )
    if key and db.session.scalar(query.where(Sector.key == key)):
        raise ConflictError("A sector with this key already exists", field="key")


# -- agencies --


def _check_agency_name_free(
    partnership_id: int, others: list[int], name: str, exclude_agency_id: int | None = None
) -> None:
    """Refuse a name another agency of ``partnership_id`` (or of the ``others`` the agency also serves)
    has, whatever the case or spaces."""
    # Lock the partnerships' rows (PostgreSQL: until commit) so two requests naming agencies in one
    # partnership take turns and the second sees the first's agency; whatever slips past (SQLite ignores
    # FOR UPDATE), the unique constraint on (partnership_id, agency_name_key) refuses: a 409 naming `name`.
    partnership_ids = sorted({partnership_id, *others})
    db.session.execute(
        sa.select(Partnership.id).where(Partnership.id.in_(partnership_ids)).order_by(Partnership.id).with_for_update()
    )
    query = sa.select(PartnershipAgency.partnership_id).where(
        PartnershipAgency.partnership_id.in_(partnership_ids), PartnershipAgency.agency_name_key == name_key(name)
    )
    if exclude_agency_id is not None:
        query = query.where(PartnershipAgency.agency_id != exclude_agency_id)
    taken = set(db.session.scalars(query))
    if partnership_id in taken:
        raise ConflictError(AGENCY_NAME_TAKEN, field="name")
    if taken:
        raise ConflictError("Another partnership this agency serves already has an agency with this name", field="name")


#: also the database's answer (core/errors.py UNIQUE_CONFLICTS) when two requests race past the check
AGENCY_NAME_TAKEN = (
    "An agency with this name already exists in the partnership (names differing only in capitals or spaces "
    "are the same)"
)


def _check_sector(partnership_id: int, sector: Sector | None) -> Sector:
    if sector is None or sector.partnership_id != partnership_id:
        raise DomainError("Select a sector of this partnership", field="sector_id")
    return sector


SHORT_CODE = re.compile(r"^[A-Z0-9][A-Z0-9&'._/ -]{0,19}\Z")


def _clean_short_code(partnership_id: int, code: str, exclude_link_id: int | None) -> str | None:
    """A short code as stored (capitals; None for none), refused if malformed or another agency's here."""
    code = " ".join((code or "").replace("\u2019", "'").split()).upper()
    if not code:
        return None
    if not SHORT_CODE.match(code):
        raise DomainError(
            "Short code: up to 20 letters, digits, spaces and & ' . _ / -, starting with a letter or digit",
            field="short_code",
        )
    query = sa.select(PartnershipAgency.id).where(
        PartnershipAgency.partnership_id == partnership_id, PartnershipAgency.short_code == code
    )
    if exclude_link_id is not None:
        query = query.where(PartnershipAgency.id != exclude_link_id)
    if db.session.scalar(query.limit(1)) is not None:
        raise ConflictError("Short code: another agency of the partnership already has this code", field="short_code")
    return code


REFERENCE_NUMBER = re.compile(r"^[A-Z0-9][A-Z0-9/-]{0,39}\Z")
CONTACT_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+\Z")


def clean_reference_number(raw: str | None) -> tuple[str | None, str | None]:
    """A reference number as stored (capitals, no spaces; None for none) and what is wrong with it, if anything."""
    number = "".join((raw or "").split()).upper()
    if not number:
        return None, None
    if not REFERENCE_NUMBER.match(number):
        return (
            number,
            "Reference number: up to 40 letters, digits, / and -, such as a school's URN (100000) or an Ofsted number (EY123456)",
        )
    return number, None


def clean_contact_email(raw: str | None) -> tuple[str, str | None]:
    """A contact email as stored (lower-case; "" for none) and what is wrong with it, if anything."""
    email = (raw or "").strip().lower()
    if not email:
        return "", None
    if len(email) > 320 or not CONTACT_EMAIL.match(email):
        return email, "Contact email: enter an email address like name@example.org"
    return email, None


def _checked_reference_number(partnership_id: int, raw: str | None, exclude_link_id: int | None) -> str | None:
    number, problem = clean_reference_number(raw)
    if problem:
        raise DomainError(problem, field="reference_number")
    if number is None:
        return None
    query = sa.select(PartnershipAgency.id).where(
        PartnershipAgency.partnership_id == partnership_id, PartnershipAgency.reference_number == number
    )
    if exclude_link_id is not None:
        query = query.where(PartnershipAgency.id != exclude_link_id)
    if db.session.scalar(query.limit(1)) is not None:
        raise ConflictError(
            "Reference number: another agency of the partnership already has this number", field="reference_number"
        )
    return number


def _checked_contact_email(raw: str | None) -> str:
    email, problem = clean_contact_email(raw)
    if problem:
        raise DomainError(problem, field="contact_email")
    return email


def set_short_code(link: PartnershipAgency, code: str) -> None:
    """The partnership's short code for the agency (cohort files may name it by this); blank removes it."""
    link.short_code = _clean_short_code(link.partnership_id, code, link.id)
    db.session.flush()


def create_agency(
    partnership_id: int,
    name: str,
    sector: Sector | None,
    short_code: str = "",
    *,
    reference_number: str = "",
    contact_email: str = "",
) -> PartnershipAgency:
    """A new agency, member of ``partnership_id`` in ``sector``."""
    name = name.strip()
    sector = _check_sector(partnership_id, sector)
    _check_agency_name_free(partnership_id, [], name)
    code = _clean_short_code(partnership_id, short_code, None)
    reference = _checked_reference_number(partnership_id, reference_number, None)
    email = _checked_contact_email(contact_email)
    agency = Agency(name=name)
    agency.audit_partnership_id = partnership_id
    db.session.add(agency)
    db.session.flush()
    link = PartnershipAgency(
        partnership_id=partnership_id,
        agency_id=agency.id,
        sector_id=sector.id,
        agency_name_key=name_key(name),
        short_code=code,
        reference_number=reference,
        contact_email=email,
    )
    db.session.add(link)
    db.session.flush()
    return link


def update_agency(
    link: PartnershipAgency,
    name: str,
    sector: Sector | None,
    short_code: str | None = None,
    *,
    reference_number: str | None = None,
    contact_email: str | None = None,
) -> None:
    """Rename (keeping the old name on record), move to another sector and/or set the short code, reference
    number and contact email (None: keep)."""
    name = name.strip()
    sector = _check_sector(link.partnership_id, sector)
    if short_code is not None:
        code = _clean_short_code(link.partnership_id, short_code, link.id)
        if code != link.short_code:
            link.short_code = code
    if reference_number is not None:
        reference = _checked_reference_number(link.partnership_id, reference_number, link.id)
        if reference != link.reference_number:
            link.reference_number = reference
    if contact_email is not None:
        email = _checked_contact_email(contact_email)
        if email != link.contact_email:
            link.contact_email = email
    agency = link.agency
    if name != agency.name:
        partnerships = [other.partnership_id for other in agency.links]
        _check_agency_name_free(link.partnership_id, partnerships, name, exclude_agency_id=agency.id)
        old_name = AgencyName(agency_id=agency.id, name=agency.name, replaced_at=utcnow())
        old_name.audit_partnership_id = agency.audit_partnership_id = link.partnership_id
        db.session.add(old_name)
        agency.name = name
    if sector.id != link.sector_id:
        link.sector_id = sector.id
        link.sector = sector
    db.session.flush()


def set_agency_active(link: PartnershipAgency, active: bool) -> None:
    """Deactivate (or reactivate) an agency in one partnership; its records stay."""
    if link.is_active == active:
        raise NotAllowedError("The agency is already " + ("active" if active else "inactive"))
    link.is_active = active
    db.session.flush()


def linkable_agencies(partnership_id: int) -> list[Agency]:
    """Agencies of other partnerships that could join this one."""
    already = sa.select(PartnershipAgency.agency_id).where(PartnershipAgency.partnership_id == partnership_id)
    return list(
        db.session.scalars(sa.select(Agency).where(Agency.id.not_in(already)).order_by(sa.func.lower(Agency.name)))
    )


def link_agency(partnership_id: int, agency: Agency | None, sector: Sector | None) -> PartnershipAgency:
    """Make an agency of another partnership a member of this one too."""
    if agency is None or agency not in linkable_agencies(partnership_id):
        raise DomainError("Select an agency that is not already in this partnership", field="agency_id")
    sector = _check_sector(partnership_id, sector)
    try:
        _check_agency_name_free(partnership_id, [], agency.name)
    except ConflictError:
        # the form and the request name the agency chosen, not a name
        raise ConflictError(
            "An agency of this partnership already has this name (whatever its capitals or spaces): rename one of "
            "them first",
            field="agency_id",
        ) from None
    link = PartnershipAgency(
        partnership_id=partnership_id, agency_id=agency.id, sector_id=sector.id, agency_name_key=name_key(agency.name)
    )
    db.session.add(link)
    db.session.flush()
    return link


# -- users and memberships --


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def _check_agency_for_role(partnership_id: int, role: Role, agency_id: int | None) -> int | None:
    if not role.needs_agency:
        return None
    if agency_id is None:
        raise DomainError(f"Select the agency this {role.label.lower()} works for", field="agency_id")
    link = db.session.scalar(
        sa.select(PartnershipAgency).where(
            PartnershipAgency.partnership_id == partnership_id, PartnershipAgency.agency_id == agency_id
        )
    )
    if link is None:
        raise DomainError("Select an agency of this partnership", field="agency_id")
    if not link.is_active:
        raise DomainError("This agency is inactive; reactivate it first", field="agency_id")
    return agency_id


def add_membership(user: User, partnership_id: int, role: Role, agency_id: int | None = None) -> Membership:
    """Give ``user`` a role in a partnership (and agency, for agency roles)."""
    agency_id = _check_agency_for_role(partnership_id, role, agency_id)
    # A friendly early answer; two grants racing both pass it, and the unique constraint (or, for
    # roles without an agency, the partial unique index) refuses the second: a 409 from core/web.py.
    if _same_memberships(user.id, partnership_id, role, agency_id):
        raise ConflictError("This person already has this role", field="role")
    membership = Membership(user_id=user.id, partnership_id=partnership_id, role=role, agency_id=agency_id)
    db.session.add(membership)
    db.session.flush()
    return membership


def _same_memberships(user_id: int, partnership_id: int, role: Role, agency_id: int | None) -> list[Membership]:
    """Every membership granting this role (for this agency, or with none) to this user here."""
    return list(
        db.session.scalars(
            sa.select(Membership)
            .where(
                Membership.user_id == user_id,
                Membership.partnership_id == partnership_id,
                Membership.role == role,
                Membership.agency_id.is_(None) if agency_id is None else Membership.agency_id == agency_id,
            )
            .order_by(Membership.id)
        )
    )


def _active_admin_count(partnership_id: int) -> int:
    return db.session.scalar(
        sa.select(sa.func.count(sa.distinct(Membership.user_id)))
        .join(User, User.id == Membership.user_id)
        .where(
            Membership.partnership_id == partnership_id,
            Membership.role == Role.ADMIN,
            User.is_active.is_(True),
        )
    )


def remove_membership(membership: Membership) -> None:
    """Take a role away; a partnership always keeps at least one active admin.

    Every membership granting the same role goes, so no duplicate (left by a race before the
    database refused them) can keep the role alive after a revoke.
    """
    last_admin = membership.role == Role.ADMIN and membership.user.is_active
    if last_admin and _active_admin_count(membership.partnership_id) <= 1:
        raise NotAllowedError("A partnership must keep at least one active admin", field="role")
    same = _same_memberships(membership.user_id, membership.partnership_id, membership.role, membership.agency_id)
    for each in {membership, *same}:
        db.session.delete(each)
    db.session.flush()


def create_user(
    partnership_id: int,
    *,
    email: str,
    name: str,
    role: Role,
    agency_id: int | None = None,
    password: str | None = None,
) -> tuple[User, bool]:
    """Create a user with a first role, or add the role to an existing account.

    Returns the user and whether the account is new. With no password the
    account waits for the person to accept an invitation.
    """
    email = normalise_email(email)
    user = db.session.scalar(sa.select(User).where(User.email == email))
    created = user is None
    if user is None:
        if password is not None:
            check_password_rules(password)
        user = User(email=email, name=name.strip(), password_hash=hash_password(password) if password else None)
        user.audit_partnership_id = partnership_id
        db.session.add(user)
        db.session.flush()
    elif password is not None:
        raise ConflictError("This email already has an account; add the role without setting a password", field="email")
    add_membership(user, partnership_id, role, agency_id)
    return user, created


def update_user(user: User, *, name: str, email: str) -> None:
    """Change a user's name or email (emails stay unique)."""
    email = normalise_email(email)
    if email != user.email and db.session.scalar(sa.select(User.id).where(User.email == email)):
        raise ConflictError("Another account already uses this email", field="email")
    user.name = name.strip()
    user.email = email
    db.session.flush()


def set_user_active(user: User, active: bool, *, by: User, partnership_id: int) -> None:
    """Deactivate (or reactivate) an account; a deactivated user cannot sign in or use tokens."""
    if user.is_active == active:
        raise NotAllowedError("The account is already " + ("active" if active else "deactivated"))
    if not active and user.id == by.id:
        raise NotAllowedError("You cannot deactivate your own account")
    if not active:
        for pid in {m.partnership_id for m in user.memberships if m.role == Role.ADMIN}:
            if _active_admin_count(pid) <= 1:
                raise NotAllowedError("A partnership must keep at least one active admin")
    user.is_active = active
    user.audit_partnership_id = partnership_id
    if not active:
        user.end_sessions()
    db.session.flush()


# -- API tokens --


def _token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def create_api_token(
    user: User, partnership_id: int, name: str, *, expires_in_days: int | None = None
) -> tuple[ApiToken, str]:
    """A new personal token; the secret is returned once and never stored."""
    if not any(m.partnership_id == partnership_id for m in user.memberships):
        raise DomainError("You have no role in this partnership", field="partnership_id")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        partnership_id=partnership_id,
        name=name.strip(),
        token_hash=_token_hash(secret),
        prefix=secret[: len(TOKEN_PREFIX) + 6],
        expires_at=utcnow() + timedelta(days=expires_in_days) if expires_in_days else None,
    )
    db.session.add(token)
    db.session.flush()
    return token, secret


def revoke_api_token(token: ApiToken) -> None:
    """Stop a token working, for good."""
    if token.revoked_at is not None:
        raise NotAllowedError("This token is already revoked")
    token.revoked_at = utcnow()
    db.session.flush()


def user_for_api_token(secret: str) -> ApiToken | None:
    """The usable token with this secret, its user active, or None."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    token = db.session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == _token_hash(secret)))
    if token is None or not token.is_usable or not token.user.is_active:
        return None
    return token
