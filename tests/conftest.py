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
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade
from flask_sqlalchemy.session import Session as FlaskSession

from audit_app import create_app
from audit_app.accounts.models import User
from audit_app.extensions import db, limiter
from config import database_url
from tests.core_fixtures import clock as clock

# Test modules import these from here as well as from tests/factories.py.
from tests.factories import PASSWORD, World, api_token, build_world, make_user, sector  # noqa: F401


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist, give each worker its own PostgreSQL database and Redis database."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        _per_worker_services(worker)


def _per_worker_services(worker: str) -> None:
    """Point TEST_DATABASE_URL and TEST_REDIS_URL at databases of this worker's own (gw0, gw1, ...).

    The browser tests' database is derived from TEST_DATABASE_URL (``<name>_e2e``), so it follows.
    SQLite runs need nothing: each session already makes its own files.
    """
    index = int(worker.removeprefix("gw") or 0)
    test_url = os.environ.get("TEST_DATABASE_URL")
    if test_url:
        os.environ["TEST_DATABASE_URL"] = fresh_postgres_database(test_url, worker)
    redis_url = os.environ.get("TEST_REDIS_URL")
    if redis_url:
        base, _, number = redis_url.rpartition("/")
        if number.isdigit():
            os.environ["TEST_REDIS_URL"] = f"{base}/{max(int(number) - index, 0)}"


def fresh_postgres_database(test_url: str, suffix: str) -> str:
    """The URL of ``<TEST_DATABASE_URL's database>_<suffix>``, dropped if it was there and created empty."""
    url = sa.engine.make_url(test_url).set(drivername="postgresql+psycopg")
    url = url.set(database=f"{url.database}_{suffix}")
    maintenance = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with maintenance.connect() as conn:
            name = conn.dialect.identifier_preparer.quote(url.database)
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
    finally:
        maintenance.dispose()
    return url.render_as_string(hide_password=False)


def drop_postgres_database(database_url: str) -> None:
    """Drop a database made by :func:`fresh_postgres_database`."""
    url = sa.engine.make_url(database_url)
    maintenance = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with maintenance.connect() as conn:
            name = conn.dialect.identifier_preparer.quote(url.database)
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    finally:
        maintenance.dispose()


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
    # Files of this run's own: runs side by side (and xdist workers) never share a storage directory.
    overrides = {"MAIL_PORT": smtp_server[0], "FILE_STORAGE_DIR": str(tmp_path_factory.mktemp("files"))}
    if os.environ.get("TEST_DATABASE_URL"):
        # Read here, not when config.py was imported: an xdist worker points it at its own database.
        overrides["SQLALCHEMY_DATABASE_URI"] = database_url(os.environ["TEST_DATABASE_URL"], "")
    else:
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


@contextmanager
def _session_on(connection: sa.Connection) -> Iterator:
    """Point ``db.session`` at ``connection``: the app's commits become SAVEPOINT releases on it."""
    original = db.session
    db.session = db._make_scoped_session(
        {"bind": connection, "join_transaction_mode": "create_savepoint", "class_": _BoundSession}
    )
    try:
        yield db.session
    finally:
        db.session.remove()
        db.session = original


@pytest.fixture()
def db_session(app: Flask) -> Iterator:
    """The database for one test: everything it writes is rolled back."""
    with app.app_context():
        connection = db.engine.connect()
        outer = connection.begin()
        limiter.reset()
        try:
            with _session_on(connection) as session:
                yield session
        finally:
            if outer.is_active:
                outer.rollback()
            connection.close()


# -- data built once per module (the access table's world) --
#
# A module that builds heavy data once overrides ``db_session`` with
# ``savepoint_session`` and builds its data in a module fixture inside
# ``module_setup``:
#
#     @pytest.fixture(scope="module")
#     def shared(app, module_connection):
#         with module_setup(app, module_connection):
#             return world_ids(build_world())
#
#     @pytest.fixture()
#     def db_session(savepoint_session):
#         return savepoint_session
#
# The module's data is committed inside one transaction on one connection that
# is rolled back when the module ends; each test runs inside a SAVEPOINT on
# that connection and rolls back to it, so what a test writes never reaches
# the next test and nothing reaches the database. Module fixtures return ids,
# not ORM objects: each test loads what it needs in its own session.


@pytest.fixture(scope="module")
def module_connection(app: Flask) -> Iterator[sa.Connection]:
    """One connection and transaction for a module's tests, rolled back when the module ends."""
    with app.app_context():
        connection = db.engine.connect()
    outer = connection.begin()
    try:
        yield connection
    finally:
        if outer.is_active:
            outer.rollback()
        connection.close()


@contextmanager
def module_setup(app: Flask, connection: sa.Connection) -> Iterator:
    """An app context and a session on the module's connection, to build what its tests share."""
    with app.app_context(), _session_on(connection) as session:
        yield session


@pytest.fixture()
def savepoint_session(app: Flask, module_connection: sa.Connection) -> Iterator:
    """The database for one test of a module with shared data: rolled back to a savepoint at its end."""
    with app.app_context():
        savepoint = module_connection.begin_nested()
        limiter.reset()
        try:
            with _session_on(module_connection) as session:
                yield session
        finally:
            if savepoint.is_active:
                savepoint.rollback()


@pytest.fixture()
def client(app: Flask, db_session) -> FlaskClient:
    return app.test_client()


# -- people and places (built by tests/factories.py) --


@pytest.fixture()
def world(db_session) -> World:
    return build_world()


def login(client: FlaskClient, user: User, partnership_id: int | None = None) -> FlaskClient:
    """Sign ``user`` in on ``client`` without the login form (that is tested on its own), with a session record
    as the form makes (accounts.security.start_session)."""
    from audit_app.accounts.security import start_session
    from audit_app.accounts.session import SESSION_KEY

    key = start_session(user, ip_address="127.0.0.1", user_agent="pytest")
    db.session.commit()  # as the form does: a request's rollback must not take the session record with it
    with client.session_transaction() as session:
        session["_user_id"] = user.get_id()
        session[SESSION_KEY] = key
        session["_fresh"] = True
        if partnership_id is not None:
            session["partnership_id"] = partnership_id
    return client


@pytest.fixture()
def login_as(client: FlaskClient):
    def _login(user: User, partnership_id: int | None = None) -> FlaskClient:
        return login(client, user, partnership_id)

    return _login


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
        return _Api(api_token(user, partnership_id))

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


@contextmanager
def own_database(tmp_path: Path, suffix: str, **overrides) -> Iterator[Flask]:
    """An app on a fresh database of its own (PostgreSQL when TEST_DATABASE_URL is set), not yet migrated; its
    commits are real, and the database is dropped afterwards. For migration, race and backup tests; ``overrides``
    are config values (a FILE_STORAGE_DIR of its own)."""
    test_url = os.environ.get("TEST_DATABASE_URL")
    database = fresh_postgres_database(test_url, suffix) if test_url else f"sqlite:///{tmp_path / f'{suffix}.db'}"
    app = create_app("test", **{"SQLALCHEMY_DATABASE_URI": database, "MAIL_SERVER": None, **overrides})
    try:
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
        if test_url:
            drop_postgres_database(database)
