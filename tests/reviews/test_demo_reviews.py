"""The demo's register of learning reviews: about a dozen reviews over three reporting years, in every type,
decision and publication state, with clocks met, missed, running, due soon, overdue and paused, whatever the day."""

from __future__ import annotations

from collections import Counter
from datetime import date

import sqlalchemy as sa

from audit_app.accounts.demo import PARTNERSHIP
from audit_app.accounts.models import Partnership
from audit_app.core import clock as app_clock
from audit_app.extensions import db
from audit_app.reporting.review_aggregation import reporting_year, start_date
from audit_app.reviews.clocks import ClockState, review_clocks
from audit_app.reviews.models import LearningReview, PublicationState, ReviewDecision, ReviewStatus, ReviewType


def test_the_demo_loads_a_register_in_every_state(app, db_session, clock):
    clock.set(date(2027, 2, 10))  # any day: the register counts back from it
    result = app.test_cli_runner().invoke(args=["demo", "load"])
    assert result.exit_code == 0, result.output
    north = db.session.scalar(sa.select(Partnership).where(Partnership.name == PARTNERSHIP))
    reviews = db.session.scalars(sa.select(LearningReview).where(LearningReview.partnership_id == north.id)).all()
    assert 12 <= len(reviews) <= 16
    assert {r.review_type for r in reviews} == set(ReviewType)
    assert {r.status for r in reviews} == set(ReviewStatus)
    assert {r.decision for r in reviews if r.decision} == set(ReviewDecision)
    assert {r.publication_state for r in reviews} == set(PublicationState)
    years = {reporting_year(start_date(_row(r))) for r in reviews}
    assert len(years) >= 3
    states = Counter(c.state for r in reviews for c in review_clocks(r, app_clock.today()))
    for state in (
        ClockState.MET,
        ClockState.MISSED,
        ClockState.DUE_SOON,
        ClockState.OVERDUE,
        ClockState.PAUSED,
        ClockState.RUNNING,
    ):
        assert states[state] >= 1, state
    assert all(r.learning_points for r in reviews if r.status == ReviewStatus.COMPLETED)
    assert all(p.themes for r in reviews for p in r.learning_points)
    # loading again adds nothing
    again = app.test_cli_runner().invoke(args=["demo", "load"])
    assert again.exit_code == 0, again.output
    assert db.session.scalar(
        sa.select(sa.func.count()).select_from(LearningReview).where(LearningReview.partnership_id == north.id)
    ) == len(reviews)


def _row(review: LearningReview):
    class Row:
        aware_on = review.aware_on
        decided_on = review.decided_on
        created_on = review.created_at.date()

    return Row
