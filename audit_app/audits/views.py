"""Rounds (plan, cohort, open, close), agency returns (complete, submit, decline) and QA review."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from ..accounts.models import Agency, PartnershipAgency
from ..accounts.permissions import agency_links_query
from ..core.errors import DomainError
from ..core.forms import ConfirmForm, add_form_error
from ..core.permissions import current_principal
from ..extensions import db
from ..questionnaires.models import Questionnaire, QuestionnaireKind, QuestionnaireVersion, QuestionType, VersionStatus
from . import services
from .cohort import CohortError, parse_cohort
from .forms import CaseForm, CohortForm, NoteForm, RoundForm
from .models import Case, CaseJudgement, Return, ReturnStatus, Round, RoundCase, RoundStatus
from .notifications import chase, notify_round_opened
from .permissions import (
    can_edit_return,
    can_manage_rounds,
    can_review_returns,
    can_sign_off_return,
    can_view_discussion,
    can_view_rounds,
    get_partnership_round_case_or_404,
    get_return_or_404,
    get_round_case_or_404,
    get_round_or_404,
    returns_query,
    rounds_query,
)

bp = Blueprint("audits", __name__)

MAX_COHORT_BYTES = 2 * 1024 * 1024


def _require(allowed: bool) -> None:
    if not allowed:
        abort(403)


def _status(form: Any) -> int:
    return 400 if form.errors else 200


# -- rounds --


@bp.get("/rounds")
@login_required
def round_list():
    """Every round of the partnership, newest first."""
    p = current_principal()
    _require(can_view_rounds(p))
    rounds = db.session.scalars(rounds_query(p)).all()
    return render_template("audits/round_list.html", rounds=rounds, can_manage=can_manage_rounds(p))


def _version_choices(partnership_id: int) -> list[tuple[Any, str]]:
    versions = db.session.scalars(
        sa.select(QuestionnaireVersion)
        .join(QuestionnaireVersion.questionnaire)
        .where(
            Questionnaire.partnership_id == partnership_id,
            QuestionnaireVersion.status == VersionStatus.PUBLISHED,
            Questionnaire.kind == QuestionnaireKind.CASE_AUDIT,  # self-assessment rounds come with their own workflow
        )
        .order_by(Questionnaire.title, QuestionnaireVersion.number)
    ).all()
    return [("", "Choose a published questionnaire")] + [
        (v.id, f"{v.questionnaire.title} (version {v.number})") for v in versions
    ]


@bp.route("/rounds/new", methods=["GET", "POST"])
@login_required
def round_create():
    """Plan a round: title, questionnaire version, dates."""
    p = current_principal()
    _require(can_manage_rounds(p))
    form = RoundForm()
    form.version_id.choices = _version_choices(p.partnership_id)
    earlier = db.session.scalars(rounds_query(p)).all()
    form.previous_round_id.choices = [("", "Not a re-audit")] + [(r.id, r.title) for r in earlier]
    if form.validate_on_submit():
        version = db.session.get(QuestionnaireVersion, form.version_id.data) if form.version_id.data else None
        previous = next((r for r in earlier if r.id == form.previous_round_id.data), None)
        try:
            round_ = services.plan_round(
                p.partnership_id,
                title=form.title.data,
                version=version,
                opens_on=form.opens_on.data,
                due_on=form.due_on.data,
                shares_answers_in_discussion=bool(form.shares_answers_in_discussion.data),
                previous_round=previous,
                remind_days_before=_days(form.remind_days_before.data, 3),
                remind_days_after=_days(form.remind_days_after.data, 2),
            )
        except DomainError as error:
            db.session.rollback()
            add_form_error(form, error.message, error.field)
        else:
            db.session.commit()
            flash("Round planned. Add its cases and the agencies involved, then open it.", "success")
            return redirect(url_for("audits.round_detail", round_id=round_.id))
    return render_template("audits/round_create.html", form=form), _status(form)


def _days(value: int | None, default: int) -> int:
    return default if value is None else value


def _case_form(p_partnership_id: int, formdata: Any = None) -> CaseForm:
    form = CaseForm() if formdata is None else CaseForm(formdata=formdata)
    links = db.session.scalars(agency_links_query(p_partnership_id, active_only=True)).unique().all()
    form.agency_ids.choices = [(link.agency_id, f"{link.agency.name} ({link.sector.name})") for link in links]
    return form


def _round_page(
    round_: Round,
    *,
    case_form: CaseForm | None = None,
    cohort_form: CohortForm | None = None,
    cohort_problems: list | None = None,
    status: int = 200,
):
    p = current_principal()
    returns = db.session.scalars(
        sa.select(Return)
        .where(Return.round_id == round_.id)
        .join(Return.agency)
        .order_by(Return.round_case_id, Agency.name)
    ).all()
    counts: dict[ReturnStatus, int] = {}
    for ret in returns:
        counts[ret.status] = counts.get(ret.status, 0) + 1
    late = [
        r
        for r in returns
        if round_.due_on
        and date.today() > round_.due_on
        and r.status
        in (
            ReturnStatus.NOT_STARTED,
            ReturnStatus.IN_PROGRESS,
            ReturnStatus.READY_FOR_SIGN_OFF,
            ReturnStatus.CHANGES_REQUESTED,
        )
    ]
    carried = {rc.previous_round_case_id for rc in round_.cases if rc.previous_round_case_id}
    carry_choices = (
        [rc for rc in round_.previous_round.cases if rc.id not in carried]
        if round_.previous_round and round_.status == RoundStatus.PLANNING
        else []
    )
    return render_template(
        "audits/round_detail.html",
        round=round_,
        carry_choices=carry_choices,
        returns=returns,
        counts=counts,
        late=late,
        case_form=case_form or _case_form(round_.partnership_id),
        cohort_form=cohort_form or CohortForm(formdata=None),
        cohort_problems=cohort_problems or [],
        can_manage=can_manage_rounds(p),
        moves=sorted(services.ROUND_MOVES[round_.status], key=lambda s: list(RoundStatus).index(s)),
        ReturnStatus=ReturnStatus,
    ), status


@bp.get("/rounds/<int:round_id>")
@login_required
def round_detail(round_id: int):
    """A round: its cases, the agencies involved and every return's status."""
    p = current_principal()
    _require(can_view_rounds(p))
    round_ = get_round_or_404(p, round_id)
    return _round_page(round_)


