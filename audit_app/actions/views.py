"""Pages of recommendations, actions, progress updates and evidence of impact (the plan itself: plan_views).

Plain posted forms, as the chair's report: each page posts its fields, the services check them and name every
bad field at once (FieldErrors), and the page shows the error summary with each message beside its field.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import login_required
from werkzeug.exceptions import RequestEntityTooLarge

from ..accounts.models import Agency
from ..accounts.permissions import agency_links_query
from ..core import storage
from ..core.access_log import AccessKind, AccessVia, record_access
from ..core.errors import DomainError, FieldErrors, NotAllowedError
from ..core.forms import check_csrf, id_value, posted_date
from ..core.permissions import Principal, allowed_or_403, current_principal
from ..extensions import db
from ..rounds.permissions import can_view_rounds, get_round_or_404
from . import dashboard as _dashboard  # noqa: F401  (registers "My actions" on the home page)
from . import services
from .forms import field_errors as _field_errors
from .forms import posted_action as _posted_action
from .forms import posted_id as _posted_id
from .models import Action, ActionStatus, EvidenceStatus, Rag, Recommendation, SourceKind
from .permissions import (
    can_decide_evidence,
    can_edit_action,
    can_manage_recommendations,
    can_update_action,
    get_action_or_404,
    get_evidence_or_404,
    get_recommendation_or_404,
)

bp = Blueprint("actions", __name__)


def _fmt(day: date | None) -> str:
    return day.strftime("%-d %B %Y") if day else ""


# -- recommendations --


def _agency_choices(partnership_id: int) -> list[Agency]:
    links = db.session.scalars(agency_links_query(partnership_id, active_only=True)).unique().all()
    return sorted({link.agency for link in links}, key=lambda a: a.name.casefold())


def _recommendation_form_context(p: Principal) -> dict[str, Any]:
    return {
        "rounds": services.partnership_rounds(p.partnership_id),
        "reviews": services.partnership_reviews(p.partnership_id),
        "theme_choices": services.learning_theme_choices(p.partnership_id),
        "agencies": _agency_choices(p.partnership_id),
        "source_labels": {s.value: s.label for s in SourceKind},
    }


def _posted_recommendation(form: Any, errors: dict[str, str]) -> services.RecommendationIn:
    ids: dict[str, int | None] = {}
    for name, message in (
        ("round_id", "Choose the round the recommendation came from"),
        ("review_id", "Choose the learning review the recommendation came from"),
        ("tested_by_round_id", "Choose a round of this partnership to test the recommendation"),
    ):
        try:
            ids[name] = _posted_id(form.get(name))
        except ValueError:
            errors[name] = message
            ids[name] = None
    agency_ids = []
    for raw in form.getlist("agency_ids"):
        try:
            agency_ids.append(id_value(raw))
        except ValueError:
            errors["agency_ids"] = "Choose agencies of this partnership"
    number = None
    raw_number = (form.get("number") or "").strip()
    if raw_number:
        try:
            number = int(raw_number)
        except ValueError:
            errors["number"] = "The number must be a whole number from 1 to 999"
    themes = [*form.getlist("themes"), *(form.get("new_theme") or "").split(";")]
    source = form.get("source") or ""
    return services.RecommendationIn(
        source=source,
        round_id=ids["round_id"] if source == SourceKind.ROUND else None,
        review_id=ids["review_id"] if source == SourceKind.REVIEW else None,
        source_description=form.get("source_description") or "",
        text=form.get("text") or "",
        number=number,
        themes=themes,
        agency_ids=agency_ids,
        tested_by_round_id=ids["tested_by_round_id"],
    )


@bp.route("/recommendations/new", methods=["GET", "POST"])
@login_required
def recommendation_new():
    """Record a recommendation: from a round or a learning review of the partnership, or from another source
    described in words.

    Query arguments prefill the form (``source``, ``round_id``, ``review_id``, ``text``), for the round's list and
    the review's page to pick from."""
    p = current_principal()
    allowed_or_403(can_manage_recommendations(p))
    errors: dict[str, str] = {}
    if request.method == "POST":
        check_csrf()
        given = _posted_recommendation(request.form, errors)
        try:
            rec = services.create_recommendation(p.partnership_id, given)
        except FieldErrors as error:
            errors.update(_field_errors(error) | errors)
        if errors:
            db.session.rollback()
        else:
            db.session.commit()
            flash(f"Recommendation {rec.number} recorded: now add its actions", "success")
            return redirect(url_for("actions.recommendation_detail", recommendation_id=rec.id), 303)
        values: Any = request.form
    else:
        values = {
            "source": request.args.get("source", ""),
            "round_id": request.args.get("round_id", ""),
            "review_id": request.args.get("review_id", ""),
            "text": request.args.get("text", "")[: services.TEXT_LIMIT],
        }
    return render_template(
        "actions/recommendation_form.html",
        rec=None,
        values=values,
        chosen_themes=request.form.getlist("themes") if request.method == "POST" else [],
        chosen_agencies=request.form.getlist("agency_ids") if request.method == "POST" else [],
        errors=errors,
        **_recommendation_form_context(p),
    ), (400 if errors else 200)


