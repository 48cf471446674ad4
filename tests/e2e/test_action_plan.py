"""The action plan in the browser, on the demo (issue 12): the QA member promotes a recommendation of the chair's
report and adds two actions; the owner posts an update and evidence with a file; the QA member accepts the
evidence and the action completes; the plan's counts and chart move with it, and its spreadsheet has the row.

The demo's own composite plan (about 40 actions) is there throughout: the journey reads the plan's figures
before and after, and checks they moved by exactly what it did."""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import openpyxl
import pytest
from playwright.sync_api import Page, expect

from audit_app.accounts.demo import USERS as DEMO_USERS
from audit_app.core import clock

from .conftest import sign_in, sign_out

pytestmark = pytest.mark.e2e

QA_EMAIL = "qa@northbridge.example.org"
POLICE_AUDITOR_EMAIL = "auditor.police@northbridge.example.org"
POLICE_AUDITOR = next(name for email, name, *_ in DEMO_USERS if email == POLICE_AUDITOR_EMAIL)
ROUND = "Strategy discussions audit, winter 2026"
POLICE = "Northbridge and Eastvale Police (North BCU)"

A11y = Callable[..., list]


def _flash(page: Page, text: str) -> None:
    expect(page.locator(".govuk-notification-banner").filter(has_text=text)).to_be_visible()


def _figures(page: Page) -> dict[str, int]:
    """The plan's counts: total, overdue, complete, and each RAG's (from the table by RAG)."""
    page.goto("/actions")
    figures = {name: int(page.locator(f"#count-{name}").inner_text()) for name in ("total", "overdue", "complete")}
    for rag in ("Red", "Amber", "Green", "Blue"):
        row = page.locator("#by-rag tbody tr").filter(has_text=rag)
        figures[rag] = int(re.match(r"\d+", row.locator("td").last.inner_text()).group())
    return figures


def _chart_titles(page: Page) -> list[str]:
    """What the RAG chart's bars say (each segment's title), for a reader of the image."""
    chart = page.locator("svg[aria-labelledby='plan-rag-chart-title']")
    return [t.strip() for t in chart.locator("g > title").all_text_contents()]


def _fill_date(page: Page, prefix: str, day) -> None:
    page.locator(f"#{prefix}-day").fill(str(day.day))
    page.locator(f"#{prefix}-month").fill(str(day.month))
    page.locator(f"#{prefix}-year").fill(str(day.year))


