""" "My actions" on each person's home page: the open actions they own (and, for agency leads, their agency
owns), overdue first, with counts that link to the plan filtered."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ..core import clock
from ..core.permissions import Principal
from ..core.roles import Role
from ..core.views import register_home_part
from ..extensions import db
from .models import Action, ActionStatus

#: how many actions the home page lists (the plan has the rest)
SHOWN = 10


def my_actions(p: Principal) -> list[Action]:
    """Open actions the person owns, or their agencies (as lead) own: overdue first, then by due date."""
    if p.user_id is None or p.partnership_id is None:
        return []
    led = p.agency_ids(Role.AGENCY_LEAD)
    owned = Action.owner_user_id == p.user_id
    if led:
        owned = sa.or_(owned, Action.owner_agency_id.in_(led))
    return list(
        db.session.scalars(
            sa.select(Action)
            .where(
                Action.partnership_id == p.partnership_id,
                owned,
                Action.status.in_([ActionStatus.NOT_STARTED, ActionStatus.IN_PROGRESS]),
            )
            .order_by(Action.due_on, Action.id)
        )
    )


def _home_part(p: Principal) -> dict[str, Any]:
    actions = my_actions(p)
    if not actions:
        return {}
    today = clock.today()
    overdue = [a for a in actions if a.is_overdue(today)]
    return {
        "my_actions": actions[:SHOWN],
        "my_actions_total": len(actions),
        "my_actions_owned": sum(1 for a in actions if a.owner_user_id == p.user_id),
        "my_actions_overdue": len(overdue),
        "my_actions_agency_lead": bool(p.agency_ids(Role.AGENCY_LEAD)),
        #: the agencies the person leads, for links to the plan filtered to each
        "my_actions_agencies": [
            (agency, sum(1 for a in actions if a.owner_agency_id == agency.id))
            for agency in sorted(
                {a.owner_agency for a in actions if a.owner_agency_id in p.agency_ids(Role.AGENCY_LEAD)},
                key=lambda agency: agency.name.casefold(),
            )
        ],
    }


register_home_part(_home_part)
