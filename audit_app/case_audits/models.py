"""Case audits: the cases of a cohort, the agencies involved with each, and the panel's judgement.

A case is a child (or family) audited, named by a reference or pseudonym,
never a name or date of birth. A round of kind ``case_audit`` sends a return
to every agency involved with each of its cases (see ``kinds.py``).
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import Agency
from ..core.audit import Audited
from ..core.models import TimestampMixin
from ..extensions import db
from ..questionnaires.models import ScaleLevel
from ..rounds.models import Round


class Case(Audited, TimestampMixin, db.Model):
    """A child (or family) audited: a reference or pseudonym, never a name or date of birth."""

    __tablename__ = "cases"
    __table_args__ = (sa.UniqueConstraint("partnership_id", "reference"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    partnership_id: Mapped[int] = mapped_column(sa.ForeignKey("partnerships.id"), index=True)
    reference: Mapped[str] = mapped_column(sa.String(40))
    age_band: Mapped[str] = mapped_column(sa.String(20), default="")
    sex: Mapped[str] = mapped_column(sa.String(20), default="")
    #: a 2021 Census category key (cohort.ETHNICITIES), "not_stated", or "" for not recorded
    ethnicity: Mapped[str] = mapped_column(sa.String(60), default="")
    disability: Mapped[str] = mapped_column(sa.String(20), default="")
    plan_type: Mapped[str] = mapped_column(sa.String(40), default="")

    @property
    def ethnicity_label(self) -> str:
        from .cohort import ethnicity_label

        return ethnicity_label(self.ethnicity)


#: which agencies were involved with a case in a round (returns are made from this on opening)
round_case_agencies = sa.Table(
    "round_case_agencies",
    db.metadata,
    sa.Column("round_case_id", sa.ForeignKey("round_cases.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("agency_id", sa.ForeignKey("agencies.id"), primary_key=True),
)


class RoundCase(Audited, TimestampMixin, db.Model):
    """A case in a round. A re-audited case links to its earlier audit."""

    __tablename__ = "round_cases"
    __table_args__ = (sa.UniqueConstraint("round_id", "case_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("rounds.id"), index=True)
    case_id: Mapped[int] = mapped_column(sa.ForeignKey("cases.id"), index=True)
    #: the same case in the round this one re-audits
    previous_round_case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("round_cases.id"), index=True)

    round: Mapped[Round] = relationship(back_populates="cases")
    case: Mapped[Case] = relationship(lazy="joined")
    agencies: Mapped[list[Agency]] = relationship(secondary=round_case_agencies, order_by="Agency.name")

    @property
    def audit_partnership_id(self) -> int:
        return self.case.partnership_id


class CaseJudgement(Audited, TimestampMixin, db.Model):
    """The multi-agency grade agreed for a case, per section or overall (section_key empty)."""

    __tablename__ = "case_judgements"
    __table_args__ = (sa.UniqueConstraint("round_case_id", "section_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_case_id: Mapped[int] = mapped_column(sa.ForeignKey("round_cases.id"), index=True)
    #: the section judged; "" for the case overall
    section_key: Mapped[str] = mapped_column(sa.String(64), default="")
    grade_level_id: Mapped[int | None] = mapped_column(sa.ForeignKey("scale_levels.id"))
    strengths: Mapped[str] = mapped_column(sa.Text, default="")
    areas_for_development: Mapped[str] = mapped_column(sa.Text, default="")
    #: what the panel recommends (recorded with the case's overall judgement)
    recommendations: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    #: an immediate concern about the child, escalated outside the audit
    concern_escalated: Mapped[bool] = mapped_column(default=False)
    escalated_to: Mapped[str] = mapped_column(sa.String(200), default="")
    escalated_on: Mapped[date | None] = mapped_column()

    round_case: Mapped[RoundCase] = relationship()
    grade: Mapped[ScaleLevel | None] = relationship()

    @property
    def audit_partnership_id(self) -> int:
        return self.round_case.case.partnership_id
