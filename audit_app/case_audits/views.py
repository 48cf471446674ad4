"""Case-audit pages: a round's cases and cohort, the multi-agency discussion, re-audits and a case's history."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import login_required
from govuk_frontend_wtf.main import wtforms_errors

from ..accounts.models import Agency
from ..accounts.permissions import agency_links_query
from ..actions.views import case_discussion_plan, chair_report_plan
from ..core.access_log import AccessKind, record_access
from ..core.errors import DomainError, FieldErrors
from ..core.forms import REFUSED, ConfirmForm, add_form_error, id_value, posted_date, run_service
from ..core.permissions import allowed_or_403, can_view_history, current_principal
from ..core.views import add_audit_filter_part, register_audit_filter
from ..extensions import db
from ..questionnaires import answers
from ..questionnaires import learning_themes_tags as tags
from ..questionnaires.models import QuestionnaireKind, QuestionnaireVersion, Section
from ..rounds.forms import first_error
from ..rounds.models import Answer, Return, ReturnStatus, Round, RoundStatus
from ..rounds.permissions import (
    can_manage_round,
    can_review_returns,
    can_view_rounds,
    get_managed_round_or_404,
    get_round_or_404,
)
from ..rounds.views import round_page
from . import services
from .cohort import CohortError, parse_cohort
from .forms import CarryForm, CaseAgenciesForm, CaseForm, CohortForm, RedactReferenceForm
from .kinds import load_case_agencies
from .models import Case, CaseJudgement, PractitionerInvolvement, RoundCase, SelectionMethod
from .permissions import (
    can_redact_case_reference,
    can_view_discussion,
    get_case_or_404,
    get_partnership_round_case_or_404,
    get_round_case_or_404,
)

bp = Blueprint("case_audits", __name__)

MAX_COHORT_BYTES = 2 * 1024 * 1024


def page_context(round_: Round) -> dict[str, Any]:
    """What a case-audit round's page adds: its case and cohort forms, the cases it may carry, and what becomes
    of its case records (retention)."""
    from .retention import round_retention

    load_case_agencies(round_)  # the page lists every case's agencies
    carried = {rc.previous_round_case_id for rc in round_.cases if rc.previous_round_case_id}
    carry_choices = (
        [rc for rc in round_.previous_round.cases if rc.id not in carried]
        if round_.previous_round and round_.status == RoundStatus.PLANNING
        else []
    )
    return {
        "carry_choices": carry_choices,
        "case_form": _case_form(round_.partnership_id),
        "cohort_form": CohortForm(formdata=None),
        "cohort_problems": [],
        "case_records": round_retention(round_),
    }


def _case_form(p_partnership_id: int, formdata: Any = None) -> CaseForm:
    form = CaseForm() if formdata is None else CaseForm(formdata=formdata)
    links = db.session.scalars(agency_links_query(p_partnership_id, active_only=True)).unique().all()
    form.agency_ids.choices = [(link.agency_id, f"{link.agency.name} ({link.sector.name})") for link in links]
    return form


@bp.post("/rounds/<int:round_id>/cases")
@login_required
def round_add_case(round_id: int):
    """Add one case and tick the agencies involved."""
    p = current_principal()
    round_ = get_managed_round_or_404(p, round_id)
    form = _case_form(round_.partnership_id)
    if form.validate_on_submit():
        added = run_service(
            lambda: services.add_case(
                round_,
                agency_ids=form.agency_ids.data,
                reference=form.reference.data,
                age_band=form.age_band.data,
                sex=form.sex.data,
                ethnicity=form.ethnicity.data or "",
                disability=form.disability.data,
                plan_type=form.plan_type.data,
            ),
            form=form,
        )
        if added is not REFUSED:
            db.session.commit()
            flash(f"Case {form.reference.data} added", "success")
            return redirect(url_for("rounds.round_detail", round_id=round_.id) + "#cases")
    return round_page(round_, case_form=form, error_summary=wtforms_errors(form), status=400)


@bp.post("/rounds/<int:round_id>/cohort")
@login_required
def round_upload_cohort(round_id: int):
    """Add a whole cohort from a CSV or Excel file; nothing is added unless every row is right."""
    p = current_principal()
    round_ = get_managed_round_or_404(p, round_id)
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
                names, codes = services.cohort_agencies(round_.partnership_id)
                try:
                    rows = parse_cohort(data, upload.filename, agency_names=names, agency_codes=codes)
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
                    return redirect(url_for("rounds.round_detail", round_id=round_.id) + "#cases")
    summary = wtforms_errors(form)
    # Every row's problem in the summary at the top too, each a link to the list beside the form.
    summary["errorList"] += [{"text": problem, "href": "#cohort-problems"} for problem in problems]
    return round_page(round_, cohort_form=form, cohort_problems=problems, error_summary=summary, status=400)


@bp.get("/rounds/<int:round_id>/cohort-template.xlsx")
@login_required
def round_cohort_template(round_id: int):
    """The cohort file to fill in: its columns, the values they take and the partnership's agencies."""
    p = current_principal()
    round_ = get_managed_round_or_404(p, round_id)
    return cohort_template_response(round_.partnership_id)


