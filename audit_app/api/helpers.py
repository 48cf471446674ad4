"""Small helpers shared by API views: body, query and file parsing, permission checks, paging."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import abort, jsonify, request
from pydantic import BaseModel, ValidationError
from werkzeug.datastructures import FileStorage

from ..core.inputs import MAX_JSON_DEPTH, UNSTORABLE, json_nul_path, json_too_deep
from ..core.pagination import paginate
from ..core.permissions import Principal, current_principal
from ..core.web import json_error
from . import bp
from .spec import operation_for

M = TypeVar("M", bound=BaseModel)


class ApiError(Exception):
    """An API refusal: status, message and the fields at fault."""

    def __init__(
        self,
        status: int,
        message: str,
        fields: dict[str, list[str]] | None = None,
        problems: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.fields = fields
        #: for an uploaded file: each problem with where it is (sheet and cell, or row and column)
        self.problems = problems


@bp.errorhandler(ApiError)
def _api_error(error: ApiError):
    response, status = json_error(error.status, error.message, error.fields)
    if error.problems is not None:
        body = response.get_json()
        body["error"]["problems"] = error.problems
        response = jsonify(body)
    return response, status


def _fields(exc: ValidationError, fallback: str) -> dict[str, list[str]]:
    fields: dict[str, list[str]] = {}
    for item in exc.errors(include_url=False):
        name = ".".join(str(part) for part in item["loc"]) or fallback
        fields.setdefault(name, []).append(item["msg"])
    return fields


def json_object(what: str = "a JSON object") -> dict[str, Any]:
    """The request's JSON body as a dict: refused (400) if too deeply nested, not JSON, not an object,
    or holding a NUL character anywhere. Every JSON body the API reads comes through here."""
    if json_too_deep(request.get_data(cache=True)):
        # refused before parsing: a deep enough body makes the parser (or pydantic) recurse until it fails
        raise ApiError(400, f"The body is nested more than {MAX_JSON_DEPTH} levels deep")
    data = request.get_json(silent=True)
    if data is None:
        raise ApiError(400, "The body is not valid JSON")
    if not isinstance(data, dict):
        raise ApiError(400, f"The body must be {what}")
    where = json_nul_path(data)
    if where is not None:
        raise ApiError(400, f"'{where}' {UNSTORABLE}", {where: [f"The text {UNSTORABLE} (a NUL character)"]})
    return data


def parse_body(model: type[M]) -> M:
    """The request's JSON body validated by ``model``, or a 4xx naming each bad field."""
    if not request.is_json:
        raise ApiError(415, "Send the body as JSON with 'Content-Type: application/json'")
    data = json_object()
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError(400, "Some fields are not valid", _fields(exc, "body")) from None


def query_args() -> Any:
    """The query string validated by the route's declared query model; every bad parameter named at once."""
    op = operation_for(request.endpoint, request.method)
    if op is None or op.query_model is None:
        raise LookupError(f"{request.endpoint} declares no query model")
    try:
        # a blank parameter (an empty form field) counts as not given, as on the pages
        return op.query_model.model_validate({k: v for k, v in request.args.items() if v.strip() != ""})
    except ValidationError as exc:
        raise ApiError(400, "Some query parameters are not valid", _fields(exc, "query")) from None


def page_of(query: sa.Select, serialize: Callable[[Any], dict[str, Any]], *, unique: bool = False):
    """A list answer: ``{items, total, page, per_page, pages}``, counted and sliced in SQL."""
    query_args()  # page and per_page (and any filters) are checked first, so bad values are named together
    page = paginate(query, unique=unique)
    return jsonify({"items": [serialize(item) for item in page.items], **page.as_json()})


def uploaded_file(name: str = "file") -> FileStorage:
    """The file sent as multipart/form-data in field ``name``, or a 4xx saying what to send."""
    if request.mimetype != "multipart/form-data":
        raise ApiError(415, f"Send the file as multipart/form-data, in the field '{name}'")
    upload = request.files.get(name)
    if upload is None or not upload.filename:
        raise ApiError(400, "No file was sent", {name: [f"Send the file in the field '{name}'"]})
    return upload


def require(allowed: bool) -> None:
    if not allowed:
        abort(403)


def principal() -> Principal:
    p = current_principal()
    if p.partnership_id is None:
        abort(401)
    return p
