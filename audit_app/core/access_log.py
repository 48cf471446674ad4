"""The access log: who viewed which case, return, review or evidence file, when, how and from where.

A view that shows one of these objects calls :func:`record_access` with its kind and id(s). Nothing is written
then: the rows wait on the request (``g``) and are written after the response is made, in one bulk insert and
one commit, only when the response succeeded (status below 400). A refused, missing or failed request leaves
no "view". Only reads are recorded (GET; a HEAD shows nothing): a change is in the audit trail, not here.

The commit is the request's session's own: on a GET (which commits nothing else) it is the only one; in the
tests' transaction-per-test set-up it releases a SAVEPOINT, so every test still rolls everything back.

The access log is not itself audited (no :class:`~.audit.Audited`): it is append-only by use, and reading it
is not recorded either (that would log itself forever).

Core names no domain: each domain says how its kind is labelled (:func:`register_access_labels`) and what
belongs to a case for the subject-access report (:func:`register_case_contents`).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import Flask, Response, g, has_request_context, request
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from .models import UTCDateTime, enum_type, utcnow
from .permissions import current_principal
from .redaction import exempt_table

#: where a request keeps its not-yet-written rows (in ``g``)
_PENDING = "access_log_pending"
#: where it keeps the queries of ids to record (large exports)
_PENDING_QUERIES = "access_log_pending_queries"
#: the most characters of the user agent kept
USER_AGENT_LENGTH = 200


class AccessVia(enum.StrEnum):
    PAGE = "page"
    API = "api"
    DOWNLOAD = "download"
    EXPORT = "export"

    @property
    def label(self) -> str:
        return VIA_LABELS[self]


VIA_LABELS = {
    AccessVia.PAGE: "Page",
    AccessVia.API: "API",
    AccessVia.DOWNLOAD: "File download",
    AccessVia.EXPORT: "Export",
}


class AccessKind(enum.StrEnum):
    CASE = "case"
    RETURN = "return"
    REVIEW = "review"
    EVIDENCE_FILE = "evidence_file"

    @property
    def label(self) -> str:
        return KIND_LABELS[self]


KIND_LABELS = {
    AccessKind.CASE: "Case",
    AccessKind.RETURN: "Return",
    AccessKind.REVIEW: "Review",
    AccessKind.EVIDENCE_FILE: "Evidence file",
}


class AccessEvent(db.Model):
    """One object viewed once: by whom (and with which API token), when, how, through which route, from where."""

    __tablename__ = "access_events"
    __table_args__ = (
        sa.Index("ix_access_events_partnership_time", "partnership_id", "occurred_at"),
        sa.Index("ix_access_events_object", "object_kind", "object_id"),
        sa.Index("ix_access_events_user_time", "user_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    partnership_id: Mapped[int] = mapped_column(sa.ForeignKey("partnerships.id"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    #: the token the request came with (none for the web pages)
    api_token_id: Mapped[int | None] = mapped_column(sa.ForeignKey("api_tokens.id"))
    via: Mapped[AccessVia] = mapped_column(enum_type(AccessVia, "via"))
    object_kind: Mapped[AccessKind] = mapped_column(enum_type(AccessKind, "object_kind"))
    object_id: Mapped[int] = mapped_column()
    #: the route (Flask endpoint) that showed it, e.g. ``rounds.return_detail``
    endpoint: Mapped[str] = mapped_column(sa.String(100))
    #: the client's address as the proxy reports it (ProxyFix); IPv6 fits in 45 characters
    ip: Mapped[str] = mapped_column(sa.String(45), default="")
    user_agent: Mapped[str] = mapped_column(sa.String(USER_AGENT_LENGTH), default="")

    user = db.relationship("User", foreign_keys=[user_id], lazy="joined")


exempt_table(AccessEvent.__table__, "who opened what, by id, route, address and browser: never about one case's text")


# -- recording --


def _recording(via: AccessVia | None) -> AccessVia | None:
    """The way this request views things, or None when it records nothing (a write, no one signed in)."""
    if not has_request_context() or request.method != "GET":
        return None
    principal = current_principal()
    if principal.user_id is None or principal.partnership_id is None:
        return None
    return via or (AccessVia.API if request.blueprint == "api" else AccessVia.PAGE)


def record_access(kind: AccessKind, ids: int | Iterable[int], *, via: AccessVia | None = None) -> None:
    """Note that this request shows ``ids`` of ``kind``; written once the response succeeds.

    ``via`` defaults to the API for /api/v1 and to a page otherwise; pass DOWNLOAD for a file, EXPORT for a
    spreadsheet, PDF or CSV. Writes (POST, PUT, PATCH, DELETE) and anonymous requests record nothing.
    """
    way = _recording(via)
    if way is None:
        return
    pending: dict[tuple[AccessKind, int], AccessVia] = g.setdefault(_PENDING, {})
    for object_id in [ids] if isinstance(ids, int) else ids:
        pending.setdefault((AccessKind(kind), int(object_id)), way)


def record_access_of(kind: AccessKind, ids: sa.Select, *, via: AccessVia) -> None:
    """As :func:`record_access` for every id the one-column query ``ids`` selects (a large export's
    returns): written by one ``INSERT ... SELECT``, so the ids never travel to the app and back."""
    way = _recording(via)
    if way is not None:
        g.setdefault(_PENDING_QUERIES, []).append((AccessKind(kind), ids, way))


def pending_access() -> list[tuple[AccessKind, int, AccessVia]]:
    """What this request will record if it succeeds (ids given one by one)."""
    return [(kind, object_id, via) for (kind, object_id), via in g.get(_PENDING, {}).items()]


def _write(response: Response) -> Response:
    pending = g.pop(_PENDING, None)
    queries = g.pop(_PENDING_QUERIES, None)
    if not (pending or queries) or response.status_code >= 400:
        return response
    principal = current_principal()
    token = g.get("api_token") if request.blueprint == "api" else None
    common = {
        "occurred_at": utcnow(),
        "partnership_id": principal.partnership_id,
        "user_id": principal.user_id,
        "api_token_id": token.id if token is not None else None,
        "endpoint": (request.endpoint or "")[:100],
        "ip": (request.remote_addr or "")[:45],
        "user_agent": (request.user_agent.string or "")[:USER_AGENT_LENGTH],
    }
    if pending:
        rows = [common | {"object_kind": kind, "object_id": oid, "via": via} for (kind, oid), via in pending.items()]
        db.session.execute(sa.insert(AccessEvent), rows)
    for kind, ids, via in queries or ():
        found = ids.subquery()
        values = common | {"object_kind": kind, "via": via}
        columns = [AccessEvent.__table__.c[name] for name in values]
        constants = [sa.literal(value, column.type) for value, column in zip(values.values(), columns, strict=True)]
        select = sa.select(*constants, next(iter(found.c))).distinct()
        db.session.execute(sa.insert(AccessEvent).from_select([*(c.name for c in columns), "object_id"], select))
    db.session.commit()
    return response


def _forget(exc: BaseException | None) -> None:
    g.pop(_PENDING, None)
    g.pop(_PENDING_QUERIES, None)


def init_app(app: Flask) -> None:
    """Write each successful request's access rows after its response is made."""
    app.after_request(_write)
    app.teardown_request(_forget)


