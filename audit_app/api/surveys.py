"""Practitioner surveys through the API (set-up and counts; never respondents).

The survey of a self-assessment round: its questions and closing date (the QA group and admins of the round's
partnership), a link per agency (its token answered once, when made), and per agency the count of responses
and, from 5, each question's distribution and each standard's comparison with the agency's own ratings. Who
reaches which agency is the pages' rule (self_assessments/permissions.py): partnership-wide roles every agency
of the returns they see, an agency's auditors and leads their own.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from flask import abort, jsonify, url_for
from pydantic import BaseModel, Field

from ..core.inputs import Id
from ..core.roles import Role
from ..extensions import db
from ..questionnaires.models import QuestionnaireKind, QuestionnaireVersion
from ..rounds.models import Return, Round
from ..rounds.permissions import get_managed_round_or_404, get_round_or_404
from ..self_assessments import surveys
from ..self_assessments.models import PractitionerSurvey, SurveyLink
from ..self_assessments.permissions import (
    can_manage_survey_link,
    can_set_up_survey,
    can_view_survey,
    get_survey_return_or_404,
    survey_returns_query,
)
from .helpers import parse_body, principal, require
from .schemas import Strict
from .spec import ANY_ROLE, api_route

TAG = "practitioner surveys"
MANAGERS = (Role.ADMIN, Role.QA_MEMBER)
LINK_MAKERS = (Role.ADMIN, Role.QA_MEMBER, Role.AGENCY_LEAD)
SCOPED = "agency auditors and leads reach their own agency only"
LINK_NOTE = "an agency lead for their own agency"
VERDICT_LABELS = {
    "leaders_higher": "Practitioners are less positive than the self-rating",
    "practitioners_higher": "Practitioners are more positive than the self-rating",
    "agree": "Practitioners and the self-rating broadly agree",
    "not_compared": "Not compared",
}


class SurveyIn(Strict):
    version_id: Id = Field(description="A published practitioner-survey questionnaire version of the partnership")
    closes_on: date | None = Field(default=None, description="The last day answers are taken; null: the due date")


class NamedRef(BaseModel):
    id: int
    name: str


class RoundRef(BaseModel):
    id: int
    title: str


class VersionRef(BaseModel):
    id: int
    questionnaire_key: str
    title: str
    number: int


class LinkOut(BaseModel):
    id: int
    made_at: datetime = Field(description="When the agency's working link was made (the token is never shown again)")


class AgencyCountOut(BaseModel):
    agency: NamedRef
    responses: int | None = Field(description="The number of responses; null when 1 to 4 (suppressed)")
    responses_text: str = Field(description="The count as pages show it: 'none yet', 'fewer than 5', or the number")
    suppressed: bool = Field(description="Fewer than 5 responses: no distribution or comparison is given")
    link: LinkOut | None = Field(description="The agency's working link, if it has one")


class SurveyOut(BaseModel):
    id: int
    round: RoundRef
    version: VersionRef
    closes_on: date
    is_open: bool
    can_set_up: bool = Field(description="Whether you may change the survey")
    agencies: list[AgencyCountOut] = Field(description="Each agency whose return you may see, by name")


class ChoiceOut(BaseModel):
    label: str
    count: int
    percent: int = Field(description="Of those who answered the question, rounded")


class QuestionOut(BaseModel):
    key: str
    text: str
    section_key: str = Field(description="The standard (section key) the question speaks to")
    section_title: str
    answered: int
    choices: list[ChoiceOut] = Field(description="Every answer offered, in order, with how many chose it")


class ComparisonOut(BaseModel):
    section_key: str = Field(description="The standard's section key, in the survey and the round's questionnaire")
    title: str = Field(description="The standard's title in the round's questionnaire")
    verdict: Literal["leaders_higher", "practitioners_higher", "agree", "not_compared"]
    verdict_label: str
    disagrees: bool = Field(description="The shares of best-level answers differ by 25 percentage points or more")
    sentence: str
    leaders_good: int = Field(description="The agency's criteria self-rated at a good level (Fully met)")
    leaders_rated: int = Field(description="The agency's criteria self-rated, not-applicable left out")
    practitioners_good: int = Field(description="Practitioners' answers at a good level (Agree)")
    practitioners_graded: int = Field(description="Practitioners' graded answers ('Don't know' left out)")


class AgencyResultsOut(AgencyCountOut):
    survey_id: int
    closes_on: date
    is_open: bool
    questions: list[QuestionOut] = Field(description="Empty when suppressed")
    comparisons: list[ComparisonOut] = Field(description="Empty when suppressed")


class LinkMadeOut(BaseModel):
    agency: NamedRef
    link: LinkOut
    token: str = Field(description="Shown this once: only its hash is kept")
    url: str = Field(description="The page practitioners open, without an account")


# -- helpers --


def _survey_or_404(round_: Round) -> PractitionerSurvey:
    if round_.kind != QuestionnaireKind.SELF_ASSESSMENT:
        abort(404)
    survey = surveys.survey_of(round_)
    if survey is None:
        abort(404, "This round has no practitioner survey")
    return survey


def _link(link: SurveyLink | None) -> dict | None:
    return {"id": link.id, "made_at": link.created_at.isoformat()} if link else None


def _count(agency_id: int, name: str, responses: int, link: SurveyLink | None) -> dict:
    return {
        "agency": {"id": agency_id, "name": name},
        "responses": None if 0 < responses < surveys.SMALL_COUNT else responses,
        "responses_text": surveys.count_text(responses),
        "suppressed": surveys.is_suppressed(responses),
        "link": _link(link),
    }


def _survey(survey: PractitionerSurvey, returns: list[Return], can_set_up: bool) -> dict:
    counts = surveys.response_counts(survey, [r.agency_id for r in returns])
    version = survey.version
    return {
        "id": survey.id,
        "round": {"id": survey.round.id, "title": survey.round.title},
        "version": {
            "id": version.id,
            "questionnaire_key": version.questionnaire.key,
            "title": version.questionnaire.title,
            "number": version.number,
        },
        "closes_on": survey.closes_on.isoformat(),
        "is_open": surveys.is_open(survey),
        "can_set_up": can_set_up,
        "agencies": [
            _count(r.agency_id, r.agency.name, counts[r.agency_id], surveys.live_link(survey, r.agency_id))
            for r in sorted(returns, key=lambda r: r.agency.name)
        ],
    }


def _results(survey: PractitionerSurvey, ret: Return) -> dict:
    results = surveys.agency_results(survey, ret.agency)
    return _count(ret.agency_id, ret.agency.name, results.responses, surveys.live_link(survey, ret.agency_id)) | {
        "survey_id": survey.id,
        "closes_on": survey.closes_on.isoformat(),
        "is_open": surveys.is_open(survey),
        "questions": [
            {
                "key": q.key,
                "text": q.text,
                "section_key": q.section_key,
                "section_title": q.section_title,
                "answered": q.answered,
                "choices": [{"label": c.label, "count": c.count, "percent": c.percent} for c in q.choices],
            }
            for q in results.questions
        ],
        "comparisons": [
            {
                "section_key": c.section_key,
                "title": c.title,
                "verdict": c.verdict,
                "verdict_label": VERDICT_LABELS[c.verdict],
                "disagrees": c.disagrees,
                "sentence": c.sentence,
                "leaders_good": c.leaders_good,
                "leaders_rated": c.leaders_rated,
                "practitioners_good": c.practitioners_good,
                "practitioners_graded": c.practitioners_graded,
            }
            for c in results.comparisons
        ],
    }


# -- routes --


@api_route(
    "/rounds/<int:sa_round_id>/survey",
    "GET",
    summary="A self-assessment round's practitioner survey: its questions, closing date, and each agency's count "
    "of responses and link (404 if the round has none)",
    tag=TAG,
    response_model=SurveyOut,
    roles=(Role.ADMIN, Role.QA_MEMBER, Role.SCRUTINEER),
)
def surveys_get(sa_round_id: int):
    p = principal()
    require(can_view_survey(p))
    round_ = get_round_or_404(p, sa_round_id)
    survey = _survey_or_404(round_)
    returns = list(db.session.scalars(survey_returns_query(p, round_.id)))
    return jsonify(_survey(survey, returns, can_set_up_survey(p, round_)))


@api_route(
    "/rounds/<int:sa_round_id>/survey",
    "PUT",
    summary="Switch on the round's practitioner survey, or change its questions (until someone answers) or "
    "closing date; every bad field named at once",
    tag=TAG,
    request_model=SurveyIn,
    response_model=SurveyOut,
    roles=MANAGERS,
)
def surveys_put(sa_round_id: int):
    p = principal()
    round_ = get_managed_round_or_404(p, sa_round_id)
    if round_.kind != QuestionnaireKind.SELF_ASSESSMENT:
        abort(404)
    body = parse_body(SurveyIn)
    version = db.session.get(QuestionnaireVersion, body.version_id)
    survey = surveys.set_up_survey(round_, version=version, closes_on=body.closes_on)
    db.session.commit()
    returns = list(db.session.scalars(survey_returns_query(p, round_.id)))
    return jsonify(_survey(survey, returns, True))


@api_route(
    "/rounds/<int:sa_round_id>/survey/agencies/<int:agency_id>",
    "GET",
    summary="One agency's survey results: its count and, from 5 responses, each question's distribution and each "
    "standard's comparison with the agency's own ratings (never a respondent)",
    tag=TAG,
    response_model=AgencyResultsOut,
    roles=ANY_ROLE,
    roles_note=SCOPED,
)
def surveys_agency_get(sa_round_id: int, agency_id: int):
    p = principal()
    ret = get_survey_return_or_404(p, sa_round_id, agency_id)
    survey = _survey_or_404(ret.round)
    return jsonify(_results(survey, ret))


@api_route(
    "/rounds/<int:sa_round_id>/survey/agencies/<int:agency_id>/link",
    "POST",
    summary="Make the agency's survey link (any link it had stops working); the token is in this answer only",
    tag=TAG,
    response_model=LinkMadeOut,
    status=201,
    roles=LINK_MAKERS,
    roles_note=LINK_NOTE,
)
def surveys_link_create(sa_round_id: int, agency_id: int):
    p = principal()
    ret = get_survey_return_or_404(p, sa_round_id, agency_id)
    require(can_manage_survey_link(p, ret.round, agency_id))
    survey = _survey_or_404(ret.round)
    link, token = surveys.make_link(survey, agency_id)
    db.session.commit()
    body = {
        "agency": {"id": ret.agency_id, "name": ret.agency.name},
        "link": _link(link),
        "token": token,
        "url": url_for("surveys.survey_form", survey_token=token, _external=True),
    }
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response, 201


@api_route(
    "/rounds/<int:sa_round_id>/survey/agencies/<int:agency_id>/link",
    "DELETE",
    summary="Stop the agency's survey link working: it then says the survey has closed (404 if it has none)",
    tag=TAG,
    status=204,
    roles=LINK_MAKERS,
    roles_note=LINK_NOTE,
)
def surveys_link_revoke(sa_round_id: int, agency_id: int):
    p = principal()
    ret = get_survey_return_or_404(p, sa_round_id, agency_id)
    require(can_manage_survey_link(p, ret.round, agency_id))
    survey = _survey_or_404(ret.round)
    if surveys.live_link(survey, agency_id) is None:
        abort(404, "This agency has no working survey link")
    surveys.revoke_link(survey, agency_id)
    db.session.commit()
    return "", 204
