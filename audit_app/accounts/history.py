"""What accounts add to core's pages: the history of agencies, people, sectors and the partnership, and the
home page's list of the user's agencies."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import abort

from ..core.audit import AuditEvent
from ..core.permissions import Principal
from ..core.views import events_of, register_history, register_home_part
from ..extensions import db
from .models import Agency, AgencyName, Partnership
from .permissions import get_agency_link_or_404, get_sector_or_404, get_user_or_404


def _agency(entity_id: int, partnership_id: int) -> tuple[str, list[Any]]:
    """This partnership's copy of the agency's events: its own (with who) and those of the other
    partnerships it serves (naming the partnership, never the person: core.audit.Audited.audit_shared_with)."""
    link = get_agency_link_or_404(partnership_id, entity_id)
    names = sa.select(AgencyName.id).where(AgencyName.agency_id == entity_id)
    shared = sa.or_(
        events_of("Agency", entity_id),
        sa.and_(AuditEvent.entity_type == "AgencyName", AuditEvent.entity_id.in_(names)),
        events_of("PartnershipAgency", link.id),
    )
    return link.agency.name, [sa.and_(shared, AuditEvent.partnership_id == partnership_id)]


def _by_user(entity_type: str, user_id: int, partnership_id: int) -> Any:
    """Events of ``entity_type`` rows about the user in this partnership (never their roles elsewhere)."""
    return sa.and_(
        AuditEvent.entity_type == entity_type,
        AuditEvent.partnership_id == partnership_id,
        sa.or_(
            AuditEvent.after["user_id"].as_integer() == user_id,
            AuditEvent.before["user_id"].as_integer() == user_id,
        ),
    )


def _user(entity_id: int, partnership_id: int) -> tuple[str, list[Any]]:
    user = get_user_or_404(partnership_id, entity_id)
    membership_ids = sa.select(AuditEvent.entity_id).where(_by_user("Membership", entity_id, partnership_id))
    roles_here = sa.and_(
        AuditEvent.entity_type == "Membership",
        AuditEvent.entity_id.in_(membership_ids),
        AuditEvent.partnership_id == partnership_id,
    )
    return user.name, [events_of("User", entity_id), roles_here, _by_user("ApiToken", entity_id, partnership_id)]


def _sector(entity_id: int, partnership_id: int) -> tuple[str, list[Any]]:
    return get_sector_or_404(partnership_id, entity_id).name, [events_of("Sector", entity_id)]


def _partnership(entity_id: int, partnership_id: int) -> tuple[str, list[Any]]:
    if entity_id != partnership_id:
        abort(404)
    return db.session.get(Partnership, entity_id).name, [events_of("Partnership", entity_id)]


def _my_agencies(principal: Principal) -> dict[str, Any]:
    agencies: list[Agency] = []
    if principal.agency_ids():
        agencies = list(
            db.session.scalars(sa.select(Agency).where(Agency.id.in_(principal.agency_ids())).order_by(Agency.name))
        )
    return {"my_agencies": agencies}


register_history("agency", _agency)
register_history("user", _user)
register_history("sector", _sector)
register_history("partnership", _partnership)
register_home_part(_my_agencies)
