"""API endpoints for account security: unlocking a locked account, the partnership's settings (with "require
two-factor sign-in"), and the token's user's signed-in browser sessions.

Setting up two-factor sign-in has no endpoint: it is for the person at the browser (see docs/api.md).
"""

from __future__ import annotations

from datetime import datetime

from flask import abort, g, jsonify
from pydantic import BaseModel, Field, StrictBool, StrictInt

from ..accounts import security, services
from ..accounts.models import Partnership, UserSession
from ..accounts.permissions import can_manage_account, can_manage_accounts, get_user_or_404
from ..accounts.services import RETENTION_MAX_MONTHS, RETENTION_MIN_MONTHS
from ..extensions import db
from .helpers import page_of, parse_body, principal, require
from .schemas import Name200, Strict, UserOut
from .spec import ANY_ROLE, api_route
from .views import ADMIN, _user


class SessionOut(BaseModel):
    id: int
    browser: str = Field(description='A short description of the browser, such as "Firefox on Windows"')
    ip_address: str = Field(description="The network address it signed in from ('' if not known)")
    started_at: datetime
    last_active_at: datetime = Field(description="Updated at most once a minute")


class PartnershipSettingsOut(BaseModel):
    id: int
    name: str
    qa_group_name: str
    auditors_can_submit: bool
    action_remind_days_before: int
    action_overdue_every_days: int
    require_two_factor: bool = Field(
        description="Administrators and QA members must sign in with a second factor (API tokens are not affected)"
    )
    retention_months: int | None = Field(
        description="Case records of a reported case audit round are removed this many months after it was "
        "reported (flask purge); null: kept until a period is set"
    )


class PartnershipSettingsPatch(Strict):
    qa_group_name: Name200 | None = None
    auditors_can_submit: StrictBool | None = None
    action_remind_days_before: int | None = Field(default=None, description="0 to 90 days; 0: no reminder")
    action_overdue_every_days: int | None = Field(default=None, description="0 to 90 days; 0: never")
    require_two_factor: StrictBool | None = None
    retention_months: StrictInt | None = Field(
        default=None,
        ge=RETENTION_MIN_MONTHS,
        le=RETENTION_MAX_MONTHS,
        description="12 to 600 months; null for no period (records kept). Left out: unchanged",
    )


def _session(row: UserSession) -> dict:
    return SessionOut(
        id=row.id,
        browser=row.browser,
        ip_address=row.ip_address,
        started_at=row.started_at,
        last_active_at=row.last_active_at,
    ).model_dump(mode="json")


def _settings(partnership: Partnership) -> dict:
    return PartnershipSettingsOut(
        id=partnership.id,
        name=partnership.name,
        qa_group_name=partnership.qa_group_name,
        auditors_can_submit=partnership.auditors_can_submit,
        action_remind_days_before=partnership.action_remind_days_before,
        action_overdue_every_days=partnership.action_overdue_every_days,
        require_two_factor=partnership.require_two_factor,
        retention_months=partnership.retention_months,
    ).model_dump(mode="json")


# -- unlocking --


@api_route(
    "/users/<int:user_id>/unlock",
    "POST",
    summary="Unlock an account locked by failed sign-ins",
    tag="accounts",
    response_model=UserOut,
    roles=ADMIN,
    roles_note="admin of a partnership where the user holds a role",
    refusals={409: "The account is not locked"},
)
def users_unlock(user_id: int):
    """Let a user locked out by failed sign-ins sign in again (recorded in the audit trail)."""
    p = principal()
    user = get_user_or_404(p.partnership_id, user_id)
    require(can_manage_accounts(p))
    security.unlock_user(user, partnership_id=p.partnership_id)
    db.session.commit()
    return jsonify(_user(user, p.partnership_id))


@api_route(
    "/users/<int:user_id>/two-factor/reset",
    "POST",
    summary="Turn off a user's two-factor sign-in (lost phone and recovery codes)",
    tag="accounts",
    response_model=UserOut,
    roles=ADMIN,
    roles_note="admin in every partnership where the user holds a role",
    refusals={409: "Two-factor sign-in is already off"},
)
def users_two_factor_reset(user_id: int):
    """Turn off a user's two-factor sign-in and end their sessions (recorded in the audit trail)."""
    p = principal()
    user = get_user_or_404(p.partnership_id, user_id)
    require(can_manage_account(p, user))
    security.reset_two_factor(user, partnership_id=p.partnership_id)
    db.session.commit()
    return jsonify(_user(user, p.partnership_id))


# -- partnership settings --


@api_route(
    "/partnership/settings",
    "GET",
    summary="The partnership's settings",
    tag="accounts",
    response_model=PartnershipSettingsOut,
    roles=ADMIN,
)
def partnership_settings_get():
    """The token's partnership's settings, as on its settings page."""
    p = principal()
    require(can_manage_accounts(p))
    return jsonify(_settings(db.session.get(Partnership, p.partnership_id)))


@api_route(
    "/partnership/settings",
    "PATCH",
    summary="Change the partnership's settings",
    tag="accounts",
    request_model=PartnershipSettingsPatch,
    response_model=PartnershipSettingsOut,
    roles=ADMIN,
)
def partnership_settings_update():
    """Change any of the settings; those left out stay as they are."""
    p = principal()
    require(can_manage_accounts(p))
    body = parse_body(PartnershipSettingsPatch)
    partnership = db.session.get(Partnership, p.partnership_id)
    services.update_partnership_settings(
        partnership,
        qa_group_name=body.qa_group_name if body.qa_group_name is not None else partnership.qa_group_name,
        auditors_can_submit=body.auditors_can_submit,
        action_remind_days_before=body.action_remind_days_before,
        action_overdue_every_days=body.action_overdue_every_days,
        require_two_factor=body.require_two_factor,
        # null is a value here (no period): only a field left out stays as it is
        **({"retention_months": body.retention_months} if "retention_months" in body.model_fields_set else {}),
    )
    db.session.commit()
    return jsonify(_settings(partnership))


# -- the token's user's browser sessions --


@api_route(
    "/account/sessions",
    "GET",
    summary="Your signed-in browser sessions",
    tag="accounts",
    response_model=SessionOut,
    many=True,
    roles=ANY_ROLE,
)
def account_sessions():
    """The token's user's browser sessions that still work (API tokens are not sessions: see /me)."""
    return page_of(security.live_sessions_query(g.audit_user), _session)


@api_route(
    "/account/sessions/<int:session_id>",
    "DELETE",
    summary="End one of your browser sessions",
    tag="accounts",
    status=204,
    roles=ANY_ROLE,
)
def account_session_end(session_id: int):
    """End a browser session of the token's user: its cookie stops working at its next request."""
    row = security.get_live_session(g.audit_user, session_id)
    if row is None:
        abort(404)
    security.end_session(row)
    db.session.commit()
    return "", 204