@bp.post("/rounds/<int:round_id>/cases")
@login_required
def round_add_case(round_id: int):
    """Add one case and tick the agencies involved."""
    p = current_principal()
    _require(can_manage_rounds(p))
    round_ = get_round_or_404(p, round_id)
    form = _case_form(round_.partnership_id)
    if form.validate_on_submit():
        try:
            services.add_case(
                round_,
                agency_ids=form.agency_ids.data,
                reference=form.reference.data,
                age_band=form.age_band.data,
                sex=form.sex.data,
                ethnicity=form.ethnicity.data or "",
                disability=form.disability.data,
                plan_type=form.plan_type.data,
            )
        except DomainError as error:
            db.session.rollback()
            add_form_error(form, error.message, error.field)
        else:
            db.session.commit()
            flash(f"Case {form.reference.data} added", "success")
            return redirect(url_for("audits.round_detail", round_id=round_.id) + "#cases")
    return _round_page(round_, case_form=form, status=400)


@bp.post("/rounds/<int:round_id>/cohort")
@login_required
def round_upload_cohort(round_id: int):
    """Add a whole cohort from a CSV or Excel file; nothing is added unless every row is right."""
    p = current_principal()
    _require(can_manage_rounds(p))
    round_ = get_round_or_404(p, round_id)
    form = CohortForm()
    problems: list[str] = []
    if form.validate_on_submit():
        upload = form.file.data
        if not upload or not getattr(upload, "filename", ""):
            add_form_error(form, "Choose a CSV or Excel file", "file")
        else:
            data = upload.read(MAX_COHORT_BYTES + 1)
            if len(data) > MAX_COHORT_BYTES:
                add_form_error(form, "The file must be 2 MB or smaller", "file")
            else:
                names = {
                    link.agency.name
                    for link in db.session.scalars(agency_links_query(round_.partnership_id, active_only=True)).unique()
                }
                try:
                    rows = parse_cohort(data, upload.filename, agency_names=names)
                    services.import_cohort(round_, rows)
                except CohortError as error:
                    db.session.rollback()
                    problems = [str(problem) for problem in error.problems]
                    add_form_error(form, f"The cohort was not added: {len(problems)} problem(s) listed below", "file")
                except DomainError as error:
                    db.session.rollback()
                    add_form_error(form, error.message, "file")
                else:
                    db.session.commit()
                    flash(f"{len(rows)} cases added from {upload.filename}", "success")
                    return redirect(url_for("audits.round_detail", round_id=round_.id) + "#cases")
    return _round_page(round_, cohort_form=form, cohort_problems=problems, status=400)


