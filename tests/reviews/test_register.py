"""The review register's services: every bad field named at once, the pseudonym rule against a table of
accepted and refused examples, publication, and pausing and resuming clocks (due dates move; the page shows
them)."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from audit_app.core.audit import system_actor
from audit_app.core.errors import FieldErrors
from audit_app.extensions import db
from audit_app.reviews import services
from audit_app.reviews.clocks import ClockState, review_clocks
from audit_app.reviews.models import ClockKind, ClockPause, LearningReview, PublicationState, ReviewType
from audit_app.reviews.pseudonyms import pseudonym_problem
from tests.conftest import login

#: Wednesday 18 March 2026 (no bank holiday in March 2026; Good Friday is 3 April)
TODAY = date(2026, 3, 18)

ACCEPTED = [
    "Child K",
    "Baby Y",
    "Child Q and Child R",
    "Jayden",
    "Jayden and Kai",
    "Thematic review: neglect in adolescents",
    "Thematic Review: Neglect In Adolescents",
    "Young person M",
    "Siblings A and B",
    "Children A, B and C",
    "Family T",
    "Adult D and Child E",
    "child k",
    "YP J",
    "Child K (2024)",
    "Operation Sapphire",
    # a place is refused as a name ("North Yorkshire"): the refusal says to write its later words in lower case
    "North yorkshire thematic review",
    "Review of sudden unexpected deaths in infancy",
]
REFUSED_NAME = ["John Smith", "SMITH, John", "J. Smith", "J Smith", "Aaliyah O'Neill", "Mary-Jane Watson", "Zoë Müller"]
REFUSED_DATE = [
    "Child K 03/04/2019",
    "Child K 3 April 2019",
    "Child K 3rd Apr",
    "Child K April 3",
    "Child K 2019-04-03",
    "Child 03042019",
    "Child 20190403",
    "Child K DOB",
    "Child K d.o.b.",
    "Baby Y born in the spring",
]


@pytest.mark.parametrize("text", ACCEPTED)
def test_pseudonyms_that_name_nobody_are_accepted(text):
    assert pseudonym_problem(text) is None


@pytest.mark.parametrize("text", REFUSED_NAME)
def test_a_pseudonym_like_a_full_name_is_refused_with_an_explanation(text):
    problem = pseudonym_problem(text)
    assert problem is not None and "looks like a person's full name" in problem and "Child K" in problem


@pytest.mark.parametrize("text", REFUSED_DATE)
def test_a_pseudonym_holding_a_date_of_birth_is_refused(text):
    problem = pseudonym_problem(text)
    assert problem is not None and "date" in problem


@pytest.mark.parametrize(
    ("text", "words"),
    [("", "Enter the pseudonym"), ("Child K\nJohn", "one line"), ("Child " + "K" * 80, "80 characters")],
)
def test_blank_long_and_multi_line_pseudonyms_are_refused(text, words):
    assert words in pseudonym_problem(text)


def _review(world, **fields) -> LearningReview:
    values = {"review_type": ReviewType.RAPID_REVIEW.value, "pseudonym": "Child K"} | fields
    with system_actor("test:setup"):
        review = services.create_review(world.partnership.id, services.ReviewIn(**values), by=None)
        db.session.commit()
    return review


def test_every_bad_field_is_named_at_once(world, clock):
    clock.set(TODAY)
    _review(world, pseudonym="Child A")
    with pytest.raises(FieldErrors) as refused:
        services.create_review(
            world.partnership.id,
            services.ReviewIn(
                review_type="inquiry",
                pseudonym="John Smith",
                summary="x" * 5001,
                aware_on=date(2026, 3, 19),
                notified_on=date(2026, 3, 1),
                completed_on=date(2026, 3, 20),
                status="finished",
            ),
            by=None,
        )
    assert set(refused.value.fields) == {
        "review_type",
        "pseudonym",
        "summary",
        "aware_on",
        "notified_on",
        "completed_on",
        "status",
    }
    assert (
        "before" not in refused.value.fields["aware_on"][0]
        and "today or in the past" in refused.value.fields["aware_on"][0]
    )
    assert "on or after" in refused.value.fields["notified_on"][0]
    db.session.rollback()
    # the pseudonym is unique in the partnership, whatever the capitals; another partnership may use it
    with pytest.raises(FieldErrors) as taken:
        services.create_review(
            world.partnership.id, services.ReviewIn(review_type="lcspr", pseudonym="child a"), by=None
        )
    assert "Another review" in taken.value.fields["pseudonym"][0]
    db.session.rollback()
    with system_actor("test:setup"):
        services.create_review(
            world.other_partnership.id, services.ReviewIn(review_type="lcspr", pseudonym="Child A"), by=None
        )


def test_a_review_is_changed_and_its_panel_fields_are_left_alone(world, clock):
    clock.set(TODAY)
    review = _review(world, aware_on=date(2026, 3, 2))
    with system_actor("test:setup"):
        review.decision_rationale = "Set by the panel"
        db.session.commit()
        services.update_review(
            review,
            services.ReviewIn(
                review_type="rapid_review", pseudonym="Baby Y", aware_on=date(2026, 3, 2), notified_on=date(2026, 3, 6)
            ),
        )
        db.session.commit()
    assert review.pseudonym == "Baby Y" and review.notified_on == date(2026, 3, 6)
    assert review.decision_rationale == "Set by the panel"
    # the notification clock: aware Monday 2 March, due Monday 9 March, met Friday 6 March
    notification = review_clocks(review, TODAY)[0]
    assert notification.due_on == date(2026, 3, 9) and notification.state == ClockState.MET


def test_publication_rules(world, clock):
    clock.set(TODAY)
    review = _review(world)
    with pytest.raises(FieldErrors) as refused:
        services.set_publication(review, services.PublicationIn(state="awaiting_publication"))
    assert set(refused.value.fields) == {"publication_delay_reason"}
    with pytest.raises(FieldErrors) as refused:
        services.set_publication(
            review, services.PublicationIn(state="published", published_on=date(2026, 3, 19), published_url="ftp://x")
        )
    assert set(refused.value.fields) == {"published_on", "published_url"}
    with pytest.raises(FieldErrors) as refused:
        services.set_publication(review, services.PublicationIn(state="published"))
    assert set(refused.value.fields) == {"published_on", "published_url"}
    with pytest.raises(FieldErrors) as refused:
        services.set_publication(review, services.PublicationIn(state="secret"))
    assert set(refused.value.fields) == {"publication_state"}
    with system_actor("test:setup"):
        services.set_publication(
            review, services.PublicationIn(state="awaiting_publication", delay_reason="Criminal proceedings")
        )
        db.session.commit()
        assert review.publication_delay_reason == "Criminal proceedings"
        services.set_publication(
            review,
            services.PublicationIn(
                state="published", published_on=date(2026, 3, 10), published_url="https://example.org/child-k.pdf"
            ),
        )
        db.session.commit()
    assert review.publication_state == PublicationState.PUBLISHED and review.published_on == date(2026, 3, 10)
    with system_actor("test:setup"):
        services.set_publication(review, services.PublicationIn(state="draft"))
        db.session.commit()
    assert review.published_on is None and review.published_url == ""


def test_pause_rules(world, clock):
    clock.set(TODAY)
    # aware Monday 2 March, notified Monday 2 March: the rapid review clock runs from 2 March
    review = _review(world, aware_on=date(2026, 3, 2), notified_on=date(2026, 3, 2))
    # a clock the review does not run (a rapid review with no decision has no practice review clock), a clock
    # already met, and every other bad field at once
    with pytest.raises(FieldErrors) as refused:
        services.pause_clock(review, "practice_review", date(2026, 3, 19), " ", by=None)
    assert set(refused.value.fields) == {"clock", "paused_on", "reason"}
    with pytest.raises(FieldErrors) as refused:
        services.pause_clock(review, ClockKind.NOTIFICATION, date(2026, 3, 3), "Police enquiries", by=None)
    assert "was met" in refused.value.fields["clock"][0]
    with pytest.raises(FieldErrors) as refused:
        services.pause_clock(review, ClockKind.RAPID_REVIEW, date(2026, 3, 1), "Police enquiries", by=None)
    assert "on or after the day it started, 2 March 2026" in refused.value.fields["paused_on"][0]
    with system_actor("test:setup"):
        pause = services.pause_clock(
            review, ClockKind.RAPID_REVIEW, date(2026, 3, 9), "Criminal proceedings", by=world.user("qa_member").id
        )
        db.session.commit()
    with pytest.raises(FieldErrors) as refused:
        services.pause_clock(review, ClockKind.RAPID_REVIEW, date(2026, 3, 17), "Again", by=None)
    assert "already paused" in refused.value.fields["clock"][0]
    with pytest.raises(FieldErrors) as refused:
        services.resume_clock(pause, date(2026, 3, 8), by=None)
    assert "on or after the day it was paused" in refused.value.fields["resumed_on"][0]
    with pytest.raises(FieldErrors) as refused:
        services.resume_clock(pause, date(2026, 3, 19), by=None)
    assert "today or in the past" in refused.value.fields["resumed_on"][0]
    with system_actor("test:setup"):
        services.resume_clock(pause, date(2026, 3, 16), by=world.user("admin").id)
        db.session.commit()
    with pytest.raises(FieldErrors) as refused:
        services.resume_clock(pause, date(2026, 3, 16), by=None)
    assert "ended already" in refused.value.fields["pause"][0]
    # a new pause may not overlap the last one: it starts on or after 16 March
    with pytest.raises(FieldErrors) as refused:
        services.pause_clock(review, ClockKind.RAPID_REVIEW, date(2026, 3, 13), "Again", by=None)
    assert "16 March 2026" in refused.value.fields["paused_on"][0]
    with system_actor("test:setup"):
        services.pause_clock(review, ClockKind.RAPID_REVIEW, date(2026, 3, 16), "Inquest", by=None)
        db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ClockPause)) == 2


def test_a_pause_moves_the_due_date_on_the_review_page(client, world, clock):
    clock.set(TODAY)
    login(client, world.user("qa_member"))
    created = client.post(
        "/reviews/new",
        data={
            "review_type": "rapid_review",
            "pseudonym": "Child K",
            "aware_on-day": "27", "aware_on-month": "2", "aware_on-year": "2026",
            "notified_on-day": "2", "notified_on-month": "3", "notified_on-year": "2026",
            "status": "in_progress",
        },
    )  # fmt: skip
    assert created.status_code == 303, created.get_data(as_text=True)
    review = db.session.scalar(sa.select(LearningReview).where(LearningReview.pseudonym == "Child K"))
    page = client.get(f"/reviews/{review.id}").get_data(as_text=True)
    # notified Monday 2 March: 15 working days -> Monday 23 March
    assert "23 March 2026" in page and "Originally due" not in page
    paused = client.post(
        f"/reviews/{review.id}/pauses/new",
        data={"clock": "rapid_review", "paused_on-day": "9", "paused_on-month": "3", "paused_on-year": "2026",
              "reason": "Criminal proceedings"},
    )  # fmt: skip
    assert paused.status_code == 303
    page = client.get(f"/reviews/{review.id}").get_data(as_text=True)
    # still paused on Wednesday 18 March: 9 to 17 March, 7 working days -> Wednesday 1 April
    assert "1 April 2026" in page and "Originally due 23 March 2026" in page and "Paused" in page
    assert "Criminal proceedings" in page and "Still paused" in page
    pause = review.pauses[0]
    resumed = client.post(
        f"/reviews/{review.id}/pauses/{pause.id}/resume",
        data={"resumed_on-day": "16", "resumed_on-month": "3", "resumed_on-year": "2026"},
    )
    assert resumed.status_code == 303
    page = client.get(f"/reviews/{review.id}").get_data(as_text=True)
    # paused Monday 9 to Friday 13 March (5 working days): due Monday 30 March
    assert "30 March 2026" in page and "Originally due 23 March 2026" in page and "16 March 2026" in page
