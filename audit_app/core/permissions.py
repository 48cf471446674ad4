"""Who the current user is, in which partnership, with which roles.

A :class:`Principal` is built once per request (web session or API token) and
passed to the pure ``can_<verb>_<noun>`` functions of each domain.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import abort, g

from .roles import Role


@dataclass(frozen=True)
class Principal:
    user_id: int | None = None
    partnership_id: int | None = None
    #: roles held in the current partnership, whatever the agency
    roles: frozenset[Role] = frozenset()
    #: (role, agency id) pairs for agency-bound roles
    agency_roles: frozenset[tuple[Role, int]] = field(default_factory=frozenset)
    #: every partnership where the user is an admin (account-wide changes need all of them)
    admin_partnership_ids: frozenset[int] = frozenset()

    @property
    def is_authenticated(self) -> bool:
        return self.user_id is not None

    def has(self, *roles: Role) -> bool:
        """True if the principal holds any of ``roles`` in the current partnership."""
        return any(role in self.roles for role in roles)

    def agency_ids(self, *roles: Role) -> frozenset[int]:
        """Agencies for which the principal holds any of ``roles`` (all agency roles if none given)."""
        wanted = set(roles) or {Role.AGENCY_LEAD, Role.AUDITOR}
        return frozenset(agency_id for role, agency_id in self.agency_roles if role in wanted)


ANONYMOUS = Principal()


def current_principal() -> Principal:
    """The principal of this request (anonymous outside one)."""
    return getattr(g, "principal", ANONYMOUS)


def can_view_history(p: Principal) -> bool:
    """The audit trail and each object's history: admins and scrutineers."""
    return p.has(Role.ADMIN, Role.SCRUTINEER)


def allowed_or_403(allowed: bool) -> None:
    """End a page's request with 403 unless the principal may do what it asks (the API has its own, with a
    JSON body: api.helpers.require)."""
    if not allowed:
        abort(403)
