"""Fixtures: the app, a database rolled back after every test, clients, people, SMTP.

The schema is built once per run by the real migrations (so the migrations
are tested too), on SQLite by default or on PostgreSQL when
TEST_DATABASE_URL is set. Each test runs inside a transaction that is rolled
back at its end; the app's own commits become SAVEPOINT releases.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from flask_sqlalchemy.session import Session as FlaskSession

from audit_app import create_app
from audit_app.accounts import services
from audit_app.accounts.models import Partnership, PartnershipAgency, Role, Sector, User
from audit_app.core.audit import system_actor
from audit_app.extensions import db, limiter
from tests.core_fixtures import clock as clock

PASSWORD = "correct-horse-battery"


class _BoundSession(FlaskSession):
    """A Flask-SQLAlchemy session that always uses the test's connection."""

    def get_bind(self, mapper=None, clause=None, bind=None, **kwargs):
        return self.bind


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- SMTP: a real local server that keeps what it receives --


class _Inbox:
    def __init__(self) -> None:
        self.messages: list = []

    async def handle_DATA(self, server, session, envelope):
        import email
        from email import policy

        message = email.message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append(message)
        return "250 Message accepted"


@pytest.fixture(scope="session")
def smtp_server() -> Iterator[tuple[int, _Inbox]]:
    inbox = _Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, inbox
    controller.stop()


@pytest.fixture()
def mailbox(smtp_server) -> list:
    """The messages received by the test SMTP server during this test."""
    smtp_server[1].messages.clear()
    return smtp_server[1].messages


# -- the app and its database --


@pytest.fixture(scope="session")
def app(smtp_server, tmp_path_factory) -> Iterator[Flask]:
    os.environ.pop("DATABASE_URL", None)
    overrides = {"MAIL_PORT": smtp_server[0]}
    if not os.environ.get("TEST_DATABASE_URL"):
        # A file of this run's own, so runs side by side never share a database.
        overrides["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    app = create_app("test", **overrides)
    with app.app_context():
        url = app.config["SQLALCHEMY_DATABASE_URI"]
        if url.startswith("sqlite:///"):
            db.engine.dispose()
            Path(url[len("sqlite:///") :]).unlink(missing_ok=True)
        else:
            _reset_postgres_schema()
        upgrade()
    yield app


def _reset_postgres_schema() -> None:
    with db.engine.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA public CASCADE")
        conn.exec_driver_sql("CREATE SCHEMA public")


@pytest.fixture()
def db_session(app: Flask) -> Iterator:
    """The database for one test: everything it writes is rolled back."""
    with app.app_context():
        connection = db.engine.connect()
        outer = connection.begin()
        original = db.session
        db.session = db._make_scoped_session(
            {"bind": connection, "join_transaction_mode": "create_savepoint", "class_": _BoundSession}
        )
        limiter.reset()
        try:
            yield db.session
        finally:
            db.session.remove()
            db.session = original
            if outer.is_active:
                outer.rollback()
            connection.close()


@pytest.fixture()
def client(app: Flask, db_session) -> FlaskClient:
    return app.test_client()


# -- people and places --


@dataclass
class World:
    """Two partnerships with agencies and one user per role, for access tests."""

    partnership: Partnership
    other_partnership: Partnership
    police: PartnershipAgency
    health: PartnershipAgency
    other_agency: PartnershipAgency
    users: dict[str, User]

    def user(self, name: str) -> User:
        return self.users[name]


def make_user(
    partnership_id: int, role: Role, *, email: str, agency_id: int | None = None, name: str | None = None
) -> User:
    user, _ = services.create_user(
        partnership_id,
        email=email,
        name=name or email.split("@")[0].title(),
        role=role,
        agency_id=agency_id,
        password=PASSWORD,
    )
    return user


def sector(partnership_id: int, key: str) -> Sector:
    return db.session.scalar(sa.select(Sector).where(Sector.partnership_id == partnership_id, Sector.key == key))


@pytest.fixture()
def world(db_session) -> World:
    with system_actor("test:setup"):
        north = services.create_partnership("North Test Partnership")
        south = services.create_partnership("South Test Partnership")
        police = services.create_agency(north.id, "North Police", sector(north.id, "police"))
        health = services.create_agency(north.id, "North Hospital", sector(north.id, "health"))
        other = services.create_agency(south.id, "South Council", sector(south.id, "social_care"))
        users = {
            "admin": make_user(north.id, Role.ADMIN, email="admin@north.example.org"),
            "qa_member": make_user(north.id, Role.QA_MEMBER, email="qa@north.example.org"),
            "agency_lead": make_user(
                north.id, Role.AGENCY_LEAD, email="lead@north.example.org", agency_id=police.agency_id
            ),
            "auditor": make_user(north.id, Role.AUDITOR, email="auditor@north.example.org", agency_id=police.agency_id),
            "scrutineer": make_user(north.id, Role.SCRUTINEER, email="scrutineer@north.example.org"),
            "other_admin": make_user(south.id, Role.ADMIN, email="admin@south.example.org"),
        }
        db.session.commit()
    return World(north, south, police, health, other, users)


def login(client: FlaskClient, user: User, partnership_id: int | None = None) -> FlaskClient:
    """Sign ``user`` in on ``client`` without the login form (that is tested on its own)."""
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session["_fresh"] = True
        if partnership_id is not None:
            session["partnership_id"] = partnership_id
    return client


@pytest.fixture()
def login_as(client: FlaskClient):
    def _login(user: User, partnership_id: int | None = None) -> FlaskClient:
        return login(client, user, partnership_id)

    return _login


def api_token(user: User, partnership_id: int) -> str:
    with system_actor("test:setup"):
        _, secret = services.create_api_token(user, partnership_id, "test")
        db.session.commit()
    return secret


@pytest.fixture()
def api(client: FlaskClient):
    """Call the API as a user: ``api(user).get('/api/v1/me')``."""

    class _Api:
        def __init__(self, secret: str) -> None:
            self.headers = {"Authorization": f"Bearer {secret}"}

        def _call(self, method: str, url: str, **kwargs):
            headers = {**self.headers, **kwargs.pop("headers", {})}
            return client.open(url, method=method, headers=headers, **kwargs)

        def get(self, url: str, **kwargs):
            return self._call("GET", url, **kwargs)

        def post(self, url: str, **kwargs):
            return self._call("POST", url, **kwargs)

        def patch(self, url: str, **kwargs):
            return self._call("PATCH", url, **kwargs)

        def put(self, url: str, **kwargs):
            return self._call("PUT", url, **kwargs)

        def delete(self, url: str, **kwargs):
            return self._call("DELETE", url, **kwargs)

    def _for(user: User, partnership_id: int | None = None) -> _Api:
        pid = partnership_id or user.memberships[0].partnership_id
        return _Api(api_token(user, pid))

    return _for


def wait_for_port(port: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listening on {port}")


class QueryCounter:
    """Counts the SQL statements run while it is active (see the ``count_queries`` fixture)."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, conn, cursor, statement, parameters, context, executemany) -> None:
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK")):
            self.statements.append(statement)

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture()
def count_queries(db_session):
    """``with count_queries() as counter: ...`` then ``counter.count``: the statements a request ran."""
    from contextlib import contextmanager

    @contextmanager
    def _counting():
        counter = QueryCounter()
        engine = db.engine
        sa.event.listen(engine, "before_cursor_execute", counter)
        try:
            yield counter
        finally:
            sa.event.remove(engine, "before_cursor_execute", counter)

    return _counting
