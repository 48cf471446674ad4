"""Browser journey through a Section 11 self-assessment round on the demo partnership, with axe on the main pages.

An admin plans a round on the shipped Section 11 questionnaire for three agencies and opens it; the police lead
rates every criterion Fully met and submits; the QA member queries one criterion of the police return from the
scrutiny pages and the police lead answers in the thread; the QA member moderates that criterion to Partly met
with a reason; the QA member declines the hospital's return for it; once the due date has passed, the round's
return rates show one returned, one declined and one late, and the round's self-assessment report shows exactly
that: one heatmap row (the police), its self-rated and moderated counts differing by that one criterion in that
standard only, the hospital and the community trust listed as not counted.
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
HOSPITAL = "Northbridge University Hospitals NHS Trust"
COMMUNITY = "Riverside Community Health NHS Trust"
SECTION_11 = "Section 11 self-assessment (version 1)"
STANDARD_1 = "Standard 1: Senior management commitment to safeguarding"
CRITERION = "A named member of the board or senior leadership team is responsible for safeguarding children."
QUERY = "Where is the lead's responsibility written down?"
ANSWER = "In the board's terms of reference, section 4."
REASON = "The terms of reference do not name the role yet."

A11y = Callable[..., list]


def _flash(page: Page, text: str) -> None:
    expect(page.locator(".govuk-notification-banner").filter(has_text=text)).to_be_visible()


def _fill_date(page: Page, legend: str, day: date) -> None:
    group = page.get_by_role("group", name=legend)
    group.get_by_label("Day", exact=True).fill(str(day.day))
    group.get_by_label("Month", exact=True).fill(str(day.month))
    group.get_by_label("Year", exact=True).fill(str(day.year))


def _open_return(page: Page, round_url: str, agency: str) -> None:
    page.goto(round_url)
    page.locator("h2#returns ~ table").get_by_role("link", name=agency, exact=True).click()


def test_three_agencies_one_submits_one_is_declined_one_is_late(
    browser, live_server: str, page: Page, check_a11y: A11y, clock, session_cookies: dict
) -> None:
    title = f"E2E Section 11 {uuid.uuid4().hex[:6]}"
    today = date.today()
    due = today + timedelta(days=28)

    # 1. The admin plans the round, chooses three agencies and opens it.
    sign_in(page, ADMIN_EMAIL)
    page.goto("/rounds/new")
    page.get_by_label("Title", exact=True).fill(title)
    page.get_by_label("Questionnaire", exact=True).select_option(label=SECTION_11)
    _fill_date(page, "Opens on", today)
    _fill_date(page, "Returns due by", due)
    page.get_by_role("button", name="Plan the round").click()
    _flash(page, "Choose the agencies or sectors that must return")
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    expect(page.locator(".govuk-summary-list")).not_to_contain_text("Re-audit of")
    expect(page.get_by_role("link", name="The chair's report")).to_have_count(0)
    check_a11y("self-assessment round in planning")
    round_url = page.url
    for agency in (POLICE, HOSPITAL, COMMUNITY):
        page.get_by_label(agency, exact=True).check()
    page.get_by_role("button", name="Save the agencies asked to return").click()
    _flash(page, "3 agencies asked to return")
    expect(page.get_by_role("heading", name="Agencies asked to return (3)")).to_be_visible()
    page.get_by_role("button", name="Open the round").click()
    page.get_by_role("button", name="Open the round").click()
    _flash(page, "The round is now open for returns")
    expect(page.locator("#overall-rate")).to_contain_text("0 of 3 returns made (0%)")
    check_a11y("open self-assessment round")

    # 2. The police lead rates every criterion with evidence and submits.
    lead = browser.new_page(base_url=live_server)
    sign_in(lead, POLICE_LEAD_EMAIL)
    lead.goto("/returns")
    lead.locator("tbody tr").filter(has_text=title).get_by_role("link").first.click()
    expect(lead.get_by_role("heading", level=1)).to_have_text("Agency return")
    check_a11y("self-assessment return", on=lead)
    sections = [link.get_attribute("href") for link in lead.locator("a[href*='/sections/']").all()]
    assert len(sections) == 8
    for number, href in enumerate(sections):
        lead.goto(href)
        if number == 0:
            check_a11y("self-assessment section", on=lead)
        for radio in lead.get_by_label("Fully met", exact=True).all():
            radio.check()
        lead.get_by_label("Evidence (optional)").first.fill("Board minutes, March; the safeguarding policy")
        with lead.expect_navigation():  # the save lands before the next section is opened
            lead.get_by_role("button", name=re.compile(r"^Save")).first.click()
        expect(lead.locator(".govuk-error-summary")).to_have_count(0)
    lead.goto(sections[0].rsplit("/sections/", 1)[0])
    lead.get_by_role("button", name="Sign off and submit").click()
    expect(lead.get_by_text("Submitted").first).to_be_visible()

    # 3. The QA member queries one Standard 1 criterion of the police return from the scrutiny pages.
    qa = browser.new_page(base_url=live_server)
    sign_in(qa, QA_EMAIL)
    qa.goto(round_url)
    expect(qa.locator("#scrutiny-total")).to_have_text("No thread is waiting for an answer.")
    qa.get_by_role("link", name="Returns to scrutinise").click()
    qa.locator("#scrutiny-counts").get_by_role("link", name=POLICE).click()
    expect(qa.get_by_role("heading", level=1)).to_contain_text("Scrutiny of")
    qa.get_by_role("link", name=CRITERION).click()
    qa.get_by_label("Query", exact=True).check()
    qa.get_by_label("Message to the agency").fill(QUERY)
    qa.get_by_role("button", name="Send to the agency").click()
    _flash(qa, "Sent to the agency")
    criterion_url = qa.url
    check_a11y("a criterion's scrutiny with a query", on=qa)
    qa.goto(round_url)
    expect(qa.locator("#scrutiny-counts tbody tr").locator("td")).to_have_text([POLICE, "1", "0"])

    # 4. The police lead sees the query beside the criterion and answers it in the thread.
    lead.goto(sections[0])
    note = lead.locator("#scrutiny-leadership_named_lead")
    expect(note).to_contain_text("1 open")
    note.get_by_role("link", name=re.compile("Read and answer")).click()
    expect(lead.get_by_text(QUERY)).to_be_visible()
    lead.get_by_label("Your answer").fill(ANSWER)
    lead.get_by_role("button", name="Send answer").click()
    _flash(lead, "Reply sent")
    expect(lead.locator("h3").filter(has_text="Query")).to_contain_text("Answered")
    lead.close()
    qa.goto(round_url)
    expect(qa.locator("#scrutiny-counts tbody tr").locator("td")).to_have_text([POLICE, "0", "1"])

    # 5. The QA member reads the answer and moderates the criterion's rating to Partly met, with the reason
    # (a submitted return can be moderated without being accepted first).
    qa.goto(criterion_url)
    expect(qa.get_by_text(ANSWER)).to_be_visible()
    expect(qa.locator("#ratings")).to_contain_text("Fully met")
    qa.locator("#moderate").get_by_label("Partly met", exact=True).check()
    qa.get_by_label("Reason for the moderated rating").fill(REASON)
    qa.get_by_role("button", name="Save the moderated rating").click()
    _flash(qa, "Moderated rating saved")
    expect(qa.locator("#moderated-rating")).to_have_text("Partly met")
    expect(qa.locator("#moderation-reason")).to_have_text(REASON)
    check_a11y("a moderated criterion", on=qa)

    # 6. The QA member declines the hospital's return for it, with the reason.
    _open_return(qa, round_url, HOSPITAL)
    qa.get_by_text("Decline this return").click()
    qa.get_by_label("Why can the agency not complete it?").fill("The trust is merging; it will return next year")
    qa.get_by_role("button", name="Decline", exact=True).click()
    _flash(qa, "Return declined")
    qa.close()

    # 7. After the due date the community trust is late, and the return rates say exactly that.
    clock.set(due + timedelta(days=3))
    # a month on, every browser session has been idle too long (SESSION_IDLE_MINUTES): the admin signs in
    # again, which clears away their idle sessions, so no later test may reuse a cookie kept from before
    session_cookies.clear()
    sign_in(page, ADMIN_EMAIL)
    page.goto(round_url)
    expect(page.locator("#overall-rate")).to_contain_text(
        "1 of 3 returns made (33%); 1 of 2 leaving out those declined or sent on another template (50%)"
    )
    overall = page.locator("#return-rates-table tbody tr").filter(has_text="All sectors")
    expect(overall.locator("td")).to_have_text(["3", "1", "1", "0", "1", "1", "33%", "50%"])
    health = page.locator("#return-rates-table tbody tr").filter(has_text="Health")
    expect(health.locator("td")).to_have_text(["2", "0", "1", "0", "1", "1", "0%", "0%"])
    expect(page.locator("#returns ~ p").first).to_contain_text("Late: 1")
    expect(page.locator("#chase-agency option")).to_have_text([COMMUNITY])
    check_a11y("return rates")

    # 8. The round's self-assessment report shows exactly that: the police alone in the heatmap, its self-rated
    # and moderated counts the same in every standard but Standard 1, where one Fully met became Partly met.
    page.get_by_role("link", name="Self-assessment report").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Self-assessment report")
    heatmap = page.locator("#heatmap")
    expect(heatmap.locator("tbody th[scope=row]")).to_have_text([POLICE])
    headers = heatmap.locator("thead tr").first.locator("th")
    expect(headers.nth(1)).to_have_text(STANDARD_1)
    standards = headers.count() - 1
    assert standards == 8
    cells = heatmap.locator("tbody tr").filter(has=page.get_by_role("rowheader", name=POLICE)).locator("td")
    expect(cells).to_have_count(2 * standards)
    texts = [" ".join(text.split()) for text in cells.all_inner_texts()]
    assert texts[0] == "0% below good Fully met: 6 Partly met: 0 Not met: 0", texts[0]
    assert texts[1] == "17% below good Fully met: 5 Partly met: 1 Not met: 0 Changed by moderation: 1", texts[1]
    for number in range(1, standards):
        self_rated, moderated = texts[2 * number], texts[2 * number + 1]
        assert self_rated == moderated, (number, self_rated, moderated)
        assert self_rated.startswith("0% below good Fully met: ") and "Partly met: 0 Not met: 0" in self_rated
        assert "Changed by moderation" not in moderated
    not_counted = page.locator("#sa_not_counted + div table tbody tr")
    expect(not_counted.filter(has_text=HOSPITAL).locator("td")).to_have_text(["Health", "Declined"])
    expect(not_counted.filter(has_text=COMMUNITY).locator("td")).to_have_text(["Health", "Not started"])
    expect(not_counted).to_have_count(2)
    expect(page.locator("#overall-rate")).to_contain_text(
        "1 of 3 returns made (33%); 1 of 2 leaving out those declined or sent on another template (50%)"
    )
    overall = page.locator("#return-rates-table tbody tr").filter(has_text="All sectors")
    expect(overall.locator("td")).to_have_text(["3", "1", "1", "0", "1", "1", "33%", "50%"])
    check_a11y("self-assessment report of the journey's round")
