"""Browser journeys through the admin pages, with axe on every page visited."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from .conftest import ADMIN_EMAIL, sign_in, sign_out

pytestmark = pytest.mark.e2e

AUDITOR_EMAIL = "auditor.health@northbridge.example.org"
QA_EMAIL = "qa@northbridge.example.org"
SCRUTINEER_EMAIL = "scrutineer@northbridge.example.org"
EASTVALE = "Eastvale Safeguarding Children Partnership"
NORTHBRIDGE = "Northbridge Safeguarding Children Partnership"

FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return "body";
  const name = (el.getAttribute("aria-label") || el.textContent || "").trim().replace(/\\s+/g, " ");
  return el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (name ? " " + name : "");
}"""


def focused(page: Page) -> str:
    """The focused element as ``tag#id text``, for readable assertions."""
    return page.evaluate(FOCUSED)


# -- 1. the main journey: sign in, add an agency, find it --


def test_admin_adds_an_agency_and_finds_it_in_the_list(page: Page, check_a11y) -> None:
    name = f"Northbridge Early Help Hub {uuid.uuid4().hex[:6]}"

    page.goto("/login")
    expect(page).to_have_title(re.compile(r"^Sign in"))
    check_a11y("sign in")

    sign_in(page, ADMIN_EMAIL)
    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(NORTHBRIDGE)
    check_a11y("home")

    page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Agencies").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Agencies")
    check_a11y("agency list")

    page.get_by_role("button", name="Add a new agency").click()
    expect(page).to_have_url(re.compile(r"/admin/agencies/new$"))
    check_a11y("new agency form")

    page.get_by_role("button", name="Save agency").click()
    expect(page.get_by_role("heading", name="There is a problem")).to_be_visible()
    check_a11y("new agency form with errors")

    page.get_by_label("Agency name", exact=True).fill(name)
    page.get_by_label("Sector", exact=True).select_option(label="Health")
    page.get_by_role("button", name="Save agency").click()

    expect(page).to_have_url(re.compile(r"/admin/agencies$"))
    expect(page.get_by_text(f"Agency '{name}' added")).to_be_visible()
    row = page.locator("#agencies tbody tr", has=page.get_by_role("link", name=name, exact=True))
    expect(row).to_have_count(1)
    # columns: agency, short code, reference number, sector, status
    expect(row.locator("td").nth(3)).to_have_text("Health")
    expect(row.locator("td").nth(4)).to_have_text("Active")
    check_a11y("agency list after adding")

    row.get_by_role("link", name=name, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    expect(page.locator(".govuk-summary-list")).to_contain_text("Health")
    check_a11y("agency detail")


# -- 2. the error summary --


def test_empty_agency_form_shows_an_error_summary_that_leads_to_each_field(page: Page, signed_in) -> None:
    signed_in(ADMIN_EMAIL)
    page.goto("/admin/agencies/new")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="Save agency").click()
    assert posted.value.status == 400

    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_visible()
    expect(page).to_have_title(re.compile(r"^Error: "))
    # GOV.UK Frontend moves focus to the summary so screen readers announce it first.
    expect(summary).to_be_focused()
    # ...and it is the first thing in the main content.
    assert page.evaluate(
        "() => document.querySelector('#main-content > *') === document.querySelector('.govuk-error-summary')"
    )

    links = summary.locator(".govuk-error-summary__list a")
    expect(links).to_have_text(["Enter the agency's name", "Select a sector"])
    expected = {"#name": "Agency name", "#sector_id": "Sector"}
    assert [links.nth(i).get_attribute("href") for i in range(links.count())] == list(expected)

    for index, (href, label) in enumerate(expected.items()):
        field = page.locator(href)
        expect(field).to_have_count(1)
        expect(page.get_by_label(label, exact=True)).to_have_attribute("id", href[1:])
        # The field carries its own error message, linked for assistive technology.
        expect(field).to_have_attribute("aria-describedby", re.compile(rf"\b{href[1:]}-error\b"))
        expect(page.locator(f"{href}-error")).to_contain_text(links.nth(index).inner_text())
        links.nth(index).click()
        expect(field).to_be_focused()


# -- 3. keyboard only --


