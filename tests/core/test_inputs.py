"""Request guards every route inherits: NUL characters, ids past PostgreSQL's integer, page numbers."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import NotFound

from audit_app.accounts.models import Sector
from audit_app.case_audits.forms import CarryForm
from audit_app.core.forms import id_value, optional_id
from audit_app.core.inputs import MAX_ID, json_nul_path, json_too_deep
from audit_app.extensions import db
from audit_app.rounds.forms import ChaseForm
from tests.conftest import login

UNSTORABLE = "contains a character that cannot be stored"


def _sector_count() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Sector)) or 0


def test_a_nul_in_a_form_field_is_refused_before_the_view(client, world):
    login(client, world.user("admin"))
    before = _sector_count()
    response = client.post("/admin/sectors/new", data={"name": "Hou\x00sing"})
    assert response.status_code == 400
    assert f"&#39;name&#39; {UNSTORABLE}" in response.get_data(as_text=True)
    assert "govuk-error-summary" in response.get_data(as_text=True)  # a refusal is a GOV.UK error summary
    assert _sector_count() == before


def test_a_nul_in_the_query_string_is_refused(client, world):
    login(client, world.user("admin"))
    response = client.get("/admin/agencies?q=a%00b")
    assert response.status_code == 400
    assert UNSTORABLE in response.get_data(as_text=True)


def test_a_nul_in_an_upload_name_is_refused(client, world):
    login(client, world.user("admin"))
    response = client.post(
        "/admin/sectors/new",
        data={"name": "Housing", "file": (io.BytesIO(b"reference\n"), "cohort\x00.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert UNSTORABLE in response.get_data(as_text=True)


def test_a_nul_on_the_api_is_a_json_400(api, world):
    response = api(world.user("admin")).get("/api/v1/agencies?q=%00")
    assert response.status_code == 400
    assert response.json["error"]["message"] == f"'q' {UNSTORABLE}"


@pytest.mark.parametrize("value", [0, MAX_ID + 1, 2**63, 10**30])
def test_int_urls_accept_only_ids_postgresql_can_hold(app, value):
    adapter = app.url_map.bind("localhost")
    with pytest.raises(NotFound):
        adapter.match(f"/admin/agencies/{value}/edit")
    with pytest.raises(NotFound):
        adapter.match(f"/api/v1/rounds/{value}")
    assert adapter.match(f"/admin/agencies/{MAX_ID}/edit")[1] == {"agency_id": MAX_ID}


def test_an_id_past_the_limit_is_404_not_a_database_error(client, world):
    login(client, world.user("admin"))
    assert client.get(f"/admin/agencies/{MAX_ID + 1}/edit").status_code == 404


@pytest.mark.parametrize("page", [str(MAX_ID + 1), "9" * 40, "\u00b2", "\u0663"])
def test_page_numbers_are_bounded(api, world, page):
    response = api(world.user("admin")).get("/api/v1/agencies", query_string={"page": page})
    assert response.status_code == 400
    assert "page" in response.json["error"]["fields"]


@pytest.mark.parametrize("page", [str(MAX_ID + 1), "\u00b2"])
def test_page_numbers_are_bounded_on_pages(client, world, page):
    login(client, world.user("admin"))
    assert client.get("/audit-log", query_string={"page": page}).status_code == 400


def test_form_ids_out_of_range_are_field_errors(app):
    assert id_value("7") == 7
    assert optional_id("") is None
    for bad in ["0", str(MAX_ID + 1), "-3"]:
        with pytest.raises(ValueError):
            id_value(bad)
    with app.test_request_context(method="POST"):
        chase = ChaseForm(formdata=MultiDict({"agency_id": str(MAX_ID + 1)}), meta={"csrf": False})
        assert not chase.validate()
        assert "agency_id" in chase.errors
        carry = CarryForm(formdata=MultiDict({"round_case_ids": str(2**40)}), meta={"csrf": False})
        carry.round_case_ids.choices = [(1, "Child K")]
        assert not carry.validate()
        assert "round_case_ids" in carry.errors


def test_json_scans():
    assert json_nul_path({"a": [{"b": "x\x00"}]}) == "a.0.b"
    assert json_nul_path({"a\x00": 1}) == "body"
    assert json_nul_path({"a": ["fine", 1, None]}) is None
    assert json_too_deep(b"[" * 33 + b"]" * 33)
    assert not json_too_deep(b"[" * 32 + b"]" * 32)
    assert not json_too_deep(b'{"a": "' + b"[" * 100 + b'\\"["}')


def test_an_id_out_of_range_matches_no_route_whatever_the_method(client, db_session):
    """A refused id once made Werkzeug answer 405 for the methods of a sibling route; now it is 404 for all."""
    for method in ("GET", "PATCH", "DELETE", "POST"):
        response = client.open("/api/v1/agencies/355687428096001", method=method)
        assert response.status_code in (401, 404), (method, response.status_code)
        assert response.status_code != 405


def test_a_multipart_part_without_a_name_is_not_a_server_error(client, world):
    from audit_app.core.inputs import nul_field

    assert nul_field([(None, "value"), ("note", "fine")]) is None
    assert nul_field([(None, "x"), ("bad\x00", "v")]) == "bad"
