"""Browser journeys through the Findings pages, with axe on each kind of page.

1. A QA member reaches the findings from the service navigation and opens
   every findings page of the CSE re-audit round and its theme's trend.
2. The filters: a sector narrows the figures; a value typed into the URL that
   the round does not have is refused with an error summary.
3. Small-count suppression: counts from 1 to 4 read "fewer than 5", charts go.
4. The downloads: a table as CSV, the page as Excel, every answer, the PDF report.
5. The keyboard: the sub-navigation and the scrollable tables are reachable.
6. An agency's auditor sees their own agency's figures only.
7. The charts: images with a title, each followed by the table of its figures.
8. Learning themes, the agencies-by-theme heatmap, the agreement chart, the panel
   beside the agencies in a theme's trend and an open round's progress, with axe
   (``SCREENSHOTS=<dir>`` saves each page as a PNG for a look).

The demo rounds are only read, never changed. The admin's session is reused
(``signed_in``) and never signed out; the QA member and the police auditor
sign in through the form in a browser of their own.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Callable
from urllib.parse import urlparse

import openpyxl
import pytest
from playwright.sync_api import Download, Locator, Page, expect

from .conftest import ADMIN_EMAIL, sign_in

pytestmark = pytest.mark.e2e

QA_EMAIL = "qa@northbridge.example.org"
POLICE_AUDITOR_EMAIL = "auditor.police@northbridge.example.org"
POLICE = "Northbridge and Eastvale Police (North BCU)"
REAUDIT = "CSE re-audit, spring 2026"
EARLIER = "CSE multi-agency case audit, autumn 2025"
OPEN_ROUND = "Strategy discussions audit, winter 2026"
THEME = "Child sexual exploitation"
SUPPRESS = "Show counts under 5 as \u201cfewer than 5\u201d (for published versions)"
#: the sub-navigation between a round's findings pages
SUBNAV = ["Return rates and grades", "By agency and panel", "Strengths and areas for development"]
#: the PDF report is drawn on request, which takes a few seconds on a slow machine
PDF_TIMEOUT_MS = 60_000

#: a count from 1 to 4 standing alone in a cell's text ("3", "Inadequate: 3"), not a share ("3%") or part of a year
SMALL_COUNT = re.compile(r"(?<![\d.\-])[1-4](?![\d%.\-])")

A11y = Callable[..., list]

FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return "body";
  if (el.getAttribute("role") === "region") return "region " + el.getAttribute("aria-labelledby");
  const name = (el.getAttribute("aria-label") || el.textContent || "").trim().replace(/\\s+/g, " ");
  return el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + (name ? " " + name.slice(0, 60) : "");
}"""


def focused(page: Page) -> str:
    """The focused element as ``tag#id text``, for readable assertions."""
    return page.evaluate(FOCUSED)


def _nav(page: Page, name: str) -> None:
    page.get_by_role("navigation", name="Main menu").get_by_role("link", name=name, exact=True).click()


def _subnav(page: Page) -> Locator:
    return page.get_by_role("navigation", name="Findings for this round")


def _region(page: Page, key: str) -> Locator:
    """The scrollable region around the findings table ``key``."""
    return page.locator(f".app-table-scroll[aria-labelledby='{key}']")


def _headings(page: Page, key: str) -> list[str]:
    return [" ".join(t.split()) for t in _region(page, key).locator("thead th").all_inner_texts()]


def _rows(page: Page, key: str) -> list[list[str]]:
    """A findings table's body, each row as its cells' text."""
    return (
        _region(page, key)
        .locator("tbody tr")
        .evaluate_all("rows => rows.map(r => Array.from(r.cells, c => c.innerText.replace(/\\s+/g, ' ').trim()))")
    )


