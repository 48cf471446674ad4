"""The practitioner survey: its set-up for the QA group, and the anonymous pages front-line staff open by link."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_limiter import RateLimitExceeded, RequestLimit
from flask_login import login_required

from ..accounts.models import Agency, Partnership
from ..core import clock
from ..core.errors import DomainError
from ..core.forms import REFUSED, ConfirmForm, check_csrf, run_service
from ..core.permissions import allowed_or_403, current_principal
from ..extensions import csrf, db, limiter
from ..questionnaires import answers
from ..questionnaires.models import QuestionnaireKind, QuestionnaireVersion
from ..rounds.models import Return, Round
from ..rounds.permissions import get_managed_round_or_404, get_round_or_404
from . import surveys
from .forms import SurveySetUpForm
from .models import PractitionerSurvey, SurveyLink
from .permissions import (
    can_manage_survey_link,
    can_set_up_survey,
    can_view_survey,
    get_survey_return_or_404,
    survey_returns_query,
)

bp = Blueprint("surveys", __name__)


def _self_assessment_or_404(round_: Round) -> Round:
    if round_.kind != QuestionnaireKind.SELF_ASSESSMENT:
        abort(404)
    return round_


# -- beside the agency's return (templates/self_assessments/survey_beside_return.html) --


@bp.app_template_global()
def survey_beside_return(ret: Return) -> dict[str, Any] | None:
    """The survey's counts for the return's agency, for the return page (whoever sees the return may see them),
    or None when the round has no survey."""
    survey = surveys.survey_of(ret.round)
    if survey is None:
        return None
    return {
        "survey": survey,
        "results": surveys.agency_results(survey, ret.agency),
        "is_open": surveys.is_open(survey),
        "link": surveys.live_link(survey, ret.agency_id),
    }


# -- the QA group's pages --


def _version_choices(partnership_id: int) -> list[tuple[Any, str]]:
    return [("", "Choose a published practitioner survey")] + [
        (v.id, f"{v.questionnaire.title} (version {v.number})") for v in surveys.survey_versions(partnership_id)
    ]


def _survey_page(round_: Round, form: SurveySetUpForm | None = None, status: int = 200):
    p = current_principal()
    survey = surveys.survey_of(round_)
    can_set_up = can_set_up_survey(p, round_)
    if can_set_up and form is None:
        form = SurveySetUpForm(formdata=None)
        if survey is not None:
            form.version_id.data = survey.questionnaire_version_id
            form.closes_on.data = survey.closes_on
    if form is not None:
        form.version_id.choices = _version_choices(round_.partnership_id)
    rows = []
    if survey is not None:
        returns = db.session.scalars(survey_returns_query(p, round_.id).join(Return.agency).order_by(Agency.name)).all()
        counts = surveys.response_counts(survey, [r.agency_id for r in returns])
        live = {
            link.agency_id: link
            for link in db.session.scalars(
                sa.select(SurveyLink).where(SurveyLink.survey_id == survey.id, SurveyLink.revoked_at.is_(None))
            )
        }
        rows = [(r.agency, counts[r.agency_id], live.get(r.agency_id)) for r in returns]
    return render_template(
        "self_assessments/survey_round.html",
        round=round_,
        survey=survey,
        form=form,
        can_set_up=can_set_up,
        rows=rows,
        is_open=survey is not None and surveys.is_open(survey),
        count_text=surveys.count_text,
        small=surveys.SMALL_COUNT,
    ), status


@bp.get("/rounds/<int:sa_round_id>/survey")
@login_required
def survey_round(sa_round_id: int):
    """The round's practitioner survey: its set-up, and each agency's link and count of responses."""
    p = current_principal()
    allowed_or_403(can_view_survey(p))
    return _survey_page(_self_assessment_or_404(get_round_or_404(p, sa_round_id)))


@bp.post("/rounds/<int:sa_round_id>/survey")
@login_required
def survey_set_up(sa_round_id: int):
    """Switch on the round's practitioner survey, or change its questions or closing date."""
    p = current_principal()
    round_ = _self_assessment_or_404(get_managed_round_or_404(p, sa_round_id))
    form = SurveySetUpForm()
    form.version_id.choices = _version_choices(round_.partnership_id)
    if form.validate_on_submit():
        version = db.session.get(QuestionnaireVersion, form.version_id.data) if form.version_id.data else None
        survey = run_service(
            lambda: surveys.set_up_survey(round_, version=version, closes_on=form.closes_on.data), form=form
        )
        if survey is not REFUSED:
            db.session.commit()
            flash(
                f"The practitioner survey is on, open until {survey.closes_on.day} {survey.closes_on:%B %Y}. "
                "Make a link for each agency below.",
                "success",
            )
            return redirect(url_for("surveys.survey_round", sa_round_id=round_.id), code=303)
    return _survey_page(round_, form, 400)


