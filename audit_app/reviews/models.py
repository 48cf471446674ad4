"""Learning reviews: the register, statutory clocks and their pauses, agency summaries, the panel's decision and
the learning points.

A review names the child only by a pseudonym. Its clocks are never stored: ``clocks.py`` computes each due
date from the review's dates and its pauses. Agency summaries are the returns of an ``agency_summary`` round
the review starts (``summary_round_id``), so they follow the engine's save, sign-off, submit and access rules.
Each part keeps its models in its own block below.
"""

from __future__ import annotations

import enum
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import Agency, User
from ..core.audit import Audited
from ..core.models import TimestampMixin, enum_type
from ..core.redaction import exempt_table, register_place
from ..extensions import db
from ..questionnaires.models import LearningTheme
from ..rounds.models import Round

# ----------------------------------------------------------------------------------------------------------
# The register (services.py)
# ----------------------------------------------------------------------------------------------------------


class ReviewType(enum.StrEnum):
    RAPID_REVIEW = "rapid_review"
    LCSPR = "lcspr"
    LOCAL_LEARNING_REVIEW = "local_learning_review"
    THEMATIC_REVIEW = "thematic_review"
    JOINT_REVIEW = "joint_review"

    @property
    def label(self) -> str:
        return REVIEW_TYPE_LABELS[self]


REVIEW_TYPE_LABELS = {
    ReviewType.RAPID_REVIEW: "Rapid review",
    ReviewType.LCSPR: "Local child safeguarding practice review",
    ReviewType.LOCAL_LEARNING_REVIEW: "Local learning review",
    ReviewType.THEMATIC_REVIEW: "Thematic review",
    ReviewType.JOINT_REVIEW: "Joint review (with an adult or domestic homicide review)",
}


class ReviewStatus(enum.StrEnum):
    """In progress until the review's work is finished (a rapid review with no further review, once decided)."""

    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"

    @property
    def label(self) -> str:
        return {"in_progress": "In progress", "completed": "Completed"}[self.value]


class ReviewDecision(enum.StrEnum):
    """What the rapid review panel decided."""

    LCSPR = "lcspr"
    LOCAL_LEARNING_REVIEW = "local_learning_review"
    NO_FURTHER_REVIEW = "no_further_review"

    @property
    def label(self) -> str:
        return DECISION_LABELS[self]


DECISION_LABELS = {
    ReviewDecision.LCSPR: "Commission a local child safeguarding practice review",
    ReviewDecision.LOCAL_LEARNING_REVIEW: "Commission a local learning review",
    ReviewDecision.NO_FURTHER_REVIEW: "No further review",
}


class PanelResponse(enum.StrEnum):
    """The National Panel's view of the partnership's decision."""

    AWAITING = "awaiting"
    AGREED = "agreed"
    DISAGREED = "disagreed"

    @property
    def label(self) -> str:
        return {"awaiting": "Awaiting the National Panel", "agreed": "Agreed", "disagreed": "Did not agree"}[self.value]


class PublicationState(enum.StrEnum):
    NOT_FOR_PUBLICATION = "not_for_publication"
    DRAFT = "draft"
    AWAITING_PUBLICATION = "awaiting_publication"
    PUBLISHED = "published"

    @property
    def label(self) -> str:
        return PUBLICATION_LABELS[self]


PUBLICATION_LABELS = {
    PublicationState.NOT_FOR_PUBLICATION: "Not for publication",
    PublicationState.DRAFT: "Draft report",
    PublicationState.AWAITING_PUBLICATION: "Awaiting publication",
    PublicationState.PUBLISHED: "Published",
}

