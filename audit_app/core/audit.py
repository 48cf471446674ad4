"""The audit trail: one mechanism records every create, update and delete.

Models that matter inherit :class:`Audited`. A SQLAlchemy ``after_flush`` hook
writes one :class:`AuditEvent` row per changed object in the same transaction,
so an event exists exactly when the change it describes is committed. Events
are append-only: the ORM refuses to update or delete them and the migration
adds database triggers that refuse it too.

One exception, for a wrongly entered case reference (``core.redaction``): inside
:func:`permit_redaction` the database lets the transaction rewrite the
``before``/``after`` JSON of the permitted partnership's events, and nothing
else. The permit is a row of ``audit_redaction_permits`` inserted and deleted
within the same transaction, which the triggers look for: it is never committed,
so no other transaction can ever see it. DELETE is refused always.
"""

from __future__ import annotations

import contextvars
import decimal
import enum
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from flask import g, has_request_context
from sqlalchemy import event, insert
from sqlalchemy.orm import Mapped, Session, mapped_column

from ..extensions import db
from .models import UTCDateTime, utcnow

REDACTED = "[redacted]"

#: who is acting outside a web request (CLI commands, jobs)
_system_actor: contextvars.ContextVar[str | None] = contextvars.ContextVar("system_actor", default=None)


class Audited:
    """Mixin: changes to this model are recorded in the audit trail."""

    #: columns whose values never enter the trail (only that they changed)
    __audit_redact__: frozenset[str] = frozenset()
    #: columns not worth recording (bookkeeping)
    __audit_ignore__: frozenset[str] = frozenset({"updated_at"})
    #: who a shared object's event names in the other partnerships' copies (see audit_shared_with)
    __audit_shared_actor__: str = "Someone at {partnership}"

    def audit_shared_with(self, connection: sa.Connection) -> Iterable[int]:
        """Partnerships besides the acting one that see this object (an agency serving several).

        Each gets its own copy of every event of the object, in its own audit log, with the actor hidden:
        ``__audit_shared_actor__`` naming the acting partnership, never the person. Asked after the
        flush, so ``connection`` sees the rows just written."""
        return ()


