"""Home page, the audit trail pages and the health check."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, render_template, request
from flask_login import login_required

from ..extensions import db, limiter
from .audit import ACTION_LABELS, AuditEvent
from .clock import LONDON
from .pagination import paginate
from .permissions import Principal, can_view_history, current_principal

bp = Blueprint("core", __name__)

PAGE_SIZE = 50


#: what each domain adds to the home page: principal -> template variables
_HOME_PARTS: list[Callable[[Principal], dict[str, Any]]] = []

#: entity type in the URL -> (entity id, partnership id) -> (label, conditions on AuditEvent); 404 if not in scope
_HISTORIES: dict[str, Callable[[int, int], tuple[str, list[Any]]]] = {}


def register_home_part(part: Callable[[Principal], dict[str, Any]]) -> None:
    """A domain's part of the home page (its template variables)."""
    _HOME_PARTS.append(part)


def register_history(entity_type: str, resolve: Callable[[int, int], tuple[str, list[Any]]]) -> None:
    """``/history/<entity_type>/<id>``: ``resolve(id, partnership_id)`` loads the object in scope (or 404s) and
    says which audit events are its history."""
    _HISTORIES[entity_type] = resolve


@dataclass
class AuditFilter:
    """A filter of the audit log by an object of a domain (a round, a case): the choices a partnership has,
    and the conditions, from each domain that records events about it, that pick its events."""

    label: str
    blank: str
    choices: Callable[[int], list[tuple[int, str]]]
    parts: list[Callable[[int], Any]] = field(default_factory=list)


#: filter name (the query parameter) -> the filter, in the order they show
_AUDIT_FILTERS: dict[str, AuditFilter] = {}


def register_audit_filter(
    name: str, *, label: str, blank: str, choices: Callable[[int], list[tuple[int, str]]]
) -> None:
    """``?<name>=<id>`` filters the audit log to one object; ``choices(partnership_id)`` lists them."""
    _AUDIT_FILTERS.setdefault(name, AuditFilter(label, blank, choices, _PENDING_PARTS.pop(name, [])))


#: parts added before their filter was registered (whichever package is imported first)
_PENDING_PARTS: dict[str, list[Callable[[int], Any]]] = {}


def add_audit_filter_part(name: str, condition: Callable[[int], Any]) -> None:
    """A domain says which events belong to the object ``name`` filters by: ``condition(object_id)``."""
    if name in _AUDIT_FILTERS:
        _AUDIT_FILTERS[name].parts.append(condition)
    else:
        _PENDING_PARTS.setdefault(name, []).append(condition)


def events_of(entity_type: str, entity_id: int) -> Any:
    """The audit events of one recorded object."""
    return sa.and_(AuditEvent.entity_type == entity_type, AuditEvent.entity_id == entity_id)


@bp.get("/")
@login_required
def home():
    """A home page that fits the user's roles in the current partnership."""
    principal = current_principal()
    context: dict[str, Any] = {}
    for part in _HOME_PARTS:
        context.update(part(principal))
    return render_template("core/home.html", **context)


@bp.get("/healthz")
@limiter.exempt  # a load balancer asks often, from one address
def healthz():
    """Liveness: the process answers. Asks nothing of the database or Redis (see /readyz)."""
    return {"status": "ok"}


@bp.get("/readyz")
@limiter.exempt
def readyz():
    """Readiness: the database answers at the newest migration, Redis (when set) answers, files can be written.
    200 when all hold, else 503; each check named with its state."""
    from .health import readiness

    body, ready = readiness()
    return body, 200 if ready else 503


@bp.get("/history/<entity_type>/<int:entity_id>")
@login_required
def history(entity_type: str, entity_id: int):
    """Every recorded change to one object, newest first."""
    principal = current_principal()
    if principal.partnership_id is None:
        abort(403)
    resolve = _HISTORIES.get(entity_type)
    if resolve is None:
        abort(404)
    label, conditions = resolve(entity_id, principal.partnership_id)
    if not can_view_history(principal):
        abort(403)
    events = db.session.scalars(
        sa.select(AuditEvent).where(sa.or_(*conditions)).order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
    ).all()
    return render_template(
        "core/history.html", label=label, entity_type=entity_type, events=events, values=value_names(events)
    )


