"""A rapid review's panel meeting (date, who attended, the agencies present) and its decision (what was decided,
when, why, and the National Panel's response).

Recording "no further review" completes the review; commissioning a local child safeguarding practice review
starts the practice review clock (``clocks.py`` computes it from ``decided_on``). A decision can be corrected:
the audit trail keeps each version. Services flush and leave the commit to the view; every refusal names each
field at fault at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa

from ..accounts.models import Agency
from ..core import clock
from ..core.errors import FieldErrors, NotAllowedError
from ..extensions import db
from ..rounds.services import linked_agency_ids
from .models import LearningReview, PanelResponse, ReviewDecision, ReviewStatus, ReviewType

TEXT_LIMIT = 5000
NOT_RAPID = "Only a rapid review has a panel meeting and a decision recorded here"


def _fmt(d: date) -> str:
    return d.strftime("%-d %B %Y")


@dataclass
class PanelIn:
    """The panel meeting as given (page or API)."""

    met_on: date | None = None
    attendees: str = ""
    agency_ids: list[int] = field(default_factory=list)


@dataclass
class DecisionIn:
    """The decision as given (page or API): ``decision`` and ``panel_response`` are keys of their enums."""

    decision: str | None = None
    decided_on: date | None = None
    rationale: str = ""
    panel_response: str | None = None


def _check_rapid(review: LearningReview) -> None:
    if review.review_type != ReviewType.RAPID_REVIEW:
        raise NotAllowedError(NOT_RAPID)


def _text(problems: dict[str, list[str]], name: str, value: str, label: str) -> str:
    value = (value or "").strip()
    if not value:
        problems.setdefault(name, []).append(f"Enter {label}")
    elif len(value) > TEXT_LIMIT:
        problems.setdefault(name, []).append(
            f"{label[0].upper()}{label[1:]} must be {TEXT_LIMIT:,} characters or fewer"
        )
    return value


def panel_agency_choices(review: LearningReview) -> list[Agency]:
    """The agencies that may be recorded as present: the partnership's (active or not, as it was then)."""
    ids = linked_agency_ids(review.partnership_id)
    return list(
        db.session.scalars(sa.select(Agency).where(Agency.id.in_(ids or {-1})).order_by(sa.func.lower(Agency.name)))
    )


def record_panel(review: LearningReview, given: PanelIn) -> None:
    """Record (or correct) the panel meeting: its date, who attended and the agencies present."""
    _check_rapid(review)
    problems: dict[str, list[str]] = {}
    met_on = given.met_on
    started = review.notified_on or review.aware_on
    if met_on is None:
        problems["met_on"] = ["Enter the date the panel met, as day, month and year"]
    elif met_on > clock.today():
        problems["met_on"] = ["The date the panel met must be today or in the past"]
    elif started is not None and met_on < started:
        what = "the National Panel was notified" if review.notified_on else "the local authority became aware"
        problems["met_on"] = [f"The date the panel met must be on or after the day {what} ({_fmt(started)})"]
    elif review.decided_on is not None and met_on > review.decided_on:
        problems["met_on"] = [f"The date the panel met must be on or before the decision ({_fmt(review.decided_on)})"]
    attendees = _text(problems, "attendees", given.attendees, "who attended")
    agency_ids = set(given.agency_ids)
    if not agency_ids:
        problems["agency_ids"] = ["Choose the agencies present"]
    elif agency_ids - linked_agency_ids(review.partnership_id):
        problems["agency_ids"] = ["Choose agencies of this partnership only"]
    if problems:
        raise FieldErrors(problems, "fields")
    review.panel_met_on = met_on
    review.panel_attendees = "\n".join(line.strip() for line in attendees.splitlines() if line.strip())
    review.panel_agencies = list(db.session.scalars(sa.select(Agency).where(Agency.id.in_(agency_ids))))
    db.session.flush()


def _enum(problems: dict[str, list[str]], name: str, raw: str | None, enum_cls, message: str, *, required: bool):
    if raw in (None, ""):
        if required:
            problems[name] = [message]
        return None
    try:
        return enum_cls(raw)
    except ValueError:
        problems[name] = [message]
        return None


def record_decision(review: LearningReview, given: DecisionIn) -> None:
    """Record (or correct) the decision. "No further review" completes the review; changing away from it puts
    the review back in progress."""
    _check_rapid(review)
    problems: dict[str, list[str]] = {}
    decision = _enum(problems, "decision", given.decision, ReviewDecision, "Choose what was decided", required=True)
    response = _enum(
        problems,
        "panel_response",
        given.panel_response,
        PanelResponse,
        "Choose the National Panel's response, or leave it blank",
        required=False,
    )
    decided_on = given.decided_on
    if decided_on is None:
        problems["decided_on"] = ["Enter the date of the decision, as day, month and year"]
    elif decided_on > clock.today():
        problems["decided_on"] = ["The date of the decision must be today or in the past"]
    elif review.panel_met_on is not None and decided_on < review.panel_met_on:
        problems["decided_on"] = [
            f"The date of the decision must be on or after the panel met ({_fmt(review.panel_met_on)})"
        ]
    elif review.notified_on is not None and decided_on < review.notified_on:
        problems["decided_on"] = [
            f"The date of the decision must be on or after the National Panel was notified ({_fmt(review.notified_on)})"
        ]
    rationale = _text(problems, "rationale", given.rationale, "the reasons for the decision")
    if problems:
        raise FieldErrors(problems, "fields")
    was = review.decision
    review.decision = decision
    review.decided_on = decided_on
    review.decision_rationale = rationale
    review.panel_response = response
    if decision == ReviewDecision.NO_FURTHER_REVIEW:
        review.status = ReviewStatus.COMPLETED
    elif was == ReviewDecision.NO_FURTHER_REVIEW and review.status == ReviewStatus.COMPLETED:
        review.status = ReviewStatus.IN_PROGRESS
    db.session.flush()
