"""API endpoints special to case audits: cases (and redacting a wrong reference), cohort files, re-audits
(carrying cases) and the panel's judgement."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from flask import abort, jsonify
from pydantic import BaseModel, Field, StrictBool, StringConstraints

from ..accounts.models import Agency
from ..case_audits import cohort, services
from ..case_audits.cohort import CohortError, parse_cohort
from ..case_audits.models import Case, CaseJudgement, RoundCase
from ..case_audits.permissions import (
    can_redact_case_reference,
    can_view_discussion,
    get_case_or_404,
    get_partnership_round_case_or_404,
    get_round_case_or_404,
)
from ..case_audits.views import cohort_template_response
from ..core.access_log import AccessKind, record_access
from ..core.errors import DomainError, FieldErrors, NotAllowedError
from ..core.inputs import Id
from ..core.roles import Role
from ..extensions import db
from ..questionnaires import learning_themes_tags as tags
from ..questionnaires.answers import MAX_TEXT
from ..questionnaires.models import QuestionnaireKind
from ..reporting.exports import XLSX_MIMETYPE
from ..rounds import services as round_services
from ..rounds.models import Round, RoundStatus
from ..rounds.permissions import (
    can_manage_round,
    can_review_returns,
    can_view_rounds,
    get_managed_round_or_404,
    get_round_or_404,
)
from .helpers import ApiError, parse_body, principal, require, uploaded_file
from .rounds import BUILDERS, VIEWERS, RoundOut, _round, concern_items
from .schemas import Strict
from .spec import api_route

#: as on the page (case_audits.views.MAX_COHORT_BYTES)
MAX_COHORT_BYTES = 2 * 1024 * 1024

Text = Annotated[str, StringConstraints(max_length=MAX_TEXT)]


# -- cases --

ADMIN = (Role.ADMIN,)


class CaseRoundOut(BaseModel):
    round_id: int
    round_case_id: int = Field(description="The case in this round (`cases[].id` of the round)")
    round_title: str
    round_status: RoundStatus
    round_status_label: str
    previous_round_case_id: int | None = Field(description="Set when this audit re-audits an earlier one")


class CaseOut(BaseModel):
    id: int = Field(description="The case's id: stable, whatever its reference becomes")
    reference: str
    age_band: Literal[("", *cohort.AGE_BANDS)] = Field(description="Empty: not recorded")
    sex: Literal[("", *cohort.SEXES)] = Field(description="Empty: not recorded")
    ethnicity: Literal[("", *cohort.ETHNICITIES)] = Field(
        description="A 2021 Census category's key; empty: not recorded"
    )
    disability: Literal[("", *cohort.DISABILITY)] = Field(description="Empty: not recorded")
    plan_type: Literal[("", *cohort.PLAN_TYPES)] = Field(description="Empty: not recorded")
    rounds: list[CaseRoundOut] = Field(description="Every audit of the case, oldest first")


class RedactIn(Strict):
    reference: str = Field(
        description="The new reference or pseudonym; the current one is replaced by it everywhere it is stored, "
        "the audit trail included, for good"
    )


def _case(case: Case) -> dict[str, Any]:
    round_cases = db.session.scalars(
        sa.select(RoundCase).join(RoundCase.round).where(RoundCase.case_id == case.id).order_by(Round.created_at)
    ).all()
    return CaseOut(
        id=case.id,
        reference=case.reference,
        age_band=case.age_band,
        sex=case.sex,
        ethnicity=case.ethnicity,
        disability=case.disability,
        plan_type=case.plan_type,
        rounds=[
            CaseRoundOut(
                round_id=rc.round_id,
                round_case_id=rc.id,
                round_title=rc.round.title,
                round_status=rc.round.status,
                round_status_label=rc.round.status.label,
                previous_round_case_id=rc.previous_round_case_id,
            )
            for rc in round_cases
        ],
    ).model_dump(mode="json")


@api_route(
    "/cases/<int:case_id>",
    "GET",
    summary="Get a case and every audit of it",
    tag="audits",
    response_model=CaseOut,
    roles=VIEWERS,
)
def cases_get(case_id: int):
    p = principal()
    require(can_view_rounds(p))
    case = get_case_or_404(p, case_id)
    record_access(AccessKind.CASE, case.id)
    return jsonify(_case(case))


@api_route(
    "/cases/<int:case_id>/redact",
    "POST",
    summary="Redact a wrongly entered reference: replace it everywhere it is stored, the audit trail included",
    tag="audits",
    request_model=RedactIn,
    response_model=CaseOut,
    roles=ADMIN,
    roles_note="the old reference cannot be recovered; the audit trail records who redacted it and when, never "
    "the old value",
)
def cases_redact(case_id: int):
    p = principal()
    case = get_case_or_404(p, case_id)
    require(can_redact_case_reference(p, case))
    body = parse_body(RedactIn)
    services.redact_case_reference(case, body.reference, p)
    db.session.commit()
    return jsonify(_case(db.session.get(Case, case_id)))


# -- cohort files --


@api_route(
    "/rounds/<int:round_id>/cohort",
    "POST",
    summary="Add a whole cohort from a CSV or Excel file; nothing is added unless every row is right",
    tag="audits",
    upload={"file": "A .csv or .xlsx cohort file (docs/case-audits.md), 2 MB at most"},
    response_model=RoundOut,
    status=201,
    roles=BUILDERS,
)
def rounds_upload_cohort(round_id: int):
    p = principal()
    round_ = get_managed_round_or_404(p, round_id)
    upload = uploaded_file("file")
    data = upload.read(MAX_COHORT_BYTES + 1)
    if len(data) > MAX_COHORT_BYTES:
        raise ApiError(400, "The file is too large", {"file": ["The file must be 2 MB or smaller"]})
    names, codes = services.cohort_agencies(round_.partnership_id)
    try:
        rows = parse_cohort(data, upload.filename or "", agency_names=names, agency_codes=codes)
        services.import_cohort(round_, rows)
    except CohortError as error:
        db.session.rollback()
        raise ApiError(
            400,
            f"The cohort was not added: {len(error.problems)} problem(s)",
            {"file": [str(problem) for problem in error.problems]},
            [asdict(problem) for problem in error.problems],
        ) from None
    except DomainError as error:
        db.session.rollback()
        raise ApiError(error.status_code, error.message, {"file": [error.message]}) from None
    db.session.commit()
    return jsonify(_round(round_)), 201


@api_route(
    "/rounds/<int:round_id>/cohort-template",
    "GET",
    summary="Download the cohort template (Excel): its columns, the values each takes and the agencies",
    tag="audits",
    roles=BUILDERS,
    produces=(XLSX_MIMETYPE,),
)
def rounds_cohort_template(round_id: int):
    """The same file as the round page's "Download the cohort template" link."""
    p = principal()
    round_ = get_managed_round_or_404(p, round_id)
    return cohort_template_response(round_.partnership_id)


