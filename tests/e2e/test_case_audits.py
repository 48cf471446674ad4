"""Browser journeys through a multi-agency case audit, with axe on every page visited.

1. The QA member plans a neglect round, adds its cases and opens it.
2. A police auditor completes a return over two visits; the police lead signs it off.
3. The QA member sends a return back, accepts it once changed, closes the round
   and records the multi-agency judgement.
4. An admin redacts a wrongly entered case reference.

Each test builds its own round (unique title and case references), so the
tests stay independent of each other and of the demo rounds. People sign in
through the form in a browser of their own; the admin's session (journey 4) is
the one other tests reuse, and is never signed out.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import date, timedelta

import pytest
from playwright.sync_api import Page, expect

from .conftest import sign_in, sign_out

pytestmark = pytest.mark.e2e

QA_EMAIL = "qa@northbridge.example.org"
POLICE_AUDITOR_EMAIL = "auditor.police@northbridge.example.org"
POLICE_LEAD_EMAIL = "lead.police@northbridge.example.org"
POLICE = "Northbridge and Eastvale Police (North BCU)"
HEALTH = "Northbridge University Hospitals NHS Trust"
NEGLECT = "Multi-agency case audit: neglect (version 1)"

RECOGNITION = "Recognition of neglect"
RECOGNITION_GRADE = "Grade for recognition of neglect"
#: (not required, so its legend says so)
RECOGNITION_EARLY = (
    "Were signs of neglect recognised early and recorded as a concern, rather than as isolated incidents? (optional)"
)
OVERALL_GRADE = "Overall grade for your agency's work with this child"
IMMEDIATE_CONCERN = "Was any immediate safeguarding concern about the child identified during this audit?"
#: what the police are required to answer in the neglect audit: each section's grade,
#: the overall grade and whether there was an immediate concern
POLICE_REQUIRED = [
    RECOGNITION_GRADE,
    "Grade for early help, referral and information sharing",
    "Grade for assessment and use of a neglect tool",
    "Grade for chronology and history",
    "Grade for planning and intervention",
    "Grade for multi-agency working",
    "Grade for voice and lived experience of the child",
    "Grade for management oversight and supervision",
    "Grade for impact and outcomes",
    OVERALL_GRADE,
    IMMEDIATE_CONCERN,
]

A11y = Callable[..., list]


def _suffix() -> str:
    return uuid.uuid4().hex[:6]


def _nav(page: Page, name: str) -> None:
    page.get_by_role("navigation", name="Main menu").get_by_role("link", name=name, exact=True).click()


def _flash(page: Page, text: str) -> None:
    expect(page.locator(".govuk-notification-banner").filter(has_text=text)).to_be_visible()


def _fill_date(page: Page, legend: str, day: date) -> None:
    group = page.get_by_role("group", name=legend)
    group.get_by_label("Day", exact=True).fill(str(day.day))
    group.get_by_label("Month", exact=True).fill(str(day.month))
    group.get_by_label("Year", exact=True).fill(str(day.year))


def _returns_table(page: Page):
    """The round page's table of returns (the cases table comes first)."""
    return page.locator("h2#returns ~ table")


def _return_row(page: Page, reference: str, agency: str):
    return (
        _returns_table(page)
        .locator("tbody tr")
        .filter(has_text=reference)
        .filter(has=page.get_by_role("link", name=agency, exact=True))
    )


def _task(page: Page, section: str):
    """A section's status in the return's task list."""
    item = page.locator("#sections li").filter(has=page.get_by_role("link", name=section, exact=True))
    return item.locator(".govuk-task-list__status")


# -- building a round through the pages --


def _add_case(page: Page, reference: str, agencies: list[str], **details: str) -> None:
    page.get_by_label("Case reference or pseudonym", exact=True).fill(reference)
    for label, value in details.items():
        page.get_by_label(label, exact=True).select_option(label=value)
    for agency in agencies:
        page.get_by_label(agency, exact=True).check()
    page.get_by_role("button", name="Add case").click()
    _flash(page, f"Case {reference} added")


