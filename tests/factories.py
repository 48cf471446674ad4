"""Test factories: small callables that build through the real services.

Every test module builds its partnerships, people, questionnaires, rounds and
answers here, so a rule a service enforces (a sector's key, one return per
round and agency, an answer's scale level) also holds for test data. The
factories flush and leave committing to the caller, except where a fixture
has always committed (``build_world``, ``api_token``).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa

from audit_app.accounts import services as accounts
from audit_app.accounts.models import Partnership, PartnershipAgency, Role, Sector, User
from audit_app.actions import services as action_services
from audit_app.actions.models import Action, Recommendation
from audit_app.case_audits import services as case_services
from audit_app.core.audit import system_actor
from audit_app.extensions import db
from audit_app.questionnaires import services as questionnaires
from audit_app.questionnaires.models import QuestionnaireKind, QuestionnaireVersion, QuestionType
from audit_app.rounds import services as rounds
from audit_app.rounds.models import Return, Round, RoundStatus

PASSWORD = "correct-horse-battery"
SETUP = "test:setup"  # the audit trail's actor for everything a factory builds

_numbers = itertools.count(1)


def _unique(prefix: str) -> str:
    return f"{prefix}-{next(_numbers)}"


# -- partnerships, agencies, people --


def make_partnership(name: str | None = None) -> Partnership:
    """A partnership with the default sectors and QA group."""
    with system_actor(SETUP):
        return accounts.create_partnership(name or _unique("Test Partnership"))


def sector(partnership_id: int, key: str) -> Sector:
    """The partnership's sector ``key`` (police, health, social_care, ...)."""
    return db.session.scalar(sa.select(Sector).where(Sector.partnership_id == partnership_id, Sector.key == key))


def make_agency(partnership_id: int, name: str | None = None, *, sector_key: str = "police") -> PartnershipAgency:
    """An agency of the partnership, in the sector ``sector_key``."""
    with system_actor(SETUP):
        return accounts.create_agency(partnership_id, name or _unique("Agency"), sector(partnership_id, sector_key))


def make_user(
    partnership_id: int,
    role: Role,
    *,
    email: str | None = None,
    agency_id: int | None = None,
    agency: PartnershipAgency | None = None,
    name: str | None = None,
) -> User:
    """A user with ``role`` in the partnership (and ``agency``, for agency roles), password ``PASSWORD``."""
    email = email or f"{_unique(role.value)}@test.example.org"
    if agency is not None:
        agency_id = agency.agency_id
    user, _ = accounts.create_user(
        partnership_id,
        email=email,
        name=name or email.split("@")[0].title(),
        role=role,
        agency_id=agency_id,
        password=PASSWORD,
    )
    return user


def api_token(user: User, partnership_id: int | None = None, name: str = "test") -> str:
    """A committed API token's secret for ``user`` in the partnership (their first by default)."""
    pid = partnership_id or user.memberships[0].partnership_id
    with system_actor(SETUP):
        _, secret = accounts.create_api_token(user, pid, name)
        db.session.commit()
    return secret


@dataclass
class World:
    """Two partnerships with agencies and one user per role, for access tests."""

    partnership: Partnership
    other_partnership: Partnership
    police: PartnershipAgency
    health: PartnershipAgency
    other_agency: PartnershipAgency
    users: dict[str, User]

    def user(self, name: str) -> User:
        return self.users[name]


#: the World's people: name -> (partnership "north"/"south", role, email, agency "police"/None)
WORLD_USERS: dict[str, tuple[str, Role, str, str | None]] = {
    "admin": ("north", Role.ADMIN, "admin@north.example.org", None),
    "qa_member": ("north", Role.QA_MEMBER, "qa@north.example.org", None),
    "agency_lead": ("north", Role.AGENCY_LEAD, "lead@north.example.org", "police"),
    "auditor": ("north", Role.AUDITOR, "auditor@north.example.org", "police"),
    "scrutineer": ("north", Role.SCRUTINEER, "scrutineer@north.example.org", None),
    "other_admin": ("south", Role.ADMIN, "admin@south.example.org", None),
}


