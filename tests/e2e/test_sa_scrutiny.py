"""Browser journey: scrutiny and moderation of a Section 11 return on the shipped library questionnaire, with axe.

An admin opens a round for the police; the police lead rates every criterion Fully met and submits; the QA
member queries a criterion; the police lead answers in the thread; the QA member moderates the rating to Partly
met with a reason and makes the criterion a priority; the police lead sees the moderated rating and why beside
its own; the follow-up list shows the police.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import date, timedelta

import pytest
from playwright.sync_api import Page, expect

from .conftest import sign_in

pytestmark = pytest.mark.e2e

ADMIN_EMAIL = "admin@northbridge.example.org"
QA_EMAIL = "qa@northbridge.example.org"
POLICE_LEAD_EMAIL = "lead.police@northbridge.example.org"
POLICE = "Northbridge and Eastvale Police (North BCU)"
SECTION_11 = "Section 11 self-assessment (version 1)"
CRITERION = "A named member of the board or senior leadership team is responsible for safeguarding children."

A11y = Callable[..., list]


def _flash(page: Page, text: str) -> None:
    expect(page.locator(".govuk-notification-banner").filter(has_text=text)).to_be_visible()


def _fill_date(page: Page, legend: str, day: date) -> None:
    group = page.get_by_role("group", name=legend)
    group.get_by_label("Day", exact=True).fill(str(day.day))
    group.get_by_label("Month", exact=True).fill(str(day.month))
    group.get_by_label("Year", exact=True).fill(str(day.year))


def test_the_qa_member_queries_the_agency_answers_and_the_rating_is_moderated(
    browser, live_server: str, page: Page, check_a11y: A11y
) -> None:
    title = f"E2E scrutiny {uuid.uuid4().hex[:6]}"
    today = date.today()

    # 1. The admin plans a Section 11 round for the police and opens it.
    sign_in(page, ADMIN_EMAIL)
    page.goto("/rounds/new")
    page.get_by_label("Title", exact=True).fill(title)
    page.get_by_label("Questionnaire", exact=True).select_option(label=SECTION_11)
    _fill_date(page, "Opens on", today)
    _fill_date(page, "Returns due by", today + timedelta(days=28))
    page.get_by_role("button", name="Plan the round").click()
    round_url = page.url
    page.get_by_label(POLICE, exact=True).check()
    page.get_by_role("button", name="Save the agencies asked to return").click()
    page.get_by_role("button", name="Open the round").click()
    page.get_by_role("button", name="Open the round").click()
    _flash(page, "The round is now open for returns")

    # 2. The police lead rates every criterion Fully met and submits.
    lead = browser.new_page(base_url=live_server)
    sign_in(lead, POLICE_LEAD_EMAIL)
    lead.goto("/returns")
    lead.locator("tbody tr").filter(has_text=title).get_by_role("link").first.click()
    expect(lead.get_by_role("heading", level=1)).to_have_text("Agency return")
    return_url = lead.url
    sections = [link.get_attribute("href") for link in lead.locator("a[href*='/sections/']").all()]
    for href in sections:
        lead.goto(href)
        for radio in lead.get_by_label("Fully met", exact=True).all():
            radio.check()
        with lead.expect_navigation():  # the save lands before the next section is opened
            lead.get_by_role("button", name=re.compile(r"^Save")).first.click()
        expect(lead.locator(".govuk-error-summary")).to_have_count(0)
    lead.goto(return_url)
    lead.get_by_role("button", name="Sign off and submit").click()
    expect(lead.get_by_text("Submitted").first).to_be_visible()

    # 3. The QA member queries the criterion from the return's scrutiny page.
    qa = browser.new_page(base_url=live_server)
    sign_in(qa, QA_EMAIL)
    qa.goto(round_url)
    expect(qa.get_by_role("heading", name="Scrutiny and moderation")).to_be_visible()
    expect(qa.locator("#scrutiny-total")).to_have_text("No thread is waiting for an answer.")
    qa.get_by_role("link", name="Returns to scrutinise").click()
    check_a11y("a round's returns to scrutinise", on=qa)
    qa.locator("#scrutiny-counts").get_by_role("link", name=POLICE).click()
    expect(qa.get_by_role("heading", level=1)).to_contain_text("Scrutiny of")
    check_a11y("a return's scrutiny", on=qa)
    qa.get_by_role("link", name=CRITERION).click()
    check_a11y("a criterion's scrutiny (QA side)", on=qa)
    qa.get_by_role("button", name="Send to the agency").click()
    expect(qa.locator(".govuk-error-summary")).to_contain_text("Enter a message")
    check_a11y("a criterion's scrutiny with errors", on=qa)
    qa.get_by_label("Query", exact=True).check()
    qa.get_by_label("Message to the agency").fill("Where is the lead's responsibility written down?")
    qa.get_by_role("button", name="Send to the agency").click()
    _flash(qa, "Sent to the agency")
    criterion_url = qa.url
    qa.goto(round_url)
    expect(qa.locator("#scrutiny-counts tbody tr").filter(has_text=POLICE).locator("td")).to_have_text(
        [POLICE, "1", "0"]
    )

    # 4. The police lead sees the query beside the criterion and answers it.
    lead.goto(sections[0])
    note = lead.locator("#scrutiny-leadership_named_lead")
    expect(note).to_contain_text("1 open")
    note.get_by_role("link", name=re.compile("Read and answer")).click()
    expect(lead.get_by_text("Where is the lead's responsibility written down?")).to_be_visible()
    check_a11y("a criterion's scrutiny (agency side)", on=lead)
    lead.get_by_label("Your answer").fill("In the board's terms of reference, section 4.")
    lead.get_by_role("button", name="Send answer").click()
    _flash(lead, "Reply sent")
    expect(lead.locator("h3").filter(has_text="Query")).to_contain_text("Answered")

    # 5. The QA member moderates the rating with a reason and makes the criterion a priority.
    qa.goto(criterion_url)
    expect(qa.get_by_text("In the board's terms of reference, section 4.")).to_be_visible()
    qa.get_by_role("button", name="Save the moderated rating").click()
    expect(qa.locator(".govuk-error-summary")).to_contain_text("Select the moderated rating")
    expect(qa.locator(".govuk-error-summary")).to_contain_text("Enter the reason for the moderated rating")
    qa.locator("#moderate").get_by_label("Partly met", exact=True).check()
    qa.get_by_label("Reason for the moderated rating").fill("The terms of reference do not name the role yet.")
    qa.get_by_role("button", name="Save the moderated rating").click()
    _flash(qa, "Moderated rating saved")
    expect(qa.locator("#moderated-rating")).to_have_text("Partly met")
    qa.get_by_role("button", name=re.compile("Close this thread")).click()
    _flash(qa, "Thread closed")
    qa.goto(round_url)
    qa.get_by_role("link", name="Priority criteria").click()
    qa.get_by_label(CRITERION, exact=True).check()
    qa.get_by_role("button", name="Save the priority criteria").click()
    _flash(qa, "Priority criteria saved")
    expect(qa.get_by_role("heading", level=1)).to_have_text("Follow-up list")
    row = qa.locator("#follow-up tbody tr").filter(has_text=POLICE)
    expect(row.locator("td")).to_have_text(
        [POLICE, CRITERION, "Fully met", re.compile(r"^Partly met\s*The terms of reference do not name the role yet\.")]
    )
    check_a11y("the follow-up list", on=qa)
    qa.goto(round_url)
    qa.get_by_role("link", name="Moderators").click()
    check_a11y("a round's moderators", on=qa)
    qa.close()

    # 6. The police lead sees the moderated rating and why, beside its own rating.
    lead.goto(sections[0])
    expect(lead.locator("#scrutiny-leadership_named_lead")).to_contain_text(
        "Moderated rating: Partly met. The terms of reference do not name the role yet."
    )
    lead.goto(criterion_url)
    expect(lead.locator("#ratings")).to_contain_text("Fully met")
    expect(lead.locator("#moderated-rating")).to_have_text("Partly met")
    expect(lead.locator("#moderation-reason")).to_have_text("The terms of reference do not name the role yet.")
    expect(lead.get_by_role("button", name="Save the moderated rating")).to_have_count(0)
    lead.close()