# -- re-audits --


class CarryIn(Strict):
    round_case_ids: list[Id] = Field(
        min_length=1, description="Ids of cases of the round this one re-audits (the earlier round's `cases[].id`)"
    )


@api_route(
    "/rounds/<int:round_id>/carry",
    "POST",
    summary="Re-audit: bring cases of the earlier round into this one, linked to their earlier audit",
    tag="audits",
    request_model=CarryIn,
    response_model=RoundOut,
    roles=BUILDERS,
)
def rounds_carry_cases(round_id: int):
    p = principal()
    round_ = get_managed_round_or_404(p, round_id)
    body = parse_body(CarryIn)
    if round_.previous_round_id is None:
        raise DomainError("This round does not re-audit an earlier one", field="round_case_ids")
    wanted = set(body.round_case_ids)
    earlier = db.session.scalars(
        sa.select(RoundCase).where(RoundCase.round_id == round_.previous_round_id, RoundCase.id.in_(wanted))
    ).all()
    missing = wanted - {rc.id for rc in earlier}
    if missing:
        raise DomainError(
            f"Not cases of the earlier round: {', '.join(map(str, sorted(missing)))}", field="round_case_ids"
        )
    services.carry_cases(round_, list(earlier))
    db.session.commit()
    return jsonify(_round(round_))


# -- the panel's judgement --


class LevelOut(BaseModel):
    id: int = Field(description="The level's id, stable whatever its label")
    label: str
    value: float | None


class SectionJudgementOut(BaseModel):
    section_key: str
    section_title: str
    grade_level_id: int | None
    grade: str | None = Field(description="The level's label")
    strengths: str
    areas_for_development: str


class CaseJudgementOut(BaseModel):
    grade_level_id: int | None
    grade: str | None
    strengths: str
    areas_for_development: str
    recommendations: str
    concern_escalated: bool
    escalated_to: str
    escalated_on: date | None
    learning_themes: list[dict[str, Any]] = Field(description="The finding's learning themes: id and name of each")