def build_world() -> World:
    """North (police, hospital; one user per role) and South (a council, an admin), committed."""
    with system_actor(SETUP):
        north = accounts.create_partnership("North Test Partnership")
        south = accounts.create_partnership("South Test Partnership")
        police = accounts.create_agency(north.id, "North Police", sector(north.id, "police"))
        health = accounts.create_agency(north.id, "North Hospital", sector(north.id, "health"))
        other = accounts.create_agency(south.id, "South Council", sector(south.id, "social_care"))
        places = {"north": north, "south": south}
        agencies = {"police": police}
        users = {
            name: make_user(
                places[where].id, role, email=email, agency_id=agencies[agency].agency_id if agency else None
            )
            for name, (where, role, email, agency) in WORLD_USERS.items()
        }
        db.session.commit()
    return World(north, south, police, health, other, users)


def load_world(ids: dict[str, Any]) -> World:
    """The World whose ids ``world_ids`` gave, loaded in the current session."""
    get = db.session.get
    return World(
        get(Partnership, ids["partnership"]),
        get(Partnership, ids["other_partnership"]),
        get(PartnershipAgency, ids["police"]),
        get(PartnershipAgency, ids["health"]),
        get(PartnershipAgency, ids["other_agency"]),
        {name: get(User, user_id) for name, user_id in ids["users"].items()},
    )


def world_ids(world: World) -> dict[str, Any]:
    """Plain ids for ``world``, to load it again in another session (see ``load_world``)."""
    return {
        "partnership": world.partnership.id,
        "other_partnership": world.other_partnership.id,
        "police": world.police.id,
        "health": world.health.id,
        "other_agency": world.other_agency.id,
        "users": {name: user.id for name, user in world.users.items()},
    }


# -- questionnaires, rounds, returns --


def library_spec(key: str) -> dict[str, Any]:
    """The shipped library questionnaire ``key`` as a spec."""
    return next(item["data"] for item in questionnaires.library() if item["key"] == key)


def _library_key_of(kind: QuestionnaireKind) -> str:
    return next(item["key"] for item in questionnaires.library() if item["kind"] == kind)


def make_questionnaire(
    partnership_id: int,
    spec: dict[str, Any] | None = None,
    *,
    library_key: str | None = None,
    key: str | None = None,
    publish: bool = True,
) -> QuestionnaireVersion:
    """A questionnaire version imported from ``spec`` or the library's ``library_key`` (published by default)."""
    if (spec is None) == (library_key is None):
        raise TypeError("give a spec or a library_key")
    data = spec if spec is not None else library_spec(library_key)  # type: ignore[arg-type]
    with system_actor(SETUP):
        return questionnaires.import_questionnaire(partnership_id, data, key=key, publish=publish)


def _agency_id(agency: PartnershipAgency | int) -> int:
    return agency if isinstance(agency, int) else agency.agency_id


def make_round(
    partnership_id: int,
    *,
    version: QuestionnaireVersion | None = None,
    kind: QuestionnaireKind | str = QuestionnaireKind.CASE_AUDIT,
    title: str = "Test round",
    agencies: Iterable[PartnershipAgency | int] = (),
    cases: int | Iterable[str] = 0,
    status: RoundStatus = RoundStatus.PLANNING,
    **plan: Any,
) -> Round:
    """A round of ``version`` (or of the library's first questionnaire of ``kind``), moved to ``status``.

    Case audits get ``cases`` (a number, or references), each audited by every
    one of ``agencies``; other kinds are sent to ``agencies`` themselves.
    """
    kind = QuestionnaireKind(kind)
    if version is None:
        version = make_questionnaire(partnership_id, library_key=_library_key_of(kind))
    agency_ids = [_agency_id(a) for a in agencies]
    references = [f"CS-{n + 1}" for n in range(cases)] if isinstance(cases, int) else list(cases)
    with system_actor(SETUP):
        if version.questionnaire.kind == QuestionnaireKind.CASE_AUDIT:
            round_ = rounds.plan_round(partnership_id, title=title, version=version, opens_on=None, due_on=None, **plan)
            for reference in references:
                case_services.add_case(round_, agency_ids=agency_ids, reference=reference)
        else:
            round_ = rounds.plan_round(
                partnership_id,
                title=title,
                version=version,
                opens_on=None,
                due_on=None,
                agency_ids=agency_ids,
                **plan,
            )
        path = [RoundStatus.OPEN, RoundStatus.CLOSED, RoundStatus.IN_DISCUSSION, RoundStatus.REPORTED]
        for step in path[: path.index(status) + 1] if status in path else []:
            rounds.move_round(round_, step)
    return round_


