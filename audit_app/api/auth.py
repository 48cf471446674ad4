"""Bearer-token authentication for every API request."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import g, request

from ..accounts.models import ApiToken
from ..accounts.services import user_for_api_token
from ..accounts.session import build_principal
from ..core.models import utcnow
from ..core.permissions import ANONYMOUS
from ..core.web import json_error
from ..extensions import db
from . import bp

#: endpoints anyone may read without a token
PUBLIC_ENDPOINTS = {"api.openapi"}


@bp.before_request
def authenticate_token():
    g.principal = ANONYMOUS
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return json_error(401, "Authentication required: send 'Authorization: Bearer <token>'")
    token = user_for_api_token(secret.strip())
    if token is None:
        return json_error(401, "The token is not valid, has expired or was revoked")
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        db.session.execute(sa.update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now))
        db.session.commit()
    user = token.user
    g.audit_user = user
    g.api_token = token
    g.partnership_id = token.partnership_id
    g.principal = build_principal(user.id, token.partnership_id, user.memberships)
    if not g.principal.roles:
        return json_error(403, "You no longer have a role in this token's partnership")
    return None