class JudgementsOut(BaseModel):
    round_id: int
    round_case_id: int
    case_id: int
    case_reference: str
    concern_raised: bool = Field(
        description="An agency's return on this case recorded an immediate safeguarding concern"
    )
    concerns: list[dict[str, Any]] = Field(description="Each such return: agency_id, agency_name, raised_at")
    can_record: bool = Field(description="Whether you may record the judgement now")
    scale: list[LevelOut] = Field(description="The levels a grade is given on")
    sections: list[SectionJudgementOut] = Field(description="One per section of the questionnaire, in order")
    case: CaseJudgementOut = Field(description="The judgement of the case as a whole")


class SectionJudgementIn(Strict):
    grade: str | None = Field(default=None, description="A level label of `scale`; null or omitted: not graded")
    strengths: Text = ""
    areas_for_development: Text = ""


class CaseJudgementIn(SectionJudgementIn):
    recommendations: Text = ""
    concern_escalated: StrictBool = False
    escalated_to: Annotated[str, StringConstraints(max_length=200)] = Field(
        default="", description="Needed when concern_escalated is true"
    )
    escalated_on: date | None = None
    learning_theme_ids: list[Id] | None = Field(
        default=None,
        description="The finding's learning themes (active themes of your partnership); null or omitted keeps them",
    )


class JudgementsIn(Strict):
    sections: dict[str, SectionJudgementIn] = Field(
        default_factory=dict,
        description="Section key -> its judgement. The whole judgement is replaced: a section left out is left ungraded",
    )
    case: CaseJudgementIn = Field(default_factory=CaseJudgementIn)


def _theme_ids(ids: list[int] | None) -> tuple[int, ...] | None:
    return None if ids is None else tuple(ids)


def _can_record(p: Any, round_case: RoundCase) -> bool:
    return can_review_returns(p) and round_case.round.status in (RoundStatus.CLOSED, RoundStatus.IN_DISCUSSION)


def _judgements(p: Any, round_case: RoundCase) -> dict[str, Any]:
    round_ = round_case.round
    stored = {
        j.section_key: j
        for j in db.session.scalars(sa.select(CaseJudgement).where(CaseJudgement.round_case_id == round_case.id))
    }
    blank = CaseJudgement(strengths="", areas_for_development="", recommendations="", escalated_to="")

    def graded(j: CaseJudgement) -> dict[str, Any]:
        return {
            "grade_level_id": j.grade_level_id,
            "grade": j.grade.label if j.grade else None,
            "strengths": j.strengths or "",
            "areas_for_development": j.areas_for_development or "",
        }

    overall = stored.get("", blank)
    raised = round_services.raised_concerns(round_.id, round_case.id)
    return JudgementsOut(
        round_id=round_.id,
        round_case_id=round_case.id,
        case_id=round_case.case_id,
        case_reference=round_case.case.reference,
        concern_raised=bool(raised),
        concerns=concern_items(raised),
        can_record=_can_record(p, round_case),
        scale=[
            LevelOut(id=level.id, label=level.label, value=None if level.value is None else float(level.value))
            for level in services.judgement_scale_levels(round_)
        ],
        sections=[
            SectionJudgementOut(section_key=s.key, section_title=s.title, **graded(stored.get(s.key, blank)))
            for s in round_.version.sections
        ],
        case=CaseJudgementOut(
            **graded(overall),
            recommendations=overall.recommendations or "",
            concern_escalated=bool(overall.concern_escalated),
            escalated_to=overall.escalated_to or "",
            escalated_on=overall.escalated_on,
            learning_themes=tags.theme_refs(overall.themes) if overall is not blank else [],
        ),
    ).model_dump(mode="json")


@api_route(
    "/rounds/<int:round_id>/cases/<int:round_case_id>/judgements",
    "GET",
    summary="The multi-agency panel's judgement of a case: each section's and the case's grade and texts",
    tag="audits",
    response_model=JudgementsOut,
    roles=VIEWERS,
    roles_note="agencies on the case too where the round shares answers and the discussion has opened",
)
def judgements_get(round_id: int, round_case_id: int):
    p = principal()
    round_case = get_partnership_round_case_or_404(p, round_id, round_case_id)
    require(can_view_discussion(p, round_case))
    record_access(AccessKind.CASE, round_case.case_id)
    return jsonify(_judgements(p, round_case))


