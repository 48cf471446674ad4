"""Recommendations from any source, the actions that answer them, progress updates and evidence of impact.

A recommendation comes from a source: a case-audit round (from its chair's report or a case's panel
judgement), later a self-assessment round or a learning review, or "other" (an inspection, a board
challenge) described in words. It is numbered within its source. Actions sit under a recommendation, each
with an owner, a due date, a status and a RAG rating; the composite action plan lists every action of the
partnership, whatever the source.

Rules that always hold are database constraints as well as service checks: Blue and "closed" go together
and need a reason; an owner is a user or a named person.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import Agency, User
from ..core import clock
from ..core.audit import Audited
from ..core.models import TimestampMixin, UTCDateTime, enum_type, utcnow
from ..core.redaction import exempt_table, register_place
from ..core.storage import StoredFile
from ..extensions import db
from ..rounds.models import Round

if TYPE_CHECKING:
    from ..reviews.models import LearningReview


class SourceKind(enum.StrEnum):
    """Where a recommendation came from."""

    ROUND = "round"
    #: a learning review (reviews.models.LearningReview)
    REVIEW = "review"
    OTHER = "other"

    @property
    def label(self) -> str:
        return SOURCE_LABELS[self]


SOURCE_LABELS = {
    SourceKind.ROUND: "Audit round",
    SourceKind.REVIEW: "Learning review",
    SourceKind.OTHER: "Other source",
}


class ActionStatus(enum.StrEnum):
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    COMPLETE = "complete"
    #: closed without completion: no longer progressable (RAG Blue), with a reason
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return STATUS_LABELS[self]

    @property
    def is_finished(self) -> bool:
        return self in (ActionStatus.COMPLETE, ActionStatus.CLOSED)


STATUS_LABELS = {
    ActionStatus.NOT_STARTED: "Not started",
    ActionStatus.IN_PROGRESS: "In progress",
    ActionStatus.COMPLETE: "Complete",
    ActionStatus.CLOSED: "Closed: no longer progressable",
}


class Rag(enum.StrEnum):
    RED = "red"
    AMBER = "amber"
    GREEN = "green"
    #: no longer progressable (goes with the status "closed")
    BLUE = "blue"

    @property
    def label(self) -> str:
        return RAG_LABELS[self]

    @property
    def meaning(self) -> str:
        return RAG_MEANINGS[self]

    @property
    def colour(self) -> str:
        return RAG_COLOURS[self]


RAG_LABELS = {Rag.RED: "Red", Rag.AMBER: "Amber", Rag.GREEN: "Green", Rag.BLUE: "Blue"}
RAG_MEANINGS = {
    Rag.RED: "off track",
    Rag.AMBER: "at risk",
    Rag.GREEN: "on track or complete",
    Rag.BLUE: "no longer progressable",
}
#: chart colours (GOV.UK palette); the label is always shown beside the colour
RAG_COLOURS = {Rag.RED: "#d4351c", Rag.AMBER: "#f47738", Rag.GREEN: "#00703c", Rag.BLUE: "#1d70b8"}


class EvidenceStatus(enum.StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"

    @property
    def label(self) -> str:
        return EVIDENCE_LABELS[self]


EVIDENCE_LABELS = {
    EvidenceStatus.PENDING: "Awaiting the QA group",
    EvidenceStatus.ACCEPTED: "Accepted",
    EvidenceStatus.REJECTED: "Not accepted",
}

#: the agencies a recommendation is addressed to
recommendation_agencies = sa.Table(
    "recommendation_agencies",
    db.metadata,
    sa.Column("recommendation_id", sa.ForeignKey("recommendations.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("agency_id", sa.ForeignKey("agencies.id"), primary_key=True),
)


class Recommendation(Audited, TimestampMixin, db.Model):
    """A recommendation of a source (a round, or another source described in words), numbered within it."""

    __tablename__ = "recommendations"
    __table_args__ = (
        sa.UniqueConstraint("partnership_id", "source_key", "number"),
        sa.CheckConstraint("number >= 1", name="number_positive"),
        sa.CheckConstraint("source != 'round' OR round_id IS NOT NULL", name="round_source_has_round"),
        sa.CheckConstraint("source != 'other' OR source_description != ''", name="other_source_described"),
        sa.CheckConstraint("source != 'review' OR review_id IS NOT NULL", name="review_source_has_review"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    partnership_id: Mapped[int] = mapped_column(sa.ForeignKey("partnerships.id"), index=True)
    source: Mapped[SourceKind] = mapped_column(enum_type(SourceKind, "source"))
    #: the round it came from (source "round")
    round_id: Mapped[int | None] = mapped_column(sa.ForeignKey("rounds.id"), index=True)
    #: the learning review it came from (source "review")
    review_id: Mapped[int | None] = mapped_column(sa.ForeignKey("learning_reviews.id"), index=True)
    #: what the other source was ("Ofsted JTAI, March 2026", "Board challenge")
    source_description: Mapped[str] = mapped_column(sa.String(200), default="")
    #: the numbering group: "round:<id>" or "other:<description, folded>"; set by the services
    source_key: Mapped[str] = mapped_column(sa.String(620))
    number: Mapped[int] = mapped_column()
    text: Mapped[str] = mapped_column(sa.Text)
    #: promoted from the chair's report's numbered recommendation (kept while it exists)
    report_recommendation_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("report_recommendations.id", ondelete="SET NULL"), unique=True
    )
    #: promoted from a case's panel judgement (its recommendations)
    case_judgement_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("case_judgements.id", ondelete="SET NULL"), index=True
    )
    #: the re-audit (or later round) that will test whether practice changed
    tested_by_round_id: Mapped[int | None] = mapped_column(sa.ForeignKey("rounds.id"), index=True)
    #: the self-assessment return whose improvement actions this recommendation holds (one per return, made by
    #: actions.improvement on the agency's first action): its actions are the agency's own
    return_id: Mapped[int | None] = mapped_column(sa.ForeignKey("returns.id"), unique=True)

    round: Mapped[Round | None] = relationship(foreign_keys=[round_id])
    review: Mapped[LearningReview | None] = relationship("LearningReview")
    tested_by_round: Mapped[Round | None] = relationship(foreign_keys=[tested_by_round_id])
    agencies: Mapped[list[Agency]] = relationship(secondary=recommendation_agencies, order_by="Agency.name")
    themes: Mapped[list[RecommendationTheme]] = relationship(
        back_populates="recommendation", cascade="all, delete-orphan", order_by="RecommendationTheme.name"
    )
    actions: Mapped[list[Action]] = relationship(
        back_populates="recommendation", cascade="all, delete-orphan", order_by="Action.id"
    )

    @property
    def audit_partnership_id(self) -> int:
        return self.partnership_id

    @property
    def source_label(self) -> str:
        """The source as people name it: the round's title, or the description of another source."""
        if self.source == SourceKind.ROUND and self.round is not None:
            return self.round.title
        if self.source == SourceKind.REVIEW and self.review is not None:
            return self.review.title
        return self.source_description

    @property
    def theme_names(self) -> list[str]:
        return [t.name for t in self.themes]

    @property
    def impact_evidenced(self) -> bool:
        """At least one piece of evidence of impact accepted by the QA group, on any of its actions."""
        return any(e.status == EvidenceStatus.ACCEPTED for a in self.actions for e in a.evidence)


