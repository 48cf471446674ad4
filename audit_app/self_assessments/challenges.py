"""Challenge events: the partnership meets an agency to challenge its self-assessment, records who came, what
was asked and what was agreed, and turns what was agreed into actions on the composite plan.

Services flush and leave the commit to the view; every refusal names each field at fault at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from ..actions import services as actions
from ..actions.models import Action, Recommendation, SourceKind
from ..core import clock
from ..core.errors import FieldErrors
from ..extensions import db
from ..questionnaires import learning_themes_tags as tags
from ..questionnaires.models import LearningTheme
from ..rounds.models import Return, Round
from ..rounds.services import linked_agency_ids
from .models import ChallengeEvent

TEXT_LIMIT = 5000


@dataclass
class ChallengeIn:
    """A challenge event as given (page or API)."""

    agency_id: int | None = None
    held_on: date | None = None
    attendees: str = ""
    questions: str = ""
    agreed: str = ""
    #: the learning themes of what was agreed; None keeps the event's themes
    learning_theme_ids: list[int] | None = None


def challengeable_agency_ids(round_: Round, partnership_id: int) -> set[int]:
    """The agencies a partnership may challenge in a round: its own agencies with a return in it."""
    asked = set(db.session.scalars(sa.select(Return.agency_id).where(Return.round_id == round_.id)))
    return asked & linked_agency_ids(partnership_id)


def _checked(
    round_: Round,
    partnership_id: int,
    given: ChallengeIn,
    *,
    agency_fixed: bool,
    current: list[LearningTheme] | None = None,
) -> dict[str, object]:
    problems: dict[str, list[str]] = {}

    def text(name: str, value: str, label: str, *, required: bool) -> str:
        value = (value or "").strip()
        if required and not value:
            problems.setdefault(name, []).append(f"Enter {label}")
        elif len(value) > TEXT_LIMIT:
            problems.setdefault(name, []).append(
                f"{label[0].upper()}{label[1:]} must be {TEXT_LIMIT:,} characters or fewer"
            )
        return value

    if not agency_fixed:
        if given.agency_id is None:
            problems.setdefault("agency_id", []).append("Choose the agency challenged")
        elif given.agency_id not in challengeable_agency_ids(round_, partnership_id):
            problems.setdefault("agency_id", []).append(
                "Choose an agency of this partnership asked to return to the round"
            )
    if given.held_on is None:
        problems.setdefault("held_on", []).append("Enter the date the challenge event was held, as day, month and year")
    elif given.held_on > clock.today():
        problems.setdefault("held_on", []).append("The date the challenge event was held must be today or in the past")
    values = {
        "attendees": text("attendees", given.attendees, "who attended", required=True),
        "questions": text("questions", given.questions, "the questions asked", required=True),
        "agreed": text("agreed", given.agreed, "what was agreed", required=False),
        "held_on": given.held_on,
    }
    if given.learning_theme_ids is not None:
        themes, theme_problems = tags.chosen_themes(partnership_id, given.learning_theme_ids, current or [])
        if theme_problems:
            problems.setdefault(tags.FIELD, []).extend(theme_problems)
        values["themes"] = themes
    if problems:
        raise FieldErrors(problems, "challenge event")
    return values


def record_challenge(round_: Round, partnership_id: int, given: ChallengeIn, *, by: int | None) -> ChallengeEvent:
    """Record a challenge event with one of the partnership's agencies in the round."""
    values = _checked(round_, partnership_id, given, agency_fixed=False)
    themes = values.pop("themes", None)
    event = ChallengeEvent(
        partnership_id=partnership_id, round_id=round_.id, agency_id=given.agency_id, recorded_by_id=by, **values
    )
    db.session.add(event)
    db.session.flush()
    if themes is not None:
        tags.set_themes(event, themes, partnership_id=partnership_id)
    return event


def update_challenge(event: ChallengeEvent, given: ChallengeIn) -> ChallengeEvent:
    """Change the date, attendees, questions, what was agreed or its learning themes (the agency stays)."""
    checked = _checked(event.round, event.partnership_id, given, agency_fixed=True, current=list(event.themes))
    themes = checked.pop("themes", None)
    for name, value in checked.items():
        setattr(event, name, value)
    if themes is not None:
        tags.set_themes(event, themes, partnership_id=event.partnership_id)
    db.session.flush()
    return event


def delete_challenge(event: ChallengeEvent) -> None:
    """Delete a challenge event recorded by mistake; the actions it created stay on the plan."""
    db.session.delete(event)
    db.session.flush()


def agree_action(
    event: ChallengeEvent, recommendation_text: str, given: actions.ActionIn
) -> tuple[Recommendation, Action]:
    """Turn what a challenge event agreed into a recommendation of its round, addressed to the agency, with
    its first action: both on the composite action plan under the round. Every bad field is named at once."""
    action_problems = actions.new_action_problems(event.partnership_id, given)
    recommendation_problems: dict[str, list[str]] = {}
    try:
        with db.session.begin_nested():  # undone if the action is refused: nothing half-saved
            rec = actions.create_recommendation(
                event.partnership_id,
                actions.RecommendationIn(
                    source=SourceKind.ROUND.value,
                    round_id=event.round_id,
                    text=recommendation_text,
                    agency_ids=[event.agency_id],
                ),
            )
            if action_problems:
                raise FieldErrors(action_problems, "action")
    except FieldErrors as error:
        if error.fields is not action_problems:
            recommendation_problems = error.fields
    if recommendation_problems or action_problems:
        raise FieldErrors({**recommendation_problems, **action_problems}, "fields")
    action = actions.add_action(rec, given)
    event.recommendations.append(rec)
    db.session.flush()
    return rec, action


def challenges_of(round_id: int, partnership_id: int, agency_ids: frozenset[int] | None) -> list[ChallengeEvent]:
    """A round's challenge events held by a partnership (with ``agency_ids``, those agencies' only), by date."""
    query = sa.select(ChallengeEvent).where(
        ChallengeEvent.round_id == round_id, ChallengeEvent.partnership_id == partnership_id
    )
    if agency_ids is not None:
        query = query.where(ChallengeEvent.agency_id.in_(agency_ids or {-1}))
    return list(db.session.scalars(query.order_by(ChallengeEvent.held_on.desc(), ChallengeEvent.id.desc())))
