"""Partnerships, sectors, agencies, users, memberships and API tokens."""

from __future__ import annotations

import unicodedata
from datetime import datetime

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from ..core.audit import Audited
from ..core.models import TimestampMixin, UTCDateTime, enum_type, utcnow
from ..core.redaction import exempt_table
from ..core.roles import Role
from ..extensions import db


def name_key(name: str | None) -> str | None:
    """What makes two names the same name: case, surrounding spaces and runs of spaces aside
    ("Northbridge Police" and " northbridge  police " are one name). Computed here, not by the database's
    lower(), so SQLite and PostgreSQL agree on every alphabet. At most three times as long as the name
    (casefold turns one character into up to three: "ß" is "ss"), hence the key columns' lengths."""
    if name is None:
        return None
    return " ".join(unicodedata.normalize("NFC", name).split()).casefold()


class Partnership(Audited, TimestampMixin, db.Model):
    """A safeguarding children partnership: the tenant everything belongs to."""

    __tablename__ = "partnerships"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    #: what this partnership calls its QA subgroup (never hard-coded)
    qa_group_name: Mapped[str] = mapped_column(sa.String(200), default="Quality assurance group")
    #: auditors may submit returns themselves, without an agency lead's sign-off
    auditors_can_submit: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    #: an action's owner is reminded this many days before its due date (0: no reminder)
    action_remind_days_before: Mapped[int] = mapped_column(default=7, server_default="7")
    #: while an action is overdue, its owner is reminded every this many days (0: never)
    action_overdue_every_days: Mapped[int] = mapped_column(default=7, server_default="7")
    #: its admins and QA members must sign in with a second factor (accounts.security)
    require_two_factor: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    #: case-level records of a reported case audit round are removed this many months after it was reported
    #: (``flask purge``, case_audits.retention); none: kept until the partnership chooses a period
    retention_months: Mapped[int | None] = mapped_column()

    @property
    def audit_partnership_id(self) -> int:
        return self.id


class Sector(Audited, TimestampMixin, db.Model):
    """A grouping of agencies (police, health...), per partnership."""

    __tablename__ = "sectors"
    __table_args__ = (
        sa.UniqueConstraint("partnership_id", "key"),
        # the name as its key (name_key): "Police" and "police " are one name
        sa.UniqueConstraint("partnership_id", "name_key"),
    )
    __audit_ignore__ = frozenset({"updated_at", "name_key"})

    id: Mapped[int] = mapped_column(primary_key=True)
    partnership_id: Mapped[int] = mapped_column(sa.ForeignKey("partnerships.id"), index=True)
    #: stable machine key, used by questionnaires' "applies to" rules
    key: Mapped[str] = mapped_column(sa.String(64))
    name: Mapped[str] = mapped_column(sa.String(120))
    #: name_key(name), set with the name: one sector per name in a partnership, whatever the case or spaces
    name_key: Mapped[str] = mapped_column(sa.String(360))

    partnership: Mapped[Partnership] = relationship()

    @validates("name")
    def _keep_name_key(self, _key: str, name: str) -> str:
        self.name_key = name_key(name)
        return name


class Agency(Audited, TimestampMixin, db.Model):
    """A partner organisation. One agency can serve several partnerships."""

    __tablename__ = "agencies"

    #: which partnership's audit log a change is filed under, set by services
    #: (an agency belongs to no single partnership); not a column. Every other partnership the agency
    #: serves gets a copy of the event naming the acting partnership, not the person (audit_shared_with).
    audit_partnership_id = None
    #: only a partnership's admins change an agency (accounts.permissions.can_manage_accounts)
    __audit_shared_actor__ = "An administrator of {partnership}"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))

    def audit_shared_with(self, connection: sa.Connection) -> list[int]:
        """Every partnership the agency serves sees its renames, in its own audit log."""
        return _agency_partnership_ids(connection, self.id)

    previous_names: Mapped[list[AgencyName]] = relationship(
        back_populates="agency", order_by="AgencyName.replaced_at.desc()", cascade="all, delete-orphan"
    )
    links: Mapped[list[PartnershipAgency]] = relationship(back_populates="agency")

    @validates("name")
    def _keep_name_keys(self, _key: str, name: str) -> str:
        for link in self.links:
            link.agency_name_key = name_key(name)
        return name