def _open_round_findings(page: Page, title: str = REAUDIT) -> str:
    """From the Findings index, open a round's findings; returns the page's path."""
    page.goto("/findings")
    page.locator("table").first.get_by_role("link", name=title, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Return rates and grades")
    expect(page.locator(".govuk-caption-l")).to_have_text(title)
    path = urlparse(page.url).path
    assert re.fullmatch(r"/rounds/\d+/findings", path), path
    return path


def _saved(download: Download) -> bytes:
    assert download.failure() is None, download.failure()
    with open(download.path(), "rb") as handle:
        return handle.read()


def _count(cell: str) -> int:
    """The count at the start of a cell such as "21" or "13 (62%)"."""
    match = re.match(r"\d+", cell)
    assert match, f"no count in {cell!r}"
    return int(match.group())


# -- 1. every findings page, with axe --


def test_qa_member_reaches_every_findings_page_from_the_navigation(page: Page, check_a11y: A11y) -> None:
    sign_in(page, QA_EMAIL)
    _nav(page, "Findings")
    expect(page.get_by_role("heading", level=1)).to_have_text("Findings")
    expect(page).to_have_title(re.compile(r"^Findings"))
    rounds = page.locator("table").first
    for title, status in ((REAUDIT, "Reported"), (EARLIER, "Reported"), (OPEN_ROUND, "Open for returns")):
        row = rounds.locator("tbody tr").filter(has=page.get_by_role("link", name=title, exact=True))
        expect(row.locator("td").last).to_have_text(status)
    # a partnership-wide role sees every agency: no "your agency only" note
    expect(page.locator(".govuk-inset-text")).to_have_count(0)
    check_a11y("findings index")

    rounds.get_by_role("link", name=REAUDIT, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Return rates and grades")
    expect(page).to_have_title(re.compile(rf"^Findings: {re.escape(REAUDIT)}"))
    # every partnership-wide page links the re-audit comparison, the round re-auditing an earlier one
    expect(_subnav(page).get_by_role("link")).to_have_text([*SUBNAV, "Re-audit comparison"])
    expect(_subnav(page).locator("[aria-current='page']")).to_have_text("Return rates and grades")
    # 16 cases carried and 5 new; every return accepted
    totals = page.locator("main p", has_text="returns asked for")
    expect(totals).to_contain_text("21 cases, 61 returns asked for, 61 returned, 0 declined")
    # ... and the tables add up to the same totals
    for key in ("return_rates_agency", "return_rates_sector"):
        expected_column = _headings(page, key).index("Returns asked for")
        assert sum(_count(row[expected_column]) for row in _rows(page, key)) == 61, key
    check_a11y("round findings")

    _subnav(page).get_by_role("link", name="By agency and panel").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("By agency and panel")
    expect(_subnav(page).locator("[aria-current='page']")).to_have_text("By agency and panel")
    expect(page.get_by_role("heading", name="Where an agency's grade differs from the panel's")).to_be_visible()
    check_a11y("by agency and panel")

    _subnav(page).get_by_role("link", name="Strengths and areas for development").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Strengths and areas for development")
    expect(page.get_by_role("heading", level=2, name="Overall")).to_be_visible()
    expect(page.locator(".app-texts li").first).to_contain_text("case CSE-")
    check_a11y("strengths and areas for development")

    _subnav(page).get_by_role("link", name="Re-audit comparison").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Re-audit comparison")
    expect(page.locator("main")).to_contain_text(f"carried from {EARLIER}, then and now")
    expect(page.locator("main")).to_contain_text("16 carried cases, 5 new.")
    new_cases = _rows(page, "reaudit_new_cases")
    assert {row[0] for row in new_cases} == {f"CSE-26-{n:03d}" for n in range(1, 6)}
    for row in _rows(page, "reaudit_summary"):
        assert _count(row[_headings(page, "reaudit_summary").index("Compared")]) == 16, row
    check_a11y("re-audit comparison")

    page.get_by_role("link", name="All findings").click()
    page.get_by_role("link", name=f"{THEME}: grades round by round").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(THEME)
    trend = [row[0] for row in _rows(page, "trend")]
    assert any(r.startswith(EARLIER) for r in trend) and any(r.startswith(REAUDIT) for r in trend), trend
    check_a11y("theme trend")

    # The years filter refuses a range that ends before it starts.
    page.goto("/findings")
    page.get_by_label("From year", exact=True).fill("2026")
    page.get_by_label("To year", exact=True).fill("2025")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_title(re.compile(r"^Error: Findings"))
    summary = page.locator(".govuk-error-summary")
    expect(summary.get_by_role("link")).to_have_text("To year: must be the same as or after the from year")
    expect(page.locator("#to_year-error")).to_be_visible()
    check_a11y("findings index with a years error")


# -- 2. filters --


def test_a_sector_filter_narrows_the_return_rates_and_a_bad_value_is_refused(
    page: Page, signed_in, check_a11y: A11y
) -> None:
    signed_in(ADMIN_EMAIL)
    path = _open_round_findings(page)
    everyone = _rows(page, "return_rates_agency")
    health = sorted(row[0] for row in everyone if row[1] == "Health")
    assert health and len(health) < len(everyone), everyone

    page.get_by_label("Sector", exact=True).select_option(label="Health")
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"[?&]sector=health(&|$)"))
    expect(page.get_by_label("Sector", exact=True)).to_have_value("health")
    rows = _rows(page, "return_rates_agency")
    assert sorted(row[0] for row in rows) == health
    assert {row[1] for row in rows} == {"Health"}
    assert [row[0] for row in _rows(page, "return_rates_sector")] == ["Health"]
    # the other findings pages keep the filter
    expect(_subnav(page).get_by_role("link", name="By agency and panel")).to_have_attribute(
        "href", re.compile(r"sector=health")
    )

    with page.expect_response(lambda r: "sector=nonsense" in r.url) as answered:
        page.goto(f"{path}?sector=nonsense")
    assert answered.value.status == 400
    expect(page).to_have_title(re.compile(r"^Error: "))
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_be_focused()
    link = summary.get_by_role("link", name="Sector: choose one of the values listed")
    expect(link).to_have_attribute("href", "#sector")
    link.click()
    sector = page.get_by_label("Sector", exact=True)
    expect(sector).to_be_focused()
    # the error is repeated beside the field, and read out with it
    expect(page.locator("#sector-error")).to_have_text("Error: Sector: choose one of the values listed")
    expect(sector).to_have_attribute("aria-describedby", "sector-error")
    # the refused value is dropped: every sector's figures are shown
    assert len(_rows(page, "return_rates_agency")) == len(everyone)
    check_a11y("round findings with a filter error")