#: the service's field names -> the API's
_SERVICE_FIELDS = {"grade": "grade", "strengths": "strengths", "development": "areas_for_development"}


def _api_field(field: str | None) -> str:
    if not field:
        return "case"
    if field in ("escalated_to", "escalated_on"):
        return f"case.{field}"
    for prefix, place in (("case-", "case."), ("section-", "sections.")):
        if field.startswith(prefix):
            rest = field[len(prefix) :]
            key, _, name = rest.rpartition("-") if place == "sections." else ("", "", rest)
            parts = [key, _SERVICE_FIELDS.get(name, name)]
            return place + ".".join(part for part in parts if part)
    return field


@api_route(
    "/rounds/<int:round_id>/cases/<int:round_case_id>/judgements",
    "PUT",
    summary="Record the panel's judgement of a case (sections and the case as a whole), once the round is closed",
    tag="audits",
    request_model=JudgementsIn,
    response_model=JudgementsOut,
    roles=BUILDERS,
)
def judgements_put(round_id: int, round_case_id: int):
    p = principal()
    round_case = get_partnership_round_case_or_404(p, round_id, round_case_id)
    require(can_view_discussion(p, round_case) and can_review_returns(p))
    body = parse_body(JudgementsIn)
    if not _can_record(p, round_case):
        raise NotAllowedError("Judgements are recorded once the round is closed for returns, until it is reported")

    def given(item: Any) -> services.JudgementIn:
        return services.JudgementIn(
            grade=item.grade or "",
            strengths=item.strengths,
            areas_for_development=item.areas_for_development,
            recommendations=getattr(item, "recommendations", ""),
            concern_escalated=getattr(item, "concern_escalated", False),
            escalated_to=getattr(item, "escalated_to", ""),
            escalated_on=getattr(item, "escalated_on", None),
            learning_theme_ids=_theme_ids(getattr(item, "learning_theme_ids", None)),
        )

    try:
        services.record_judgements(
            round_case, {key: given(item) for key, item in body.sections.items()}, given(body.case)
        )
    except FieldErrors as error:
        db.session.rollback()
        fields = {_api_field(field): problems for field, problems in error.fields.items()}
        raise ApiError(400, "Some fields are not valid", fields) from None
    db.session.commit()
    return jsonify(_judgements(p, round_case))


# -- the audit meeting, the method and the chair's report --


class AgencyRef(BaseModel):
    id: int = Field(description="The agency's id")
    name: str


class MeetingOut(BaseModel):
    round_id: int
    can_write: bool = Field(description="Whether you may change it")
    meeting_on: date | None = Field(description="Date of the multi-agency audit meeting")
    chair: str
    attendees: str = Field(description="Roles and agencies, one a line")
    agencies_present: list[AgencyRef] = Field(description="Agencies present at the meeting")
    agencies_involved: list[AgencyRef] = Field(
        description="The agencies that can be named present: those on the round's cases"
    )
    period_from: date | None = Field(description="Start of the audit period")
    period_to: date | None = Field(description="End of the audit period")
    selection_method: str | None = Field(description="random, purposive or mixed; null if not recorded")
    selection_method_label: str | None
    selection_criteria: str


class MeetingIn(Strict):
    meeting_on: date | None = None
    chair: Annotated[str, StringConstraints(max_length=services.MAX_CHAIR)] = ""
    attendees: Text = ""
    agency_ids: list[Id] = Field(
        default_factory=list, description="Ids of the agencies present (see agencies_involved)"
    )
    period_from: date | None = None
    period_to: date | None = None
    selection_method: Literal["random", "purposive", "mixed"] | None = None
    selection_criteria: Text = ""


def _case_audit_round(round_id: int, *, write: bool) -> Any:
    p = principal()
    require(can_view_rounds(p))
    round_ = get_round_or_404(p, round_id)
    if round_.kind != QuestionnaireKind.CASE_AUDIT:
        abort(404)
    if write:
        require(can_manage_round(p, round_))
    return round_


