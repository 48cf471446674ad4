"""The register's pages: filters, the due soon and overdue panel, who sees what, and forms that name every bad
field (400) and never half-save."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from audit_app.core.audit import system_actor
from audit_app.extensions import db
from audit_app.reviews import services
from audit_app.reviews.models import LearningReview
from tests.conftest import login

#: Monday 30 November 2026
TODAY = date(2026, 11, 30)


def _review(world, pseudonym, **fields) -> LearningReview:
    values = {"review_type": "rapid_review", "pseudonym": pseudonym} | fields
    with system_actor("test:setup"):
        review = services.create_review(world.partnership.id, services.ReviewIn(**values), by=None)
        db.session.commit()
    return review


def test_the_register_shows_what_is_due_soon_and_overdue_and_filters(client, world, clock):
    clock.set(TODAY)
    # aware Monday 16 November: notification due Monday 23 November, overdue
    late = _review(world, "Child L", aware_on=date(2026, 11, 16))
    # aware Friday 27 November: notification due Friday 4 December, due soon
    soon = _review(world, "Child S", aware_on=date(2026, 11, 27))
    # notified long ago, rapid review decided: nothing open
    _review(world, "Thematic review: neglect", review_type="thematic_review", aware_on=date(2025, 5, 1))
    login(client, world.user("scrutineer"))
    page = client.get("/reviews").get_data(as_text=True)
    due = page.split('id="due-clocks"')[1].split("</table>")[0]
    assert "Rapid review: Child L" in due and "Rapid review: Child S" in due and "neglect" not in due
    assert due.index("Child L") < due.index("Child S")  # overdue first
    assert "Overdue" in due and "Due soon" in due and "23 November 2026" in due and "4 December 2026" in due
    assert "Start a review" not in page  # scrutineers read
    filtered = client.get("/reviews?type=thematic_review").get_data(as_text=True)
    table = filtered.split('id="register"')[1]
    assert "Thematic review: neglect" in table and "Child L" not in table
    by_year = client.get("/reviews?year=2025").get_data(as_text=True).split('id="register"')[1]
    assert "neglect" in by_year and "Child S" not in by_year
    nothing = client.get("/reviews?status=completed&type=junk&year=abc").get_data(as_text=True)
    assert "No review matches these filters" in nothing
    assert late.id and soon.id


def test_agency_staff_see_published_reviews_only(client, world, clock):
    clock.set(TODAY)
    hidden = _review(world, "Child H", aware_on=date(2026, 11, 2))
    shown = _review(world, "Child P", review_type="lcspr")
    with system_actor("test:setup"):
        services.set_publication(
            shown,
            services.PublicationIn(
                state="published", published_on=date(2026, 11, 1), published_url="https://example.org/p.pdf"
            ),
        )
        db.session.commit()
    login(client, world.user("auditor"))
    page = client.get("/reviews").get_data(as_text=True)
    assert "Child P" in page and "Child H" not in page
    assert client.get(f"/reviews/{hidden.id}").status_code == 404
    detail = client.get(f"/reviews/{shown.id}").get_data(as_text=True)
    assert "https://example.org/p.pdf" in detail and "Pause" not in detail
    assert client.get(f"/reviews/{shown.id}/edit").status_code == 403
    login(client, world.other_partnership and world.user("other_admin"))
    assert client.get(f"/reviews/{shown.id}").status_code == 404


def test_the_new_review_form_names_every_bad_field_and_saves_nothing(client, world, clock):
    clock.set(TODAY)
    login(client, world.user("qa_member"))
    assert "Start a review" in client.get("/reviews/new").get_data(as_text=True)
    refused = client.post(
        "/reviews/new",
        data={
            "pseudonym": "SMITH, John",
            "aware_on-day": "31", "aware_on-month": "2", "aware_on-year": "2026",
            "notified_on-day": "1", "notified_on-month": "12", "notified_on-year": "2026",
            "status": "in_progress",
        },
    )  # fmt: skip
    assert refused.status_code == 400
    text = refused.get_data(as_text=True)
    for message in (
        "There is a problem",
        "Choose the type of review",
        "looks like a person&#39;s full name",
        "Enter a real date the local authority became aware",
        "must be today or in the past",
    ):
        assert message in text, message
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LearningReview)) == 0


def test_the_edit_and_publication_pages(client, world, clock):
    clock.set(TODAY)
    review = _review(world, "Child E", aware_on=date(2026, 11, 2))
    login(client, world.user("admin"))
    form = client.get(f"/reviews/{review.id}/edit").get_data(as_text=True)
    assert 'value="Child E"' in form and 'value="2026"' in form
    saved = client.post(
        f"/reviews/{review.id}/edit",
        data={"review_type": "rapid_review", "pseudonym": "Child F", "status": "in_progress",
              "aware_on-day": "2", "aware_on-month": "11", "aware_on-year": "2026",
              "notified_on-day": "6", "notified_on-month": "11", "notified_on-year": "2026"},
    )  # fmt: skip
    assert saved.status_code == 303 and review.pseudonym == "Child F" and review.notified_on == date(2026, 11, 6)
    refused = client.post(
        f"/reviews/{review.id}/publication",
        data={"publication_state": "published", "published_url": "not a link"},
    )
    assert refused.status_code == 400
    text = refused.get_data(as_text=True)
    assert "Enter the date the report was published" in text and "web address" in text
    awaiting = client.post(
        f"/reviews/{review.id}/publication",
        data={"publication_state": "awaiting_publication", "publication_delay_reason": "Criminal trial"},
    )
    assert awaiting.status_code == 303
    page = client.get(f"/reviews/{review.id}").get_data(as_text=True)
    assert "Awaiting publication" in page and "Criminal trial" in page


def test_pause_and_resume_forms_refuse_bad_input(client, world, clock):
    clock.set(TODAY)
    review = _review(world, "Child Q", aware_on=date(2026, 11, 27))
    login(client, world.user("qa_member"))
    form = client.get(f"/reviews/{review.id}/pauses/new?clock=notification").get_data(as_text=True)
    assert "Notification to the National Panel" in form and "Rapid review" in form
    refused = client.post(f"/reviews/{review.id}/pauses/new", data={"paused_on-day": "x"})
    assert refused.status_code == 400
    text = refused.get_data(as_text=True)
    assert "Choose a clock this review runs" in text and "paused" in text and "Enter why the clock is paused" in text
    not_started = client.post(
        f"/reviews/{review.id}/pauses/new",
        data={"clock": "rapid_review", "paused_on-day": "30", "paused_on-month": "11", "paused_on-year": "2026",
              "reason": "Police"},
    )  # fmt: skip
    assert not_started.status_code == 400 and "has not started" in not_started.get_data(as_text=True)
    with system_actor("test:setup"):
        pause = services.pause_clock(review, "notification", date(2026, 11, 30), "Police", by=None)
        db.session.commit()
    refused = client.post(
        f"/reviews/{review.id}/pauses/{pause.id}/resume",
        data={"resumed_on-day": "1", "resumed_on-month": "12", "resumed_on-year": "2026"},
    )
    assert refused.status_code == 400 and "today or in the past" in refused.get_data(as_text=True)
    other = _review(world, "Child Z")
    assert client.get(f"/reviews/{other.id}/pauses/{pause.id}/resume").status_code == 404


def test_the_home_page_lists_clocks_for_the_qa_group_only(client, world, clock):
    clock.set(TODAY)
    _review(world, "Child L", aware_on=date(2026, 11, 16))
    login(client, world.user("qa_member"))
    home = client.get("/").get_data(as_text=True)
    part = home.split('id="review-clocks"')[1]
    assert "Rapid review: Child L" in part and "Overdue" in part
    login(client, world.user("agency_lead"))
    assert 'id="review-clocks"' not in client.get("/").get_data(as_text=True)
