"""Scrutiny of self-assessment returns: threads per criterion, moderated ratings, named moderators, priority
criteria and the follow-up list.

A criterion is a question of the round's questionnaire version, named by its stable key. The QA side (the QA
group, admins, or a moderator named for the round) opens a thread on a criterion (a comment, a query, or a
request for more evidence); the agency answers in it; the QA side closes it. Emails go both ways from a job
after the change commits. A moderated rating sits beside the agency's own (``Answer.moderated_level_id`` and
``moderation_note``): the self-rating is never changed here.

Services flush and raise ``DomainError`` (every bad field at once as ``FieldErrors``); views commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import current_app, url_for

from ..accounts.models import Membership, PartnershipAgency, User
from ..core import clock, jobs
from ..core.errors import ConflictError, FieldErrors, NotAllowedError
from ..core.mail import MailError, send_email
from ..core.permissions import Principal
from ..core.roles import Role
from ..extensions import db
from ..questionnaires import answers
from ..questionnaires.models import Question, QuestionType, ScaleLevel
from ..rounds import services as rounds
from ..rounds.models import Answer, Return, ReturnGroup, ReturnStatus, Round
from .models import (
    MessageSide,
    PriorityCriterion,
    RoundModerator,
    ScrutinyMessage,
    ScrutinyThread,
    ThreadKind,
    ThreadState,
)

#: the longest message kept (a long letter; evidence goes in the return itself)
MAX_MESSAGE = 5000
#: a moderation's reason
MAX_REASON = 2000
#: a moderated rating can be set once the agency has sent its return
MODERATABLE = (ReturnStatus.SUBMITTED, ReturnStatus.ACCEPTED)


# -- criteria --


def criteria(ret: Return) -> list[Question]:
    """The questions the return's agency is asked (by its sector), in the questionnaire's order."""
    return rounds.applicable_questions(ret)


def criterion(ret: Return, question_key: str) -> Question | None:
    """The criterion ``question_key`` of the return (None if the agency is not asked it)."""
    return next((q for q in criteria(ret) if q.key == question_key), None)


def answer_of(ret: Return, question_key: str) -> Answer | None:
    return next((a for a in ret.answers if a.question.key == question_key), None)


def is_weak(level: ScaleLevel | None) -> bool:
    """A rating the follow-up list picks up ("Not met", "Partly met"): by the level's flags, never its label."""
    return level is not None and not level.counts_as_good and not level.is_not_applicable


# -- threads --


def _message_problems(body: str) -> list[str]:
    if not body.strip():
        return ["Enter a message"]
    if len(body) > MAX_MESSAGE:
        return [f"Message must be {MAX_MESSAGE} characters or fewer"]
    return []


def open_thread(ret: Return, question_key: str, kind: str | None, body: str, *, by: User) -> ScrutinyThread:
    """The QA side opens a thread on a criterion with its first message; the agency is emailed after commit."""
    problems: dict[str, list[str]] = {}
    if criterion(ret, question_key) is None:
        problems["question_key"] = ["Choose a criterion of this return"]
    try:
        thread_kind = ThreadKind(kind or "")
    except ValueError:
        problems["kind"] = ["Select whether this is a comment, a query or a request for more evidence"]
    body_problems = _message_problems(body or "")
    if body_problems:
        problems["body"] = body_problems
    if problems:
        raise FieldErrors(problems)
    thread = ScrutinyThread(
        return_id=ret.id, return_=ret, question_key=question_key, kind=thread_kind, opened_by_id=by.id
    )
    thread.messages.append(ScrutinyMessage(author_id=by.id, side=MessageSide.QA, body=body.strip()))
    db.session.add(thread)
    db.session.flush()
    _queue_email(thread)
    return thread