@bp.post("/rounds/<int:round_id>/status")
@login_required
def round_move(round_id: int):
    """Open, close, reopen, start the discussion or mark the round reported."""
    p = current_principal()
    _require(can_manage_rounds(p))
    round_ = get_round_or_404(p, round_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        to = RoundStatus(request.form.get("to", ""))
    except ValueError:
        abort(400, "Unknown round status")
    try:
        services.move_round(round_, to)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("audits.round_detail", round_id=round_.id), code=303)
    db.session.commit()
    flash(f"The round is now {to.label.lower()}", "success")
    if to == RoundStatus.OPEN:
        _report_emails(*notify_round_opened(round_))
    return redirect(url_for("audits.round_detail", round_id=round_.id))


def _report_emails(sent: list[str], failed: list[str]) -> None:
    if sent:
        flash(f"Emailed {len(sent)} agencies: {', '.join(sent)}", "success")
    if failed:
        flash(f"Could not email: {', '.join(failed)}. Contact them another way.", "error")


@bp.post("/rounds/<int:round_id>/chase")
@login_required
def round_chase(round_id: int):
    """Email a reminder to agencies with outstanding returns (one agency, or all)."""
    p = current_principal()
    _require(can_manage_rounds(p))
    round_ = get_round_or_404(p, round_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if round_.status != RoundStatus.OPEN:
        flash("Reminders go only while the round is open", "error")
        return redirect(url_for("audits.round_detail", round_id=round_.id), code=303)
    agency = request.form.get("agency_id", "")
    if agency and not agency.isdigit():
        abort(400, "agency_id must be a number")
    sent, failed = chase(round_, {int(agency)} if agency else None)
    if not sent and not failed:
        flash("No agency has returns outstanding", "info")
    _report_emails(sent, failed)
    return redirect(url_for("audits.round_detail", round_id=round_.id))


# -- returns --


@bp.get("/returns")
@login_required
def return_list():
    """'My returns': every return of the user's agencies (all returns for the QA group)."""
    p = current_principal()
    _require(bool(p.roles))
    returns = db.session.scalars(
        returns_query(p).where(Round.status != RoundStatus.PLANNING).order_by(Round.due_on, Return.id)
    ).all()
    return render_template("audits/return_list.html", returns=returns)


def _sector_key(ret: Return) -> str:
    return db.session.scalar(
        sa.select(PartnershipAgency).where(
            PartnershipAgency.partnership_id == ret.round.partnership_id, PartnershipAgency.agency_id == ret.agency_id
        )
    ).sector.key


def _answers(ret: Return) -> dict[str, Any]:
    import json

    values: dict[str, Any] = {}
    for answer in ret.answers:
        value: Any = answer.value
        if answer.question.type == QuestionType.MULTIPLE_CHOICE and value.startswith("["):
            value = json.loads(value)
        values[answer.question.key] = value
    return values


def _section_states(ret: Return) -> list[tuple[Any, str, int, int]]:
    """(section, state, answered, asked) for the task list."""
    answers = _answers(ret)
    states = []
    for section in ret.round.version.sections:
        asked = services.applicable_questions(ret, section)
        if not asked:
            continue
        answered = sum(1 for q in asked if answers.get(q.key))
        missing_required = [
            q for q in asked if q.is_required and not answers.get(q.key) and not q.condition_question_key
        ]
        if answered == 0:
            state = "Not started"
        elif missing_required:
            state = "In progress"
        else:
            state = "Completed"
        states.append((section, state, answered, len(asked)))
    return states


@bp.get("/returns/<int:return_id>")
@login_required
def return_detail(return_id: int):
    """A return as a task list of its sections, with what can be done next."""
    return _return_page(get_return_or_404(current_principal(), return_id))


def _return_page(
    ret: Return, *, note_form: NoteForm | None = None, upload_problems: list[str] | None = None, status: int = 200
):
    """The return's page: its task list and what this person may do next (with a refused form's errors)."""
    p = current_principal()
    return render_template(
        "audits/return_detail.html",
        ret=ret,
        sections=_section_states(ret),
        missing=services.missing_answers(ret) if ret.status.is_editable else [],
        can_edit=can_edit_return(p, ret) and ret.round.status == RoundStatus.OPEN,
        can_sign_off=can_sign_off_return(p, ret),
        can_review=can_review_returns(p),
        auditors_can_submit=_auditors_can_submit(ret),
        note_form=note_form or NoteForm(formdata=None),
        form=note_form,
        confirm=ConfirmForm(),
        upload_problems=upload_problems or [],
    ), status


def _auditors_can_submit(ret: Return) -> bool:
    from ..accounts.models import Partnership

    return db.session.get(Partnership, ret.round.partnership_id).auditors_can_submit


def _posted_value(question: Any) -> Any:
    name = f"q-{question.key}"
    if question.type == QuestionType.MULTIPLE_CHOICE:
        return [v for v in request.form.getlist(name) if v]
    if question.type == QuestionType.DATE:
        parts = [request.form.get(f"{name}-{part}", "").strip() for part in ("year", "month", "day")]
        if not any(parts):
            return ""
        try:
            return date(int(parts[0]), int(parts[1]), int(parts[2])).isoformat()
        except ValueError:
            return "invalid"
    return request.form.get(name, "")


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
    editable = can_edit_return(p, ret) and ret.round.status == RoundStatus.OPEN
    values = _answers(ret)
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        _require(editable)
        if not ConfirmForm().validate_on_submit():
            abort(400)
        lock = request.form.get("lock_version", "")
        if not lock.isdigit():
            abort(400, "lock_version is missing")
        posted = {q.key: _posted_value(q) for q in questions}
        try:
            services.save_answers(ret, posted, by=current_user, expected_version=int(lock), section=section)
        except DomainError as error:
            db.session.rollback()
            if error.field == "lock_version":
                flash(error.message, "error")
                return redirect(url_for("audits.return_section", return_id=ret.id, section_key=section.key), code=303)
            errors[error.field or questions[0].key] = error.message
            values.update(posted)
            status = 400
        else:
            db.session.commit()
            flash(f"'{section.title}' saved", "success")
            return redirect(url_for("audits.return_detail", return_id=ret.id))
    return render_template(
        "audits/return_section.html",
        ret=ret,
        section=section,
        questions=questions,
        values=values,
        errors=errors,
        editable=editable,
    ), status


@bp.post("/returns/<int:return_id>/submit")
@login_required
def return_submit(return_id: int):
    """Submit (agency lead, or auditor where allowed) or mark ready for sign-off."""
    p = current_principal()
    ret = get_return_or_404(p, return_id)
    _require(can_edit_return(p, ret))
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        outcome = services.submit_return(ret, by=current_user, as_lead=can_sign_off_return(p, ret))
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("audits.return_detail", return_id=ret.id), code=303)
    db.session.commit()
    flash(
        "Return submitted"
        if outcome == ReturnStatus.SUBMITTED
        else "Return marked ready for your agency lead to sign off",
        "success",
    )
    return redirect(url_for("audits.return_detail", return_id=ret.id))


