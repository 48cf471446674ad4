"""The API declared once: each route's path, models, roles and files, and the OpenAPI document built from them.

Every API view is declared with :func:`api_route`, which records its path, method,
summary, request body (a JSON model, or files sent as multipart/form-data), query
model, response model (or the file types it answers with) and the roles that may
call it. From that one declaration:

- ``/api/v1/openapi.json`` renders the OpenAPI document;
- :func:`.helpers.query_args` validates the query string against the query model
  and :func:`.helpers.page_of` pages a list (every ``many=True`` route is a list);
- with ``API_VALIDATE_RESPONSES`` (on under testing and debug) every answer is checked
  against the response model, so a test that calls an endpoint checks its document;
- tests/test_api_roles.py calls every route as every role and compares the outcome
  with ``roles``, and docs/api.md's endpoint table is compared with them too.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from flask import Response, current_app, g, jsonify
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

from ..accounts.models import Role
from ..core.inputs import MAX_ID
from ..core.pagination import MAX_PER_PAGE, PER_PAGE
from . import bp

#: every role in a partnership
ANY_ROLE: tuple[Role, ...] = tuple(Role)


class PageQuery(BaseModel):
    """The query of every list: which page, and how long."""

    model_config = ConfigDict(extra="ignore")

    page: int = Field(default=1, ge=1, le=MAX_ID, description="Page number, from 1; a page past the end is 404")
    per_page: int = Field(default=PER_PAGE, ge=1, le=MAX_PER_PAGE, description="Items per page")


@dataclass
class Operation:
    rule: str
    method: str
    endpoint: str
    summary: str
    tag: str
    #: the roles that may call the route (the objects they reach may still be scoped: see roles_note)
    roles: tuple[Role, ...]
    roles_note: str = ""
    request_model: type[BaseModel] | None = None
    query_model: type[BaseModel] | None = None
    response_model: type[BaseModel] | None = None
    many: bool = False
    status: int = 200
    #: multipart/form-data file fields: name -> what to send
    upload: dict[str, str] | None = None
    #: the other fields of a multipart/form-data body beside the files (the files are then optional and may repeat)
    form_model: type[BaseModel] | None = None
    #: media types of a file answer (a download)
    produces: tuple[str, ...] = ()
    #: other media types the body may come in, as text (the questionnaire import takes YAML)
    accepts: tuple[str, ...] = ()
    #: further refusals the operation may answer: status -> when (e.g. a file not ready yet: 409)
    refusals: tuple[tuple[int, str], ...] = ()
    #: path parameters that take one of a fixed set of words: name -> the words (documented as an enum)
    path_enums: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def public(self) -> bool:
        return self.endpoint == "api.openapi"

    @functools.cached_property
    def page_model(self) -> type[BaseModel] | None:
        """The envelope of a list: ``{items, total, page, per_page, pages}``."""
        if not self.many or self.response_model is None:
            return None
        return create_model(
            f"{self.response_model.__name__}Page",
            items=(list[self.response_model], ...),  # type: ignore[name-defined]
            total=(int, ...),
            page=(int, ...),
            per_page=(int, ...),
            pages=(int, ...),
        )


OPERATIONS: list[Operation] = []
_BY_ENDPOINT: dict[tuple[str, str], Operation] = {}


class ResponseMismatch(AssertionError):
    """An answer that does not match its declared response model (raised only when validating responses)."""


def operation_for(endpoint: str | None, method: str) -> Operation | None:
    return _BY_ENDPOINT.get((endpoint or "", method.lower()))


def api_route(
    rule: str,
    method: str,
    *,
    summary: str,
    tag: str,
    roles: Sequence[Role],
    roles_note: str = "",
    request_model: type[BaseModel] | None = None,
    query_model: type[BaseModel] | None = None,
    response_model: type[BaseModel] | None = None,
    many: bool = False,
    status: int = 200,
    upload: dict[str, str] | None = None,
    form_model: type[BaseModel] | None = None,
    produces: Sequence[str] = (),
    accepts: Sequence[str] = (),
    refusals: dict[int, str] | None = None,
    path_enums: dict[str, Sequence[str]] | None = None,
) -> Callable:
    """Register a view on the API blueprint and in the OpenAPI document."""
    if many:
        query_model = query_model or PageQuery
        assert issubclass(query_model, PageQuery), f"{rule}: a list's query model extends PageQuery"
    assert all(isinstance(role, Role) for role in roles), f"{rule}: roles are Role values"

    def decorator(view: Callable) -> Callable:
        op = Operation(
            rule=rule,
            method=method.lower(),
            endpoint=f"api.{view.__name__}",
            summary=summary,
            tag=tag,
            roles=tuple(roles),
            roles_note=roles_note,
            request_model=request_model,
            query_model=query_model,
            response_model=response_model,
            many=many,
            status=status,
            upload=upload,
            form_model=form_model,
            produces=tuple(produces),
            accepts=tuple(accepts),
            refusals=tuple((refusals or {}).items()),
            path_enums=tuple((name, tuple(words)) for name, words in (path_enums or {}).items()),
        )

        @functools.wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Response:
            g.success_status = op.status  # what a change committed before a later failure still answers
            response = current_app.make_response(view(*args, **kwargs))
            if current_app.config.get("API_VALIDATE_RESPONSES", current_app.testing or current_app.debug):
                check_response(op, response)
            return response

        bp.add_url_rule(rule, view_func=checked, methods=[method])
        OPERATIONS.append(op)
        _BY_ENDPOINT[(op.endpoint, op.method)] = op
        return checked

    return decorator


def check_response(op: Operation, response: Response) -> None:
    """Raise :class:`ResponseMismatch` if a success does not match what ``op`` declares."""
    if response.status_code != op.status:
        return
    if op.produces:
        if response.mimetype not in op.produces:
            raise ResponseMismatch(f"{op.endpoint} answered {response.mimetype}, declared {op.produces}")
        return
    model = op.page_model or op.response_model
    if model is None:
        return
    if not response.is_json:
        raise ResponseMismatch(f"{op.endpoint} answered {response.mimetype}, declared JSON")
    try:
        model.model_validate(response.get_json())
    except ValidationError as exc:
        raise ResponseMismatch(f"{op.endpoint} does not match {model.__name__}: {exc}") from None


_PARAM = re.compile(r"<(?:(\w+):)?(\w+)>")


def _openapi_path(rule: str) -> tuple[str, list[dict[str, Any]]]:
    params = []
    for converter, name in _PARAM.findall(rule):
        schema = {"type": "integer"} if converter == "int" else {"type": "string"}
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
    return "/api/v1" + _PARAM.sub(lambda m: "{" + m.group(2) + "}", rule), params


def _query_parameters(model: type[BaseModel] | None) -> list[dict[str, Any]]:
    if model is None:
        return []
    schema = model.model_json_schema()
    required = set(schema.get("required", []))
    params = []
    for name, prop in schema.get("properties", {}).items():
        description = prop.pop("description", None)
        prop.pop("title", None)
        param: dict[str, Any] = {"name": name, "in": "query", "required": name in required, "schema": prop}
        if description:
            param["description"] = description
        params.append(param)
    return params


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
                    "description": "Messages by field name (dotted path for nested fields; "
                    "query parameters and uploaded files by their names)",
                    "additionalProperties": {"type": "array", "items": {"type": "string"}},
                },
                "problems": {
                    "type": "array",
                    "description": "An uploaded file's problems, each with where it is: "
                    "`sheet` and `cell` in a workbook, `line` (0 for the file) and `column` in a cohort file",
                    "items": {
                        "type": "object",
                        "required": ["message"],
                        "properties": {"message": {"type": "string"}},
                        "additionalProperties": True,
                    },
                },
            },
        }
    },
}


def roles_text(op: Operation) -> str:
    names = ", ".join(role.value for role in op.roles) if op.roles != ANY_ROLE else "any role"
    return f"{names}; {op.roles_note}" if op.roles_note else names


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
        for param in params:
            words = dict(op.path_enums).get(param["name"])
            if words:
                param["schema"] = {"type": "string", "enum": list(words)}
        operation: dict[str, Any] = {
            "summary": op.summary,
            "operationId": op.endpoint.split(".", 1)[1],
            "tags": [op.tag],
            "parameters": params + _query_parameters(op.query_model),
            "responses": {},
        }
        if op.public:
            operation["security"] = []
        else:
            operation["description"] = f"Roles: {roles_text(op)}."
            operation["x-roles"] = [role.value for role in op.roles]
        if op.request_model is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {
                    "application/json": {"schema": ref(op.request_model)},
                    **{media: {"schema": {"type": "string"}} for media in op.accepts},
                },
            }
        if op.upload:
            file_schema = {"type": "string", "contentMediaType": "application/octet-stream"}
            properties: dict[str, Any] = {}
            required = list(op.upload)
            if op.form_model is not None:
                # text fields beside the files; the files are optional and a field may carry several
                form = op.form_model.model_json_schema()
                properties.update(form.get("properties", {}))
                required = list(form.get("required", []))
            for name, text in op.upload.items():
                properties[name] = (
                    {"type": "array", "items": file_schema, "description": text}
                    if op.form_model is not None
                    else {**file_schema, "description": text}
                )
            multipart = {"schema": {"type": "object", "required": required, "properties": properties}}
            if op.request_model is not None:  # JSON, or multipart/form-data with files
                operation["requestBody"]["content"]["multipart/form-data"] = multipart
            else:
                operation["requestBody"] = {"required": True, "content": {"multipart/form-data": multipart}}
        if op.produces:
            operation["responses"][str(op.status)] = {
                "description": "The file, as an attachment",
                "content": {media: {"schema": {"type": "string", "contentMediaType": media}} for media in op.produces},
            }
        elif op.response_model is not None:
            body = ref(op.page_model) if op.page_model is not None else ref(op.response_model)
            operation["responses"][str(op.status)] = {
                "description": "Success",
                "content": {"application/json": {"schema": body}},
            }
        else:
            operation["responses"][str(op.status)] = {"description": "Success"}
        if not op.public:
            operation["responses"]["401"] = error("Missing, invalid, expired or revoked token")
            operation["responses"]["403"] = error("Your role does not allow this")
        if params or op.many:
            operation["responses"]["404"] = error("No such object in your partnership (or a page past the end)")
        if op.query_model is not None:
            operation["responses"]["400"] = error("Invalid query; `fields` names each parameter at fault")
        if op.request_model is not None or op.upload:
            operation["responses"]["400"] = error("Invalid body; `fields` names each field at fault")
            operation["responses"]["409"] = error("Clashes with existing data or the object's state")
            operation["responses"]["415"] = error(
                "The body is neither JSON nor multipart/form-data"
                if op.upload and op.request_model is not None
                else "The body is not multipart/form-data"
                if op.upload
                else "The body is not JSON"
            )
        if op.upload:
            operation["responses"]["413"] = error("The file is too large")
        # What any request may meet, declared on every operation (issue 10: every answer is one the document
        # declares): a refused input (a NUL, an out-of-range number), a state move that clashes, the database
        # unreachable or too slow.
        operation["responses"].setdefault(
            "400", error("Invalid request; `fields` names each parameter or field at fault")
        )
        if op.method != "get":
            operation["responses"].setdefault("409", error("Clashes with existing data or the object's state"))
        for code, when in op.refusals:
            operation["responses"][str(code)] = error(when)
        operation["responses"]["503"] = error("The database cannot be reached or is too busy; nothing was saved")
        paths.setdefault(path, {})[op.method] = operation

    return {
        "openapi": "3.1.0",
        "info": {
            "title": current_app.config["SERVICE_NAME"] + " API",
            "version": "1",
            "description": "Send a personal API token as `Authorization: Bearer <token>`. "
            "A token acts for its user in one partnership. Each operation's `x-roles` lists the roles "
            "that may call it. Lists take `page` and `per_page`. See docs/api.md.",
        },
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
        },
    }


@api_route("/openapi.json", "GET", summary="This OpenAPI document", tag="meta", roles=())
def openapi():
    """The OpenAPI document (no token needed)."""
    return jsonify(build_spec())


def roles_table() -> str:
    """docs/api.md's table of endpoints and who may call them, from the declarations (a test compares the two)."""
    lines = ["| method | path | roles | does |", "|---|---|---|---|"]
    for op in sorted(OPERATIONS, key=lambda o: (_openapi_path(o.rule)[0], o.method)):
        if op.public:
            continue
        lines.append(f"| {op.method.upper()} | `{_openapi_path(op.rule)[0]}` | {roles_text(op)} | {op.summary} |")
    return "\n".join(lines)
