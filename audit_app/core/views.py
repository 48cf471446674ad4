"""Home page, the audit trail pages and the health check."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, render_template, request
from flask_login import login_required

from ..accounts.models import Agency, Partnership
from ..accounts.permissions import can_view_history, get_agency_link_or_404, get_sector_or_404, get_user_or_404
from ..extensions import db
from .audit import AuditEvent
from .permissions import current_principal

bp = Blueprint("core", __name__)

PAGE_SIZE = 50


@bp.get("/")
@login_required
def home():
    """A home page that fits the user's roles in the current partnership."""
    principal = current_principal()
    agencies = []
    if principal.agency_ids():
        agencies = db.session.scalars(
            sa.select(Agency).where(Agency.id.in_(principal.agency_ids())).order_by(Agency.name)
        ).all()
    return render_template("core/home.html", my_agencies=agencies)


@bp.get("/healthz")
def healthz():
    """Liveness and database check for load balancers."""
    db.session.execute(sa.text("SELECT 1"))
    return {"status": "ok"}


def _history_entity(entity_type: str, entity_id: int, partnership_id: int) -> tuple[str, list[tuple[str, int]]]:
    """Load the object the history is for (scoped) and return a label and the (type, id) pairs to show."""
    if entity_type == "agency":
        link = get_agency_link_or_404(partnership_id, entity_id)
        return link.agency.name, [("Agency", entity_id), ("PartnershipAgency", link.id)]
    if entity_type == "user":
        user = get_user_or_404(partnership_id, entity_id)
        return user.name, [("User", entity_id)]
    if entity_type == "sector":
        sector = get_sector_or_404(partnership_id, entity_id)
        return sector.name, [("Sector", entity_id)]
    if entity_type == "partnership":
        if entity_id != partnership_id:
            abort(404)
        return db.session.get(Partnership, entity_id).name, [("Partnership", entity_id)]
    abort(404)


@bp.get("/history/<entity_type>/<int:entity_id>")
@login_required
def history(entity_type: str, entity_id: int):
    """Every recorded change to one object, newest first."""
    principal = current_principal()
    if principal.partnership_id is None:
        abort(403)
    label, keys = _history_entity(entity_type, entity_id, principal.partnership_id)
    if not can_view_history(principal):
        abort(403)
    conditions = [sa.and_(AuditEvent.entity_type == t, AuditEvent.entity_id == i) for t, i in keys]
    if entity_type == "user":
        # The user's roles here, never their roles in other partnerships.
        membership_ids = sa.select(AuditEvent.entity_id).where(
            AuditEvent.entity_type == "Membership",
            AuditEvent.partnership_id == principal.partnership_id,
            sa.or_(
                AuditEvent.after["user_id"].as_integer() == entity_id,
                AuditEvent.before["user_id"].as_integer() == entity_id,
            ),
        )
        conditions.append(
            sa.and_(
                AuditEvent.entity_type == "Membership",
                AuditEvent.entity_id.in_(membership_ids),
                AuditEvent.partnership_id == principal.partnership_id,
            )
        )
        conditions.append(
            sa.and_(
                AuditEvent.entity_type == "ApiToken",
                AuditEvent.partnership_id == principal.partnership_id,
                sa.or_(
                    AuditEvent.after["user_id"].as_integer() == entity_id,
                    AuditEvent.before["user_id"].as_integer() == entity_id,
                ),
            )
        )
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
    page = request.args.get("page", "1")
    if not page.isdigit() or int(page) < 1:
        abort(400, "page must be a whole number from 1")
    page_number = int(page)
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
