"""The learning-review files and the annual summary: the register and learning summary as XLSX (what the reader
may see), and the annual summary for 1 April to 31 March as a page, XLSX and a PDF drawn by a job."""

from __future__ import annotations

import io
from datetime import date

import openpyxl
import pytest
import sqlalchemy as sa

from audit_app.actions.models import Recommendation, RecommendationTheme, SourceKind
from audit_app.core.audit import system_actor
from audit_app.extensions import db
from audit_app.questionnaires.models import LearningTheme
from audit_app.reporting import review_aggregation as agg
from audit_app.reporting import review_files
from audit_app.reporting import reviews as report
from audit_app.reviews.models import (
    ClockKind,
    ClockPause,
    LearningPoint,
    LearningReview,
    PanelResponse,
    PublicationState,
    ReviewDecision,
    ReviewStatus,
    ReviewType,
)
from tests.conftest import login

TODAY = date(2026, 11, 30)


def _themes(partnership_id: int) -> dict[str, LearningTheme]:
    """Three of the partnership's default themes, and a retired theme nobody used."""
    themes = {
        t.name: t
        for t in db.session.scalars(sa.select(LearningTheme).where(LearningTheme.partnership_id == partnership_id))
    }
    db.session.add(LearningTheme(partnership_id=partnership_id, name="Old theme", position=99, is_retired=True))
    return {name: themes[name] for name in ("Information sharing", "Voice of the child", "Escalation")}


@pytest.fixture()
def register(world, clock):
    """North's register: in 2025-26 a rapid review met on time and commissioning an LCSPR (published), a rapid
    review that missed its clock with no further review, and a thematic review; in 2026-27 a rapid review still
    running with a paused clock. South has one review of its own."""
    clock.set(TODAY)
    pid = world.partnership.id
    with system_actor("test:setup"):
        themes = _themes(pid)
        # aware Thu 3 July 2025 -> notification due Thu 10 July; notified Mon 7 July; rapid review due 15 working
        # days later, Mon 28 July; decided Fri 25 July (met), LCSPR due 25 January 2026, completed 20 January
        k = LearningReview(
            partnership_id=pid,
            review_type=ReviewType.RAPID_REVIEW,
            pseudonym="Child K",
            aware_on=date(2025, 7, 3),
            notified_on=date(2025, 7, 7),
            panel_met_on=date(2025, 7, 22),
            decision=ReviewDecision.LCSPR,
            decided_on=date(2025, 7, 25),
            decision_rationale="Learning for all agencies",
            panel_response=PanelResponse.AGREED,
            completed_on=date(2026, 1, 20),
            publication_state=PublicationState.PUBLISHED,
            published_on=date(2026, 2, 27),
            published_url="https://example.org/child-k",
            status=ReviewStatus.COMPLETED,
        )
        # aware Mon 1 September 2025 -> due Mon 8 September; notified Wed 10 September (missed); rapid review due
        # Wed 1 October; decided Fri 3 October (missed); no further review
        y = LearningReview(
            partnership_id=pid,
            review_type=ReviewType.RAPID_REVIEW,
            pseudonym="Baby Y",
            aware_on=date(2025, 9, 1),
            notified_on=date(2025, 9, 10),
            decision=ReviewDecision.NO_FURTHER_REVIEW,
            decided_on=date(2025, 10, 3),
            decision_rationale="Single-agency learning",
            panel_response=PanelResponse.DISAGREED,
            status=ReviewStatus.COMPLETED,
        )
        t = LearningReview(
            partnership_id=pid,
            review_type=ReviewType.THEMATIC_REVIEW,
            pseudonym="Neglect in adolescents",
            decided_on=None,
        )
        # aware Mon 2 November 2026 -> due Mon 9 November; notified Fri 6 November; rapid review due Fri 27
        # November, paused since Mon 23 November
        r = LearningReview(
            partnership_id=pid,
            review_type=ReviewType.RAPID_REVIEW,
            pseudonym="Child R",
            aware_on=date(2026, 11, 2),
            notified_on=date(2026, 11, 6),
        )
        south = LearningReview(
            partnership_id=world.other_partnership.id, review_type=ReviewType.RAPID_REVIEW, pseudonym="Child S"
        )
        db.session.add_all([k, y, t, r, south])
        db.session.flush()
        # the thematic review counts by its registration date: put it in 2025-26
        t.created_at = t.created_at.replace(year=2025, month=6, day=1)
        db.session.add(
            ClockPause(
                review_id=r.id,
                clock=ClockKind.RAPID_REVIEW,
                paused_on=date(2026, 11, 23),
                reason="Criminal proceedings",
            )
        )
        k_points = [
            LearningPoint(
                review_id=k.id,
                number=1,
                text="Information was not shared with the school.",
                themes=[themes["Information sharing"]],
            ),
            LearningPoint(
                review_id=k.id,
                number=2,
                text="The child's wishes were not recorded.",
                themes=[themes["Voice of the child"], themes["Information sharing"]],
            ),
        ]
        db.session.add_all(
            [
                *k_points,
                LearningPoint(review_id=y.id, number=1, text="Escalation was slow.", themes=[themes["Escalation"]]),
            ]
        )
        rec = Recommendation(
            partnership_id=pid,
            source=SourceKind.REVIEW,
            review_id=k.id,
            source_key=f"review:{k.id}",
            number=1,
            text="Share strategy minutes with schools",
        )
        rec.themes = [RecommendationTheme(name="Information sharing")]
        db.session.add(rec)
        db.session.commit()
    return {"k": k, "y": y, "t": t, "r": r}


