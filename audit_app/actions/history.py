"""What the action plan adds to core's pages: an action's and a recommendation's recorded changes
(``/history/action/<id>``, ``/history/recommendation/<id>``), for admins and scrutineers."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import abort

from ..core.audit import AuditEvent
from ..core.views import events_of, register_history
from ..extensions import db
from .models import Action, Recommendation


def _about(entity_type: str, column: str, entity_id: int, partnership_id: int) -> sa.ColumnElement[bool]:
    """Events of the records of ``entity_type`` whose ``column`` points at ``entity_id`` (before or after)."""
    return sa.and_(
        AuditEvent.entity_type == entity_type,
        AuditEvent.partnership_id == partnership_id,
        sa.or_(
            AuditEvent.after[column].as_integer() == entity_id,
            AuditEvent.before[column].as_integer() == entity_id,
        ),
    )


def _action(entity_id: int, partnership_id: int) -> tuple[str, list[Any]]:
    action = db.session.scalar(sa.select(Action).where(Action.id == entity_id, Action.partnership_id == partnership_id))
    if action is None:
        abort(404)
    return f"Action: {action.title}", [
        events_of("Action", entity_id),
        *(
            _about(kind, "action_id", entity_id, partnership_id)
            for kind in ("ActionUpdate", "DueDateChange", "ImpactEvidence")
        ),
    ]


def _recommendation(entity_id: int, partnership_id: int) -> tuple[str, list[Any]]:
    rec = db.session.scalar(
        sa.select(Recommendation).where(Recommendation.id == entity_id, Recommendation.partnership_id == partnership_id)
    )
    if rec is None:
        abort(404)
    return f"Recommendation {rec.number}: {rec.source_label}", [
        events_of("Recommendation", entity_id),
        _about("Action", "recommendation_id", entity_id, partnership_id),
    ]


register_history("action", _action)
register_history("recommendation", _recommendation)
