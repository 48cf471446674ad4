"""Scrutiny threads, moderation and follow-up lists through the API.

The same rules as the pages (self_assessments/permissions.py): an agency reaches its own returns' threads and
moderated ratings, the QA group, admins and scrutineers of the round's partnership(s) all of them, a round's
named moderators that round's; other partnerships nothing (404). A case audit's returns have no scrutiny (404).
Services name every bad field at once (400 with ``error.fields``) or refuse what the state does not allow (409).
"""

from __future__ import annotations

from datetime import datetime

from flask import abort, jsonify, url_for
from pydantic import BaseModel, Field

from ..accounts.models import User
from ..core.access_log import AccessKind, record_access
from ..core.inputs import Id
from ..core.permissions import Principal
from ..core.roles import Role
from ..extensions import db
from ..questionnaires.models import Question, QuestionType, ScaleLevel
from ..rounds.models import Answer, Return, ReturnStatus, Round
from ..rounds.permissions import PARTNERSHIP_WIDE
from ..self_assessments import scrutiny
from ..self_assessments.models import (
    MessageSide,
    ScrutinyMessage,
    ScrutinyThread,
    ThreadKind,
    ThreadState,
)
from ..self_assessments.permissions import (
    SCRUTINISERS,
    can_answer_threads,
    can_manage_scrutiny,
    can_scrutinise_return,
    can_view_scrutiny_round,
    get_scrutiny_return_or_404,
    get_scrutiny_round_or_404,
    get_thread_or_404,
)
from .helpers import page_of, parse_body, principal, query_args, require
from .schemas import Strict
from .spec import ANY_ROLE, PageQuery, api_route

TAG = "scrutiny"
READERS = ANY_ROLE
READERS_NOTE = "an agency's auditors and leads reach their own returns; a round's named moderators its returns"
QA_SIDE = SCRUTINISERS
QA_NOTE = "and a round's named moderators (whatever their role), on that round's returns but their own agency's"
REPLIERS = (Role.ADMIN, Role.QA_MEMBER, Role.AGENCY_LEAD, Role.AUDITOR)
ROUND_READERS = PARTNERSHIP_WIDE
ROUND_NOTE = "and the round's named moderators"


# -- what the API answers --


class LevelOut(BaseModel):
    id: int = Field(description="The scale level's id")
    label: str
    counts_as_good: bool
    is_not_applicable: bool


class PersonOut(BaseModel):
    user_id: int
    name: str


class MessageOut(BaseModel):
    id: int
    side: MessageSide = Field(description="`qa` (the QA group, an admin or a moderator) or `agency`")
    author: PersonOut | None
    body: str
    created_at: datetime


class ThreadOut(BaseModel):
    id: int
    return_id: int
    round_id: int
    agency_id: int
    agency_name: str
    question_key: str = Field(description="The criterion: the question's stable key")
    question_text: str
    kind: ThreadKind
    kind_label: str
    state: ThreadState = Field(description="`open` (waiting for the agency), `answered`, `closed`")
    state_label: str
    opened_by: PersonOut | None
    created_at: datetime
    closed_at: datetime | None
    messages: list[MessageOut]


class CriterionOut(BaseModel):
    question_key: str
    question_text: str
    section_key: str
    rated: bool = Field(description="Answered on a scale (can be moderated)")
    answer: str = Field(description="The agency's answer as shown (its rating's label)")
    self_level: LevelOut | None = Field(description="The agency's own rating; never changed by moderation")
    moderated_level: LevelOut | None = Field(description="The moderated rating, beside the agency's own")
    moderation_note: str = Field(description="Why it was moderated")
    threads_open: int
    threads_answered: int
    threads_closed: int


class ReturnScrutinyOut(BaseModel):
    return_id: int
    round_id: int
    round_title: str
    agency_id: int
    agency_name: str
    status: ReturnStatus
    status_label: str
    can_scrutinise: bool = Field(description="Whether you may open threads, moderate and close threads")
    criteria: list[CriterionOut]


class ModeratorOut(BaseModel):
    user_id: int
    name: str
    email: str
    added_at: datetime


class ModeratorsOut(BaseModel):
    round_id: int
    moderators: list[ModeratorOut]


