"""Security basics: headers, cookies, CSRF on every form, secrets, hashing, errors."""

from __future__ import annotations

import pytest

from audit_app import create_app
from audit_app.accounts.models import User
from audit_app.extensions import db
from tests.conftest import PASSWORD, login
from tests.test_access import ROUTES


def test_security_headers_on_pages(client, world):
    response = client.get("/login")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert response.headers["Cache-Control"] == "no-store"


def test_pages_have_no_inline_script(client, world):
    login(client, world.user("admin"))
    for url in ["/login", "/", "/admin/agencies", "/admin/users/new", "/account", "/audit-log"]:
        html = client.get(url).data.decode()
        for chunk in html.split("<script")[1:]:
            tag = chunk.split(">", 1)[0]
            assert "src=" in tag, f"inline script on {url}"
        assert " onclick=" not in html and " onload=" not in html


def test_no_cdn_and_no_crown(client, world):
    html = client.get("/login").data.decode()
    assert "https://" not in html.split("<body")[0]
    assert "govuk-logo" not in html and "crown" not in html.lower()


def test_session_cookie_flags(client, world):
    response = client.post("/login", data={"email": "admin@north.example.org", "password": PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_production_cookies_are_secure_and_secret_is_required(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY must be set"):
        create_app("production", SECRET_KEY=None)
    app = create_app("production", SECRET_KEY="x" * 32, SQLALCHEMY_DATABASE_URI="sqlite://")
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"
    response = app.test_client().get("/login")
    assert "max-age" in response.headers["Strict-Transport-Security"]


def test_unknown_app_env_is_refused():
    with pytest.raises(RuntimeError, match="APP_ENV must be one of"):
        create_app("staging")


def test_passwords_are_hashed_with_argon2id(world):
    user = db.session.get(User, world.user("admin").id)
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash


@pytest.fixture()
def csrf_client(app, db_session):
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        yield app.test_client()
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


WEB_POSTS = sorted(
    {(rule, endpoint) for endpoint, rule, method in ROUTES if method == "POST" and not rule.startswith("/api/")}
)


@pytest.mark.parametrize(("rule", "endpoint"), WEB_POSTS, ids=[r for r, _ in WEB_POSTS])
def test_every_form_post_needs_a_csrf_token(csrf_client, world, rule, endpoint):
    login(csrf_client, world.user("admin"))
    url = (
        rule.replace("<int:agency_id>", str(world.police.agency_id))
        .replace("<int:user_id>", str(world.user("auditor").id))
        .replace("<int:sector_id>", str(world.police.sector_id))
        .replace("<int:membership_id>", "1")
        .replace("<int:token_id>", "1")
        .replace("<token>", "x")
    )
    response = csrf_client.post(url, data={"name": "x", "email": "admin@north.example.org", "password": PASSWORD})
    assert response.status_code in (400, 404), (url, response.status_code)
    if response.status_code == 400 and endpoint != "accounts.set_password":
        assert b"form had expired" in response.data


def test_login_with_csrf_token_works(csrf_client, world):
    page = csrf_client.get("/login").data.decode()
    token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    response = csrf_client.post(
        "/login", data={"email": "admin@north.example.org", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 302


def test_error_pages_are_govuk_style_and_never_leak(client, world, app):
    page = client.get("/no/such/page")
    assert page.status_code == 404
    assert b"Page not found" in page.data
    assert b"govuk-heading-l" in page.data
    login(client, world.user("auditor"))
    forbidden = client.get("/admin/agencies/new")
    assert forbidden.status_code == 403
    assert b"You do not have permission" in forbidden.data
    assert client.put("/admin/agencies").status_code == 405


def test_unexpected_errors_give_the_500_page_without_a_trace():
    app = create_app("test")

    @app.get("/boom")
    def _boom():
        raise RuntimeError("secret internals")

    @app.get("/api/v1/boom")
    def _api_boom():
        raise RuntimeError("secret internals")

    client = app.test_client()
    response = client.get("/boom")
    assert response.status_code == 500
    assert b"Sorry, there is a problem with the service" in response.data
    assert b"secret internals" not in response.data
    assert b"Traceback" not in response.data
    api = client.get("/api/v1/boom")
    assert api.status_code == 500
    assert api.json == {"error": {"status": 500, "message": "Internal error; it has been logged"}}


def test_oversized_requests_get_413(client, world, app):
    login(client, world.user("admin"))
    response = client.post("/admin/sectors/new", data={"name": "x" * (app.config["MAX_CONTENT_LENGTH"] + 10)})
    assert response.status_code == 413