def add_message(thread: ScrutinyThread, body: str, *, by: User, side: MessageSide) -> ScrutinyMessage:
    """A reply in a thread. The agency's reply makes it answered; the QA side's makes it open again."""
    if thread.state == ThreadState.CLOSED:
        raise NotAllowedError("This thread is closed: open a new one on the criterion", field="body")
    problems = _message_problems(body or "")
    if problems:
        raise FieldErrors({"body": problems})
    message = ScrutinyMessage(author_id=by.id, side=side, body=body.strip())
    thread.messages.append(message)
    thread.state = ThreadState.ANSWERED if side == MessageSide.AGENCY else ThreadState.OPEN
    db.session.flush()
    _queue_email(thread)
    return message


def close_thread(thread: ScrutinyThread, *, by: User) -> None:
    """The QA side closes a thread: nothing more is asked."""
    if thread.state == ThreadState.CLOSED:
        raise NotAllowedError("This thread is already closed")
    thread.state = ThreadState.CLOSED
    thread.closed_at = clock.now()
    thread.closed_by_id = by.id
    db.session.flush()


def threads_query(return_id: int, question_key: str | None = None) -> sa.Select:
    query = sa.select(ScrutinyThread).where(ScrutinyThread.return_id == return_id)
    if question_key is not None:
        query = query.where(ScrutinyThread.question_key == question_key)
    return query.order_by(ScrutinyThread.id)


def threads_by_criterion(ret: Return) -> dict[str, list[ScrutinyThread]]:
    grouped: dict[str, list[ScrutinyThread]] = {}
    for thread in db.session.scalars(threads_query(ret.id)):
        grouped.setdefault(thread.question_key, []).append(thread)
    return grouped


def thread_counts(return_ids: list[int]) -> dict[int, dict[ThreadState, int]]:
    """Threads by state for each return (counted in SQL)."""
    counts: dict[int, dict[ThreadState, int]] = {rid: {} for rid in return_ids}
    if not return_ids:
        return counts
    rows = db.session.execute(
        sa.select(ScrutinyThread.return_id, ScrutinyThread.state, sa.func.count())
        .where(ScrutinyThread.return_id.in_(return_ids))
        .group_by(ScrutinyThread.return_id, ScrutinyThread.state)
    )
    for return_id, state, count in rows:
        counts[return_id][ThreadState(state)] = count
    return counts


# -- moderation --


def set_moderation(ret: Return, question_key: str, level_id: Any, reason: str, *, by: User) -> Answer:
    """Set a moderated rating beside the agency's own, with a reason. The self-rating is never touched."""
    question = criterion(ret, question_key)
    if question is None or question.type != QuestionType.SCALE:
        raise FieldErrors({"question_key": ["Choose a rated criterion of this return"]})
    if ret.status not in MODERATABLE:
        raise NotAllowedError(
            f"This return is {ret.status.label.lower()}: a rating can be moderated once the agency has submitted it"
        )
    answer = answer_of(ret, question_key)
    problems: dict[str, list[str]] = {}
    levels = {level.id: level for level in question.scale.levels} if question.scale else {}
    level = levels.get(level_id) if isinstance(level_id, int) and not isinstance(level_id, bool) else None
    if level is None:
        problems["level_id"] = ["Select the moderated rating"]
    reason = (reason or "").strip()
    if not reason:
        problems["reason"] = ["Enter the reason for the moderated rating"]
    elif len(reason) > MAX_REASON:
        problems["reason"] = [f"Reason must be {MAX_REASON} characters or fewer"]
    if problems:
        raise FieldErrors(problems)
    if answer is None:
        raise NotAllowedError("The agency has not rated this criterion, so there is no rating to moderate")
    answer.moderated_level_id = level.id  # type: ignore[union-attr]
    answer.moderation_note = reason
    db.session.flush()
    return answer


def clear_moderation(ret: Return, question_key: str) -> bool:
    """Remove a moderated rating and its reason (the self-rating stays). False if there was none."""
    question = criterion(ret, question_key)
    if question is None or question.type != QuestionType.SCALE:
        raise FieldErrors({"question_key": ["Choose a rated criterion of this return"]})
    answer = answer_of(ret, question_key)
    if answer is None or (answer.moderated_level_id is None and not answer.moderation_note):
        return False
    answer.moderated_level_id = None
    answer.moderation_note = ""
    db.session.flush()
    return True