def cohort_template_response(partnership_id: int) -> Response:
    """The cohort template as an Excel download (the page and the API share it)."""
    return Response(
        services.cohort_template_file(partnership_id),
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers={"Content-Disposition": 'attachment; filename="cohort-template.xlsx"'},
    )


# -- the multi-agency discussion --


def _discussion_data(round_case: Any) -> dict[str, Any]:
    returns = db.session.scalars(
        sa.select(Return)
        .where(Return.round_case_id == round_case.id, Return.status != ReturnStatus.DECLINED)
        .join(Return.agency)
        .order_by(Agency.name)
        # every answer and its question at once, not a question at a time
        .options(sa.orm.selectinload(Return.answers).selectinload(Answer.question))
    ).all()
    shown: dict[tuple[int, str], str] = {}
    for ret in returns:
        stored = {a.question.key: a.value for a in ret.answers}
        for answer in ret.answers:
            if answers.shown(answer.question, stored):
                shown[(ret.id, answer.question.key)] = answers.display(answer.question, answer.value)
    judgements = {
        j.section_key: j
        for j in db.session.scalars(sa.select(CaseJudgement).where(CaseJudgement.round_case_id == round_case.id))
    }
    concern_returns = [ret for ret in returns if ret.concern_raised_at is not None]
    return {
        "returns": returns,
        "answers": shown,
        "judgements": judgements,
        "concern_returns": concern_returns,
        "concern_agencies": [ret.agency.name for ret in concern_returns],
    }


def _case_navigator(round_case: Any) -> dict[str, Any]:
    """For the QA group in a live meeting: every case of the round in order, each with its agreed overall grade
    (or "Not graded yet"), and the cases before and after this one. Two queries, whatever the round's size."""
    from ..questionnaires.models import ScaleLevel

    rows = db.session.execute(
        sa.select(RoundCase.id, Case.reference, ScaleLevel.label)
        .join(Case, Case.id == RoundCase.case_id)
        .outerjoin(
            CaseJudgement,
            sa.and_(CaseJudgement.round_case_id == RoundCase.id, CaseJudgement.section_key == ""),
        )
        .outerjoin(ScaleLevel, ScaleLevel.id == CaseJudgement.grade_level_id)
        .where(RoundCase.round_id == round_case.round_id)
        .order_by(RoundCase.id)
    ).all()
    cases = [{"id": rc_id, "reference": ref, "grade": grade} for rc_id, ref, grade in rows]
    at = next((i for i, c in enumerate(cases) if c["id"] == round_case.id), 0)
    return {
        "nav_cases": cases,
        "nav_position": at + 1,
        "nav_previous": cases[at - 1] if at > 0 else None,
        "nav_next": cases[at + 1] if at + 1 < len(cases) else None,
        "nav_graded": sum(1 for c in cases if c["grade"]),
    }


