"""Who sees which findings. Scoping is in the query: the principal's scope is passed to every
reporting query, so an agency's figures never include another agency's returns.

* The partnership-wide roles (admin, QA member, scrutineer) see every agency's figures,
  the multi-agency panel's grades and texts, re-audit comparisons and the PDF report.
* Agency leads and auditors see their own agencies' figures only, for rounds their agency
  was asked to return to, and the panel's grades on their own cases beside their own.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort

from ..core.permissions import Principal
from ..extensions import db
from ..questionnaires.models import Theme
from ..rounds.models import Round, RoundStatus
from ..rounds.permissions import PARTNERSHIP_WIDE


def can_view_findings(p: Principal) -> bool:
    return bool(p.roles)


def sees_everything(p: Principal) -> bool:
    return p.has(*PARTNERSHIP_WIDE)


def findings_scope(p: Principal) -> frozenset[int] | None:
    """The agencies whose returns the principal's figures come from (None: every agency)."""
    return None if sees_everything(p) else p.agency_ids()


def findings_rounds_query(p: Principal) -> sa.Select:
    """Rounds with findings the principal may see: opened rounds the partnership planned (for an agency,
    those it was asked to return to).

    The findings queries read each agency's sector in the planning partnership, so a round shared with this
    partnership by another is read in its self-assessment report and return rates, which count each
    partnership's own agencies, not here."""
    query = (
        sa.select(Round)
        .where(Round.partnership_id == p.partnership_id, Round.status != RoundStatus.PLANNING)
        .order_by(Round.created_at.desc())
    )
    if not p.roles:
        return query.where(sa.false())
    if not sees_everything(p):
        from .queries import asked_of

        query = query.where(asked_of(p.agency_ids()))
    return query


def get_findings_round_or_404(p: Principal, round_id: int) -> Round:
    round_ = db.session.scalar(findings_rounds_query(p).where(Round.id == round_id))
    if round_ is None:
        abort(404)
    return round_


def get_theme_or_404(p: Principal, theme_id: int) -> Theme:
    theme = db.session.scalar(sa.select(Theme).where(Theme.id == theme_id, Theme.partnership_id == p.partnership_id))
    if theme is None or not p.roles:
        abort(404)
    return theme
