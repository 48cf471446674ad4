"""Who may see a case's multi-agency discussion; scoped loaders of a round's cases."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort

from ..core.permissions import Principal
from ..core.roles import Role
from ..extensions import db
from ..rounds.models import Round, RoundStatus
from ..rounds.permissions import PARTNERSHIP_WIDE, in_partnership
from .models import Case, RoundCase


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


def can_redact_case_reference(p: Principal, case: Case) -> bool:
    """Replace a wrongly entered reference everywhere, the audit trail included: the partnership's admins."""
    return p.has(Role.ADMIN) and case.partnership_id == p.partnership_id


def get_case_or_404(p: Principal, case_id: int) -> Case:
    """A case of the current partnership, or 404."""
    case = db.session.scalar(sa.select(Case).where(Case.id == case_id, Case.partnership_id == p.partnership_id))
    if case is None:
        abort(404)
    return case


def get_partnership_round_case_or_404(p: Principal, round_id: int, round_case_id: int) -> RoundCase:
    round_case = db.session.scalar(
        sa.select(RoundCase)
        .join(RoundCase.round)
        .where(RoundCase.id == round_case_id, Round.id == round_id, in_partnership(p.partnership_id))
    )
    if round_case is None:
        abort(404)
    return round_case


def get_round_case_or_404(round_: Round, round_case_id: int) -> RoundCase:
    round_case = db.session.scalar(
        sa.select(RoundCase).where(RoundCase.id == round_case_id, RoundCase.round_id == round_.id)
    )
    if round_case is None:
        abort(404)
    return round_case
