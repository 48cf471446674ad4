"""Browser journey on the demo's Section 11 rounds: the QA member records a challenge event with the police on
this year's round and turns what was agreed into an action on the plan; the police lead reads it; the round's
sharing page says which partnerships it counts for. axe checks each page."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date

import pytest
from playwright.sync_api import Page, expect

from .conftest import sign_in, sign_out

pytestmark = pytest.mark.e2e

QA_EMAIL = "qa@northbridge.example.org"
ADMIN_EMAIL = "admin@northbridge.example.org"
POLICE_LEAD_EMAIL = "lead.police@northbridge.example.org"
POLICE = "Northbridge and Eastvale Police (North BCU)"
THIS_YEAR = "Section 11 self-assessment 2026"
LAST_YEAR = "Section 11 self-assessment 2025"

A11y = Callable[..., list]


def _fill_date(page: Page, legend: str, day: date) -> None:
    group = page.get_by_role("group", name=legend)
    group.get_by_label("Day", exact=True).fill(str(day.day))
    group.get_by_label("Month", exact=True).fill(str(day.month))
    group.get_by_label("Year", exact=True).fill(str(day.year))


def _round(page: Page, title: str) -> None:
    page.goto("/rounds")
    page.get_by_role("link", name=title, exact=True).first.click()


def test_a_challenge_event_with_an_agreed_action_and_the_sharing_page(page: Page, check_a11y: A11y) -> None:
    marker = uuid.uuid4().hex[:6]
    sign_in(page, QA_EMAIL)
    # last year's round shows the demo's challenge events
    _round(page, LAST_YEAR)
    page.get_by_role("link", name="Challenge events", exact=True).click()
    expect(page.get_by_role("heading", name="Challenge events", level=1)).to_be_visible()
    expect(page.locator("table").first).to_contain_text("3 people")
    check_a11y("challenge events of last year's round")

    # this year's: record one with the police, every missing field named at once first
    _round(page, THIS_YEAR)
    page.get_by_role("link", name="Challenge events", exact=True).click()
    page.get_by_role("link", name=f"Record a challenge event with {POLICE}").click()
    page.get_by_role("button", name="Record the challenge event").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("Enter the date the challenge event was held")
    expect(summary).to_contain_text("Enter who attended")
    expect(summary).to_contain_text("Enter the questions asked")
    check_a11y("challenge event form with errors")
    _fill_date(page, "Held on", date.today())
    page.get_by_label("Who attended").fill(f"Laura Brennan, agency lead {marker}\nQuentin Adeyemi, QA chair")
    page.get_by_label("Questions asked").fill("How do you know the escalation policy is used on night shifts?")
    page.get_by_label("What was agreed").fill("Dip-sample night-shift escalations by March.")
    page.get_by_role("button", name="Record the challenge event").click()
    expect(page.get_by_role("heading", name=f"Challenge event with {POLICE}")).to_be_visible()
    expect(page.get_by_text(f"Laura Brennan, agency lead {marker}")).to_be_visible()
    check_a11y("challenge event")

    # what was agreed becomes a recommendation of the round with its first action
    page.get_by_role("button", name="Add an agreed action to the action plan").click()
    expect(page.get_by_label("What was agreed (the recommendation)")).to_have_value(
        "Dip-sample night-shift escalations by March."
    )
    page.get_by_label("What will be done").fill(f"Dip-sample 20 night-shift escalations {marker}")
    page.get_by_label("Or the name of a person at an agency").fill("Laura Brennan")
    _fill_date(page, "Due date", date(date.today().year + 1, 3, 31))
    check_a11y("agreed action form")
    page.get_by_role("button", name="Add it to the action plan").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("added to the action plan")
    page.get_by_role("link", name=f"Dip-sample 20 night-shift escalations {marker}").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Dip-sample 20 night-shift escalations {marker}")

    # the round counts for both partnerships; the QA member sees where it is shared but cannot share it
    _round(page, THIS_YEAR)
    page.get_by_role("link", name="Share this round with other partnerships, or see who it is shared with").click()
    expect(page.get_by_role("heading", name="Partnerships this round counts for")).to_be_visible()
    expect(page.locator("table")).to_contain_text("Eastvale Safeguarding Children Partnership")
    expect(page.get_by_role("button", name="Share the round")).to_have_count(0)
    check_a11y("round sharing")
    sign_out(page)

    # the police lead reads the event from the police return
    sign_in(page, POLICE_LEAD_EMAIL)
    page.goto("/returns")
    page.get_by_label("Round", exact=True).select_option(label=THIS_YEAR)
    page.get_by_role("button", name="Apply filters").click()
    page.locator("tr", has_text=THIS_YEAR).get_by_role("link", name="Agency return").first.click()
    page.get_by_role("link", name="Challenge events", exact=True).click()
    expect(page.locator("h2", has_text=POLICE)).to_be_visible()
    expect(page.locator("h2", has_text="Riverside Community Health NHS Trust")).to_have_count(0)
    expect(page.get_by_role("link", name="Record a challenge event")).to_have_count(0)
