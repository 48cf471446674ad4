"""Rounds (plan, open, close, chase), agency returns (complete, submit, decline, Excel) and QA review.

What is special to a kind of round (a case audit's cases, cohort and discussion) has its own blueprint.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy.orm import contains_eager, joinedload, selectinload

from ..accounts.models import Agency, Sector
from ..core import clock
from ..core.access_log import AccessKind, AccessVia, record_access
from ..core.errors import DomainError
from ..core.forms import REFUSED, ConfirmForm, add_form_error, run_service
from ..core.inputs import whole_number
from ..core.pagination import paginate
from ..core.permissions import allowed_or_403, current_principal
from ..core.views import add_audit_filter_part, register_audit_filter
from ..extensions import db
from ..questionnaires import answers
from ..questionnaires.models import Questionnaire, QuestionnaireKind, QuestionnaireVersion, VersionStatus
from . import carry, queues, services
from .forms import ChaseForm, MoveForm, NoteForm, RoundEditForm, RoundForm, ShareRoundForm, first_error
from .kinds import kind_rules
from .models import EmailKind, Return, ReturnGroup, ReturnStatus, Round, RoundStatus
from .notifications import latest_emails, queue_round_emails
from .permissions import (
    can_assign_return,
    can_choose_round_agencies,
    can_edit_return,
    can_manage_round,
    can_manage_rounds,
    can_mark_declined,
    can_review_returns,
    can_share_round,
    can_sign_off_return,
    can_view_rounds,
    get_managed_round_or_404,
    get_return_or_404,
    get_round_or_404,
    leads_return_agency,
    returns_query,
    rounds_query,
    works_for_return,
)

bp = Blueprint("rounds", __name__)


def _status(form: Any) -> int:
    return 400 if form.errors else 200


# -- rounds --


@bp.get("/rounds")
@login_required
def round_list():
    """Every round of the partnership, newest first."""
    p = current_principal()
    allowed_or_403(can_view_rounds(p))
    query = rounds_query(p)
    args: dict[str, str] = {}
    status, kind = request.args.get("status", "").strip(), request.args.get("kind", "").strip()
    if status:
        if status not in RoundStatus.__members__.values():
            abort(400, "status must be one of: " + ", ".join(s.value for s in RoundStatus))
        query, args["status"] = query.where(Round.status == RoundStatus(status)), status
    if kind:
        if kind not in QuestionnaireKind.__members__.values():
            abort(400, "kind must be one of: " + ", ".join(k.value for k in QuestionnaireKind))
        query, args["kind"] = query.where(Round.kind == QuestionnaireKind(kind)), kind
    # Each round's questionnaire and theme come with it: the page's queries do not grow with its rows.
    page = paginate(
        query.options(joinedload(Round.version).joinedload(QuestionnaireVersion.questionnaire), joinedload(Round.theme))
    )
    return render_template(
        "rounds/round_list.html",
        page=page,
        can_manage=can_manage_rounds(p),
        filter_args=args,
        filter_text=" and ".join(
            ([RoundStatus(status).label.lower()] if status else [])
            + ([QuestionnaireKind(kind).label.lower()] if kind else [])
        ),
    )


#: the kinds of round planned on this page (agency summaries are started from a review)
PLANNED_KINDS = (QuestionnaireKind.CASE_AUDIT, QuestionnaireKind.SELF_ASSESSMENT)


def _version_choices(partnership_id: int, kind: QuestionnaireKind | None = None) -> list[tuple[Any, str]]:
    versions = db.session.scalars(
        sa.select(QuestionnaireVersion)
        .join(QuestionnaireVersion.questionnaire)
        .where(
            Questionnaire.partnership_id == partnership_id,
            QuestionnaireVersion.status == VersionStatus.PUBLISHED,
            Questionnaire.kind.in_((kind,) if kind is not None else PLANNED_KINDS),
        )
        .order_by(Questionnaire.title, QuestionnaireVersion.number)
    ).all()
    return [("", "Choose a published questionnaire")] + [
        (v.id, f"{v.questionnaire.title} (version {v.number})") for v in versions
    ]


@bp.route("/rounds/new", methods=["GET", "POST"])
@login_required
def round_create():
    """Plan a round: title, questionnaire version, dates; for a case audit, the round it re-audits and whether
    answers are shared in the discussion. ``?kind=`` (case_audit, self_assessment) shows only what applies to
    that kind, without scripts: its questionnaires, and none of a case audit's fields for a self-assessment."""
    p = current_principal()
    allowed_or_403(can_manage_rounds(p))
    raw_kind = request.args.get("kind", "")
    kind = QuestionnaireKind(raw_kind) if raw_kind in PLANNED_KINDS else None
    form = RoundForm()
    form.version_id.choices = _version_choices(p.partnership_id, kind)
    if kind is not None and kind != QuestionnaireKind.CASE_AUDIT:
        # not shown, so not read: a posted value for them is ignored
        del form.previous_round_id
        del form.shares_answers_in_discussion
    earlier = db.session.scalars(rounds_query(p)).all()
    if "previous_round_id" in form:
        form.previous_round_id.choices = [("", "Not a re-audit")] + [(r.id, r.title) for r in earlier]
    if form.validate_on_submit():
        version = db.session.get(QuestionnaireVersion, form.version_id.data) if form.version_id.data else None
        previous_id = form.previous_round_id.data if "previous_round_id" in form else None
        previous = next((r for r in earlier if r.id == previous_id), None)
        shares = bool(form.shares_answers_in_discussion.data) if "shares_answers_in_discussion" in form else False
        round_ = run_service(
            lambda: services.plan_round(
                p.partnership_id,
                title=form.title.data,
                version=version,
                opens_on=form.opens_on.data,
                due_on=form.due_on.data,
                shares_answers_in_discussion=shares,
                previous_round=previous,
                remind_days_before=_days(form.remind_days_before.data, 3),
                remind_days_after=_days(form.remind_days_after.data, 2),
            ),
            form=form,
        )
        if round_ is not REFUSED:
            db.session.commit()
            flash(
                "Round planned. Choose the agencies or sectors that must return, then open it."
                if kind_rules(round_.kind).chooses_agencies
                else "Round planned. Add its cases and the agencies involved, then open it.",
                "success",
            )
            return redirect(url_for("rounds.round_detail", round_id=round_.id))
    return render_template("rounds/round_create.html", form=form, kind=kind, kinds=PLANNED_KINDS), _status(form)