class AgencyName(Audited, db.Model):
    """A name an agency used to have; records survive renames and mergers."""

    __tablename__ = "agency_names"
    audit_partnership_id = None  # see Agency.audit_partnership_id
    __audit_shared_actor__ = Agency.__audit_shared_actor__

    id: Mapped[int] = mapped_column(primary_key=True)
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    #: when the agency stopped using this name
    replaced_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    agency: Mapped[Agency] = relationship(back_populates="previous_names")

    def audit_shared_with(self, connection: sa.Connection) -> list[int]:
        return _agency_partnership_ids(connection, self.agency_id)


def _agency_partnership_ids(connection: sa.Connection, agency_id: int) -> list[int]:
    table = PartnershipAgency.__table__
    return list(connection.scalars(sa.select(table.c.partnership_id).where(table.c.agency_id == agency_id)))


class PartnershipAgency(Audited, TimestampMixin, db.Model):
    """An agency's membership of one partnership, with its sector there."""

    __tablename__ = "partnership_agencies"
    __table_args__ = (
        sa.UniqueConstraint("partnership_id", "agency_id"),
        # An agency has no partnership column, so its name's uniqueness in each partnership it serves
        # is held here, on a copy of its name key kept by Agency._keep_name_keys.
        sa.UniqueConstraint("partnership_id", "agency_name_key"),
        # stored in capitals (services.set_short_code), so unique ignoring case; NULL: no code
        sa.UniqueConstraint("partnership_id", "short_code"),
        # a setting's official number (a school's URN, an Ofsted number) names one agency in a partnership
        sa.UniqueConstraint("partnership_id", "reference_number"),
    )
    __audit_ignore__ = frozenset({"updated_at", "agency_name_key"})

    id: Mapped[int] = mapped_column(primary_key=True)
    partnership_id: Mapped[int] = mapped_column(sa.ForeignKey("partnerships.id"), index=True)
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"), index=True)
    #: name_key() of the agency's name: one agency per name in a partnership, whatever the case or spaces
    agency_name_key: Mapped[str] = mapped_column(sa.String(600))
    sector_id: Mapped[int] = mapped_column(sa.ForeignKey("sectors.id"), index=True)
    #: an inactive agency keeps its records but gets no new work
    is_active: Mapped[bool] = mapped_column(default=True)
    #: the partnership's own short code for the agency ("MPS", "GOSH"), matched by cohort files; per
    #: partnership because one agency serving several partnerships is known by different codes in each
    short_code: Mapped[str | None] = mapped_column(sa.String(20))
    #: an official reference number for the setting (a school's URN, an Ofsted or DfE number), matched by the
    #: settings CSV import; per partnership, beside the sector and short code, since it is how this partnership
    #: knows and imports the setting (NULL: none)
    reference_number: Mapped[str | None] = mapped_column(sa.String(40))
    #: an email address for the setting's safeguarding contact, from the settings CSV import or the agency's page
    #: ("" for none); shown to admins, so a setting without an account can be reached
    contact_email: Mapped[str] = mapped_column(sa.String(320), default="", server_default="")

    agency: Mapped[Agency] = relationship(back_populates="links", lazy="joined")
    sector: Mapped[Sector] = relationship(lazy="joined")
    partnership: Mapped[Partnership] = relationship()


