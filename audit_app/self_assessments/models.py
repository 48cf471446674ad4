"""The records a self-assessment round adds to the engine's rounds, returns and answers.

Each part of the workflow keeps its models in its own block below.
"""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import Agency, User
from ..actions.models import Recommendation
from ..core.audit import Audited
from ..core.models import TimestampMixin, UTCDateTime, enum_type, utcnow
from ..core.redaction import exempt_table, register_place
from ..extensions import db
from ..questionnaires.models import LearningTheme, Question, QuestionnaireVersion, ScaleLevel
from ..rounds.models import Return, Round

# ----------------------------------------------------------------------------------------------------------
# Scrutiny threads, moderators, priority criteria (scrutiny.py)
# ----------------------------------------------------------------------------------------------------------


class ThreadKind(enum.StrEnum):
    """Why the QA side opened a thread on a criterion."""

    COMMENT = "comment"
    QUERY = "query"
    MORE_EVIDENCE = "more_evidence"

    @property
    def label(self) -> str:
        return THREAD_KIND_LABELS[self]


THREAD_KIND_LABELS = {
    ThreadKind.COMMENT: "Comment",
    ThreadKind.QUERY: "Query",
    ThreadKind.MORE_EVIDENCE: "More evidence requested",
}


class ThreadState(enum.StrEnum):
    """Open (waiting for the agency), answered (the agency replied), closed (the QA side closed it)."""

    OPEN = "open"
    ANSWERED = "answered"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return THREAD_STATE_LABELS[self]


THREAD_STATE_LABELS = {ThreadState.OPEN: "Open", ThreadState.ANSWERED: "Answered", ThreadState.CLOSED: "Closed"}


class MessageSide(enum.StrEnum):
    """Who wrote a message: the partnership's QA side (QA group, admins, moderators) or the agency."""

    QA = "qa"
    AGENCY = "agency"


class ScrutinyThread(Audited, TimestampMixin, db.Model):
    """A comment, query or request for more evidence on one criterion of a self-assessment return."""

    __tablename__ = "scrutiny_threads"

    id: Mapped[int] = mapped_column(primary_key=True)
    return_id: Mapped[int] = mapped_column(sa.ForeignKey("returns.id", ondelete="CASCADE"), index=True)
    #: the criterion: the stable key of a question of the round's questionnaire version
    question_key: Mapped[str] = mapped_column(sa.String(64))
    kind: Mapped[ThreadKind] = mapped_column(enum_type(ThreadKind, "kind"))
    #: changes only through self_assessments.scrutiny (a reply, closing)
    state: Mapped[ThreadState] = mapped_column(enum_type(ThreadState, "state"), default=ThreadState.OPEN, index=True)
    opened_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    return_: Mapped[Return] = relationship()
    opened_by: Mapped[User | None] = relationship(foreign_keys=[opened_by_id])
    closed_by: Mapped[User | None] = relationship(foreign_keys=[closed_by_id])
    messages: Mapped[list[ScrutinyMessage]] = relationship(
        back_populates="thread", order_by="ScrutinyMessage.id", cascade="all, delete-orphan"
    )

    __table_args__ = (sa.Index("ix_scrutiny_threads_return_question", "return_id", "question_key"),)

    @property
    def audit_partnership_id(self) -> int | None:
        if self.return_ is not None:
            return self.return_.audit_partnership_id
        return db.session.scalar(
            sa.select(Round.partnership_id).join(Return, Return.round_id == Round.id).where(Return.id == self.return_id)
        )


class ScrutinyMessage(Audited, db.Model):
    """One message of a thread, from the QA side or the agency."""

    __tablename__ = "scrutiny_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(sa.ForeignKey("scrutiny_threads.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    side: Mapped[MessageSide] = mapped_column(enum_type(MessageSide, "side"))
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    thread: Mapped[ScrutinyThread] = relationship(back_populates="messages")
    author: Mapped[User | None] = relationship()

    @property
    def audit_partnership_id(self) -> int | None:
        if self.thread is not None:
            return self.thread.audit_partnership_id
        return None


