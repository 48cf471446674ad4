"""Clock reminders to the QA group and admins: once when a clock is due within 3 working days, once when it
becomes overdue, again only for a new due date; nothing for a paused clock; from the daily reminders."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from audit_app.core.audit import system_actor
from audit_app.core.reminders import send_daily_reminders
from audit_app.extensions import db
from audit_app.reviews import services
from audit_app.reviews.models import ReviewReminder


def _to(message) -> set[str]:
    return set(message["To"].split(", "))


def test_a_clock_is_reminded_about_once_due_soon_and_once_overdue(world, mailbox, clock, app):
    clock.set(date(2026, 3, 2))
    with system_actor("test:setup"):
        # aware Monday 2 March 2026: notification due Monday 9 March
        review = services.create_review(
            world.partnership.id,
            services.ReviewIn(review_type="rapid_review", pseudonym="Child K", aware_on=date(2026, 3, 2)),
            by=None,
        )
        db.session.commit()
    with app.test_request_context():
        # Tuesday 3 March: 4 working days left, not yet
        clock.set(date(2026, 3, 3))
        assert send_daily_reminders(date(2026, 3, 3)) == [] or not mailbox
        assert mailbox == []
        # Wednesday 4 March: 3 working days left
        clock.set(date(2026, 3, 4))
        lines = send_daily_reminders(date(2026, 3, 4))
    assert len(mailbox) == 1
    message = mailbox[0]
    assert _to(message) == {"qa@north.example.org", "admin@north.example.org"}
    assert " ".join(message["Subject"].split()) == (
        "Due 9 March 2026: Notification to the National Panel clock of Rapid review: Child K"
    )
    body = message.get_content()
    assert "due in 3 working days, on 9 March 2026" in body and f"/reviews/{review.id}" in body
    assert any("1 clock(s) due soon and 0 overdue" in line for line in lines)
    mailbox.clear()
    with app.test_request_context():
        for day in (5, 6, 9):  # still due soon, then due today: nothing more
            clock.set(date(2026, 3, day))
            send_daily_reminders(date(2026, 3, day))
        assert mailbox == []
        clock.set(date(2026, 3, 10))
        send_daily_reminders(date(2026, 3, 10))
        assert len(mailbox) == 1 and "Overdue: Notification to the National Panel" in mailbox[0]["Subject"]
        assert "1 working day overdue" in mailbox[0].get_content()
        clock.set(date(2026, 3, 11))
        send_daily_reminders(date(2026, 3, 11))
    assert len(mailbox) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReviewReminder)) == 2


def test_a_paused_clock_is_not_reminded_and_a_new_due_date_is(world, mailbox, clock, app):
    clock.set(date(2026, 3, 4))
    with system_actor("test:setup"):
        review = services.create_review(
            world.partnership.id,
            services.ReviewIn(review_type="rapid_review", pseudonym="Child P", aware_on=date(2026, 3, 2)),
            by=None,
        )
        pause = services.pause_clock(review, "notification", date(2026, 3, 3), "Police enquiries", by=None)
        db.session.commit()
    with app.test_request_context():
        send_daily_reminders(date(2026, 3, 4))
        assert mailbox == []
        # resumed Wednesday 11 March: paused 3 to 10 March (6 working days), due Tuesday 17 March
        clock.set(date(2026, 3, 12))
        with system_actor("test:setup"):
            services.resume_clock(pause, date(2026, 3, 11), by=None)
            db.session.commit()
        clock.set(date(2026, 3, 12))  # Thursday: 3 working days left
        send_daily_reminders(date(2026, 3, 12))
    assert len(mailbox) == 1 and "Due 17 March 2026" in mailbox[0]["Subject"]
    assert "first due 9 March 2026; pauses moved it" in mailbox[0].get_content()