# -- labels and subjects, from the domains --

#: kind -> (partnership id, ids) -> {id: label}; ids not in the partnership are left out
_LABELS: dict[AccessKind, Callable[[int, set[int]], dict[int, str]]] = {}

#: (case id, partnership id) -> [(kind, ids)] of what belongs to the case (its returns, their files)
_CASE_CONTENTS: list[Callable[[int, int], list[tuple[AccessKind, set[int]]]]] = []


def register_access_labels(kind: AccessKind, labels: Callable[[int, set[int]], dict[int, str]]) -> None:
    """How a domain names its objects in the log: ``labels(partnership_id, ids) -> {id: label}``."""
    _LABELS[kind] = labels


def register_case_contents(contents: Callable[[int, int], list[tuple[AccessKind, set[int]]]]) -> None:
    """What belongs to a case (its returns, their files), for "who looked at case X":
    ``contents(case_id, partnership_id) -> [(kind, ids)]``."""
    _CASE_CONTENTS.append(contents)


def object_labels(partnership_id: int, wanted: Iterable[tuple[AccessKind, int]]) -> dict[tuple[AccessKind, int], str]:
    """(kind, id) -> the object's label today; one query per kind shown."""
    by_kind: dict[AccessKind, set[int]] = {}
    for kind, object_id in wanted:
        by_kind.setdefault(AccessKind(kind), set()).add(object_id)
    found: dict[tuple[AccessKind, int], str] = {}
    for kind, ids in by_kind.items():
        labels = _LABELS.get(kind)
        if labels is None:
            continue
        found |= {(kind, object_id): label for object_id, label in labels(partnership_id, ids).items()}
    return found


def label_of(labels: dict[tuple[AccessKind, int], str], kind: AccessKind, object_id: int) -> str:
    """An object's label, or, for one since deleted, its kind in words (never a bare id)."""
    return labels.get((AccessKind(kind), object_id)) or f"{AccessKind(kind).label} (since deleted)"


def case_objects(case_id: int, partnership_id: int) -> list[tuple[AccessKind, set[int]]]:
    """The case itself and everything registered as belonging to it."""
    objects = [(AccessKind.CASE, {case_id})]
    for contents in _CASE_CONTENTS:
        objects.extend(contents(case_id, partnership_id))
    return objects


def objects_condition(objects: list[tuple[AccessKind, set[int]]]) -> Any:
    """A WHERE clause matching access rows of any of ``objects``."""
    parts = [
        sa.and_(AccessEvent.object_kind == kind, AccessEvent.object_id.in_(sorted(ids))) for kind, ids in objects if ids
    ]
    return sa.or_(*parts) if parts else sa.false()


def _file_labels(partnership_id: int, ids: set[int]) -> dict[int, str]:
    from .storage import StoredFile

    rows = db.session.execute(
        sa.select(StoredFile.id, StoredFile.original_filename).where(
            StoredFile.partnership_id == partnership_id, StoredFile.id.in_(sorted(ids))
        )
    )
    return dict(rows.all())


register_access_labels(AccessKind.EVIDENCE_FILE, _file_labels)