def _note_action(return_id: int, allowed: Any, action: Any, success: str):
    p = current_principal()
    ret = get_return_or_404(p, return_id)
    _require(allowed(p, ret))
    form = NoteForm()
    if form.validate_on_submit():
        try:
            action(ret, form.note.data)
        except DomainError as error:
            db.session.rollback()
            if error.field in ("note", "reason"):
                add_form_error(form, error.message, "note")
            else:
                flash(error.message, "error")
                return redirect(url_for("audits.return_detail", return_id=ret.id), code=303)
        else:
            db.session.commit()
            flash(success, "success")
            return redirect(url_for("audits.return_detail", return_id=ret.id))
    return _return_page(ret, note_form=form, status=400)


@bp.post("/returns/<int:return_id>/decline")
@login_required
def return_decline(return_id: int):
    """The agency declines the return, with a reason."""
    return _note_action(
        return_id,
        can_sign_off_return,
        lambda ret, note: services.decline_return(ret, by=current_user, reason=note),
        "Return declined",
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


@bp.post("/returns/<int:return_id>/accept")
@login_required
def return_accept(return_id: int):
    """The QA group accepts the return."""
    p = current_principal()
    ret = get_return_or_404(p, return_id)
    _require(can_review_returns(p))
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        services.accept_return(ret, by=current_user)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("audits.return_detail", return_id=ret.id), code=303)
    db.session.commit()
    flash("Return accepted", "success")
    return redirect(url_for("audits.return_detail", return_id=ret.id))


# -- the multi-agency discussion --