def test_a_chair_s_recommendation_becomes_actions_evidenced_and_complete(
    page: Page, check_a11y: A11y, tmp_path: Path
) -> None:
    tag = uuid.uuid4().hex[:6]
    text = f"Agencies bring their strategy discussion attendance figures to each QA meeting (e2e {tag})"
    first_title = f"Police publish monthly attendance at strategy discussions (e2e {tag})"
    second_title = f"Health add strategy discussions to the named nurse's audit (e2e {tag})"

    sign_in(page, QA_EMAIL)
    before = _figures(page)
    check_a11y("the action plan")

    # The chair writes a recommendation in the report and puts it in the plan in one step
    page.goto("/rounds")
    page.get_by_role("link", name=ROUND).click()
    page.get_by_role("link", name="The chair's report").click()
    page.get_by_label("New recommendation").first.fill(text)
    page.get_by_role("button", name="Save the chair's report").click()
    item = page.locator("#plan-recommendations li").filter(has_text=text)
    item.get_by_role("button", name=re.compile("^Add to the action plan")).click()
    expect(page.get_by_text(text)).to_be_visible()
    check_a11y("a promoted recommendation")
    recommendation_url = page.url

    # Two actions: one owned by the police auditor, one by a named person at an agency
    due = clock.today() + timedelta(days=60)
    page.get_by_role("link", name="Add an action").click()
    page.get_by_label("What will be done").fill(first_title)
    page.locator("#owner_user_id").select_option(label=POLICE_AUDITOR)
    page.locator("#owner_agency_id").select_option(label=POLICE)
    _fill_date(page, "due_on", due)
    page.get_by_label(re.compile("^Amber")).check()
    check_a11y("adding an action")
    page.get_by_role("button", name="Add it and another").click()
    page.get_by_label("What will be done").fill(second_title)
    page.get_by_label("Or the name of a person at an agency").fill("Sam Patel, designated nurse")
    page.locator("#owner_agency_id").select_option(label="Northbridge University Hospitals NHS Trust")
    _fill_date(page, "due_on", due)
    page.get_by_label(re.compile("^Red")).check()
    page.get_by_role("button", name="Add the action", exact=True).click()
    assert page.url.split("#")[0] == recommendation_url
    expect(page.get_by_role("link", name=first_title)).to_be_visible()
    expect(page.get_by_role("link", name=second_title)).to_be_visible()
    sign_out(page)

    # The owner posts an update and evidence of impact with a file
    sign_in(page, POLICE_AUDITOR_EMAIL)
    page.goto("/")
    page.get_by_role("link", name=first_title).first.click()
    page.get_by_label("What has happened since the last update").fill("First month's figures published to partners.")
    page.locator("#post-update").locator("xpath=..").get_by_label(re.compile("^Green")).check()
    page.get_by_role("button", name="Post the update").click()
    expect(page.get_by_text("First month's figures published to partners.")).to_be_visible()
    minutes = tmp_path / "attendance.txt"
    minutes.write_text("Police attended 19 of 20 strategy discussions in October.\n", encoding="utf-8")
    page.get_by_label("What changed for children or for practice?").fill(
        "Police now attend 19 in 20 strategy discussions, up from 12 in 20."
    )
    page.get_by_label("What was measured (optional)").fill("Strategy discussions with police present")
    page.get_by_label("Value before").fill("12")
    page.get_by_label("Value after").fill("19")
    page.locator("#evidence-files").set_input_files(str(minutes))
    page.get_by_role("button", name="Add the evidence").click()
    expect(page.get_by_text("Police now attend 19 in 20 strategy discussions")).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("attendance.txt"))).to_be_visible()
    check_a11y("an action with evidence")
    shown = page.locator("main").inner_text()
    assert not re.search(r"\b(None|nan|NaN)\b", shown), "an empty value printed as None or nan"
    # the owner cannot complete it before the QA group accepts the evidence
    expect(page.get_by_role("button", name="Record the decision")).to_have_count(0)
    sign_out(page)

    # The QA member accepts the evidence, which completes the action
    sign_in(page, QA_EMAIL)
    page.goto(recommendation_url)
    page.get_by_role("link", name=first_title).click()
    page.get_by_label("Accept", exact=True).check()
    expect(page.get_by_label("If accepted, mark the action complete")).to_be_checked()
    page.get_by_role("button", name="Record the decision").click()
    expect(page.locator(".govuk-summary-list").filter(has_text="Status")).to_contain_text("Complete")

    # The plan's counts and chart moved by exactly what was done: two more actions, one complete (Green),
    # one Red
    after = _figures(page)
    assert after["total"] == before["total"] + 2
    assert after["complete"] == before["complete"] + 1
    assert after["Green"] == before["Green"] + 1 and after["Red"] == before["Red"] + 1
    assert after["Amber"] == before["Amber"] and after["Blue"] == before["Blue"]
    titles = _chart_titles(page)
    assert f"All actions: Green {after['Green']} of {after['total']}" in " | ".join(titles), titles
    assert f"All actions: Red {after['Red']} of {after['total']}" in " | ".join(titles), titles

    # The spreadsheet committees use has the row
    with page.expect_download() as download_info:
        page.get_by_role("link", name=re.compile(r"spreadsheet \(XLSX\)")).click()
    download = download_info.value
    assert download.suggested_filename.endswith(".xlsx"), download.suggested_filename
    sheet = openpyxl.load_workbook(io.BytesIO(Path(download.path()).read_bytes()), read_only=True).worksheets[0]
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    header = rows[0]
    row = next(r for r in rows if first_title in [str(c) for c in r])
    by_column = dict(zip(header, row, strict=False))
    assert "Complete" in str(by_column.get("Status")) and "Green" in str(by_column.get("RAG"))
    assert any("Police now attend 19 in 20" in str(c) for c in row)
