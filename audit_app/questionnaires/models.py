"""Scales, questionnaires, their versions, sections and questions.

One engine serves every workflow: a case-audit tool, a Section 11 standards
framework, a schools s175 audit and a rapid-review agency summary are all
versioned questionnaires. A published version never changes; editing makes
the next draft, and question keys stay stable across versions so answers can
be compared year on year.
"""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.audit import Audited
from ..core.models import TimestampMixin, UTCDateTime, enum_type
from ..core.redaction import exempt_table
from ..extensions import db


class QuestionnaireKind(enum.StrEnum):
    CASE_AUDIT = "case_audit"
    SELF_ASSESSMENT = "self_assessment"
    AGENCY_SUMMARY = "agency_summary"
    #: answered anonymously by front-line staff beside a self-assessment round, never a round of its own
    PRACTITIONER_SURVEY = "practitioner_survey"

    @property
    def label(self) -> str:
        return {
            "case_audit": "Case audit",
            "self_assessment": "Self-assessment",
            "agency_summary": "Agency summary",
            "practitioner_survey": "Practitioner survey",
        }[self.value]


class VersionStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    RETIRED = "retired"


class QuestionType(enum.StrEnum):
    SCALE = "scale"
    TEXT = "text"
    NUMBER = "number"
    DATE = "date"
    SINGLE_CHOICE = "single_choice"
    MULTIPLE_CHOICE = "multiple_choice"

    @property
    def label(self) -> str:
        return {
            "scale": "Rating on a scale",
            "text": "Free text",
            "number": "Number",
            "date": "Date",
            "single_choice": "Choose one option",
            "multiple_choice": "Choose any options",
        }[self.value]


class QuestionRole(enum.StrEnum):
    """What a question means to findings and the case-audit pages; a question may have none."""

    GRADE = "grade"
    OVERALL_GRADE = "overall_grade"
    STRENGTHS = "strengths"
    DEVELOPMENT = "development"
    RECOMMENDATION = "recommendation"
    EVIDENCE = "evidence"
    IMMEDIATE_CONCERN = "immediate_concern"
    LEARNING_THEMES = "learning_themes"

    @property
    def label(self) -> str:
        return {
            "grade": "The section's grade",
            "overall_grade": "The overall grade",
            "strengths": "Strengths",
            "development": "Areas for development",
            "recommendation": "Recommendations",
            "evidence": "Evidence",
            "immediate_concern": "Immediate safeguarding concern",
            "learning_themes": "Learning themes",
        }[self.value]


#: key ending -> (role, the question types it is given to), read in this order; the first match wins.
#: Only a default on import (and for the data that existed before roles): a file's ``role`` overrides it.
ROLE_DEFAULTS: tuple[tuple[str, QuestionRole, frozenset[QuestionType]], ...] = (
    ("overall_grade", QuestionRole.OVERALL_GRADE, frozenset({QuestionType.SCALE})),
    ("_grade", QuestionRole.GRADE, frozenset({QuestionType.SCALE})),
    ("_good_practice", QuestionRole.STRENGTHS, frozenset({QuestionType.TEXT})),
    ("_strengths", QuestionRole.STRENGTHS, frozenset({QuestionType.TEXT})),
    ("_development", QuestionRole.DEVELOPMENT, frozenset({QuestionType.TEXT})),
    ("_recommendations", QuestionRole.RECOMMENDATION, frozenset({QuestionType.TEXT})),
    ("_evidence", QuestionRole.EVIDENCE, frozenset({QuestionType.TEXT})),
    ("_immediate_concern", QuestionRole.IMMEDIATE_CONCERN, frozenset({QuestionType.SCALE, QuestionType.SINGLE_CHOICE})),
    ("_learning_themes", QuestionRole.LEARNING_THEMES, frozenset({QuestionType.MULTIPLE_CHOICE, QuestionType.TEXT})),
)


def default_role(key: str, question_type: QuestionType) -> QuestionRole | None:
    """The role a question without one is given on import, from its key (``overall_grade`` exactly)."""
    for ending, role, types in ROLE_DEFAULTS:
        matches = key == ending if role == QuestionRole.OVERALL_GRADE else key.endswith(ending)
        if matches:
            return role if question_type in types else None
    return None


