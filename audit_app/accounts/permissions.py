"""Who may do what with accounts, and the scoped queries that load them."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort

from ..core.permissions import Principal
from ..extensions import db
from .models import Agency, ApiToken, Membership, PartnershipAgency, Role, Sector, User


def can_view_agencies(p: Principal) -> bool:
    return p.partnership_id is not None and bool(p.roles)


def can_manage_accounts(p: Principal) -> bool:
    """Sectors, agencies and users are managed by the partnership's admins."""
    return p.has(Role.ADMIN)


def can_manage_account(p: Principal, user: User) -> bool:
    """Account-wide changes (name, email, active, password links) touch every
    partnership the person works in, so they need admin rights in all of them."""
    if not p.has(Role.ADMIN):
        return False
    their_partnerships = {m.partnership_id for m in user.memberships}
    return their_partnerships <= p.admin_partnership_ids


def can_view_users(p: Principal) -> bool:
    return p.has(Role.ADMIN, Role.SCRUTINEER)


def can_manage_token(p: Principal, token: ApiToken) -> bool:
    return p.user_id is not None and token.user_id == p.user_id


# -- scoped queries: filtering happens in SQL, never in Python or templates --


def sectors_query(partnership_id: int) -> sa.Select:
    return sa.select(Sector).where(Sector.partnership_id == partnership_id).order_by(Sector.name)


def agency_links_query(partnership_id: int, *, active_only: bool = False) -> sa.Select:
    query = (
        sa.select(PartnershipAgency)
        .join(PartnershipAgency.agency)
        .where(PartnershipAgency.partnership_id == partnership_id)
        .order_by(sa.func.lower(Agency.name))
    )
    if active_only:
        query = query.where(PartnershipAgency.is_active.is_(True))
    return query


def users_query(partnership_id: int) -> sa.Select:
    members = sa.select(Membership.user_id).where(Membership.partnership_id == partnership_id)
    return sa.select(User).where(User.id.in_(members)).order_by(sa.func.lower(User.name))


def get_sector_or_404(partnership_id: int, sector_id: int) -> Sector:
    sector = db.session.scalar(sa.select(Sector).where(Sector.id == sector_id, Sector.partnership_id == partnership_id))
    if sector is None:
        abort(404)
    return sector


def get_agency_link_or_404(partnership_id: int, agency_id: int) -> PartnershipAgency:
    link = db.session.scalar(
        sa.select(PartnershipAgency).where(
            PartnershipAgency.agency_id == agency_id, PartnershipAgency.partnership_id == partnership_id
        )
    )
    if link is None:
        abort(404)
    return link


def get_user_or_404(partnership_id: int, user_id: int) -> User:
    user = db.session.scalar(users_query(partnership_id).where(User.id == user_id))
    if user is None:
        abort(404)
    return user