def test_the_annual_summary_counts_types_decisions_timeliness_publication_and_themes(world, register):
    summary = report.build_annual_summary(
        review_files.partnership_reviews(world.partnership.id), world.partnership.id, 2025
    )
    by_type = {row["review_type"]: row["reviews"] for row in summary.tables["reviews_by_type"].rows}
    assert by_type == {
        "rapid_review": 2,
        "lcspr": 0,
        "local_learning_review": 0,
        "thematic_review": 1,
        "joint_review": 0,
    }
    decisions = {row["decision_key"]: row for row in summary.tables["review_decisions"].rows}
    assert decisions["lcspr"]["decisions"] == 1 and decisions["lcspr"]["agreed"] == 1
    assert decisions["no_further_review"]["decisions"] == 1 and decisions["no_further_review"]["disagreed"] == 1
    assert decisions["local_learning_review"]["decisions"] == 0
    timely = {row["clock_key"]: row for row in summary.tables["review_timeliness"].rows}
    # notification: K met (10 July), Y missed (8 September); rapid review: K met, Y missed; practice review: K
    # due 25 January 2026, met 20 January
    assert (timely["notification"]["due"], timely["notification"]["met"], timely["notification"]["missed"]) == (2, 1, 1)
    assert (timely["rapid_review"]["met"], timely["rapid_review"]["missed"]) == (1, 1)
    assert (timely["practice_review"]["due"], timely["practice_review"]["met"]) == (1, 1)
    assert timely["notification"]["met_pct"] == 50.0
    publication = {row["publication_state"]: row for row in summary.tables["review_publication"].rows}
    assert publication["published"]["reviews"] == 1 and publication["published"]["published_in_year"] == 1
    assert publication["not_for_publication"]["reviews"] == 2
    themes = {row["theme"]: row for row in summary.tables["review_themes"].rows}
    assert themes["Information sharing"]["points"] == 2 and themes["Information sharing"]["reviews"] == 1
    assert themes["Escalation"]["points"] == 1
    assert "Old theme" not in themes  # retired and never used
    assert summary.headline == {"reviews": 3, "rapid_reviews": 2, "decisions": 2, "clocks_missed": 2}


def test_this_years_summary_shows_the_paused_clock_as_open(world, register):
    summary = report.build_annual_summary(
        review_files.partnership_reviews(world.partnership.id), world.partnership.id, 2026
    )
    timely = {row["clock_key"]: row for row in summary.tables["review_timeliness"].rows}
    # Child R: notified on time; the rapid review clock is paused, so it is open, not overdue
    assert (timely["notification"]["due"], timely["notification"]["met"]) == (1, 1)
    assert (timely["rapid_review"]["due"], timely["rapid_review"]["open"], timely["rapid_review"]["overdue"]) == (
        1,
        1,
        0,
    )
    assert summary.headline["reviews"] == 1


def test_the_reporting_year_runs_from_april_to_march():
    assert agg.reporting_year(date(2026, 3, 31)) == 2025
    assert agg.reporting_year(date(2026, 4, 1)) == 2026
    assert agg.year_bounds(2025) == (date(2025, 4, 1), date(2026, 3, 31))
    assert agg.year_label(2025) == "1 April 2025 to 31 March 2026"


def _sheet(data: bytes, name: str) -> list[tuple]:
    book = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    return [tuple(row) for row in book[name].iter_rows(values_only=True)]


def test_the_register_spreadsheet_has_every_review_with_its_clocks(client, world, register):
    login(client, world.user("qa_member"))
    response = client.get("/reviews/register.xlsx")
    assert response.status_code == 200
    rows = _sheet(response.data, "Register")
    heading, *body = rows
    by_name = {row[0]: dict(zip(heading, row, strict=True)) for row in body}
    assert set(by_name) == {"Child K", "Baby Y", "Neglect in adolescents", "Child R"}  # never South's
    assert by_name["Baby Y"]["Notification due"] == "8 September 2025"
    assert by_name["Baby Y"]["Notification clock"] == "Missed"
    assert by_name["Child R"]["Rapid review clock"] == "Paused"
    assert by_name["Child K"]["Practice review due"] == "25 January 2026"
    assert by_name["Neglect in adolescents"]["Notification clock"] == "Does not apply"
    assert by_name["Child K"]["Learning points"] == 2 and by_name["Child K"]["Recommendations"] == 1
    assert not any(value in ("None", "nan") for row in body for value in row)


