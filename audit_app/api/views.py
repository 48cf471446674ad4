"""API endpoints for the current user, sectors, agencies and users."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, g, jsonify

from ..accounts import security, services
from ..accounts.invitations import send_invitation
from ..accounts.models import Membership, Partnership, PartnershipAgency, Role, Sector, User
from ..accounts.permissions import (
    agency_links_query,
    can_manage_account,
    can_manage_accounts,
    can_view_agencies,
    can_view_users,
    get_agency_link_or_404,
    get_sector_or_404,
    get_user_or_404,
    sectors_query,
    users_query,
)
from ..core.errors import DomainError
from ..extensions import db
from .helpers import page_of, parse_body, principal, require
from .schemas import (
    AgencyIn,
    AgencyOut,
    AgencyPatch,
    MembershipIn,
    MembershipOut,
    MeOut,
    SectorIn,
    SectorOut,
    SectorPatch,
    UserIn,
    UserOut,
    UserPatch,
)
from .spec import ANY_ROLE, api_route

ADMIN = (Role.ADMIN,)
USER_VIEWERS = (Role.ADMIN, Role.SCRUTINEER)


def _sector(sector: Sector) -> dict:
    return SectorOut(id=sector.id, key=sector.key, name=sector.name).model_dump()


def _agency(link: PartnershipAgency) -> dict:
    return AgencyOut(
        id=link.agency_id,
        name=link.agency.name,
        sector=SectorOut(id=link.sector.id, key=link.sector.key, name=link.sector.name),
        is_active=link.is_active,
        previous_names=[n.name for n in link.agency.previous_names],
        short_code=link.short_code,
        reference_number=link.reference_number,
        contact_email=link.contact_email,
    ).model_dump(mode="json")


def _memberships(user: User, partnership_id: int) -> list[MembershipOut]:
    return [
        MembershipOut(id=m.id, role=m.role, agency_id=m.agency_id, agency_name=m.agency.name if m.agency else None)
        for m in user.memberships
        if m.partnership_id == partnership_id
    ]


def _user(user: User, partnership_id: int) -> dict:
    return UserOut(
        id=user.id,
        email=user.email,
        name=user.name,
        is_active=user.is_active,
        has_password=user.password_hash is not None,
        two_factor=user.has_two_factor,
        is_locked=security.is_locked(user.email),
        roles=_memberships(user, partnership_id),
    ).model_dump(mode="json")


def _sector_in(partnership_id: int, sector_id: int | None) -> Sector | None:
    if sector_id is None:
        return None
    sector = db.session.scalar(sa.select(Sector).where(Sector.id == sector_id, Sector.partnership_id == partnership_id))
    if sector is None:
        raise DomainError("No such sector in this partnership", field="sector_id")
    return sector


# -- me --


@api_route(
    "/me",
    "GET",
    summary="The token's user, partnership and roles",
    tag="accounts",
    response_model=MeOut,
    roles=ANY_ROLE,
)
def me():
    """Who the token acts for."""
    p = principal()
    user = db.session.get(User, p.user_id)
    partnership = db.session.get(Partnership, p.partnership_id)
    return jsonify(
        MeOut(
            id=user.id,
            email=user.email,
            name=user.name,
            partnership_id=partnership.id,
            partnership_name=partnership.name,
            roles=_memberships(user, partnership.id),
            token_expires_at=g.api_token.expires_at,
        ).model_dump(mode="json")
    )


# -- sectors --


@api_route(
    "/sectors", "GET", summary="List sectors", tag="accounts", response_model=SectorOut, many=True, roles=ANY_ROLE
)
def sectors_list():
    """The partnership's sectors."""
    p = principal()
    require(can_view_agencies(p))
    return page_of(sectors_query(p.partnership_id), _sector)


@api_route(
    "/sectors",
    "POST",
    summary="Create a sector",
    tag="accounts",
    request_model=SectorIn,
    response_model=SectorOut,
    status=201,
    roles=ADMIN,
)
def sectors_create():
    """Add a sector."""
    p = principal()
    require(can_manage_accounts(p))
    body = parse_body(SectorIn)
    sector = services.create_sector(p.partnership_id, body.name, body.key)
    db.session.commit()
    return jsonify(_sector(sector)), 201


@api_route(
    "/sectors/<int:sector_id>", "GET", summary="Get a sector", tag="accounts", response_model=SectorOut, roles=ANY_ROLE
)
def sectors_get(sector_id: int):
    """One sector."""
    p = principal()
    sector = get_sector_or_404(p.partnership_id, sector_id)
    require(can_view_agencies(p))
    return jsonify(_sector(sector))


@api_route(
    "/sectors/<int:sector_id>",
    "PATCH",
    summary="Rename a sector",
    tag="accounts",
    request_model=SectorPatch,
    response_model=SectorOut,
    roles=ADMIN,
)
def sectors_update(sector_id: int):
    """Rename a sector (its key stays)."""
    p = principal()
    sector = get_sector_or_404(p.partnership_id, sector_id)
    require(can_manage_accounts(p))
    body = parse_body(SectorPatch)
    services.rename_sector(sector, body.name)
    db.session.commit()
    return jsonify(_sector(sector))


# -- agencies --


@api_route(
    "/agencies", "GET", summary="List agencies", tag="accounts", response_model=AgencyOut, many=True, roles=ANY_ROLE
)
def agencies_list():
    """The partnership's agencies, active and inactive."""
    p = principal()
    require(can_view_agencies(p))
    return page_of(agency_links_query(p.partnership_id), _agency, unique=True)