@bp.get("/recommendations/<int:recommendation_id>")
@login_required
def recommendation_detail(recommendation_id: int):
    """A recommendation: its source, number, text, themes, agencies, the round that tests it, and its actions."""
    p = current_principal()
    rec = get_recommendation_or_404(p, recommendation_id)
    return render_template(
        "actions/recommendation_detail.html",
        rec=rec,
        can_manage=can_manage_recommendations(p),
        fmt=_fmt,
    )


@bp.route("/recommendations/<int:recommendation_id>/edit", methods=["GET", "POST"])
@login_required
def recommendation_edit(recommendation_id: int):
    """Change a recommendation's source, number, text, themes, agencies or testing round."""
    p = current_principal()
    rec = get_recommendation_or_404(p, recommendation_id)
    allowed_or_403(can_manage_recommendations(p))
    errors: dict[str, str] = {}
    if request.method == "POST":
        check_csrf()
        given = _posted_recommendation(request.form, errors)
        try:
            services.update_recommendation(rec, given)
        except FieldErrors as error:
            errors.update(_field_errors(error) | errors)
        if errors:
            db.session.rollback()
        else:
            db.session.commit()
            flash(f"Recommendation {rec.number} saved", "success")
            return redirect(url_for("actions.recommendation_detail", recommendation_id=rec.id), 303)
        values: Any = request.form
        chosen_themes = request.form.getlist("themes")
        chosen_agencies = request.form.getlist("agency_ids")
    else:
        values = {
            "source": rec.source.value,
            "round_id": str(rec.round_id or ""),
            "review_id": str(rec.review_id or ""),
            "source_description": rec.source_description,
            "text": rec.text,
            "number": str(rec.number),
            "tested_by_round_id": str(rec.tested_by_round_id or ""),
        }
        chosen_themes = rec.theme_names
        chosen_agencies = [str(a.id) for a in rec.agencies]
    context = _recommendation_form_context(p)
    context["theme_choices"] = sorted(set(context["theme_choices"]) | set(rec.theme_names), key=str.casefold)
    return render_template(
        "actions/recommendation_form.html",
        rec=rec,
        values=values,
        chosen_themes=chosen_themes,
        chosen_agencies=chosen_agencies,
        errors=errors,
        **context,
    ), (400 if errors else 200)