def moderated_level(answer: Answer | None) -> ScaleLevel | None:
    if answer is None or answer.moderated_level_id is None:
        return None
    return db.session.get(ScaleLevel, answer.moderated_level_id)


def round_returns(round_: Round, p: Principal) -> list[Return]:
    """The round's returns the principal may scrutinise or read, by agency name."""
    from ..accounts.models import Agency
    from .permissions import scrutiny_returns_query

    return list(
        db.session.scalars(
            scrutiny_returns_query(p)
            .where(Return.round_id == round_.id)
            .join(Agency, Agency.id == Return.agency_id)
            .order_by(Agency.name)
        )
    )


# -- moderators --


def moderators(round_: Round) -> list[RoundModerator]:
    return list(
        db.session.scalars(
            sa.select(RoundModerator)
            .join(User, User.id == RoundModerator.user_id)
            .where(RoundModerator.round_id == round_.id)
            .order_by(User.name)
        )
    )


def moderator_candidates(round_: Round) -> list[User]:
    """Active users of the round's partnerships who are not yet its moderators."""
    partnership_ids = rounds.round_partnership_ids(round_)
    named = sa.select(RoundModerator.user_id).where(RoundModerator.round_id == round_.id)
    return list(
        db.session.scalars(
            sa.select(User)
            .where(
                User.id.in_(sa.select(Membership.user_id).where(Membership.partnership_id.in_(partnership_ids))),
                User.is_active.is_(True),
                User.id.not_in(named),
            )
            .order_by(User.name)
        )
    )


def add_moderator(round_: Round, user_id: Any, *, by: User) -> RoundModerator:
    """Name a user of the round's partnership(s) a moderator of the round."""
    if not isinstance(user_id, int) or isinstance(user_id, bool):
        raise FieldErrors({"user_id": ["Choose a person from the list"]})
    partnership_ids = rounds.round_partnership_ids(round_)
    member = db.session.scalar(
        sa.select(User).where(
            User.id == user_id,
            User.is_active.is_(True),
            User.id.in_(sa.select(Membership.user_id).where(Membership.partnership_id.in_(partnership_ids))),
        )
    )
    if member is None:
        raise FieldErrors({"user_id": ["Choose a person from the list: an active user of the partnership"]})
    existing = db.session.scalar(
        sa.select(RoundModerator).where(RoundModerator.round_id == round_.id, RoundModerator.user_id == user_id)
    )
    if existing is not None:
        raise ConflictError(f"{member.name} is already a moderator of this round", field="user_id")
    moderator = RoundModerator(round_id=round_.id, user_id=user_id, added_by_id=by.id)
    db.session.add(moderator)
    db.session.flush()
    from flask import has_request_context, request

    jobs.enqueue(send_moderator_email, moderator.id, request.host_url if has_request_context() else "")
    return moderator


def send_moderator_email(moderator_id: int, base_url: str = "") -> bool:
    """Tell a newly named moderator which round they moderate, with a link to its returns (a job, after commit)."""
    base = base_url or current_app.config.get("BASE_URL") or "http://localhost"
    with current_app.test_request_context(base_url=base):
        moderator = db.session.get(RoundModerator, moderator_id)
        if moderator is None or not moderator.user.is_active:
            return False
        link = url_for("scrutiny.round_returns", sa_round_id=moderator.round_id, _external=True)
        body = (
            f"You have been named a moderator of the self-assessment round '{moderator.round.title}'.\n\n"
            "You may comment on, query and ask for more evidence on any criterion of its returns (not your own "
            "agency's), and moderate their ratings with a reason.\n\n"
            f"The round's returns: {link}\n"
        )
        try:
            return send_email([moderator.user.email], f"You moderate {moderator.round.title}", body)
        except MailError:
            return False