def _days(value: int | None, default: int) -> int:
    return default if value is None else value


def round_page(round_: Round, *, status: int = 200, **overrides: Any):
    """The round's page; a kind adds its own parts (a case audit's cases and forms), and a refused form
    comes back through ``overrides`` with its errors."""
    p = current_principal()
    returns = db.session.scalars(
        returns_query(p)
        .where(Return.round_id == round_.id)
        .join(Return.agency)
        .options(selectinload(Return.round_case))
        .order_by(Return.round_case_id, Agency.name)
    ).all()
    counts: dict[ReturnStatus, int] = {}
    for ret in returns:
        counts[ret.status] = counts.get(ret.status, 0) + 1
    late = [
        r
        for r in returns
        if round_.due_on and clock.today() > round_.due_on and r.status.group == ReturnGroup.OUTSTANDING
    ]
    owing = {r.agency_id: r.agency for r in returns if r.status.group == ReturnGroup.OUTSTANDING}
    rules = kind_rules(round_.kind)
    context = rules.page_context(round_) if rules.page_context else {}
    if rules.chooses_agencies:
        context["rates"], context["overall_rate"] = services.return_rates(round_, p.partnership_id)
        context["asked_agencies"] = services.round_agencies_seen_by(round_, p.partnership_id)
        if can_choose_round_agencies(p, round_) and round_.status in (RoundStatus.PLANNING, RoundStatus.OPEN):
            context.update(_agency_choices(round_, p.partnership_id))
    context.update(overrides)
    return render_template(
        "rounds/round_detail.html",
        round=round_,
        returns=returns,
        counts=counts,
        late=late,
        can_manage=can_manage_round(p, round_),
        moves=sorted(round_.moves, key=lambda s: list(RoundStatus).index(s)),
        move_label=services.move_label,
        warnings=services.round_warnings(round_) if can_manage_round(p, round_) else [],
        emails=latest_emails(
            round_, services.linked_agency_ids(p.partnership_id) if len(round_.partnerships) > 1 else None
        ),
        can_chase=can_choose_round_agencies(p, round_),
        planned_here=round_.partnership_id == p.partnership_id,
        owing_agencies=sorted(owing.values(), key=lambda a: a.name),
        today=clock.today(),
        ReturnStatus=ReturnStatus,
        carries_forward=rules.carries_forward,
        can_start_next=can_manage_round(p, round_) and carry.can_start_next(round_),
        **context,
    ), status


@bp.get("/rounds/<int:round_id>")
@login_required
def round_detail(round_id: int):
    """A round: its cases, the agencies involved and every return's status."""
    p = current_principal()
    allowed_or_403(can_view_rounds(p))
    round_ = get_round_or_404(p, round_id)
    return round_page(round_)


def _agency_choices(round_: Round, partnership_id: int) -> dict[str, Any]:
    """The agencies and sectors a manager may choose for a round that chooses its agencies: their own
    partnership's (in a shared round, each partnership chooses among its own)."""
    agencies = db.session.scalars(
        sa.select(Agency).where(Agency.id.in_(services.active_agency_ids(partnership_id))).order_by(Agency.name)
    ).all()
    sectors = db.session.scalars(
        sa.select(Sector).where(Sector.partnership_id == partnership_id).order_by(Sector.name)
    ).all()
    return {
        "agency_choices": agencies,
        "sector_choices": sectors,
        "chosen_ids": {a.id for a in round_.agencies},
        "agencies_form": ConfirmForm(),
    }