def test_keyboard_user_can_reach_the_form_and_sign_in_with_enter(page: Page) -> None:
    page.goto("/login")

    page.keyboard.press("Tab")
    assert focused(page) == "a Skip to main content"
    visited = []
    for _ in range(10):
        page.keyboard.press("Tab")
        visited.append(focused(page))
        if visited[-1] == "button#submit Sign in":
            break
    # The service name links home; the password's "Show" toggle follows its field.
    assert visited == [
        "a Safeguarding audit and learning",
        "input#email",
        "input#password",
        "button Show password",
        "button#submit Sign in",
    ]

    # The skip link takes focus past the header to the main content.
    page.reload()
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    assert focused(page).startswith("main#main-content")

    page.keyboard.press("Tab")
    assert focused(page) == "input#email"
    page.keyboard.type(ADMIN_EMAIL)
    page.keyboard.press("Tab")
    page.keyboard.type("demo-password-2026")
    page.keyboard.press("Enter")

    # The browser keeps the skip link's #main-content through the redirect home.
    expect(page).to_have_url(re.compile(r"^http://[^/]+/(#main-content)?$"))
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


# Sign-out tests use people whose sessions no other test reuses, so they stay
# independent even once signing out revokes sessions on the server.


def test_signing_out_returns_to_the_sign_in_page(page: Page, check_a11y) -> None:
    sign_in(page, QA_EMAIL)
    sign_out(page)
    expect(page).to_have_url(re.compile(r"/login$"))
    check_a11y("signed out")
    page.goto("/admin/agencies")
    expect(page).to_have_url(re.compile(r"/login\?next=/admin/agencies$"))
    expect(page.get_by_text("Sign in to see this page")).to_be_visible()


def test_an_old_session_cookie_stops_working_after_sign_out(page: Page, context) -> None:
    sign_in(page, SCRUTINEER_EMAIL)
    page.wait_for_load_state("networkidle")
    before = context.cookies()
    sign_out(page)
    # As if a request sent before signing out (a stylesheet, another tab) came back afterwards.
    context.clear_cookies()
    context.add_cookies(before)
    page.goto("/admin/users")
    expect(page).to_have_url(re.compile(r"/login\?next="), timeout=1_000)


# -- 4. the other admin pages --


def _open(path: str) -> Callable[[Page], None]:
    return lambda page: page.goto(path)


def _user_detail(page: Page) -> None:
    page.goto("/admin/users")
    page.locator("#users").get_by_role("link", name="Quentin Adeyemi").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Quentin Adeyemi")


def _user_history(page: Page) -> None:
    _user_detail(page)
    page.get_by_role("link", name="View the history of this account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Quentin Adeyemi")


def _agency_history(page: Page) -> None:
    page.goto("/admin/agencies")
    page.locator("#agencies").get_by_role("link", name="Northbridge Academy").click()
    page.get_by_role("link", name="View the history of this agency").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Northbridge Academy")
    expect(page.locator("#events tbody tr").first).to_contain_text("Created")


def _audit_log_filtered(page: Page) -> None:
    page.goto("/audit-log")
    page.get_by_label("Show changes to").select_option("Agency")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"type=Agency"))
    expect(page.locator("#events tbody tr").first).to_contain_text("Agency")


def _partnership_history(page: Page) -> None:
    page.goto("/admin/settings")
    page.get_by_role("link", name="View the history of these settings").click()


ADMIN_PAGES = {
    "sectors": (_open("/admin/sectors"), "Sectors"),
    "new sector": (_open("/admin/sectors/new"), "Add a sector"),
    "users": (_open("/admin/users"), "Users"),
    "new user": (_open("/admin/users/new"), "Create or invite a user"),
    "user detail": (_user_detail, "Quentin Adeyemi"),
    "user history": (_user_history, "Quentin Adeyemi"),
    "audit log": (_audit_log_filtered, "Audit log"),
    "agency history": (_agency_history, "Northbridge Academy"),
    "link an agency": (_open("/admin/agencies/link"), "Add an agency from another partnership"),
    "partnership settings": (_open("/admin/settings"), "Partnership settings"),
    "partnership history": (_partnership_history, NORTHBRIDGE),
    "account": (_open("/account"), "Your account"),
    "switch partnership": (_open("/partnership"), "Which partnership do you want to work in?"),
}


@pytest.mark.parametrize("name", list(ADMIN_PAGES))
def test_admin_page_has_no_serious_accessibility_problems(page: Page, signed_in, check_a11y, name: str) -> None:
    go, heading = ADMIN_PAGES[name]
    signed_in(ADMIN_EMAIL)
    go(page)
    expect(page.locator("h1")).to_have_text(heading)
    check_a11y(name)


def test_new_user_form_errors_are_accessible(page: Page, signed_in, check_a11y) -> None:
    signed_in(ADMIN_EMAIL)
    page.goto("/admin/users/new")
    page.get_by_role("button", name="Create user").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_focused()
    for link in summary.locator("a").all():
        expect(page.locator(link.get_attribute("href"))).to_have_count(1)
    check_a11y("new user form with errors")