# -- 3. small counts --


def test_suppressing_small_counts_shows_fewer_than_5_and_hides_the_charts(page: Page, signed_in) -> None:
    signed_in(ADMIN_EMAIL)
    _open_round_findings(page)
    expect(page.locator("svg.app-chart")).to_have_count(3)
    asked = _headings(page, "return_rates_agency").index("Returns asked for")
    rate = _headings(page, "return_rates_agency").index("Return rate (%)")
    before = {row[0]: row for row in _rows(page, "return_rates_agency")}
    small = [name for name, row in before.items() if 0 < _count(row[asked]) < 5]
    large = [name for name, row in before.items() if _count(row[asked]) >= 5]
    assert small and large, before

    page.get_by_label(SUPPRESS, exact=True).check()
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"[?&]suppress=1(&|$)"))
    expect(page.get_by_label(SUPPRESS, exact=True)).to_be_checked()
    expect(page.locator("svg.app-chart")).to_have_count(0)
    expect(page.locator(".app-findings-table").filter(has_text="fewer than 5").first).to_be_visible()
    expect(page.get_by_text("Counts from 1 to 4 are shown as \u201cfewer than 5\u201d.").first).to_be_visible()

    after = {row[0]: row for row in _rows(page, "return_rates_agency")}
    assert after.keys() == before.keys()
    for name in small:
        assert after[name][asked] == "fewer than 5", after[name]
        assert after[name][rate] == "not shown", after[name]
    for name in large:
        assert after[name] == before[name]
    # no count under 5 anywhere in any table, counts inside text ("Inadequate: 3") included
    cells = page.locator(".app-findings-table tbody").locator("td, th").all_inner_texts()
    shown = [cell for cell in cells if SMALL_COUNT.search(cell)]
    assert cells and not shown, f"counts under 5 shown on a suppressed page: {shown[:5]}"
    # downloads from the suppressed page are suppressed too
    expect(page.get_by_role("link", name="Download the round report (PDF)")).to_have_attribute(
        "href", re.compile(r"suppress=1")
    )
    expect(page.get_by_role("link", name="Download every table on this page (Excel)")).to_have_attribute(
        "href", re.compile(r"suppress=1")
    )


# -- 4. downloads --


