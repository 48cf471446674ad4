"""The only reporting code that reads the database: plain rows for reporting/aggregation.py."""

from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from ..accounts.models import Agency, PartnershipAgency, Sector
from ..audits.models import Answer, Case, Return, Round, RoundCase
from ..extensions import db
from ..questionnaires.models import Question, ScaleLevel, Section


def round_returns(round_id: int) -> pd.DataFrame:
    """One row per return: ``return_id``, ``agency``, ``sector``, ``case``, ``status``."""
    query = (
        sa.select(
            Return.id.label("return_id"),
            Agency.name.label("agency"),
            Sector.name.label("sector"),
            Case.reference.label("case"),
            Return.status.label("status"),
        )
        .select_from(Return)
        .join(Round, Round.id == Return.round_id)
        .join(Agency, Agency.id == Return.agency_id)
        .join(
            PartnershipAgency,
            sa.and_(
                PartnershipAgency.agency_id == Return.agency_id,
                PartnershipAgency.partnership_id == Round.partnership_id,
            ),
        )
        .join(Sector, Sector.id == PartnershipAgency.sector_id)
        .outerjoin(RoundCase, RoundCase.id == Return.round_case_id)
        .outerjoin(Case, Case.id == RoundCase.case_id)
        .where(Return.round_id == round_id)
        .order_by(Return.id)
    )
    rows = db.session.execute(query).all()
    frame = pd.DataFrame(rows, columns=["return_id", "agency", "sector", "case", "status"])
    frame["status"] = frame["status"].map(lambda s: getattr(s, "value", s))
    return frame


def round_scale_answers(round_id: int) -> pd.DataFrame:
    """One row per scale answer given: ``agency``, ``case``, ``section_key``, ``question_key``,
    ``label``, ``value``, ``is_na``."""
    query = (
        sa.select(
            Agency.name.label("agency"),
            Case.reference.label("case"),
            Section.key.label("section_key"),
            Question.key.label("question_key"),
            ScaleLevel.label.label("label"),
            ScaleLevel.value.label("value"),
            ScaleLevel.is_not_applicable.label("is_na"),
        )
        .select_from(Answer)
        .join(Return, Return.id == Answer.return_id)
        .join(Agency, Agency.id == Return.agency_id)
        .join(Question, Question.id == Answer.question_id)
        .join(Section, Section.id == Question.section_id)
        .join(ScaleLevel, ScaleLevel.id == Answer.scale_level_id)
        .outerjoin(RoundCase, RoundCase.id == Return.round_case_id)
        .outerjoin(Case, Case.id == RoundCase.case_id)
        .where(Return.round_id == round_id)
        .order_by(Answer.id)
    )
    rows = db.session.execute(query).all()
    return pd.DataFrame(rows, columns=["agency", "case", "section_key", "question_key", "label", "value", "is_na"])
