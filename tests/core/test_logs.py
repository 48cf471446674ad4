"""Structured logs: JSON lines, one per request with its route and ids, and no personal data in any line."""

from __future__ import annotations

import io
import json
import logging

import pytest

from audit_app.core import jobs
from audit_app.core.logs import EMAIL, JsonFormatter, configure_logging
from audit_app.core.mail import MailError, send_email
from audit_app.core.roles import Role
from audit_app.extensions import db
from tests.factories import PASSWORD, make_user

NAME = "Priya Featherstonehaugh"
EMAIL_ADDRESS = "priya.featherstonehaugh@north.example.org"


def failing_job(user_id: int) -> None:
    """A job that fails with a person's address in its exception (as an SMTP refusal does)."""
    raise RuntimeError(f"could not reach {EMAIL_ADDRESS} for user {user_id}")


@pytest.fixture()
def log_lines(app):
    """What the app's own handler (core/logs.py) writes during the test: ``log_lines()``."""
    configure_logging(app)  # again: the migrations' logging set-up (alembic.ini) replaced it
    handler = next(h for h in logging.getLogger().handlers if getattr(h, "_audit_app_handler", False))
    assert isinstance(handler.formatter, JsonFormatter)  # the test configuration logs JSON, as production does
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        yield lambda: stream.getvalue().splitlines()
    finally:
        handler.setStream(previous)


def test_no_personal_data_in_any_log_line(app, client, world, log_lines, mailbox):
    person = make_user(world.partnership.id, Role.QA_MEMBER, email=EMAIL_ADDRESS, name=NAME)
    person_id = person.id
    db.session.commit()
    # sign-in: a wrong password, a form error (no password), the right password
    wrong = client.post("/login", data={"email": EMAIL_ADDRESS, "password": "not-the-password"})
    empty = client.post("/login", data={"email": EMAIL_ADDRESS, "password": ""})
    assert wrong.status_code == empty.status_code == 400
    signed_in = client.post("/login", data={"email": EMAIL_ADDRESS, "password": PASSWORD})
    assert signed_in.status_code == 302
    page = client.get("/?q=" + EMAIL_ADDRESS, headers={"X-Request-ID": "proxy-id-0001"})
    assert page.headers["X-Request-ID"] == "proxy-id-0001"
    odd = client.get("/healthz", headers={"X-Request-ID": "<script>alert(1)</script>"})
    assert odd.headers["X-Request-ID"] != "<script>alert(1)</script>" and len(odd.headers["X-Request-ID"]) == 36
    # an email sent, and one that fails
    with app.test_request_context():
        assert send_email(EMAIL_ADDRESS, f"Hello {NAME}", f"Dear {NAME}") is True
        port = app.config["MAIL_PORT"]
        app.config["MAIL_PORT"] = 1
        try:
            with pytest.raises(MailError):
                send_email(EMAIL_ADDRESS, f"Hello {NAME}", f"Dear {NAME}")
        finally:
            app.config["MAIL_PORT"] = port
    assert len(mailbox) == 1
    # a job that fails after its request committed (logged with its traceback)
    jobs.enqueue(failing_job, person_id)
    db.session.commit()

    lines = log_lines()
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    text = "\n".join(lines)
    assert not EMAIL.search(text), [line for line in lines if EMAIL.search(line)]
    for secret in (EMAIL_ADDRESS, "priya", "Featherstonehaugh", PASSWORD, "not-the-password"):
        assert secret.lower() not in text.lower(), secret
    requests = [r for r in records if r["logger"] == "audit_app.request"]
    assert [(r["method"], r["route"], r["status"]) for r in requests[:4]] == [
        ("POST", "/login", 400),
        ("POST", "/login", 400),
        ("POST", "/login", 302),
        ("GET", "/", 200),
    ]
    home = requests[3]
    assert home["request_id"] == "proxy-id-0001"
    assert home["user_id"] == person_id and home["partnership_id"] == world.partnership.id
    assert requests[0]["user_id"] is None
    assert all(isinstance(r["duration_ms"], float) and r["time"].endswith("+00:00") for r in requests)
    assert any("signed in" in r["message"] and str(person_id) in r["message"] for r in records)
    assert any(r["level"] == "warning" and "email to 1 recipient(s) failed" in r["message"] for r in records)
    failed = [r for r in records if "failing_job failed" in r["message"]]
    assert failed and "[email]" in failed[0]["exception"] and "RuntimeError" in failed[0]["exception"]


def test_a_server_error_is_one_error_line_with_its_route(app, client, world, log_lines, login_as):
    """A 500: the request's line is at error level, its route the URL rule, and the traceback logged apart."""
    login_as(world.user("admin"), world.partnership.id)
    app.config["PROPAGATE_EXCEPTIONS_IN_TESTS"] = False
    from audit_app.core import views

    original = views._HOME_PARTS[:]
    views._HOME_PARTS.append(lambda principal: 1 / 0)
    try:
        assert client.get("/?email=" + EMAIL_ADDRESS).status_code == 500
    finally:
        views._HOME_PARTS[:] = original
    lines = log_lines()
    records = [json.loads(line) for line in lines]
    line = next(r for r in records if r["logger"] == "audit_app.request")
    assert (line["level"], line["route"], line["status"]) == ("error", "/", 500)
    assert any("ZeroDivisionError" in r.get("exception", "") for r in records)
    assert EMAIL_ADDRESS not in "\n".join(lines)


def test_a_database_error_logged_carries_no_values(app, world, log_lines):
    """A refused statement's message (logged with its traceback) names the SQL, never the values sent."""
    import sqlalchemy as sa

    from audit_app.core.storage import StoredFile

    statement = sa.insert(StoredFile).values(
        partnership_id=world.partnership.id,
        original_filename=f"{NAME}.pdf",
        content_type="application/pdf",
        size_bytes=0,  # refused: CHECK size_bytes > 0
        sha256="0" * 64,
    )
    with pytest.raises(sa.exc.IntegrityError) as refused, db.session.begin_nested():
        db.session.execute(statement)
    app.logger.error("refused", exc_info=refused.value)
    text = "\n".join(log_lines())
    assert "INSERT INTO stored_files" in text and "hide_parameters" in text
    assert "Featherstonehaugh" not in text