def test_agency_staff_get_only_published_reviews_in_their_files(client, world, register):
    login(client, world.user("auditor"))
    rows = _sheet(client.get("/reviews/register.xlsx").data, "Register")
    assert [row[0] for row in rows[1:]] == ["Child K"]
    learning = client.get("/reviews/learning-summary.xlsx")
    points = _sheet(learning.data, "Learning points")
    assert {row[0] for row in points[1:]} == {"Child K"}
    assert client.get("/reviews/annual-summary").status_code == 403


def test_the_learning_summary_lists_points_recommendations_and_theme_counts(client, world, register):
    login(client, world.user("scrutineer"))
    data = client.get("/reviews/learning-summary.xlsx").data
    points = _sheet(data, "Learning points")
    assert (
        "Child K",
        "Rapid review",
        2,
        "The child's wishes were not recorded.",
        "Information sharing; Voice of the child",
    ) in points or (
        "Child K",
        "Rapid review",
        2,
        "The child's wishes were not recorded.",
        "Voice of the child; Information sharing",
    ) in points
    recs = _sheet(data, "Recommendations")
    assert recs[1][:3] == ("Child K", 1, "Share strategy minutes with schools")
    themes = {row[0]: row for row in _sheet(data, "Themes of learning points")[1:]}
    assert themes["Information sharing"][1:] == (2, 1)


def test_the_annual_summary_page_and_its_spreadsheet(client, world, register):
    login(client, world.user("qa_member"))
    page = client.get("/reviews/annual-summary?year=2025")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "1 April 2025 to 31 March 2026" in text and "Notification to the National Panel" in text
    assert "None" not in text.replace("None in the year", "") and "nan" not in text
    workbook = client.get("/reviews/annual-summary?year=2025&download=xlsx")
    assert workbook.status_code == 200
    timeliness = _sheet(workbook.data, "Timeliness")
    assert timeliness[1][0] == "Notification to the National Panel" and timeliness[1][1:4] == (2, 1, 50)


@pytest.mark.parametrize("year", ["twenty", "1999", "2101", "-1", "2025.5"])
def test_a_bad_year_is_a_400_naming_it(client, world, register, year):
    login(client, world.user("qa_member"))
    response = client.get(f"/reviews/annual-summary?year={year}")
    assert response.status_code == 400
    assert "Year:" in response.get_data(as_text=True)


def test_the_pdf_is_prepared_by_a_job_kept_and_drawn_again_when_the_figures_change(client, world, register):
    login(client, world.user("qa_member"))
    page = client.get("/reviews/annual-summary/pdf?year=2025")
    assert "Not prepared" in page.get_data(as_text=True)
    early = client.get("/reviews/annual-summary.pdf?year=2025")
    assert early.status_code == 303
    prepared = client.post("/reviews/annual-summary/pdf?year=2025", data={"csrf_token": "x"})
    assert prepared.status_code == 303
    ready = client.get("/reviews/annual-summary/pdf?year=2025").get_data(as_text=True)
    assert "Ready" in ready and "Download the annual summary (PDF)" in ready
    pdf = client.get("/reviews/annual-summary.pdf?year=2025")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    # a new review in the year changes the figures: the kept file is no longer offered
    with system_actor("test:setup"):
        db.session.add(
            LearningReview(
                partnership_id=world.partnership.id,
                review_type=ReviewType.RAPID_REVIEW,
                pseudonym="Child Q",
                aware_on=date(2025, 5, 1),
            )
        )
        db.session.commit()
    assert "Not prepared" in client.get("/reviews/annual-summary/pdf?year=2025").get_data(as_text=True)


def test_the_api_gives_the_same_tables_with_keys_and_labels(client, world, register):
    from tests.factories import api_token

    qa = {"Authorization": f"Bearer {api_token(world.user('qa_member'))}"}
    body = client.get("/api/v1/reviews/annual-summary?year=2025", headers=qa).get_json()
    assert body["label"] == "1 April 2025 to 31 March 2026" and body["starts_on"] == "2025-04-01"
    timely = {row["clock_key"]: row for row in body["tables"]["review_timeliness"]["rows"]}
    assert timely["notification"]["clock"] == "Notification to the National Panel"
    assert (timely["notification"]["met"], timely["notification"]["missed"]) == (1, 1)
    bad = client.get("/api/v1/reviews/annual-summary?year=1999", headers=qa)
    assert bad.status_code == 400 and "year" in bad.get_json()["error"]["fields"]
    assert client.get("/api/v1/reviews/annual-summary.pdf?year=2025", headers=qa).status_code == 409
    status = client.post("/api/v1/reviews/annual-summary/pdf?year=2025", headers=qa)
    assert status.status_code == 202 and status.get_json()["state"] == "ready"
    assert client.get(status.get_json()["download"], headers=qa).data.startswith(b"%PDF")
    auditor = {"Authorization": f"Bearer {api_token(world.user('auditor'))}"}
    assert client.get("/api/v1/reviews/annual-summary", headers=auditor).status_code == 403
    learning = client.get("/api/v1/reviews/learning-summary", headers=auditor).get_json()
    assert {row["review"] for row in learning["tables"]["learning_points"]["rows"]} == {"Child K"}
    assert all("review_id" in row for row in learning["tables"]["learning_points"]["rows"])
