"""Browser journey through retention on the demo: the admin sets the period (a bad value named first), then
reads which reported rounds hold case records and when they go; axe on each page. The purge itself is a
command (tests/case_audits/test_retention.py)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.e2e


def test_admin_sets_the_period_and_sees_when_records_go(signed_in, page: Page, check_a11y) -> None:
    signed_in("admin@northbridge.example.org")
    page.goto("/")
    page.get_by_role("link", name="Partnership settings", exact=True).first.click()
    field = page.get_by_label("Remove case records this many months after a case audit round is reported")
    expect(field).to_have_value("72")  # the demo's six years

    field.fill("6")
    page.get_by_role("button", name="Save settings").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("Enter a whole number of months from 12 to 600")
    check_a11y("settings with a bad retention period")
    summary.get_by_role("link").first.click()
    expect(field).to_be_focused()

    field.fill("72")
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("Settings saved")

    page.get_by_role("link", name="See which rounds' records are due for removal, and what has been removed").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Keeping case records")
    expect(page.locator("#period")).to_contain_text("72 months")
    held = page.locator("#held tbody tr")
    expect(held.first).to_be_visible()
    first = held.first.locator("td").nth(1)
    expect(first).to_contain_text("On ")  # reported when the demo was loaded: six years to go
    expect(page.locator("#purges")).to_have_text("Nothing has been removed yet.")
    check_a11y("keeping case records")

    held.first.get_by_role("link").click()
    expect(page.locator(".govuk-summary-list")).to_contain_text("Case records")
    expect(page.locator(".govuk-summary-list")).to_contain_text(
        "(72 months after the round was reported), then removed"
    )