def _meeting(round_: Any) -> dict[str, Any]:
    report = services.get_chair_report(round_)
    involved = db.session.scalars(
        sa.select(Agency).where(Agency.id.in_(services.round_agency_ids(round_) or {-1})).order_by(Agency.name)
    ).all()
    method = report.selection_method if report else None
    return MeetingOut(
        round_id=round_.id,
        can_write=can_manage_round(principal(), round_),
        meeting_on=report.meeting_on if report else None,
        chair=report.chair if report else "",
        attendees=report.attendees if report else "",
        agencies_present=[AgencyRef(id=a.id, name=a.name) for a in (report.agencies_present if report else [])],
        agencies_involved=[AgencyRef(id=a.id, name=a.name) for a in involved],
        period_from=report.period_from if report else None,
        period_to=report.period_to if report else None,
        selection_method=method.value if method else None,
        selection_method_label=method.label if method else None,
        selection_criteria=report.selection_criteria if report else "",
    ).model_dump(mode="json")


@api_route(
    "/rounds/<int:round_id>/meeting",
    "GET",
    summary="A case audit's meeting record (date, chair, attendees, agencies present) and method (audit period, selection)",
    tag="audits",
    response_model=MeetingOut,
    roles=VIEWERS,
)
def meeting_get(round_id: int):
    return jsonify(_meeting(_case_audit_round(round_id, write=False)))


@api_route(
    "/rounds/<int:round_id>/meeting",
    "PUT",
    summary="Record a case audit's meeting and method; every field is replaced, every bad field named at once",
    tag="audits",
    request_model=MeetingIn,
    response_model=MeetingOut,
    roles=BUILDERS,
)
def meeting_put(round_id: int):
    round_ = _case_audit_round(round_id, write=True)
    body = parse_body(MeetingIn)
    try:
        services.save_meeting(
            round_,
            services.MeetingIn(
                meeting_on=body.meeting_on,
                chair=body.chair,
                attendees=body.attendees,
                agency_ids=tuple(body.agency_ids),
                period_from=body.period_from,
                period_to=body.period_to,
                selection_method=body.selection_method or "",
                selection_criteria=body.selection_criteria,
            ),
        )
    except FieldErrors as error:
        db.session.rollback()
        raise ApiError(400, "Some fields are not valid", error.fields) from None
    db.session.commit()
    return jsonify(_meeting(round_))


class RecommendationOut(BaseModel):
    id: int = Field(description="Stable while the recommendation is kept, whatever its number")
    number: int
    text: str


class ChairReportOut(BaseModel):
    round_id: int
    can_write: bool
    executive_summary: str
    strengths: str = Field(description="Key findings: strengths")
    challenges: str = Field(description="Key findings: challenges")
    themes: str
    why_it_matters: str = Field(description="The learning briefing's first part")
    what_good_looks_like: str = Field(description="The learning briefing's third part")
    recommendations: list[RecommendationOut] = Field(description="Numbered partnership recommendations, in order")
    figures: list[dict[str, str]] = Field(description="The figures printed beside the findings: [{label, value}]")


class RecommendationIn(Strict):
    id: Id | None = Field(default=None, description="Keep this recommendation (its id); omit to add one")
    text: Text


class ChairReportIn(Strict):
    executive_summary: Text | None = None
    strengths: Text | None = None
    challenges: Text | None = None
    themes: Text | None = None
    why_it_matters: Text | None = None
    what_good_looks_like: Text | None = None
    recommendations: list[RecommendationIn] | None = Field(
        default=None,
        description="The whole list, in order (numbered 1, 2, 3...): one left out is removed. Omit to leave them as they are",
    )


def _chair_report(round_: Any) -> dict[str, Any]:
    from ..reporting import findings as f
    from ..reporting import queries as q
    from ..reporting.report import key_figures

    report = services.get_chair_report(round_)
    main = f.round_findings(round_, parts=frozenset({f.SUMMARY}))
    figures = key_figures(main, q.panel_case_judgements(round_.id).to_dict("records"), False)
    return ChairReportOut(
        round_id=round_.id,
        can_write=can_manage_round(principal(), round_),
        **{name: (getattr(report, name) if report else "") for name, _ in services.REPORT_FIELDS},
        recommendations=[
            RecommendationOut(id=r.id, number=r.number, text=r.text) for r in services.report_recommendations(round_)
        ],
        figures=[{"label": what, "value": value} for what, value in figures],
    ).model_dump(mode="json")


@api_route(
    "/rounds/<int:round_id>/chair-report",
    "GET",
    summary="A case audit's chair's report: its fields, numbered recommendations and the figures beside them",
    tag="audits",
    response_model=ChairReportOut,
    roles=VIEWERS,
)
def chair_report_get(round_id: int):
    return jsonify(_chair_report(_case_audit_round(round_id, write=False)))