def _plan_round(page: Page, check_a11y: A11y | None = None) -> tuple[str, list[str]]:
    """As the signed-in QA member: plan a neglect round with two police cases (one also health) and open it.

    With ``check_a11y``, each page on the way is checked (journey 1); without, it is quick set-up.
    Returns the round's title and its two case references.
    """
    a11y = check_a11y or (lambda *args, **kwargs: [])
    suffix = _suffix()
    title = f"E2E neglect audit {suffix}"
    # five digits: never a compact date (six or eight), an NHS number or a name, whatever the draw
    number = f"{uuid.uuid4().int % 10**5:05d}"
    references = [f"E2E-{number}-A", f"E2E-{number}-B"]

    _nav(page, "Rounds")
    expect(page.get_by_role("heading", level=1)).to_have_text("Audit rounds")
    a11y("round list")

    page.get_by_role("button", name="Plan a round").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Plan a round")
    a11y("plan a round")
    if check_a11y:
        page.get_by_role("button", name="Plan the round").click()
        expect(page.get_by_role("heading", name="There is a problem")).to_be_visible()
        expect(page.locator(".govuk-error-summary")).to_contain_text("Enter a title")
        expect(page.locator(".govuk-error-summary")).to_contain_text("Choose a questionnaire")
        a11y("plan a round with errors")

    page.get_by_label("Title", exact=True).fill(title)
    page.get_by_label("Questionnaire", exact=True).select_option(label=NEGLECT)
    opens = date.today()
    due = opens + timedelta(days=42)
    _fill_date(page, "Opens on", opens)
    _fill_date(page, "Returns due by", due)
    expect(page.get_by_label("Re-audit of an earlier round")).to_have_value("")
    page.get_by_label("Let the agencies on a case see each other's answers", exact=False).check()
    page.get_by_role("button", name="Plan the round").click()

    _flash(page, "Round planned")
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    summary = page.locator(".govuk-summary-list")
    expect(summary).to_contain_text("Multi-agency case audit: neglect, version 1")
    expect(summary).to_contain_text(due.strftime("%-d %B %Y"))
    expect(summary).to_contain_text("Agencies see each other's answers once the discussion opens")
    expect(page.get_by_role("heading", name="Cases (0)")).to_be_visible()
    a11y("round in planning")

    if check_a11y:
        # No agency ticked: refused, with the error linked to the checkboxes.
        page.get_by_label("Case reference or pseudonym", exact=True).fill(references[0])
        page.get_by_role("button", name="Add case").click()
        error = page.locator(".govuk-error-summary").get_by_role("link", name=re.compile("Tick at least one agency"))
        expect(error).to_have_attribute("href", "#agency_ids")
        expect(page.locator("#agency_ids")).to_have_attribute("type", "checkbox")
        a11y("add a case with errors")

    _add_case(page, references[0], [f"{POLICE} (Police)"], **{"Age band": "5-9", "Plan type": "Child in need"})
    _add_case(page, references[1], [f"{POLICE} (Police)", f"{HEALTH} (Health)"], **{"Age band": "Under 1"})
    expect(page.get_by_role("heading", name="Cases (2)")).to_be_visible()
    a11y("round with its cases")

    page.get_by_role("button", name="Open the round").click()
    # the confirmation says what opening does (and warns of agencies with nobody to complete returns)
    expect(page.get_by_role("heading", level=1)).to_have_text("Open the round?")
    expect(page.locator("#consequences")).to_contain_text("3 returns will be created")
    a11y("confirm opening")
    page.get_by_role("button", name="Yes, open the round").click()
    _flash(page, "The round is now open for returns")
    expect(page.locator(".govuk-caption-l")).to_have_text("Open for returns")
    return title, references


