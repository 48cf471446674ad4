"""Browser fixtures: the app on its own file database, served on a real port, and Chromium.

The browser journeys never share the unit tests' database: they use
a temporary SQLite file, or a database named ``<TEST_DATABASE_URL's
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
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Playwright, expect, sync_playwright
from werkzeug.serving import BaseWSGIServer, make_server

from audit_app import create_app
from audit_app.accounts.demo import DEMO_PASSWORD
from audit_app.core.audit import system_actor
from audit_app.core.demo import load_demo
from audit_app.extensions import db
from config import BASE_DIR

from ..conftest import _free_port, fresh_postgres_database, wait_for_port

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
TIMEOUT_MS = 10_000  # generous: CI machines and shared runners are slow; passing tests never wait for it

ADMIN_EMAIL = "admin@northbridge.example.org"


# -- the database and the server --


def _e2e_database_url() -> str:
    """The e2e database's URL, (re)created empty; never the unit tests' database."""
    test_url = os.environ.get("TEST_DATABASE_URL")
    if not test_url:
        # A file of this run's own, so runs side by side never share a database.
        path = Path(tempfile.mkdtemp(prefix="audit-e2e-")) / "e2e.db"
        return f"sqlite:///{path}"
    if not sa.engine.make_url(test_url).drivername.startswith("postgres"):
        raise RuntimeError(f"TEST_DATABASE_URL must be PostgreSQL for the browser tests, not {test_url}")
    return fresh_postgres_database(test_url, "e2e")


@pytest.fixture(scope="session")
def e2e_app() -> Iterator[Flask]:
    """An app on the e2e database, migrated and loaded with the demo partnership.

    Session-scoped, not package-scoped: under pytest-xdist a worker runs browser modules between others, and
    a package fixture would be rebuilt each time (the demo loaded again, and every cached sign-in gone with
    the sessions recorded in the old database). The server in front of it (``live_server``) still stops
    whenever the worker leaves the browser tests."""
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


@pytest.fixture(scope="package")
def live_server(e2e_app: Flask) -> Iterator[str]:
    """The e2e app served over HTTP in a background thread; yields its base URL.

    Package-scoped, so the server stops when the browser tests end: a request still in flight from the
    browser must never reach the app while the unit tests that follow have bound ``db.session`` to their
    own connection (it once made an access-table case answer 500 when the browser tests ran first).
    """
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


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Browser tests need Debian's Chromium at {CHROMIUM} (make chromium)")
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    expect.set_options(timeout=TIMEOUT_MS)
    yield browser
    browser.close()


def _new_context(browser: Browser, base_url: str) -> BrowserContext:
    context = browser.new_context(base_url=base_url, locale="en-GB", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    return context


def _watched_page(context: BrowserContext, problems: list[str]) -> Page:
    """A new page whose script errors and console errors (CSP violations among them) go in ``problems``."""

    def on_console(message: ConsoleMessage) -> None:
        # Chromium logs every 4xx document as "Failed to load resource"; tests check statuses themselves.
        if message.type == "error" and not message.text.startswith(
            "Failed to load resource: the server responded with a status of 4"
        ):
            problems.append(f"console error: {message.text}")

    page = context.new_page()
    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    return page


@pytest.fixture()
def browser_problems() -> Iterator[list[str]]:
    """Errors the browser reported during the test; any of them fails it."""
    problems: list[str] = []
    yield problems
    assert not problems, "the browser reported errors:\n" + "\n".join(problems)


@pytest.fixture()
def context(browser: Browser, live_server: str) -> Iterator[BrowserContext]:
    context = _new_context(browser, live_server)
    yield context
    context.close()


@pytest.fixture()
def page(context: BrowserContext, browser_problems: list[str]) -> Page:
    """A fresh page in a fresh context (no cookies)."""
    return _watched_page(context, browser_problems)


@pytest.fixture()
def other_browser(browser: Browser, live_server: str, browser_problems: list[str]) -> Iterator[Callable[[], Page]]:
    """``other_browser()`` is a page for a second person, with cookies of their own."""
    contexts: list[BrowserContext] = []

    def _page() -> Page:
        contexts.append(_new_context(browser, live_server))
        return _watched_page(contexts[-1], browser_problems)

    yield _page
    for context in contexts:
        context.close()


# -- helpers for tests --


def sign_in(page: Page, email: str, password: str = DEMO_PASSWORD) -> None:
    """Sign in through the real form, as a person would."""
    page.goto("/login")
    page.get_by_label("Email address", exact=True).fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def sign_out(page: Page) -> None:
    """Sign out with the button once the page has finished loading.

    Every response, even for a stylesheet, re-sends the session cookie, so a
    request still in flight when the sign-out lands would sign the browser
    back in (see test_an_old_session_cookie_stops_working_after_sign_out).
    """
    page.wait_for_load_state("networkidle")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You have signed out")).to_be_visible()


@pytest.fixture(scope="session")
def session_cookies() -> dict[str, list]:
    return {}


@pytest.fixture()
def signed_in(context: BrowserContext, page: Page, session_cookies: dict[str, list]):
    """``signed_in(email)`` gives this test's browser a signed-in session for ``email``.

    The first test to ask for a person signs in through the form; later tests
    reuse that session cookie (the same server-side session, as a person who
    stayed signed in). The sign-in journey itself is tested on its own.
    The page is left where it was: after a first sign-in on the home page,
    after a reused cookie on a blank page, so a test goes to its own page first.
    """

    def _sign_in(email: str = ADMIN_EMAIL) -> Page:
        if email not in session_cookies:
            sign_in(page, email)
            session_cookies[email] = context.cookies()
        else:
            context.add_cookies(session_cookies[email])
        return page

    return _sign_in


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE_JS.exists():
        pytest.fail(f"{AXE_JS} is missing: run `make assets`")
    return AXE_JS.read_text(encoding="utf-8")


@pytest.fixture()
def check_a11y(page: Page, axe_source: str):
    """``check_a11y(label)`` runs axe on the test's page (or ``on``) and fails on serious or critical violations.

    Returns all of axe's violations, the tolerated ones included.
    """

    def _check(label: str | None = None, on: Page | None = None) -> list[dict]:
        target = on or page
        violations = axe_violations(target, axe_source)
        failing = [v for v in violations if v.get("impact") in FAILING_IMPACTS]
        where = label or target.url
        assert not failing, f"axe found accessibility violations on {where}:\n" + _describe(failing)
        return violations

    return _check


def axe_violations(page: Page, axe_source: str) -> list[dict]:
    """Every violation axe finds on ``page`` once it has loaded (axe injected if the page lacks it)."""
    page.wait_for_load_state("load")
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(axe_source)
    return page.evaluate("() => axe.run(document, {resultTypes: ['violations']})")["violations"]


def _describe(violations: list[dict]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"- [{violation['impact']}] {violation['id']}: {violation['help']} ({violation['helpUrl']})")
        for node in violation["nodes"]:
            lines.append(f"    {json.dumps(node['target'])} {node.get('html', '')[:120]}")
            lines.extend(f"      {line.strip()}" for line in node.get("failureSummary", "").splitlines()[1:])
    return "\n".join(lines)