@bp.route("/rounds/<int:round_id>/cases/<int:round_case_id>/discussion", methods=["GET", "POST"])
@login_required
def case_discussion(round_id: int, round_case_id: int):
    """Every agency's answers on a case side by side, and the agreed multi-agency judgement."""
    p = current_principal()
    round_case = get_partnership_round_case_or_404(p, round_id, round_case_id)
    allowed_or_403(can_view_discussion(p, round_case))
    record_access(AccessKind.CASE, round_case.case_id)
    round_ = round_case.round
    # the questionnaire's sections and their questions in three queries, not one a section
    questionnaire = db.session.scalar(
        sa.select(QuestionnaireVersion)
        .where(QuestionnaireVersion.id == round_.questionnaire_version_id)
        .options(sa.orm.selectinload(QuestionnaireVersion.sections).selectinload(Section.questions))
    )
    sa.orm.attributes.set_committed_value(round_, "version", questionnaire)
    can_record = can_review_returns(p) and round_.status in (RoundStatus.CLOSED, RoundStatus.IN_DISCUSSION)
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        allowed_or_403(can_review_returns(p))
        if not ConfirmForm().validate_on_submit():
            abort(400)
        if not can_record:
            flash("Judgements are recorded once the round is closed for returns, until it is reported", "error")
            return redirect(
                url_for("case_audits.case_discussion", round_id=round_.id, round_case_id=round_case.id), code=303
            )
        form = request.form
        raw_date = [form.get(f"escalated_on-{part}", "").strip() for part in ("year", "month", "day")]
        escalated_on, date_problem = _escalation_date(raw_date)
        if date_problem:
            errors["escalated_on"] = date_problem

        theme_ids, theme_problem = tags.posted_theme_ids(form, f"case-{tags.FIELD}")
        if theme_problem:
            errors[f"case-{tags.FIELD}"] = theme_problem

        def given(key: str) -> services.JudgementIn:
            prefix = services.judgement_field_prefix(key)
            return services.JudgementIn(
                grade=form.get(f"{prefix}grade", ""),
                strengths=form.get(f"{prefix}strengths", ""),
                areas_for_development=form.get(f"{prefix}development", ""),
                recommendations=form.get(f"{prefix}recommendations", ""),
                concern_escalated=form.get("concern_escalated") == "yes",
                escalated_to=form.get("escalated_to", ""),
                escalated_on=escalated_on,
                learning_theme_ids=tuple(theme_ids),
            )

        try:
            services.record_judgements(round_case, {s.key: given(s.key) for s in round_.version.sections}, given(""))
        except FieldErrors as error:
            errors.update({field: problems[0] for field, problems in error.fields.items()})
        except DomainError as error:
            errors[error.field or "case-grade"] = error.message
        if errors:
            db.session.rollback()
            status = 400
        else:
            db.session.commit()
            flash("Multi-agency judgement saved", "success")
            then = form.get("then", "")
            # a section's own button brings the panel back to that section, its answers open (known keys only:
            # never a raw anchor); answers shown in full stay shown
            then_key = then[len("section-") :] if then.startswith("section-") else ""
            then_key = then_key if then_key in {s.key for s in round_.version.sections} else ""
            back = url_for(
                "case_audits.case_discussion",
                round_id=round_.id,
                round_case_id=round_case.id,
                answers="all" if form.get("answers") == "all" else None,
                open=then_key or None,
            )
            return redirect(back + (f"#section-{then_key}" if then_key else ""))
    section_keys = {s.key for s in round_.version.sections}
    show_answers = (request.form if request.method == "POST" else request.args).get("answers") == "all"
    data = _discussion_data(round_case)
    tagged = data["judgements"][""].themes if "" in data["judgements"] else []
    return render_template(
        "case_audits/case_discussion.html",
        round=round_,
        round_case=round_case,
        levels=services.judgement_scale_levels(round_),
        can_record=can_record,
        errors=errors,
        form_values=request.form if request.method == "POST" else {},
        show_answers=show_answers,
        open_section=request.args.get("open") if request.args.get("open") in section_keys else "",
        learning_themes=tags.offered_themes(round_case.case.partnership_id, tagged) if can_record else [],
        chosen_theme_ids=(
            tags.posted_theme_ids(request.form, f"case-{tags.FIELD}")[0]
            if request.method == "POST"
            else [t.id for t in tagged]
        ),
        **data,
        **(_case_navigator(round_case) if can_view_rounds(p) else {}),
        **case_discussion_plan(round_case),
    ), status