@bp.route("/recommendations/<int:recommendation_id>/delete", methods=["GET", "POST"])
@login_required
def recommendation_delete(recommendation_id: int):
    """Delete a recommendation recorded by mistake (only while it has no actions), after a confirmation."""
    p = current_principal()
    rec = get_recommendation_or_404(p, recommendation_id)
    allowed_or_403(can_manage_recommendations(p))
    back = url_for("actions.recommendation_detail", recommendation_id=rec.id)
    if rec.actions:
        flash(
            "This recommendation has actions, so it cannot be deleted: close its actions as no longer "
            "progressable instead (their history is kept)",
            "error",
        )
        return redirect(back, 303)
    if request.method == "POST":
        check_csrf()
        number, source = rec.number, rec.source_label
        services.delete_recommendation(rec)
        db.session.commit()
        flash(f"Recommendation {number} of {source} deleted", "success")
        return redirect(url_for("plan.plan"), 303)
    return render_template(
        "core/confirm.html",
        title=f"Delete recommendation {rec.number}?",
        caption=rec.source_label,
        lines=[
            f"“{rec.text[:200]}{'…' if len(rec.text) > 200 else ''}” is removed from the action plan.",
            "Its history stays in the audit log.",
        ],
        action=url_for("actions.recommendation_delete", recommendation_id=rec.id),
        button="Yes, delete the recommendation",
        cancel=back,
        warning=True,
    )


# -- promotion in one step, and what a round recommends --


def _promoted_redirect(rec: Recommendation, message: str):
    flash(message, "success")
    return redirect(url_for("actions.recommendation_detail", recommendation_id=rec.id), 303)


@bp.post("/rounds/<int:round_id>/report-recommendations/<int:report_recommendation_id>/promote")
@login_required
def report_recommendation_promote(round_id: int, report_recommendation_id: int):
    """Make a numbered recommendation of the chair's report a recommendation of the plan."""
    from ..case_audits.models import ReportRecommendation

    p = current_principal()
    round_ = get_round_or_404(p, round_id) if can_view_rounds(p) else abort(403)
    report_rec = db.session.scalar(
        sa.select(ReportRecommendation).where(
            ReportRecommendation.id == report_recommendation_id, ReportRecommendation.round_id == round_.id
        )
    )
    if report_rec is None:
        abort(404)
    allowed_or_403(can_manage_recommendations(p))
    check_csrf()
    try:
        rec = services.promote_report_recommendation(report_rec)
    except (NotAllowedError, FieldErrors) as error:
        db.session.rollback()
        flash(getattr(error, "message", str(error)), "error")
        return redirect(url_for("case_audits.chair_report", round_id=round_.id) + "#recommendations", 303)
    db.session.commit()
    return _promoted_redirect(
        rec, f"Recommendation {report_rec.number} of the chair's report is in the action plan: now add its actions"
    )


@bp.post("/rounds/<int:round_id>/cases/<int:round_case_id>/promote-recommendation")
@login_required
def case_recommendation_promote(round_id: int, round_case_id: int):
    """Make the panel's recommendation on a case a recommendation of the plan, addressed to the case's agencies."""
    from ..case_audits.models import CaseJudgement
    from ..case_audits.permissions import get_partnership_round_case_or_404

    p = current_principal()
    round_case = get_partnership_round_case_or_404(p, round_id, round_case_id)
    allowed_or_403(can_manage_recommendations(p))
    check_csrf()
    judgement = db.session.scalar(
        sa.select(CaseJudgement).where(CaseJudgement.round_case_id == round_case.id, CaseJudgement.section_key == "")
    )
    back = url_for("case_audits.case_discussion", round_id=round_id, round_case_id=round_case.id)
    if judgement is None or not (judgement.recommendations or "").strip():
        flash("The panel has recorded no recommendation for this case", "error")
        return redirect(back, 303)
    try:
        rec = services.promote_case_recommendation(judgement)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(back, 303)
    db.session.commit()
    return _promoted_redirect(
        rec, f"The panel's recommendation for case {round_case.case.reference} is in the action plan"
    )