class AuditAction(enum.StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    #: a wrongly entered value replaced everywhere (``core.redaction``); the event never holds the old value
    REDACT = "redact"


ACTION_LABELS = {
    AuditAction.CREATE: "Created",
    AuditAction.UPDATE: "Changed",
    AuditAction.DELETE: "Deleted",
    AuditAction.REDACT: "Redacted",
}


class AuditEvent(db.Model):
    """One recorded change. Append-only."""

    __tablename__ = "audit_events"
    __table_args__ = (sa.Index("ix_audit_events_entity", "entity_type", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    #: the signed-in user, or none for the system / CLI
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    #: the actor as shown to people, kept even if the user is renamed
    actor_label: Mapped[str] = mapped_column(sa.String(320))
    #: the partnership the change belongs to, for scoping the log
    partnership_id: Mapped[int | None] = mapped_column(sa.ForeignKey("partnerships.id"), index=True)
    entity_type: Mapped[str] = mapped_column(sa.String(64))
    entity_id: Mapped[int] = mapped_column()
    action: Mapped[str] = mapped_column(sa.String(16))
    before: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    #: groups the events written by one request or command
    request_id: Mapped[str | None] = mapped_column(sa.String(36))

    actor = db.relationship("User", foreign_keys=[actor_id], lazy="joined")

    @property
    def changed_fields(self) -> list[str]:
        keys = set((self.before or {}).keys()) | set((self.after or {}).keys())
        return sorted(keys)

    @property
    def action_label(self) -> str:
        """The change in words: "Created", "Changed", "Deleted", or "Reference redacted" (what was redacted)."""
        if self.action == AuditAction.REDACT and isinstance((self.after or {}).get("redacted"), str):
            return f"{self.after['redacted'].replace('_', ' ').capitalize()} redacted"  # type: ignore[index]
        try:
            return ACTION_LABELS[AuditAction(self.action)]
        except ValueError:
            return self.action.capitalize()


class AuditRedactionPermit(db.Model):
    """Lets the current transaction rewrite one partnership's audit events (see :func:`permit_redaction`).

    A row lives only inside the transaction that inserted it: the database triggers on ``audit_events``
    let an UPDATE of ``before``/``after`` through only while a permit for the event's partnership exists.
    """

    __tablename__ = "audit_redaction_permits"

    id: Mapped[int] = mapped_column(primary_key=True)
    partnership_id: Mapped[int] = mapped_column(sa.ForeignKey("partnerships.id"))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class AppendOnlyError(RuntimeError):
    """Raised when code tries to change or delete an audit event."""


@contextmanager
def system_actor(label: str) -> Iterator[None]:
    """Attribute changes made inside the block to ``label`` (a CLI or job)."""
    token = _system_actor.set(label)
    try:
        yield
    finally:
        _system_actor.reset(token)


#: where a session keeps the ids of its permits not yet removed (in ``Session.info``)
_PERMITS = "audit_app.audit.redaction_permits"


@contextmanager
def permit_redaction(partnership_id: int) -> Iterator[sa.Connection]:
    """Inside the block, the session's transaction may rewrite ``before``/``after`` of the partnership's audit
    events (and of events recorded without a partnership), nothing else about them; yields the connection to
    run the UPDATEs on. The permit is removed when the block ends, whether or not it raised, and in any case
    before the transaction commits (see ``_no_permit_is_committed``), so no other transaction ever sees one."""
    session = db.session()
    connection = session.connection()
    table = AuditRedactionPermit.__table__
    permit_id = connection.execute(
        insert(table).values(partnership_id=partnership_id, granted_at=utcnow()).returning(table.c.id)
    ).scalar_one()
    session.info.setdefault(_PERMITS, set()).add(permit_id)
    finished = False
    try:
        yield connection
        finished = True
    finally:
        try:
            connection.execute(sa.delete(table).where(table.c.id == permit_id))
            session.info[_PERMITS].discard(permit_id)
        except sa.exc.DBAPIError:
            # After an error a PostgreSQL transaction refuses every statement: it can only roll back, the
            # permit with it. Let the first error through rather than this one.
            if finished:
                raise


@event.listens_for(Session, "before_commit")
def _no_permit_is_committed(session: Session) -> None:
    left = session.info.pop(_PERMITS, None)
    if left:
        table = AuditRedactionPermit.__table__
        session.connection().execute(sa.delete(table).where(table.c.id.in_(left)))


@event.listens_for(Session, "after_rollback")
def _permits_rolled_back(session: Session) -> None:
    session.info.pop(_PERMITS, None)


def record_event(
    entity_type: str, entity_id: int, action: AuditAction, *, partnership_id: int | None, after: dict[str, Any] | None
) -> None:
    """Write one event by hand, for a change made without the ORM (a redaction), attributed as every other."""
    actor_id, actor_label = _actor()
    db.session.connection().execute(
        insert(AuditEvent.__table__).values(
            occurred_at=utcnow(),
            actor_id=actor_id,
            actor_label=actor_label,
            partnership_id=partnership_id,
            entity_type=entity_type,
            entity_id=entity_id,
            action=action.value,
            before=None,
            after=after,
            request_id=_request_id(),
        )
    )


def acting_label() -> str:
    """Who is acting, as the audit trail names them (a person, or a CLI or job's label)."""
    return _actor()[1]


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return str(value)


def _columns(obj: Audited) -> list[str]:
    mapper = sa.inspect(obj).mapper
    return [attr.key for attr in mapper.column_attrs if attr.key not in obj.__audit_ignore__]


def _value(obj: Audited, key: str, value: Any) -> Any:
    return REDACTED if key in obj.__audit_redact__ and value is not None else _jsonable(value)


def _snapshot(obj: Audited) -> dict[str, Any]:
    state = sa.inspect(obj)
    return {key: _value(obj, key, state.attrs[key].value) for key in _columns(obj)}


def _changes(obj: Audited) -> tuple[dict[str, Any], dict[str, Any]]:
    state = sa.inspect(obj)
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for key in _columns(obj):
        history = state.attrs[key].history
        if not history.has_changes():
            continue
        old = history.deleted[0] if history.deleted else None
        new = history.added[0] if history.added else None
        if old == new:
            continue
        before[key] = _value(obj, key, old)
        after[key] = _value(obj, key, new)
    return before, after


def _actor() -> tuple[int | None, str]:
    label = _system_actor.get()
    if label:
        return None, label
    if has_request_context():
        user = getattr(g, "audit_user", None)
        if user is None:
            from flask_login import current_user

            user = current_user if getattr(current_user, "is_authenticated", False) else None
        if user is not None:
            return user.id, user.email
        return None, "anonymous"
    return None, "system"


def _partnership_id(obj: Audited) -> int | None:
    own = getattr(obj, "audit_partnership_id", None)
    if own is not None:
        return own
    pid = getattr(obj, "partnership_id", None)
    if pid is not None:
        return pid
    if has_request_context():
        return getattr(g, "partnership_id", None)
    return None


def _request_id() -> str | None:
    if has_request_context():
        if not hasattr(g, "request_id"):
            g.request_id = str(uuid.uuid4())
        return g.request_id
    return None


def _shared_actor(
    connection: sa.Connection, obj: Audited, partnership_id: int | None, actor_id: int | None, actor_label: str
) -> str:
    """The actor as another partnership sees a shared object's event: the acting partnership, not the person."""
    if actor_id is None:
        return actor_label  # a command or job ("cli:...", "job:..."), no one's name or email
    name = None
    if partnership_id is not None:
        name = connection.execute(
            sa.text("SELECT name FROM partnerships WHERE id = :id"), {"id": partnership_id}
        ).scalar()
    if name is None:
        return "Another partnership"
    return obj.__audit_shared_actor__.format(partnership=name)


@event.listens_for(Session, "before_flush")
def _refuse_event_changes(session: Session, flush_context: Any, instances: Any) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditEvent) and (obj in session.deleted or session.is_modified(obj)):
            raise AppendOnlyError("audit events cannot be changed or deleted")


@event.listens_for(Session, "after_flush")
def _record_events(session: Session, flush_context: Any) -> None:
    rows: list[dict[str, Any]] = []
    actor_id, actor_label = _actor()
    request_id = _request_id()
    now = utcnow()

    def add(obj: Audited, action: AuditAction, before: Any, after: Any) -> None:
        row = {
            "occurred_at": now,
            "actor_id": actor_id,
            "actor_label": actor_label,
            "partnership_id": _partnership_id(obj),
            "entity_type": type(obj).__name__,
            "entity_id": sa.inspect(obj).mapper.primary_key_from_instance(obj)[0],
            "action": action.value,
            "before": before,
            "after": after,
            "request_id": request_id,
        }
        rows.append(row)
        shared = sorted(set(obj.audit_shared_with(session.connection())) - {row["partnership_id"]})
        if shared:
            hidden = _shared_actor(session.connection(), obj, row["partnership_id"], actor_id, actor_label)
            # No request id either: it would tie the copy to the acting partnership's own events.
            copy = row | {"actor_id": None, "actor_label": hidden, "request_id": None}
            rows.extend(copy | {"partnership_id": pid} for pid in shared)

    for obj in session.new:
        if isinstance(obj, Audited):
            add(obj, AuditAction.CREATE, None, _snapshot(obj))
    for obj in session.dirty:
        if isinstance(obj, Audited) and session.is_modified(obj, include_collections=False):
            before, after = _changes(obj)
            if after:
                add(obj, AuditAction.UPDATE, before, after)
    for obj in session.deleted:
        if isinstance(obj, Audited):
            add(obj, AuditAction.DELETE, _snapshot(obj), None)
    if rows:
        session.connection().execute(insert(AuditEvent.__table__), rows)