def _escalation_date(parts: list[str]) -> tuple[date | None, str]:
    """The escalation date from its year, month and day boxes, or why it is not one."""
    if not any(parts):
        return None, ""
    try:
        return date(int(parts[0]), int(parts[1]), int(parts[2])), ""
    except ValueError:
        return None, "Enter the date of escalation as day, month and year"


# -- re-audits and a case's audit history --


@bp.post("/rounds/<int:round_id>/carry")
@login_required
def round_carry_cases(round_id: int):
    """Re-audit: bring chosen cases of the earlier round into this one, linked to their earlier audit."""
    p = current_principal()
    round_ = get_managed_round_or_404(p, round_id)
    if round_.previous_round_id is None:
        abort(400, "This round does not re-audit an earlier one")
    form = CarryForm()
    form.round_case_ids.choices = [(rc.id, rc.case.reference) for rc in round_.previous_round.cases]
    if not form.validate_on_submit():
        if "csrf_token" in form.errors:
            abort(400, first_error(form))
        if form.round_case_ids.raw_data:
            abort(400, "Carry the chosen cases: tick only cases of the earlier round")
    if not form.round_case_ids.data:
        flash("Choose at least one case to carry", "error")
        return redirect(url_for("rounds.round_detail", round_id=round_.id) + "#carry", code=303)
    chosen = set(form.round_case_ids.data)
    earlier = [rc for rc in round_.previous_round.cases if rc.id in chosen]
    carried = run_service(
        lambda: services.carry_cases(round_, list(earlier)),
        back=url_for("rounds.round_detail", round_id=round_.id) + "#carry",
    )
    db.session.commit()
    flash(f"{len(carried)} cases carried from {round_.previous_round.title}", "success")
    return redirect(url_for("rounds.round_detail", round_id=round_.id) + "#cases")


@bp.get("/cases/<int:case_id>")
@login_required
def case_history(case_id: int):
    """Every audit of one case, oldest first, with the multi-agency grade each time."""
    p = current_principal()
    allowed_or_403(can_view_rounds(p))
    case = get_case_or_404(p, case_id)
    record_access(AccessKind.CASE, case.id)
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
    return render_template(
        "case_audits/case_history.html",
        case=case,
        round_cases=round_cases,
        overall=overall,
        can_redact=can_redact_case_reference(p, case),
        can_view_changes=can_view_history(p),
    )


@bp.route("/cases/<int:case_id>/redact", methods=["GET", "POST"])
@login_required
def case_redact(case_id: int):
    """Replace a wrongly entered reference everywhere it is stored, the audit trail included (admins)."""
    p = current_principal()
    case = get_case_or_404(p, case_id)
    allowed_or_403(can_redact_case_reference(p, case))
    form = RedactReferenceForm()
    if form.validate_on_submit():
        new = form.reference.data.strip()
        done = run_service(lambda: services.redact_case_reference(case, new, p), form=form)
        if done is not REFUSED:
            db.session.commit()
            flash(
                f"Reference redacted: the case is now {new} everywhere, its history and the audit trail included",
                "success",
            )
            return redirect(url_for("case_audits.case_history", case_id=case_id))
    return render_template("case_audits/case_redact.html", case=case, form=form), 400 if form.errors else 200


