"""Accessibility sweep: every page each demo role reaches, checked by axe; no serious or critical violation.

For each role, signed in as its demo person, the sweep starts from the links of the main menu and follows
the links on every page it visits (navigation, lists, detail pages, forms), breadth first, visiting each
kind of page (each route) once per role (a form or a confirmation, a route that also takes a POST, only
once, by the first role reaching it), and runs axe on each. Pages that no link reaches in the demo are
listed in ``EXTRA_PAGES`` and visited too. At the end, every HTML page of the application (every GET route
that is not a download, a file or the API) must have been visited by some role or be named in
``NOT_SWEPT`` with the reason, so a new page cannot be missed silently.

One demo load, one browser and one signed-in context per role for the whole sweep; every violation of every
page is listed at once (page, rule, element).
"""

from __future__ import annotations

import time
from collections import deque
from urllib.parse import urlsplit

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page
from werkzeug.exceptions import HTTPException
from werkzeug.routing import MapAdapter, RequestRedirect

from audit_app.accounts.demo import USERS
from audit_app.core.roles import Role

from .conftest import FAILING_IMPACTS, _new_context, _watched_page, axe_violations, sign_in

pytestmark = pytest.mark.e2e

#: the demo person signed in for each role (the first demo user holding it)
ROLE_EMAILS = {role: next(email for email, _name, r, _agency in USERS if r == role) for role in Role}

#: pages a role can open but no link in the demo reaches; visited for every role that may open them
#: (``{round_id}`` and friends are filled from the demo below)
EXTRA_PAGES = ["/account"]

#: HTML pages the sweep does not visit, and why
NOT_SWEPT = {
    "accounts.login": "visited before signing in (see test_sign_in_page_has_no_violations)",
    "accounts.set_password": "reached only through an invitation's token (tests/e2e/test_journeys.py)",
    "surveys.survey_form": "public, reached only through a survey link's token (tests/e2e/test_sa_survey.py)",
    "surveys.survey_thanks": "public, after answering a survey (tests/e2e/test_sa_survey.py)",
    "core.healthz": "JSON for load balancers",
    "core.readyz": "JSON for load balancers",
    # account security: only for someone with two-factor sign-in on, or half-way through signing in with it;
    # tests/e2e/test_account_security.py opens each with axe
    "accounts.login_two_factor": "the second step of signing in, for someone with two-factor sign-in",
    "accounts.two_factor_disable": "offered only to someone with two-factor sign-in on",
    "accounts.two_factor_recovery_codes": "offered only to someone with two-factor sign-in on",
    # The same template as a page the sweep opens:
    "actions.recommendation_delete": "core/confirm.html, as every confirmation the sweep opens",
    "rounds.return_accept": "core/confirm.html, as every confirmation the sweep opens",
    "case_audits.round_case_remove": "core/confirm.html, as every confirmation the sweep opens",
    "review_summaries.summaries_add_agency": "the form of review_summaries.summaries_ask, which the sweep opens",
    "learning.point_edit": "reviews/learning_point_form.html, as learning.point_new, which the sweep opens",
    # Shown only in states the demo does not hold; checked with axe by the journey named:
    "questionnaires.version_edit": "a draft's editor; the demo has no draft (tests/e2e/test_questionnaires.py)",
    "questionnaires.section_create": "a draft's editor; the demo has no draft (tests/e2e/test_questionnaires.py)",
    "questionnaires.section_edit": "a draft's editor; the demo has no draft (tests/e2e/test_questionnaires.py)",
    "questionnaires.question_create": "a draft's editor; the demo has no draft (tests/e2e/test_questionnaires.py)",
    "questionnaires.question_edit": "a draft's editor; the demo has no draft (tests/e2e/test_questionnaires.py)",
    "reviews.clock_resume": "only while a clock is paused (tests/e2e/test_reviews.py, 'resume a clock')",
    "improvement.improvement_action_new": "from a self-assessment return's criterion (tests/e2e/test_sa_evidence.py)",
    "rounds.criterion_evidence": "from a self-assessment return's criterion (tests/e2e/test_sa_evidence.py)",
    "surveys.survey_agency": "an agency's survey link (tests/e2e/test_sa_survey.py, 'an agency's survey')",
    # Not checked by axe anywhere yet:
    "questionnaires.version_compare": "needs two versions of a questionnaire; the demo has one of each (TODO)",
    "rounds.round_delete": "only for a round being planned; the demo has none (TODO)",
}

#: pages visited for each of their objects, not once: a round's page differs by kind (case audit,
#: self-assessment, agency summaries) and status, and leads to that kind's own pages
VISIT_EACH = {"rounds.round_detail"}