class PrioritiesOut(BaseModel):
    round_id: int
    question_keys: list[str]
    criteria: list[dict[str, str]] = Field(description="Each priority criterion: `question_key`, `question_text`")


class RoundReturnOut(BaseModel):
    return_id: int
    agency_id: int
    agency_name: str
    status: ReturnStatus
    status_label: str
    threads_open: int = Field(description="Waiting for the agency")
    threads_answered: int = Field(description="Answered by the agency, waiting for the QA side")
    threads_closed: int


class RoundScrutinyOut(BaseModel):
    round_id: int
    round_title: str
    returns: list[RoundReturnOut]


class FollowUpRowOut(BaseModel):
    return_id: int
    agency_id: int
    agency_name: str
    question_key: str
    question_text: str
    self_level: LevelOut | None
    moderated_level: LevelOut | None
    moderation_note: str
    url: str = Field(description="The criterion's scrutiny page")


class FollowUpOut(BaseModel):
    round_id: int
    priority_keys: list[str]
    rows: list[FollowUpRowOut]


# -- what it takes --


class ThreadsQuery(PageQuery):
    question_key: str | None = Field(default=None, max_length=64, description="Only this criterion's threads")
    state: ThreadState | None = Field(default=None, description="Only threads in this state")


class ThreadIn(Strict):
    question_key: str = Field(max_length=64, description="The criterion's question key")
    kind: ThreadKind = Field(description="`comment`, `query` or `more_evidence`")
    body: str = Field(description="The first message")


class MessageIn(Strict):
    body: str


class ModerationIn(Strict):
    level_id: Id | None = Field(default=None, description="A level of the criterion's scale (its id)")
    reason: str = Field(default="", description="Why (required)")


class ModeratorIn(Strict):
    user_id: Id


class PrioritiesIn(Strict):
    question_keys: list[str] = Field(description="Rated questions of the round's questionnaire; [] for none")


# -- serialising --


def _level(level: ScaleLevel | None) -> dict | None:
    if level is None:
        return None
    return {
        "id": level.id,
        "label": level.label,
        "counts_as_good": level.counts_as_good,
        "is_not_applicable": level.is_not_applicable,
    }


def _person(user) -> dict | None:
    return {"user_id": user.id, "name": user.name} if user is not None else None


def _message(message: ScrutinyMessage) -> dict:
    return {
        "id": message.id,
        "side": message.side.value,
        "author": _person(message.author),
        "body": message.body,
        "created_at": message.created_at.isoformat(),
    }


def _thread(thread: ScrutinyThread) -> dict:
    ret = thread.return_
    question = next((q for q in ret.round.version.questions if q.key == thread.question_key), None)
    return {
        "id": thread.id,
        "return_id": ret.id,
        "round_id": ret.round_id,
        "agency_id": ret.agency_id,
        "agency_name": ret.agency.name,
        "question_key": thread.question_key,
        "question_text": question.text if question is not None else "",
        "kind": thread.kind.value,
        "kind_label": thread.kind.label,
        "state": thread.state.value,
        "state_label": thread.state.label,
        "opened_by": _person(thread.opened_by),
        "created_at": thread.created_at.isoformat(),
        "closed_at": thread.closed_at.isoformat() if thread.closed_at else None,
        "messages": [_message(m) for m in thread.messages],
    }


def _criterion(question: Question, answer: Answer | None, counts: dict[ThreadState, int]) -> dict:
    return {
        "question_key": question.key,
        "question_text": question.text,
        "section_key": question.section.key,
        "rated": question.type == QuestionType.SCALE,
        "answer": scrutiny.display_answer(question, answer),
        "self_level": _level(answer.scale_level if answer is not None else None),
        "moderated_level": _level(scrutiny.moderated_level(answer)),
        "moderation_note": answer.moderation_note if answer is not None else "",
        "threads_open": counts.get(ThreadState.OPEN, 0),
        "threads_answered": counts.get(ThreadState.ANSWERED, 0),
        "threads_closed": counts.get(ThreadState.CLOSED, 0),
    }


