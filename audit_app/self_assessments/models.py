"""The records a self-assessment round adds to the engine's rounds, returns and answers.

Each part of the workflow keeps its models in its own block below.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import Agency
from ..actions.models import Recommendation
from ..core.audit import Audited
from ..core.models import TimestampMixin
from ..core.redaction import register_place
from ..extensions import db
from ..rounds.models import Round

# ----------------------------------------------------------------------------------------------------------
# Scrutiny threads, moderators, priority criteria (scrutiny.py)
# ----------------------------------------------------------------------------------------------------------


# ----------------------------------------------------------------------------------------------------------
# Practitioner surveys (surveys.py)
# ----------------------------------------------------------------------------------------------------------


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

register_place(ChallengeEvent.__table__, lambda pid: ChallengeEvent.__table__.c.partnership_id == pid)
