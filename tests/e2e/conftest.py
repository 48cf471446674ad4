"""Browser fixtures: the app on its own file database, served on a real port, and Chromium.

The browser journeys never share the unit tests' database: they use
instance/e2e.db (SQLite), or a database named ``<TEST_DATABASE_URL's
name>_e2e`` on the same PostgreSQL server. Either is rebuilt by the real
migrations at the start of the run and loaded with the demo partnership.

One Chromium for the whole run, a fresh browser context (cookies, storage)
per test. axe-core (built into static/dist by ``make assets``) checks each
page for accessibility problems; the app's CSP forbids inline scripts, so it
is injected through the DevTools protocol with ``page.evaluate``.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, expect, sync_playwright
from werkzeug.serving import BaseWSGIServer, make_server

from audit_app import create_app
from audit_app.core.audit import system_actor
from audit_app.core.demo import DEMO_PASSWORD, load_demo
from audit_app.extensions import db
from config import BASE_DIR

from ..conftest import _free_port, wait_for_port

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
AXE_JS = BASE_DIR / "audit_app" / "static" / "dist" / "axe.min.js"
#: axe impacts that fail a test; "minor" and "moderate" are reported by axe but tolerated
FAILING_IMPACTS = {"serious", "critical"}
TIMEOUT_MS = 5_000

ADMIN_EMAIL = "admin@northbridge.example.org"


# -- the database and the server --


def _e2e_database_url() -> str:
    """The e2e database's URL, (re)created empty; never the unit tests' database."""
    test_url = os.environ.get("TEST_DATABASE_URL")
    if not test_url:
        path = BASE_DIR / "instance" / "e2e.db"
        path.parent.mkdir(exist_ok=True)
        for leftover in (path, path.with_name(path.name + "-journal"), path.with_name(path.name + "-wal")):
            leftover.unlink(missing_ok=True)
        return f"sqlite:///{path}"
    url = sa.engine.make_url(test_url)
    if url.drivername in ("postgres", "postgresql"):
        url = url.set(drivername="postgresql+psycopg")
    if not url.drivername.startswith("postgresql"):
        raise RuntimeError(f"TEST_DATABASE_URL must be PostgreSQL for the browser tests, not {url.drivername}")
    url = url.set(database=f"{url.database}_e2e")
    maintenance = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with maintenance.connect() as conn:
            name = conn.dialect.identifier_preparer.quote(url.database)
            conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            conn.exec_driver_sql(f"CREATE DATABASE {name}")
    finally:
        maintenance.dispose()
    return url.render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def e2e_app() -> Iterator[Flask]:
    """An app on the e2e database, migrated and loaded with the demo partnership."""
    app = create_app(
        "test",
        SQLALCHEMY_DATABASE_URI=_e2e_database_url(),
        WTF_CSRF_ENABLED=True,  # real forms, real tokens
        SERVER_NAME=None,
        MAIL_SERVER=None,  # invitations are logged, not sent
        # Every test signs in from 127.0.0.1; the real limit would trip part-way through the run.
        LOGIN_RATE_LIMIT="1000 per minute",
    )
    with app.app_context():
        upgrade()
        with system_actor("test:e2e"):
            load_demo()
        db.session.commit()
        db.session.remove()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="session")
def live_server(e2e_app: Flask) -> Iterator[str]:
    """The e2e app served over HTTP in a background thread; yields its base URL."""
    port = _free_port()
    server: BaseWSGIServer = make_server("127.0.0.1", port, e2e_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="e2e-server", daemon=True)
    thread.start()
    wait_for_port(port)
    yield f"http://127.0.0.1:{port}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


# -- the browser --


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Browser tests need Debian's Chromium at {CHROMIUM} (make chromium)")
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    yield browser
    browser.close()


@dataclass
class PageProblems:
    """What the browser complained about while a test ran (CSP violations, script errors)."""

    messages: list[str] = field(default_factory=list)


@pytest.fixture()
def context(browser: Browser, live_server: str) -> Iterator[BrowserContext]:
    context = browser.new_context(base_url=live_server, locale="en-GB", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    yield context
    context.close()


@pytest.fixture()
def page(context: BrowserContext) -> Iterator[Page]:
    """A fresh page; the test fails if the browser logged an error (a CSP violation, a script error)."""
    problems = PageProblems()
    page = context.new_page()
    page.on("pageerror", lambda error: problems.messages.append(f"page error: {error}"))
    page.on(
        "console",
        lambda message: problems.messages.append(f"console {message.type}: {message.text}")
        if message.type == "error" and not _expected_console_error(message.text)
        else None,
    )
    yield page
    assert not problems.messages, "the browser reported errors:\n" + "\n".join(problems.messages)


def _expected_console_error(text: str) -> bool:
    # Chromium logs every 4xx/5xx document as a console error; tests assert those statuses themselves.
    return text.startswith("Failed to load resource: the server responded with a status of 4")


# -- helpers for tests --


def sign_in(page: Page, email: str, password: str = DEMO_PASSWORD) -> None:
    """Sign in through the real form, as a person would."""
    page.goto("/login")
    page.get_by_label("Email address", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


@pytest.fixture(scope="session")
def _session_cookies() -> dict[str, list]:
    return {}


@pytest.fixture()
def signed_in(context: BrowserContext, page: Page, _session_cookies: dict[str, list]):
    """``signed_in(email)`` gives this test's browser a signed-in session for ``email``.

    The first test to ask for a person signs in through the form; later tests
    reuse that session cookie (sessions live in the cookie, so this is the
    same as a person who stayed signed in). The sign-in journey itself is
    tested on its own.
    """

    def _sign_in(email: str = ADMIN_EMAIL) -> Page:
        if email not in _session_cookies:
            sign_in(page, email)
            _session_cookies[email] = context.cookies()
        else:
            context.add_cookies(_session_cookies[email])
        return page

    return _sign_in


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE_JS.exists():
        pytest.fail(f"{AXE_JS} is missing: run `make assets`")
    return AXE_JS.read_text(encoding="utf-8")


@pytest.fixture()
def check_a11y(page: Page, axe_source: str):
    """``check_a11y()`` runs axe on the current page and fails on serious or critical violations."""

    def _check(label: str | None = None) -> list[dict]:
        page.wait_for_load_state("load")
        if not page.evaluate("() => typeof window.axe === 'object'"):
            page.evaluate(axe_source)
        result = page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")
        failing = [v for v in result["violations"] if v.get("impact") in FAILING_IMPACTS]
        where = label or page.url
        assert not failing, f"axe found accessibility violations on {where}:\n" + _describe(failing)
        return result["violations"]

    return _check


def _describe(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"- [{violation['impact']}] {violation['id']}: {violation['help']} ({violation['helpUrl']})")
        for node in violation["nodes"]:
            lines.append(f"    {json.dumps(node['target'])}: {node.get('failureSummary', '').splitlines()[-1:]}")
    return "\n".join(lines)