def _words(name: str) -> str:
    """ "PartnershipAgency" -> "Partnership agency"; "sector_id" -> "Sector"; "is_active" -> "Active"."""
    name = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", name).replace("_", " ").strip()
    words = [w for w in name.split() if w.lower() not in ("id", "is", "has")] or name.split()
    text = " ".join(words).lower()
    return text[:1].upper() + text[1:]


#: the actions as people read them: one list, the audit trail's own (core.audit.ACTION_LABELS)
ACTIONS = {action.value: label for action, label in ACTION_LABELS.items()}


@bp.app_template_filter("audit_entity")
def audit_entity(entity_type: str) -> str:
    """What kind of record an event is about, in words."""
    return _words(entity_type)


@bp.app_template_filter("audit_action")
def audit_action(action: str) -> str:
    return ACTIONS.get(action, action.capitalize())


@bp.app_template_filter("audit_field")
def audit_field(name: str) -> str:
    return _words(name)


@bp.app_template_filter("audit_value")
def audit_value(value: Any) -> str:
    """A recorded value as people read it: yes/no, empty as a dash, never "None"."""
    if value is None or value == "":
        return "\u2013"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list):
        return "; ".join(audit_value(v) for v in value) or "\u2013"
    return str(value)


#: the columns that name a record, in the order tried
NAMING_COLUMNS = ("name", "title", "reference", "label", "email", "key")


def _own_name(obj: Any) -> str | None:
    for column in NAMING_COLUMNS:
        value = getattr(obj, column, None)
        if isinstance(value, str) and value:
            return value
    return None


def _record_name(obj: Any) -> str | None:
    """A record's name as people know it: its own name, title or reference, or else that of the first record it
    belongs to (an agency's membership of a partnership is named by the agency)."""
    own = _own_name(obj)
    if own is not None:
        return own
    for relationship in sa.inspect(type(obj)).relationships:
        if relationship.direction.name == "MANYTOONE":
            parent = getattr(obj, relationship.key, None)
            name = _own_name(parent) if parent is not None else None
            if name is not None:
                return name
    return None


def record_names(events: list[AuditEvent]) -> dict[tuple[str, int], str]:
    """(entity type, id) -> the record's name today, for the events shown; a deleted record is named from its
    last snapshot. Found through the mapped classes, so core names no domain."""
    classes = {mapper.class_.__name__: mapper.class_ for mapper in db.Model.registry.mappers}
    wanted: dict[str, set[int]] = {}
    for event in events:
        wanted.setdefault(event.entity_type, set()).add(event.entity_id)
    names: dict[tuple[str, int], str] = {}
    for entity_type, ids in wanted.items():
        cls = classes.get(entity_type)
        if cls is None:
            continue
        primary = sa.inspect(cls).primary_key[0]
        for obj in db.session.scalars(sa.select(cls).where(primary.in_(ids))).unique():
            name = _record_name(obj)
            if name is not None:
                names[(entity_type, getattr(obj, primary.key))] = name
    for event in events:
        key = (event.entity_type, event.entity_id)
        if key not in names:
            snapshot = event.before or event.after or {}
            name = next((snapshot[c] for c in NAMING_COLUMNS if isinstance(snapshot.get(c), str) and snapshot[c]), None)
            if name:
                names[key] = name
    return names


def value_names(events: list[AuditEvent]) -> dict[tuple[str, int], str]:
    """(field, id) -> the name of the record a recorded ``*_id`` value points to ("sector_id": 3 -> "Health"),
    found through the recorded class's foreign keys, so the log never shows a bare id where a name exists."""
    mappers = list(db.Model.registry.mappers)
    classes = {mapper.class_.__name__: mapper.class_ for mapper in mappers}
    by_table = {mapper.local_table.name: mapper.class_ for mapper in mappers}
    wanted: dict[Any, set[int]] = {}
    pointers: list[tuple[str, int, Any]] = []
    for event in events:
        cls = classes.get(event.entity_type)
        if cls is None:
            continue
        table = sa.inspect(cls).local_table
        for snapshot in (event.before or {}, event.after or {}):
            for key, value in snapshot.items():
                if not key.endswith("_id") or isinstance(value, bool) or not isinstance(value, int):
                    continue
                column = table.c.get(key)
                if column is None or not column.foreign_keys:
                    continue
                target = by_table.get(next(iter(column.foreign_keys)).column.table.name)
                if target is not None:
                    wanted.setdefault(target, set()).add(value)
                    pointers.append((key, value, target))
    found: dict[tuple[Any, int], str] = {}
    for target, ids in wanted.items():
        primary = sa.inspect(target).primary_key[0]
        for obj in db.session.scalars(sa.select(target).where(primary.in_(ids))).unique():
            name = _record_name(obj)
            if name is not None:
                found[(target, getattr(obj, primary.key))] = name
    return {(key, value): found[(target, value)] for key, value, target in pointers if (target, value) in found}


