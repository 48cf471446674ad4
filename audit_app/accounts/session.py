"""Who is asking: the signed-in user of a session cookie, their partnership and their principal.

Registered on the app by :func:`init_app` (the API's bearer tokens build the same principal in
``api/auth.py``). Core knows only the :class:`Principal`; this is where it comes from.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Flask, g, redirect, request, session, url_for
from flask_login import current_user

from ..core.permissions import Principal, current_principal
from ..core.roles import Role
from ..core.web import wants_json
from ..extensions import db, login_manager
from . import security
from .models import Membership, Partnership, User

#: the session key that holds the cookie's server-side session key (accounts.security.start_session)
SESSION_KEY = "sid"
#: pages a person who must enrol in two-factor sign-in can still reach
_ENROLMENT_ENDPOINTS = frozenset({"accounts.two_factor_setup", "accounts.logout", "static"})


def build_principal(user_id: int, partnership_id: int | None, memberships: list[Membership]) -> Principal:
    """The principal for a user acting in one partnership."""
    here = [m for m in memberships if m.partnership_id == partnership_id]
    return Principal(
        user_id=user_id,
        partnership_id=partnership_id,
        roles=frozenset(m.role for m in here),
        agency_roles=frozenset((m.role, m.agency_id) for m in here if m.agency_id is not None),
        admin_partnership_ids=frozenset(m.partnership_id for m in memberships if m.role == Role.ADMIN),
    )


def principal_for(user_id: int, partnership_id: int) -> Principal:
    """The principal a user acts as in a partnership, outside a request (a job acting for the person who asked)."""
    memberships = list(db.session.scalars(sa.select(Membership).where(Membership.user_id == user_id)))
    return build_principal(user_id, partnership_id, memberships)


@login_manager.user_loader
def _load_user(session_id: str) -> User | None:
    """The user of a session cookie, if the cookie is still current (see User.session_version)."""
    user_id, _, version = session_id.partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.is_active or user.session_version != int(version):
        return None
    # the server-side record of this sign-in: ended from the account page, or idle too long, it is refused
    row = security.session_for_key(user, session.get(SESSION_KEY))
    if row is None:
        return None
    g.user_session_id = row.id
    security.touch_session(row)
    return user


def current_session_id() -> int | None:
    """The id of the signed-in browser's session record (for "this session")."""
    return g.get("user_session_id")


def _require_enrolment():
    """Someone whose partnership requires two-factor sign-in for their role sets it up before anything else."""
    if wants_json() or not current_user.is_authenticated or request.endpoint in _ENROLMENT_ENDPOINTS:
        return None
    if current_user.has_two_factor or not security.two_factor_required(current_user):
        return None
    return redirect(url_for("accounts.two_factor_setup"))


def _load_principal() -> None:
    """The signed-in user's principal in the partnership they chose (or their first)."""
    if wants_json() or not current_user.is_authenticated:
        return
    memberships = current_user.memberships
    partnership_ids = sorted({m.partnership_id for m in memberships})
    chosen = session.get("partnership_id")
    if chosen not in partnership_ids:
        chosen = partnership_ids[0] if partnership_ids else None
        session["partnership_id"] = chosen
    g.partnership_id = chosen
    g.principal = build_principal(current_user.id, chosen, memberships)


def _partnership_globals() -> dict[str, Any]:
    """The current partnership and the others the user can switch to, for the page header. Read once a
    request: every template rendered runs context processors, form fields drawn by govuk_frontend_wtf too."""
    principal = current_principal()
    key = (principal.user_id if principal.is_authenticated else None, principal.partnership_id)
    cached = g.get("partnership_globals")
    if cached is None or cached[0] != key:
        cached = g.partnership_globals = (key, _read_partnership_globals())
    return cached[1]


def _read_partnership_globals() -> dict[str, Any]:
    principal = current_principal()
    partnership = db.session.get(Partnership, principal.partnership_id) if principal.partnership_id else None
    partnerships: list[Partnership] = []
    if principal.is_authenticated:
        partnerships = list(
            db.session.scalars(
                sa.select(Partnership)
                .where(
                    Partnership.id.in_(
                        sa.select(Membership.partnership_id).where(Membership.user_id == principal.user_id)
                    )
                )
                .order_by(Partnership.name)
            )
        )
    return {"current_partnership": partnership, "user_partnerships": partnerships}


def init_app(app: Flask) -> None:
    """Say who is asking on every request (after core has started each request anonymous)."""
    app.before_request(_load_principal)
    app.before_request(_require_enrolment)
    app.context_processor(_partnership_globals)
