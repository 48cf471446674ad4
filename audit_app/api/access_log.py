"""The access log through the API: the filtered log, and who looked at one case (admins and scrutineers)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import jsonify, request
from pydantic import BaseModel, ConfigDict, Field

from ..core.access_log import (
    AccessEvent,
    AccessKind,
    AccessVia,
    case_objects,
    label_of,
    object_labels,
    objects_condition,
)
from ..core.access_views import (
    AccessFilters,
    can_view_access_log,
    case_label_or_404,
    case_summary,
    log_query,
    parse_filters,
    token_names,
)
from ..core.inputs import MAX_ID
from ..core.pagination import Page, paginate
from ..core.roles import Role
from .helpers import ApiError, principal, query_args, require
from .spec import PageQuery, api_route

TAG = "access log"
READERS = (Role.ADMIN, Role.SCRUTINEER)


class AccessLogQuery(PageQuery):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    person: int | None = Field(default=None, ge=1, le=MAX_ID, description="Only this user's views (a user id)")
    from_: date | None = Field(default=None, alias="from", description="Views on or after this day (UK time)")
    to: date | None = Field(default=None, description="Views on or before this day (UK time)")
    kind: AccessKind | None = Field(default=None, description="Only views of this kind of object")
    object: int | None = Field(default=None, ge=1, le=MAX_ID, description="Only views of this object (needs kind)")
    via: AccessVia | None = Field(default=None, description="Only views made this way")


class AccessEventOut(BaseModel):
    id: int
    occurred_at: datetime
    user_id: int
    user_name: str
    user_email: str
    api_token_id: int | None
    api_token_name: str | None
    via: AccessVia
    via_label: str
    object_kind: AccessKind
    object_kind_label: str
    object_id: int
    object_label: str
    endpoint: str = Field(description="The route that showed it")
    ip: str
    user_agent: str


class AccessPersonOut(BaseModel):
    user_id: int
    name: str
    email: str
    count: int
    first_at: datetime
    last_at: datetime


class CaseAccessOut(BaseModel):
    case_id: int
    case_label: str
    people: list[AccessPersonOut] = Field(description="Everyone who viewed the case, its returns or their files")
    items: list[AccessEventOut] = Field(description="Every view, newest first, a page at a time")
    total: int
    page: int
    per_page: int
    pages: int


def _events(partnership_id: int, page: Page) -> list[dict[str, Any]]:
    labels = object_labels(partnership_id, [(e.object_kind, e.object_id) for e in page.items])
    tokens = token_names(page.items)
    return [_event(e, labels, tokens) for e in page.items]


def _event(e: AccessEvent, labels: dict, tokens: dict[int, str]) -> dict[str, Any]:
    return {
        "id": e.id,
        "occurred_at": e.occurred_at.isoformat(),
        "user_id": e.user_id,
        "user_name": e.user.name,
        "user_email": e.user.email,
        "api_token_id": e.api_token_id,
        "api_token_name": tokens.get(e.api_token_id) if e.api_token_id else None,
        "via": e.via.value,
        "via_label": e.via.label,
        "object_kind": e.object_kind.value,
        "object_kind_label": e.object_kind.label,
        "object_id": e.object_id,
        "object_label": label_of(labels, e.object_kind, e.object_id),
        "endpoint": e.endpoint,
        "ip": e.ip,
        "user_agent": e.user_agent,
    }


def _reader() -> Any:
    p = principal()
    require(can_view_access_log(p))
    return p


@api_route(
    "/access-log",
    "GET",
    summary="Who viewed which case, return, review or evidence file, newest first, filtered",
    tag=TAG,
    query_model=AccessLogQuery,
    response_model=AccessEventOut,
    many=True,
    roles=READERS,
)
def access_log_list():
    p = _reader()
    query_args()  # types first: every bad parameter named at once
    filters, errors = parse_filters(request.args, p.partnership_id)
    if errors:
        raise ApiError(400, "Some query parameters are not valid", {name: [msg] for name, msg in errors.items()})
    page = paginate(log_query(p.partnership_id, filters))
    return jsonify({"items": _events(p.partnership_id, page), **page.as_json()})


@api_route(
    "/access-log/cases/<int:case_id>",
    "GET",
    summary="Who looked at a case: every view of it, its returns and their files, by person and one by one",
    tag=TAG,
    query_model=PageQuery,
    response_model=CaseAccessOut,
    roles=READERS,
)
def access_log_case(case_id: int):
    p = _reader()
    query_args()
    label = case_label_or_404(case_id, p.partnership_id)
    condition = objects_condition(case_objects(case_id, p.partnership_id))
    page = paginate(log_query(p.partnership_id, AccessFilters(), objects=condition))
    people = [
        row | {"first_at": row["first_at"].isoformat(), "last_at": row["last_at"].isoformat()}
        for row in case_summary(p.partnership_id, condition)
    ]
    return jsonify(
        {
            "case_id": case_id,
            "case_label": label,
            "people": people,
            "items": _events(p.partnership_id, page),
            **page.as_json(),
        }
    )
