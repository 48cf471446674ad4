"""Browser journey of a learning review (issue 14) on the demo partnership: the QA member starts a rapid review
(a pseudonym that looks like a full name is refused first), the notification clock is met, a pause moves the
rapid review clock's due date, two agencies are asked for summaries and submit them through the return engine
(the police lead signs off their own; the health auditor marks theirs ready and a health lead signs it off), the
police cannot open the health summary, the panel meets and commissions a practice review (its 6-month clock
starts), and the review's learning point appears on the learning themes page beside the case-audit items with
the same theme. axe checks each main page; no page shows "None", "nan" or an enum key."""

from __future__ import annotations

import random
import re
import string
import uuid
from collections.abc import Callable
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from flask import Flask
from playwright.sync_api import Page, expect

from audit_app.accounts import services as accounts
from audit_app.accounts.demo import DEMO_PASSWORD
from audit_app.accounts.models import Agency, Partnership, Role
from audit_app.core import clock
from audit_app.core.audit import system_actor
from audit_app.core.calendar import add_working_days, is_working_day, working_days_between
from audit_app.extensions import db
from audit_app.reviews.clocks import add_months

from .conftest import sign_in

pytestmark = pytest.mark.e2e

QA_EMAIL = "qa@northbridge.example.org"
POLICE_LEAD_EMAIL = "lead.police@northbridge.example.org"
HEALTH_AUDITOR_EMAIL = "auditor.health@northbridge.example.org"
POLICE = "Northbridge and Eastvale Police (North BCU)"
HEALTH = "Northbridge University Hospitals NHS Trust"
LCSPR = "Commission a local child safeguarding practice review"
THEME = "Information sharing"

#: the required questions of the library's rapid_review_agency_summary, by section, and the answers given
REQUIRED = {
    "Agency details and involvement": {
        "Was your agency involved with the child or family at the time of the incident?": "Yes",
    },
    "Immediate learning and actions already taken": {
        "Are there other children (siblings or others in the household or network) whose safety needs attention "
        "now?": "No",
    },
    "Recommendation on a Local Child Safeguarding Practice Review": {
        "Should the partnership consider a Local Child Safeguarding Practice Review?": "Yes",
    },
}

#: what must never reach a page's main content: Python's None (not the answer option "None known"), pandas'
#: nan, and the keys of the review enums
RAW = re.compile(
    r"\bNone\b(?! known)|\bnan\b|\b(?:rapid_review|in_progress|not_started|due_soon|practice_review|lcspr"
    r"|local_learning_review|no_further_review|not_for_publication|awaiting_publication|agency_summary"
    r"|ready_for_sign_off|learning_point|case_finding|case_return)\b"
)

A11y = Callable[..., list]


def _day(d: date) -> str:
    return d.strftime("%-d %B %Y")


def _working_days_before(d: date, n: int) -> date:
    """The working day ``n`` working days before ``d`` (``d`` not counted)."""
    day = d
    while n:
        day -= timedelta(days=1)
        if is_working_day(day):
            n -= 1
    return day


def _nav(page: Page, name: str) -> None:
    page.get_by_role("navigation", name="Main menu").get_by_role("link", name=name, exact=True).click()


def _flash(page: Page, text: str) -> None:
    expect(page.locator(".govuk-notification-banner").filter(has_text=text)).to_be_visible()


def _fill_date(page: Page, legend: str, day: date) -> None:
    group = page.get_by_role("group", name=legend)
    group.get_by_label("Day", exact=True).fill(str(day.day))
    group.get_by_label("Month", exact=True).fill(str(day.month))
    group.get_by_label("Year", exact=True).fill(str(day.year))


def _no_raw_values(page: Page, where: str) -> None:
    text = page.locator("main").inner_text()
    found = sorted({m.group(0) for m in RAW.finditer(text)})
    assert not found, f"{where} shows {found}"