class RecommendationTheme(db.Model):
    """A learning theme a recommendation is tagged with (the names the partnership's questionnaires offer)."""

    __tablename__ = "recommendation_themes"

    recommendation_id: Mapped[int] = mapped_column(
        sa.ForeignKey("recommendations.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(sa.String(120), primary_key=True)

    recommendation: Mapped[Recommendation] = relationship(back_populates="themes")


class Action(Audited, TimestampMixin, db.Model):
    """What someone will do about a recommendation, by when; its status, RAG, updates and evidence."""

    __tablename__ = "actions"
    __table_args__ = (
        sa.CheckConstraint("owner_user_id IS NOT NULL OR owner_name != ''", name="has_owner"),
        # Blue is "closed: no longer progressable"; the two go together, and need a reason
        sa.CheckConstraint("(status = 'closed') = (rag = 'blue')", name="closed_is_blue"),
        sa.CheckConstraint("status != 'closed' OR closure_reason != ''", name="closed_has_reason"),
        sa.CheckConstraint("status != 'complete' OR completed_on IS NOT NULL", name="complete_has_date"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    recommendation_id: Mapped[int] = mapped_column(sa.ForeignKey("recommendations.id", ondelete="CASCADE"), index=True)
    #: the recommendation's partnership (copied, so that the plan is scoped in one query)
    partnership_id: Mapped[int] = mapped_column(sa.ForeignKey("partnerships.id"), index=True)
    title: Mapped[str] = mapped_column(sa.String(300))
    #: the owner: a user of the service, or a named person at an agency who has no account
    owner_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)
    owner_name: Mapped[str] = mapped_column(sa.String(200), default="")
    owner_agency_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agencies.id"), index=True)
    due_on: Mapped[date] = mapped_column()
    #: the due date first agreed; stays visible when the date moves
    original_due_on: Mapped[date] = mapped_column()
    status: Mapped[ActionStatus] = mapped_column(enum_type(ActionStatus, "status"), default=ActionStatus.NOT_STARTED)
    rag: Mapped[Rag] = mapped_column(enum_type(Rag, "rag"), default=Rag.GREEN)
    closure_reason: Mapped[str] = mapped_column(sa.Text, default="")
    completed_on: Mapped[date | None] = mapped_column()
    #: the criterion (question key) of a self-assessment return an improvement action answers; "" for none
    question_key: Mapped[str] = mapped_column(sa.String(64), default="", server_default="")

    recommendation: Mapped[Recommendation] = relationship(back_populates="actions")
    owner_user: Mapped[User | None] = relationship()
    owner_agency: Mapped[Agency | None] = relationship()
    updates: Mapped[list[ActionUpdate]] = relationship(
        back_populates="action",
        cascade="all, delete-orphan",
        order_by="(ActionUpdate.written_on.desc(), ActionUpdate.id.desc())",
    )
    evidence: Mapped[list[ImpactEvidence]] = relationship(
        back_populates="action", cascade="all, delete-orphan", order_by="ImpactEvidence.id"
    )
    due_date_changes: Mapped[list[DueDateChange]] = relationship(
        back_populates="action", cascade="all, delete-orphan", order_by="DueDateChange.id"
    )

    @property
    def audit_partnership_id(self) -> int:
        return self.partnership_id

    @property
    def owner_label(self) -> str:
        """The owner's name, and their agency when known."""
        name = self.owner_user.name if self.owner_user is not None else self.owner_name
        return f"{name} ({self.owner_agency.name})" if self.owner_agency is not None else name

    @property
    def owner_person(self) -> str:
        return self.owner_user.name if self.owner_user is not None else self.owner_name

    def is_overdue(self, today: date | None = None) -> bool:
        """Due date passed and neither complete nor closed (computed, never stored)."""
        return not self.status.is_finished and self.due_on < (today or clock.today())

    @property
    def overdue(self) -> bool:
        return self.is_overdue()

    @property
    def due_date_moved(self) -> bool:
        return self.due_on != self.original_due_on

    @property
    def latest_update(self) -> ActionUpdate | None:
        return self.updates[0] if self.updates else None

    @property
    def has_accepted_evidence(self) -> bool:
        return any(e.status == EvidenceStatus.ACCEPTED for e in self.evidence)


class ActionUpdate(Audited, db.Model):
    """A dated progress note on an action, with its author and the RAG rating given then."""

    __tablename__ = "action_updates"

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(sa.ForeignKey("actions.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    written_on: Mapped[date] = mapped_column()
    note: Mapped[str] = mapped_column(sa.Text)
    rag: Mapped[Rag] = mapped_column(enum_type(Rag, "rag"))
    #: the status the action had after this update (the history reads as it happened)
    status: Mapped[ActionStatus] = mapped_column(enum_type(ActionStatus, "status"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    action: Mapped[Action] = relationship(back_populates="updates")
    author: Mapped[User | None] = relationship()

    @property
    def audit_partnership_id(self) -> int:
        return self.action.partnership_id


class DueDateChange(Audited, db.Model):
    """A due date moved, by whom, and why (the original date stays on the action)."""

    __tablename__ = "action_due_date_changes"
    __table_args__ = (sa.CheckConstraint("reason != ''", name="has_reason"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(sa.ForeignKey("actions.id", ondelete="CASCADE"), index=True)
    from_date: Mapped[date] = mapped_column()
    to_date: Mapped[date] = mapped_column()
    reason: Mapped[str] = mapped_column(sa.Text)
    changed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    action: Mapped[Action] = relationship(back_populates="due_date_changes")
    changed_by: Mapped[User | None] = relationship()

    @property
    def audit_partnership_id(self) -> int:
        return self.action.partnership_id


#: the files attached to a piece of evidence
evidence_files = sa.Table(
    "impact_evidence_files",
    db.metadata,
    sa.Column("evidence_id", sa.ForeignKey("impact_evidence.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("stored_file_id", sa.ForeignKey("stored_files.id"), primary_key=True),
)


class ImpactEvidence(Audited, TimestampMixin, db.Model):
    """What changed for children or for practice (not "we did the task"), optionally measured before and after,
    with files; the QA group accepts or rejects it with a note."""

    __tablename__ = "impact_evidence"
    __table_args__ = (
        sa.CheckConstraint("status = 'pending' OR decided_at IS NOT NULL", name="decision_dated"),
        sa.CheckConstraint(
            "before_on IS NULL OR after_on IS NULL OR after_on >= before_on", name="measure_dates_in_order"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(sa.ForeignKey("actions.id", ondelete="CASCADE"), index=True)
    #: what changed for children or for practice
    description: Mapped[str] = mapped_column(sa.Text)
    #: an optional measure: what was measured, in what unit, before and after
    measure: Mapped[str] = mapped_column(sa.String(200), default="")
    unit: Mapped[str] = mapped_column(sa.String(40), default="")
    before_value: Mapped[Decimal | None] = mapped_column(sa.Numeric(14, 2))
    before_on: Mapped[date | None] = mapped_column()
    after_value: Mapped[Decimal | None] = mapped_column(sa.Numeric(14, 2))
    after_on: Mapped[date | None] = mapped_column()
    added_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    status: Mapped[EvidenceStatus] = mapped_column(enum_type(EvidenceStatus, "status"), default=EvidenceStatus.PENDING)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decision_note: Mapped[str] = mapped_column(sa.Text, default="")

    action: Mapped[Action] = relationship(back_populates="evidence")
    added_by: Mapped[User | None] = relationship(foreign_keys=[added_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])
    files: Mapped[list[StoredFile]] = relationship(secondary=evidence_files, order_by="StoredFile.id")

    @property
    def audit_partnership_id(self) -> int:
        return self.action.partnership_id


class ActionReminder(db.Model):
    """An action reminder or digest sent on a day: the day's run checks here first, so running it twice
    sends nothing twice."""

    __tablename__ = "action_reminders"
    __table_args__ = (sa.UniqueConstraint("partnership_id", "kind", "subject_id", "sent_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    partnership_id: Mapped[int] = mapped_column(sa.ForeignKey("partnerships.id"), index=True)
    #: "due" (before the due date), "overdue" (weekly while overdue) or "digest" (the QA group's weekly one)
    kind: Mapped[str] = mapped_column(sa.String(20))
    #: the action's id; the partnership's id for a digest
    subject_id: Mapped[int] = mapped_column()
    sent_on: Mapped[date] = mapped_column()
    #: how many people it went to
    recipients: Mapped[int] = mapped_column(default=0)


# typed by people: a case reference may have been written into any of these (core.redaction)
def _refold_source_keys(connection: sa.Connection, ids: list[int]) -> None:
    """A redacted source description is another name: its numbering key follows it (folded as name_key)."""
    from ..accounts.models import name_key

    table = Recommendation.__table__
    rows = connection.execute(
        sa.select(table.c.id, table.c.source_description).where(table.c.id.in_(ids), table.c.source == "other")
    )
    for rec_id, description in rows:
        connection.execute(
            sa.update(table).where(table.c.id == rec_id).values(source_key=f"other:{name_key(description)}")
        )


register_place(
    Recommendation.__table__,
    lambda pid: Recommendation.__table__.c.partnership_id == pid,
    on_change=_refold_source_keys,
)
register_place(Action.__table__, lambda pid: Action.__table__.c.partnership_id == pid)


def _of_partnership_actions(table: sa.Table):
    return lambda pid: table.c.action_id.in_(sa.select(Action.id).where(Action.partnership_id == pid))


register_place(ActionUpdate.__table__, _of_partnership_actions(ActionUpdate.__table__))
register_place(DueDateChange.__table__, _of_partnership_actions(DueDateChange.__table__))
register_place(ImpactEvidence.__table__, _of_partnership_actions(ImpactEvidence.__table__))
exempt_table(ActionReminder.__table__, "the kind of reminder sent: a fixed code")