#: the agencies present at a rapid review's panel meeting
review_panel_agencies = sa.Table(
    "review_panel_agencies",
    db.metadata,
    sa.Column("review_id", sa.ForeignKey("learning_reviews.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("agency_id", sa.ForeignKey("agencies.id"), primary_key=True),
)


class LearningReview(Audited, TimestampMixin, db.Model):
    """One review on the partnership's register, named by a pseudonym ("Child K"), never by the child's name."""

    __tablename__ = "learning_reviews"
    __table_args__ = (
        sa.UniqueConstraint("partnership_id", "pseudonym"),
        sa.CheckConstraint(
            "notified_on IS NULL OR aware_on IS NULL OR notified_on >= aware_on", name="notified_after_aware"
        ),
        sa.CheckConstraint("decided_on IS NULL OR decision IS NOT NULL", name="decided_has_decision"),
        sa.CheckConstraint("publication_state != 'published' OR published_on IS NOT NULL", name="published_has_date"),
        sa.CheckConstraint(
            "publication_state != 'awaiting_publication' OR publication_delay_reason != ''",
            name="awaiting_has_reason",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    partnership_id: Mapped[int] = mapped_column(sa.ForeignKey("partnerships.id"), index=True)
    review_type: Mapped[ReviewType] = mapped_column(enum_type(ReviewType, "review_type"))
    #: how the review names the child: "Child K", "Baby Y", a first name that is not theirs
    pseudonym: Mapped[str] = mapped_column(sa.String(80))
    #: what happened and what the review covers, in brief and without names
    summary: Mapped[str] = mapped_column(sa.Text, default="")
    status: Mapped[ReviewStatus] = mapped_column(enum_type(ReviewStatus, "status"), default=ReviewStatus.IN_PROGRESS)

    #: the day the local authority became aware of the serious incident (starts the notification clock)
    aware_on: Mapped[date | None] = mapped_column()
    #: the day the National Panel was notified (meets the notification clock; starts the rapid review clock)
    notified_on: Mapped[date | None] = mapped_column()

    #: the rapid review panel's meeting
    panel_met_on: Mapped[date | None] = mapped_column()
    #: who attended, one person (name or role, and agency) a line
    panel_attendees: Mapped[str] = mapped_column(sa.Text, default="")

    #: what the panel decided and when (meets the rapid review clock; starts the practice review clock when it
    #: commissions one; for a review registered as an LCSPR, the day it was commissioned)
    decision: Mapped[ReviewDecision | None] = mapped_column(enum_type(ReviewDecision, "decision"))
    decided_on: Mapped[date | None] = mapped_column()
    decision_rationale: Mapped[str] = mapped_column(sa.Text, default="")
    panel_response: Mapped[PanelResponse | None] = mapped_column(enum_type(PanelResponse, "panel_response"))

    #: the day the review's final report was agreed (meets the practice review clock)
    completed_on: Mapped[date | None] = mapped_column()

    publication_state: Mapped[PublicationState] = mapped_column(
        enum_type(PublicationState, "publication_state"), default=PublicationState.NOT_FOR_PUBLICATION
    )
    #: why publication waits (criminal proceedings, an inquest...)
    publication_delay_reason: Mapped[str] = mapped_column(sa.Text, default="")
    published_on: Mapped[date | None] = mapped_column()
    published_url: Mapped[str] = mapped_column(sa.String(500), default="")

    #: the round of agency summaries the review sent (kind agency_summary)
    summary_round_id: Mapped[int | None] = mapped_column(sa.ForeignKey("rounds.id"), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    summary_round: Mapped[Round | None] = relationship()
    created_by: Mapped[User | None] = relationship()
    panel_agencies: Mapped[list[Agency]] = relationship(secondary=review_panel_agencies, order_by="Agency.name")
    pauses: Mapped[list[ClockPause]] = relationship(
        back_populates="review", cascade="all, delete-orphan", order_by="ClockPause.paused_on, ClockPause.id"
    )
    learning_points: Mapped[list[LearningPoint]] = relationship(
        back_populates="review", cascade="all, delete-orphan", order_by="LearningPoint.number"
    )

    @property
    def audit_partnership_id(self) -> int:
        return self.partnership_id

    @property
    def title(self) -> str:
        """How people name it: "Rapid review: Child K"."""
        return f"{self.review_type.label}: {self.pseudonym}"

    @property
    def is_published(self) -> bool:
        return self.publication_state == PublicationState.PUBLISHED

    @property
    def panel_attendee_lines(self) -> list[str]:
        return [line.strip() for line in self.panel_attendees.splitlines() if line.strip()]


# ----------------------------------------------------------------------------------------------------------
# Clock pauses (clocks.py computes; services.py records)
# ----------------------------------------------------------------------------------------------------------


class ClockKind(enum.StrEnum):
    NOTIFICATION = "notification"
    RAPID_REVIEW = "rapid_review"
    PRACTICE_REVIEW = "practice_review"

    @property
    def label(self) -> str:
        return CLOCK_LABELS[self]


CLOCK_LABELS = {
    ClockKind.NOTIFICATION: "Notification to the National Panel",
    ClockKind.RAPID_REVIEW: "Rapid review",
    ClockKind.PRACTICE_REVIEW: "Practice review",
}


class ClockPause(Audited, TimestampMixin, db.Model):
    """A clock stopped from ``paused_on`` (the first day not counted) until ``resumed_on`` (the day it counts
    again); open while ``resumed_on`` is empty. A clock's pauses never overlap."""

    __tablename__ = "clock_pauses"
    __table_args__ = (
        sa.CheckConstraint("resumed_on IS NULL OR resumed_on >= paused_on", name="resumed_after_paused"),
        sa.CheckConstraint("reason != ''", name="has_reason"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(sa.ForeignKey("learning_reviews.id", ondelete="CASCADE"), index=True)
    clock: Mapped[ClockKind] = mapped_column(enum_type(ClockKind, "clock"))
    paused_on: Mapped[date] = mapped_column()
    resumed_on: Mapped[date | None] = mapped_column()
    #: why (criminal proceedings, waiting for a coroner...)
    reason: Mapped[str] = mapped_column(sa.Text)
    paused_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    resumed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    review: Mapped[LearningReview] = relationship(back_populates="pauses")
    paused_by: Mapped[User | None] = relationship(foreign_keys=[paused_by_id])
    resumed_by: Mapped[User | None] = relationship(foreign_keys=[resumed_by_id])

    @property
    def audit_partnership_id(self) -> int:
        return self.review.partnership_id


# ----------------------------------------------------------------------------------------------------------
# Learning points (learning.py)
# ----------------------------------------------------------------------------------------------------------

#: the learning themes a learning point is tagged with
learning_point_themes = sa.Table(
    "learning_point_themes",
    db.metadata,
    sa.Column("learning_point_id", sa.ForeignKey("learning_points.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("learning_theme_id", sa.ForeignKey("learning_themes.id"), primary_key=True, index=True),
)


class LearningPoint(Audited, TimestampMixin, db.Model):
    """A key learning point of a review, numbered within it and tagged with learning themes."""

    __tablename__ = "learning_points"
    __table_args__ = (
        sa.UniqueConstraint("review_id", "number"),
        sa.CheckConstraint("number >= 1", name="number_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(sa.ForeignKey("learning_reviews.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column()
    text: Mapped[str] = mapped_column(sa.Text)

    review: Mapped[LearningReview] = relationship(back_populates="learning_points")
    themes: Mapped[list[LearningTheme]] = relationship(
        secondary=learning_point_themes, order_by="LearningTheme.position, LearningTheme.name"
    )

    @property
    def audit_partnership_id(self) -> int:
        return self.review.partnership_id


# ----------------------------------------------------------------------------------------------------------
# Clock reminders sent (reminders.py)
# ----------------------------------------------------------------------------------------------------------


class ReviewReminder(db.Model):
    """A reminder about one clock of a review, sent once per clock, kind and due date: the daily run checks here
    first, so a clock due soon is reminded about once, and once more when it becomes overdue (again if a pause
    moves its due date)."""

    __tablename__ = "review_reminders"
    __table_args__ = (sa.UniqueConstraint("review_id", "clock", "kind", "due_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(sa.ForeignKey("learning_reviews.id", ondelete="CASCADE"), index=True)
    #: the ClockKind's key
    clock: Mapped[str] = mapped_column(sa.String(20))
    #: "due_soon" or "overdue"
    kind: Mapped[str] = mapped_column(sa.String(20))
    #: the due date it was about
    due_on: Mapped[date] = mapped_column()
    sent_on: Mapped[date] = mapped_column()
    #: how many people it went to
    recipients: Mapped[int] = mapped_column(default=0)


# -- core.redaction: where a case reference could be typed --

register_place(LearningReview.__table__, lambda pid: LearningReview.__table__.c.partnership_id == pid)
register_place(
    ClockPause.__table__,
    lambda pid: ClockPause.__table__.c.review_id.in_(
        sa.select(LearningReview.id).where(LearningReview.partnership_id == pid)
    ),
)
register_place(
    LearningPoint.__table__,
    lambda pid: LearningPoint.__table__.c.review_id.in_(
        sa.select(LearningReview.id).where(LearningReview.partnership_id == pid)
    ),
)
exempt_table(ReviewReminder.__table__, "which clock and kind of reminder was sent: fixed codes, never about a case")