@api_route(
    "/agencies",
    "POST",
    summary="Create an agency",
    tag="accounts",
    request_model=AgencyIn,
    response_model=AgencyOut,
    status=201,
    roles=ADMIN,
)
def agencies_create():
    """Add a new agency to the partnership."""
    p = principal()
    require(can_manage_accounts(p))
    body = parse_body(AgencyIn)
    link = services.create_agency(
        p.partnership_id,
        body.name,
        _sector_in(p.partnership_id, body.sector_id),
        short_code=body.short_code,
        reference_number=body.reference_number,
        contact_email=body.contact_email,
    )
    db.session.commit()
    return jsonify(_agency(link)), 201


@api_route(
    "/agencies/<int:agency_id>",
    "GET",
    summary="Get an agency",
    tag="accounts",
    response_model=AgencyOut,
    roles=ANY_ROLE,
)
def agencies_get(agency_id: int):
    """One agency, with its previous names."""
    p = principal()
    link = get_agency_link_or_404(p.partnership_id, agency_id)
    require(can_view_agencies(p))
    return jsonify(_agency(link))


@api_route(
    "/agencies/<int:agency_id>",
    "PATCH",
    summary="Rename, move or (de)activate an agency",
    tag="accounts",
    request_model=AgencyPatch,
    response_model=AgencyOut,
    roles=ADMIN,
)
def agencies_update(agency_id: int):
    """Change an agency; a new name keeps the old one on record."""
    p = principal()
    link = get_agency_link_or_404(p.partnership_id, agency_id)
    require(can_manage_accounts(p))
    body = parse_body(AgencyPatch)
    changes = (body.name, body.sector_id, body.short_code, body.reference_number, body.contact_email)
    if any(value is not None for value in changes):
        sector = _sector_in(p.partnership_id, body.sector_id) if body.sector_id is not None else link.sector
        services.update_agency(
            link,
            body.name if body.name is not None else link.agency.name,
            sector,
            short_code=body.short_code,
            reference_number=body.reference_number,
            contact_email=body.contact_email,
        )
    if body.is_active is not None and body.is_active != link.is_active:
        services.set_agency_active(link, body.is_active)
    db.session.commit()
    return jsonify(_agency(link))


# -- users --


@api_route("/users", "GET", summary="List users", tag="accounts", response_model=UserOut, many=True, roles=USER_VIEWERS)
def users_list():
    """People with a role in the partnership."""
    p = principal()
    require(can_view_users(p))
    return page_of(users_query(p.partnership_id), lambda u: _user(u, p.partnership_id))


@api_route(
    "/users",
    "POST",
    summary="Create a user (or add a role to an existing account)",
    tag="accounts",
    request_model=UserIn,
    response_model=UserOut,
    status=201,
    roles=ADMIN,
)
def users_create():
    """Create a user with a first role. Without a password the account waits for an invitation."""
    p = principal()
    require(can_manage_accounts(p))
    body = parse_body(UserIn)
    user, created = services.create_user(
        p.partnership_id,
        email=str(body.email),
        name=body.name,
        role=body.role,
        agency_id=body.agency_id,
        password=body.password,
    )
    db.session.commit()
    result = _user(user, p.partnership_id)
    if created and body.password is None:
        result["invitation"] = send_invitation(user, db.session.get(Partnership, p.partnership_id))
    return jsonify(result), 201


@api_route(
    "/users/<int:user_id>",
    "GET",
    summary="Get a user",
    tag="accounts",
    response_model=UserOut,
    roles=USER_VIEWERS,
)
def users_get(user_id: int):
    """One user and their roles here."""
    p = principal()
    user = get_user_or_404(p.partnership_id, user_id)
    require(can_view_users(p))
    return jsonify(_user(user, p.partnership_id))


@api_route(
    "/users/<int:user_id>",
    "PATCH",
    summary="Change a user's name, email or active state",
    tag="accounts",
    request_model=UserPatch,
    response_model=UserOut,
    roles=ADMIN,
    roles_note="admin in every partnership where the user holds a role",
)
def users_update(user_id: int):
    """Update a user."""
    p = principal()
    user = get_user_or_404(p.partnership_id, user_id)
    require(can_manage_account(p, user))
    body = parse_body(UserPatch)
    if body.name is not None or body.email is not None:
        services.update_user(user, name=body.name or user.name, email=str(body.email) if body.email else user.email)
    if body.is_active is not None and body.is_active != user.is_active:
        services.set_user_active(user, body.is_active, by=g.audit_user, partnership_id=p.partnership_id)
    db.session.commit()
    return jsonify(_user(user, p.partnership_id))


@api_route(
    "/users/<int:user_id>/roles",
    "POST",
    summary="Give a user a role",
    tag="accounts",
    request_model=MembershipIn,
    response_model=UserOut,
    status=201,
    roles=ADMIN,
)
def users_add_role(user_id: int):
    """Add a role (and agency, for agency roles) to a user."""
    p = principal()
    user = get_user_or_404(p.partnership_id, user_id)
    require(can_manage_accounts(p))
    body = parse_body(MembershipIn)
    services.add_membership(user, p.partnership_id, body.role, body.agency_id)
    db.session.commit()
    return jsonify(_user(user, p.partnership_id)), 201


@api_route(
    "/users/<int:user_id>/roles/<int:membership_id>",
    "DELETE",
    summary="Take a role away",
    tag="accounts",
    status=204,
    roles=ADMIN,
)
def users_remove_role(user_id: int, membership_id: int):
    """Remove one of a user's roles in this partnership."""
    p = principal()
    user = get_user_or_404(p.partnership_id, user_id)
    require(can_manage_accounts(p))
    membership = db.session.scalar(
        sa.select(Membership).where(
            Membership.id == membership_id, Membership.user_id == user.id, Membership.partnership_id == p.partnership_id
        )
    )
    if membership is None:
        abort(404)
    services.remove_membership(membership)
    db.session.commit()
    return "", 204
