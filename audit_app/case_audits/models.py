"""Case audits: the cases of a cohort, the agencies involved with each, and the panel's judgement.

A case is a child (or family) audited, named by a reference or pseudonym,
never a name or date of birth. A round of kind ``case_audit`` sends a return
to every agency involved with each of its cases (see ``kinds.py``).
"""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import Agency
from ..core.audit import Audited
from ..core.models import TimestampMixin, UTCDateTime, enum_type, utcnow
from ..core.redaction import exempt_table, register_place
from ..extensions import db
from ..questionnaires.models import LearningTheme, ScaleLevel
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
    def audit_partnership_id(self) -> int | None:
        # A round case just made from ids has no case loaded yet while its creation is recorded.
        if self.case is not None:
            return self.case.partnership_id
        return db.session.scalar(sa.select(Case.partnership_id).where(Case.id == self.case_id))


#: the learning themes the panel tagged a case's judgement with (learning themes across sources)
case_judgement_themes = sa.Table(
    "case_judgement_themes",
    db.metadata,
    sa.Column("case_judgement_id", sa.ForeignKey("case_judgements.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("learning_theme_id", sa.ForeignKey("learning_themes.id"), primary_key=True, index=True),
)


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
    #: the learning themes of the finding (recorded with the case's overall judgement)
    themes: Mapped[list[LearningTheme]] = relationship(
        secondary=case_judgement_themes, order_by="LearningTheme.position, LearningTheme.name"
    )

    @property
    def audit_partnership_id(self) -> int | None:
        if self.round_case is not None:
            return self.round_case.audit_partnership_id
        return db.session.scalar(
            sa.select(Case.partnership_id)
            .join(RoundCase, RoundCase.case_id == Case.id)
            .where(RoundCase.id == self.round_case_id)
        )


# -- where a wrongly entered case reference may sit (core.redaction) --

register_place(Case.__table__, lambda pid: Case.__table__.c.partnership_id == pid)
# no text of its own, but its events are found through it (see core.redaction._events_of)
register_place(
    RoundCase.__table__,
    lambda pid: RoundCase.__table__.c.case_id.in_(sa.select(Case.id).where(Case.partnership_id == pid)),
)
register_place(
    CaseJudgement.__table__,
    lambda pid: CaseJudgement.__table__.c.round_case_id.in_(
        sa.select(RoundCase.id).join(Round, Round.id == RoundCase.round_id).where(Round.partnership_id == pid)
    ),
    skip={"section_key"},
)


# -- the audit meeting and the chair's report --


class SelectionMethod(enum.StrEnum):
    """How the round's cases were chosen (the criteria are written beside it)."""

    RANDOM = "random"
    PURPOSIVE = "purposive"
    MIXED = "mixed"

    @property
    def label(self) -> str:
        return SELECTION_LABELS[self]


SELECTION_LABELS = {
    SelectionMethod.RANDOM: "Random sample",
    SelectionMethod.PURPOSIVE: "Purposive (chosen for what they show)",
    SelectionMethod.MIXED: "Some random, some purposive",
}

#: the agencies present at the multi-agency audit meeting
meeting_agencies = sa.Table(
    "meeting_agencies",
    db.metadata,
    sa.Column("chair_report_id", sa.ForeignKey("chair_reports.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("agency_id", sa.ForeignKey("agencies.id"), primary_key=True),
)


class ChairReport(Audited, TimestampMixin, db.Model):
    """One per case-audit round: the meeting record, the method (audit period, how cases were chosen) and the
    chair's written report (the fields the PDF and the learning briefing lead with)."""

    __tablename__ = "chair_reports"
    __table_args__ = (
        sa.CheckConstraint(
            "period_to IS NULL OR period_from IS NULL OR period_to >= period_from", name="period_in_order"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("rounds.id", ondelete="CASCADE"), unique=True)
    #: the multi-agency audit meeting
    meeting_on: Mapped[date | None] = mapped_column()
    chair: Mapped[str] = mapped_column(sa.String(200), default="")
    #: who attended, by role and agency (never a child's name)
    attendees: Mapped[str] = mapped_column(sa.Text, default="")
    #: the period the audit looked at (e.g. referrals between these dates)
    period_from: Mapped[date | None] = mapped_column()
    period_to: Mapped[date | None] = mapped_column()
    selection_method: Mapped[SelectionMethod | None] = mapped_column(enum_type(SelectionMethod, "selection_method"))
    selection_criteria: Mapped[str] = mapped_column(sa.Text, default="")
    #: the chair's report
    executive_summary: Mapped[str] = mapped_column(sa.Text, default="")
    strengths: Mapped[str] = mapped_column(sa.Text, default="")
    challenges: Mapped[str] = mapped_column(sa.Text, default="")
    themes: Mapped[str] = mapped_column(sa.Text, default="")
    #: the learning briefing's own parts (what we found and what to do come from the fields above)
    why_it_matters: Mapped[str] = mapped_column(sa.Text, default="")
    what_good_looks_like: Mapped[str] = mapped_column(sa.Text, default="")

    round: Mapped[Round] = relationship()
    agencies_present: Mapped[list[Agency]] = relationship(secondary=meeting_agencies, order_by="Agency.name")

    @property
    def audit_partnership_id(self) -> int:
        return self.round.partnership_id


class ReportRecommendation(Audited, TimestampMixin, db.Model):
    """A numbered partnership recommendation of the chair's report."""

    __tablename__ = "report_recommendations"
    __table_args__ = (
        sa.UniqueConstraint("round_id", "number"),
        sa.CheckConstraint("number >= 1", name="number_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column()
    text: Mapped[str] = mapped_column(sa.Text)

    round: Mapped[Round] = relationship()

    @property
    def audit_partnership_id(self) -> int:
        return self.round.partnership_id


class PractitionerInvolvement(Audited, TimestampMixin, db.Model):
    """Whether an agency's practitioner on a case was invited to the audit meeting, came, and what they said."""

    __tablename__ = "practitioner_involvements"
    __table_args__ = (sa.UniqueConstraint("round_case_id", "agency_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_case_id: Mapped[int] = mapped_column(sa.ForeignKey("round_cases.id", ondelete="CASCADE"), index=True)
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"))
    invited: Mapped[bool] = mapped_column(default=False)
    attended: Mapped[bool] = mapped_column(default=False)
    #: the practitioner's view of the case and of the audit's findings
    view: Mapped[str] = mapped_column(sa.Text, default="")

    round_case: Mapped[RoundCase] = relationship()
    agency: Mapped[Agency] = relationship()

    @property
    def audit_partnership_id(self) -> int:
        return self.round_case.round.partnership_id


# the chair's report, the meeting record and practitioners' views are typed by people: a reference may be there
register_place(
    ChairReport.__table__,
    lambda pid: ChairReport.__table__.c.round_id.in_(sa.select(Round.id).where(Round.partnership_id == pid)),
)
register_place(
    ReportRecommendation.__table__,
    lambda pid: ReportRecommendation.__table__.c.round_id.in_(sa.select(Round.id).where(Round.partnership_id == pid)),
)
register_place(
    PractitionerInvolvement.__table__,
    lambda pid: PractitionerInvolvement.__table__.c.round_case_id.in_(
        sa.select(RoundCase.id).join(Round, Round.id == RoundCase.round_id).where(Round.partnership_id == pid)
    ),
)


# -- retention: what a purge removed, and the figures it kept (case_audits.retention) --


class RoundPurge(db.Model):
    """A reported case audit round whose case-level records were removed at the end of the partnership's
    retention period: when, under which period, and how many rows of each kind went. Its figures stay, as
    :class:`KeptCount` rows. Written once, by ``flask purge --apply``; never changed."""

    __tablename__ = "round_purges"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("rounds.id", ondelete="CASCADE"), unique=True)
    partnership_id: Mapped[int] = mapped_column(sa.ForeignKey("partnerships.id"), index=True)
    purged_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: the period that applied, in months, and when the round had been reported
    retention_months: Mapped[int] = mapped_column()
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: rows removed, by kind (retention.REMOVED_KINDS keys), and the files removed
    removed: Mapped[dict[str, int]] = mapped_column(sa.JSON, default=dict)
    #: who ran it ("cli:purge" from the schedule)
    actor_label: Mapped[str] = mapped_column(sa.String(320), default="")

    round: Mapped[Round] = relationship()


class KeptFigure(enum.StrEnum):
    """What a kept count counts (see :class:`KeptCount`)."""

    #: returns by agency and status (``key``: the status)
    RETURNS = "returns"
    #: the round's cases (agency empty)
    CASES = "cases"
    #: returned scale answers by agency, question (``key``: its key) and level
    ANSWERS = "answers"
    #: the panel's agreed grades by section (``key``: the section's key, ``overall`` for the case) and level
    PANEL = "panel"
    #: learning themes ticked, by agency (empty: all agencies) and theme (``key``; empty: any theme):
    #: ``n`` returns, ``cases`` distinct cases
    THEMES = "themes"
    #: an agency's grades beside the panel's on the same case and section (``key``: same, higher, lower)
    AGREEMENT = "agreement"


class KeptCount(db.Model):
    """One count a purged round's findings are drawn from once its returns, answers and judgements are gone.

    Counted by the reporting queries' own GROUP BYs just before the purge; nothing in a row names or describes
    a child: an agency, a question's or section's key, a scale level, a status or a learning theme, and numbers.
    """

    __tablename__ = "kept_counts"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    figure: Mapped[KeptFigure] = mapped_column(enum_type(KeptFigure, "figure"))
    agency_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agencies.id"))
    key: Mapped[str] = mapped_column(sa.String(200), default="")
    level_id: Mapped[int | None] = mapped_column(sa.ForeignKey("scale_levels.id"))
    n: Mapped[int] = mapped_column(default=0)
    cases: Mapped[int] = mapped_column(default=0)


exempt_table(RoundPurge.__table__, "counts of rows removed and a system actor's label: no text anyone types")
exempt_table(KeptCount.__table__, "keys of questions, sections, statuses and learning themes: no text anyone types")