def _return_scrutiny(p: Principal, ret: Return) -> dict:
    counts: dict[str, dict[ThreadState, int]] = {}
    for thread in db.session.scalars(scrutiny.threads_query(ret.id)):
        by_state = counts.setdefault(thread.question_key, {})
        by_state[thread.state] = by_state.get(thread.state, 0) + 1
    return {
        "return_id": ret.id,
        "round_id": ret.round_id,
        "round_title": ret.round.title,
        "agency_id": ret.agency_id,
        "agency_name": ret.agency.name,
        "status": ret.status.value,
        "status_label": ret.status.label,
        "can_scrutinise": can_scrutinise_return(p, ret),
        "criteria": [
            _criterion(q, scrutiny.answer_of(ret, q.key), counts.get(q.key, {})) for q in scrutiny.criteria(ret)
        ],
    }


def _me(p: Principal) -> User:
    """The acting user (a session's or an API token's)."""
    return db.session.get(User, p.user_id)  # type: ignore[return-value]


def _scrutinised(p: Principal, sa_return_id: int) -> Return:
    """A return the principal works on from the QA side: 404 out of sight, 403 if they may only read it."""
    ret = get_scrutiny_return_or_404(p, sa_return_id)
    require(can_scrutinise_return(p, ret))
    return ret


def _round_reader(p: Principal, sa_round_id: int) -> Round:
    round_ = get_scrutiny_round_or_404(p, sa_round_id)
    require(can_view_scrutiny_round(p, round_))
    return round_


def _round_manager(p: Principal, sa_round_id: int) -> Round:
    require(p.has(*SCRUTINISERS))
    round_ = get_scrutiny_round_or_404(p, sa_round_id)
    require(can_manage_scrutiny(p, round_))
    return round_


def _moderators(round_: Round) -> dict:
    return {
        "round_id": round_.id,
        "moderators": [
            {"user_id": m.user_id, "name": m.user.name, "email": m.user.email, "added_at": m.added_at.isoformat()}
            for m in scrutiny.moderators(round_)
        ],
    }


def _priorities(round_: Round) -> dict:
    keys = scrutiny.priority_keys(round_)
    texts = {q.key: q.text for q in scrutiny.rated_criteria(round_)}
    return {
        "round_id": round_.id,
        "question_keys": keys,
        "criteria": [{"question_key": k, "question_text": texts[k]} for k in keys],
    }


# -- a return's scrutiny --


@api_route(
    "/returns/<int:sa_return_id>/scrutiny",
    "GET",
    summary="A self-assessment return's criteria: the agency's own rating, any moderated rating and why, and "
    "its threads by state",
    tag=TAG,
    response_model=ReturnScrutinyOut,
    roles=READERS,
    roles_note=READERS_NOTE,
)
def return_scrutiny_get(sa_return_id: int):
    p = principal()
    ret = get_scrutiny_return_or_404(p, sa_return_id)
    record_access(AccessKind.RETURN, ret.id)
    return jsonify(_return_scrutiny(p, ret))


@api_route(
    "/returns/<int:sa_return_id>/threads",
    "GET",
    summary="A self-assessment return's scrutiny threads with their messages, oldest first",
    tag=TAG,
    query_model=ThreadsQuery,
    response_model=ThreadOut,
    many=True,
    roles=READERS,
    roles_note=READERS_NOTE,
)
def return_threads_list(sa_return_id: int):
    p = principal()
    ret = get_scrutiny_return_or_404(p, sa_return_id)
    record_access(AccessKind.RETURN, ret.id)
    args: ThreadsQuery = query_args()
    query = scrutiny.threads_query(ret.id, args.question_key)
    if args.state is not None:
        query = query.where(ScrutinyThread.state == args.state)
    return page_of(query, _thread)


@api_route(
    "/returns/<int:sa_return_id>/threads",
    "POST",
    summary="Open a comment, query or request for more evidence on a criterion; the agency is emailed",
    tag=TAG,
    request_model=ThreadIn,
    response_model=ThreadOut,
    status=201,
    roles=QA_SIDE,
    roles_note=QA_NOTE,
)
def return_threads_create(sa_return_id: int):
    p = principal()
    ret = _scrutinised(p, sa_return_id)
    body = parse_body(ThreadIn)
    thread = scrutiny.open_thread(ret, body.question_key, body.kind.value, body.body, by=_me(p))
    db.session.commit()
    return jsonify(_thread(thread)), 201