@bp.post("/rounds/<int:round_id>/agencies")
@login_required
def round_agencies(round_id: int):
    """Choose the agencies (ticked one by one, or whole sectors) that must return to a self-assessment round
    (in a shared round, among the partnership's own agencies)."""
    p = current_principal()
    allowed_or_403(can_manage_rounds(p))
    round_ = get_round_or_404(p, round_id)
    allowed_or_403(can_choose_round_agencies(p, round_))
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400, first_error(form))
    agency_ids = [whole_number(v) for v in request.form.getlist("agency_ids")]
    sector_ids = [whole_number(v) for v in request.form.getlist("sector_ids")]
    if None in agency_ids or None in sector_ids:
        abort(400, "Agencies and sectors are chosen by their ids")
    try:
        services.set_round_agencies(
            round_, agency_ids=agency_ids, sector_ids=sector_ids, partnership_id=p.partnership_id
        )
    except DomainError as error:
        db.session.rollback()
        round_ = get_round_or_404(p, round_id)
        target = "#agency-choice" if error.field != "sector_ids" else "#sector-choice"
        summary = {"titleText": "There is a problem", "errorList": [{"text": error.message, "href": target}]}
        return round_page(round_, status=error.status_code, error_summary=summary)
    db.session.commit()
    asked = len(services.round_agencies_seen_by(round_, p.partnership_id))
    flash(f"{asked} {'agency' if asked == 1 else 'agencies'} asked to return", "success")
    return redirect(url_for("rounds.round_detail", round_id=round_.id, _anchor="agencies"))


@bp.route("/rounds/<int:round_id>/sharing", methods=["GET", "POST"])
@login_required
def round_sharing(round_id: int):
    """The partnerships a round counts for; its planning partnership's administrators share it with another
    partnership they also administer (its agencies may then be asked to return, and its QA group sees them)."""
    p = current_principal()
    allowed_or_403(can_view_rounds(p))
    round_ = get_round_or_404(p, round_id)
    may_share = can_share_round(p, round_)
    form = ShareRoundForm()
    choices = services.shareable_partnerships(round_, p.admin_partnership_ids) if may_share else []
    form.partnership_id.choices = [(x.id, x.name) for x in choices]
    if request.method == "POST":
        allowed_or_403(may_share)
        if form.validate_on_submit():
            partnership = next(x for x in choices if x.id == form.partnership_id.data)
            if run_service(lambda: services.share_round(round_, partnership), form=form) is not REFUSED:
                db.session.commit()
                flash(f"The round now counts for {partnership.name} too", "success")
                return redirect(url_for("rounds.round_sharing", round_id=round_.id), code=303)
    return render_template(
        "rounds/round_sharing.html",
        round=round_,
        form=form,
        may_share=may_share,
        choices=choices,
        remove_form=ConfirmForm(),
    ), _status(form)


@bp.post("/rounds/<int:round_id>/sharing/<int:partnership_id>/remove")
@login_required
def round_unshare(round_id: int, partnership_id: int):
    """Stop a round counting for a partnership it was shared with (only while the round is being planned)."""
    p = current_principal()
    allowed_or_403(can_view_rounds(p))
    round_ = get_round_or_404(p, round_id)
    allowed_or_403(can_share_round(p, round_))
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400, first_error(form))
    partnership = next((x for x in round_.partnerships if x.id == partnership_id), None)
    if partnership is None:
        abort(404)
    back = url_for("rounds.round_sharing", round_id=round_.id)
    run_service(lambda: services.unshare_round(round_, partnership), back=back)
    db.session.commit()
    flash(f"The round no longer counts for {partnership.name}", "success")
    return redirect(back, code=303)


@bp.post("/rounds/<int:round_id>/status")
@login_required
def round_move(round_id: int):
    """Open, close, reopen, start the discussion or mark the round reported."""
    p = current_principal()
    round_ = get_managed_round_or_404(p, round_id)
    form = MoveForm()
    if not form.validate_on_submit():
        abort(400, first_error(form))
    to = RoundStatus(form.to.data)
    run_service(lambda: services.move_round(round_, to), back=url_for("rounds.round_detail", round_id=round_.id))
    emailing = queue_round_emails(round_, EmailKind.OPENED) if to == RoundStatus.OPEN else 0
    db.session.commit()  # the emails go once this commits; the round page reports them
    flash(f"The round is now {to.label.lower()}", "success")
    if emailing:
        flash(f"Emailing {emailing} agencies about their returns; this page says who could not be emailed", "info")
    return redirect(url_for("rounds.round_detail", round_id=round_.id))


@bp.get("/rounds/<int:round_id>/status/<to>")
@login_required
def round_move_confirm(round_id: int, to: str):
    """Before a move: what it does and what it leaves undone, and a button to go ahead."""
    p = current_principal()
    round_ = get_managed_round_or_404(p, round_id)
    try:
        target = RoundStatus(to)
    except ValueError:
        abort(404)
    if target not in round_.moves:
        flash(f"A round that is {round_.status.label.lower()} cannot become {target.label.lower()}", "error")
        return redirect(url_for("rounds.round_detail", round_id=round_.id), code=303)
    form = MoveForm(to=target.value)
    return render_template(
        "rounds/round_move_confirm.html",
        round=round_,
        to=target,
        label=services.move_label(round_, target),
        consequences=services.move_consequences(round_, target),
        form=form,
    )


