"""Bodies the API refuses before they reach a view or the database: NUL characters, deep nesting,
ids past PostgreSQL's integer, and JSON types that only look right (``true`` for an id, ``0`` for a boolean)."""

from __future__ import annotations

import time
import typing
from typing import Any

import pytest
import sqlalchemy as sa
from pydantic import BaseModel, ValidationError

from audit_app.accounts.models import Sector
from audit_app.api.spec import OPERATIONS
from audit_app.core.inputs import MAX_ID
from audit_app.extensions import db

UNSTORABLE = "contains a character that cannot be stored"


def _sectors() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Sector)) or 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "Hou\x00sing"}, "name"),
        ({"name": "Housing", "extra": {"deep": [{"x": "a\x00"}]}}, "extra.deep.0.x"),
    ],
)
def test_a_nul_anywhere_in_a_body_is_refused_naming_it(api, world, body, field):
    before = _sectors()
    response = api(world.user("admin")).post("/api/v1/sectors", json=body)
    assert response.status_code == 400
    assert response.json["error"]["message"] == f"'{field}' {UNSTORABLE}"
    assert field in response.json["error"]["fields"]
    assert _sectors() == before


@pytest.mark.parametrize("depth", [33, 100_000])
def test_deeply_nested_bodies_are_refused_quickly(api, world, depth):
    body = '{"name": "x", "extra": ' + "[" * depth + "]" * depth + "}"
    started = time.process_time()
    response = api(world.user("admin")).post("/api/v1/sectors", data=body, headers={"Content-Type": "application/json"})
    assert time.process_time() - started < 1
    assert response.status_code == 400
    assert "nested more than 32 levels" in response.json["error"]["message"]


def test_nesting_inside_strings_does_not_count(api, world):
    response = api(world.user("admin")).post("/api/v1/sectors", json={"name": "[" * 40 + "Housing"})
    assert response.status_code == 201


@pytest.mark.parametrize("sector_id", [MAX_ID + 1, 2**63, 0, -1, True, "3"])
def test_body_ids_are_positive_json_integers_postgresql_can_hold(api, world, sector_id):
    response = api(world.user("admin")).post("/api/v1/agencies", json={"name": "Homes", "sector_id": sector_id})
    assert response.status_code == 400
    assert "sector_id" in response.json["error"]["fields"]
    assert "No such" not in response.json["error"]["fields"]["sector_id"][0]  # refused by its type, before a query


def _request_fields() -> list[tuple[type[BaseModel], str, Any]]:
    """(model, field, annotation) of every field of every API request model, nested models included."""
    seen: set[type[BaseModel]] = set()
    found: list[tuple[type[BaseModel], str, Any]] = []
    todo = [op.request_model for op in OPERATIONS if op.request_model is not None]
    while todo:
        model = todo.pop()
        if model in seen:
            continue
        seen.add(model)
        for name, info in model.model_fields.items():
            found.append((model, name, info.annotation))
            for arg in [info.annotation, *typing.get_args(info.annotation)]:
                for inner in [arg, *typing.get_args(arg)]:
                    if isinstance(inner, type) and issubclass(inner, BaseModel):
                        todo.append(inner)
    return found


def _refused(model: type[BaseModel], field: str, value: Any) -> bool:
    try:
        model.model_validate({field: value})
    except ValidationError as exc:
        return any(e["loc"][0] == field for e in exc.errors())
    return False


ID_FIELDS = [pytest.param(m, f, id=f"{m.__name__}.{f}") for m, f, _ in _request_fields() if f.endswith(("_id", "_ids"))]
BOOL_FIELDS = [
    pytest.param(m, f, id=f"{m.__name__}.{f}") for m, f, a in _request_fields() if bool in (a, *typing.get_args(a))
]


def test_the_request_models_have_id_and_boolean_fields():
    assert len(ID_FIELDS) >= 8 and len(BOOL_FIELDS) >= 3  # the scan below sees the models


@pytest.mark.parametrize(("model", "field"), ID_FIELDS)
@pytest.mark.parametrize("bad", [MAX_ID + 1, 0, True, "3", 2.5])
def test_every_id_field_of_the_api_is_a_strict_bounded_id(model, field, bad):
    value = [bad] if field.endswith("_ids") else bad
    assert _refused(model, field, value), f"{model}.{field} accepts {value!r}"