def _health_lead(app: Flask) -> str:
    """A lead of the health trust (the demo has only its auditor), made through the services: its email."""
    email = f"lead.health.{uuid.uuid4().hex[:6]}@northbridge.example.org"
    with app.app_context(), system_actor("test:e2e"):
        partnership = db.session.scalar(sa.select(Partnership).order_by(Partnership.id).limit(1))
        health = db.session.scalar(sa.select(Agency).where(Agency.name == HEALTH))
        accounts.create_user(
            partnership.id,
            email=email,
            name="Helen Marsh",
            role=Role.AGENCY_LEAD,
            agency_id=health.id,
            password=DEMO_PASSWORD,
        )
        db.session.commit()
        db.session.remove()
    return email


def _open_summary(page: Page, round_title: str) -> None:
    """From My returns, the agency's summary in the review's round."""
    _nav(page, "My returns")
    expect(page.get_by_role("heading", level=1)).to_have_text("My returns")
    page.get_by_label("Round", exact=True).select_option(label=round_title)
    page.get_by_role("button", name="Apply filters").click()
    rows = page.locator("#returns tbody tr").filter(has_text=round_title)
    expect(rows).to_have_count(1)
    rows.get_by_role("link", name="Agency return").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Agency return")


def _answer_required(page: Page) -> None:
    """On a summary's page: answer each required question, section by section."""
    expect(page.locator("#missing li")).to_have_text([q for answers in REQUIRED.values() for q in answers])
    for section, answers in REQUIRED.items():
        page.get_by_role("link", name=section, exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(section)
        for question, answer in answers.items():
            page.get_by_role("group", name=question, exact=True).get_by_label(answer, exact=True).check()
        page.get_by_role("button", name="Save and return to the task list").click()
        _flash(page, f"'{section}' saved")
    expect(page.locator("#missing")).to_have_count(0)


def test_a_rapid_review_from_start_to_a_commissioned_practice_review(
    page: Page, e2e_app: Flask, other_browser, check_a11y: A11y
) -> None:
    today = clock.today()
    letters = "DOB"  # the one draw refused (as a date of birth)
    while letters == "DOB":
        letters = "".join(random.choices(string.ascii_uppercase, k=3))
    pseudonym = f"Child {letters}"
    # notified 4 working days ago, so a pause from the working day after it to today covers 3 working days
    aware_on = _working_days_before(today, 6)
    notified_on = _working_days_before(today, 4)
    rapid_due = add_working_days(notified_on, 15)
    summaries_round = f"Rapid review: {pseudonym}: agency summaries"
    health_lead = _health_lead(e2e_app)

    # -- 1. the QA member starts a rapid review --
    sign_in(page, QA_EMAIL)
    _nav(page, "Reviews")
    expect(page.get_by_role("heading", level=1)).to_have_text("Learning reviews")
    _no_raw_values(page, "the register")
    check_a11y("the register")
    page.get_by_role("button", name="Start a review").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Start a review")
    check_a11y("start a review")
    page.get_by_role("group", name="Type of review").get_by_label("Rapid review", exact=True).check()
    page.get_by_label("Pseudonym", exact=True).fill("Jayden Smith")
    _fill_date(page, "Date the local authority became aware of the serious incident", aware_on)
    _fill_date(page, "Date the National Panel was notified", notified_on)
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="Add the review to the register").click()
    assert posted.value.status == 400
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("The pseudonym looks like a person's full name")
    expect(summary).to_contain_text("Child K")
    expect(page.locator("#pseudonym-error")).to_contain_text("looks like a person's full name")
    check_a11y("start a review, full name refused")
    page.get_by_label("Pseudonym", exact=True).fill(pseudonym)
    page.get_by_role("button", name="Add the review to the register").click()
    _flash(page, f"Rapid review: {pseudonym} added to the register")
    expect(page.get_by_role("heading", level=1)).to_have_text(pseudonym)
    dates = page.locator("#review-dates")
    expect(dates).to_contain_text(_day(aware_on))
    expect(dates).to_contain_text(_day(notified_on))
    notification = page.locator("#clock-notification")
    expect(notification).to_contain_text("Met")
    expect(notification).to_contain_text(_day(add_working_days(aware_on, 5)))
    rapid = page.locator("#clock-rapid_review")
    expect(rapid).to_contain_text(_day(rapid_due))
    expect(rapid).not_to_contain_text("Originally due")
    _no_raw_values(page, "the new review")
    check_a11y("the new review")

    # -- 2. a pause moves the rapid review clock's due date --
    paused_on = add_working_days(notified_on, 1)
    page.get_by_role("link", name="Pause the rapid review clock").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Pause a clock")
    expect(page.get_by_role("group", name="Which clock").get_by_label("Rapid review", exact=True)).to_be_checked()
    check_a11y("pause a clock")
    _fill_date(page, "Paused from (the first day not counted)", paused_on)
    page.get_by_label("Reason", exact=True).fill("Criminal proceedings: the police asked agencies to wait")
    page.get_by_role("button", name="Pause the clock").click()
    _flash(page, "Rapid review clock paused")
    expect(rapid).to_contain_text("Paused")
    expect(rapid).to_contain_text(f"since {_day(paused_on)}")
    page.get_by_role("link", name="Resume the rapid review clock").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Resume the rapid review clock")
    check_a11y("resume a clock")
    _fill_date(page, "Resumed on (the day it counts again)", today)
    page.get_by_role("button", name="Resume the clock").click()
    _flash(page, "Rapid review clock resumed")
    paused_days = working_days_between(paused_on - timedelta(days=1), today - timedelta(days=1))
    assert paused_days == 3
    moved_due = add_working_days(rapid_due, paused_days)
    assert moved_due > rapid_due
    expect(rapid).to_contain_text(_day(moved_due))
    expect(rapid).to_contain_text(f"Originally due {_day(rapid_due)} (moved by pauses)")
    pauses = page.locator("#pause-table tbody tr")
    expect(pauses).to_have_count(1)
    expect(pauses).to_contain_text("Criminal proceedings: the police asked agencies to wait")
    expect(pauses).to_contain_text(_day(paused_on))
    expect(pauses).to_contain_text(_day(today))
    _no_raw_values(page, "the review after a pause")
    check_a11y("the review after a pause")

    # -- 3. two agencies are asked for summaries --
    page.get_by_role("button", name="Ask agencies for summaries").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ask agencies for summaries")
    publish = page.get_by_role("button", name="Publish the library's agency summary questionnaire")
    if publish.count():
        publish.click()
        _flash(page, "published: agencies can now be asked for summaries")
    expect(page.get_by_text(f"The rapid review is due {_day(moved_due)}")).to_be_visible()
    check_a11y("ask agencies for summaries")
    page.get_by_label(POLICE, exact=True).check()
    page.get_by_label(HEALTH, exact=True).check()
    page.get_by_role("button", name="Ask for summaries").click()
    _flash(page, "2 agencies asked for a summary")
    expect(page.get_by_text("0 of 2 summaries in.")).to_be_visible()
    _no_raw_values(page, "the review with summaries asked for")

    # -- 4. the agencies submit their summaries --
    health = other_browser()
    sign_in(health, HEALTH_AUDITOR_EMAIL)
    _open_summary(health, summaries_round)
    health_url = health.url
    check_a11y("a summary, not started", on=health)
    _answer_required(health)
    # the task list has loaded in full (scripts too) before its button is pressed: a click while the page was
    # still loading once went unanswered in CI
    health.wait_for_load_state("load")
    with health.expect_navigation():
        health.get_by_role("button", name="Mark ready for sign-off").click()
    _flash(health, "Return marked ready for your agency lead to sign off")
    expect(health.locator("#return-status")).to_have_text("Ready for sign-off")
    _no_raw_values(health, "a summary ready for sign-off")
    check_a11y("a summary ready for sign-off", on=health)

    signer = other_browser()
    sign_in(signer, health_lead)
    _open_summary(signer, summaries_round)
    signer.get_by_role("button", name="Sign off and submit").click()
    _flash(signer, "Return submitted")
    expect(signer.locator("#return-status")).to_have_text("Submitted")

    police = other_browser()
    sign_in(police, POLICE_LEAD_EMAIL)
    _open_summary(police, summaries_round)
    _answer_required(police)
    police.get_by_role("button", name="Sign off and submit").click()
    _flash(police, "Return submitted")
    expect(police.locator("#return-status")).to_have_text("Submitted")
    _no_raw_values(police, "a submitted summary")
    check_a11y("a submitted summary", on=police)
    # the police never reach the health trust's summary, nor an unpublished review
    response = police.goto(health_url)
    assert response is not None and response.status == 404
    review_url = page.url.split("#")[0]
    response = police.goto(review_url)
    assert response is not None and response.status == 404

    # -- 5. the panel meets and commissions a practice review --
    page.goto(review_url)
    expect(page.get_by_text("2 of 2 summaries in.")).to_be_visible()
    summaries = page.locator("#summaries ~ table").first.locator("tbody tr")
    expect(summaries).to_have_count(2)
    for agency in (POLICE, HEALTH):
        row = summaries.filter(has_text=agency)
        expect(row).to_contain_text("Submitted")
    page.get_by_role("link", name="Record the panel meeting").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Record the panel meeting")
    check_a11y("record the panel meeting")
    _fill_date(page, "Date the panel met", today)
    page.get_by_label("Who attended", exact=True).fill(
        "Designated nurse, Integrated care board\nDetective inspector, Police"
    )
    page.get_by_label(POLICE, exact=True).check()
    page.get_by_label(HEALTH, exact=True).check()
    page.get_by_role("button", name="Save the panel meeting").click()
    _flash(page, "Panel meeting saved")
    panel = page.locator("#panel + dl")
    expect(panel).to_contain_text(_day(today))
    expect(panel).to_contain_text("Detective inspector, Police")
    expect(panel).to_contain_text(HEALTH)

    page.get_by_role("link", name="Record the decision").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Record the decision")
    check_a11y("record the decision")
    page.get_by_label(LCSPR, exact=True).check()
    _fill_date(page, "Date of the decision", today)
    page.get_by_label("Reasons for the decision", exact=True).fill(
        f"Information sharing between agencies about {pseudonym} needs a multi-agency look."
    )
    page.get_by_role("button", name="Save the decision").click()
    _flash(page, f"Decision saved: {LCSPR}")
    decision = page.locator("#decision + dl")
    expect(decision).to_contain_text(LCSPR)
    expect(decision).to_contain_text(_day(today))
    expect(rapid).to_contain_text("Met")
    expect(rapid).to_contain_text(_day(moved_due))
    practice = page.locator("#clock-practice_review")
    expect(practice).to_contain_text(_day(add_months(today, 6)))
    expect(practice).to_contain_text("Running")
    _no_raw_values(page, "the review after the decision")
    check_a11y("the review after the decision")

    # -- 6. a learning point on the learning themes page, beside the case audits' --
    point = f"Agencies held pieces of the picture of {pseudonym} and did not share them."
    page.get_by_role("link", name="Add a learning point").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Add a learning point")
    check_a11y("add a learning point")
    page.get_by_label("The learning point", exact=True).fill(point)
    page.get_by_label(THEME, exact=True).check()
    page.get_by_role("button", name="Add the learning point").click()
    _flash(page, "Learning point 1 added")
    learning = page.locator("#learning-point-1")
    expect(learning).to_contain_text(point)
    expect(learning).to_contain_text(THEME)

    _nav(page, "Reviews")
    register_row = page.locator("#register tbody tr").filter(has=page.get_by_role("link", name=pseudonym, exact=True))
    expect(register_row).to_contain_text("Rapid review")
    expect(register_row).to_contain_text(_day(add_months(today, 6)))
    page.get_by_role("link", name="Learning themes across reviews, audits and recommendations").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Learning themes across sources")
    _no_raw_values(page, "learning themes across sources")
    check_a11y("learning themes across sources")
    page.locator("#theme-totals").get_by_role("link", name=THEME, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(THEME)
    item = page.get_by_role("link", name=f"Rapid review: {pseudonym}, learning point 1", exact=True)
    expect(item).to_have_count(1)
    returns = page.locator("h2#case_return")
    expect(returns).to_have_text(re.compile(r"^Case-audit returns \([1-9]\d*\)$"))
    expect(page.locator("h2#case_return + table tbody tr").first).to_be_visible()
    _no_raw_values(page, "the items tagged Information sharing")
    check_a11y("the items tagged Information sharing")
    item.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(pseudonym)

    _nav(page, "Reviews")
    page.get_by_role("link", name="Annual summary for the annual report (1 April to 31 March)").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Annual summary, ")
    _no_raw_values(page, "the annual summary")
    check_a11y("the annual summary")
