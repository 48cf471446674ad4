"""The round engine: rounds, returns and answers, one model for every workflow.

A round sends one published questionnaire version to agencies. Who receives a
return, and which states a round moves through, is decided per kind of round
(``kinds.py``): the agencies involved with each case of a case audit, the
chosen agencies or sectors of a self-assessment. Each agency fills a return:
its answers. What is special to case audits (cases, the panel's judgement)
lives in ``case_audits``.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import Agency, Partnership, User
from ..core.audit import Audited
from ..core.models import TimestampMixin, UTCDateTime, enum_type, utcnow
from ..core.redaction import exempt_table, register_place
from ..core.storage import StoredFile
from ..extensions import db
from ..questionnaires.models import Question, QuestionnaireKind, QuestionnaireVersion, ScaleLevel, Theme

if TYPE_CHECKING:
    from ..case_audits.models import RoundCase


class RoundStatus(enum.StrEnum):
    PLANNING = "planning"
    OPEN = "open"
    CLOSED = "closed"
    IN_DISCUSSION = "in_discussion"
    REPORTED = "reported"

    @property
    def label(self) -> str:
        return ROUND_STATUS_LABELS[self]


ROUND_STATUS_LABELS = {
    RoundStatus.PLANNING: "Planning",
    RoundStatus.OPEN: "Open for returns",
    RoundStatus.CLOSED: "Closed for returns",
    RoundStatus.IN_DISCUSSION: "In multi-agency discussion",
    RoundStatus.REPORTED: "Reported",
}


class ReturnGroup(enum.StrEnum):
    """How a return counts in return rates and chasing: defined once, on the status."""

    OUTSTANDING = "outstanding"
    RETURNED = "returned"
    DECLINED = "declined"


class ReturnStatus(enum.StrEnum):
    NOT_STARTED = "not_started"
    IN_PROGRESS = "in_progress"
    READY_FOR_SIGN_OFF = "ready_for_sign_off"
    SUBMITTED = "submitted"
    CHANGES_REQUESTED = "changes_requested"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    ALTERNATIVE_TEMPLATE = "alternative_template"

    @property
    def label(self) -> str:
        return RETURN_STATUS_LABELS[self]

    @property
    def is_editable(self) -> bool:
        """The agency may still change its answers."""
        return self in (
            ReturnStatus.NOT_STARTED,
            ReturnStatus.IN_PROGRESS,
            ReturnStatus.READY_FOR_SIGN_OFF,
            ReturnStatus.CHANGES_REQUESTED,
        )

    @property
    def group(self) -> ReturnGroup:
        """Outstanding (the agency still owes it), returned, or declined (including another template)."""
        return RETURN_GROUPS[self]

    @classmethod
    def in_group(cls, group: ReturnGroup) -> tuple[ReturnStatus, ...]:
        """The statuses of ``group``, for SQL ``IN`` filters."""
        return tuple(status for status in cls if RETURN_GROUPS[status] == group)


RETURN_STATUS_LABELS = {
    ReturnStatus.NOT_STARTED: "Not started",
    ReturnStatus.IN_PROGRESS: "In progress",
    ReturnStatus.READY_FOR_SIGN_OFF: "Ready for sign-off",
    ReturnStatus.SUBMITTED: "Submitted",
    ReturnStatus.CHANGES_REQUESTED: "Changes requested",
    ReturnStatus.ACCEPTED: "Accepted",
    ReturnStatus.DECLINED: "Declined",
    ReturnStatus.ALTERNATIVE_TEMPLATE: "Submitted on another template",
}

RETURN_GROUPS = {
    ReturnStatus.NOT_STARTED: ReturnGroup.OUTSTANDING,
    ReturnStatus.IN_PROGRESS: ReturnGroup.OUTSTANDING,
    ReturnStatus.READY_FOR_SIGN_OFF: ReturnGroup.OUTSTANDING,
    ReturnStatus.CHANGES_REQUESTED: ReturnGroup.OUTSTANDING,
    ReturnStatus.SUBMITTED: ReturnGroup.RETURNED,
    ReturnStatus.ACCEPTED: ReturnGroup.RETURNED,
    ReturnStatus.DECLINED: ReturnGroup.DECLINED,
    ReturnStatus.ALTERNATIVE_TEMPLATE: ReturnGroup.DECLINED,
}

#: every partnership a round counts for (the one that planned it, and any that share it)
round_partnerships = sa.Table(
    "round_partnerships",
    db.metadata,
    sa.Column("round_id", sa.ForeignKey("rounds.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("partnership_id", sa.ForeignKey("partnerships.id"), primary_key=True, index=True),
)

#: the agencies chosen to return to a round whose kind does not decide them from cases
round_agencies = sa.Table(
    "round_agencies",
    db.metadata,
    sa.Column("round_id", sa.ForeignKey("rounds.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("agency_id", sa.ForeignKey("agencies.id"), primary_key=True),
)


class Round(Audited, TimestampMixin, db.Model):
    """A round of a questionnaire version across agencies of one or more partnerships."""

    __tablename__ = "rounds"
    __table_args__ = (
        sa.CheckConstraint("due_on IS NULL OR opens_on IS NULL OR due_on >= opens_on", name="due_on_or_after_opening"),
        sa.CheckConstraint(
            "remind_days_before BETWEEN 0 AND 60 AND remind_days_after BETWEEN 0 AND 60", name="reminder_days"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: the partnership that planned the round and manages it
    partnership_id: Mapped[int] = mapped_column(sa.ForeignKey("partnerships.id"), index=True)
    #: the published version answered in this round; pinned for good
    questionnaire_version_id: Mapped[int] = mapped_column(sa.ForeignKey("questionnaire_versions.id"), index=True)
    kind: Mapped[QuestionnaireKind] = mapped_column(enum_type(QuestionnaireKind, "kind"))
    title: Mapped[str] = mapped_column(sa.String(200))
    theme_id: Mapped[int | None] = mapped_column(sa.ForeignKey("themes.id"), index=True)
    #: changes only through the round services
    status: Mapped[RoundStatus] = mapped_column(enum_type(RoundStatus, "status"), default=RoundStatus.PLANNING)
    opens_on: Mapped[date | None] = mapped_column()
    due_on: Mapped[date | None] = mapped_column()
    #: when the round became reported (rounds.services.move_round): a retention period runs from it
    reported_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: the earlier round this one re-audits or carries forward
    previous_round_id: Mapped[int | None] = mapped_column(sa.ForeignKey("rounds.id"), index=True)

    #: agencies see each other's answers on a case once the discussion opens
    shares_answers_in_discussion: Mapped[bool] = mapped_column(default=False)
    #: automatic reminders this many days before and after the due date (0: none)
    remind_days_before: Mapped[int] = mapped_column(default=3)
    remind_days_after: Mapped[int] = mapped_column(default=2)

    version: Mapped[QuestionnaireVersion] = relationship()
    theme: Mapped[Theme | None] = relationship()
    previous_round: Mapped[Round | None] = relationship(remote_side="Round.id")
    #: case audits only (see case_audits.models)
    cases: Mapped[list[RoundCase]] = relationship(back_populates="round", order_by="RoundCase.id")
    #: chosen recipients, for kinds that do not take them from cases
    agencies: Mapped[list[Agency]] = relationship(secondary=round_agencies, order_by="Agency.name")
    #: every partnership the round counts for, its own included
    partnerships: Mapped[list[Partnership]] = relationship(secondary=round_partnerships, order_by="Partnership.name")

    @property
    def moves(self) -> frozenset[RoundStatus]:
        """The states this round may move to next, by its kind's state table."""
        from .kinds import kind_rules

        return kind_rules(self.kind).moves[self.status]