#: the most pages one role's sweep opens; a crawl that goes past it has found something it should not
MAX_PAGES_PER_ROLE = 150


def _is_download(rule: str) -> bool:
    return rule.endswith((".pdf", ".xlsx", ".csv", ".yaml", ".json")) or "/file" in rule or "/evidence/" in rule


def html_endpoints(app: Flask) -> set[str]:
    """Every GET route that answers with a page: not a download, a file, the API or static files."""
    return {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if "GET" in (rule.methods or ())
        and not rule.endpoint.startswith(("api.", "static"))
        and not _is_download(rule.rule)
    }


def form_endpoints(app: Flask) -> set[str]:
    """The routes that show a form and take its answer (GET and POST): new, edit, confirm."""
    return {rule.endpoint for rule in app.url_map.iter_rules() if {"GET", "POST"} <= (rule.methods or set())}


def endpoint_of(adapter: MapAdapter, href: str) -> str | None:
    """The route a link on the page goes to, or None for another site, an anchor or no route."""
    parts = urlsplit(href)
    if parts.netloc and parts.netloc != urlsplit(adapter.url_scheme + "://" + adapter.server_name).netloc:
        return None
    if not parts.path.startswith("/"):
        return None
    try:
        endpoint, _ = adapter.match(parts.path, method="GET")
    except (HTTPException, RequestRedirect):
        return None
    return endpoint


def sweep_role(
    page: Page, adapter: MapAdapter, wanted: set[str], skip: set[str], axe_source: str, failures: list[str]
) -> dict[str, str]:
    """Visit each kind of page the role reaches once (each object of ``VISIT_EACH``), from the main menu
    outwards, except those in ``skip``; {endpoint or path: url}."""
    nav = page.locator('nav[aria-label="Main menu"] a').evaluate_all("links => links.map(a => a.getAttribute('href'))")
    queue = deque((href, "the main menu") for href in [*nav, *EXTRA_PAGES])
    visited: dict[str, str] = {}
    while queue and len(visited) < MAX_PAGES_PER_ROLE:
        href, linked_from = queue.popleft()
        endpoint = endpoint_of(adapter, href)
        key = urlsplit(href).path if endpoint in VISIT_EACH else endpoint
        if endpoint is None or endpoint not in wanted or key in visited or endpoint in skip:
            continue
        visited[key] = href
        response = page.goto(href)
        status = response.status if response else 0
        if status >= 500 or status in (403, 404):
            failures.append(f"{href} (linked from {linked_from}): the page answered {status}")
            continue
        for violation in axe_violations(page, axe_source):
            if violation.get("impact") in FAILING_IMPACTS:
                failures.extend(
                    f"{href} [{violation['impact']}] {violation['id']}: {violation['help']} at {node['target']}"
                    for node in violation["nodes"]
                )
        links = page.locator("a[href]").evaluate_all("links => links.map(a => a.getAttribute('href'))")
        queue.extend((link, href) for link in links)
    return visited


def test_every_page_of_every_role_has_no_serious_violations(
    e2e_app: Flask, live_server: str, browser: Browser, axe_source: str
) -> None:
    started = time.perf_counter()
    adapter = e2e_app.url_map.bind(urlsplit(live_server).netloc, url_scheme="http")
    wanted = html_endpoints(e2e_app) - set(NOT_SWEPT)
    failures: list[str] = []
    problems: list[str] = []
    reached: dict[str, set[str]] = {}
    forms = form_endpoints(e2e_app)
    pages = 0
    for role, email in ROLE_EMAILS.items():
        context = _new_context(browser, live_server)
        try:
            page = _watched_page(context, problems)
            sign_in(page, email)
            # a form (or a confirmation) is checked once, by the first role that reaches it; a page every time
            visited = sweep_role(page, adapter, wanted, forms & set(reached), axe_source, failures)
        finally:
            context.close()
        for endpoint in {endpoint_of(adapter, href) for href in visited.values()}:
            reached.setdefault(endpoint, set()).add(role.value)
        pages += len(visited)
        print(f"{role.value}: {len(visited)} pages")
    missed = sorted(wanted - set(reached))
    elapsed = time.perf_counter() - started
    print(f"accessibility sweep: {pages} pages ({len(reached)} kinds) in {elapsed:.0f} s")
    report = []
    if failures:
        report += [f"{len(failures)} serious or critical problems:", *failures]
    if missed:
        report += [
            "pages no role reached by a link (add them to EXTRA_PAGES, or to NOT_SWEPT with the reason):",
            *missed,
        ]
    if problems:
        report += ["the browser reported errors:", *problems]
    assert not report, "\n".join(report)


def test_sign_in_page_has_no_violations(page: Page, check_a11y) -> None:
    page.goto("/login")
    check_a11y("the sign-in page")
