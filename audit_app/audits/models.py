"""Rounds: one questionnaire version sent to agencies (and, for case audits, cases).

Only what the questionnaire engine needs exists so far: a round pins the
version it uses, which can then never be edited or deleted. Cases, returns
and answers arrive with the case-audit workflow.
"""

from __future__ import annotations

import enum
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.audit import Audited
from ..core.models import TimestampMixin, enum_type
from ..extensions import db
from ..questionnaires.models import QuestionnaireKind, QuestionnaireVersion, Theme


class RoundStatus(enum.StrEnum):
    PLANNING = "planning"
    OPEN = "open"
    CLOSED = "closed"
    IN_DISCUSSION = "in_discussion"
    REPORTED = "reported"


class Round(Audited, TimestampMixin, db.Model):
    """A round of a questionnaire version across the partnership's agencies."""

    __tablename__ = "rounds"

    id: Mapped[int] = mapped_column(primary_key=True)
    partnership_id: Mapped[int] = mapped_column(sa.ForeignKey("partnerships.id"), index=True)
    #: the published version answered in this round; pinned for good
    questionnaire_version_id: Mapped[int] = mapped_column(sa.ForeignKey("questionnaire_versions.id"), index=True)
    kind: Mapped[QuestionnaireKind] = mapped_column(enum_type(QuestionnaireKind))
    title: Mapped[str] = mapped_column(sa.String(200))
    theme_id: Mapped[int | None] = mapped_column(sa.ForeignKey("themes.id"), index=True)
    #: changes only through the round services
    status: Mapped[RoundStatus] = mapped_column(enum_type(RoundStatus), default=RoundStatus.PLANNING)
    opens_on: Mapped[date | None] = mapped_column()
    due_on: Mapped[date | None] = mapped_column()
    #: the earlier round this one re-audits or carries forward
    previous_round_id: Mapped[int | None] = mapped_column(sa.ForeignKey("rounds.id"), index=True)

    version: Mapped[QuestionnaireVersion] = relationship()
    theme: Mapped[Theme | None] = relationship()
