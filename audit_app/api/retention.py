"""Retention through the API: the partnership's period, the reported rounds still holding case records and when
they go, and what each purge removed (as the retention page; admins and scrutineers). The period itself is
changed with ``PATCH /partnership/settings``."""

from __future__ import annotations

from datetime import date, datetime

from flask import jsonify
from pydantic import BaseModel, Field

from ..accounts.models import Partnership
from ..case_audits import retention
from ..core import clock
from ..core.permissions import can_view_history
from ..core.roles import Role
from ..extensions import db
from .helpers import principal, require
from .spec import api_route

KINDS_NOTE = "Rows by kind: " + ", ".join(f"{key} ({label})" for key, label in retention.REMOVED_KINDS.items())


class HeldRoundOut(BaseModel):
    round_id: int
    title: str
    reported_on: date | None
    removal_due_on: date | None = Field(description="The first day the nightly purge removes its records; null: kept")
    due: bool = Field(description="Its period is over: the next nightly purge removes its records")
    holds: dict[str, int] = Field(description=KINDS_NOTE)
    holds_text: str


class PurgeOut(BaseModel):
    id: int
    round_id: int
    round_title: str
    purged_at: datetime
    reported_at: datetime | None
    retention_months: int
    removed: dict[str, int] = Field(description=KINDS_NOTE)
    removed_text: str
    actor: str = Field(description="Who ran it ('cli:purge' for the schedule)")


class RetentionOut(BaseModel):
    retention_months: int | None = Field(description="null: no period set, case records are kept")
    rounds: list[HeldRoundOut] = Field(description="Reported case audit rounds still holding case records")
    purges: list[PurgeOut] = Field(description="Rounds whose case records were removed, latest first")


@api_route(
    "/retention",
    "GET",
    summary="The retention period, which rounds hold case records and when they go, and what has been removed",
    tag="accounts",
    response_model=RetentionOut,
    roles=(Role.ADMIN, Role.SCRUTINEER),
)
def retention_get():
    p = principal()
    require(can_view_history(p))
    partnership = db.session.get(Partnership, p.partnership_id)
    today = clock.today()
    return jsonify(
        RetentionOut(
            retention_months=partnership.retention_months,
            rounds=[
                HeldRoundOut(
                    round_id=h.round.id,
                    title=h.round.title,
                    reported_on=h.reported_on,
                    removal_due_on=h.due_on,
                    due=h.due(today),
                    holds=h.counts,
                    holds_text=retention.describe(h.counts),
                )
                for h in retention.held_rounds(partnership.id)
            ],
            purges=[
                PurgeOut(
                    id=r.id,
                    round_id=r.round_id,
                    round_title=r.round.title,
                    purged_at=r.purged_at,
                    reported_at=r.reported_at,
                    retention_months=r.retention_months,
                    removed=r.removed,
                    removed_text=retention.describe(r.removed),
                    actor=r.actor_label,
                )
                for r in retention.purges(partnership.id)
            ],
        ).model_dump(mode="json")
    )