def remove_moderator(round_: Round, user_id: int) -> bool:
    """Stop a user moderating the round. False if they were not a moderator."""
    moderator = db.session.scalar(
        sa.select(RoundModerator).where(RoundModerator.round_id == round_.id, RoundModerator.user_id == user_id)
    )
    if moderator is None:
        return False
    db.session.delete(moderator)
    db.session.flush()
    return True


# -- priority criteria and the follow-up list --


def rated_criteria(round_: Round) -> list[Question]:
    """The round's questions answered on a scale: what can be a priority."""
    return [q for section in round_.version.sections for q in section.questions if q.type == QuestionType.SCALE]


def priority_keys(round_: Round) -> list[str]:
    """The round's priority criteria, in the questionnaire's order."""
    chosen = set(
        db.session.scalars(sa.select(PriorityCriterion.question_key).where(PriorityCriterion.round_id == round_.id))
    )
    return [q.key for q in rated_criteria(round_) if q.key in chosen]


def set_priority_criteria(round_: Round, keys: Any) -> list[str]:
    """Replace the round's priority criteria with ``keys`` (rated questions of its questionnaire)."""
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise FieldErrors({"question_keys": ["Give a list of question keys"]})
    known = {q.key for q in rated_criteria(round_)}
    unknown = sorted(set(keys) - known)
    if unknown:
        raise FieldErrors(
            {"question_keys": [f"Not a rated criterion of this round's questionnaire: {', '.join(unknown)}"]}
        )
    wanted = set(keys)
    current = {
        pc.question_key: pc
        for pc in db.session.scalars(sa.select(PriorityCriterion).where(PriorityCriterion.round_id == round_.id))
    }
    for key, pc in current.items():
        if key not in wanted:
            db.session.delete(pc)
    for key in sorted(wanted - set(current)):
        db.session.add(PriorityCriterion(round_id=round_.id, question_key=key))
    db.session.flush()
    return priority_keys(round_)


@dataclass(frozen=True)
class FollowUpRow:
    """A return whose self-rating or moderated rating on a priority criterion is weak."""

    return_id: int
    agency_id: int
    agency_name: str
    question_key: str
    question_text: str
    self_level: ScaleLevel | None
    moderated_level: ScaleLevel | None
    moderation_note: str


def follow_up(round_: Round, p: Principal) -> list[FollowUpRow]:
    """Each returned return (submitted or accepted) the principal sees whose self-rating or moderated rating on
    a priority criterion is weak (not counted as good, not "not applicable"), by agency then criterion."""
    from .permissions import scrutiny_returns_query

    keys = priority_keys(round_)
    if not keys:
        return []
    order = {key: n for n, key in enumerate(keys)}
    texts = {q.key: q.text for q in rated_criteria(round_)}
    levels = {
        level.id: level
        for level in db.session.scalars(
            sa.select(ScaleLevel).where(
                ScaleLevel.scale_id.in_({q.scale_id for q in rated_criteria(round_) if q.key in order})
            )
        )
    }
    visible = scrutiny_returns_query(p).with_only_columns(Return.id)
    rows = db.session.execute(
        sa.select(Return, Answer)
        .join(Answer, Answer.return_id == Return.id)
        .join(Question, Question.id == Answer.question_id)
        .where(
            Return.round_id == round_.id,
            Return.id.in_(visible),
            Return.status.in_(ReturnStatus.in_group(ReturnGroup.RETURNED)),
            Question.key.in_(keys),
        )
    ).all()
    found = []
    for ret, answer in rows:
        own = levels.get(answer.scale_level_id) if answer.scale_level_id else None
        moderated = levels.get(answer.moderated_level_id) if answer.moderated_level_id else None
        if is_weak(own) or is_weak(moderated):
            found.append(
                FollowUpRow(
                    return_id=ret.id,
                    agency_id=ret.agency_id,
                    agency_name=ret.agency.name,
                    question_key=answer.question.key,
                    question_text=texts[answer.question.key],
                    self_level=own,
                    moderated_level=moderated,
                    moderation_note=answer.moderation_note,
                )
            )
    return sorted(found, key=lambda r: (r.agency_name.casefold(), order[r.question_key]))