@bp.route("/rounds/<int:round_id>/cases/<int:round_case_id>/agencies", methods=["GET", "POST"])
@login_required
def round_case_agencies(round_id: int, round_case_id: int):
    """Change which agencies were involved with a case (adding one while open creates its return)."""
    p = current_principal()
    round_ = get_managed_round_or_404(p, round_id)
    round_case = get_round_case_or_404(round_, round_case_id)
    form = CaseAgenciesForm()
    links = db.session.scalars(agency_links_query(round_.partnership_id, active_only=True)).unique().all()
    form.agency_ids.choices = [(link.agency_id, f"{link.agency.name} ({link.sector.name})") for link in links]
    if request.method == "GET":
        form.agency_ids.data = [a.id for a in round_case.agencies]
    errors: list[str] = []
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400, first_error(form))
        try:
            services.set_case_agencies(round_case, list(form.agency_ids.data or []))
        except DomainError as error:
            db.session.rollback()
            errors.append(error.message)
        else:
            db.session.commit()
            flash(f"Agencies for case {round_case.case.reference} saved", "success")
            return redirect(url_for("rounds.round_detail", round_id=round_.id) + "#cases")
    return render_template(
        "case_audits/round_case_agencies.html", round=round_, round_case=round_case, form=form, errors=errors
    ), 400 if errors else 200


@bp.route("/rounds/<int:round_id>/cases/<int:round_case_id>/remove", methods=["GET", "POST"])
@login_required
def round_case_remove(round_id: int, round_case_id: int):
    """Take a case out of a round that is still being planned."""
    p = current_principal()
    round_ = get_managed_round_or_404(p, round_id)
    round_case = get_round_case_or_404(round_, round_case_id)
    back = url_for("rounds.round_detail", round_id=round_.id) + "#cases"
    if request.method == "GET":
        if round_.status != RoundStatus.PLANNING:
            flash("Cases can be removed only while the round is being planned", "error")
            return redirect(back, code=303)
        agencies = ", ".join(a.name for a in round_case.agencies) or "no agencies yet"
        return render_template(
            "core/confirm.html",
            title=f"Remove case {round_case.case.reference} from the round?",
            caption=round_.title,
            lines=[
                f"The agencies ticked for it ({agencies}) will not be asked for returns on it.",
                "The case reference stays on the partnership's records; you can add it to the round again.",
            ],
            action=url_for("case_audits.round_case_remove", round_id=round_.id, round_case_id=round_case.id),
            button="Yes, remove the case",
            cancel=back,
            warning=True,
        )
    if not ConfirmForm().validate_on_submit():
        abort(400)
    reference = round_case.case.reference
    try:
        services.remove_case(round_case)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(url_for("rounds.round_detail", round_id=round_.id), code=303)
    db.session.commit()
    flash(f"Case {reference} removed from the round", "success")
    return redirect(url_for("rounds.round_detail", round_id=round_.id) + "#cases")


# -- the audit meeting, the method and the chair's report --


def _case_audit_round_or_404(round_id: int) -> Round:
    """A case-audit round of the partnership, for the roles that see every round (others 403)."""
    p = current_principal()
    allowed_or_403(can_view_rounds(p))
    round_ = get_round_or_404(p, round_id)
    if round_.kind != QuestionnaireKind.CASE_AUDIT:
        abort(404)
    return round_


def _may_write(round_: Round) -> bool:
    return can_manage_round(current_principal(), round_)


def _check_post(round_: Round) -> None:
    allowed_or_403(_may_write(round_))
    if not ConfirmForm().validate_on_submit():
        abort(400, "The form has expired: go back, reload the page and try again")


def _posted_date(name: str, what: str) -> tuple[date | None, str]:
    """A GOV.UK date of the posted form (any real date: the meeting record takes what was typed)."""
    return posted_date(request.form, name, what, years=None)


