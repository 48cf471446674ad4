"""API endpoints special to case audits: cohort files, re-audits (carrying cases) and the panel's judgement."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Annotated, Any

import sqlalchemy as sa
from flask import jsonify
from pydantic import BaseModel, Field, StrictBool, StringConstraints

from ..case_audits import services
from ..case_audits.cohort import CohortError, parse_cohort
from ..case_audits.models import CaseJudgement, RoundCase
from ..case_audits.permissions import can_view_discussion, get_partnership_round_case_or_404
from ..case_audits.views import cohort_template_response
from ..core.errors import DomainError, FieldErrors, NotAllowedError
from ..core.inputs import Id
from ..extensions import db
from ..questionnaires.answers import MAX_TEXT
from ..reporting.exports import XLSX_MIMETYPE
from ..rounds.models import RoundStatus
from ..rounds.permissions import can_review_returns, get_managed_round_or_404
from .helpers import ApiError, parse_body, principal, require, uploaded_file
from .rounds import BUILDERS, VIEWERS, RoundOut, _round
from .schemas import Strict
from .spec import api_route

#: as on the page (case_audits.views.MAX_COHORT_BYTES)
MAX_COHORT_BYTES = 2 * 1024 * 1024

Text = Annotated[str, StringConstraints(max_length=MAX_TEXT)]


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


class JudgementsOut(BaseModel):
    round_id: int
    round_case_id: int
    case_id: int
    case_reference: str
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


class JudgementsIn(Strict):
    sections: dict[str, SectionJudgementIn] = Field(
        default_factory=dict,
        description="Section key -> its judgement. The whole judgement is replaced: a section left out is left ungraded",
    )
    case: CaseJudgementIn = Field(default_factory=CaseJudgementIn)


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
    return JudgementsOut(
        round_id=round_.id,
        round_case_id=round_case.id,
        case_id=round_case.case_id,
        case_reference=round_case.case.reference,
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