def _open_my_return(page: Page, reference: str) -> None:
    """From 'My returns', open the return for one case."""
    _nav(page, "My returns")
    expect(page.get_by_role("heading", level=1)).to_have_text("My returns")
    page.locator("#returns").get_by_role("link", name=reference, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Case {reference}")


def _save_section(page: Page, section: str, answers: dict[str, str]) -> None:
    """Open a section from the task list, choose the answers (radio groups by legend) and save."""
    page.get_by_role("link", name=section, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(section)
    for question, answer in answers.items():
        page.get_by_role("group", name=question, exact=True).get_by_label(answer, exact=True).check()
    page.get_by_role("button", name="Save and return to the task list").click()
    _flash(page, f"'{section}' saved")


def _answer_what_is_missing(page: Page) -> None:
    """On a return's page: answer every required question still listed as missing, section by section."""
    # all_inner_texts() does not wait: let the return's task list (reached by a click) load first
    expect(page.locator("#sections")).to_be_visible()
    missing = page.locator("#missing li").all_inner_texts()
    assert missing, "nothing left to answer"
    to_visit = [
        item.get_by_role("link").inner_text()
        for item in page.locator("#sections li").all()
        if item.locator(".govuk-task-list__status").inner_text().strip() != "Completed"
    ]
    for section in to_visit:
        page.get_by_role("link", name=section, exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(section)
        for question in missing:
            group = page.get_by_role("group", name=question, exact=True)
            if group.count():
                # A grade if it is a grade; 'No' (no immediate concern) otherwise.
                choice = "Good" if group.get_by_label("Good", exact=True).count() else "No"
                group.get_by_label(choice, exact=True).check()
        page.get_by_role("button", name="Save and return to the task list").click()
        _flash(page, f"'{section}' saved")
    expect(page.locator("#missing")).to_have_count(0)


def _complete_and_mark_ready(page: Page, reference: str) -> None:
    """As the signed-in police auditor: answer what is required and mark the return ready for sign-off."""
    _open_my_return(page, reference)
    _answer_what_is_missing(page)
    page.get_by_role("button", name="Mark ready for sign-off").click()
    _flash(page, "Return marked ready for your agency lead to sign off")
    expect(page.locator("#return-status")).to_have_text("Ready for sign-off")


def _sign_off(page: Page, reference: str) -> None:
    """As the signed-in police lead: sign off and submit the case's return."""
    _open_my_return(page, reference)
    page.get_by_role("button", name="Sign off and submit").click()
    _flash(page, "Return submitted")
    expect(page.locator("#return-status")).to_have_text("Submitted")


# -- 1. planning and opening a round --


def test_qa_member_plans_a_neglect_round_adds_cases_and_opens_it(page: Page, check_a11y) -> None:
    sign_in(page, QA_EMAIL)
    title, (first, second) = _plan_round(page, check_a11y)

    # One return per agency per case: police on both, health on the second.
    rows = _returns_table(page).locator("tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.locator("td:nth-child(3)")).to_have_text(["Not started"] * 3)
    expect(_return_row(page, first, POLICE)).to_have_count(1)
    expect(_return_row(page, second, POLICE)).to_have_count(1)
    expect(_return_row(page, second, HEALTH)).to_have_count(1)
    expect(page.get_by_text("Not started: 3")).to_be_visible()
    # Open rounds are closed for returns next; there is no discussion yet.
    expect(page.get_by_role("button", name="Close for returns")).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("^Discussion"))).to_have_count(0)
    check_a11y("open round")

    _nav(page, "Rounds")
    row = page.locator("#rounds tbody tr").filter(has=page.get_by_role("link", name=title, exact=True))
    expect(row).to_contain_text("Open for returns")
    expect(row).to_contain_text("Multi-agency case audit: neglect (v1)")


# -- 2. completing a return over two visits, and signing it off --


def test_police_auditor_completes_a_return_over_two_visits_and_the_lead_submits_it(
    page: Page, check_a11y, other_browser
) -> None:
    sign_in(page, QA_EMAIL)
    _, (reference, _second) = _plan_round(page)

    auditor = other_browser()
    sign_in(auditor, POLICE_AUDITOR_EMAIL)
    _nav(auditor, "My returns")
    expect(auditor.get_by_role("heading", level=1)).to_have_text("My returns")
    row = auditor.locator("#returns tbody tr").filter(has=auditor.get_by_role("link", name=reference, exact=True))
    expect(row).to_contain_text(POLICE)
    expect(row).to_contain_text("Not started")
    check_a11y("my returns", on=auditor)

    row.get_by_role("link", name=reference).click()
    expect(auditor.get_by_role("heading", level=1)).to_have_text(f"Case {reference}")
    expect(auditor.locator("#return-status")).to_have_text("Not started")
    expect(auditor.locator("#missing li")).to_have_text(POLICE_REQUIRED)
    expect(_task(auditor, RECOGNITION)).to_have_text("Not started")
    # The questions for health, education and early years only are not asked of the police.
    referral = auditor.locator("#sections li").filter(has_text="Early help, referral and information sharing")
    expect(referral).to_contain_text("0 of 6 answered")
    check_a11y("return, not started", on=auditor)

    # First visit: one section, the grade and one other question.
    auditor.get_by_role("link", name=RECOGNITION, exact=True).click()
    expect(auditor.get_by_role("heading", level=1)).to_have_text(RECOGNITION)
    check_a11y("return section", on=auditor)
    auditor.get_by_role("group", name=RECOGNITION_GRADE, exact=True).get_by_label("Good", exact=True).check()
    auditor.get_by_role("group", name=RECOGNITION_EARLY, exact=True).get_by_label("Partly", exact=True).check()
    auditor.get_by_role("button", name="Save and return to the task list").click()
    _flash(auditor, f"'{RECOGNITION}' saved")
    expect(auditor.locator("#return-status")).to_have_text("In progress")
    # its grade is answered, but a section is Completed only when every question it asks is answered
    expect(_task(auditor, RECOGNITION)).to_have_text("In progress")
    expect(auditor.locator("#sections li").first).to_contain_text("2 of 8 answered")
    expect(auditor.locator("#missing li")).to_have_text(POLICE_REQUIRED[1:])
    check_a11y("return, in progress", on=auditor)

    # The auditor leaves and comes back later.
    sign_out(auditor)
    sign_in(auditor, POLICE_AUDITOR_EMAIL)
    _open_my_return(auditor, reference)
    expect(auditor.locator("#return-status")).to_have_text("In progress")
    expect(_task(auditor, RECOGNITION)).to_have_text("In progress")
    expect(_task(auditor, "Overall")).to_have_text("Not started")
    auditor.get_by_role("link", name=RECOGNITION, exact=True).click()
    expect(
        auditor.get_by_role("group", name=RECOGNITION_GRADE, exact=True).get_by_label("Good", exact=True)
    ).to_be_checked()
    expect(
        auditor.get_by_role("group", name=RECOGNITION_EARLY, exact=True).get_by_label("Partly", exact=True)
    ).to_be_checked()
    check_a11y("return section with saved answers", on=auditor)
    auditor.get_by_role("link", name="Back to the return").click()

    # Everything still required, then ready for the lead.
    _answer_what_is_missing(auditor)
    # every required question answered: each section started, those with optional questions left In progress
    states = [text.strip() for text in auditor.locator("#sections .govuk-task-list__status").all_inner_texts()]
    assert len(states) == 10 and set(states) <= {"Completed", "In progress"}, states
    check_a11y("return, complete", on=auditor)
    auditor.get_by_role("button", name="Mark ready for sign-off").click()
    _flash(auditor, "Return marked ready for your agency lead to sign off")
    expect(auditor.locator("#return-status")).to_have_text("Ready for sign-off")
    check_a11y("return, ready for sign-off", on=auditor)

    lead = other_browser()
    sign_in(lead, POLICE_LEAD_EMAIL)
    _open_my_return(lead, reference)
    expect(lead.locator("#return-status")).to_have_text("Ready for sign-off")
    expect(lead.get_by_text("Decline this return")).to_be_visible()
    check_a11y("return, lead's sign-off", on=lead)
    lead.get_by_role("button", name="Sign off and submit").click()
    _flash(lead, "Return submitted")
    expect(lead.locator("#return-status")).to_have_text("Submitted")
    # Submitted returns can no longer be changed or submitted again.
    expect(lead.get_by_role("button", name="Sign off and submit")).to_have_count(0)
    expect(lead.locator("#events")).to_contain_text("Submitted by Laura Brennan")
    check_a11y("return, submitted", on=lead)
    lead.get_by_role("link", name=RECOGNITION, exact=True).click()
    expect(lead.locator(".govuk-summary-list")).to_contain_text("Good")
    expect(lead.get_by_role("button", name="Save and return to the task list")).to_have_count(0)
    check_a11y("return section, read only", on=lead)


# -- 3. review, the discussion and the multi-agency judgement --


def test_qa_member_sends_a_return_back_accepts_it_and_records_the_multi_agency_judgement(
    page: Page, check_a11y, other_browser
) -> None:
    note = f"Give the grade for recognition again: the records show a late referral ({_suffix()})."
    sign_in(page, QA_EMAIL)
    title, (reference, _second) = _plan_round(page)
    round_url = page.url

    auditor = other_browser()
    sign_in(auditor, POLICE_AUDITOR_EMAIL)
    _complete_and_mark_ready(auditor, reference)
    lead = other_browser()
    sign_in(lead, POLICE_LEAD_EMAIL)
    _sign_off(lead, reference)

    # The QA member finds the submitted return from the round.
    page.goto(round_url)
    _return_row(page, reference, POLICE).get_by_role("link", name=POLICE, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Case {reference}")
    expect(page.locator("#return-status")).to_have_text("Submitted")
    check_a11y("return for review")

    # Asking for changes needs a note.
    page.get_by_role("button", name="Request changes").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("link", name="Enter a note")).to_have_attribute("href", "#note")
    expect(page.get_by_label("Or say what needs to change")).to_have_attribute("id", "note")
    check_a11y("request changes with no note")
    page.get_by_label("Or say what needs to change").fill(note)
    page.get_by_role("button", name="Request changes").click()
    _flash(page, "Changes requested: the return is back with the agency")
    expect(page.locator("#return-status")).to_have_text("Changes requested")
    check_a11y("return sent back")

    # The auditor sees the note and changes an answer.
    _nav(auditor, "My returns")
    row = auditor.locator("#returns tbody tr").filter(has=auditor.get_by_role("link", name=reference, exact=True))
    expect(row).to_contain_text("Changes requested")
    row.get_by_role("link", name=reference).click()
    expect(auditor.locator(".govuk-inset-text")).to_have_text(f"Changes requested: {note}")
    check_a11y("return with changes requested", on=auditor)
    _save_section(auditor, RECOGNITION, {RECOGNITION_GRADE: "Requires improvement"})
    expect(auditor.locator("#return-status")).to_have_text("Changes requested")

    # The lead submits it again.
    _sign_off(lead, reference)

    # The QA member accepts it and closes the round.
    page.reload()
    expect(page.locator("#return-status")).to_have_text("Submitted")
    page.get_by_role("button", name="Accept").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Accept this return?")
    check_a11y("confirm accepting")
    page.get_by_role("button", name="Yes, accept the return").click()
    _flash(page, "Return accepted")
    expect(page.locator("#return-status")).to_have_text("Accepted")
    expect(page.get_by_role("button", name="Request changes")).to_have_count(0)
    check_a11y("accepted return")

    page.goto(round_url)
    page.get_by_role("button", name="Close for returns").click()
    expect(page.locator("#consequences")).to_contain_text("still outstanding")
    page.get_by_role("button", name="Yes, close for returns").click()
    _flash(page, "The round is now closed for returns")
    expect(_return_row(page, reference, POLICE).locator("td").nth(2)).to_have_text("Accepted")
    check_a11y("closed round")

    # The discussion: every agency's answers side by side, and the agreed grades.
    page.get_by_role("link", name=f"Discussion of case {reference}").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Case {reference}: multi-agency discussion")
    # each section's answers are folded away (a short page for a live meeting); the panel opens the one it discusses
    recognition = page.locator("h2#section-recognition + details table")
    expect(recognition).to_be_hidden()
    page.locator("h2#section-recognition + details summary").click()
    expect(recognition.get_by_role("columnheader")).to_contain_text([POLICE])
    expect(recognition.get_by_role("row").filter(has_text=RECOGNITION_GRADE)).to_contain_text("Requires improvement")
    section_grade = page.get_by_label(f"Agreed multi-agency grade for {RECOGNITION}", exact=True)
    case_grade = page.get_by_label("Agreed multi-agency grade for the case", exact=True)
    expect(section_grade).to_have_value("")
    check_a11y("case discussion")

    section_grade.select_option(label="Requires improvement")
    case_grade.select_option(label="Good")
    page.get_by_label("Strengths").last.fill("Police shared information with health the same day.")
    page.get_by_role("button", name="Save the multi-agency judgement").click()
    _flash(page, "Multi-agency judgement saved")
    expect(section_grade).to_have_value("Requires improvement")
    expect(case_grade).to_have_value("Good")
    expect(page.get_by_label("Strengths").last).to_have_value("Police shared information with health the same day.")
    expect(
        page.get_by_role("group", name="Was an immediate concern about the child escalated?").get_by_label(
            "No", exact=True
        )
    ).to_be_checked()
    check_a11y("case discussion with the judgement saved")

    # The agreed grade is the case's grade in its audit history.
    page.goto(round_url)
    # (The visually hidden part is positioned absolutely, so it counts as a separate block in the name.)
    page.get_by_role("link", name=re.compile(rf"^{re.escape(reference)}\s*: audit history$")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(reference)
    history = page.locator("#history tbody tr").filter(has=page.get_by_role("link", name=title, exact=True))
    expect(history).to_contain_text("Good")
    check_a11y("case history")


def test_admin_redacts_a_wrongly_entered_case_reference(signed_in, check_a11y) -> None:
    page = signed_in()
    page.goto("/")
    title, (reference, _second) = _plan_round(page)
    new = f"E2E-{uuid.uuid4().int % 10**5:05d}-R"
    page.get_by_role("link", name=re.compile(rf"^{re.escape(reference)}\s*: audit history$")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(reference)
    page.get_by_role("link", name=re.compile(r"^Redact reference")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Redact the reference")
    check_a11y("redact a reference")

    # Both problems at once, and nothing changes.
    page.get_by_role("button", name="Redact reference").click()
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Enter the new reference or pseudonym")
    expect(summary).to_contain_text("Confirm that the current reference will be removed everywhere for good")
    check_a11y("redact a reference with errors")

    page.get_by_label("New reference or pseudonym").fill(new)
    confirm = page.get_by_role("checkbox")
    expect(confirm).to_have_accessible_name(re.compile("the current reference will be replaced everywhere"))
    confirm.check()
    page.get_by_role("button", name="Redact reference").click()
    _flash(page, f"Reference redacted: the case is now {new}")
    expect(page.get_by_role("heading", level=1)).to_have_text(new)
    expect(page.locator("#history")).to_contain_text(title)

    page.get_by_role("link", name=re.compile(r"^Recorded changes")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Case {new}")
    expect(page.locator("#events tbody tr").first).to_contain_text("Reference redacted")
    expect(page.locator("main")).not_to_contain_text(reference)
    check_a11y("a case's recorded changes after a redaction")


def test_a_demo_discussion_page_stays_short_until_the_panel_opens_the_answers(page: Page, check_a11y: A11y) -> None:
    """No 20,000-pixel page in a live meeting: on the demo's re-audit (21 cases, three agencies, eight sections of
    long answers) each section's answers are folded until opened; every answer can still be shown at once."""
    sign_in(page, QA_EMAIL)
    page.get_by_role("link", name="Rounds", exact=True).first.click()
    page.get_by_role("link", name="CSE re-audit, spring 2026").click()
    page.get_by_role("link", name=re.compile(r"^Discussion of case ")).first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("multi-agency discussion")
    height = lambda: page.evaluate("document.documentElement.scrollHeight")  # noqa: E731
    folded = height()
    assert folded < 6000, folded
    tables = page.locator("details.app-section-answers table")
    assert tables.count() >= 8
    expect(tables.first).to_be_hidden()
    # the panel opens the section it is discussing, by keyboard
    page.locator("details.app-section-answers summary").first.focus()
    page.keyboard.press("Enter")
    expect(tables.first).to_be_visible()
    expect(tables.nth(1)).to_be_hidden()
    check_a11y("case discussion with one section open")
    page.get_by_role("link", name="Show every section's answers").click()
    for n in range(tables.count()):
        expect(tables.nth(n)).to_be_visible()
    assert height() > 2 * folded
