"""Who sees and changes recommendations, actions, updates and evidence; scoped queries and loaders.

- The QA group and admins manage recommendations and actions and decide on evidence; scrutineers read.
- An action's owner updates it (progress, evidence, a moved due date); so do the leads of its owner agency,
  and, for an agency's own improvement actions (from its self-assessment return), its auditors too.
- Agency users see the recommendations addressed to their agencies, the actions under those, and any action
  they or their agency own. Nobody sees another partnership's plan by any route: every query is scoped.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort

from ..core.permissions import Principal
from ..core.roles import Role
from ..extensions import db
from ..rounds.models import Return
from ..rounds.permissions import works_for_return
from .models import Action, ImpactEvidence, Recommendation, recommendation_agencies

#: see the whole plan
PLAN_WIDE = (Role.ADMIN, Role.QA_MEMBER, Role.SCRUTINEER)


def can_view_plan(p: Principal) -> bool:
    """Everyone with a role in the partnership sees the plan, scoped to what concerns them."""
    return p.is_authenticated and p.partnership_id is not None and bool(p.roles or p.agency_roles)


def can_manage_recommendations(p: Principal) -> bool:
    """Record recommendations and actions, promote them from a report, decide on evidence: QA group, admins."""
    return p.has(Role.ADMIN, Role.QA_MEMBER)


def can_decide_evidence(p: Principal) -> bool:
    return p.has(Role.ADMIN, Role.QA_MEMBER)


def can_update_action(p: Principal, action: Action) -> bool:
    """Post progress, add evidence, move the due date: the owner, leads of the owner agency, the QA group."""
    if action.partnership_id != p.partnership_id:
        return False
    if can_manage_recommendations(p):
        return True
    if p.user_id is not None and action.owner_user_id == p.user_id:
        return True
    if action.owner_agency_id is None:
        return False
    if action.owner_agency_id in p.agency_ids(Role.AGENCY_LEAD):
        return True
    # an agency's own improvement action (from its self-assessment return): any of its auditors updates it too
    return action.recommendation.return_id is not None and action.owner_agency_id in p.agency_ids(Role.AUDITOR)


def can_add_improvement_action(p: Principal, ret: Return) -> bool:
    """Add an improvement action on a self-assessment return: the auditors and leads of the return's own agency,
    and the QA group and admins of the partnership that planned the round."""
    if works_for_return(p, ret):
        return True
    return can_manage_recommendations(p) and p.partnership_id == ret.round.partnership_id


def can_edit_action(p: Principal, action: Action) -> bool:
    """Change the title and owner, or remove: the QA group and admins."""
    return action.partnership_id == p.partnership_id and can_manage_recommendations(p)


def _addressed_to(agency_ids: frozenset[int]) -> sa.ColumnElement[bool]:
    return Recommendation.id.in_(
        sa.select(recommendation_agencies.c.recommendation_id).where(
            recommendation_agencies.c.agency_id.in_(agency_ids)
        )
    )


def actions_query(p: Principal) -> sa.Select:
    """The actions the principal may see, in SQL."""
    query = (
        sa.select(Action)
        .join(Recommendation, Recommendation.id == Action.recommendation_id)
        .where(Action.partnership_id == p.partnership_id)
    )
    if p.has(*PLAN_WIDE):
        return query
    agencies = p.agency_ids()
    return query.where(
        sa.or_(
            Action.owner_user_id == (p.user_id if p.user_id is not None else -1),
            Action.owner_agency_id.in_(agencies),
            _addressed_to(agencies),
        )
    )


def recommendations_query(p: Principal) -> sa.Select:
    """The recommendations the principal may see: addressed to their agencies, or holding an action they see."""
    query = sa.select(Recommendation).where(Recommendation.partnership_id == p.partnership_id)
    if p.has(*PLAN_WIDE):
        return query
    visible_actions = actions_query(p).with_only_columns(Action.recommendation_id)
    return query.where(sa.or_(_addressed_to(p.agency_ids()), Recommendation.id.in_(visible_actions)))


def get_recommendation_or_404(p: Principal, recommendation_id: int) -> Recommendation:
    rec = db.session.scalar(recommendations_query(p).where(Recommendation.id == recommendation_id))
    if rec is None:
        abort(404)
    return rec


def get_action_or_404(p: Principal, action_id: int) -> Action:
    action = db.session.scalar(actions_query(p).where(Action.id == action_id))
    if action is None:
        abort(404)
    return action


def get_evidence_or_404(p: Principal, action_id: int, evidence_id: int) -> ImpactEvidence:
    action = get_action_or_404(p, action_id)
    evidence = db.session.scalar(
        sa.select(ImpactEvidence).where(ImpactEvidence.id == evidence_id, ImpactEvidence.action_id == action.id)
    )
    if evidence is None:
        abort(404)
    return evidence
