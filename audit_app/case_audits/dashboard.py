"""The case audits' parts of the home page: the discussions shared with the user's agencies; for admins, the
rounds whose case records go within a month."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import contains_eager

from ..core.permissions import Principal
from ..core.views import register_home_part
from ..extensions import db
from ..rounds.models import Round, RoundStatus
from ..rounds.permissions import PARTNERSHIP_WIDE, in_partnership
from .models import RoundCase, round_case_agencies

#: the most shared discussions listed on the home page (the newest rounds first)
LIMIT = 20


def shared_discussions(p: Principal) -> list[RoundCase]:
    """Cases of the user's agencies whose round shares answers and whose discussion has opened: the same rule
    as ``permissions.can_view_discussion``, in one query."""
    agency_ids = p.agency_ids()
    if not agency_ids or p.partnership_id is None:
        return []
    return list(
        db.session.scalars(
            sa.select(RoundCase)
            .join(RoundCase.round)
            .where(
                in_partnership(p.partnership_id),
                Round.shares_answers_in_discussion.is_(True),
                Round.status.in_((RoundStatus.IN_DISCUSSION, RoundStatus.REPORTED)),
                RoundCase.id.in_(
                    sa.select(round_case_agencies.c.round_case_id).where(
                        round_case_agencies.c.agency_id.in_(sorted(agency_ids))
                    )
                ),
            )
            .options(contains_eager(RoundCase.round))
            .order_by(Round.created_at.desc(), RoundCase.id)
            .limit(LIMIT)
        )
    )


def _home_part(p: Principal) -> dict[str, Any]:
    if p.has(*PARTNERSHIP_WIDE) or not p.agency_ids():
        return {}  # the QA group reaches every discussion from the round's page
    return {"shared_discussions": shared_discussions(p)}


register_home_part(_home_part)


def _retention_part(p: Principal) -> dict[str, Any]:
    """For admins: the rounds whose case records go within a month, so nobody is surprised by the purge."""
    from ..accounts.permissions import can_manage_accounts
    from ..core import clock
    from .retention import due_soon

    if p.partnership_id is None or not can_manage_accounts(p):
        return {}
    return {"records_due_soon": due_soon(p.partnership_id, clock.today()), "today": clock.today()}


register_home_part(_retention_part)
