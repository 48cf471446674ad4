"""Signing in and out, rate limiting, invitations and password links."""

from __future__ import annotations

import re

import sqlalchemy as sa

from audit_app.accounts import services
from audit_app.accounts.models import User
from audit_app.extensions import db
from tests.conftest import PASSWORD, login


def test_login_with_correct_password_goes_home(client, world):
    response = client.post("/login", data={"email": "Admin@North.example.org ", "password": PASSWORD})
    assert response.status_code == 302
    assert response.location == "/"
    home = client.get("/")
    assert home.status_code == 200
    assert b"North Test Partnership" in home.data
    assert db.session.get(User, world.user("admin").id).last_login_at is not None


def test_wrong_password_gives_a_clear_message_and_400(client, world):
    response = client.post("/login", data={"email": "admin@north.example.org", "password": "wrong-password"})
    assert response.status_code == 400
    assert b"Enter a correct email address and password" in response.data
    assert b"govuk-error-summary" in response.data
    assert client.get("/").status_code == 302  # still signed out


def test_unknown_email_gets_the_same_message(client, world):
    response = client.post("/login", data={"email": "nobody@north.example.org", "password": "whatever-it-is"})
    assert response.status_code == 400
    assert b"Enter a correct email address and password" in response.data


def test_empty_login_names_both_fields(client, db_session):
    response = client.post("/login", data={"email": "", "password": ""})
    assert response.status_code == 400
    assert b"Enter your email address" in response.data
    assert b"Enter your password" in response.data


def test_overlong_login_input_is_refused(client, db_session):
    response = client.post("/login", data={"email": "a" * 400 + "@x.test", "password": "p" * 300})
    assert response.status_code == 400
    assert b"Email address is too long" in response.data
    assert b"Password is too long" in response.data


def test_repeated_failures_are_rate_limited(client, world):
    statuses = [
        client.post("/login", data={"email": "admin@north.example.org", "password": f"wrong-{i}"}).status_code
        for i in range(12)
    ]
    assert statuses[:10] == [400] * 10
    assert statuses[10:] == [429, 429]
    page = client.post("/login", data={"email": "admin@north.example.org", "password": PASSWORD})
    assert page.status_code == 429
    assert b"Too many attempts" in page.data
    # which limit was hit, and when it lifts
    text = page.get_data(as_text=True)
    assert "Too many failed sign-ins for this email address: the limit is 10 per 1 minute" in text
    assert re.search(r"You can try again from \d\d:\d\d", text)


def test_successful_sign_ins_do_not_count_towards_the_limits(client, world):
    """An office behind one address signs in many times a minute; only failures count."""
    for _ in range(12):
        response = client.post("/login", data={"email": "admin@north.example.org", "password": PASSWORD})
        assert response.status_code == 302
        client.post("/logout")
    # and failures still do
    statuses = [
        client.post("/login", data={"email": "qa@north.example.org", "password": "wrong"}).status_code
        for _ in range(11)
    ]
    assert statuses[-1] == 429


def test_an_unknown_email_costs_one_verification_like_a_wrong_password(app, world):
    """Sign-in timing must not reveal which emails have accounts: the unknown path verifies against a hash
    made once, never hashing a new one each time (which made it twice as slow)."""
    from audit_app.accounts import services

    with app.test_request_context():
        first = services.dummy_password_hash()
        assert services.dummy_password_hash() is first
        assert services.authenticate("nobody@north.example.org", "whatever-it-is") is None
        assert services.dummy_password_hash() is first


def test_deactivated_user_cannot_sign_in_or_keep_session(client, world):
    auditor = world.user("auditor")
    login(client, auditor)
    assert client.get("/").status_code == 200
    auditor.is_active = False
    db.session.commit()
    assert client.get("/").status_code == 302
    response = client.post("/login", data={"email": "auditor@north.example.org", "password": PASSWORD})
    assert response.status_code == 400


def test_logout_needs_post_and_signs_out(client, world):
    login(client, world.user("admin"))
    assert client.get("/logout").status_code == 405
    response = client.post("/logout")
    assert response.status_code == 302
    assert client.get("/").status_code == 302