def returns_of(round_: Round) -> list[Return]:
    """The round's returns, by agency then case."""
    return list(
        db.session.scalars(
            sa.select(Return).where(Return.round_id == round_.id).order_by(Return.agency_id, Return.round_case_id)
        )
    )


def valid_answers(ret: Return, limit: int | None = None) -> dict[str, Any]:
    """A valid answer to each question the return asks (the first ``limit`` of them)."""
    answers: dict[str, Any] = {}
    for question in rounds.applicable_questions(ret)[:limit]:
        if question.type == QuestionType.SCALE:
            answers[question.key] = question.scale.levels[0].label
        elif question.type == QuestionType.SINGLE_CHOICE:
            # never the answer that raises an immediate concern (that emails the QA group): say so on purpose
            answers[question.key] = next(o for o in question.options if o not in question.concern_values)
        elif question.type == QuestionType.MULTIPLE_CHOICE:
            answers[question.key] = question.options[:2]
        elif question.type == QuestionType.NUMBER:
            answers[question.key] = "3"
        elif question.type == QuestionType.DATE:
            answers[question.key] = "2026-03-01"
        else:
            answers[question.key] = "Seen and recorded"
    return answers


def make_return_answered(
    ret: Return, by: User, *, answers: dict[str, Any] | None = None, limit: int | None = None, submit: bool = False
) -> Return:
    """Save ``answers`` (default: a valid answer to every question) on an open round's return; submit if asked."""
    with system_actor(SETUP):
        rounds.save_answers(
            ret, answers if answers is not None else valid_answers(ret, limit), by=by, expected_version=ret.lock_version
        )
        if submit:
            rounds.submit_return(ret, by=by, as_lead=True)
    return ret


# -- recommendations and actions --


def make_recommendation(
    partnership_id: int,
    text: str = "Review how strategy discussions include health.",
    *,
    round_: Round | None = None,
    description: str = "Board challenge",
    agencies: Iterable[PartnershipAgency | int] = (),
    themes: Iterable[str] = (),
) -> Recommendation:
    """A recommendation of ``round_``, or of another source described as ``description``."""
    with system_actor(SETUP):
        return action_services.create_recommendation(
            partnership_id,
            action_services.RecommendationIn(
                source="round" if round_ is not None else "other",
                round_id=round_.id if round_ is not None else None,
                source_description="" if round_ is not None else description,
                text=text,
                agency_ids=[_agency_id(a) for a in agencies],
                themes=list(themes),
            ),
        )


def make_action(
    rec: Recommendation,
    title: str = "Add health to the strategy discussion invitation list",
    *,
    owner: User | None = None,
    owner_name: str = "",
    agency: PartnershipAgency | int | None = None,
    due_on: date | None = None,
) -> Action:
    """An action under ``rec``, owned by ``owner`` (or a named person), due in a month unless ``due_on``."""
    from audit_app.core import clock

    with system_actor(SETUP):
        return action_services.add_action(
            rec,
            action_services.ActionIn(
                title=title,
                owner_user_id=owner.id if owner is not None else None,
                owner_name="" if owner is not None else (owner_name or "Named Person"),
                owner_agency_id=_agency_id(agency) if agency is not None else None,
                due_on=due_on or clock.today() + timedelta(days=30),
            ),
        )


def principal_of(user: User, partnership_id: int):
    """The principal ``user`` acts as in ``partnership_id`` (as a signed-in request builds it)."""
    from audit_app.accounts.session import principal_for

    return principal_for(user.id, partnership_id)
