"""The shipped questionnaire library, published in the demo partnership (`flask demo load`)."""

from __future__ import annotations

import sqlalchemy as sa

from ..core.demo import Demo, register_demo_step
from ..extensions import db


def load_library(partnership_id: int) -> int:
    """Import and publish every shipped questionnaire the partnership lacks; how many were added."""
    from . import services as questionnaire_services
    from .models import Questionnaire

    have = set(db.session.scalars(sa.select(Questionnaire.key).where(Questionnaire.partnership_id == partnership_id)))
    added = 0
    for item in questionnaire_services.library():
        if item["key"] not in have:
            questionnaire_services.import_questionnaire(partnership_id, item["data"], publish=True)
            added += 1
    return added


def _load(demo: Demo) -> None:
    demo.questionnaires_added = load_library(demo.partnership_id)


register_demo_step(20, _load)