@bp.route("/rounds/<int:round_id>/meeting", methods=["GET", "POST"])
@login_required
def round_meeting(round_id: int):
    """The audit meeting (date, chair, attendees, agencies present) and the method (audit period, how the cases
    were chosen), with each case's practitioners; scrutineers read it."""
    round_ = _case_audit_round_or_404(round_id)
    errors: dict[str, str] = {}
    if request.method == "POST":
        _check_post(round_)
        dates = {}
        for name, what in (
            ("meeting_on", "meeting date"),
            ("period_from", "start of the period"),
            ("period_to", "end of the period"),
        ):
            dates[name], problem = _posted_date(name, what)
            if problem:
                errors[name] = problem
        agency_ids: list[int] = []
        for raw in request.form.getlist("agency_ids"):
            try:
                agency_ids.append(id_value(raw))
            except ValueError:
                errors["agency_ids"] = "Tick agencies involved with this round's cases only"
        given = services.MeetingIn(
            meeting_on=dates.get("meeting_on"),
            chair=request.form.get("chair", ""),
            attendees=request.form.get("attendees", ""),
            agency_ids=tuple(agency_ids),
            period_from=dates.get("period_from"),
            period_to=dates.get("period_to"),
            selection_method=request.form.get("selection_method", ""),
            selection_criteria=request.form.get("selection_criteria", ""),
        )
        try:
            services.save_meeting(round_, given)
        except FieldErrors as error:
            for field, problems in error.fields.items():
                errors.setdefault(field, problems[0])
        except DomainError as error:
            errors.setdefault(error.field or "meeting_on", error.message)
        if errors:
            db.session.rollback()
        else:
            db.session.commit()
            flash("The meeting record and method are saved", "success")
            return redirect(url_for("case_audits.round_meeting", round_id=round_.id), 303)
    report = services.get_chair_report(round_)
    involved = db.session.scalars(
        sa.select(Agency).where(Agency.id.in_(services.round_agency_ids(round_) or {-1})).order_by(Agency.name)
    ).all()
    involvement = {
        (p.round_case_id, p.agency_id): p
        for p in db.session.scalars(
            sa.select(PractitionerInvolvement)
            .join(RoundCase, RoundCase.id == PractitionerInvolvement.round_case_id)
            .where(RoundCase.round_id == round_.id)
        )
    }
    return render_template(
        "case_audits/round_meeting.html",
        round=round_,
        report=report,
        involved=involved,
        involvement=involvement,
        methods=list(SelectionMethod),
        can_write=_may_write(round_),
        errors=errors,
        form_values=request.form if request.method == "POST" else {},
    ), (400 if errors else 200)


@bp.route("/rounds/<int:round_id>/cases/<int:round_case_id>/practitioners", methods=["GET", "POST"])
@login_required
def case_practitioners(round_id: int, round_case_id: int):
    """For one case: whether each agency's practitioner was invited to the audit meeting, came, and their view."""
    round_ = _case_audit_round_or_404(round_id)
    round_case = get_round_case_or_404(round_, round_case_id)
    record_access(AccessKind.CASE, round_case.case_id)
    errors: dict[str, str] = {}
    if request.method == "POST":
        _check_post(round_)
        given = {
            agency.id: services.PractitionerIn(
                invited=request.form.get(f"agency-{agency.id}-invited") == "yes",
                attended=request.form.get(f"agency-{agency.id}-attended") == "yes",
                view=request.form.get(f"agency-{agency.id}-view", ""),
            )
            for agency in round_case.agencies
        }
        try:
            services.save_practitioners(round_case, given)
        except FieldErrors as error:
            errors = {field: problems[0] for field, problems in error.fields.items()}
            db.session.rollback()
        else:
            db.session.commit()
            flash(f"Practitioners for case {round_case.case.reference} saved", "success")
            return redirect(url_for("case_audits.round_meeting", round_id=round_.id) + "#practitioners", 303)
    return render_template(
        "case_audits/case_practitioners.html",
        round=round_,
        round_case=round_case,
        involvement=services.practitioner_involvement(round_case),
        can_write=_may_write(round_),
        errors=errors,
        form_values=request.form if request.method == "POST" else {},
    ), (400 if errors else 200)


#: blank boxes offered for new recommendations on the page
NEW_RECOMMENDATION_BOXES = 3


def _chair_figures(round_: Round) -> dict[str, Any]:
    from ..reporting import findings as f
    from ..reporting import queries as q
    from ..reporting.report import key_figures

    main = f.round_findings(round_, parts=frozenset({f.SUMMARY}))
    judgements = q.panel_case_judgements(round_.id).to_dict("records")
    return {
        "figures": key_figures(main, judgements, False),
        "grades": main.tables["grades"],
        "panel_grades": main.tables["panel_grades"],
    }