def _agency_context(sa_round_id: int, agency_id: int) -> tuple[Return, PractitionerSurvey | None]:
    p = current_principal()
    ret = get_survey_return_or_404(p, sa_round_id, agency_id)
    return ret, surveys.survey_of(ret.round)


@bp.get("/rounds/<int:sa_round_id>/survey/agencies/<int:agency_id>")
@login_required
def survey_agency(sa_round_id: int, agency_id: int):
    """One agency's survey: its link, its count of responses and, from 5, how practitioners answered beside the
    agency's own ratings."""
    p = current_principal()
    ret, survey = _agency_context(sa_round_id, agency_id)
    return render_template(
        "self_assessments/survey_agency.html",
        ret=ret,
        round=ret.round,
        agency=ret.agency,
        survey=survey,
        results=surveys.agency_results(survey, ret.agency) if survey else None,
        link=surveys.live_link(survey, agency_id) if survey else None,
        is_open=survey is not None and surveys.is_open(survey),
        can_manage_link=can_manage_survey_link(p, ret.round, agency_id),
        can_view_round=can_view_survey(p),
        form=ConfirmForm(formdata=None),
    )


@bp.post("/rounds/<int:sa_round_id>/survey/agencies/<int:agency_id>/link")
@login_required
def survey_link_make(sa_round_id: int, agency_id: int):
    """Make the agency's link (a new one stops the old working); the link is shown this once."""
    p = current_principal()
    ret, survey = _agency_context(sa_round_id, agency_id)
    allowed_or_403(can_manage_survey_link(p, ret.round, agency_id))
    if survey is None:
        abort(404)
    check_csrf()
    back = url_for("surveys.survey_agency", sa_round_id=sa_round_id, agency_id=agency_id)
    _, token = run_service(lambda: surveys.make_link(survey, agency_id), back=back)
    db.session.commit()
    response = Response(
        render_template(
            "self_assessments/survey_link_made.html",
            round=ret.round,
            agency=ret.agency,
            survey=survey,
            url=url_for("surveys.survey_form", survey_token=token, _external=True),
            back=back,
        )
    )
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.post("/rounds/<int:sa_round_id>/survey/agencies/<int:agency_id>/revoke")
@login_required
def survey_link_revoke(sa_round_id: int, agency_id: int):
    """Stop the agency's link working; it then says the survey has closed."""
    p = current_principal()
    ret, survey = _agency_context(sa_round_id, agency_id)
    allowed_or_403(can_manage_survey_link(p, ret.round, agency_id))
    if survey is None:
        abort(404)
    check_csrf()
    back = url_for("surveys.survey_agency", sa_round_id=sa_round_id, agency_id=agency_id)
    run_service(lambda: surveys.revoke_link(survey, agency_id), back=back)
    db.session.commit()
    flash(f"The link for {ret.agency.name} no longer works. Make a new one to reopen it.", "success")
    return redirect(back, code=303)


# -- the public pages: no account, nothing of the app but the survey --