@bp.route("/rounds/<int:round_id>/edit", methods=["GET", "POST"])
@login_required
def round_edit(round_id: int):
    """Change the title, dates and reminder days of a round that is not yet reported."""
    p = current_principal()
    round_ = get_managed_round_or_404(p, round_id)
    if round_.status == RoundStatus.REPORTED:
        flash("A reported round cannot be changed", "error")
        return redirect(url_for("rounds.round_detail", round_id=round_.id), code=303)
    form = RoundEditForm(obj=round_)
    if form.validate_on_submit():
        done = run_service(
            lambda: services.update_round(
                round_,
                title=form.title.data,
                opens_on=form.opens_on.data,
                due_on=form.due_on.data,
                remind_days_before=_days(form.remind_days_before.data, 0),
                remind_days_after=_days(form.remind_days_after.data, 0),
            ),
            form=form,
        )
        if done is not REFUSED:
            db.session.commit()
            flash("Round changed", "success")
            return redirect(url_for("rounds.round_detail", round_id=round_id))
    return render_template("rounds/round_edit.html", round=round_, form=form), _status(form)


@bp.route("/rounds/<int:round_id>/next", methods=["GET", "POST"])
@login_required
def round_next(round_id: int):
    """Start next year's round from a closed or reported self-assessment: the same questionnaire (its newest
    published version) and agencies; each agency's answers are carried forward for review when it opens."""
    p = current_principal()
    previous = get_managed_round_or_404(p, round_id)
    if not carry.can_start_next(previous):
        flash("The next round can be started only from a closed or reported self-assessment round", "error")
        return redirect(url_for("rounds.round_detail", round_id=previous.id), code=303)
    form = RoundEditForm(
        data={
            "title": f"{previous.title} (next round)"[:200],
            "remind_days_before": previous.remind_days_before,
            "remind_days_after": previous.remind_days_after,
        }
        if request.method == "GET"
        else None
    )
    form.submit.label.text = "Plan the next round"
    if form.validate_on_submit():
        round_ = run_service(
            lambda: carry.plan_next_round(
                previous,
                title=form.title.data,
                opens_on=form.opens_on.data,
                due_on=form.due_on.data,
                remind_days_before=_days(form.remind_days_before.data, 0),
                remind_days_after=_days(form.remind_days_after.data, 0),
            ),
            form=form,
        )
        if round_ is not REFUSED:
            db.session.commit()
            flash(
                "Next round planned from the previous one. When you open it, each agency's return starts from "
                "its last answers, marked for review.",
                "success",
            )
            return redirect(url_for("rounds.round_detail", round_id=round_.id))
    return render_template(
        "rounds/round_next.html", round=previous, form=form, version=carry.newest_version(previous)
    ), _status(form)


@bp.route("/rounds/<int:round_id>/delete", methods=["GET", "POST"])
@login_required
def round_delete(round_id: int):
    """Delete a round still in planning, after confirmation."""
    p = current_principal()
    round_ = get_managed_round_or_404(p, round_id)
    if round_.status != RoundStatus.PLANNING:
        flash(f"Only a round still in planning can be deleted; this one is {round_.status.label.lower()}", "error")
        return redirect(url_for("rounds.round_detail", round_id=round_.id), code=303)
    form = ConfirmForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        title = round_.title
        run_service(lambda: services.delete_round(round_), back=url_for("rounds.round_detail", round_id=round_id))
        db.session.commit()
        flash(f"Round '{title}' deleted", "success")
        return redirect(url_for("rounds.round_list"))
    return render_template("rounds/round_delete.html", round=round_, form=form)


@bp.post("/rounds/<int:round_id>/chase")
@login_required
def round_chase(round_id: int):
    """Email a reminder to agencies with outstanding returns (one agency, or all of the partnership's own)."""
    p = current_principal()
    allowed_or_403(can_manage_rounds(p))
    round_ = get_round_or_404(p, round_id)
    allowed_or_403(can_choose_round_agencies(p, round_))
    form = ChaseForm()
    if not form.validate_on_submit():
        abort(400, first_error(form))
    if round_.status != RoundStatus.OPEN:
        flash("Reminders go only while the round is open", "error")
        return redirect(url_for("rounds.round_detail", round_id=round_.id), code=303)
    agency_id = form.agency_id.data
    theirs = services.chaseable_agency_ids(round_, p.partnership_id)
    if agency_id is not None and agency_id not in theirs:
        flash("Choose an agency with returns in this round", "error")
        return redirect(url_for("rounds.round_detail", round_id=round_.id), code=303)
    emailing = queue_round_emails(round_, EmailKind.CHASE, {agency_id} if agency_id is not None else theirs)
    db.session.commit()  # the emails go once this commits
    if emailing:
        flash(f"Reminding {emailing} agencies; this page says who could not be emailed", "info")
    else:
        flash("No agency has returns outstanding", "info")
    return redirect(url_for("rounds.round_detail", round_id=round_.id))


# -- returns --