@bp.route("/rounds/<int:round_id>/chair-report", methods=["GET", "POST"])
@login_required
def chair_report(round_id: int):
    """The chair's report: executive summary, key findings, themes, numbered recommendations and the briefing's
    own parts, each beside the round's figures; scrutineers read it."""
    round_ = _case_audit_round_or_404(round_id)
    existing = services.report_recommendations(round_)
    boxes = [(f"recommendation-{rec.id}", rec.id, rec.text) for rec in existing] + [
        (f"recommendation-new-{i}", None, "") for i in range(1, NEW_RECOMMENDATION_BOXES + 1)
    ]
    errors: dict[str, str] = {}
    if request.method == "POST":
        _check_post(round_)
        texts = {name: request.form.get(name, "") for name, _ in services.REPORT_FIELDS}
        recs = [(rec_id, request.form.get(name, "")) for name, rec_id, _ in boxes]
        try:
            services.save_chair_report(round_, texts, recs)
        except FieldErrors as error:
            db.session.rollback()
            for field, problems in error.fields.items():
                if field.startswith("recommendations-"):
                    field = boxes[int(field.rpartition("-")[2]) - 1][0]
                errors.setdefault(field, problems[0])
        else:
            db.session.commit()
            flash("The chair's report is saved", "success")
            return redirect(url_for("case_audits.chair_report", round_id=round_.id), 303)
    return render_template(
        "case_audits/chair_report.html",
        round=round_,
        report=services.get_chair_report(round_),
        fields=services.REPORT_FIELDS,
        boxes=boxes,
        recommendations=existing,
        can_write=_may_write(round_),
        errors=errors,
        form_values=request.form if request.method == "POST" else {},
        **_chair_figures(round_),
        **chair_report_plan(round_),
    ), (400 if errors else 200)


# -- the audit log, filtered to one case (and a round's cases and judgements, for the round filter) --


def _case_choices(partnership_id: int) -> list[tuple[int, str]]:
    rows = db.session.execute(
        sa.select(Case.id, Case.reference).where(Case.partnership_id == partnership_id).order_by(Case.reference)
    )
    return [(case_id, reference) for case_id, reference in rows]


def _events_of_round_cases(round_cases: Any) -> Any:
    """Events of these round cases, their judgements, their returns and the returns' answers."""
    from ..core.audit import AuditEvent
    from ..rounds.models import Answer

    returns = sa.select(Return.id).where(Return.round_case_id.in_(round_cases))
    return sa.or_(
        sa.and_(AuditEvent.entity_type == "RoundCase", AuditEvent.entity_id.in_(round_cases)),
        sa.and_(
            AuditEvent.entity_type == "CaseJudgement",
            AuditEvent.entity_id.in_(sa.select(CaseJudgement.id).where(CaseJudgement.round_case_id.in_(round_cases))),
        ),
        sa.and_(AuditEvent.entity_type == "Return", AuditEvent.entity_id.in_(returns)),
        sa.and_(
            AuditEvent.entity_type == "Answer",
            AuditEvent.entity_id.in_(sa.select(Answer.id).where(Answer.return_id.in_(returns))),
        ),
    )


def _case_events(case_id: int) -> Any:
    from ..core.audit import AuditEvent

    round_cases = sa.select(RoundCase.id).where(RoundCase.case_id == case_id)
    return sa.or_(
        sa.and_(AuditEvent.entity_type == "Case", AuditEvent.entity_id == case_id),
        _events_of_round_cases(round_cases),
    )


def _round_case_events(round_id: int) -> Any:
    return _events_of_round_cases(sa.select(RoundCase.id).where(RoundCase.round_id == round_id))


register_audit_filter("case", label="Case", blank="Any case", choices=_case_choices)
add_audit_filter_part("case", _case_events)
add_audit_filter_part("round", _round_case_events)
