"""Who may browse and who may build questionnaires; scoped loaders."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort

from ..accounts.models import Role
from ..core.permissions import Principal
from ..extensions import db
from .models import Question, Questionnaire, QuestionnaireVersion, Section


def can_view_questionnaires(p: Principal) -> bool:
    """Every member may see the tools their partnership uses."""
    return p.partnership_id is not None and bool(p.roles)


def can_edit_questionnaires(p: Principal) -> bool:
    """The business unit and the QA group build and publish questionnaires."""
    return p.has(Role.ADMIN, Role.QA_MEMBER)


def questionnaires_query(partnership_id: int) -> sa.Select:
    return sa.select(Questionnaire).where(Questionnaire.partnership_id == partnership_id).order_by(Questionnaire.title)


def get_questionnaire_or_404(partnership_id: int, questionnaire_id: int) -> Questionnaire:
    questionnaire = db.session.scalar(questionnaires_query(partnership_id).where(Questionnaire.id == questionnaire_id))
    if questionnaire is None:
        abort(404)
    return questionnaire


def get_version_or_404(partnership_id: int, questionnaire_id: int, number: int) -> QuestionnaireVersion:
    version = db.session.scalar(
        sa.select(QuestionnaireVersion)
        .join(QuestionnaireVersion.questionnaire)
        .where(
            Questionnaire.partnership_id == partnership_id,
            Questionnaire.id == questionnaire_id,
            QuestionnaireVersion.number == number,
        )
    )
    if version is None:
        abort(404)
    return version


def get_section_or_404(version: QuestionnaireVersion, section_id: int) -> Section:
    section = db.session.scalar(sa.select(Section).where(Section.id == section_id, Section.version_id == version.id))
    if section is None:
        abort(404)
    return section


def get_question_or_404(version: QuestionnaireVersion, question_id: int) -> Question:
    question = db.session.scalar(
        sa.select(Question).where(Question.id == question_id, Question.version_id == version.id)
    )
    if question is None:
        abort(404)
    return question