def round_candidates(round_: Any, partnership_id: int) -> list[dict[str, Any]]:
    """What a round recommends, to pick from: the chair's report's, the panel's on each case, and the answers
    agencies gave to recommendation questions in their returns; each with what it already became."""
    from ..case_audits.models import Case, CaseJudgement, ReportRecommendation, RoundCase
    from ..questionnaires.models import Question
    from ..questionnaires.roles import QuestionRole
    from ..rounds.models import Answer, Return, ReturnGroup, ReturnStatus

    recorded = {
        "report": dict(
            db.session.execute(
                sa.select(Recommendation.report_recommendation_id, Recommendation.id).where(
                    Recommendation.partnership_id == partnership_id,
                    Recommendation.report_recommendation_id.is_not(None),
                )
            ).all()
        ),
        "case": dict(
            db.session.execute(
                sa.select(Recommendation.case_judgement_id, Recommendation.id).where(
                    Recommendation.partnership_id == partnership_id, Recommendation.case_judgement_id.is_not(None)
                )
            ).all()
        ),
    }
    out: list[dict[str, Any]] = []
    for rr in db.session.scalars(
        sa.select(ReportRecommendation)
        .where(ReportRecommendation.round_id == round_.id)
        .order_by(ReportRecommendation.number)
    ):
        out.append(
            {
                "kind": "chair_report",
                "where": f"The chair's report, recommendation {rr.number}",
                "text": rr.text,
                "report_recommendation_id": rr.id,
                "recommendation_id": recorded["report"].get(rr.id),
            }
        )
    judgements = db.session.execute(
        sa.select(CaseJudgement, Case.reference)
        .join(RoundCase, RoundCase.id == CaseJudgement.round_case_id)
        .join(Case, Case.id == RoundCase.case_id)
        .where(RoundCase.round_id == round_.id, CaseJudgement.section_key == "")
        .order_by(RoundCase.id)
    ).all()
    for judgement, reference in judgements:
        if (judgement.recommendations or "").strip():
            out.append(
                {
                    "kind": "panel",
                    "where": f"The panel, case {reference}",
                    "text": judgement.recommendations.strip(),
                    "round_case_id": judgement.round_case_id,
                    "recommendation_id": recorded["case"].get(judgement.id),
                }
            )
    rows = db.session.execute(
        sa.select(Answer.value, Agency.name, Case.reference)
        .join(Return, Return.id == Answer.return_id)
        .join(Question, Question.id == Answer.question_id)
        .join(Agency, Agency.id == Return.agency_id)
        .outerjoin(RoundCase, RoundCase.id == Return.round_case_id)
        .outerjoin(Case, Case.id == RoundCase.case_id)
        .where(
            Return.round_id == round_.id,
            Return.status.in_(ReturnStatus.in_group(ReturnGroup.RETURNED)),
            Question.role == QuestionRole.RECOMMENDATION,
        )
        .order_by(Return.round_case_id, Agency.name, Answer.id)
    ).all()
    for value, agency, reference in rows:
        text = value.strip() if isinstance(value, str) else ""
        if text:
            out.append(
                {
                    "kind": "return",
                    "where": f"Case {reference}" if reference else f"{agency}'s return",
                    "agency": agency,
                    "text": text,
                    "recommendation_id": None,
                }
            )
    return out


@bp.get("/rounds/<int:round_id>/recommendations")
@login_required
def round_recommendations(round_id: int):
    """The round's recommendation records, beside what the round recommends in its reports, judgements and
    returns, for the QA group to pick from."""
    p = current_principal()
    allowed_or_403(can_view_rounds(p))
    round_ = get_round_or_404(p, round_id)
    records = db.session.scalars(
        sa.select(Recommendation)
        .where(
            Recommendation.partnership_id == p.partnership_id,
            sa.or_(Recommendation.round_id == round_.id, Recommendation.tested_by_round_id == round_.id),
        )
        .order_by(Recommendation.source_key, Recommendation.number)
    ).all()
    return render_template(
        "actions/round_recommendations.html",
        round=round_,
        records=records,
        candidates=round_candidates(round_, p.partnership_id),
        can_manage=can_manage_recommendations(p),
        fmt=_fmt,
    )


# -- actions --