def _public(template: str, status: int = 200, **context: Any) -> Response:
    response = Response(render_template(template, **context), status=status)
    response.headers["Referrer-Policy"] = "no-referrer"  # the token never leaves in a Referer header
    return response


def _rate_limit() -> str:
    return current_app.config["SURVEY_RATE_LIMIT"]


def _link_key() -> str:
    token = (request.view_args or {}).get("survey_token", "")
    return "survey-link:" + surveys._token_hash(str(token))


def _busy(limit: RequestLimit) -> Response:
    # the survey's own page, not the service's error page (which would show the service's name and links)
    return _public("self_assessments/survey_public_busy.html", 429)


@bp.errorhandler(RateLimitExceeded)
def _rate_limited(error: RateLimitExceeded) -> Response:
    # the survey's busy page (set by _busy) rather than the service's error page: the link shows only the survey
    return error.get_response()


# CSRF still applies: the view checks the token itself (ConfirmForm), so a stale page is answered on the survey
# ("send them again", the answers kept) rather than on the service's error page, which the link must not show.
@csrf.exempt
@bp.route("/survey/<survey_token>", methods=["GET", "POST"])
@limiter.limit(
    _rate_limit, methods=["POST"], key_func=_link_key, deduct_when=lambda r: r.status_code == 303, on_breach=_busy
)
def survey_form(survey_token: str):
    """The survey as a practitioner sees it: the agency's and partnership's names, the questions, the closing
    date. Closed or revoked: 410, and nothing is taken."""
    link = surveys.link_for_token(survey_token)
    if link is None:
        return _public("self_assessments/survey_public_missing.html", 404)
    survey = link.survey
    partnership = db.session.get(Partnership, survey.round.partnership_id)
    names = {"agency": link.agency.name, "partnership": partnership.name if partnership else ""}
    if not surveys.link_is_open(link):
        return _public("self_assessments/survey_public_closed.html", 410, names=names)
    questions = surveys.survey_questions(survey)
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    status = 200
    expired = False
    if request.method == "POST":
        posted = {q.key: answers.answer_type(q).from_form(request.form, f"q-{q.key}") for q in questions}
        if not ConfirmForm().validate_on_submit():
            # the page's CSRF token is missing or stale (a page left open for hours): ask again, on the survey
            expired, values, status = True, posted, 400
        else:
            try:
                surveys.record_response(link, posted)
            except DomainError as error:
                db.session.rollback()
                if isinstance(error, surveys.SurveyFull):
                    return _public("self_assessments/survey_public_closed.html", 429, names=names, why=error.message)
                if error.status_code == 409:  # closed meanwhile: say so, take nothing
                    return _public("self_assessments/survey_public_closed.html", 410, names=names)
                problems = getattr(error, "fields", None) or {questions[0].key: [error.message]}
                errors = {key: messages[0] for key, messages in problems.items()}
                values = posted
                status = 400
            else:
                db.session.commit()
                return redirect(url_for("surveys.survey_thanks"), code=303)
    error_list = [
        {"text": errors[q.key], "href": "#" + answers.answer_type(q).error_anchor(f"q-{q.key}")}
        for q in questions
        if q.key in errors
    ]
    if expired and questions:
        error_list = [
            {
                "text": "Your answers were not sent because the page had been open too long: check them and send "
                "them again",
                "href": "#" + answers.answer_type(questions[0]).error_anchor(f"q-{questions[0].key}"),
            }
        ]
    return _public(
        "self_assessments/survey_public_form.html",
        status,
        names=names,
        title=survey.version.questionnaire.title,
        description=survey.version.questionnaire.description,
        sections=[(s, s.questions) for s in survey.version.sections if s.questions],
        closes_on=survey.closes_on,
        today=clock.today(),
        values=values,
        errors=errors,
        error_list=error_list,
    )


@bp.get("/survey/thanks")
def survey_thanks():
    """Thanks for answering (names nothing: it is the same page for every survey)."""
    return _public("self_assessments/survey_public_thanks.html")