def test_invited_user_sets_a_password_and_signs_in(page: Page, signed_in, check_a11y, other_browser) -> None:
    email = f"new.auditor.{uuid.uuid4().hex[:6]}@northbridge.example.org"
    password = "a long enough e2e password"
    signed_in(ADMIN_EMAIL)
    page.goto("/admin/users/new")
    page.get_by_label("Full name").fill("Nia Browne")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Agency auditor").check()
    page.get_by_label("Agency", exact=True).select_option(label="Northbridge Academy")
    expect(page.get_by_label("Email them an invitation to set their own password")).to_be_checked()
    page.get_by_role("button", name="Create user").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Nia Browne")
    expect(page.locator(".govuk-summary-list")).to_contain_text("invitation not yet accepted")
    # The e2e app has no mail server, so the admin is given the link to pass on.
    notice = page.locator(".govuk-notification-banner")
    expect(notice).to_contain_text("Send Nia Browne this link yourself")
    link = re.search(r"https?://\S+/set-password/\S+", notice.inner_text())
    assert link is not None
    check_a11y("user detail after inviting")

    # The new user opens the link in their own browser.
    invitee = other_browser()
    invitee.goto(link.group(0))
    expect(invitee.get_by_role("heading", level=1)).to_have_text("Choose your password")
    check_a11y("set password", on=invitee)
    invitee.get_by_role("button", name="Set password").click()
    expect(invitee.locator(".govuk-error-summary")).to_be_focused()
    check_a11y("set password with errors", on=invitee)
    invitee.get_by_label("New password", exact=True).fill(password)
    invitee.get_by_label("Confirm new password", exact=True).fill(password)
    invitee.get_by_role("button", name="Set password").click()

    expect(invitee.get_by_text("Your password is set. You can now sign in.")).to_be_visible()
    sign_in(invitee, email, password)
    expect(invitee.locator("#agency-tasks")).to_contain_text("Northbridge Academy")

    # The link works once.
    response = invitee.goto(link.group(0))
    assert response is not None and response.status == 404
    check_a11y("used set-password link", on=invitee)


def test_admin_creates_an_api_token_and_sees_it_once(page: Page, signed_in, check_a11y) -> None:
    signed_in(ADMIN_EMAIL)
    page.goto("/account")
    page.get_by_label("Token name").fill("Monthly returns report")
    page.get_by_label("Expires after").select_option(label="30 days")
    page.get_by_role("button", name="Create token").click()

    token = page.locator("#new-token")
    expect(token).to_be_visible()
    secret = token.inner_text().strip()
    assert len(secret) >= 20 and " " not in secret
    expect(page.get_by_text("Token created. Copy it now")).to_be_visible()
    row = page.get_by_role("row", name=re.compile("Monthly returns report"))
    expect(row).to_contain_text("Active")
    check_a11y("account with a new token")

    # (Not page.reload(): that would post the form again and make a second token.)
    page.goto("/account")
    expect(page.locator("#new-token")).to_have_count(0)
    assert secret not in page.content()


def test_admin_switches_partnership(page: Page, signed_in, check_a11y) -> None:
    signed_in(ADMIN_EMAIL)
    page.goto("/")
    page.get_by_role("link", name="Switch partnership").click()
    expect(page.get_by_label(NORTHBRIDGE)).to_be_checked()
    page.get_by_label(EASTVALE).check()
    page.get_by_role("button", name="Continue").click()

    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(EASTVALE)
    expect(page.get_by_text(f"You are now working in {EASTVALE}")).to_be_visible()
    check_a11y("home in the second partnership")

    page.goto("/admin/agencies")
    agencies = page.locator("#agencies tbody tr")
    expect(agencies).to_have_count(2)  # the police BCU and the ICB serve both partnerships
    expect(page.locator("#agencies")).not_to_contain_text("Northbridge Academy")


# -- 5. people without the role --


def test_auditor_gets_an_accessible_403_for_admin_pages(page: Page, signed_in, check_a11y) -> None:
    signed_in(AUDITOR_EMAIL)
    response = page.goto("/admin/agencies/new")
    assert response is not None and response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("You do not have permission to see this page")
    expect(page.get_by_role("link", name="Sectors")).to_have_count(0)
    check_a11y("403")


def test_missing_page_is_an_accessible_404(page: Page, signed_in, check_a11y) -> None:
    signed_in(ADMIN_EMAIL)
    response = page.goto("/admin/agencies/999999")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    check_a11y("404")