class RoundModerator(Audited, db.Model):
    """A user of the partnership named to scrutinise and moderate one round (and no other)."""

    __tablename__ = "round_moderators"
    __table_args__ = (sa.UniqueConstraint("round_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    added_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined")
    round: Mapped[Round] = relationship()

    @property
    def audit_partnership_id(self) -> int | None:
        return db.session.scalar(sa.select(Round.partnership_id).where(Round.id == self.round_id))


class PriorityCriterion(Audited, db.Model):
    """A criterion (question key) the QA group made a priority for a round: weak ratings on it are followed up."""

    __tablename__ = "priority_criteria"
    __table_args__ = (sa.UniqueConstraint("round_id", "question_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    question_key: Mapped[str] = mapped_column(sa.String(64))

    @property
    def audit_partnership_id(self) -> int | None:
        return db.session.scalar(sa.select(Round.partnership_id).where(Round.id == self.round_id))


def _scrutinised_returns(partnership_id: int) -> sa.Select:
    return sa.select(Return.id).where(
        Return.round_id.in_(sa.select(Round.id).where(Round.partnership_id == partnership_id))
    )


register_place(
    ScrutinyThread.__table__, lambda pid: ScrutinyThread.__table__.c.return_id.in_(_scrutinised_returns(pid))
)
register_place(
    ScrutinyMessage.__table__,
    lambda pid: ScrutinyMessage.__table__.c.thread_id.in_(
        sa.select(ScrutinyThread.id).where(ScrutinyThread.return_id.in_(_scrutinised_returns(pid)))
    ),
)
exempt_table(RoundModerator.__table__, "ids and a time: no text anyone types")
exempt_table(PriorityCriterion.__table__, "a question key chosen from the questionnaire: no free text")


# ----------------------------------------------------------------------------------------------------------
# Practitioner surveys (surveys.py)
# ----------------------------------------------------------------------------------------------------------


class PractitionerSurvey(Audited, TimestampMixin, db.Model):
    """A round's anonymous practitioner survey: the questionnaire front-line staff answer, and until when."""

    __tablename__ = "practitioner_surveys"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: one survey per round, switched on by the QA group or an admin of the round's partnership
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("rounds.id", ondelete="CASCADE"), unique=True)
    #: a published practitioner-survey version of the round's partnership; fixed once responses arrive
    questionnaire_version_id: Mapped[int] = mapped_column(sa.ForeignKey("questionnaire_versions.id"), index=True)
    #: the last day answers are taken (London time, ``core.clock.today()``)
    closes_on: Mapped[date] = mapped_column()

    round: Mapped[Round] = relationship()
    version: Mapped[QuestionnaireVersion] = relationship()

    @property
    def audit_partnership_id(self) -> int | None:
        if self.round is not None:
            return self.round.partnership_id
        return db.session.scalar(sa.select(Round.partnership_id).where(Round.id == self.round_id))


class SurveyLink(Audited, TimestampMixin, db.Model):
    """The link an agency circulates to its staff. Only a hash of its token is kept; a regenerated link
    revokes the one before (which then says the survey has closed)."""

    __tablename__ = "survey_links"
    __audit_redact__ = frozenset({"token_hash"})
    __table_args__ = (
        # one live link per survey and agency
        sa.Index(
            "uq_survey_links_live",
            "survey_id",
            "agency_id",
            unique=True,
            sqlite_where=sa.text("revoked_at IS NULL"),
            postgresql_where=sa.text("revoked_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(sa.ForeignKey("practitioner_surveys.id", ondelete="CASCADE"), index=True)
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"), index=True)
    #: sha256 of the token, hex; the token itself is shown once, when the link is made
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    survey: Mapped[PractitionerSurvey] = relationship()
    agency: Mapped[Agency] = relationship(lazy="joined")

    @property
    def audit_partnership_id(self) -> int | None:
        return db.session.scalar(
            sa.select(Round.partnership_id)
            .join(PractitionerSurvey, PractitionerSurvey.round_id == Round.id)
            .where(PractitionerSurvey.id == self.survey_id)
        )


class SurveyResponse(db.Model):
    """One practitioner's answers, anonymous: the agency whose link they came by and the day, nothing more
    (no user, address, browser, cookie or time of day). Not in the audit trail, which would time it."""

    __tablename__ = "survey_responses"

    id: Mapped[int] = mapped_column(primary_key=True)
    survey_id: Mapped[int] = mapped_column(sa.ForeignKey("practitioner_surveys.id", ondelete="CASCADE"), index=True)
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"), index=True)
    #: the day only
    responded_on: Mapped[date] = mapped_column()

    answers: Mapped[list[SurveyAnswer]] = relationship(back_populates="response", cascade="all, delete-orphan")


class SurveyAnswer(db.Model):
    """One answer of a response: a scale level, or an option chosen (never free text)."""

    __tablename__ = "survey_answers"
    __table_args__ = (sa.UniqueConstraint("response_id", "question_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    response_id: Mapped[int] = mapped_column(sa.ForeignKey("survey_responses.id", ondelete="CASCADE"), index=True)
    question_id: Mapped[int] = mapped_column(sa.ForeignKey("questions.id"), index=True)
    #: the level chosen (scale questions)
    scale_level_id: Mapped[int | None] = mapped_column(sa.ForeignKey("scale_levels.id"))
    #: the level's or option's label, as chosen from the list
    value: Mapped[str] = mapped_column(sa.String(200))

    response: Mapped[SurveyResponse] = relationship(back_populates="answers")
    question: Mapped[Question] = relationship()
    scale_level: Mapped[ScaleLevel | None] = relationship()


exempt_table(SurveyLink.__table__, "a token's hash: no text anyone types")
exempt_table(SurveyAnswer.__table__, "a level or option chosen from a list: no text anyone types")


# ----------------------------------------------------------------------------------------------------------
# Challenge events (challenges.py)
# ----------------------------------------------------------------------------------------------------------


class ChallengeEvent(Audited, TimestampMixin, db.Model):
    """A meeting at which the partnership challenges one agency on its self-assessment: the date, who
    attended, the questions asked and what was agreed. Each partnership holds its own (a shared round's
    partnerships each challenge their own agencies)."""

    __tablename__ = "challenge_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    partnership_id: Mapped[int] = mapped_column(sa.ForeignKey("partnerships.id"), index=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"), index=True)
    held_on: Mapped[date] = mapped_column()
    #: who attended, one person (name and role) a line
    attendees: Mapped[str] = mapped_column(sa.Text, default="")
    questions: Mapped[str] = mapped_column(sa.Text, default="")
    agreed: Mapped[str] = mapped_column(sa.Text, default="")
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    round: Mapped[Round] = relationship()
    agency: Mapped[Agency] = relationship(lazy="joined")
    recommendations: Mapped[list[Recommendation]] = relationship(
        secondary="challenge_event_recommendations", order_by="Recommendation.number"
    )
    #: the learning themes of what was agreed (learning themes across sources)
    themes: Mapped[list[LearningTheme]] = relationship(
        secondary="challenge_event_themes", order_by="LearningTheme.position, LearningTheme.name"
    )

    @property
    def attendee_lines(self) -> list[str]:
        return [line.strip() for line in self.attendees.splitlines() if line.strip()]


#: the recommendations (each with its actions) a challenge event agreed
challenge_event_recommendations = sa.Table(
    "challenge_event_recommendations",
    db.metadata,
    sa.Column("challenge_event_id", sa.ForeignKey("challenge_events.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("recommendation_id", sa.ForeignKey("recommendations.id", ondelete="CASCADE"), primary_key=True),
)

#: the learning themes a challenge event's findings are tagged with (learning themes across sources)
challenge_event_themes = sa.Table(
    "challenge_event_themes",
    db.metadata,
    sa.Column("challenge_event_id", sa.ForeignKey("challenge_events.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("learning_theme_id", sa.ForeignKey("learning_themes.id"), primary_key=True, index=True),
)

register_place(ChallengeEvent.__table__, lambda pid: ChallengeEvent.__table__.c.partnership_id == pid)