def test_a_copy_of_the_session_cookie_stops_working_after_sign_out(client, world, app):
    client.post("/login", data={"email": "qa@north.example.org", "password": PASSWORD})
    copy = client.get_cookie("session").value
    assert client.post("/logout").status_code == 302
    thief = app.test_client()
    thief.set_cookie("session", copy)
    assert thief.get("/").status_code == 302  # sent to sign in


def test_password_change_and_deactivation_end_sessions(client, world):
    auditor = world.user("auditor")
    login(client, auditor)
    assert client.get("/").status_code == 200
    services.set_password(auditor, "a-brand-new-password")
    db.session.commit()
    assert client.get("/").status_code == 302


def test_next_parameter_only_allows_local_paths(client, world):
    response = client.post(
        "/login?next=https://evil.example/", data={"email": "admin@north.example.org", "password": PASSWORD}
    )
    assert response.location == "/"
    client.post("/logout")
    response = client.post(
        "/login?next=/admin/agencies", data={"email": "admin@north.example.org", "password": PASSWORD}
    )
    assert response.location == "/admin/agencies"


def test_invitation_email_arrives_and_link_sets_password_once(client, world, mailbox):
    login(client, world.user("admin"))
    response = client.post(
        "/admin/users/new",
        data={
            "name": "New Auditor",
            "email": "new@north.example.org",
            "role": "auditor",
            "agency_id": str(world.police.agency_id),
            "method": "invite",
        },
    )
    assert response.status_code == 302
    assert len(mailbox) == 1
    message = mailbox[0]
    assert message["To"] == "new@north.example.org"
    link = re.search(r"http://localhost(/set-password/\S+)", message.get_content()).group(1)
    client.post("/logout")

    assert client.get(link).status_code == 200
    bad = client.post(link, data={"password": "short", "confirm": "short"})
    assert bad.status_code == 400
    assert b"Password must be between 12 and 256 characters" in bad.data
    mismatch = client.post(link, data={"password": "a-long-enough-password", "confirm": "something-else-entirely"})
    assert b"The passwords do not match" in mismatch.data
    ok = client.post(link, data={"password": "a-long-enough-password", "confirm": "a-long-enough-password"})
    assert ok.status_code == 302
    assert client.get(link).status_code == 404  # used once
    signed_in = client.post("/login", data={"email": "new@north.example.org", "password": "a-long-enough-password"})
    assert signed_in.location == "/"


def test_tampered_password_link_is_refused(client, world):
    token = services.make_password_token(world.user("auditor"))
    assert client.get(f"/set-password/{token}x").status_code == 404
    assert client.get("/set-password/not-a-token").status_code == 404


def test_invitation_survives_smtp_failure(client, world, app):
    login(client, world.user("admin"))
    app.config["MAIL_PORT"], port = 1, app.config["MAIL_PORT"]
    try:
        response = client.post(
            "/admin/users/new",
            data={"name": "Offline", "email": "offline@north.example.org", "role": "qa_member", "method": "invite"},
            follow_redirects=True,
        )
    finally:
        app.config["MAIL_PORT"] = port
    assert response.status_code == 200
    assert b"The email could not be sent" in response.data
    assert b"Send Offline this link yourself" in response.data
    assert b"/set-password/" in response.data
    assert db.session.scalar(sa.select(User).where(User.email == "offline@north.example.org")) is not None


def test_switching_partnership(client, world):
    admin = world.user("admin")
    services.add_membership(admin, world.other_partnership.id, services.Role.SCRUTINEER)
    db.session.commit()
    login(client, admin)
    page = client.get("/partnership")
    assert b"South Test Partnership" in page.data
    response = client.post("/partnership", data={"partnership_id": str(world.other_partnership.id)})
    assert response.status_code == 302
    home = client.get("/")
    assert b"South Test Partnership" in home.data
    # As a scrutineer there, the admin pages are closed to them.
    assert client.get("/admin/agencies/new").status_code == 403
    bad = client.post("/partnership", data={"partnership_id": "999999"})
    assert bad.status_code == 400
