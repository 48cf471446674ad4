"""The self-assessment reports' only database reads: plain rows for ``sa_aggregation``.

Every query is for one partnership looking at one round: a round shared by several partnerships holds returns of
each one's own agencies and of agencies they share, and a partnership's report counts the returns of the agencies
it works with (``partnership_agencies``), a shared agency's in each partnership's, nothing of another's own.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from ..accounts.models import Agency, PartnershipAgency, Sector
from ..extensions import db
from ..questionnaires import answers as answer_types
from ..questionnaires.models import Question, QuestionRole, QuestionType, ScaleLevel, Section
from ..rounds.models import Answer, Return, ReturnGroup, ReturnStatus

#: scale questions with these roles are not criteria of a standard (an immediate concern is a yes/no flag)
NOT_CRITERIA = (QuestionRole.IMMEDIATE_CONCERN,)


def criterion_rows(version_id: int) -> list[dict[str, Any]]:
    """The version's criteria: its scale questions (but an immediate concern), in questionnaire order, each with
    its section (the standard) and the sectors it applies to."""
    rows = db.session.execute(
        sa.select(
            Question.id.label("question_id"),
            Question.key.label("question_key"),
            Question.text.label("question"),
            Question.position,
            Question.applies_to,
            Question.scale_id,
            Question.condition_question_key,
            Question.condition_values,
            Section.id.label("section_id"),
            Section.key.label("section_key"),
            Section.title.label("section"),
            Section.position.label("section_position"),
        )
        .join(Section, Section.id == Question.section_id)
        .where(
            Question.version_id == version_id,
            Question.type == QuestionType.SCALE,
            sa.or_(Question.role.is_(None), Question.role.not_in(NOT_CRITERIA)),
        )
        .order_by(Section.position, Question.position)
    ).all()
    return [dict(row._mapping) for row in rows]


def level_rows(scale_ids: Iterable[int]) -> list[dict[str, Any]]:
    """The levels of these scales, best first, with the flags the figures read (never their labels)."""
    rows = db.session.execute(
        sa.select(
            ScaleLevel.id.label("level_id"),
            ScaleLevel.scale_id,
            ScaleLevel.position,
            ScaleLevel.label,
            ScaleLevel.value,
            ScaleLevel.is_not_applicable.label("is_na"),
            ScaleLevel.counts_as_good.label("is_good"),
        )
        .where(ScaleLevel.scale_id.in_(list(scale_ids) or [-1]))
        .order_by(ScaleLevel.scale_id, ScaleLevel.position)
    ).all()
    return [{**row._mapping, "value": None if row.value is None else float(row.value)} for row in rows]


def return_rows(round_id: int, partnership_id: int) -> list[dict[str, Any]]:
    """The round's returns of the agencies ``partnership_id`` works with, each with its agency and the sector that
    agency has in that partnership."""
    rows = db.session.execute(
        sa.select(
            Return.id.label("return_id"),
            Return.agency_id,
            Agency.name.label("agency"),
            Sector.id.label("sector_id"),
            Sector.key.label("sector_key"),
            Sector.name.label("sector"),
            Return.status,
        )
        .join(Agency, Agency.id == Return.agency_id)
        .join(
            PartnershipAgency,
            sa.and_(
                PartnershipAgency.agency_id == Return.agency_id, PartnershipAgency.partnership_id == partnership_id
            ),
        )
        .join(Sector, Sector.id == PartnershipAgency.sector_id)
        .where(Return.round_id == round_id, Return.round_case_id.is_(None))
        .order_by(Sector.name, Agency.name)
    ).all()
    return [{**row._mapping, "status": row.status.value} for row in rows]


def answer_rows(return_ids: list[int], question_keys: Iterable[str]) -> list[dict[str, Any]]:
    """The stored answers of these returns to the questions ``question_keys`` (the criteria and the questions their
    show-if conditions read): the agency's level, the moderator's level and the value as entered."""
    keys = sorted(set(question_keys))
    if not return_ids or not keys:
        return []
    rows = db.session.execute(
        sa.select(
            Answer.return_id,
            Answer.question_id,
            Question.key.label("question_key"),
            Answer.scale_level_id.label("self_level_id"),
            Answer.moderated_level_id,
            Answer.value,
        )
        .join(Question, Question.id == Answer.question_id)
        .where(Answer.return_id.in_(return_ids), Question.key.in_(keys))
    )
    names = list(rows.keys())
    return [dict(zip(names, row, strict=True)) for row in rows]


def criterion_cells(
    criteria: list[dict[str, Any]], returns: list[dict[str, Any]], answers: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """One row per return and criterion it is asked (its agency's sector, then show-if conditions, by the one
    applicability rule of ``questionnaires.answers``): the agency's level and the moderator's, None where
    unanswered or not moderated."""
    by_return: dict[int, dict[str, dict[str, Any]]] = {}
    for row in answers:
        by_return.setdefault(row["return_id"], {})[row["question_key"]] = row
    cells = []
    for ret in returns:
        stored = by_return.get(ret["return_id"], {})
        values = {key: row["value"] or "" for key, row in stored.items()}
        for criterion in criteria:
            applies = criterion["applies_to"] or []
            if applies and ret["sector_key"] not in applies:
                continue
            if not answer_types.condition_holds(
                criterion["condition_question_key"], criterion["condition_values"] or [], values
            ):
                continue
            answer = stored.get(criterion["question_key"], {})
            cells.append(
                {
                    "return_id": ret["return_id"],
                    "question_id": criterion["question_id"],
                    "self_level_id": answer.get("self_level_id"),
                    "moderated_level_id": answer.get("moderated_level_id"),
                }
            )
    return cells


def previous_ratings(previous_round_id: int, partnership_id: int) -> list[dict[str, Any]]:
    """The previous round's ratings by agency and question key (returned returns of the partnership's agencies
    only): the agency's level and the moderator's, with the levels' values to compare."""
    self_level = aliased(ScaleLevel)
    moderated_level = aliased(ScaleLevel)
    rows = db.session.execute(
        sa.select(
            Return.agency_id,
            Question.key.label("question_key"),
            self_level.value.label("self_value"),
            self_level.is_not_applicable.label("self_na"),
            moderated_level.value.label("moderated_value"),
            moderated_level.is_not_applicable.label("moderated_na"),
        )
        .select_from(Answer)
        .join(Return, Return.id == Answer.return_id)
        .join(Question, Question.id == Answer.question_id)
        .join(self_level, self_level.id == Answer.scale_level_id)
        .outerjoin(moderated_level, moderated_level.id == Answer.moderated_level_id)
        .join(
            PartnershipAgency,
            sa.and_(
                PartnershipAgency.agency_id == Return.agency_id, PartnershipAgency.partnership_id == partnership_id
            ),
        )
        .where(
            Return.round_id == previous_round_id,
            Return.round_case_id.is_(None),
            Return.status.in_(ReturnStatus.in_group(ReturnGroup.RETURNED)),
            Question.type == QuestionType.SCALE,
        )
    ).all()
    return [
        {
            **row._mapping,
            "self_value": None if row.self_value is None else float(row.self_value),
            "moderated_value": None if row.moderated_value is None else float(row.moderated_value),
        }
        for row in rows
    ]
