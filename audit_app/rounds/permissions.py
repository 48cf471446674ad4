"""Who may see and do what with rounds and returns; the scoped queries that load them.

A round is seen from every partnership it counts for (``round_partnerships``);
it is managed from the partnership that planned it.

Scoping is in the query: an agency user's returns query only ever yields
their own agency's returns, so no URL, form field or API call reaches another's.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import abort
from sqlalchemy.orm import contains_eager, selectinload

from ..accounts.models import PartnershipAgency, Role
from ..core.permissions import Principal
from ..extensions import db
from ..questionnaires.models import QuestionnaireVersion, Section
from .models import Answer, Return, Round, round_partnerships

PARTNERSHIP_WIDE = (Role.ADMIN, Role.QA_MEMBER, Role.SCRUTINEER)


def can_manage_rounds(p: Principal) -> bool:
    """Plan rounds, add cases, open and close them, chase returns."""
    return p.has(Role.ADMIN, Role.QA_MEMBER)


def can_view_rounds(p: Principal) -> bool:
    return p.has(*PARTNERSHIP_WIDE)


def can_review_returns(p: Principal) -> bool:
    """Request changes, accept, record multi-agency judgements."""
    return p.has(Role.ADMIN, Role.QA_MEMBER)


# Who may act on a return is a matter of role (these two, checked by every write: 403 otherwise); whether
# the return can still take the action is a matter of state, checked by the service under the row's lock
# version (409 "this return is submitted..."). Someone whose click arrives after a colleague's submit is
# told what happened, not that they lack permission.


def works_for_return(p: Principal, ret: Return) -> bool:
    """An auditor or lead of the return's agency: may save, upload and submit while the return is editable."""
    return ret.agency_id in p.agency_ids(Role.AUDITOR, Role.AGENCY_LEAD)


def leads_return_agency(p: Principal, ret: Return) -> bool:
    """A lead of the return's agency: may sign off and decline while the return is editable."""
    return ret.agency_id in p.agency_ids(Role.AGENCY_LEAD)


def can_mark_declined(p: Principal, ret: Return) -> bool:
    """A lead of the return's agency, or the QA group (told by the agency): may decline the return, or record
    that it was sent on another template, with a note."""
    return leads_return_agency(p, ret) or can_review_returns(p)


def can_edit_return(p: Principal, ret: Return) -> bool:
    """Auditors and leads of the return's agency, while it is editable (what pages offer now)."""
    return works_for_return(p, ret) and ret.status.is_editable


def can_sign_off_return(p: Principal, ret: Return) -> bool:
    """Leads of the return's agency, while it is editable (what pages offer now)."""
    return leads_return_agency(p, ret) and ret.status.is_editable


def can_assign_return(p: Principal, ret: Return) -> bool:
    """Name the auditor who completes a return: its agency's leads, and the partnership's admins and QA group
    (the service refuses once the return is no longer outstanding)."""
    return ret.agency_id in p.agency_ids(Role.AGENCY_LEAD) or p.has(Role.ADMIN, Role.QA_MEMBER)


def in_partnership(partnership_id: int | None) -> sa.ColumnElement[bool]:
    """Rounds that count for the partnership (its own and those shared with it)."""
    return Round.id.in_(
        sa.select(round_partnerships.c.round_id).where(round_partnerships.c.partnership_id == partnership_id)
    )


def in_partnerships(partnership_ids: list[int]) -> sa.ColumnElement[bool]:
    """Rounds that count for any of the partnerships."""
    return Round.id.in_(
        sa.select(round_partnerships.c.round_id).where(round_partnerships.c.partnership_id.in_(partnership_ids or [-1]))
    )


def rounds_query(p: Principal) -> sa.Select:
    query = sa.select(Round).where(in_partnership(p.partnership_id)).order_by(Round.created_at.desc())
    if not p.has(*PARTNERSHIP_WIDE):
        query = query.where(sa.false())
    return query


def of_partnership_agencies(partnership_id: int | None) -> sa.ColumnElement[bool]:
    """Returns of agencies the partnership works with (active or not).

    A round shared by several partnerships holds returns of each one's own agencies and of agencies they
    share: each partnership sees its own agencies' returns (a shared agency's in each) and nothing of the
    other partnerships' own agencies. In a round of one partnership every return passes.
    """
    return Return.agency_id.in_(
        sa.select(PartnershipAgency.agency_id).where(PartnershipAgency.partnership_id == partnership_id)
    )


def returns_query(p: Principal) -> sa.Select:
    """Every return the principal may see: all of the partnership's agencies, or their own agencies' only."""
    query = sa.select(Return).join(Return.round).where(in_partnership(p.partnership_id))
    if p.has(*PARTNERSHIP_WIDE):
        query = query.where(of_partnership_agencies(p.partnership_id))
    else:
        query = query.where(Return.agency_id.in_(p.agency_ids() or {-1}))
    return query


def get_round_or_404(p: Principal, round_id: int) -> Round:
    round_ = db.session.scalar(rounds_query(p).where(Round.id == round_id))
    if round_ is None:
        abort(404)
    return round_


def can_manage_round(p: Principal, round_: Round) -> bool:
    """Managers of the partnership that planned the round; a partnership it is shared with only reads it."""
    return can_manage_rounds(p) and round_.partnership_id == p.partnership_id


def can_share_round(p: Principal, round_: Round) -> bool:
    """Share a round with another partnership, or stop sharing it: the planning partnership's administrators
    (the service also asks them to be an administrator of the other partnership)."""
    return p.has(Role.ADMIN) and round_.partnership_id == p.partnership_id


def can_choose_round_agencies(p: Principal, round_: Round) -> bool:
    """Choose which agencies must return: the managers of every partnership the round counts for, each among
    its own agencies (a shared round is planned by one partnership; each chooses who of its own returns)."""
    return can_manage_rounds(p) and p.partnership_id in {x.id for x in round_.partnerships}


def get_managed_round_or_404(p: Principal, round_id: int) -> Round:
    """A round this principal may manage: 403 for a role that manages none, 404 if it is not in scope."""
    if not can_manage_rounds(p):
        abort(403)
    round_ = get_round_or_404(p, round_id)
    if not can_manage_round(p, round_):
        abort(403)
    return round_


def return_page_options() -> tuple[Any, ...]:
    """Load a return with its round, questionnaire (sections, questions, scales) and answers in a fixed
    number of queries, however many answers it has."""
    return (
        contains_eager(Return.round)
        .joinedload(Round.version)
        .selectinload(QuestionnaireVersion.sections)
        .selectinload(Section.questions),
        selectinload(Return.answers).joinedload(Answer.question),
        selectinload(Return.answers).joinedload(Answer.scale_level),
    )


def get_return_or_404(p: Principal, return_id: int) -> Return:
    ret = db.session.scalar(returns_query(p).where(Return.id == return_id).options(*return_page_options()))
    if ret is None:
        abort(404)
    return ret
