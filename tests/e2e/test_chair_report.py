"""The chair writes the report of a reported case audit and downloads its PDFs: the chair's report and the
one-page learning briefing, prepared as jobs (inline in the browser tests' server) and kept until the round
changes."""

from __future__ import annotations

import io
import re
import uuid

import pytest
from playwright.sync_api import Download, Page, expect
from pypdf import PdfReader

from .conftest import sign_in

QA_EMAIL = "qa@northbridge.example.org"
SCRUTINEER_EMAIL = "scrutineer@northbridge.example.org"
ROUND = "CSE re-audit, spring 2026"
#: the browser tests' server draws a PDF inside the request that asks for it (jobs run inline there), and a
#: busy shared CI machine can take minutes
PDF_TIMEOUT_MS = 240_000

pytestmark = pytest.mark.e2e


def _pdf_text(download: Download) -> tuple[str, int]:
    assert download.failure() is None, download.failure()
    with open(download.path(), "rb") as handle:
        reader = PdfReader(io.BytesIO(handle.read()))
    return "\n".join(page.extract_text() for page in reader.pages), len(reader.pages)


def _open_round(page: Page) -> None:
    page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Rounds", exact=True).click()
    page.get_by_role("link", name=ROUND, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(ROUND)


def test_the_chair_writes_the_report_and_downloads_the_pdf_and_the_briefing(page: Page, check_a11y, other_browser):
    mark = uuid.uuid4().hex[:6]
    summary = f"Sixteen children were re-audited and practice had improved (run {mark})."
    recommendation = f"Review every plan before it closes while a child still goes missing (run {mark})."
    sign_in(page, QA_EMAIL)
    _open_round(page)

    # The meeting and the method are on their own page, with the practitioners by case.
    page.get_by_role("link", name="The audit meeting and method").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("The audit meeting and method")
    expect(page.get_by_label("Chair")).to_have_value(re.compile("Amara Okafor"))
    check_a11y("the audit meeting and method")
    period_to = page.get_by_role("group", name="Audit period: to")
    period_to.get_by_label("Year", exact=True).fill("2020")
    page.get_by_role("button", name="Save the meeting and method").click()
    error_summary = page.locator(".govuk-error-summary")
    expect(error_summary).to_be_focused()
    expect(
        error_summary.get_by_role("link", name="The end of the audit period must be the same as or after its start")
    ).to_have_attribute("href", "#period_to")
    check_a11y("the meeting refused")
    period_to.get_by_label("Year", exact=True).fill("2026")
    page.get_by_label("Chair").fill("Dr Amara Okafor, independent chair")
    page.get_by_role("button", name="Save the meeting and method").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("The meeting record and method are saved")

    # The chair's report: each field beside the figures.
    page.get_by_role("link", name="Write the chair's report").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("The chair's report")
    figures = page.get_by_role("complementary")
    expect(figures).to_contain_text("Cases audited")
    expect(figures).to_contain_text("Returns received")
    check_a11y("the chair's report")
    page.get_by_label("Executive summary").fill(summary)
    page.get_by_label("New recommendation").first.fill(recommendation)
    page.get_by_role("button", name="Save the chair's report").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("The chair's report is saved")
    expect(page.get_by_label("Recommendation 3")).to_have_value(recommendation)
    body = page.locator("main").inner_text()
    assert "None" not in body and "nan" not in re.sub(r"[A-Za-z]nan|nan[a-z]", "", body)

    # The reports: prepared as a job; the page shows progress until the download appears.
    page.get_by_role("link", name="Prepare and download the report and the learning briefing (PDF)").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("Reports|Preparing the report"))
    check_a11y("the reports page")
    page.locator("#report").get_by_role("button", name=re.compile("Prepare")).click(timeout=PDF_TIMEOUT_MS)
    download_report = page.get_by_role("link", name="Download the chair's report (PDF)")
    for _ in range(30):  # a worker may still be drawing: the page refreshes itself, and "Check again" works too
        if download_report.count():
            break
        page.wait_for_timeout(1000)
        page.reload()
    with page.expect_download(timeout=PDF_TIMEOUT_MS) as report_download:
        download_report.click()
    text, pages = _pdf_text(report_download.value)
    assert report_download.value.suggested_filename.endswith("-chairs-report.pdf")
    assert pages < 20
    assert summary in text.replace("\n", " ") and "Recommendations to the partnership" in text
    assert text.index("The chair's report") < text.index("Method") < text.index("Return rates")
    assert "None" not in text and " nan" not in text

    page.locator("#briefing").get_by_role("button", name=re.compile("Prepare")).click(timeout=PDF_TIMEOUT_MS)
    download_briefing = page.get_by_role("link", name="Download the learning briefing (one page) (PDF)")
    for _ in range(30):
        if download_briefing.count():
            break
        page.wait_for_timeout(1000)
        page.reload()
    with page.expect_download(timeout=PDF_TIMEOUT_MS) as briefing_download:
        download_briefing.click()
    text, pages = _pdf_text(briefing_download.value)
    assert pages == 1
    for part in ("1. Why it matters", "2. What we found", "3. What good looks like", "4. What to do now"):
        assert part in text, part
    assert "None" not in text

    # A scrutineer reads the report and downloads the kept file; the page has nothing to change it.
    scrutineer = other_browser()
    sign_in(scrutineer, SCRUTINEER_EMAIL)
    _open_round(scrutineer)
    scrutineer.get_by_role("link", name="The chair's report").click()
    expect(scrutineer.get_by_text(summary)).to_be_visible()
    expect(scrutineer.get_by_role("button", name="Save the chair's report")).to_have_count(0)
    scrutineer.go_back()
    scrutineer.get_by_role("link", name="Reports (PDF)").click()
    expect(scrutineer.get_by_role("link", name="Download the chair's report (PDF)")).to_be_visible()