@bp.get("/returns")
@login_required
def return_list():
    """'My returns': the user's agencies' returns (every return for the QA group), filtered by status (Late
    among them), round, agency, case and assignment, what needs action first, a page at a time."""
    p = current_principal()
    allowed_or_403(bool(p.roles))
    filters, problems = queues.parse_return_filters(request.args)
    round_choices, agency_choices = queues.filter_choices(p)
    if problems:
        return render_template(
            "rounds/return_list.html",
            page=None,
            filters=filters,
            problems=problems,
            round_choices=round_choices,
            agency_choices=agency_choices,
            status_choices=queues.STATUS_FILTER_LABELS,
        ), 400
    query = queues.filtered_returns(p, filters).options(
        contains_eager(Return.round),
        selectinload(Return.round_case),  # its case is joined with it
        selectinload(Return.assigned_to),
    )
    page = paginate(query)
    return render_template(
        "rounds/return_list.html",
        page=page,
        to_review=carry.carried_counts([ret.id for ret in page.items]),
        filters=filters,
        problems={},
        round_choices=round_choices,
        agency_choices=agency_choices,
        status_choices=queues.STATUS_FILTER_LABELS,
        today=clock.today(),
        OUTSTANDING=queues.OUTSTANDING,
    )


def _section_states(ret: Return) -> list[tuple[Any, str, int, int, int]]:
    """(section, state, answered, asked, carried forward still to review) for the task list. A section is Completed only when every question it
    asks this agency is answered (a not-applicable level is an answer), by ``answers.unanswered``; a question
    hidden by its condition is not asked."""
    stored = services.stored_answers(ret)
    sector_key = services.return_sector_key(ret)
    carried: dict[int, int] = {}
    for answer in carry.carried_answers(ret):
        carried[answer.question.section_id] = carried.get(answer.question.section_id, 0) + 1
    states = []
    for section in ret.round.version.sections:
        questions = services.applicable_questions(ret, section, sector_key=sector_key)
        if not questions:
            continue
        asked = answers.asked(questions, stored)
        answered = len(answers.answered(questions, stored))
        if answered == 0:
            state = "Not started"
        elif answers.unanswered(questions, stored):
            state = "In progress"
        else:
            state = "Completed"
        states.append((section, state, answered, len(asked), carried.get(section.id, 0)))
    return states


@bp.get("/returns/<int:return_id>")
@login_required
def return_detail(return_id: int):
    """A return as a task list of its sections, with what can be done next."""
    return _return_page(get_return_or_404(current_principal(), return_id))


def _whole_return(ret: Return) -> list[tuple[Any, list[tuple[Any, str]]]]:
    """Every section the agency is asked, each with its questions asked and their answers as shown."""
    stored = services.stored_answers(ret)
    sector_key = services.return_sector_key(ret)
    whole = []
    for section in ret.round.version.sections:
        asked = answers.asked(services.applicable_questions(ret, section, sector_key=sector_key), stored)
        if asked:
            whole.append((section, [(q, answers.display(q, stored.get(q.key))) for q in asked]))
    return whole


@bp.get("/returns/<int:return_id>/answers")
@login_required
def return_answers(return_id: int):
    """The whole return on one page ('check your answers'): every section's answers and the history, to sign
    off or review, and to print."""
    ret = get_return_or_404(current_principal(), return_id)
    return _return_page(ret, template="rounds/return_answers.html", whole=_whole_return(ret))


@bp.post("/returns/<int:return_id>/assign")
@login_required
def return_assign(return_id: int):
    """Name the auditor of the agency who completes the return (or nobody)."""
    p = current_principal()
    ret = get_return_or_404(p, return_id)
    allowed_or_403(can_assign_return(p, ret))
    if not ConfirmForm().validate_on_submit():
        abort(400)
    raw = (request.form.get("assigned_to_id") or "").strip()
    user_id = None
    if raw:
        user_id = whole_number(raw, low=1)
        if user_id is None:
            return _return_page(ret, assign_error="Choose an auditor from the list", status=400)
    try:
        services.assign_return(ret, user_id, by=current_user)
    except DomainError as error:
        db.session.rollback()
        if error.field != "assigned_to_id":
            flash(error.message, "error")
            return redirect(url_for("rounds.return_detail", return_id=ret.id), code=303)
        return _return_page(ret, assign_error=error.message, status=400)
    db.session.commit()
    flash(f"Assigned to {ret.assigned_to.name}" if ret.assigned_to else "Nobody is assigned now", "success")
    return redirect(url_for("rounds.return_detail", return_id=ret.id))


