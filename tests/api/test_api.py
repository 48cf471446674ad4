"""The JSON API: tokens, the accounts endpoints, bad input, and the OpenAPI document."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from audit_app.accounts import services
from audit_app.accounts.models import ApiToken, Membership, Role, User
from audit_app.core.audit import system_actor
from audit_app.core.models import utcnow
from audit_app.extensions import db
from tests.test_access import ROUTES

# -- authentication --


def test_requests_without_a_valid_token_get_401(client, world):
    assert client.get("/api/v1/me").status_code == 401
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.get("/api/v1/me", headers={"Authorization": "Basic abc"}).status_code == 401
    body = client.get("/api/v1/me", headers={"Authorization": "Bearer sat_wrong"}).json
    assert body["error"]["status"] == 401


def test_me_describes_the_token(api, world):
    response = api(world.user("auditor")).get("/api/v1/me")
    assert response.status_code == 200
    body = response.json
    assert body["email"] == "auditor@north.example.org"
    assert body["partnership_name"] == "North Test Partnership"
    assert body["roles"][0]["role"] == "auditor"
    assert body["roles"][0]["agency_id"] == world.police.agency_id


def test_revoked_expired_and_deactivated_tokens_stop_working(client, world):
    user = world.user("auditor")
    with system_actor("test"):
        token, secret = services.create_api_token(user, world.partnership.id, "t")
        db.session.commit()
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    assert db.session.get(ApiToken, token.id).last_used_at is not None
    token.expires_at = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    token.expires_at = None
    user.is_active = False
    db.session.commit()
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    user.is_active = True
    services.revoke_api_token(token)
    db.session.commit()
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_token_of_a_user_whose_roles_were_removed_gets_403(api, world):
    scrutineer = world.user("scrutineer")
    caller = api(scrutineer)
    db.session.execute(sa.delete(Membership).where(Membership.user_id == scrutineer.id))
    db.session.commit()
    assert caller.get("/api/v1/me").status_code == 403


def test_the_secret_is_stored_only_as_a_hash(world):
    with system_actor("test"):
        token, secret = services.create_api_token(world.user("auditor"), world.partnership.id, "t")
    assert secret not in (token.token_hash, token.prefix)
    assert len(token.token_hash) == 64


# -- sectors and agencies --


def test_admin_manages_sectors_and_agencies(api, world):
    admin = api(world.user("admin"))
    sector = admin.post("/api/v1/sectors", json={"name": "Housing"})
    assert sector.status_code == 201
    assert sector.json["key"] == "housing"
    renamed = admin.patch(f"/api/v1/sectors/{sector.json['id']}", json={"name": "Housing providers"})
    assert renamed.json == {"id": sector.json["id"], "key": "housing", "name": "Housing providers"}

    created = admin.post("/api/v1/agencies", json={"name": "Northbridge Homes", "sector_id": sector.json["id"]})
    assert created.status_code == 201
    agency_id = created.json["id"]
    assert created.json["sector"]["key"] == "housing"
    updated = admin.patch(f"/api/v1/agencies/{agency_id}", json={"name": "Northbridge Homes Ltd", "is_active": False})
    assert updated.status_code == 200
    assert updated.json["previous_names"] == ["Northbridge Homes"]
    assert updated.json["is_active"] is False
    listed = admin.get("/api/v1/agencies").json["items"]
    assert "Northbridge Homes Ltd" in [a["name"] for a in listed]
    assert "South Council" not in [a["name"] for a in listed]
    assert admin.get(f"/api/v1/agencies/{agency_id}").json["name"] == "Northbridge Homes Ltd"


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({}, 400, "name"),
        ({"name": "", "sector_id": 1}, 400, "name"),
        ({"name": "x" * 201, "sector_id": "SECTOR"}, 400, "name"),
        ({"name": "Fine", "sector_id": "one"}, 400, "sector_id"),
        ({"name": "Fine", "sector_id": 999999}, 400, "sector_id"),
        ({"name": "Fine", "sector_id": "SECTOR", "colour": "red"}, 400, "colour"),
        ({"name": "north police", "sector_id": "SECTOR"}, 409, "name"),
    ],
)
def test_bad_agency_bodies_name_the_field(api, world, body, status, field):
    body = {k: (world.police.sector_id if v == "SECTOR" else v) for k, v in body.items()}
    before = db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken))
    response = api(world.user("admin")).post("/api/v1/agencies", json=body)
    assert response.status_code == status
    assert field in response.json["error"]["fields"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == before + 1  # only the test's token


def test_wrong_content_type_and_malformed_json(api, world):
    admin = api(world.user("admin"))
    assert admin.post("/api/v1/sectors", data="name=x").status_code == 415
    malformed = admin.post("/api/v1/sectors", data="{not json", headers={"Content-Type": "application/json"})
    assert malformed.status_code == 400
    assert malformed.json["error"]["message"] == "The body is not valid JSON"
    assert admin.post("/api/v1/sectors", json=["a", "list"]).status_code == 400


def test_objects_of_another_partnership_are_404(api, world):
    admin = api(world.user("admin"))
    assert admin.get(f"/api/v1/agencies/{world.other_agency.agency_id}").status_code == 404
    assert admin.patch(f"/api/v1/agencies/{world.other_agency.agency_id}", json={"name": "x"}).status_code == 404
    assert admin.get(f"/api/v1/users/{world.user('other_admin').id}").status_code == 404
    foreign_sector = world.other_agency.sector_id
    assert admin.get(f"/api/v1/sectors/{foreign_sector}").status_code == 404
    response = admin.post("/api/v1/agencies", json={"name": "X", "sector_id": foreign_sector})
    assert response.status_code == 400


# -- users and roles --


def test_admin_manages_users_and_roles(api, world, mailbox):
    admin = api(world.user("admin"))
    created = admin.post(
        "/api/v1/users",
        json={
            "email": "New.Lead@North.example.org",
            "name": "New Lead",
            "role": "agency_lead",
            "agency_id": world.health.agency_id,
        },
    )
    assert created.status_code == 201
    body = created.json
    assert body["email"] == "new.lead@north.example.org"
    assert body["has_password"] is False
    user_id = body["id"]
    added = admin.post(f"/api/v1/users/{user_id}/roles", json={"role": "qa_member"})
    assert added.status_code == 201
    assert {r["role"] for r in added.json["roles"]} == {"agency_lead", "qa_member"}
    duplicate = admin.post(f"/api/v1/users/{user_id}/roles", json={"role": "qa_member"})
    assert duplicate.status_code == 409
    qa_role = next(r for r in added.json["roles"] if r["role"] == "qa_member")
    assert admin.delete(f"/api/v1/users/{user_id}/roles/{qa_role['id']}").status_code == 204
    assert admin.delete(f"/api/v1/users/{user_id}/roles/{qa_role['id']}").status_code == 404
    patched = admin.patch(f"/api/v1/users/{user_id}", json={"name": "Renamed Lead", "is_active": False})
    assert patched.json["name"] == "Renamed Lead"
    assert patched.json["is_active"] is False
    assert [u["email"] for u in admin.get("/api/v1/users").json["items"]].count("new.lead@north.example.org") == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": "nope", "name": "A", "role": "qa_member"}, "email"),
        ({"email": "a@north.example.org", "name": "", "role": "qa_member"}, "name"),
        ({"email": "a@north.example.org", "name": "A", "role": "king"}, "role"),
        ({"email": "a@north.example.org", "name": "A", "role": "auditor"}, "agency_id"),
        ({"email": "a@north.example.org", "name": "A", "role": "auditor", "agency_id": 999999}, "agency_id"),
        ({"email": "a@north.example.org", "name": "A", "role": "qa_member", "password": "short"}, "password"),
    ],
)
def test_bad_user_bodies_name_the_field(api, world, body, field):
    response = api(world.user("admin")).post("/api/v1/users", json=body)
    assert response.status_code == 400
    assert field in response.json["error"]["fields"]
    assert db.session.scalar(sa.select(User).where(User.email == "a@north.example.org")) is None


def test_api_refuses_the_last_admin_and_self_deactivation(api, world):
    admin_user = world.user("admin")
    admin = api(admin_user)
    response = admin.patch(f"/api/v1/users/{admin_user.id}", json={"is_active": False})
    assert response.status_code == 409
    membership = db.session.scalar(sa.select(Membership).where(Membership.user_id == admin_user.id))
    assert admin.delete(f"/api/v1/users/{admin_user.id}/roles/{membership.id}").status_code == 409


def test_api_changes_are_audited_as_the_token_user(api, world):
    from audit_app.core.audit import AuditEvent

    api(world.user("admin")).post("/api/v1/sectors", json={"name": "Faith groups"})
    event = db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.entity_type == "Sector").order_by(AuditEvent.id.desc()).limit(1)
    )
    assert event.actor_id == world.user("admin").id
    assert event.partnership_id == world.partnership.id


def test_non_admins_cannot_write(api, world):
    for role in ("qa_member", "auditor", "scrutineer"):
        caller = api(world.user(role))
        assert caller.post("/api/v1/sectors", json={"name": "X"}).status_code == 403
    assert api(world.user("auditor")).get("/api/v1/users").status_code == 403
    assert api(world.user("scrutineer")).get("/api/v1/users").status_code == 200


# -- the OpenAPI document --


def test_openapi_document_describes_every_api_route(client, db_session):
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.")
    documented = {(path, method) for path, ops in spec["paths"].items() for method in ops}
    import re

    for _, rule, method in ROUTES:
        if rule.startswith("/api/"):
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule)
            assert (path, method.lower()) in documented, (path, method)
    agency_post = spec["paths"]["/api/v1/agencies"]["post"]
    schema_ref = agency_post["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = spec["components"]["schemas"][schema_ref.split("/")[-1]]
    assert schema["required"] == ["name", "sector_id"]
    assert "400" in agency_post["responses"] and "409" in agency_post["responses"]
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_api_cannot_change_accounts_that_work_elsewhere(api, world):
    auditor = world.user("auditor")
    services.add_membership(auditor, world.other_partnership.id, Role.QA_MEMBER)
    db.session.commit()
    response = api(world.user("admin")).patch(f"/api/v1/users/{auditor.id}", json={"email": "mine@evil.example.org"})
    assert response.status_code == 403
    assert response.json["error"]["message"] == "Your role does not allow this"


def test_api_user_creation_emails_an_invitation(api, world, mailbox):
    response = api(world.user("admin")).post(
        "/api/v1/users", json={"email": "invitee@north.example.org", "name": "Invitee", "role": "qa_member"}
    )
    assert response.status_code == 201
    assert response.json["invitation"] == {"sent": True, "link": None}
    assert [m["To"] for m in mailbox] == ["invitee@north.example.org"]
    existing = api(world.user("admin")).post(
        "/api/v1/users", json={"email": "invitee@north.example.org", "name": "Invitee", "role": "scrutineer"}
    )
    assert existing.status_code == 201
    assert existing.json["invitation"] is None
    assert len(mailbox) == 1


def test_me_shows_when_the_token_expires(client, world):
    with system_actor("test"):
        _, secret = services.create_api_token(world.user("qa_member"), world.partnership.id, "t", expires_in_days=30)
        db.session.commit()
    body = client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).json
    assert body["token_expires_at"] is not None


def test_api_404_message_is_specific(api, world):
    body = api(world.user("admin")).get("/api/v1/agencies/999999").json
    assert body == {"error": {"status": 404, "message": "No such object in your partnership"}}


def test_a_401_says_how_to_authenticate_and_a_405_which_methods_are_allowed(client, db_session):
    """HTTP's own rules for these answers (RFC 9110): WWW-Authenticate on 401, Allow on 405."""
    unauthenticated = client.get("/api/v1/rounds")
    assert unauthenticated.status_code == 401
    assert unauthenticated.headers["WWW-Authenticate"].startswith("Bearer")
    wrong_method = client.delete("/api/v1/rounds")
    assert wrong_method.status_code == 405
    assert set(wrong_method.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}


def test_every_operation_declares_the_answers_any_request_may_meet(client, db_session):
    """A refused input (400), a clash (409, on writes), the database unavailable (503); the import takes YAML."""
    spec = client.get("/api/v1/openapi.json").json
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert {"400", "503"} <= set(responses), (method, path)
            if method != "get":
                assert "409" in responses, (method, path)
    body = spec["paths"]["/api/v1/questionnaires/import"]["post"]["requestBody"]["content"]
    assert {"application/json", "application/yaml"} <= set(body)