@pytest.mark.parametrize(("model", "field"), BOOL_FIELDS)
@pytest.mark.parametrize("bad", [0, 1, "false", "yes"])
def test_every_boolean_field_of_the_api_is_strict(model, field, bad):
    assert _refused(model, field, bad), f"{model}.{field} accepts {bad!r}"


@pytest.mark.parametrize("value", [0, 1, "false", "no"])
def test_booleans_must_be_json_booleans(api, world, value):
    admin = api(world.user("admin"))
    agency_id = world.police.agency_id
    response = admin.patch(f"/api/v1/agencies/{agency_id}", json={"is_active": value})
    assert response.status_code == 400
    assert "is_active" in response.json["error"]["fields"]


def test_page_past_the_integer_range_is_400_naming_it(api, world):
    response = api(world.user("admin")).get(f"/api/v1/agencies?page={MAX_ID + 1}")
    assert response.status_code == 400
    assert "page" in response.json["error"]["fields"]


def test_url_ids_past_the_integer_range_are_404(api, world):
    assert api(world.user("admin")).get(f"/api/v1/agencies/{MAX_ID + 1}").status_code == 404


# -- closed sets are declared as enums in the OpenAPI document (issue 10, defect 12) --

#: property and parameter names that always hold one of a fixed set of values
CLOSED_SET_NAMES = {
    "status", "kind", "role", "scope", "format", "sex", "age_band", "plan_type", "disability", "ethnicity", "rag",
}  # fmt: skip
CLOSED_SET_SUFFIXES = ("_status", "_kind", "_role", "_rag")


def _closed(name: str) -> bool:
    return name in CLOSED_SET_NAMES or name.endswith(CLOSED_SET_SUFFIXES)


def _declares_enum(schema: dict[str, Any], schemas: dict[str, Any]) -> bool:
    """The schema (or what it refers to, or every non-null branch of it) lists its values."""
    if "$ref" in schema:
        return _declares_enum(schemas[schema["$ref"].rsplit("/", 1)[-1]], schemas)
    if "enum" in schema or "const" in schema or schema.get("type") in ("integer", "number", "boolean"):
        return True  # a number (such as the file format's version) is not a set of words
    if schema.get("type") == "object" or "properties" in schema:
        return True  # a structure (such as the plan's counts by RAG), not a word: its own fields are scanned too
    if schema.get("type") == "array":
        return _declares_enum(schema.get("items", {}), schemas)
    every = schema.get("anyOf", []) + schema.get("oneOf", []) + schema.get("allOf", [])
    branches = [b for b in every if b.get("type") != "null"]
    return bool(branches) and all(_declares_enum(b, schemas) for b in branches)


def _closed_fields(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for schema_name, schema in document["components"]["schemas"].items():
        for prop, prop_schema in schema.get("properties", {}).items():
            if _closed(prop):
                found.append((f"{schema_name}.{prop}", prop_schema))
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                if _closed(parameter["name"]):
                    found.append((f"{method.upper()} {path} ?{parameter['name']}", parameter.get("schema", {})))
    return found


def test_every_closed_set_in_the_api_document_is_an_enum(client):
    document = client.get("/api/v1/openapi.json").get_json()
    schemas = document["components"]["schemas"]
    fields = _closed_fields(document)
    assert len(fields) >= 10, "the scan finds the status, kind and role fields"
    undeclared = [where for where, schema in fields if not _declares_enum(schema, schemas)]
    assert undeclared == [], f"closed sets documented as free strings: {undeclared}"


def test_documented_enums_are_the_values_the_api_gives(client):
    from audit_app.questionnaires.models import QuestionnaireKind, VersionStatus
    from audit_app.rounds.models import ReturnStatus, RoundStatus

    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]

    def values(schema_name: str, prop: str) -> set[str]:
        schema = schemas[schema_name]["properties"][prop]
        if "$ref" in schema:
            schema = schemas[schema["$ref"].rsplit("/", 1)[-1]]
        return set(schema["enum"])

    assert values("ReturnOut", "status") == {s.value for s in ReturnStatus}
    assert values("RoundOut", "status") == {s.value for s in RoundStatus}
    assert values("RoundOut", "kind") == {k.value for k in QuestionnaireKind}
    assert values("VersionSummary", "status") == {s.value for s in VersionStatus}
