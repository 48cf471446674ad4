"""The OpenAPI document, built from the routes that register themselves.

Every API view is declared with :func:`api_route`, which records its path,
method, summary, request and response models; ``/api/v1/openapi.json``
renders them. A route that is not declared this way does not exist in the
document, and tests/test_api_spec.py fails.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import current_app, jsonify
from pydantic import BaseModel

from . import bp


@dataclass
class Operation:
    rule: str
    method: str
    endpoint: str
    summary: str
    tag: str
    request_model: type[BaseModel] | None = None
    response_model: type[BaseModel] | None = None
    many: bool = False
    status: int = 200
    roles: str = ""
    query: list[dict[str, Any]] = field(default_factory=list)


OPERATIONS: list[Operation] = []


def api_route(
    rule: str,
    method: str,
    *,
    summary: str,
    tag: str,
    request_model: type[BaseModel] | None = None,
    response_model: type[BaseModel] | None = None,
    many: bool = False,
    status: int = 200,
    roles: str = "",
    query: list[dict[str, Any]] | None = None,
) -> Callable:
    """Register a view on the API blueprint and in the OpenAPI document."""

    def decorator(view: Callable) -> Callable:
        bp.add_url_rule(rule, view_func=view, methods=[method])
        OPERATIONS.append(
            Operation(
                rule=rule,
                method=method.lower(),
                endpoint=f"api.{view.__name__}",
                summary=summary,
                tag=tag,
                request_model=request_model,
                response_model=response_model,
                many=many,
                status=status,
                roles=roles,
                query=query or [],
            )
        )
        return view

    return decorator


_PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")


def _openapi_path(rule: str) -> tuple[str, list[dict[str, Any]]]:
    params = []
    for converter, name in _PARAM.findall(rule):
        schema = {"type": "integer"} if converter == "int" else {"type": "string"}
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
    return "/api/v1" + _PARAM.sub(lambda m: "{" + m.group(2) + "}", rule), params


ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["status", "message"],
            "properties": {
                "status": {"type": "integer"},
                "message": {"type": "string"},
                "fields": {
                    "type": "object",
                    "description": "Messages by field name (dotted path for nested fields)",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                },
            },
        }
    },
}


def build_spec() -> dict[str, Any]:
    """The OpenAPI 3.1 document for every registered operation."""
    schemas: dict[str, Any] = {"Error": ERROR_SCHEMA}
    paths: dict[str, dict[str, Any]] = {}

    def ref(model: type[BaseModel]) -> dict[str, str]:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, definition in schema.pop("$defs", {}).items():
            schemas[name] = definition
        schemas[model.__name__] = schema
        return {"$ref": f"#/components/schemas/{model.__name__}"}

    def error(description: str) -> dict[str, Any]:
        return {
            "description": description,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }

    for op in OPERATIONS:
        path, params = _openapi_path(op.rule)
        operation: dict[str, Any] = {
            "summary": op.summary,
            "operationId": op.endpoint.split(".", 1)[1],
            "tags": [op.tag],
            "parameters": params + op.query,
            "responses": {},
        }
        if op.roles:
            operation["description"] = f"Roles: {op.roles}."
        if op.endpoint == "api.openapi":
            operation["security"] = []
        if op.request_model is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": ref(op.request_model)}},
            }
        if op.response_model is not None:
            body = ref(op.response_model)
            if op.many:
                body = {"type": "object", "properties": {"items": {"type": "array", "items": body}}}
            operation["responses"][str(op.status)] = {
                "description": "Success",
                "content": {"application/json": {"schema": body}},
            }
        else:
            operation["responses"][str(op.status)] = {"description": "Success"}
        if op.endpoint != "api.openapi":
            operation["responses"]["401"] = error("Missing, invalid, expired or revoked token")
            operation["responses"]["403"] = error("Your role does not allow this")
        if params:
            operation["responses"]["404"] = error("No such object in your partnership")
        if op.request_model is not None:
            operation["responses"]["400"] = error("Invalid body; `fields` names each field at fault")
            operation["responses"]["409"] = error("Clashes with existing data (for example a duplicate name)")
            operation["responses"]["415"] = error("The body is not JSON")
        paths.setdefault(path, {})[op.method] = operation

    return {
        "openapi": "3.1.0",
        "info": {
            "title": current_app.config["SERVICE_NAME"] + " API",
            "version": "1",
            "description": "Send a personal API token as `Authorization: Bearer <token>`. "
            "A token acts for its user in one partnership. See docs/api.md.",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
        },
    }


@api_route("/openapi.json", "GET", summary="This OpenAPI document", tag="meta")
def openapi():
    """The OpenAPI document (no token needed)."""
    return jsonify(build_spec())