def _return_page(
    ret: Return,
    *,
    note_form: NoteForm | None = None,
    alternative_form: NoteForm | None = None,
    upload_problems: list[str] | None = None,
    assign_error: str | None = None,
    status: int = 200,
    template: str = "rounds/return_detail.html",
    **extra: Any,
):
    record_access(AccessKind.RETURN, ret.id)
    """The return's page (its task list, or the whole return on one page) and what this person may do next,
    with a refused form's errors. Buttons that cannot be used are not shown."""
    p = current_principal()
    missing = services.missing_answers(ret) if ret.status.is_editable else []
    can_edit = can_edit_return(p, ret) and ret.round.status == RoundStatus.OPEN
    can_sign_off = can_sign_off_return(p, ret) and ret.round.status == RoundStatus.OPEN
    auditors_can_submit = _auditors_can_submit(ret)
    # An auditor's return already waiting for the lead has nothing left to submit.
    waiting_for_lead = ret.status == ReturnStatus.READY_FOR_SIGN_OFF and not can_sign_off and not auditors_can_submit
    can_assign = can_assign_return(p, ret) and ret.status.is_editable
    return render_template(
        template,
        ret=ret,
        sections=_section_states(ret),
        missing=missing,
        can_edit=can_edit,
        can_submit=can_edit and not missing and not waiting_for_lead,
        waiting_for_lead=waiting_for_lead,
        can_sign_off=can_sign_off,
        can_accept=can_review_returns(p)
        and ret.status == ReturnStatus.SUBMITTED
        and ret.round.status in (RoundStatus.OPEN, RoundStatus.CLOSED),
        can_request_changes=can_review_returns(p)
        and ret.status == ReturnStatus.SUBMITTED
        and ret.round.status == RoundStatus.OPEN,
        can_record_alternative=can_mark_declined(p, ret)
        and ret.status.is_editable
        and ret.round.status in (RoundStatus.OPEN, RoundStatus.CLOSED),
        can_decline=can_mark_declined(p, ret) and ret.status.is_editable and ret.round.status == RoundStatus.OPEN,
        can_assign=can_assign,
        auditors=services.assignable_auditors(ret) if can_assign else [],
        assign_error=assign_error,
        auditors_can_submit=auditors_can_submit,
        note_form=note_form or NoteForm(formdata=None),
        alternative_form=alternative_form or NoteForm(formdata=None, prefix="alternative"),
        form=note_form or alternative_form,
        confirm=ConfirmForm(),
        upload_problems=upload_problems or [],
        today=clock.today(),
        carried=len(carry.carried_answers(ret)),
        carry_phrase=carry.carried_phrase(len(carry.carried_answers(ret))),
        **extra,
    ), status


def _auditors_can_submit(ret: Return) -> bool:
    from ..accounts.models import Partnership

    return db.session.get(Partnership, ret.round.partnership_id).auditors_can_submit


@bp.route("/returns/<int:return_id>/sections/<section_key>", methods=["GET", "POST"])
@login_required
def return_section(return_id: int, section_key: str):
    """Answer one section; saving keeps a draft that can be finished later."""
    p = current_principal()
    ret = get_return_or_404(p, return_id)
    section = next((s for s in ret.round.version.sections if s.key == section_key), None)
    if section is None:
        abort(404)
    questions = services.applicable_questions(ret, section)
    if not questions:
        abort(404)
    record_access(AccessKind.RETURN, ret.id)
    editable = can_edit_return(p, ret) and ret.round.status == RoundStatus.OPEN
    stored = services.stored_answers(ret)
    values = {q.key: answers.answer_type(q).for_form(stored.get(q.key)) for q in questions}
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        allowed_or_403(works_for_return(p, ret))  # a return that moved on is the service's 409, told below
        if not ConfirmForm().validate_on_submit():
            abort(400)
        lock = whole_number(request.form.get("lock_version"), low=0)
        if lock is None:
            abort(400, "lock_version is missing")
        posted = {q.key: answers.answer_type(q).from_form(request.form, f"q-{q.key}") for q in questions}
        try:
            services.save_answers(ret, posted, by=current_user, expected_version=lock, section=section)
        except DomainError as error:
            db.session.rollback()
            if error.field == "lock_version":
                flash(error.message, "error")
                return redirect(url_for("rounds.return_section", return_id=ret.id, section_key=section.key), code=303)
            if error.status_code == 409:  # the return or its round moved on (submitted, closed...) meanwhile
                flash(error.message, "error")
                return redirect(url_for("rounds.return_detail", return_id=ret.id), code=303)
            problems = getattr(error, "fields", None) or {error.field or questions[0].key: [error.message]}
            errors = {key: messages[0] for key, messages in problems.items()}
            values.update(posted)
            status = 400
        else:
            db.session.commit()
            flash(f"'{section.title}' saved", "success")
            following = _next_section(ret, section)
            if request.form.get("then") == "continue":
                if following is not None:
                    return redirect(url_for("rounds.return_section", return_id=ret.id, section_key=following.key))
                return redirect(url_for("rounds.return_answers", return_id=ret.id))
            return redirect(url_for("rounds.return_detail", return_id=ret.id))
    error_list = [
        {"text": errors[q.key], "href": "#" + answers.answer_type(q).error_anchor(f"q-{q.key}")}
        for q in questions
        if q.key in errors
    ]
    shown = {q.key: answers.display(q, stored.get(q.key)) for q in questions}
    carried = {a.question.key for a in carry.carried_answers(ret, section)}
    return render_template(
        "rounds/return_section.html",
        carried=carried,
        ret=ret,
        section=section,
        questions=questions,
        values=values,
        shown=shown,
        errors=errors,
        error_list=error_list,
        editable=editable,
        following=_next_section(ret, section),
    ), status


