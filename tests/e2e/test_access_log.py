"""Browser journey through the access log, with axe on its pages.

The police auditor opens one of the demo case audit's returns; the admin then finds that view in the access
log (filtered to the auditor) and in the case's "who looked at this case" report.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from .conftest import sign_in
from .test_case_audits import POLICE_AUDITOR_EMAIL

pytestmark = pytest.mark.e2e


def test_admin_finds_an_auditors_view_of_a_return(page: Page, check_a11y, other_browser) -> None:
    auditor = other_browser()
    sign_in(auditor, POLICE_AUDITOR_EMAIL)
    auditor.goto("/returns")
    first = auditor.locator("#returns tbody tr a").first
    reference = first.inner_text().split(":")[0].strip()
    first.click()
    expect(auditor.get_by_role("heading", level=1)).to_have_text(f"Case {reference}")
    round_title = auditor.locator(".govuk-caption-l").inner_text().split(" · ")[0].strip()

    sign_in(page, "admin@northbridge.example.org")
    page.get_by_role("link", name="Access log", exact=True).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Access log")
    page.get_by_label("What was viewed", exact=True).select_option("return")
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("#access-events tbody tr")
    mine = rows.filter(has_text=POLICE_AUDITOR_EMAIL).filter(has_text=f"{round_title} (case {reference})")
    expect(mine.first).to_contain_text("Page")
    check_a11y("access log filtered to returns")

    # a bad date is refused, naming the field
    page.get_by_label("From date").fill("2026-12-31")
    page.get_by_label("To date").fill("2026-01-01")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator(".govuk-error-summary")).to_contain_text("To: must be the same as or after the from date")

    # the case's report, from the case's page
    page.get_by_role("link", name="Rounds", exact=True).first.click()
    page.get_by_role("link", name=round_title, exact=True).first.click()
    page.get_by_role("link", name=re.compile(rf"^{re.escape(reference)}\W+audit history")).first.click()
    page.get_by_role("link", name=f"Who looked at this case ({reference})").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Who looked at Case {reference}")
    expect(page.locator("#by-person")).to_contain_text(POLICE_AUDITOR_EMAIL)
    expect(page.locator("#access-events")).to_contain_text(f"{round_title} (case {reference})")
    check_a11y("who looked at a case")
