"""Small helpers shared by API views: body parsing, permission checks, paging."""

from __future__ import annotations

from typing import TypeVar

from flask import abort, request
from pydantic import BaseModel, ValidationError

from ..core.permissions import Principal, current_principal
from ..core.web import json_error
from . import bp

M = TypeVar("M", bound=BaseModel)


class ApiError(Exception):
    """An API refusal: status, message and the fields at fault."""

    def __init__(self, status: int, message: str, fields: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.fields = fields


@bp.errorhandler(ApiError)
def _api_error(error: ApiError):
    return json_error(error.status, error.message, error.fields)


def parse_body(model: type[M]) -> M:
    """The request's JSON body validated by ``model``, or a 4xx naming each bad field."""
    if not request.is_json:
        raise ApiError(415, "Send the body as JSON with 'Content-Type: application/json'")
    data = request.get_json(silent=True)
    if data is None:
        raise ApiError(400, "The body is not valid JSON")
    if not isinstance(data, dict):
        raise ApiError(400, "The body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        fields: dict[str, list[str]] = {}
        for item in exc.errors(include_url=False):
            name = ".".join(str(part) for part in item["loc"]) or "body"
            fields.setdefault(name, []).append(item["msg"])
        raise ApiError(400, "Some fields are not valid", fields) from None


def require(allowed: bool) -> None:
    if not allowed:
        abort(403)


def principal() -> Principal:
    p = current_principal()
    if p.partnership_id is None:
        abort(401)
    return p