@api_route(
    "/threads/<int:thread_id>",
    "GET",
    summary="A scrutiny thread with its messages",
    tag=TAG,
    response_model=ThreadOut,
    roles=READERS,
    roles_note=READERS_NOTE,
)
def threads_get(thread_id: int):
    return jsonify(_thread(get_thread_or_404(principal(), thread_id)))


@api_route(
    "/threads/<int:thread_id>/messages",
    "POST",
    summary="Reply in a thread: the agency's reply makes it answered, the QA side's open again (409 once closed)",
    tag=TAG,
    request_model=MessageIn,
    response_model=ThreadOut,
    status=201,
    roles=REPLIERS,
    roles_note="an agency's auditors and leads on their own returns; " + QA_NOTE,
)
def threads_reply(thread_id: int):
    p = principal()
    thread = get_thread_or_404(p, thread_id)
    if can_scrutinise_return(p, thread.return_):
        side = MessageSide.QA
    elif can_answer_threads(p, thread.return_):
        side = MessageSide.AGENCY
    else:
        abort(403)
    body = parse_body(MessageIn)
    scrutiny.add_message(thread, body.body, by=_me(p), side=side)
    db.session.commit()
    return jsonify(_thread(thread)), 201


@api_route(
    "/threads/<int:thread_id>/close",
    "POST",
    summary="Close a thread (409 if it is already closed)",
    tag=TAG,
    response_model=ThreadOut,
    roles=QA_SIDE,
    roles_note=QA_NOTE,
)
def threads_close(thread_id: int):
    p = principal()
    thread = get_thread_or_404(p, thread_id)
    require(can_scrutinise_return(p, thread.return_))
    scrutiny.close_thread(thread, by=_me(p))
    db.session.commit()
    return jsonify(_thread(thread))


@api_route(
    "/returns/<int:sa_return_id>/moderation/<sa_question_key>",
    "PUT",
    summary="Set a moderated rating with its reason beside the agency's own rating (409 before the return is "
    "submitted)",
    tag=TAG,
    request_model=ModerationIn,
    response_model=CriterionOut,
    roles=QA_SIDE,
    roles_note=QA_NOTE,
)
def moderation_set(sa_return_id: int, sa_question_key: str):
    question_key = sa_question_key
    p = principal()
    ret = _scrutinised(p, sa_return_id)
    if scrutiny.criterion(ret, question_key) is None:
        abort(404)
    body = parse_body(ModerationIn)
    answer = scrutiny.set_moderation(ret, question_key, body.level_id, body.reason, by=_me(p))
    db.session.commit()
    question = scrutiny.criterion(ret, question_key)
    counts = scrutiny.thread_counts([ret.id])[ret.id]
    return jsonify(_criterion(question, answer, counts))  # type: ignore[arg-type]


@api_route(
    "/returns/<int:sa_return_id>/moderation/<sa_question_key>",
    "DELETE",
    summary="Remove a moderated rating and its reason (the agency's own rating stays); answers the criterion as it "
    "is now, also when there was none to remove",
    tag=TAG,
    response_model=CriterionOut,
    roles=QA_SIDE,
    roles_note=QA_NOTE,
)
def moderation_clear(sa_return_id: int, sa_question_key: str):
    question_key = sa_question_key
    p = principal()
    ret = _scrutinised(p, sa_return_id)
    question = scrutiny.criterion(ret, question_key)
    if question is None:
        abort(404)
    scrutiny.clear_moderation(ret, question_key)
    db.session.commit()
    counts = scrutiny.thread_counts([ret.id])[ret.id]
    return jsonify(_criterion(question, scrutiny.answer_of(ret, question_key), counts))


# -- a round: moderators, priority criteria, the follow-up list --


@api_route(
    "/rounds/<int:sa_round_id>/scrutiny",
    "GET",
    summary="A self-assessment round's returns to scrutinise, with their open, answered and closed threads",
    tag=TAG,
    response_model=RoundScrutinyOut,
    roles=ROUND_READERS,
    roles_note=ROUND_NOTE,
)
def round_scrutiny_get(sa_round_id: int):
    p = principal()
    round_ = _round_reader(p, sa_round_id)
    returns = scrutiny.round_returns(round_, p)
    counts = scrutiny.thread_counts([r.id for r in returns])
    return jsonify(
        {
            "round_id": round_.id,
            "round_title": round_.title,
            "returns": [
                {
                    "return_id": r.id,
                    "agency_id": r.agency_id,
                    "agency_name": r.agency.name,
                    "status": r.status.value,
                    "status_label": r.status.label,
                    "threads_open": counts[r.id].get(ThreadState.OPEN, 0),
                    "threads_answered": counts[r.id].get(ThreadState.ANSWERED, 0),
                    "threads_closed": counts[r.id].get(ThreadState.CLOSED, 0),
                }
                for r in returns
            ],
        }
    )