class Scale(Audited, TimestampMixin, db.Model):
    """An ordered set of levels answers are rated on. Built-in scales have no partnership."""

    __tablename__ = "scales"
    __table_args__ = (
        sa.UniqueConstraint("partnership_id", "key"),
        # The constraint above does not hold for built-in scales (partnership_id NULL; NULLs differ).
        sa.Index(
            "uq_scales_builtin_key",
            "key",
            unique=True,
            sqlite_where=sa.text("partnership_id IS NULL"),
            postgresql_where=sa.text("partnership_id IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: none for the built-in scales every partnership shares
    partnership_id: Mapped[int | None] = mapped_column(sa.ForeignKey("partnerships.id"), index=True)
    key: Mapped[str] = mapped_column(sa.String(64))
    name: Mapped[str] = mapped_column(sa.String(120))

    levels: Mapped[list[ScaleLevel]] = relationship(
        back_populates="scale", order_by="ScaleLevel.position", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def is_builtin(self) -> bool:
        return self.partnership_id is None


class ScaleLevel(Audited, db.Model):
    """One level of a scale: a label, its numeric value and colour, and whether it counts as good."""

    __tablename__ = "scale_levels"
    __table_args__ = (
        sa.UniqueConstraint("scale_id", "position"),
        sa.UniqueConstraint("scale_id", "label"),
        sa.CheckConstraint("NOT (counts_as_good AND is_not_applicable)", name="good_is_not_not_applicable"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scale_id: Mapped[int] = mapped_column(sa.ForeignKey("scales.id"), index=True)
    #: 0-based order, best first
    position: Mapped[int] = mapped_column()
    label: Mapped[str] = mapped_column(sa.String(80))
    #: numeric value for averages; none for not-applicable levels
    value: Mapped[Decimal | None] = mapped_column(sa.Numeric(6, 2))
    #: CSS colour (#rrggbb) used on charts, never the only carrier of meaning
    colour: Mapped[str] = mapped_column(sa.String(7), default="#505a5f")
    #: "Not applicable": excluded from averages and counts of graded answers
    is_not_applicable: Mapped[bool] = mapped_column(default=False)
    #: counted in "Good or better" (Outstanding and Good on the Ofsted scale; Fully met, Yes, Green)
    counts_as_good: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    scale: Mapped[Scale] = relationship(back_populates="levels")


class Theme(Audited, TimestampMixin, db.Model):
    """A partnership's audit theme (CSE, neglect, strategy meetings...)."""

    __tablename__ = "themes"
    __table_args__ = (sa.UniqueConstraint("partnership_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    partnership_id: Mapped[int] = mapped_column(sa.ForeignKey("partnerships.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(120))


#: the learning themes a new partnership starts with (it edits its own list); the same names as the options of the
#: library's case-audit learning-themes questions, so returns count towards them from the start
DEFAULT_LEARNING_THEMES = (
    "Information sharing",
    "Professional curiosity",
    "Voice of the child",
    "Management oversight and supervision",
    "Application of thresholds",
    "Escalation",
    "Think family",
    "Drift and delay",
    "Recording",
    "Cross-border working",
)


class LearningTheme(Audited, TimestampMixin, db.Model):
    """One of a partnership's learning themes (information sharing, voice of the child...): the one list that
    review learning points, case-audit findings and returns, self-assessment findings and recommendations are
    tagged from. Questionnaire options and recommendation tags count towards a theme by its name."""

    __tablename__ = "learning_themes"
    __table_args__ = (sa.UniqueConstraint("partnership_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    partnership_id: Mapped[int] = mapped_column(sa.ForeignKey("partnerships.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(120))
    #: what the theme covers, shown beside it when tagging
    description: Mapped[str] = mapped_column(sa.Text, default="")
    #: order in lists and charts
    position: Mapped[int] = mapped_column(default=0)
    #: no longer offered for new tags; its past tags still count
    is_retired: Mapped[bool] = mapped_column(default=False)

    @property
    def audit_partnership_id(self) -> int:
        return self.partnership_id


class Questionnaire(Audited, TimestampMixin, db.Model):
    """A questionnaire and all its versions."""

    __tablename__ = "questionnaires"
    __table_args__ = (sa.UniqueConstraint("partnership_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    partnership_id: Mapped[int] = mapped_column(sa.ForeignKey("partnerships.id"), index=True)
    #: stable identifier, used in exports, the API and the CLI
    key: Mapped[str] = mapped_column(sa.String(64))
    title: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[QuestionnaireKind] = mapped_column(enum_type(QuestionnaireKind, "kind"))
    theme_id: Mapped[int | None] = mapped_column(sa.ForeignKey("themes.id"), index=True)
    description: Mapped[str] = mapped_column(sa.Text, default="")

    theme: Mapped[Theme | None] = relationship(lazy="joined")
    versions: Mapped[list[QuestionnaireVersion]] = relationship(
        back_populates="questionnaire", order_by="QuestionnaireVersion.number"
    )

    @property
    def latest(self) -> QuestionnaireVersion:
        return self.versions[-1]

    @property
    def draft(self) -> QuestionnaireVersion | None:
        return next((v for v in self.versions if v.status == VersionStatus.DRAFT), None)

    @property
    def current_published(self) -> QuestionnaireVersion | None:
        published = [v for v in self.versions if v.status == VersionStatus.PUBLISHED]
        return published[-1] if published else None


class QuestionnaireVersion(Audited, TimestampMixin, db.Model):
    """One version of a questionnaire. Immutable once published."""

    __tablename__ = "questionnaire_versions"
    __table_args__ = (sa.UniqueConstraint("questionnaire_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    questionnaire_id: Mapped[int] = mapped_column(sa.ForeignKey("questionnaires.id"), index=True)
    number: Mapped[int] = mapped_column()
    #: changes only through services.publish_version() and retire_version()
    status: Mapped[VersionStatus] = mapped_column(enum_type(VersionStatus, "status"), default=VersionStatus.DRAFT)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    questionnaire: Mapped[Questionnaire] = relationship(back_populates="versions")
    sections: Mapped[list[Section]] = relationship(
        back_populates="version", order_by="Section.position", cascade="all, delete-orphan"
    )

    @property
    def audit_partnership_id(self) -> int:
        return self.questionnaire.partnership_id

    @property
    def questions(self) -> list[Question]:
        return [q for s in self.sections for q in s.questions]


class Section(Audited, db.Model):
    """A titled group of questions, such as one stage of the child's journey."""

    __tablename__ = "sections"
    __table_args__ = (sa.UniqueConstraint("version_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(sa.ForeignKey("questionnaire_versions.id"), index=True)
    key: Mapped[str] = mapped_column(sa.String(64))
    position: Mapped[int] = mapped_column()
    title: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")

    version: Mapped[QuestionnaireVersion] = relationship(back_populates="sections")
    questions: Mapped[list[Question]] = relationship(
        back_populates="section", order_by="Question.position", cascade="all, delete-orphan"
    )

    @property
    def audit_partnership_id(self) -> int:
        return self.version.questionnaire.partnership_id


class Question(Audited, db.Model):
    """One question. Its key is stable across versions."""

    __tablename__ = "questions"
    __table_args__ = (sa.UniqueConstraint("version_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: repeated from the section so keys can be unique per version in the database
    version_id: Mapped[int] = mapped_column(sa.ForeignKey("questionnaire_versions.id"), index=True)
    section_id: Mapped[int] = mapped_column(sa.ForeignKey("sections.id"), index=True)
    key: Mapped[str] = mapped_column(sa.String(64))
    position: Mapped[int] = mapped_column()
    text: Mapped[str] = mapped_column(sa.Text)
    guidance: Mapped[str] = mapped_column(sa.Text, default="")
    type: Mapped[QuestionType] = mapped_column(enum_type(QuestionType, "type"))
    scale_id: Mapped[int | None] = mapped_column(sa.ForeignKey("scales.id"), index=True)
    is_required: Mapped[bool] = mapped_column(default=False)
    #: sector keys this question is shown to; empty means every sector
    applies_to: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    #: options of a choice question
    options: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    #: "show only if question <key> is one of <values>"
    condition_question_key: Mapped[str | None] = mapped_column(sa.String(64))
    condition_values: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    #: what the question means to findings (a section's grade, strengths...); none for most questions
    role: Mapped[QuestionRole | None] = mapped_column(enum_type(QuestionRole, "role"))
    #: the answers (option or level labels) that mean an immediate safeguarding concern was identified;
    #: only on the question with the immediate_concern role (``concern_if`` in the file)
    concern_values: Mapped[list[str]] = mapped_column(sa.JSON, default=list, server_default="[]")

    section: Mapped[Section] = relationship(back_populates="questions")
    scale: Mapped[Scale | None] = relationship(lazy="joined")

    @property
    def audit_partnership_id(self) -> int:
        return self.section.version.questionnaire.partnership_id

    @property
    def condition_question_text(self) -> str:
        """The text of the question this one depends on (shown to people, never its key)."""
        if not self.condition_question_key:
            return ""
        target = next((q for q in self.section.version.questions if q.key == self.condition_question_key), None)
        return target.text if target is not None else ""

    def applies_to_sector(self, sector_key: str | None) -> bool:
        return not self.applies_to or sector_key in self.applies_to

    def to_dict(self) -> dict[str, Any]:
        """The question as exported (see docs/questionnaire-format.md)."""
        data: dict[str, Any] = {"key": self.key, "text": self.text, "type": self.type.value}
        if self.role is not None:
            data["role"] = self.role.value
        elif default_role(self.key, self.type) is not None:
            data["role"] = "none"  # so importing the file does not give it its key's default
        if self.guidance:
            data["guidance"] = self.guidance
        if self.scale is not None:
            data["scale"] = self.scale.key
        if self.options:
            data["options"] = list(self.options)
        if self.is_required:
            data["required"] = True
        if self.applies_to:
            data["applies_to"] = list(self.applies_to)
        if self.condition_question_key:
            data["show_if"] = {"question": self.condition_question_key, "in": list(self.condition_values)}
        if self.concern_values:
            data["concern_if"] = list(self.concern_values)
        return data


# -- core.redaction: questionnaires, scales and themes are definitions, never about one case --

for _model in (Scale, ScaleLevel, Theme, LearningTheme, Questionnaire, QuestionnaireVersion, Section, Question):
    exempt_table(_model.__table__, "questionnaire, scale and theme definitions: never about one case")
