"""Home page, the audit trail pages and the health check."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, render_template, request
from flask_login import login_required

from ..extensions import db
from .audit import AuditEvent
from .inputs import MAX_ID, whole_number
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
def healthz():
    """Liveness and database check for load balancers."""
    db.session.execute(sa.text("SELECT 1"))
    return {"status": "ok"}


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
    return render_template("core/history.html", label=label, entity_type=entity_type, events=events)


@bp.get("/audit-log")
@login_required
def audit_log():
    """The partnership's whole audit trail, newest first, a page at a time."""
    principal = current_principal()
    if not can_view_history(principal):
        abort(403)
    page_number = whole_number(request.args.get("page", "1"))
    if page_number is None:
        abort(400, f"page must be a whole number from 1 to {MAX_ID}")
    entity_type = request.args.get("type") or None
    query = sa.select(AuditEvent).where(AuditEvent.partnership_id == principal.partnership_id)
    if entity_type:
        query = query.where(AuditEvent.entity_type == entity_type)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    events = db.session.scalars(
        query.order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
        .limit(PAGE_SIZE)
        .offset((page_number - 1) * PAGE_SIZE)
    ).all()
    types = db.session.scalars(
        sa.select(AuditEvent.entity_type)
        .where(AuditEvent.partnership_id == principal.partnership_id)
        .distinct()
        .order_by(AuditEvent.entity_type)
    ).all()
    pages = max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE)
    return render_template(
        "core/audit_log.html",
        events=events,
        page=page_number,
        pages=pages,
        total=total,
        types=types,
        entity_type=entity_type,
    )
