"""Scrutiny threads, moderation and the follow-up list of a self-assessment round.

Pages for both sides of a return's scrutiny: the QA side (the QA group, admins, a round's named moderators)
opens threads on a criterion, moderates ratings and closes threads; the agency answers in the threads and sees
the moderated ratings and why. A case audit's returns have no scrutiny pages (404, by the scoped query).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..core.access_log import AccessKind, record_access
from ..core.errors import DomainError
from ..core.forms import check_csrf
from ..core.inputs import whole_number
from ..core.permissions import allowed_or_403, current_principal
from ..extensions import db
from ..questionnaires.models import QuestionType
from ..rounds.models import Return, Round
from . import scrutiny
from .models import THREAD_KIND_LABELS, MessageSide, ThreadState
from .permissions import (
    can_answer_threads,
    can_manage_scrutiny,
    can_scrutinise_return,
    can_view_scrutiny_round,
    get_scrutiny_return_or_404,
    get_scrutiny_round_or_404,
    get_thread_or_404,
)

bp = Blueprint("scrutiny", __name__)


def _errors_of(error: DomainError) -> dict[str, str]:
    problems = getattr(error, "fields", None) or {error.field or "body": [error.message]}
    return {field: messages[0] for field, messages in problems.items()}


# -- template helpers: what the engine's return pages show beside each criterion and on the round page --


@bp.app_template_global("scrutiny_note")
def scrutiny_note(ret: Return, question_key: str) -> dict[str, Any] | None:
    """For a self-assessment return's criterion: its threads' counts and moderated rating, if anyone may see
    them (the engine's pages show it through an include). None for other kinds of round."""
    if ret.round.kind.value != "self_assessment":
        return None
    p = current_principal()
    # one query per return and request, however many criteria the page shows
    cache = g.setdefault("scrutiny_threads", {})
    if ret.id not in cache:
        cache[ret.id] = scrutiny.threads_by_criterion(ret)
    counts: dict[ThreadState, int] = {}
    for thread in cache[ret.id].get(question_key, []):
        counts[thread.state] = counts.get(thread.state, 0) + 1
    answer = scrutiny.answer_of(ret, question_key)
    return {
        "open": counts.get(ThreadState.OPEN, 0),
        "answered": counts.get(ThreadState.ANSWERED, 0),
        "closed": counts.get(ThreadState.CLOSED, 0),
        "moderated": scrutiny.moderated_level(answer),
        "reason": answer.moderation_note if answer is not None else "",
        "url": url_for("scrutiny.criterion", sa_return_id=ret.id, sa_question_key=question_key),
        "qa_side": can_scrutinise_return(p, ret),
    }


@bp.app_template_global("scrutiny_round_counts")
def scrutiny_round_counts(round_: Round, returns: list[Return]) -> dict[int, dict[ThreadState, int]]:
    """Threads by state for each of the round page's returns."""
    return scrutiny.thread_counts([r.id for r in returns])


@bp.app_template_global("scrutiny_with_threads")
def scrutiny_with_threads(returns: list[Return], counts: dict[int, dict[ThreadState, int]]) -> list[Return]:
    """The returns that have any thread (the round page lists only these; a round can have 100 settings)."""
    return [r for r in returns if counts.get(r.id)]


@bp.app_template_global("scrutiny_phrase")
def scrutiny_phrase(counts: dict[int, dict[ThreadState, int]]) -> str:
    """'3 open queries on 2 returns; 1 answered, waiting for the QA group' in words."""
    open_ = sum(c.get(ThreadState.OPEN, 0) for c in counts.values())
    answered = sum(c.get(ThreadState.ANSWERED, 0) for c in counts.values())
    returns = sum(1 for c in counts.values() if c.get(ThreadState.OPEN, 0))
    if not open_ and not answered:
        return "No thread is waiting for an answer."
    text = f"{open_} open {'thread' if open_ == 1 else 'threads'} waiting for the agency"
    if open_:
        text += f" ({returns} {'return' if returns == 1 else 'returns'})"
    return f"{text}; {answered} answered, waiting for the QA group."


# -- a return's scrutiny --


@bp.get("/scrutiny/returns/<int:sa_return_id>")
@login_required
def return_scrutiny(sa_return_id: int):
    """Every criterion of a return with the agency's rating, any moderated rating and its threads."""
    p = current_principal()
    ret = get_scrutiny_return_or_404(p, sa_return_id)
    record_access(AccessKind.RETURN, ret.id)
    threads = scrutiny.threads_by_criterion(ret)
    rows = []
    for question in scrutiny.criteria(ret):
        answer = scrutiny.answer_of(ret, question.key)
        rows.append(
            {
                "question": question,
                "shown": scrutiny.display_answer(question, answer),
                "moderated": scrutiny.moderated_level(answer),
                "reason": answer.moderation_note if answer is not None else "",
                "threads": threads.get(question.key, []),
            }
        )
    return render_template(
        "self_assessments/scrutiny_return.html",
        ret=ret,
        rows=rows,
        ThreadState=ThreadState,
        qa_side=can_scrutinise_return(p, ret),
    )


def _criterion_page(
    ret: Return,
    question_key: str,
    *,
    errors: dict[str, str] | None = None,
    status: int = 200,
    posted: dict[str, str] | None = None,
    error_form: str = "",
):
    p = current_principal()
    question = scrutiny.criterion(ret, question_key)
    if question is None:
        abort(404)
    answer = scrutiny.answer_of(ret, question.key)
    qa_side = can_scrutinise_return(p, ret)
    threads = list(db.session.scalars(scrutiny.threads_query(ret.id, question.key)))
    rated = question.type == QuestionType.SCALE
    errors = errors or {}
    anchors = {"kind": "kind-comment", "body": "body", "level_id": "level_id", "reason": "reason"}
    error_list = [{"text": text, "href": "#" + anchors.get(field, field)} for field, text in errors.items()]
    return render_template(
        "self_assessments/scrutiny_criterion.html",
        ret=ret,
        question=question,
        shown=scrutiny.display_answer(question, answer),
        answer=answer,
        moderated=scrutiny.moderated_level(answer),
        threads=threads,
        qa_side=qa_side,
        agency_side=can_answer_threads(p, ret),
        can_moderate=qa_side and rated and ret.status in scrutiny.MODERATABLE and answer is not None,
        rated=rated,
        levels=question.scale.levels if rated and question.scale else [],
        kinds=THREAD_KIND_LABELS,
        ThreadState=ThreadState,
        errors=errors,
        error_list=error_list,
        error_form=error_form,
        posted=posted or {},
    ), status


@bp.get("/scrutiny/returns/<int:sa_return_id>/criteria/<sa_question_key>")
@login_required
def criterion(sa_return_id: int, sa_question_key: str):
    """One criterion of a return: the agency's answer, the moderated rating and why, and its threads."""
    question_key = sa_question_key
    ret = get_scrutiny_return_or_404(current_principal(), sa_return_id)
    response = _criterion_page(ret, question_key)
    record_access(AccessKind.RETURN, ret.id)
    return response


@bp.post("/scrutiny/returns/<int:sa_return_id>/criteria/<sa_question_key>/threads")
@login_required
def thread_create(sa_return_id: int, sa_question_key: str):
    """The QA side opens a comment, query or request for more evidence on the criterion."""
    question_key = sa_question_key
    p = current_principal()
    ret = get_scrutiny_return_or_404(p, sa_return_id)
    allowed_or_403(can_scrutinise_return(p, ret))
    if scrutiny.criterion(ret, question_key) is None:
        abort(404)
    check_csrf()
    kind, body = request.form.get("kind"), request.form.get("body", "")
    try:
        scrutiny.open_thread(ret, question_key, kind, body, by=current_user)
    except DomainError as error:
        db.session.rollback()
        return _criterion_page(
            ret,
            question_key,
            errors=_errors_of(error),
            status=400,
            posted={"kind": kind or "", "body": body},
            error_form="thread",
        )
    db.session.commit()
    flash("Sent to the agency", "success")
    return redirect(url_for("scrutiny.criterion", sa_return_id=ret.id, sa_question_key=question_key))


@bp.post("/scrutiny/threads/<int:thread_id>/messages")
@login_required
def thread_reply(thread_id: int):
    """A reply in a thread: from the agency (it is then answered) or the QA side (open again)."""
    p = current_principal()
    thread = get_thread_or_404(p, thread_id)
    ret = thread.return_
    if can_scrutinise_return(p, ret):
        side = MessageSide.QA
    elif can_answer_threads(p, ret):
        side = MessageSide.AGENCY
    else:
        abort(403)
    check_csrf()
    body = request.form.get("body", "")
    back = url_for("scrutiny.criterion", sa_return_id=ret.id, sa_question_key=thread.question_key)
    try:
        scrutiny.add_message(thread, body, by=current_user, side=side)
    except DomainError as error:
        db.session.rollback()
        if error.status_code == 409:
            flash(error.message, "error")
            return redirect(back, code=303)
        errors = {f"reply-{thread.id}": _errors_of(error).get("body", error.message)}
        return _criterion_page(ret, thread.question_key, errors=errors, status=400, posted={f"reply-{thread.id}": body})
    db.session.commit()
    flash("Reply sent", "success")
    return redirect(back)


@bp.post("/scrutiny/threads/<int:thread_id>/close")
@login_required
def thread_close(thread_id: int):
    """The QA side closes a thread."""
    p = current_principal()
    thread = get_thread_or_404(p, thread_id)
    allowed_or_403(can_scrutinise_return(p, thread.return_))
    check_csrf()
    back = url_for("scrutiny.criterion", sa_return_id=thread.return_id, sa_question_key=thread.question_key)
    try:
        scrutiny.close_thread(thread, by=current_user)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(back, code=303)
    db.session.commit()
    flash("Thread closed", "success")
    return redirect(back)


@bp.post("/scrutiny/returns/<int:sa_return_id>/criteria/<sa_question_key>/moderation")
@login_required
def moderation(sa_return_id: int, sa_question_key: str):
    """Set a moderated rating with its reason, or clear it (``action=clear``). The agency's rating stays."""
    question_key = sa_question_key
    p = current_principal()
    ret = get_scrutiny_return_or_404(p, sa_return_id)
    allowed_or_403(can_scrutinise_return(p, ret))
    if scrutiny.criterion(ret, question_key) is None:
        abort(404)
    check_csrf()
    back = url_for("scrutiny.criterion", sa_return_id=ret.id, sa_question_key=question_key)
    level_id = whole_number(request.form.get("level_id"), low=1)
    reason = request.form.get("reason", "")
    try:
        if request.form.get("action") == "clear":
            cleared = scrutiny.clear_moderation(ret, question_key)
            message = "Moderated rating removed" if cleared else "There was no moderated rating to remove"
        else:
            scrutiny.set_moderation(ret, question_key, level_id, reason, by=current_user)
            message = "Moderated rating saved"
    except DomainError as error:
        db.session.rollback()
        if error.status_code == 409:
            flash(error.message, "error")
            return redirect(back, code=303)
        return _criterion_page(
            ret,
            question_key,
            errors=_errors_of(error),
            status=400,
            posted={"level_id": request.form.get("level_id", ""), "reason": reason},
            error_form="moderation",
        )
    db.session.commit()
    flash(message, "success")
    return redirect(back)


# -- a round: moderators, priority criteria, the follow-up list --


def _round_context(round_: Round) -> dict[str, Any]:
    p = current_principal()
    return {"round": round_, "can_manage": can_manage_scrutiny(p, round_)}


@bp.route("/scrutiny/rounds/<int:sa_round_id>/moderators", methods=["GET", "POST"])
@login_required
def round_moderators(sa_round_id: int):
    """The round's named moderators; the QA group and admins name more."""
    p = current_principal()
    round_ = get_scrutiny_round_or_404(p, sa_round_id)
    allowed_or_403(can_view_scrutiny_round(p, round_))
    error, status = "", 200
    if request.method == "POST":
        allowed_or_403(can_manage_scrutiny(p, round_))
        check_csrf()
        user_id = whole_number(request.form.get("user_id"), low=1)
        try:
            moderator = scrutiny.add_moderator(round_, user_id, by=current_user)
        except DomainError as refused:
            db.session.rollback()
            error, status = refused.message, 400 if refused.status_code == 400 else 409
        else:
            name = moderator.user.name
            db.session.commit()
            flash(f"{name} is now a moderator of this round", "success")
            return redirect(url_for("scrutiny.round_moderators", sa_round_id=round_.id))
    return render_template(
        "self_assessments/scrutiny_moderators.html",
        moderators=scrutiny.moderators(round_),
        candidates=scrutiny.moderator_candidates(round_) if can_manage_scrutiny(p, round_) else [],
        error=error,
        **_round_context(round_),
    ), status


@bp.post("/scrutiny/rounds/<int:sa_round_id>/moderators/remove")
@login_required
def round_moderator_remove(sa_round_id: int):
    """Stop someone moderating the round."""
    p = current_principal()
    round_ = get_scrutiny_round_or_404(p, sa_round_id)
    allowed_or_403(can_manage_scrutiny(p, round_))
    check_csrf()
    user_id = whole_number(request.form.get("user_id"), low=1)
    removed = scrutiny.remove_moderator(round_, user_id) if user_id is not None else False
    db.session.commit()
    flash("Moderator removed" if removed else "That person was not a moderator of this round", "success")
    return redirect(url_for("scrutiny.round_moderators", sa_round_id=round_.id), code=303)


@bp.route("/scrutiny/rounds/<int:sa_round_id>/priorities", methods=["GET", "POST"])
@login_required
def round_priorities(sa_round_id: int):
    """The round's priority criteria: weak ratings on them put a setting on the follow-up list."""
    p = current_principal()
    round_ = get_scrutiny_round_or_404(p, sa_round_id)
    allowed_or_403(can_view_scrutiny_round(p, round_))
    chosen = set(scrutiny.priority_keys(round_))
    error, status = "", 200
    if request.method == "POST":
        allowed_or_403(can_manage_scrutiny(p, round_))
        check_csrf()
        keys = request.form.getlist("question_keys")
        try:
            scrutiny.set_priority_criteria(round_, keys)
        except DomainError as refused:
            db.session.rollback()
            error, status, chosen = refused.message, 400, set(keys)
        else:
            db.session.commit()
            flash("Priority criteria saved", "success")
            return redirect(url_for("scrutiny.follow_up", sa_round_id=round_.id))
    return render_template(
        "self_assessments/scrutiny_priorities.html",
        criteria=scrutiny.rated_criteria(round_),
        chosen=chosen,
        error=error,
        **_round_context(round_),
    ), status


@bp.get("/scrutiny/rounds/<int:sa_round_id>/follow-up")
@login_required
def follow_up(sa_round_id: int):
    """Settings rated (or moderated) Not met or Partly met on a priority criterion."""
    p = current_principal()
    round_ = get_scrutiny_round_or_404(p, sa_round_id)
    allowed_or_403(can_view_scrutiny_round(p, round_))
    return render_template(
        "self_assessments/scrutiny_follow_up.html",
        rows=scrutiny.follow_up(round_, p),
        priorities=scrutiny.priority_keys(round_),
        **_round_context(round_),
    )


@bp.get("/scrutiny/rounds/<int:sa_round_id>/returns")
@login_required
def round_returns(sa_round_id: int):
    """The round's returns to scrutinise, with their open and answered threads (a moderator's way in)."""
    p = current_principal()
    round_ = get_scrutiny_round_or_404(p, sa_round_id)
    allowed_or_403(can_view_scrutiny_round(p, round_))
    returns = scrutiny.round_returns(round_, p)
    return render_template("self_assessments/scrutiny_returns.html", returns=returns, **_round_context(round_))
