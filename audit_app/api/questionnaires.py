"""API endpoints for questionnaires: list, read a version in full, import."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import jsonify, request
from pydantic import BaseModel, Field

from ..extensions import db
from ..questionnaires import services
from ..questionnaires.models import Questionnaire, QuestionnaireVersion
from ..questionnaires.permissions import (
    can_edit_questionnaires,
    can_view_questionnaires,
    get_questionnaire_or_404,
    get_version_or_404,
    questionnaires_query,
)
from ..questionnaires.spec import QuestionnaireSpec, parse_text
from .helpers import ApiError, principal, require
from .spec import api_route

VIEWERS = "any role in the partnership"
BUILDERS = "admin, qa_member"


class VersionSummary(BaseModel):
    id: int = Field(description="Use as version_id when planning a round")
    number: int
    status: str
    published_at: datetime | None
    retired_at: datetime | None
    in_use: bool
    question_count: int


class QuestionnaireOut(BaseModel):
    id: int
    key: str
    title: str
    kind: str
    theme: str | None
    description: str
    versions: list[VersionSummary]


class VersionOut(BaseModel):
    id: int
    questionnaire_id: int
    number: int
    status: str
    published_at: datetime | None
    retired_at: datetime | None
    #: the version in the file format (docs/questionnaire-format.md)
    content: QuestionnaireSpec


def _summary(version: QuestionnaireVersion) -> VersionSummary:
    return VersionSummary(
        id=version.id,
        number=version.number,
        status=version.status.value,
        published_at=version.published_at,
        retired_at=version.retired_at,
        in_use=services.version_in_use(version),
        question_count=len(version.questions),
    )


def _questionnaire(q: Questionnaire) -> dict[str, Any]:
    return QuestionnaireOut(
        id=q.id,
        key=q.key,
        title=q.title,
        kind=q.kind.value,
        theme=q.theme.name if q.theme else None,
        description=q.description,
        versions=[_summary(v) for v in q.versions],
    ).model_dump(mode="json")


def _when(moment: datetime | None) -> str | None:
    """The same form pydantic gives elsewhere in the API: ISO 8601 with Z."""
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def _version(version: QuestionnaireVersion) -> dict[str, Any]:
    return {
        "id": version.id,
        "questionnaire_id": version.questionnaire_id,
        "number": version.number,
        "status": version.status.value,
        "published_at": _when(version.published_at),
        "retired_at": _when(version.retired_at),
        "content": services.export_version(version),
    }


KIND_QUERY = [
    {
        "name": "kind",
        "in": "query",
        "required": False,
        "schema": {"type": "string", "enum": ["case_audit", "self_assessment", "agency_summary"]},
    },
]


@api_route(
    "/questionnaires",
    "GET",
    summary="List questionnaires and their versions",
    tag="questionnaires",
    response_model=QuestionnaireOut,
    many=True,
    roles=VIEWERS,
    query=KIND_QUERY,
)
def questionnaires_list():
    """The partnership's questionnaires."""
    p = principal()
    require(can_view_questionnaires(p))
    query = questionnaires_query(p.partnership_id)
    kind = request.args.get("kind")
    if kind:
        if kind not in ("case_audit", "self_assessment", "agency_summary"):
            raise ApiError(400, "Unknown kind", {"kind": ["must be case_audit, self_assessment or agency_summary"]})
        query = query.where(Questionnaire.kind == kind)
    return jsonify({"items": [_questionnaire(q) for q in db.session.scalars(query).unique()]})


@api_route(
    "/questionnaires/<int:questionnaire_id>",
    "GET",
    summary="Get a questionnaire and its versions",
    tag="questionnaires",
    response_model=QuestionnaireOut,
    roles=VIEWERS,
)
def questionnaires_get(questionnaire_id: int):
    p = principal()
    questionnaire = get_questionnaire_or_404(p.partnership_id, questionnaire_id)
    require(can_view_questionnaires(p))
    return jsonify(_questionnaire(questionnaire))


@api_route(
    "/questionnaires/<int:questionnaire_id>/versions/<int:number>",
    "GET",
    summary="Get one version in full",
    tag="questionnaires",
    response_model=VersionOut,
    roles=VIEWERS,
)
def questionnaires_version(questionnaire_id: int, number: int):
    """A version with every section and question, in the file format."""
    p = principal()
    version = get_version_or_404(p.partnership_id, questionnaire_id, number)
    require(can_view_questionnaires(p))
    return jsonify(_version(version))


PUBLISH_QUERY = [
    {
        "name": "publish",
        "in": "query",
        "required": False,
        "schema": {"type": "boolean"},
        "description": "Publish the imported version at once",
    }
]


@api_route(
    "/questionnaires/import",
    "POST",
    summary="Import a questionnaire (JSON body, or YAML with Content-Type application/yaml)",
    tag="questionnaires",
    request_model=QuestionnaireSpec,
    response_model=VersionOut,
    status=201,
    roles=BUILDERS,
    query=PUBLISH_QUERY,
)
def questionnaires_import():
    """A new questionnaire, or the next draft of an existing one; refused whole if anything is wrong."""
    p = principal()
    require(can_edit_questionnaires(p))
    content_type = (request.mimetype or "").lower()
    if content_type in ("application/yaml", "application/x-yaml", "text/yaml"):
        data = parse_text(request.get_data(as_text=True))
    elif request.is_json:
        data = request.get_json(silent=True)
        if data is None:
            raise ApiError(400, "The body is not valid JSON")
        if not isinstance(data, dict):
            raise ApiError(400, "The body must be a JSON object (a questionnaire)")
    else:
        raise ApiError(415, "Send the questionnaire as JSON (application/json) or YAML (application/yaml)")
    publish = request.args.get("publish", "false").lower()
    if publish not in ("true", "false", "1", "0"):
        raise ApiError(400, "publish must be true or false", {"publish": ["must be true or false"]})
    version = services.import_questionnaire(p.partnership_id, data, publish=publish in ("true", "1"))
    db.session.commit()
    return jsonify(_version(version)), 201