@bp.post("/returns/<int:return_id>/sections/<section_key>/confirm")
@login_required
def return_confirm_carried(return_id: int, section_key: str):
    """Confirm a section's answers carried forward from the previous round unchanged."""
    p = current_principal()
    ret = get_return_or_404(p, return_id)
    section = next((s for s in ret.round.version.sections if s.key == section_key), None)
    if section is None:
        abort(404)
    allowed_or_403(works_for_return(p, ret))
    if not ConfirmForm().validate_on_submit():
        abort(400)
    lock = whole_number(request.form.get("lock_version"), low=0)
    if lock is None:
        abort(400, "lock_version is missing")
    back = url_for("rounds.return_section", return_id=ret.id, section_key=section.key)
    confirmed = run_service(
        lambda: carry.confirm_carried(ret, by=current_user, expected_version=lock, section=section), back=back
    )
    db.session.commit()
    flash(
        f"{confirmed} {'answer' if confirmed == 1 else 'answers'} in '{section.title}' confirmed unchanged", "success"
    )
    return redirect(url_for("rounds.return_detail", return_id=ret.id))


def _next_section(ret: Return, section: Any) -> Any:
    """The next section after ``section`` that asks this agency anything (None after the last)."""
    sections = ret.round.version.sections
    sector_key = services.return_sector_key(ret)
    later = sections[sections.index(section) + 1 :]
    return next((s for s in later if services.applicable_questions(ret, s, sector_key=sector_key)), None)


@bp.post("/returns/<int:return_id>/submit")
@login_required
def return_submit(return_id: int):
    """Submit (agency lead, or auditor where allowed) or mark ready for sign-off."""
    p = current_principal()
    ret = get_return_or_404(p, return_id)
    allowed_or_403(works_for_return(p, ret))
    if not ConfirmForm().validate_on_submit():
        abort(400)
    back = url_for("rounds.return_detail", return_id=ret.id)
    confirmed = request.args.get("confirm_carried") == "1"
    carried = len(carry.carried_answers(ret)) if ret.status.is_editable else 0
    if carried and not confirmed:
        # answers carried forward from the previous round and never reviewed: ask first
        return render_template(
            "core/confirm.html",
            title="Submit answers you have not reviewed?",
            caption=f"{ret.round.title}: {ret.agency.name}",
            lines=[
                f"{carry.carried_phrase(carried)}: they still say what your agency answered last time.",
                "Review them (open each section marked 'to review') or confirm them unchanged, unless you are sure "
                "they still hold.",
            ],
            action=url_for("rounds.return_submit", return_id=ret.id, confirm_carried=1),
            button="Yes, submit them as they are",
            cancel=back,
        )
    outcome = run_service(
        lambda: services.submit_return(
            ret, by=current_user, as_lead=leads_return_agency(p, ret), confirm_carried=confirmed
        ),
        back=back,
    )
    db.session.commit()
    flash(
        "Return submitted"
        if outcome == ReturnStatus.SUBMITTED
        else "Return marked ready for your agency lead to sign off",
        "success",
    )
    return redirect(url_for("rounds.return_detail", return_id=ret.id))


def _note_action(return_id: int, allowed: Any, action: Any, success: str, prefix: str = ""):
    """A button with a note (decline, request changes; ``prefix`` "alternative" for the other-template form,
    which shares the page with the decline form)."""
    p = current_principal()
    ret = get_return_or_404(p, return_id)
    allowed_or_403(allowed(p, ret))
    form = NoteForm(prefix=prefix)
    if form.validate_on_submit():
        try:
            action(ret, form.note.data)
        except DomainError as error:
            db.session.rollback()
            if error.field in ("note", "reason"):
                add_form_error(form, error.message, "note")
            else:
                flash(error.message, "error")
                return redirect(url_for("rounds.return_detail", return_id=ret.id), code=303)
        else:
            db.session.commit()
            flash(success, "success")
            return redirect(url_for("rounds.return_detail", return_id=ret.id))
    if prefix:
        return _return_page(ret, alternative_form=form, status=400)
    return _return_page(ret, note_form=form, status=400)


@bp.post("/returns/<int:return_id>/decline")
@login_required
def return_decline(return_id: int):
    """The agency declines the return, with a reason (its lead, or the QA group on its behalf)."""
    return _note_action(
        return_id,
        can_mark_declined,
        lambda ret, note: services.decline_return(ret, by=current_user, reason=note),
        "Return declined",
    )


@bp.post("/returns/<int:return_id>/alternative")
@login_required
def return_alternative(return_id: int):
    """A lead of the agency or the QA group records that the return was sent on another template, with a note."""
    return _note_action(
        return_id,
        can_mark_declined,
        lambda ret, note: services.record_alternative_template(ret, by=current_user, note=note),
        "Return recorded as submitted on another template",
        prefix="alternative",
    )


@bp.post("/returns/<int:return_id>/request-changes")
@login_required
def return_request_changes(return_id: int):
    """The QA group sends the return back with a note."""
    return _note_action(
        return_id,
        lambda p, ret: can_review_returns(p),
        lambda ret, note: services.request_changes(ret, by=current_user, note=note),
        "Changes requested: the return is back with the agency",
    )