def _discussion_data(round_case: Any) -> dict[str, Any]:
    import json

    returns = db.session.scalars(
        sa.select(Return)
        .where(Return.round_case_id == round_case.id, Return.status != ReturnStatus.DECLINED)
        .join(Return.agency)
        .order_by(Agency.name)
    ).all()
    answers: dict[tuple[int, str], str] = {}
    for ret in returns:
        for answer in ret.answers:
            value = answer.value
            if value.startswith("[") and answer.question.type == QuestionType.MULTIPLE_CHOICE:
                value = ", ".join(json.loads(value))
            answers[(ret.id, answer.question.key)] = value
    judgements = {
        j.section_key: j
        for j in db.session.scalars(sa.select(CaseJudgement).where(CaseJudgement.round_case_id == round_case.id))
    }
    return {"returns": returns, "answers": answers, "judgements": judgements}


@bp.route("/rounds/<int:round_id>/cases/<int:round_case_id>/discussion", methods=["GET", "POST"])
@login_required
def case_discussion(round_id: int, round_case_id: int):
    """Every agency's answers on a case side by side, and the agreed multi-agency judgement."""
    p = current_principal()
    round_case = get_partnership_round_case_or_404(p, round_id, round_case_id)
    _require(can_view_discussion(p, round_case))
    round_ = round_case.round
    can_record = can_review_returns(p) and round_.status in (RoundStatus.CLOSED, RoundStatus.IN_DISCUSSION)
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        _require(can_review_returns(p))
        if not ConfirmForm().validate_on_submit():
            abort(400)
        if not can_record:
            flash("Judgements are recorded once the round is closed for returns, until it is reported", "error")
            return redirect(
                url_for("audits.case_discussion", round_id=round_.id, round_case_id=round_case.id), code=303
            )
        escalated_on = None
        raw_date = [request.form.get(f"escalated_on-{part}", "").strip() for part in ("year", "month", "day")]
        try:
            for key in [s.key for s in round_.version.sections] + [""]:
                name = key or "overall"
                services.record_judgement(
                    round_case,
                    section_key=key,
                    grade=request.form.get(f"grade-{name}", ""),
                    strengths=request.form.get(f"strengths-{name}", ""),
                    areas_for_development=request.form.get(f"development-{name}", ""),
                    recommendations="" if key else request.form.get("recommendations-overall", ""),
                    concern_escalated=request.form.get("concern_escalated") == "yes",
                    escalated_to=request.form.get("escalated_to", ""),
                    escalated_on=escalated_on if key else _escalation_date(raw_date),
                )
        except DomainError as error:
            db.session.rollback()
            errors[error.field or "overall"] = error.message
            status = 400
        else:
            db.session.commit()
            flash("Multi-agency judgement saved", "success")
            return redirect(url_for("audits.case_discussion", round_id=round_.id, round_case_id=round_case.id))
    return render_template(
        "audits/case_discussion.html",
        round=round_,
        round_case=round_case,
        levels=services.judgement_scale_levels(round_),
        can_record=can_record,
        errors=errors,
        form_values=request.form if request.method == "POST" else {},
        **_discussion_data(round_case),
    ), status


def _escalation_date(parts: list[str]) -> date | None:
    if not any(parts):
        return None
    try:
        return date(int(parts[0]), int(parts[1]), int(parts[2]))
    except ValueError:
        raise DomainError("Enter the date of escalation as day, month and year", field="escalated_on") from None


# -- re-audits and a case's audit history --


@bp.post("/rounds/<int:round_id>/carry")
@login_required
def round_carry_cases(round_id: int):
    """Re-audit: bring chosen cases of the earlier round into this one, linked to their earlier audit."""
    p = current_principal()
    _require(can_manage_rounds(p))
    round_ = get_round_or_404(p, round_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    raw = request.form.getlist("round_case_ids")
    if not raw or not all(value.isdigit() for value in raw):
        flash("Choose at least one case to carry", "error")
        return redirect(url_for("audits.round_detail", round_id=round_.id) + "#carry", code=303)
    if round_.previous_round_id is None:
        abort(400, "This round does not re-audit an earlier one")
    earlier = db.session.scalars(
        sa.select(RoundCase).where(
            RoundCase.round_id == round_.previous_round_id, RoundCase.id.in_([int(v) for v in raw])
        )
    ).all()
    if len(earlier) != len(set(raw)):
        abort(400, "Choose cases of the earlier round")
    try:
        carried = services.carry_cases(round_, list(earlier))
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("audits.round_detail", round_id=round_.id) + "#carry", code=303)
    db.session.commit()
    flash(f"{len(carried)} cases carried from {round_.previous_round.title}", "success")
    return redirect(url_for("audits.round_detail", round_id=round_.id) + "#cases")


