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
from ..rounds.permissions import (
    PARTNERSHIP_WIDE,
    can_manage_round,
    get_round_or_404,
    in_partnership,
    of_partnership_agencies,
    returns_query,
)
from .models import ChallengeEvent, RoundModerator, ScrutinyThread

# ----------------------------------------------------------------------------------------------------------
# Scrutiny threads, moderators, priority criteria
# ----------------------------------------------------------------------------------------------------------

#: the QA side of scrutiny in a partnership: query, ask for evidence, moderate, close threads (and moderators,
#: named per round)
SCRUTINISERS = (Role.ADMIN, Role.QA_MEMBER)


def moderated_round_ids(p: Principal) -> sa.Select:
    """The rounds of the principal's partnership this user is a named moderator of (SQL)."""
    return sa.select(RoundModerator.round_id).where(
        RoundModerator.user_id == (p.user_id if p.user_id is not None else -1)
    )


def moderates_any_round(p: Principal) -> bool:
    if p.user_id is None or p.partnership_id is None:
        return False
    return (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Round)
            .where(Round.id.in_(moderated_round_ids(p)), in_partnership(p.partnership_id))
        )
        > 0
    )


def is_moderator(p: Principal, round_: Round) -> bool:
    """A named moderator of ``round_``, acting in a partnership the round counts for."""
    if p.user_id is None or p.partnership_id is None:
        return False
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(RoundModerator)
        .where(RoundModerator.round_id == round_.id, RoundModerator.user_id == p.user_id)
    ) > 0 and p.partnership_id in {partnership.id for partnership in round_.partnerships}


def scrutiny_returns_query(p: Principal) -> sa.Select:
    """The self-assessment returns whose scrutiny the principal may see: the engine's scoping (the QA group,
    admins and scrutineers see their partnership's; an agency its own), plus every return of a round they
    moderate (of their partnership's agencies, in a shared round). A case audit's returns never."""
    seen = returns_query(p).with_only_columns(Return.id)
    return (
        sa.select(Return)
        .join(Return.round)
        .where(
            Round.kind == QuestionnaireKind.SELF_ASSESSMENT,
            sa.or_(
                Return.id.in_(seen),
                sa.and_(
                    in_partnership(p.partnership_id),
                    Round.id.in_(moderated_round_ids(p)),
                    of_partnership_agencies(p.partnership_id),
                ),
            ),
        )
    )


def get_scrutiny_return_or_404(p: Principal, return_id: int) -> Return:
    ret = db.session.scalar(scrutiny_returns_query(p).where(Return.id == return_id))
    if ret is None:
        abort(404)
    return ret


def get_thread_or_404(p: Principal, thread_id: int) -> ScrutinyThread:
    thread = db.session.scalar(
        sa.select(ScrutinyThread).where(
            ScrutinyThread.id == thread_id,
            ScrutinyThread.return_id.in_(scrutiny_returns_query(p).with_only_columns(Return.id)),
        )
    )
    if thread is None:
        abort(404)
    return thread


def can_scrutinise_return(p: Principal, ret: Return) -> bool:
    """The QA side: the QA group and admins of a partnership the round counts for, or a named moderator of the
    round (never on their own agency's return)."""
    if p.has(*SCRUTINISERS):
        return True
    return is_moderator(p, ret.round) and ret.agency_id not in p.agency_ids()


def can_answer_threads(p: Principal, ret: Return) -> bool:
    """The agency side: the return's agency's lead and auditors."""
    return ret.agency_id in p.agency_ids(Role.AUDITOR, Role.AGENCY_LEAD)


def can_view_scrutiny_round(p: Principal, round_: Round) -> bool:
    """A round's follow-up list, moderators and priority criteria: the partnership-wide roles and its moderators."""
    return p.has(*PARTNERSHIP_WIDE) or is_moderator(p, round_)


def can_manage_scrutiny(p: Principal, round_: Round) -> bool:
    """Name moderators and choose priority criteria: the QA group and admins of the partnership that planned it."""
    return can_manage_round(p, round_)


def get_scrutiny_round_or_404(p: Principal, round_id: int) -> Round:
    """A self-assessment round whose follow-up list the principal may see: 403 for someone who sees no such
    round (an agency user who moderates nothing), 404 if it is not theirs to see."""
    wide = p.has(*PARTNERSHIP_WIDE)
    if not wide and not moderates_any_round(p):
        abort(403)
    query = sa.select(Round).where(
        Round.id == round_id,
        Round.kind == QuestionnaireKind.SELF_ASSESSMENT,
        in_partnership(p.partnership_id),
    )
    if not wide:
        query = query.where(Round.id.in_(moderated_round_ids(p)))
    round_ = db.session.scalar(query)
    if round_ is None:
        abort(404)
    return round_


# ----------------------------------------------------------------------------------------------------------
# Practitioner surveys
# ----------------------------------------------------------------------------------------------------------
# The QA group and admins of the round's partnership set the survey up; everyone partnership-wide reads every
# agency's counts (of the returns they may see, so a shared round shows each partnership its own); an agency's
# auditors and leads read their own agency's; its leads (and the QA group) make and revoke its link.


def can_set_up_survey(p: Principal, round_: Round) -> bool:
    """Switch on a self-assessment round's practitioner survey, choose its questions and closing date."""
    return can_manage_round(p, round_) and round_.kind == QuestionnaireKind.SELF_ASSESSMENT


def can_view_survey(p: Principal) -> bool:
    """Every agency's counts on the round's survey page (agencies see theirs beside their return)."""
    return p.has(*PARTNERSHIP_WIDE)


def can_manage_survey_link(p: Principal, round_: Round, agency_id: int) -> bool:
    """Make, regenerate or revoke an agency's link: the round's managers, and the agency's leads."""
    return can_manage_round(p, round_) or agency_id in p.agency_ids(Role.AGENCY_LEAD)


def survey_returns_query(p: Principal, round_id: int) -> sa.Select:
    """The agency returns of the round whose survey counts ``p`` may see (scoped as returns are)."""
    return returns_query(p).where(Return.round_id == round_id, Return.round_case_id.is_(None))


def get_survey_return_or_404(p: Principal, round_id: int, agency_id: int) -> Return:
    """The agency's return in a self-assessment round, if ``p`` may see it (404 otherwise): what its survey
    counts are read beside."""
    ret = db.session.scalar(
        survey_returns_query(p, round_id).where(
            Return.agency_id == agency_id, Round.kind == QuestionnaireKind.SELF_ASSESSMENT
        )
    )
    if ret is None:
        abort(404)
    return ret


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