def _action_form_context(p: Principal) -> dict[str, Any]:
    return {
        "owners": services.owner_choices(p.partnership_id),
        "agencies": _agency_choices(p.partnership_id),
        "rags": [r for r in Rag if r != Rag.BLUE],
    }


@bp.route("/recommendations/<int:recommendation_id>/actions/new", methods=["GET", "POST"])
@login_required
def action_new(recommendation_id: int):
    """Add an action under a recommendation: what will be done, by whom, by when."""
    p = current_principal()
    rec = get_recommendation_or_404(p, recommendation_id)
    allowed_or_403(can_manage_recommendations(p))
    errors: dict[str, str] = {}
    if request.method == "POST":
        check_csrf()
        given = _posted_action(request.form, errors, with_due=True)
        try:
            action = services.add_action(rec, given)
        except FieldErrors as error:
            errors.update(_field_errors(error) | errors)
        if errors:
            db.session.rollback()
        else:
            db.session.commit()
            flash(f"Action added: {action.title}", "success")
            if request.form.get("then") == "another":
                return redirect(url_for("actions.action_new", recommendation_id=rec.id), 303)
            return redirect(url_for("actions.recommendation_detail", recommendation_id=rec.id), 303)
    return render_template(
        "actions/action_form.html",
        rec=rec,
        action=None,
        values=request.form if request.method == "POST" else {"rag": Rag.GREEN.value},
        errors=errors,
        **_action_form_context(p),
    ), (400 if errors else 200)


@bp.route("/actions/<int:action_id>/edit", methods=["GET", "POST"])
@login_required
def action_edit(action_id: int):
    """Change an action's title, owner or owner agency (its due date moves on the action's page, with a reason)."""
    p = current_principal()
    action = get_action_or_404(p, action_id)
    allowed_or_403(can_edit_action(p, action))
    errors: dict[str, str] = {}
    if request.method == "POST":
        check_csrf()
        given = _posted_action(request.form, errors, with_due=False)
        try:
            services.update_action(action, given)
        except FieldErrors as error:
            errors.update(_field_errors(error) | errors)
        if errors:
            db.session.rollback()
        else:
            db.session.commit()
            flash("Action saved", "success")
            return redirect(url_for("actions.action_detail", action_id=action.id), 303)
        values: Any = request.form
    else:
        values = {
            "title": action.title,
            "owner_user_id": str(action.owner_user_id or ""),
            "owner_name": action.owner_name,
            "owner_agency_id": str(action.owner_agency_id or ""),
        }
    return render_template(
        "actions/action_form.html",
        rec=action.recommendation,
        action=action,
        values=values,
        errors=errors,
        **_action_form_context(p),
    ), (400 if errors else 200)


def _action_page(
    p: Principal,
    action: Action,
    *,
    errors: dict[str, str] | None = None,
    form: str = "",
    status: int = 200,
    values: Any = None,
):
    errors = errors or {}
    return render_template(
        "actions/action_detail.html",
        action=action,
        rec=action.recommendation,
        can_update=can_update_action(p, action),
        can_edit=can_edit_action(p, action),
        can_decide=can_decide_evidence(p),
        statuses=list(ActionStatus),
        rags=list(Rag),
        errors=errors,
        posted=form,
        values=(request.form if errors else {}) if values is None else values,
        max_file_mb=_max_file_mb(),
        fmt=_fmt,
        EvidenceStatus=EvidenceStatus,
    ), status


def _max_file_mb() -> str:
    from flask import current_app

    size = int(current_app.config["MAX_FILE_BYTES"]) / (1024 * 1024)
    return f"{size:g} MB"


@bp.get("/actions/<int:action_id>")
@login_required
def action_detail(action_id: int):
    """An action: owner, dates, status and RAG, its history of updates and moved dates, its evidence of impact,
    and the forms of whoever may act on it."""
    p = current_principal()
    return _action_page(p, get_action_or_404(p, action_id))