@bp.route("/returns/<int:return_id>/accept", methods=["GET", "POST"])
@login_required
def return_accept(return_id: int):
    """The QA group accepts the return, after a confirmation saying what accepting ends."""
    p = current_principal()
    ret = get_return_or_404(p, return_id)
    allowed_or_403(can_review_returns(p))
    back = url_for("rounds.return_detail", return_id=ret.id)
    if request.method == "GET":
        if ret.status != ReturnStatus.SUBMITTED:
            flash("Only a submitted return can be accepted", "error")
            return redirect(back, code=303)
        case = f"case {ret.round_case.case.reference}, " if ret.round_case else ""
        return render_template(
            "core/confirm.html",
            title="Accept this return?",
            caption=f"{ret.round.title}: {case}{ret.agency.name}",
            lines=[
                "The agency can no longer change it, and the QA group can no longer send it back for changes.",
                "Its answers count in the round's findings as they stand.",
            ],
            action=url_for("rounds.return_accept", return_id=ret.id),
            button="Yes, accept the return",
            cancel=back,
        )
    if not ConfirmForm().validate_on_submit():
        abort(400)
    run_service(
        lambda: services.accept_return(ret, by=current_user), back=url_for("rounds.return_detail", return_id=ret.id)
    )
    db.session.commit()
    flash("Return accepted", "success")
    return redirect(url_for("rounds.return_detail", return_id=ret.id))


# -- working offline in Excel --


@bp.get("/returns/<int:return_id>/workbook.xlsx")
@login_required
def return_workbook(return_id: int):
    """Download the return as an Excel workbook to fill in offline."""
    from flask import Response

    from .workbook import build_workbook

    p = current_principal()
    ret = get_return_or_404(p, return_id)
    record_access(AccessKind.RETURN, ret.id, via=AccessVia.EXPORT)
    reference = ret.round_case.case.reference if ret.round_case else "agency"
    filename = f"return-{ret.id}-{reference}.xlsx".replace(" ", "_").replace("/", "-")
    return Response(
        build_workbook(ret),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.post("/returns/<int:return_id>/workbook")
@login_required
def return_upload_workbook(return_id: int):
    """Upload a filled-in workbook: every cell is checked, and nothing is saved unless all are right."""
    from .workbook import MAX_BYTES, WorkbookError, read_workbook

    p = current_principal()
    ret = get_return_or_404(p, return_id)
    allowed_or_403(works_for_return(p, ret))
    if not ConfirmForm().validate_on_submit():
        abort(400)
    upload = request.files.get("file")
    problems: list[str] = []
    status = 400
    if upload is None or not upload.filename:
        problems = ["Choose the workbook (.xlsx) to upload"]
    elif not upload.filename.lower().endswith(".xlsx"):
        problems = ["Upload the .xlsx workbook downloaded from this return"]
    else:
        try:
            given_answers, lock = read_workbook(ret, upload.read(MAX_BYTES + 1))
            services.save_answers(ret, given_answers, by=current_user, expected_version=lock)
        except WorkbookError as error:
            db.session.rollback()
            problems = [str(problem) for problem in error.problems]
        except DomainError as error:
            db.session.rollback()
            if error.field == "lock_version":
                problems = [
                    "Someone saved this return after the workbook was downloaded. Download it again, copy your answers in, and upload it."
                ]
            elif error.status_code == 409:  # the return or its round moved on meanwhile
                problems, status = [error.message], 409
            else:
                fields = getattr(error, "fields", None) or {error.field or "": [error.message]}
                texts = {q.key: q.text for q in ret.round.version.questions}  # people read questions, not keys
                problems = [
                    f"{texts[key]}: {message}" if key in texts else message
                    for key, messages in fields.items()
                    for message in messages
                ]
        else:
            db.session.commit()
            given = sum(1 for value in given_answers.values() if value not in ("", []))
            flash(f"{given} answers saved from {upload.filename}", "success")
            return redirect(url_for("rounds.return_detail", return_id=ret.id))
    return _return_page(ret, upload_problems=problems, status=status)


# -- the audit log, filtered to one round: the round, its returns and their answers (case audits add their own) --


def _round_choices(partnership_id: int) -> list[tuple[int, str]]:
    rows = db.session.execute(
        sa.select(Round.id, Round.title).where(Round.partnership_id == partnership_id).order_by(Round.title, Round.id)
    )
    return [(round_id, title) for round_id, title in rows]


def _round_events(round_id: int) -> Any:
    from ..core.audit import AuditEvent
    from .models import Answer

    returns = sa.select(Return.id).where(Return.round_id == round_id)
    return sa.or_(
        sa.and_(AuditEvent.entity_type == "Round", AuditEvent.entity_id == round_id),
        sa.and_(AuditEvent.entity_type == "Return", AuditEvent.entity_id.in_(returns)),
        sa.and_(
            AuditEvent.entity_type == "Answer",
            AuditEvent.entity_id.in_(sa.select(Answer.id).where(Answer.return_id.in_(returns))),
        ),
    )


register_audit_filter("round", label="Round", blank="Any round", choices=_round_choices)
add_audit_filter_part("round", _round_events)