def test_tables_answers_and_the_report_download(page: Page, signed_in) -> None:
    signed_in(ADMIN_EMAIL)
    _open_round_findings(page)
    headings = _headings(page, "return_rates_agency")
    rows = _rows(page, "return_rates_agency")

    with page.expect_download() as csv_download:
        page.get_by_role("link", name=re.compile(r"^CSV\W+Return rates by agency$")).click()
    assert csv_download.value.suggested_filename.endswith("-return_rates_agency.csv")
    lines = list(csv.reader(io.StringIO(_saved(csv_download.value).decode("utf-8-sig"))))
    assert lines[0] == headings
    assert [line[0] for line in lines[1:]] == [row[0] for row in rows]
    asked = headings.index("Returns asked for")
    assert [int(line[asked]) for line in lines[1:]] == [_count(row[asked]) for row in rows]

    with page.expect_download() as xlsx_download:
        page.get_by_role("link", name="Download every table on this page (Excel)").click()
    assert xlsx_download.value.suggested_filename.endswith("-tables.xlsx")
    book = openpyxl.load_workbook(io.BytesIO(_saved(xlsx_download.value)), read_only=True)
    assert book.sheetnames[0] == "About"
    assert {"Return rates by agency", "Return rates by sector", "Grades by section", "Panel grades"} <= set(
        book.sheetnames
    )
    about = {row[0]: row[1] for row in book["About"].iter_rows(values_only=True)}
    assert about["Round"] == REAUDIT
    assert about["Agencies"] == "All agencies"
    sheet = list(book["Return rates by agency"].iter_rows(values_only=True))
    assert list(sheet[0]) == headings
    assert [line[0] for line in sheet[1:]] == [row[0] for row in rows]

    with page.expect_download() as answers_download:
        page.get_by_role("link", name="Download every answer (Excel, one row per answer)").click()
    answers = openpyxl.load_workbook(io.BytesIO(_saved(answers_download.value)), read_only=True)
    assert answers.sheetnames == ["Answers"]
    assert len(list(answers["Answers"].iter_rows(max_row=3))) == 3

    with page.expect_download(timeout=PDF_TIMEOUT_MS) as pdf_download:
        # the response starts only once the PDF is drawn, so the click waits as long
        page.get_by_role("link", name="Download the round report (PDF)").click(timeout=PDF_TIMEOUT_MS)
    assert pdf_download.value.suggested_filename.endswith("-report.pdf")
    pdf = _saved(pdf_download.value)
    assert pdf.startswith(b"%PDF")
    try:
        from pypdf import PdfReader
    except ImportError:  # pragma: no cover - pypdf is optional
        return
    reader = PdfReader(io.BytesIO(pdf))
    first = " ".join(reader.pages[0].extract_text().split())
    assert "full report" in first and REAUDIT in first, first


# -- 5. the keyboard --


def test_keyboard_user_follows_the_subnavigation_and_scrolls_a_table(page: Page, signed_in) -> None:
    signed_in(ADMIN_EMAIL)
    path = _open_round_findings(page)
    page.goto(path)

    visited = []
    for _ in range(40):
        page.keyboard.press("Tab")
        visited.append(focused(page))
        if visited[-1] == "a By agency and panel":
            break
    assert visited[0] == "a Skip to main content", visited
    assert visited[-1] == "a By agency and panel", visited
    # the main menu, then the back link, then the sub-navigation in order
    menu = visited.index("a Findings")
    back = visited.index("a All findings")
    assert menu < back < visited.index("a Return rates and grades") == len(visited) - 2, visited

    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/rounds/\d+/findings/agencies$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("By agency and panel")
    expect(_subnav(page).locator("[aria-current='page']")).to_have_text("By agency and panel")

    # Every scrollable table is a named region a keyboard user can reach.
    regions = page.locator(".app-table-scroll")
    assert regions.count() >= 3
    for region in regions.all():
        expect(region).to_have_attribute("tabindex", "0")
        expect(region).to_have_attribute("role", "region")
        named_by = region.get_attribute("aria-labelledby")
        expect(page.locator(f"[id='{named_by}']")).to_have_count(1)

    # From the filter form's button, Tab goes to the download link, then into the first table's region.
    page.get_by_role("button", name="Apply").focus()
    page.keyboard.press("Tab")
    assert focused(page) == "a Download every table on this page (Excel)"
    page.keyboard.press("Tab")
    assert focused(page) == "region panel_agreement"
    expect(regions.first).to_be_focused()

    # On a narrow screen, a wide table scrolls with the arrow keys once its region has focus.
    page.set_viewport_size({"width": 480, "height": 900})
    wide = _region(page, "grades_by_agency")
    assert wide.evaluate("el => el.scrollWidth > el.clientWidth")
    wide.focus()
    expect(wide).to_be_focused()
    assert wide.evaluate("el => el.scrollLeft") == 0
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    page.wait_for_function("el => el.scrollLeft > 0", arg=wide.element_handle())


# -- 6. an agency's own figures --