class Return(Audited, TimestampMixin, db.Model):
    """One agency's answers in a round (for one case, in a case audit)."""

    __tablename__ = "returns"
    __table_args__ = (
        sa.UniqueConstraint("round_id", "agency_id", "round_case_id"),
        # The constraint above does not hold when round_case_id is NULL (NULLs differ): one return
        # per round and agency when there is no case.
        sa.Index(
            "uq_returns_round_agency_no_case",
            "round_id",
            "agency_id",
            unique=True,
            sqlite_where=sa.text("round_case_id IS NULL"),
            postgresql_where=sa.text("round_case_id IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("rounds.id"), index=True)
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"), index=True)
    round_case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("round_cases.id"), index=True)
    #: changes only through services.submit_return() and friends
    status: Mapped[ReturnStatus] = mapped_column(
        enum_type(ReturnStatus, "status"), default=ReturnStatus.NOT_STARTED, index=True
    )
    #: optimistic locking: every save must name the version it started from
    lock_version: Mapped[int] = mapped_column(default=1)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    submitted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    #: the latest note from the QA group (changes requested) or the agency (declined)
    note: Mapped[str] = mapped_column(sa.Text, default="")
    #: when the return's answers first said an immediate safeguarding concern was identified (the QA group
    #: and admins were emailed then); cleared if the answer is changed back. Set only by services.save_answers()
    concern_raised_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: the named auditor of the agency who completes it (set through services.assign_return)
    assigned_to_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"), index=True)

    __mapper_args__ = {"version_id_col": lock_version}

    round: Mapped[Round] = relationship()
    agency: Mapped[Agency] = relationship(lazy="joined")
    round_case: Mapped[RoundCase | None] = relationship()
    submitted_by: Mapped[User | None] = relationship(foreign_keys=[submitted_by_id])
    assigned_to: Mapped[User | None] = relationship(foreign_keys=[assigned_to_id])
    answers: Mapped[list[Answer]] = relationship(back_populates="return_", cascade="all, delete-orphan")
    events: Mapped[list[ReturnEvent]] = relationship(order_by="ReturnEvent.id", cascade="all, delete-orphan")

    @property
    def audit_partnership_id(self) -> int | None:
        # A return just made from ids has no round loaded yet while its creation is recorded.
        if self.round is not None:
            return self.round.partnership_id
        return db.session.scalar(sa.select(Round.partnership_id).where(Round.id == self.round_id))


class ReturnEvent(db.Model):
    """A status change of a return, with who made it and why (itself append-only)."""

    __tablename__ = "return_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    return_id: Mapped[int] = mapped_column(sa.ForeignKey("returns.id"), index=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    from_status: Mapped[ReturnStatus | None] = mapped_column(enum_type(ReturnStatus, "from_status"))
    to_status: Mapped[ReturnStatus] = mapped_column(enum_type(ReturnStatus, "to_status"))
    note: Mapped[str] = mapped_column(sa.Text, default="")

    actor: Mapped[User | None] = relationship()


class Answer(Audited, TimestampMixin, db.Model):
    """One answer in a return."""

    __tablename__ = "answers"
    __table_args__ = (sa.UniqueConstraint("return_id", "question_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    return_id: Mapped[int] = mapped_column(sa.ForeignKey("returns.id"), index=True)
    question_id: Mapped[int] = mapped_column(sa.ForeignKey("questions.id"), index=True)
    #: the scale level chosen (scale questions); its value and N/A flag drive the figures
    scale_level_id: Mapped[int | None] = mapped_column(sa.ForeignKey("scale_levels.id"), index=True)
    #: the answer as entered: option(s) as JSON text, a number, an ISO date, or free text
    value: Mapped[str] = mapped_column(sa.Text, default="")
    #: a moderator's changed rating, beside the agency's own
    moderated_level_id: Mapped[int | None] = mapped_column(sa.ForeignKey("scale_levels.id"))
    moderation_note: Mapped[str] = mapped_column(sa.Text, default="")
    #: copied from the agency's return to the previous round (year on year) and not yet reviewed: saving or
    #: confirming the answer clears it (services.save_answers, carry.confirm_carried)
    carried_forward: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    return_: Mapped[Return] = relationship(back_populates="answers")
    question: Mapped[Question] = relationship()
    scale_level: Mapped[ScaleLevel | None] = relationship(foreign_keys=[scale_level_id])

    @property
    def audit_partnership_id(self) -> int | None:
        if self.return_ is not None:
            return self.return_.audit_partnership_id
        return db.session.scalar(
            sa.select(Round.partnership_id).join(Return, Return.round_id == Round.id).where(Return.id == self.return_id)
        )


class CriterionEvidenceKind(enum.StrEnum):
    LINK = "link"
    FILE = "file"

    @property
    def label(self) -> str:
        return "Link" if self is CriterionEvidenceKind.LINK else "File"


class CriterionEvidence(Audited, TimestampMixin, db.Model):
    """A link (with a title) or a file an agency attaches to one criterion (question) of its return, as evidence
    for its answer. Added and removed only through ``rounds.evidence`` while the return is editable."""

    __tablename__ = "criterion_evidence"
    __table_args__ = (
        sa.CheckConstraint("kind != 'link' OR (url != '' AND title != '')", name="link_has_url_and_title"),
        sa.CheckConstraint("kind != 'file' OR stored_file_id IS NOT NULL", name="file_has_file"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    return_id: Mapped[int] = mapped_column(sa.ForeignKey("returns.id", ondelete="CASCADE"), index=True)
    #: the criterion: the question's stable key (the same across versions, so links carry forward)
    question_key: Mapped[str] = mapped_column(sa.String(64))
    kind: Mapped[CriterionEvidenceKind] = mapped_column(enum_type(CriterionEvidenceKind, "kind"))
    #: what the link is (a link's title; a file's is its name as uploaded)
    title: Mapped[str] = mapped_column(sa.String(200), default="")
    #: http or https only (checked by rounds.evidence.add_link)
    url: Mapped[str] = mapped_column(sa.String(2000), default="")
    stored_file_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stored_files.id"), index=True)
    added_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    #: copied from the agency's return to the previous round (links only)
    carried_forward: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    return_: Mapped[Return] = relationship()
    stored_file: Mapped[StoredFile | None] = relationship(lazy="joined")
    added_by: Mapped[User | None] = relationship()

    @property
    def audit_partnership_id(self) -> int | None:
        return db.session.scalar(
            sa.select(Round.partnership_id).join(Return, Return.round_id == Round.id).where(Return.id == self.return_id)
        )

    @property
    def label(self) -> str:
        """What pages show: the link's title, or the file's name."""
        if self.kind == CriterionEvidenceKind.FILE and self.stored_file is not None:
            return self.stored_file.original_filename
        return self.title


class EmailKind(enum.StrEnum):
    OPENED = "opened"
    CHASE = "chase"
    REMINDER = "reminder"


class EmailOutcome(enum.StrEnum):
    SENT = "sent"
    FAILED = "failed"
    NOBODY = "nobody"
    NOT_CONFIGURED = "not_configured"


class AgencyEmail(db.Model):
    """One email to an agency about its returns in a round, and what became of it.

    Emails go from a job after the change they describe commits (opening a round to 100 agencies sends
    nothing inside the request); the round's page reads these rows to say who was emailed and who could
    not be, to contact another way. One sending (the opening, a chase, a day's reminder) is a batch.
    """

    __tablename__ = "agency_emails"

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"))
    #: one sending's emails share it
    batch: Mapped[str] = mapped_column(sa.String(32), index=True)
    kind: Mapped[EmailKind] = mapped_column(enum_type(EmailKind, "kind"))
    outcome: Mapped[EmailOutcome] = mapped_column(enum_type(EmailOutcome, "outcome"))
    recipients: Mapped[int] = mapped_column(default=0)
    returns: Mapped[int] = mapped_column(default=0)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    agency: Mapped[Agency] = relationship(lazy="joined")

    @property
    def agency_text(self) -> str:
        """The agency as the round page lists it, with why it was not emailed."""
        if self.outcome == EmailOutcome.NOBODY:
            return f"{self.agency.name} (nobody with an auditor or agency lead role)"
        if self.outcome == EmailOutcome.NOT_CONFIGURED:
            return f"{self.agency.name} (email is not set up on this server)"
        return self.agency.name


# -- where a wrongly entered case reference may sit (core.redaction) --


def _partnership_rounds(partnership_id: int) -> sa.Select:
    """The rounds a partnership planned (a case and everything written about it belong to that partnership)."""
    return sa.select(Round.id).where(Round.partnership_id == partnership_id)


def _partnership_returns(partnership_id: int) -> sa.Select:
    return sa.select(Return.id).where(Return.round_id.in_(_partnership_rounds(partnership_id)))


def _bump_returns(connection: sa.Connection, return_ids: Any) -> None:
    """A return whose text a redaction rewrote moves its lock on: a page opened before it (still showing the
    old reference) cannot save it back over the redaction."""
    table = Return.__table__
    connection.execute(sa.update(table).where(table.c.id.in_(return_ids)).values(lock_version=table.c.lock_version + 1))


def _bump_returns_of_answers(connection: sa.Connection, answer_ids: list[int]) -> None:
    _bump_returns(connection, sa.select(Answer.return_id).where(Answer.id.in_(answer_ids)).distinct())


register_place(Round.__table__, lambda pid: Round.__table__.c.partnership_id == pid)
register_place(
    Return.__table__,
    lambda pid: Return.__table__.c.round_id.in_(_partnership_rounds(pid)),
    on_change=_bump_returns,
)
register_place(ReturnEvent.__table__, lambda pid: ReturnEvent.__table__.c.return_id.in_(_partnership_returns(pid)))
register_place(
    Answer.__table__,
    lambda pid: Answer.__table__.c.return_id.in_(_partnership_returns(pid)),
    on_change=_bump_returns_of_answers,
)
register_place(
    CriterionEvidence.__table__,
    lambda pid: CriterionEvidence.__table__.c.return_id.in_(_partnership_returns(pid)),
)
exempt_table(AgencyEmail.__table__, "a sending's batch id and outcome: no text anyone types")
