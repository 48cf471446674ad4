"""Challenge events through the API: the same records and rules as the pages (self_assessments.challenges)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

import sqlalchemy as sa
from flask import jsonify
from pydantic import BaseModel, Field

from ..accounts.models import Role
from ..actions import services as actions
from ..actions.models import Rag
from ..core.inputs import Id
from ..extensions import db
from ..questionnaires import learning_themes_tags as tags
from ..rounds.models import Return
from ..self_assessments import challenges
from ..self_assessments.models import ChallengeEvent
from ..self_assessments.permissions import (
    can_record_challenges,
    can_view_challenges,
    challenges_query,
    get_challenge_or_404,
    get_sa_round_or_404,
)
from .helpers import page_of, parse_body, principal, require
from .schemas import Strict
from .spec import PageQuery, api_route

TAG = "self-assessments"
READERS = (Role.ADMIN, Role.QA_MEMBER, Role.SCRUTINEER, Role.AGENCY_LEAD, Role.AUDITOR)
RECORDERS = (Role.ADMIN, Role.QA_MEMBER)
SCOPED = "agency leads and auditors see their own agency's challenge events only"


class ChallengeIn(Strict):
    agency_id: Id | None = Field(default=None, description="An agency of your partnership with a return in the round")
    held_on: date | None = Field(default=None, description="The day it was held (today or earlier)")
    attendees: str = Field(default="", description="Who attended, one person (name, role, agency) a line")
    questions: str = Field(default="", description="The questions asked, and the agency's answers")
    agreed: str = Field(default="", description="What was agreed (optional)")
    learning_theme_ids: list[Id] = Field(
        default_factory=list, description="Learning themes of what was agreed: active themes of your partnership"
    )


class ChallengePatch(Strict):
    """Fields left out keep their values; the agency stays."""

    held_on: date | None = None
    attendees: str | None = None
    questions: str | None = None
    agreed: str | None = None
    learning_theme_ids: list[Id] | None = Field(
        default=None, description="Replaces the learning themes (a retired theme already tagged may stay)"
    )


class AgreedActionIn(Strict):
    text: str = Field(default="", description="What was agreed: the recommendation, addressed to the agency")
    title: str = Field(default="", description="The first action: what will be done")
    owner_user_id: Id | None = Field(default=None, description="A user of the partnership; or give owner_name")
    owner_name: str = Field(default="", description="A named person at an agency without an account")
    owner_agency_id: Id | None = Field(default=None, description="Defaults to the agency challenged")
    due_on: date | None = None
    rag: Literal[Rag.RED, Rag.AMBER, Rag.GREEN] = Field(default=Rag.GREEN, description="The RAG rating to start")


class ChallengeOut(BaseModel):
    id: int
    round_id: int
    round_title: str
    agency_id: int
    agency_name: str
    return_id: int | None = Field(description="The agency's return in the round")
    held_on: date
    attendees: list[str] = Field(description="One person a line, as recorded")
    questions: str
    agreed: str
    recommendations: list[dict[str, Any]] = Field(
        description="What it agreed: id, number, text, and action_ids of each recommendation on the action plan"
    )
    learning_themes: list[dict[str, Any]] = Field(description="The learning themes tagged: id and name of each")
    created_at: datetime
    updated_at: datetime


class AgreedOut(BaseModel):
    challenge_event_id: int
    recommendation_id: int
    recommendation_number: int
    action_id: int


def _out(event: ChallengeEvent) -> dict[str, Any]:
    return_id = db.session.scalar(
        sa.select(Return.id).where(Return.round_id == event.round_id, Return.agency_id == event.agency_id).limit(1)
    )
    return ChallengeOut(
        id=event.id,
        round_id=event.round_id,
        round_title=event.round.title,
        agency_id=event.agency_id,
        agency_name=event.agency.name,
        return_id=return_id,
        held_on=event.held_on,
        attendees=event.attendee_lines,
        questions=event.questions,
        agreed=event.agreed,
        recommendations=[
            {"id": r.id, "number": r.number, "text": r.text, "action_ids": [a.id for a in r.actions]}
            for r in event.recommendations
        ],
        learning_themes=tags.theme_refs(event.themes),
        created_at=event.created_at,
        updated_at=event.updated_at,
    ).model_dump(mode="json")


@api_route(
    "/rounds/<int:sa_round_id>/challenge-events",
    "GET",
    summary="List a self-assessment round's challenge events held by your partnership, newest first",
    tag=TAG,
    query_model=PageQuery,
    response_model=ChallengeOut,
    many=True,
    roles=READERS,
    roles_note=SCOPED,
)
def challenges_list(sa_round_id: int):
    p = principal()
    require(can_view_challenges(p))
    round_ = get_sa_round_or_404(p, sa_round_id)
    query = challenges_query(p).where(ChallengeEvent.round_id == round_.id)
    return page_of(query.order_by(ChallengeEvent.held_on.desc(), ChallengeEvent.id.desc()), _out)


@api_route(
    "/rounds/<int:sa_round_id>/challenge-events",
    "POST",
    summary="Record a challenge event with one of your partnership's agencies in a self-assessment round",
    tag=TAG,
    request_model=ChallengeIn,
    response_model=ChallengeOut,
    status=201,
    roles=RECORDERS,
)
def challenges_create(sa_round_id: int):
    p = principal()
    require(can_record_challenges(p))
    round_ = get_sa_round_or_404(p, sa_round_id)
    body = parse_body(ChallengeIn)
    event = challenges.record_challenge(
        round_, p.partnership_id, challenges.ChallengeIn(**body.model_dump()), by=p.user_id
    )
    db.session.commit()
    return jsonify(_out(event)), 201


@api_route(
    "/challenge-events/<int:challenge_id>",
    "GET",
    summary="Get a challenge event",
    tag=TAG,
    response_model=ChallengeOut,
    roles=READERS,
    roles_note=SCOPED,
)
def challenges_get(challenge_id: int):
    p = principal()
    require(can_view_challenges(p))
    return jsonify(_out(get_challenge_or_404(p, challenge_id)))


@api_route(
    "/challenge-events/<int:challenge_id>",
    "PATCH",
    summary="Change a challenge event's date, attendees, questions, what was agreed or its learning themes",
    tag=TAG,
    request_model=ChallengePatch,
    response_model=ChallengeOut,
    roles=RECORDERS,
)
def challenges_update(challenge_id: int):
    p = principal()
    require(can_record_challenges(p))
    event = get_challenge_or_404(p, challenge_id)
    body = parse_body(ChallengePatch)
    given = challenges.ChallengeIn(
        agency_id=event.agency_id,
        held_on=body.held_on if "held_on" in body.model_fields_set else event.held_on,
        attendees=body.attendees if body.attendees is not None else event.attendees,
        questions=body.questions if body.questions is not None else event.questions,
        agreed=body.agreed if body.agreed is not None else event.agreed,
        learning_theme_ids=body.learning_theme_ids,
    )
    challenges.update_challenge(event, given)
    db.session.commit()
    return jsonify(_out(event))


@api_route(
    "/challenge-events/<int:challenge_id>",
    "DELETE",
    summary="Delete a challenge event recorded by mistake (the actions it agreed stay on the plan)",
    tag=TAG,
    roles=RECORDERS,
    status=204,
)
def challenges_delete(challenge_id: int):
    p = principal()
    require(can_record_challenges(p))
    challenges.delete_challenge(get_challenge_or_404(p, challenge_id))
    db.session.commit()
    return "", 204


@api_route(
    "/challenge-events/<int:challenge_id>/actions",
    "POST",
    summary="Turn what a challenge event agreed into a recommendation of its round, addressed to the agency, "
    "with its first action on the action plan",
    tag=TAG,
    request_model=AgreedActionIn,
    response_model=AgreedOut,
    status=201,
    roles=RECORDERS,
)
def challenges_agree_action(challenge_id: int):
    p = principal()
    require(can_record_challenges(p))
    event = get_challenge_or_404(p, challenge_id)
    body = parse_body(AgreedActionIn)
    given = actions.ActionIn(
        title=body.title,
        owner_user_id=body.owner_user_id,
        owner_name=body.owner_name,
        owner_agency_id=body.owner_agency_id if "owner_agency_id" in body.model_fields_set else event.agency_id,
        due_on=body.due_on,
        rag=body.rag.value,
    )
    rec, action = challenges.agree_action(event, body.text, given)
    db.session.commit()
    return jsonify(
        AgreedOut(
            challenge_event_id=event.id, recommendation_id=rec.id, recommendation_number=rec.number, action_id=action.id
        ).model_dump(mode="json")
    ), 201