def test_an_auditor_sees_their_own_agency_figures_only(
    page: Page, other_browser: Callable[[], Page], check_a11y: A11y
) -> None:
    auditor = other_browser()
    sign_in(auditor, POLICE_AUDITOR_EMAIL)
    _nav(auditor, "Findings")
    expect(auditor.get_by_role("heading", level=1)).to_have_text("Findings")
    expect(auditor.locator(".govuk-inset-text")).to_contain_text("from your agency's returns only")
    assert [row[0] for row in _rows(auditor, "agency_theme")] == [POLICE]
    check_a11y("findings index for an agency", on=auditor)

    path = _open_round_findings(auditor)
    expect(auditor.locator(".govuk-inset-text")).to_contain_text("from your agency's returns only")
    # one return per case, all from the police
    expect(auditor.locator("main p", has_text="returns asked for")).to_contain_text(
        "21 cases, 21 returns asked for, 21 returned, 0 declined"
    )
    rows = _rows(auditor, "return_rates_agency")
    assert [row[0] for row in rows] == [POLICE], rows
    assert [row[0] for row in _rows(auditor, "return_rates_sector")] == ["Police"]
    for key in ("grades", "questions"):
        expect(auditor.locator(f"[id='{key}']")).to_contain_text("(your agency)")
    expect(auditor.get_by_label("Sector", exact=True).locator("option")).to_have_text(["All", "Police"])
    expect(_subnav(auditor).get_by_role("link")).to_have_text(SUBNAV)
    expect(auditor.get_by_role("link", name="Download the round report (PDF)")).to_have_count(0)
    expect(auditor.get_by_role("link", name="Download every answer (Excel, one row per answer)")).to_be_visible()
    check_a11y("round findings for an agency", on=auditor)

    # A download holds the same single agency.
    answer = auditor.request.get(f"{path}?download=csv&table=return_rates_agency")
    assert answer.ok
    lines = list(csv.reader(io.StringIO(answer.body().decode("utf-8-sig"))))
    assert [line[0] for line in lines[1:]] == [POLICE]

    # The partnership-wide pages are refused, however they are reached.
    refused = auditor.goto(f"{path}/re-audit")
    assert refused is not None and refused.status == 403
    expect(auditor.get_by_role("heading", level=1)).to_have_text("You do not have permission to see this page")
    report = auditor.request.get(path.replace("/findings", "/report.pdf"))
    assert report.status == 403


# -- 7. charts --


def test_each_chart_is_a_titled_image_followed_by_the_table_of_its_figures(page: Page, signed_in) -> None:
    signed_in(ADMIN_EMAIL)
    _open_round_findings(page)
    charts = page.locator("svg.app-chart")
    expect(charts).to_have_count(3)
    tables = []
    for chart in charts.all():
        expect(chart).to_have_attribute("role", "img")
        title = chart.locator(":scope > title")
        expect(title).to_have_count(1)
        expect(title).to_have_text(re.compile(r"\S.* \(figures in the table below\)$"))
        expect(chart).to_have_attribute("aria-labelledby", title.get_attribute("id"))
        # the chart's wrapper is followed by the heading of a table, then the table in its region
        following = chart.evaluate(
            """svg => {
                const heading = svg.closest(".app-chart-wrap").nextElementSibling;
                const region = heading && heading.nextElementSibling;
                return {
                    heading: heading && /^H[2-6]$/.test(heading.tagName) ? heading.id : null,
                    region: region && region.matches(".app-table-scroll") && region.querySelector("table")
                        ? region.getAttribute("aria-labelledby") : null,
                };
            }"""
        )
        assert following["heading"] and following["region"] == following["heading"], following
        tables.append(following["heading"])
    assert tables == ["return_rates_agency", "grades", "learning_themes"]

    # The figures drawn are the table's: "<agency>: 100% (21 of 21)" for each agency.
    headings = _headings(page, "return_rates_agency")
    asked, returned = headings.index("Returns asked for"), headings.index("Returned")
    rate = headings.index("Return rate (%)")
    drawn = charts.first.locator("g > title").all_text_contents()
    assert drawn == [
        f"{row[0]}: {row[rate]} ({row[returned]} of {row[asked]})" for row in _rows(page, "return_rates_agency")
    ]
    # ... and each section's grades: "<section>: Good 28 of 64 (44%)".
    headings = _headings(page, "grades")
    graded = headings.index("Graded")
    labels = [h.removesuffix(" (share)") for h in headings[1:graded]]
    expected = []
    for row in _rows(page, "grades"):
        for label, cell in zip(labels, row[1:graded], strict=True):
            count = _count(cell)
            if count:
                share = re.search(r"\((\d+%)\)", cell).group(1)
                expected.append(f"{row[0]}: {label} {count} of {row[graded]} ({share})")
    assert charts.nth(1).locator("g > title").all_text_contents() == expected