@api_route(
    "/rounds/<int:round_id>/chair-report",
    "PUT",
    summary="Write the chair's report: fields given are replaced; recommendations, if given, are the whole list in order",
    tag="audits",
    request_model=ChairReportIn,
    response_model=ChairReportOut,
    roles=BUILDERS,
)
def chair_report_put(round_id: int):
    round_ = _case_audit_round(round_id, write=True)
    body = parse_body(ChairReportIn)
    texts = {name: value for name, _ in services.REPORT_FIELDS if (value := getattr(body, name)) is not None}
    recommendations = (
        [(r.id, r.text) for r in body.recommendations]
        if body.recommendations is not None
        else [(r.id, r.text) for r in services.report_recommendations(round_)]
    )
    try:
        services.save_chair_report(round_, texts, recommendations)
    except FieldErrors as error:
        db.session.rollback()
        fields = {
            (f"recommendations.{int(k.rpartition('-')[2]) - 1}.text" if k.startswith("recommendations-") else k): v
            for k, v in error.fields.items()
        }
        raise ApiError(400, "Some fields are not valid", fields) from None
    db.session.commit()
    return jsonify(_chair_report(round_))


class PractitionerOut(BaseModel):
    agency_id: int
    agency: str
    invited: bool
    attended: bool
    view: str


class PractitionersOut(BaseModel):
    round_id: int
    round_case_id: int
    case_reference: str
    can_write: bool
    practitioners: list[PractitionerOut] = Field(description="One per agency involved with the case")


class PractitionerIn(Strict):
    agency_id: Id
    invited: StrictBool = False
    attended: StrictBool = False
    view: Text = ""


class PractitionersIn(Strict):
    practitioners: list[PractitionerIn] = Field(description="Agencies left out are left as they are")


def _practitioners(round_case: RoundCase) -> dict[str, Any]:
    stored = services.practitioner_involvement(round_case)
    return PractitionersOut(
        round_id=round_case.round_id,
        round_case_id=round_case.id,
        case_reference=round_case.case.reference,
        can_write=can_manage_round(principal(), round_case.round),
        practitioners=[
            PractitionerOut(
                agency_id=a.id,
                agency=a.name,
                invited=bool(stored[a.id].invited) if a.id in stored else False,
                attended=bool(stored[a.id].attended) if a.id in stored else False,
                view=stored[a.id].view if a.id in stored else "",
            )
            for a in round_case.agencies
        ],
    ).model_dump(mode="json")


@api_route(
    "/rounds/<int:round_id>/cases/<int:round_case_id>/practitioners",
    "GET",
    summary="For a case: each agency's practitioner, invited to the audit meeting or not, attended, and their view",
    tag="audits",
    response_model=PractitionersOut,
    roles=VIEWERS,
)
def practitioners_get(round_id: int, round_case_id: int):
    round_ = _case_audit_round(round_id, write=False)
    round_case = get_round_case_or_404(round_, round_case_id)
    record_access(AccessKind.CASE, round_case.case_id)
    return jsonify(_practitioners(round_case))


@api_route(
    "/rounds/<int:round_id>/cases/<int:round_case_id>/practitioners",
    "PUT",
    summary="Record practitioners' involvement on a case (one entry per agency given)",
    tag="audits",
    request_model=PractitionersIn,
    response_model=PractitionersOut,
    roles=BUILDERS,
)
def practitioners_put(round_id: int, round_case_id: int):
    round_ = _case_audit_round(round_id, write=True)
    round_case = get_round_case_or_404(round_, round_case_id)
    body = parse_body(PractitionersIn)
    index = {item.agency_id: i for i, item in enumerate(body.practitioners)}
    if len(index) != len(body.practitioners):
        raise ApiError(400, "Some fields are not valid", {"practitioners": ["Give each agency once"]})
    given = {
        item.agency_id: services.PractitionerIn(invited=item.invited, attended=item.attended, view=item.view)
        for item in body.practitioners
    }
    try:
        services.save_practitioners(round_case, given)
    except FieldErrors as error:
        db.session.rollback()
        fields = {}
        for key, problems in error.fields.items():
            _, agency_id, *part = key.split("-")
            where = f"practitioners.{index[int(agency_id)]}"
            fields[f"{where}.{part[0]}" if part else f"{where}.agency_id"] = problems
        raise ApiError(400, "Some fields are not valid", fields) from None
    db.session.commit()
    return jsonify(_practitioners(round_case))
