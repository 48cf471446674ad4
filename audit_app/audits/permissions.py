"""Who may see and do what with rounds and returns; the scoped queries that load them.

Scoping is in the query: an agency user's returns query only ever yields
their own agency's returns, so no URL, form field or API call reaches another's.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort

from ..accounts.models import Role
from ..core.permissions import Principal
from ..extensions import db
from .models import Return, Round, RoundCase, RoundStatus

PARTNERSHIP_WIDE = (Role.ADMIN, Role.QA_MEMBER, Role.SCRUTINEER)


def can_manage_rounds(p: Principal) -> bool:
    """Plan rounds, add cases, open and close them, chase returns."""
    return p.has(Role.ADMIN, Role.QA_MEMBER)


def can_view_rounds(p: Principal) -> bool:
    return p.has(*PARTNERSHIP_WIDE)


def can_review_returns(p: Principal) -> bool:
    """Request changes, accept, record multi-agency judgements."""
    return p.has(Role.ADMIN, Role.QA_MEMBER)


def can_edit_return(p: Principal, ret: Return) -> bool:
    """Auditors and leads of the return's agency, while it is editable."""
    return ret.agency_id in p.agency_ids(Role.AUDITOR, Role.AGENCY_LEAD) and ret.status.is_editable


def can_sign_off_return(p: Principal, ret: Return) -> bool:
    return ret.agency_id in p.agency_ids(Role.AGENCY_LEAD) and ret.status.is_editable


def can_view_discussion(p: Principal, round_case: RoundCase) -> bool:
    """The QA group and scrutineers always; the agencies on the case only where the round shares answers
    and the discussion has opened."""
    if p.has(*PARTNERSHIP_WIDE):
        return True
    round_ = round_case.round
    involved = {a.id for a in round_case.agencies}
    return (
        round_.shares_answers_in_discussion
        and round_.status in (RoundStatus.IN_DISCUSSION, RoundStatus.REPORTED)
        and bool(involved & p.agency_ids())
    )


def get_partnership_round_case_or_404(p: Principal, round_id: int, round_case_id: int) -> RoundCase:
    round_case = db.session.scalar(
        sa.select(RoundCase)
        .join(RoundCase.round)
        .where(RoundCase.id == round_case_id, Round.id == round_id, Round.partnership_id == p.partnership_id)
    )
    if round_case is None:
        abort(404)
    return round_case


def rounds_query(p: Principal) -> sa.Select:
    query = sa.select(Round).where(Round.partnership_id == p.partnership_id).order_by(Round.created_at.desc())
    if not p.has(*PARTNERSHIP_WIDE):
        query = query.where(sa.false())
    return query


def returns_query(p: Principal) -> sa.Select:
    """Every return the principal may see: all in the partnership, or their agencies' only."""
    query = sa.select(Return).join(Return.round).where(Round.partnership_id == p.partnership_id)
    if not p.has(*PARTNERSHIP_WIDE):
        query = query.where(Return.agency_id.in_(p.agency_ids() or {-1}))
    return query


def get_round_or_404(p: Principal, round_id: int) -> Round:
    round_ = db.session.scalar(rounds_query(p).where(Round.id == round_id))
    if round_ is None:
        abort(404)
    return round_


def get_return_or_404(p: Principal, return_id: int) -> Return:
    ret = db.session.scalar(returns_query(p).where(Return.id == return_id))
    if ret is None:
        abort(404)
    return ret


def get_round_case_or_404(round_: Round, round_case_id: int) -> RoundCase:
    round_case = db.session.scalar(
        sa.select(RoundCase).where(RoundCase.id == round_case_id, RoundCase.round_id == round_.id)
    )
    if round_case is None:
        abort(404)
    return round_case
