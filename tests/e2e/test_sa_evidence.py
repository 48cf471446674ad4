"""Browser journey: on a Section 11 self-assessment return the police lead attaches a link and a file to a criterion
and adds an improvement action, which the action plan then shows under the round; with axe on each new page.

The admin plans the round on the self-assessment form (none of a case audit's fields) for the police alone.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, timedelta

import pytest
from playwright.sync_api import Page, expect

from .conftest import sign_in

pytestmark = pytest.mark.e2e

ADMIN_EMAIL = "admin@northbridge.example.org"
POLICE_LEAD_EMAIL = "lead.police@northbridge.example.org"
POLICE = "Northbridge and Eastvale Police (North BCU)"
SECTION_11 = "Section 11 self-assessment (version 1)"

A11y = Callable[..., list]


def _flash(page: Page, text: str) -> None:
    expect(page.locator(".govuk-notification-banner").filter(has_text=text)).to_be_visible()


def _fill_date(page: Page, legend: str, day: date) -> None:
    group = page.get_by_role("group", name=legend)
    group.get_by_label("Day", exact=True).fill(str(day.day))
    group.get_by_label("Month", exact=True).fill(str(day.month))
    group.get_by_label("Year", exact=True).fill(str(day.year))


def test_the_agency_attaches_a_link_and_a_file_and_adds_an_improvement_action(
    browser, live_server: str, page: Page, check_a11y: A11y, tmp_path
) -> None:
    title = f"E2E evidence {uuid.uuid4().hex[:6]}"
    today = date.today()

    # 1. The admin plans a self-assessment round: the form shows none of a case audit's fields.
    sign_in(page, ADMIN_EMAIL)
    page.goto("/rounds/new?kind=self_assessment")
    expect(page.get_by_role("heading", level=1)).to_have_text("Plan a self-assessment round")
    expect(page.get_by_label("Re-audit of an earlier round")).to_have_count(0)
    check_a11y("plan a self-assessment round")
    page.get_by_label("Title", exact=True).fill(title)
    page.get_by_label("Questionnaire", exact=True).select_option(label=SECTION_11)
    _fill_date(page, "Opens on", today)
    _fill_date(page, "Returns due by", today + timedelta(days=28))
    page.get_by_role("button", name="Plan the round").click()
    _flash(page, "Choose the agencies or sectors that must return")
    page.get_by_label(POLICE, exact=True).check()
    page.get_by_role("button", name="Save the agencies asked to return").click()
    page.get_by_role("button", name="Open the round").click()
    page.get_by_role("button", name="Open the round").click()
    _flash(page, "The round is now open for returns")

    # 2. The police lead opens the return's first section and the first criterion's links and files.
    lead = browser.new_page(base_url=live_server)
    sign_in(lead, POLICE_LEAD_EMAIL)
    lead.goto("/returns")
    lead.locator("tbody tr").filter(has_text=title).get_by_role("link").first.click()
    return_url = lead.url
    lead.locator("a[href*='/sections/']").first.click()
    lead.locator(".app-criterion-evidence a", has_text="Add or remove links and files").first.click()
    expect(lead.get_by_role("heading", level=1)).to_have_text("Links and files")
    check_a11y("a criterion's links and files", on=lead)

    # a link without its title is refused, named in the error summary; then added
    lead.get_by_label("Web address").fill("https://www.example.org/safeguarding-policy")
    lead.get_by_role("button", name="Add the link").click()
    expect(lead.locator(".govuk-error-summary")).to_contain_text("Enter a title for the link")
    check_a11y("a refused link", on=lead)
    lead.get_by_label("Title").fill("Safeguarding policy 2027")
    lead.get_by_role("button", name="Add the link").click()
    _flash(lead, "Link added: Safeguarding policy 2027")

    # a file
    minutes = tmp_path / "board-minutes.txt"
    minutes.write_text("The board reviewed the safeguarding policy in March.\n", encoding="utf-8")
    lead.get_by_label("Files").set_input_files(str(minutes))
    lead.get_by_role("button", name="Attach the files").click()
    _flash(lead, "1 file attached")
    table = lead.locator("#criterion-evidence")
    expect(table).to_contain_text("Safeguarding policy 2027")
    expect(table).to_contain_text("board-minutes.txt")

    # both are listed beside the criterion on the section page
    lead.get_by_role("link", name="Back to the criterion").first.click()
    first = lead.locator(".app-criterion-evidence").first
    expect(first.get_by_role("link", name="Safeguarding policy 2027")).to_be_visible()
    expect(first.get_by_role("link", name="board-minutes.txt")).to_be_visible()

    # 3. The lead adds an improvement action on the return; it joins the plan under the round.
    lead.goto(return_url)
    expect(lead.locator("#improvement-actions-none")).to_be_visible()
    lead.get_by_role("link", name="Add an improvement action").click()
    check_a11y("add an improvement action", on=lead)
    lead.get_by_role("button", name="Add the action").click()
    expect(lead.locator(".govuk-error-summary")).to_contain_text("Enter what will be done")
    lead.get_by_label("What will be done").fill("Refresh the safeguarding policy with the board")
    lead.get_by_label("Owner").select_option(label="Tom Walsh")
    _fill_date(lead, "Due date", today + timedelta(days=90))
    lead.get_by_label("Criterion (optional)").select_option(index=1)
    lead.get_by_role("button", name="Add the action").click()
    _flash(lead, "Improvement action added to the action plan")
    expect(lead.locator("#improvement-actions-table")).to_contain_text("Refresh the safeguarding policy with the board")
    check_a11y("the return with its improvement actions", on=lead)

    lead.goto("/actions")
    row = lead.locator("tr").filter(has_text="Refresh the safeguarding policy with the board")
    expect(row.first).to_be_visible()
    expect(lead.locator("main")).to_contain_text(title)
    check_a11y("the action plan", on=lead)
    lead.close()
