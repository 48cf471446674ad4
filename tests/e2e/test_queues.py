"""Browser journeys through the work queues, with axe on every page visited.

1. The police lead assigns a new return to the police auditor; the auditor goes from the home page's
   "Assigned to you" count to the filtered list, opens the return, answers a section with "Save and
   continue" and checks the whole return on one page.
2. A QA member goes from the home page's "Awaiting review" count to the submitted returns, opens one and
   reviews it from the whole return on one page; filters the list, and a bad filter is refused.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from .conftest import sign_in
from .test_case_audits import (
    POLICE,
    POLICE_AUDITOR_EMAIL,
    POLICE_LEAD_EMAIL,
    QA_EMAIL,
    RECOGNITION,
    RECOGNITION_GRADE,
    _flash,
    _plan_round,
)

pytestmark = pytest.mark.e2e

AUDITOR_NAME = "Tom Walsh"
NEXT_SECTION = "Early help, referral and information sharing"


def _count(page: Page, block: str, key: str):
    return page.locator(f"#{block}-{key} a")


def test_auditor_goes_from_the_dashboard_to_an_assigned_return_and_checks_the_whole_return(
    page: Page, check_a11y, other_browser
) -> None:
    sign_in(page, QA_EMAIL)
    _title, (reference, _second) = _plan_round(page)

    lead = other_browser()
    sign_in(lead, POLICE_LEAD_EMAIL)
    lead.get_by_role("link", name="All your agency's returns").click()
    lead.get_by_label("Case reference", exact=True).fill(reference)
    lead.get_by_role("button", name="Apply filters").click()
    rows = lead.locator("#returns tbody tr")
    expect(rows).to_have_count(1)
    check_a11y("returns filtered by case", on=lead)
    rows.get_by_role("link", name=reference, exact=True).click()
    lead.get_by_label("Auditor who completes this return", exact=True).select_option(label=AUDITOR_NAME)
    lead.get_by_role("button", name="Assign").click()
    _flash(lead, f"Assigned to {AUDITOR_NAME}")
    expect(lead.locator("#assigned")).to_contain_text(AUDITOR_NAME)
    check_a11y("return assigned", on=lead)

    auditor = other_browser()
    sign_in(auditor, POLICE_AUDITOR_EMAIL)
    assigned = _count(auditor, "agency-counts", "assigned")
    expect(assigned).to_contain_text("Assigned to you")
    expect(_count(auditor, "agency-counts", "not_started")).to_contain_text("To start")
    check_a11y("auditor's home page", on=auditor)
    assigned.click()
    expect(auditor).to_have_url(re.compile(r"/returns\?assigned=me$"))
    expect(auditor.get_by_label("Only returns assigned to me")).to_be_checked()
    row = auditor.locator("#returns tbody tr").filter(has=auditor.get_by_role("link", name=reference, exact=True))
    expect(row).to_contain_text(AUDITOR_NAME)
    expect(row).to_contain_text(POLICE)
    check_a11y("returns assigned to me", on=auditor)

    row.get_by_role("link", name=reference, exact=True).click()
    expect(auditor.get_by_role("heading", level=1)).to_have_text(f"Case {reference}")
    # nothing answered: no submit button, only what is missing
    expect(auditor.get_by_role("button", name="Mark ready for sign-off")).to_have_count(0)
    auditor.get_by_role("link", name=RECOGNITION, exact=True).click()
    auditor.get_by_role("group", name=RECOGNITION_GRADE, exact=True).get_by_label("Good", exact=True).check()
    auditor.get_by_role("button", name="Save and continue").click()
    _flash(auditor, f"'{RECOGNITION}' saved")
    expect(auditor.get_by_role("heading", level=1)).to_have_text(NEXT_SECTION)
    check_a11y("the next section after save and continue", on=auditor)
    auditor.get_by_role("link", name="Back to the return").click()
    expect(
        auditor.locator("#sections li")
        .filter(has=auditor.get_by_role("link", name=RECOGNITION, exact=True))
        .locator(".govuk-task-list__status")
    ).to_have_text("In progress")  # the optional questions are still unanswered

    auditor.get_by_role("link", name="Check your answers").click()
    expect(auditor.get_by_role("heading", level=1)).to_contain_text("the whole return")
    recognition = auditor.locator(f"h2:has-text('{RECOGNITION}') + dl")
    expect(recognition.locator(".govuk-summary-list__row").filter(has_text=RECOGNITION_GRADE)).to_contain_text("Good")
    expect(auditor.locator("#events")).to_contain_text("In progress by")
    check_a11y("check your answers", on=auditor)


def test_qa_member_goes_from_awaiting_review_to_a_submitted_return_and_reviews_it(page: Page, check_a11y) -> None:
    sign_in(page, QA_EMAIL)
    awaiting = _count(page, "qa-counts", "submitted")
    expect(awaiting).to_contain_text("Awaiting review")
    expect(_count(page, "qa-counts", "late")).to_contain_text("Late returns")
    check_a11y("QA member's home page")
    awaiting.click()
    expect(page).to_have_url(re.compile(r"/returns\?status=submitted$"))
    expect(page.get_by_label("Status", exact=True)).to_have_value("submitted")
    rows = page.locator("#returns tbody tr")
    expect(rows.first).to_contain_text("Submitted")
    statuses = rows.locator("td:nth-child(4)").all_inner_texts()
    assert statuses and all(text.strip().startswith("Submitted") for text in statuses), statuses
    check_a11y("returns awaiting review")

    rows.first.locator("td").first.get_by_role("link").click()
    page.get_by_role("link", name="The whole return on one page").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("the whole return")
    expect(page.locator(".govuk-summary-list").first).to_be_visible()
    expect(page.get_by_role("button", name="Accept")).to_be_visible()
    expect(page.get_by_role("button", name="Request changes")).to_be_visible()
    check_a11y("the whole return, for review")
    page.get_by_role("button", name="Request changes").click()  # no note: refused, beside the field
    expect(page.locator(".govuk-error-summary")).to_contain_text("Enter a note")
    check_a11y("review with an error")

    # filters: late returns, and a bad filter refused with the field named
    page.goto("/returns?status=late")
    expect(page.get_by_label("Status", exact=True)).to_have_value("late")
    page.goto("/returns?status=lost&round=x")
    expect(page.locator(".govuk-error-summary")).to_contain_text("Choose a status from the list")
    expect(page.locator(".govuk-error-summary")).to_contain_text("Choose a round from the list")
    check_a11y("returns with bad filters")
