"""What case audits add to core's pages: a case's recorded changes (``/history/case/<id>``)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import abort

from ..core.audit import AuditEvent
from ..core.views import events_of, register_history
from ..extensions import db
from .models import Case


def _case(entity_id: int, partnership_id: int) -> tuple[str, list[Any]]:
    case = db.session.scalar(sa.select(Case).where(Case.id == entity_id, Case.partnership_id == partnership_id))
    if case is None:
        abort(404)
    in_rounds = sa.and_(
        AuditEvent.entity_type == "RoundCase",
        AuditEvent.partnership_id == partnership_id,
        sa.or_(
            AuditEvent.after["case_id"].as_integer() == entity_id,
            AuditEvent.before["case_id"].as_integer() == entity_id,
        ),
    )
    return f"Case {case.reference}", [events_of("Case", entity_id), in_rounds]


register_history("case", _case)
