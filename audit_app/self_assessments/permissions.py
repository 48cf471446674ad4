"""Who may do what in a self-assessment round: pure ``can_<verb>_<noun>(principal, obj)`` functions and the
scoped queries behind them, one block per part of the workflow."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort

from ..accounts.models import Role
from ..core.permissions import Principal
from ..extensions import db
from ..questionnaires.models import QuestionnaireKind
from ..rounds.models import Return, Round
from ..rounds.permissions import PARTNERSHIP_WIDE, get_round_or_404, in_partnership
from .models import ChallengeEvent

# ----------------------------------------------------------------------------------------------------------
# Scrutiny threads, moderators, priority criteria
# ----------------------------------------------------------------------------------------------------------


# ----------------------------------------------------------------------------------------------------------
# Practitioner surveys
# ----------------------------------------------------------------------------------------------------------


# ----------------------------------------------------------------------------------------------------------
# Reports
# ----------------------------------------------------------------------------------------------------------

#: who reads a self-assessment round's reports: the partnership-wide roles. Agency users have no report page:
#: the heatmap compares agencies; an agency sees its own ratings and their moderation on its return.
SA_REPORT_READERS = (Role.ADMIN, Role.QA_MEMBER, Role.SCRUTINEER)


def can_view_sa_reports(p: Principal) -> bool:
    """Read the heatmap, counts, change since last round and return rates of self-assessment rounds."""
    return p.has(*SA_REPORT_READERS)


def get_sa_report_round_or_404(p: Principal, round_id: int) -> Round:
    """A self-assessment round that counts for the principal's partnership (its own or shared with it): 403 for
    a role that reads no reports, 404 for a round out of scope or of another kind."""
    if not can_view_sa_reports(p):
        abort(403)
    round_ = get_round_or_404(p, round_id)
    if round_.kind != QuestionnaireKind.SELF_ASSESSMENT:
        abort(404)
    return round_


# ----------------------------------------------------------------------------------------------------------
# Challenge events
# ----------------------------------------------------------------------------------------------------------


def can_view_challenges(p: Principal) -> bool:
    """Read challenge events: the QA group, admins and scrutineers (all of the partnership's), and agency
    leads and auditors (their own agency's)."""
    return p.has(*PARTNERSHIP_WIDE) or bool(p.agency_ids())


def can_record_challenges(p: Principal) -> bool:
    """Record, change and delete challenge events, and agree actions at them: the QA group and admins."""
    return p.has(Role.ADMIN, Role.QA_MEMBER)


def challenge_scope(p: Principal) -> frozenset[int] | None:
    """The agencies whose challenge events the principal sees (None: every agency of the partnership)."""
    return None if p.has(*PARTNERSHIP_WIDE) else p.agency_ids()


def sa_round_query(p: Principal) -> sa.Select:
    """Self-assessment rounds that count for the principal's partnership (for an agency user, those their
    agency was asked to return to)."""
    query = sa.select(Round).where(in_partnership(p.partnership_id), Round.kind == QuestionnaireKind.SELF_ASSESSMENT)
    if not p.has(*PARTNERSHIP_WIDE):
        mine = sa.select(Return.id).where(Return.round_id == Round.id, Return.agency_id.in_(p.agency_ids() or {-1}))
        query = query.where(mine.exists())
    return query


def get_sa_round_or_404(p: Principal, round_id: int) -> Round:
    round_ = db.session.scalar(sa_round_query(p).where(Round.id == round_id))
    if round_ is None:
        abort(404)
    return round_


def challenges_query(p: Principal) -> sa.Select:
    """Challenge events the principal may see: their partnership's, and for an agency user their agency's."""
    query = sa.select(ChallengeEvent).where(ChallengeEvent.partnership_id == p.partnership_id)
    scope = challenge_scope(p)
    if scope is not None:
        query = query.where(ChallengeEvent.agency_id.in_(scope or {-1}))
    return query


def get_challenge_or_404(p: Principal, challenge_id: int) -> ChallengeEvent:
    event = db.session.scalar(challenges_query(p).where(ChallengeEvent.id == challenge_id))
    if event is None:
        abort(404)
    return event