# -- emails, from a job after commit --


def _qa_recipients(ret: Return) -> list[str]:
    """The round's moderators and the QA group of each of its partnerships that works with the return's agency
    (in a shared round, no other partnership hears of another's own agencies), active users."""
    round_ = ret.round
    partnership_ids = db.session.scalars(
        sa.select(PartnershipAgency.partnership_id).where(
            PartnershipAgency.agency_id == ret.agency_id,
            PartnershipAgency.partnership_id.in_(rounds.round_partnership_ids(round_)),
        )
    ).all()
    qa = sa.select(Membership.user_id).where(
        Membership.partnership_id.in_(partnership_ids), Membership.role == Role.QA_MEMBER
    )
    named = sa.select(RoundModerator.user_id).where(RoundModerator.round_id == round_.id)
    return sorted(
        set(
            db.session.scalars(
                sa.select(User.email).where(User.is_active.is_(True), sa.or_(User.id.in_(qa), User.id.in_(named)))
            )
        )
    )


def _agency_recipients(ret: Return) -> list[str]:
    """The active leads and auditors of the return's agency, in any of the round's partnerships."""
    return sorted(
        set(
            db.session.scalars(
                sa.select(User.email)
                .join(Membership, Membership.user_id == User.id)
                .where(
                    Membership.partnership_id.in_(rounds.round_partnership_ids(ret.round)),
                    Membership.agency_id == ret.agency_id,
                    Membership.role.in_([Role.AUDITOR, Role.AGENCY_LEAD]),
                    User.is_active.is_(True),
                )
            )
        )
    )


def _queue_email(thread: ScrutinyThread) -> None:
    from flask import has_request_context, request

    base_url = request.host_url if has_request_context() else ""
    jobs.enqueue(send_thread_email, thread.id, thread.messages[-1].id, base_url)


def send_thread_email(thread_id: int, message_id: int, base_url: str = "") -> int:
    """Email the other side about a new message in a thread, with a link to the criterion (a job, after
    commit). Returns how many people it was sent to (0 if nobody, or mail is not set up or failed)."""
    base = base_url or current_app.config.get("BASE_URL") or "http://localhost"
    with current_app.test_request_context(base_url=base):
        thread = db.session.get(ScrutinyThread, thread_id)
        message = db.session.get(ScrutinyMessage, message_id)
        if thread is None or message is None:
            return 0
        ret = thread.return_
        question = next((q for q in ret.round.version.questions if q.key == thread.question_key), None)
        criterion_text = question.text if question is not None else thread.question_key
        link = url_for("scrutiny.criterion", sa_return_id=ret.id, sa_question_key=thread.question_key, _external=True)
        if message.side == MessageSide.QA:
            recipients = _agency_recipients(ret)
            subject = f"{thread.kind.label} on your self-assessment: {ret.round.title}"
            opening = f"The partnership has written about a criterion of {ret.agency.name}'s return."
        else:
            recipients = _qa_recipients(ret)
            subject = f"{ret.agency.name} answered in scrutiny: {ret.round.title}"
            opening = f"{ret.agency.name} has answered a {thread.kind.label.lower()} on its return."
        if not recipients:
            return 0
        body = (
            f"{opening}\n\n"
            f"Round: {ret.round.title}\n"
            f"Criterion: {criterion_text}\n\n"
            f"{message.body}\n\n"
            f"Read and answer it here: {link}\n"
        )
        try:
            sent = send_email(recipients, subject, body)
        except MailError:
            return 0
        return len(recipients) if sent else 0


def display_answer(question: Question, answer: Answer | None) -> str:
    """The agency's answer as shown (its rating's label for a scale question)."""
    return answers.display(question, answer.value if answer is not None else None)