class User(Audited, UserMixin, TimestampMixin, db.Model):
    """A person who signs in."""

    __tablename__ = "users"
    __audit_redact__ = frozenset({"password_hash", "totp_secret"})
    __audit_ignore__ = frozenset({"updated_at", "last_login_at", "session_version", "totp_last_step"})
    audit_partnership_id = None  # see Agency.audit_partnership_id

    id: Mapped[int] = mapped_column(primary_key=True)
    #: stored lower-case; unique across the whole service
    email: Mapped[str] = mapped_column(sa.String(320), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    #: argon2id; none until an invited user sets a password
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    is_active: Mapped[bool] = mapped_column(default=True)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: part of every session cookie; bumping it ends all of the user's sessions
    #: (sign-out, password change, deactivation), since cookies live client-side
    session_version: Mapped[int] = mapped_column(default=1, server_default="1")
    #: the base32 TOTP secret (accounts.security): while totp_enabled_at is NULL, an enrolment not yet confirmed
    totp_secret: Mapped[str | None] = mapped_column(sa.String(64))
    #: when two-factor sign-in was turned on; NULL: off
    totp_enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: the time-step of the last code accepted: a code is never accepted twice (replay)
    totp_last_step: Mapped[int | None] = mapped_column(sa.BigInteger())

    memberships: Mapped[list[Membership]] = relationship(
        back_populates="user", cascade="all, delete-orphan", foreign_keys="Membership.user_id"
    )

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"

    def end_sessions(self) -> None:
        """Make every session cookie issued so far stop working."""
        self.session_version = (self.session_version or 1) + 1

    @property
    def has_two_factor(self) -> bool:
        return self.totp_enabled_at is not None


class Membership(Audited, TimestampMixin, db.Model):
    """A role a user holds in a partnership, for an agency where the role needs one."""

    __tablename__ = "memberships"
    __table_args__ = (
        sa.UniqueConstraint("user_id", "partnership_id", "agency_id", "role"),
        # The constraint above does not hold when agency_id is NULL (NULLs differ), and the admin,
        # QA and scrutineer roles have no agency: one such role per user and partnership.
        sa.Index(
            "uq_memberships_no_agency",
            "user_id",
            "partnership_id",
            "role",
            unique=True,
            sqlite_where=sa.text("agency_id IS NULL"),
            postgresql_where=sa.text("agency_id IS NULL"),
        ),
        sa.CheckConstraint(
            "role NOT IN ('agency_lead', 'auditor') OR agency_id IS NOT NULL", name="agency_roles_need_agency"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    partnership_id: Mapped[int] = mapped_column(sa.ForeignKey("partnerships.id"), index=True)
    agency_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agencies.id"), index=True)
    role: Mapped[Role] = mapped_column(enum_type(Role, "role"))

    user: Mapped[User] = relationship(back_populates="memberships", foreign_keys=[user_id])
    partnership: Mapped[Partnership] = relationship(lazy="joined")
    agency: Mapped[Agency | None] = relationship(lazy="joined")


class ApiToken(Audited, TimestampMixin, db.Model):
    """A personal API token, bound to one partnership. Only its hash is stored."""

    __tablename__ = "api_tokens"
    __audit_redact__ = frozenset({"token_hash"})
    __audit_ignore__ = frozenset({"updated_at", "last_used_at"})

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    partnership_id: Mapped[int] = mapped_column(sa.ForeignKey("partnerships.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    #: sha256 of the secret, hex
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    #: the first characters of the secret, shown so people can tell tokens apart
    prefix: Mapped[str] = mapped_column(sa.String(16))
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship(lazy="joined")
    partnership: Mapped[Partnership] = relationship(lazy="joined")

    @property
    def is_usable(self) -> bool:
        if self.revoked_at is not None:
            return False
        return self.expires_at is None or self.expires_at > utcnow()


class SignInFailure(db.Model):
    """Consecutive failed sign-ins for one email address, whether or not an account has it (accounts.security).

    Kept by a keyed hash of the address, so an address someone merely tried is not stored, and an unknown address
    locks exactly as a real one does: the sign-in page never tells which addresses have accounts. Not audited
    (anyone can add rows); an unlock is recorded against the user by hand."""

    __tablename__ = "sign_in_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: HMAC-SHA256 (keyed by SECRET_KEY) of the normalised email, hex
    email_key: Mapped[str] = mapped_column(sa.String(64), unique=True)
    failed_count: Mapped[int] = mapped_column(default=0)
    last_failed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: set when failed_count reached SIGN_IN_LOCKOUT_ATTEMPTS; cleared by an admin's unlock
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class RecoveryCode(db.Model):
    """A single-use code that stands in for the authenticator app. Only its hash is stored."""

    __tablename__ = "recovery_codes"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: sha256 of the code (dashes and case aside), hex
    code_hash: Mapped[str] = mapped_column(sa.String(64))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class UserSession(db.Model):
    """A signed-in browser session: the cookie holds a random key whose hash is here (accounts.security).

    The cookie works while its row is not ended, the user's session_version is still the one it started with,
    and it has not been idle for SESSION_IDLE_MINUTES."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: sha256 of the key in the cookie, hex
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    #: the user's session_version when it started: bumping it ends every session (password change, deactivation)
    session_version: Mapped[int] = mapped_column()
    started_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: updated at most once a minute
    last_active_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ip_address: Mapped[str] = mapped_column(sa.String(45), default="")
    #: a short description of the browser, such as "Firefox on Windows"
    browser: Mapped[str] = mapped_column(sa.String(100), default="")
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


# -- core.redaction: people, organisations and their access never hold a case reference --

for _model in (
    Partnership,
    Sector,
    Agency,
    AgencyName,
    PartnershipAgency,
    User,
    Membership,
    ApiToken,
    SignInFailure,
    RecoveryCode,
    UserSession,
):
    exempt_table(_model.__table__, "people, organisations and their access: never about one case")
