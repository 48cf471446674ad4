"""API endpoints for questionnaires: list, read a version in full, import."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import jsonify, request
from pydantic import BaseModel, ConfigDict, Field

from ..accounts.models import Role
from ..extensions import db
from ..questionnaires import services
from ..questionnaires.models import Questionnaire, QuestionnaireKind, QuestionnaireVersion, VersionStatus
from ..questionnaires.permissions import (
    can_edit_questionnaires,
    can_view_questionnaires,
    get_questionnaire_or_404,
    get_version_or_404,
    questionnaires_query,
)
from ..questionnaires.spec import QuestionnaireSpec, parse_text
from .helpers import ApiError, json_object, page_of, principal, query_args, require
from .spec import ANY_ROLE, PageQuery, api_route

VIEWERS = ANY_ROLE
BUILDERS = (Role.ADMIN, Role.QA_MEMBER)


class VersionSummary(BaseModel):
    id: int = Field(description="Use as version_id when planning a round")
    number: int
    status: VersionStatus
    published_at: datetime | None
    retired_at: datetime | None
    in_use: bool
    question_count: int


class QuestionnaireOut(BaseModel):
    id: int
    key: str
    title: str
    kind: QuestionnaireKind
    theme: str | None
    description: str
    versions: list[VersionSummary]


class VersionOut(BaseModel):
    id: int
    questionnaire_id: int
    number: int
    status: VersionStatus
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


class QuestionnairesQuery(PageQuery):
    kind: QuestionnaireKind | None = Field(default=None, description="Only questionnaires of this kind")


@api_route(
    "/questionnaires",
    "GET",
    summary="List questionnaires and their versions",
    tag="questionnaires",
    response_model=QuestionnaireOut,
    many=True,
    roles=VIEWERS,
    query_model=QuestionnairesQuery,
)
def questionnaires_list():
    """The partnership's questionnaires."""
    p = principal()
    require(can_view_questionnaires(p))
    query = questionnaires_query(p.partnership_id)
    args = query_args()
    if args.kind:
        query = query.where(Questionnaire.kind == args.kind)
    return page_of(query, _questionnaire, unique=True)


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


class ImportQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    publish: bool = Field(default=False, description="Publish the imported version at once (true or false)")


@api_route(
    "/questionnaires/import",
    "POST",
    summary="Import a questionnaire (JSON body, or YAML with Content-Type application/yaml)",
    tag="questionnaires",
    request_model=QuestionnaireSpec,
    response_model=VersionOut,
    status=201,
    roles=BUILDERS,
    query_model=ImportQuery,
    accepts=("application/yaml",),
)
def questionnaires_import():
    """A new questionnaire, or the next draft of an existing one; refused whole if anything is wrong."""
    p = principal()
    require(can_edit_questionnaires(p))
    publish = query_args().publish
    content_type = (request.mimetype or "").lower()
    if content_type in ("application/yaml", "application/x-yaml", "text/yaml"):
        data = parse_text(request.get_data(as_text=True))
    elif request.is_json:
        data = json_object("a JSON object (a questionnaire)")
    else:
        raise ApiError(415, "Send the questionnaire as JSON (application/json) or YAML (application/yaml)")
    version = services.import_questionnaire(p.partnership_id, data, publish=publish)
    db.session.commit()
    return jsonify(_version(version)), 201