@bp.get("/cases/<int:case_id>")
@login_required
def case_history(case_id: int):
    """Every audit of one case, oldest first, with the multi-agency grade each time."""
    p = current_principal()
    _require(can_view_rounds(p))
    case = db.session.scalar(sa.select(Case).where(Case.id == case_id, Case.partnership_id == p.partnership_id))
    if case is None:
        abort(404)
    round_cases = db.session.scalars(
        sa.select(RoundCase).join(RoundCase.round).where(RoundCase.case_id == case.id).order_by(Round.created_at)
    ).all()
    overall = {
        j.round_case_id: j
        for j in db.session.scalars(
            sa.select(CaseJudgement).where(
                CaseJudgement.round_case_id.in_([rc.id for rc in round_cases]), CaseJudgement.section_key == ""
            )
        )
    }
    return render_template("audits/case_history.html", case=case, round_cases=round_cases, overall=overall)


# -- working offline in Excel --


@bp.get("/returns/<int:return_id>/workbook.xlsx")
@login_required
def return_workbook(return_id: int):
    """Download the return as an Excel workbook to fill in offline."""
    from flask import Response

    from .workbook import build_workbook

    p = current_principal()
    ret = get_return_or_404(p, return_id)
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
    _require(can_edit_return(p, ret))
    if not ConfirmForm().validate_on_submit():
        abort(400)
    upload = request.files.get("file")
    problems: list[str] = []
    if upload is None or not upload.filename:
        problems = ["Choose the workbook (.xlsx) to upload"]
    elif not upload.filename.lower().endswith(".xlsx"):
        problems = ["Upload the .xlsx workbook downloaded from this return"]
    else:
        try:
            answers, lock = read_workbook(ret, upload.read(MAX_BYTES + 1))
            services.save_answers(ret, answers, by=current_user, expected_version=lock)
        except WorkbookError as error:
            db.session.rollback()
            problems = [str(problem) for problem in error.problems]
        except DomainError as error:
            db.session.rollback()
            if error.field == "lock_version":
                problems = [
                    "Someone saved this return after the workbook was downloaded. Download it again, copy your answers in, and upload it."
                ]
            else:
                problems = [error.message]
        else:
            db.session.commit()
            given = sum(1 for value in answers.values() if value not in ("", []))
            flash(f"{given} answers saved from {upload.filename}", "success")
            return redirect(url_for("audits.return_detail", return_id=ret.id))
    return _return_page(ret, upload_problems=problems, status=400)


@bp.route("/rounds/<int:round_id>/cases/<int:round_case_id>/agencies", methods=["GET", "POST"])
@login_required
def round_case_agencies(round_id: int, round_case_id: int):
    """Change which agencies were involved with a case (adding one while open creates its return)."""
    p = current_principal()
    _require(can_manage_rounds(p))
    round_ = get_round_or_404(p, round_id)
    round_case = get_round_case_or_404(round_, round_case_id)
    form = _case_form(round_.partnership_id)
    if request.method == "GET":
        form.agency_ids.data = [a.id for a in round_case.agencies]
    errors: list[str] = []
    if request.method == "POST":
        if not ConfirmForm().validate_on_submit():
            abort(400)
        chosen = request.form.getlist("agency_ids")
        if not all(value.isdigit() for value in chosen):
            abort(400, "agency_ids must be numbers")
        try:
            services.set_case_agencies(round_case, [int(v) for v in chosen])
        except DomainError as error:
            db.session.rollback()
            errors.append(error.message)
            form.agency_ids.data = [int(v) for v in chosen]
        else:
            db.session.commit()
            flash(f"Agencies for case {round_case.case.reference} saved", "success")
            return redirect(url_for("audits.round_detail", round_id=round_.id) + "#cases")
    return render_template(
        "audits/round_case_agencies.html", round=round_, round_case=round_case, form=form, errors=errors
    ), 400 if errors else 200


@bp.post("/rounds/<int:round_id>/cases/<int:round_case_id>/remove")
@login_required
def round_case_remove(round_id: int, round_case_id: int):
    """Take a case out of a round that is still being planned."""
    p = current_principal()
    _require(can_manage_rounds(p))
    round_ = get_round_or_404(p, round_id)
    round_case = get_round_case_or_404(round_, round_case_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    reference = round_case.case.reference
    try:
        services.remove_case(round_case)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("audits.round_detail", round_id=round_.id), code=303)
    db.session.commit()
    flash(f"Case {reference} removed from the round", "success")
    return redirect(url_for("audits.round_detail", round_id=round_.id) + "#cases")