def _updatable(action_id: int) -> tuple[Principal, Action]:
    p = current_principal()
    action = get_action_or_404(p, action_id)
    allowed_or_403(can_update_action(p, action))
    check_csrf()
    return p, action


def _done(action: Action, message: str, anchor: str = ""):
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("actions.action_detail", action_id=action.id) + anchor, 303)


def _refused(p: Principal, action_id: int, errors: dict[str, str], form: str):
    db.session.rollback()
    # reload after the rollback: the page shows what is stored, with the posted values in the form
    return _action_page(p, get_action_or_404(p, action_id), errors=errors, form=form, status=400)


@bp.post("/actions/<int:action_id>/updates")
@login_required
def action_update_post(action_id: int):
    """Post a progress update: a note, the RAG rating now, and the status if it changes."""
    p, action = _updatable(action_id)
    form = request.form
    given = services.UpdateIn(
        note=form.get("update-note") or "",
        rag=form.get("update-rag") or "",
        status=form.get("update-status") or "",
        closure_reason=form.get("update-closure_reason") or "",
    )
    try:
        services.post_update(action, given, by=p.user_id)
    except FieldErrors as error:
        return _refused(p, action_id, _field_errors(error, prefix="update-"), "update")
    return _done(action, "Progress update posted", "#history")


@bp.post("/actions/<int:action_id>/due-date")
@login_required
def action_move_due_date(action_id: int):
    """Move the due date, with a reason; the date first agreed stays visible."""
    p, action = _updatable(action_id)
    errors: dict[str, str] = {}
    new_date, problem = posted_date(request.form, "move-due_on", "new due date")
    try:
        services.move_due_date(action, new_date, request.form.get("move-reason") or "", by=p.user_id)
    except FieldErrors as error:
        errors = _field_errors(error, prefix="move-")
    if problem:
        errors["move-due_on"] = problem
    if errors:
        return _refused(p, action_id, errors, "move")
    return _done(action, f"Due date moved to {_fmt(action.due_on)}")


@bp.errorhandler(RequestEntityTooLarge)
def upload_too_large(error: RequestEntityTooLarge):
    """A body past the request limit (refused while the CSRF check reads it): on the evidence form, the action's
    page with the message beside the file input; elsewhere the usual page."""
    action_id = (request.view_args or {}).get("action_id")
    if not current_principal().is_authenticated:
        # the body was read (CSRF check) before the request's principal was loaded: load it now
        from ..accounts.session import _load_principal

        _load_principal()
    p = current_principal()
    if request.endpoint != "actions.action_evidence_add" or action_id is None or not p.is_authenticated:
        return render_template("errors/error.html", code=413, title="The file is too large", message=None), 413
    action = get_action_or_404(p, action_id)
    allowed_or_403(can_update_action(p, action))
    message = f"The files are too large: each must be {_max_file_mb()} or smaller, and all of them together too"
    return _action_page(p, action, errors={"evidence-files": message}, form="evidence", status=413, values={})


@bp.post("/actions/<int:action_id>/evidence")
@login_required
def action_evidence_add(action_id: int):
    """Add evidence of impact: what changed, an optional measure before and after, files."""
    p, action = _updatable(action_id)
    form = request.form
    errors: dict[str, str] = {}
    dates = {}
    for name, what in (("before_on", "date measured before"), ("after_on", "date measured after")):
        dates[name], problem = posted_date(form, f"evidence-{name}", what)
        if problem:
            errors[f"evidence-{name}"] = problem
    given = services.EvidenceIn(
        description=form.get("evidence-description") or "",
        measure=form.get("evidence-measure") or "",
        unit=form.get("evidence-unit") or "",
        before_value=form.get("evidence-before_value") or "",
        before_on=dates["before_on"],
        after_value=form.get("evidence-after_value") or "",
        after_on=dates["after_on"],
    )
    files = [(upload.stream, upload.filename) for upload in request.files.getlist("evidence-files") if upload.filename]
    try:
        evidence = services.add_evidence(action, given, files, by=p.user_id)
    except FieldErrors as error:
        errors = _field_errors(error, prefix="evidence-") | errors
    if errors:
        return _refused(p, action_id, errors, "evidence")
    count = len(evidence.files)
    return _done(
        action,
        "Evidence of impact added"
        + (f" with {count} file{'s' if count != 1 else ''}" if count else "")
        + ": the QA group will review it",
        "#evidence",
    )