def test_an_auditor_is_not_told_a_trend_chart_covers_all_agencies(other_browser: Callable[[], Page]) -> None:
    auditor = other_browser()
    sign_in(auditor, POLICE_AUDITOR_EMAIL)
    auditor.goto("/findings")
    auditor.get_by_role("link", name=f"{THEME}: grades round by round").click()
    expect(auditor.get_by_role("heading", level=1)).to_have_text(THEME)
    expect(auditor.locator("[id='trend']")).to_contain_text("(your agency)")
    expect(auditor.locator("#trend-chart-title")).not_to_contain_text("all agencies", timeout=1_000)


# -- 8. learning themes and the charts a QA group reads --


def _shot(page: Page, name: str) -> None:
    folder = os.environ.get("SCREENSHOTS")
    if folder:  # each chart on its own: a whole long page is slow to capture on a busy machine
        for index, chart in enumerate(page.locator(".app-chart-wrap").all()):
            chart.screenshot(path=os.path.join(folder, f"{name}-{index + 1}.png"), timeout=60_000)


def _chart_cells(page: Page, chart_id: str) -> list[str]:
    return page.locator(f"svg[aria-labelledby='{chart_id}-title'] g > title").all_text_contents()


def test_learning_themes_heatmaps_and_agreement_charts_read_well(page: Page, signed_in, check_a11y: A11y) -> None:
    signed_in(ADMIN_EMAIL)
    page.goto("/findings")
    expect(page.get_by_role("heading", level=2, name="Learning themes", exact=True)).to_be_visible()
    overall = _rows(page, "learning_themes_overall")
    assert overall and all(re.match(r"\d", row[1]) for row in overall), overall
    # the heatmap of agencies by theme prints each agency's share, as the table does
    table = {row[0]: row for row in _rows(page, "agency_theme")}
    cells = _chart_cells(page, "agency-theme-chart")
    assert len(cells) == len(table) * (len(_headings(page, "agency_theme")) - 1) // 3
    for cell in cells:
        agency = cell.split(", ")[0]
        assert agency in table, cell
        assert re.search(r": (\d+% \(\d+ of \d+\)|none graded)$", cell), cell
    assert _chart_cells(page, "learning-themes-chart")
    expect(page.locator("main")).not_to_contain_text("nan")
    check_a11y("findings index with heatmaps")
    _shot(page, "findings-index")

    _open_round_findings(page)
    themes = _rows(page, "learning_themes")
    drawn = _chart_cells(page, "learning-themes-chart")
    assert [cell.split(":")[0] for cell in drawn] == [row[0] for row in themes]
    check_a11y("round findings with learning themes")
    _shot(page, "round-findings")

    _subnav(page).get_by_role("link", name="By agency and panel").click()
    agreement = _chart_cells(page, "agreement-chart")
    assert agreement and all(re.search(r": (Same|Agency graded (higher|lower)) \d+ of \d+", c) for c in agreement)
    check_a11y("by agency and panel with the agreement chart")
    _shot(page, "round-agencies")

    page.goto("/findings")
    page.get_by_role("link", name=f"{THEME}: grades round by round").click()
    expect(page.locator("#trend-chart-title")).to_contain_text("the panel's")
    panel = _rows(page, "trend_panel")
    assert [row[0] for row in panel] == [row[0] for row in _rows(page, "trend")]
    expect(page.locator("svg[aria-labelledby='trend-chart-title'] text").first).to_have_text("Agencies' own grades")
    check_a11y("theme trend with the panel")
    _shot(page, "theme-trend")

    page.goto("/rounds")
    page.get_by_role("link", name=OPEN_ROUND, exact=True).click()
    expect(page.get_by_role("heading", level=2, name="Return progress")).to_be_visible()
    progress = _chart_cells(page, "progress-chart")
    assert progress[0].startswith("All agencies: ")
    page.get_by_text("Return progress as a table").click()
    expect(page.locator("#progress ~ details table tbody tr").first.locator("th")).to_have_text("All agencies")
    check_a11y("open round with its progress")
    _shot(page, "round-progress")