def _date_arg(name: str, label: str, errors: dict[str, str]) -> date | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors[name] = f"{label}: enter a date such as 2026-11-30"
        return None


@bp.get("/audit-log")
@login_required
def audit_log():
    """The partnership's whole audit trail, newest first, a page at a time, filtered by kind, person and date."""
    principal = current_principal()
    if not can_view_history(principal):
        abort(403)
    mine = AuditEvent.partnership_id == principal.partnership_id
    types = db.session.scalars(
        sa.select(AuditEvent.entity_type).where(mine).distinct().order_by(AuditEvent.entity_type)
    ).all()
    people = (
        db.session.execute(sa.select(AuditEvent.actor_label).where(mine).distinct().order_by(AuditEvent.actor_label))
        .scalars()
        .all()
    )
    errors: dict[str, str] = {}
    entity_type = request.args.get("type", "").strip()
    if entity_type and entity_type not in types:
        errors["type"] = "Show changes to: choose one of the kinds listed"
        entity_type = ""
    person = request.args.get("person", "").strip()
    if person and person not in people:
        errors["person"] = "Made by: choose one of the people listed"
        person = ""
    since = _date_arg("from", "From", errors)
    until = _date_arg("to", "To", errors)
    if since and until and since > until:
        errors["to"] = "To: must be the same as or after the from date"
        until = None
    chosen: dict[str, int] = {}
    object_choices: dict[str, list[tuple[int, str]]] = {}
    for name, audit_filter in _AUDIT_FILTERS.items():
        object_choices[name] = audit_filter.choices(principal.partnership_id)
        raw_id = request.args.get(name, "").strip()
        if raw_id:
            if raw_id.isdigit() and int(raw_id) in {value for value, _ in object_choices[name]}:
                chosen[name] = int(raw_id)
            else:
                errors[name] = f"{audit_filter.label}: choose one of those listed"
    query = sa.select(AuditEvent).where(mine)
    for name, object_id in chosen.items():
        query = query.where(sa.or_(*(part(object_id) for part in _AUDIT_FILTERS[name].parts)))
    if entity_type:
        query = query.where(AuditEvent.entity_type == entity_type)
    if person:
        query = query.where(AuditEvent.actor_label == person)
    if since:
        # the dates are days in England (GMT or BST), as the people filtering mean them
        query = query.where(AuditEvent.occurred_at >= datetime.combine(since, time.min, tzinfo=LONDON))
    if until:
        query = query.where(
            AuditEvent.occurred_at < datetime.combine(until + timedelta(days=1), time.min, tzinfo=LONDON)
        )
    events = paginate(query.order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc()), per_page=PAGE_SIZE)
    args = {k: v for k, v in (("type", entity_type), ("person", person)) if v}
    args |= {name: str(object_id) for name, object_id in chosen.items()}
    args |= {k: v.isoformat() for k, v in (("from", since), ("to", until)) if v}
    if events.per_page != PAGE_SIZE:
        args["per_page"] = str(events.per_page)
    return render_template(
        "core/audit_log.html",
        events=events,
        names=record_names(events.items),
        values=value_names(events.items),
        types=types,
        people=people,
        entity_type=entity_type,
        person=person,
        object_filters=[
            (name, f.label, f.blank, object_choices[name], chosen.get(name)) for name, f in _AUDIT_FILTERS.items()
        ],
        raw={name: request.args.get(name, "") for name in ("from", "to")},
        args=args,
        errors=errors,
    ), 400 if errors else 200