@bp.post("/actions/<int:action_id>/evidence/<int:evidence_id>/decision")
@login_required
def action_evidence_decide(action_id: int, evidence_id: int):
    """The QA group accepts or rejects a piece of evidence, with a note; accepting can complete the action."""
    p = current_principal()
    evidence = get_evidence_or_404(p, action_id, evidence_id)
    allowed_or_403(can_decide_evidence(p))
    check_csrf()
    form = request.form
    decision = form.get("decision") or ""
    prefix = f"decision-{evidence.id}-"
    if decision not in ("accept", "reject"):
        return _refused(p, action_id, {prefix + "decision": "Choose whether to accept the evidence"}, "decision")
    try:
        services.decide_evidence(
            evidence,
            accept=decision == "accept",
            note=form.get("decision_note") or "",
            by=p.user_id,
            complete_action=decision == "accept" and form.get("complete_action") == "yes",
        )
    except FieldErrors as error:
        return _refused(p, action_id, _field_errors(error, {"decision_note": prefix + "note"}, prefix), "decision")
    action = evidence.action
    message = "Evidence accepted" if decision == "accept" else "Evidence not accepted"
    if action.status == ActionStatus.COMPLETE and decision == "accept" and form.get("complete_action") == "yes":
        message += ": the action is complete"
    return _done(action, message, "#evidence")


@bp.get("/actions/<int:action_id>/evidence/<int:evidence_id>/files/<int:file_id>")
@login_required
def action_evidence_file(action_id: int, evidence_id: int, file_id: int):
    """A file of a piece of evidence, as an attachment, only to those who can see the action."""
    p = current_principal()
    evidence = get_evidence_or_404(p, action_id, evidence_id)
    stored = next((f for f in evidence.files if f.id == file_id), None)
    if stored is None:
        abort(404)
    record_access(AccessKind.EVIDENCE_FILE, stored.id, via=AccessVia.DOWNLOAD)
    response = send_file(
        storage.open_file(stored),
        mimetype=stored.content_type,
        as_attachment=True,
        download_name=stored.original_filename,
        conditional=False,
        etag=stored.sha256,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Content-SHA256"] = stored.sha256
    return response


# -- what the case-audit pages show of the plan (called by their views) --


def chair_report_plan(round_: Any) -> dict[str, Any]:
    """For the chair's report: each saved numbered recommendation's record in the plan (by its id), and whether
    the viewer may add the others."""
    from ..case_audits.models import ReportRecommendation

    p = current_principal()
    promoted = dict(
        db.session.execute(
            sa.select(Recommendation.report_recommendation_id, Recommendation)
            .join(ReportRecommendation, ReportRecommendation.id == Recommendation.report_recommendation_id)
            .where(ReportRecommendation.round_id == round_.id, Recommendation.partnership_id == p.partnership_id)
        ).all()
    )
    return {"plan_promoted": promoted, "can_promote": can_manage_recommendations(p)}


def case_discussion_plan(round_case: Any) -> dict[str, Any]:
    """For the case discussion: the record the panel's recommendation became, and whether the viewer may add it."""
    from ..case_audits.models import CaseJudgement

    p = current_principal()
    rec = db.session.scalar(
        sa.select(Recommendation)
        .join(CaseJudgement, CaseJudgement.id == Recommendation.case_judgement_id)
        .where(CaseJudgement.round_case_id == round_case.id, CaseJudgement.section_key == "")
    )
    return {"plan_recommendation": rec, "can_promote": can_manage_recommendations(p)}
