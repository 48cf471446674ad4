"""The versioned JSON API at /api/v1, authenticated by personal API tokens."""

from __future__ import annotations

from flask import Blueprint

from ..extensions import csrf

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)  # token-authenticated, no cookies: CSRF does not apply

from . import (  # noqa: E402,F401  (register hooks and routes on bp)
    access_log,
    account_security,
    actions,
    auth,
    case_audits,
    challenges,
    findings,
    learning,
    questionnaires,
    retention,
    review_reports,
    review_summaries,
    reviews,
    rounds,
    sa_evidence,
    sa_reports,
    scrutiny,
    spec,
    surveys,
    theme_counts,
    views,
)