@api_route(
    "/rounds/<int:sa_round_id>/moderators",
    "GET",
    summary="A self-assessment round's named moderators",
    tag=TAG,
    response_model=ModeratorsOut,
    roles=ROUND_READERS,
    roles_note=ROUND_NOTE,
)
def round_moderators_list(sa_round_id: int):
    return jsonify(_moderators(_round_reader(principal(), sa_round_id)))


@api_route(
    "/rounds/<int:sa_round_id>/moderators",
    "POST",
    summary="Name a user of the partnership a moderator of the round (409 if they already are)",
    tag=TAG,
    request_model=ModeratorIn,
    response_model=ModeratorsOut,
    status=201,
    roles=SCRUTINISERS,
)
def round_moderators_add(sa_round_id: int):
    p = principal()
    round_ = _round_manager(p, sa_round_id)
    body = parse_body(ModeratorIn)
    scrutiny.add_moderator(round_, body.user_id, by=_me(p))
    db.session.commit()
    return jsonify(_moderators(round_)), 201


@api_route(
    "/rounds/<int:sa_round_id>/moderators/<int:user_id>",
    "DELETE",
    summary="Stop someone moderating the round; answers the moderators left, also when they were not one",
    tag=TAG,
    response_model=ModeratorsOut,
    roles=SCRUTINISERS,
)
def round_moderators_remove(sa_round_id: int, user_id: int):
    round_ = _round_manager(principal(), sa_round_id)
    scrutiny.remove_moderator(round_, user_id)
    db.session.commit()
    return jsonify(_moderators(round_))


@api_route(
    "/rounds/<int:sa_round_id>/priority-criteria",
    "GET",
    summary="A self-assessment round's priority criteria (question keys, in the questionnaire's order)",
    tag=TAG,
    response_model=PrioritiesOut,
    roles=ROUND_READERS,
    roles_note=ROUND_NOTE,
)
def round_priorities_get(sa_round_id: int):
    return jsonify(_priorities(_round_reader(principal(), sa_round_id)))


@api_route(
    "/rounds/<int:sa_round_id>/priority-criteria",
    "PUT",
    summary="Replace the round's priority criteria (rated questions of its questionnaire, by key)",
    tag=TAG,
    request_model=PrioritiesIn,
    response_model=PrioritiesOut,
    roles=SCRUTINISERS,
)
def round_priorities_set(sa_round_id: int):
    round_ = _round_manager(principal(), sa_round_id)
    body = parse_body(PrioritiesIn)
    scrutiny.set_priority_criteria(round_, body.question_keys)
    db.session.commit()
    return jsonify(_priorities(round_))


@api_route(
    "/rounds/<int:sa_round_id>/follow-up",
    "GET",
    summary="The follow-up list: returned self-assessments whose own or moderated rating on a priority criterion "
    "is below good and not 'not applicable' (Not met, Partly met)",
    tag=TAG,
    response_model=FollowUpOut,
    roles=ROUND_READERS,
    roles_note=ROUND_NOTE,
)
def round_follow_up(sa_round_id: int):
    p = principal()
    round_ = _round_reader(p, sa_round_id)
    rows = scrutiny.follow_up(round_, p)
    return jsonify(
        {
            "round_id": round_.id,
            "priority_keys": scrutiny.priority_keys(round_),
            "rows": [
                {
                    "return_id": r.return_id,
                    "agency_id": r.agency_id,
                    "agency_name": r.agency_name,
                    "question_key": r.question_key,
                    "question_text": r.question_text,
                    "self_level": _level(r.self_level),
                    "moderated_level": _level(r.moderated_level),
                    "moderation_note": r.moderation_note,
                    "url": url_for(
                        "scrutiny.criterion", sa_return_id=r.return_id, sa_question_key=r.question_key, _external=True
                    ),
                }
                for r in rows
            ],
        }
    )
