"""Two people saving the same return at once: the second save is refused and the first is kept;
many requests racing to create or move one thing: one wins, the rest get a 409, never a 500.

Runs on its own committed database (a fresh PostgreSQL database beside
TEST_DATABASE_URL in CI, or a temporary SQLite file), with two real sessions
on two connections, as two web requests would have.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade

from audit_app.accounts import services as accounts
from audit_app.accounts.models import Agency, Membership, PartnershipAgency, Role, Sector, User
from audit_app.case_audits import services as case_services
from audit_app.case_audits.models import Case, RoundCase
from audit_app.core.audit import system_actor
from audit_app.core.errors import ConflictError
from audit_app.extensions import db
from audit_app.questionnaires import services as questionnaires
from audit_app.rounds import services
from audit_app.rounds.models import Return, ReturnEvent, ReturnStatus, RoundStatus
from tests.conftest import own_database
from tests.questionnaires.test_questionnaire_spec import EXAMPLE


@contextmanager
def _committed_app(tmp_path: Path, suffix: str) -> Iterator[Flask]:
    """An app on a fresh database of its own, upgraded to head, whose commits are real."""
    with own_database(tmp_path, suffix) as app:
        with app.app_context():
            upgrade()
        yield app


@pytest.fixture()
def committed_app(tmp_path: Path) -> Iterator[Flask]:
    with _committed_app(tmp_path, "locking") as app:
        yield app


def _open_return_for_two(app: Flask, name: str) -> tuple[int, int, int]:
    """An open round with one police return, and two people of the police who may edit it."""
    with app.app_context(), system_actor("test:setup"):
        partnership = accounts.create_partnership(f"{name} SCP")
        sector = db.session.scalar(
            sa.select(Sector).where(Sector.partnership_id == partnership.id, Sector.key == "police")
        )
        police = accounts.create_agency(partnership.id, f"{name} Police", sector)
        people = [
            accounts.create_user(
                partnership.id,
                email=f"{n}.{name.lower()}@lock.example.org",
                name=f"Person {n}",
                role=role,
                agency_id=police.agency_id,
                password=f"a-long-password-{n}",
            )[0]
            for n, role in ((1, Role.AUDITOR), (2, Role.AGENCY_LEAD))
        ]
        version = questionnaires.import_questionnaire(partnership.id, EXAMPLE, publish=True)
        round_ = services.plan_round(partnership.id, title="R", version=version, opens_on=None, due_on=None)
        case_services.add_case(round_, agency_ids=[police.agency_id], reference="CS-1")
        services.move_round(round_, RoundStatus.OPEN)
        db.session.commit()
        return db.session.scalar(sa.select(Return.id)), people[0].id, people[1].id


def test_the_second_of_two_simultaneous_saves_is_refused(committed_app: Flask):
    app = committed_app
    return_id, first_id, second_id = _open_return_for_two(app, "Locking")

    # Person one opens the return's page: the form carries the version they saw.
    with app.app_context():
        opened_at_version = db.session.get(Return, return_id).lock_version
    # Person two opens it too and saves first.
    with app.app_context():
        theirs = db.session.get(Return, return_id)
        two = db.session.get(User, second_id)
        services.save_answers(theirs, {"signs_recognised": "Yes"}, by=two, expected_version=theirs.lock_version)
        db.session.commit()
    # Person one saves from the page they opened before: refused, nothing of theirs written.
    with app.app_context():
        mine = db.session.get(Return, return_id)
        with pytest.raises(ConflictError, match="Someone else saved this return"):
            services.save_answers(
                mine, {"signs_recognised": "No"}, by=db.session.get(User, first_id), expected_version=opened_at_version
            )
        db.session.rollback()
    with app.app_context():
        kept = db.session.get(Return, return_id)
        assert {a.question.key: a.value for a in kept.answers} == {"signs_recognised": "Yes"}
        assert kept.lock_version > opened_at_version


@pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="two open transactions at once need PostgreSQL")
def test_two_open_transactions_cannot_both_write(committed_app: Flask):
    """Both sessions have loaded the return when both save: the database refuses the later UPDATE."""
    app = committed_app
    return_id, one_id, two_id = _open_return_for_two(app, "Race")

    with app.app_context():
        mine = db.session.get(Return, return_id)  # session 1 holds the return at version N
        with app.app_context():
            theirs = db.session.get(Return, return_id)  # session 2 too
            services.save_answers(
                theirs,
                {"signs_recognised": "Yes"},
                by=db.session.get(User, two_id),
                expected_version=theirs.lock_version,
            )
            db.session.commit()
        with pytest.raises(ConflictError, match="at the same moment"):
            services.save_answers(
                mine, {"signs_recognised": "No"}, by=db.session.get(User, one_id), expected_version=mine.lock_version
            )
        db.session.rollback()
    with app.app_context():
        kept = db.session.get(Return, return_id)
        assert {a.question.key: a.value for a in kept.answers} == {"signs_recognised": "Yes"}


# -- many requests at once, through the API, on PostgreSQL --
#
# Each thread has its own test client, so each request runs in its own app context with its own
# session and connection, as requests of several gunicorn workers would. A barrier starts them
# together; each makes one attempt. SQLite cannot hold two write transactions open at once, so
# these run on PostgreSQL only.

RACERS = 8
needs_postgres = pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL"), reason="parallel write transactions need PostgreSQL"
)


@dataclass
class Racecourse:
    app: Flask
    partnership_id: int
    police_id: int
    police_sector_id: int
    planning_round_id: int
    #: police returns of an open round: one to submit, one to decline, one (submitted) to accept
    to_submit: int
    to_decline: int
    to_accept: int
    newcomer_id: int
    tokens: dict[str, str]


@pytest.fixture(scope="module")
def racecourse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Racecourse]:
    if not os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("parallel write transactions need PostgreSQL")
    from tests.factories import make_return_answered

    with _committed_app(tmp_path_factory.mktemp("race"), "racing") as app:
        with app.app_context(), system_actor("test:setup"):
            partnership = accounts.create_partnership("Race SCP")
            pid = partnership.id
            police_sector = db.session.scalar(
                sa.select(Sector).where(Sector.partnership_id == pid, Sector.key == "police")
            )
            police = accounts.create_agency(pid, "Race Police", police_sector)

            def person(n: int, role: Role, agency_id: int | None = None) -> User:
                return accounts.create_user(
                    pid, email=f"p{n}@race.example.org", name=f"P{n}", role=role, agency_id=agency_id, password="x" * 12
                )[0]

            admin, qa = person(1, Role.ADMIN), person(2, Role.QA_MEMBER)
            lead = person(3, Role.AGENCY_LEAD, police.agency_id)
            newcomer = person(4, Role.SCRUTINEER)
            version = questionnaires.import_questionnaire(pid, EXAMPLE, publish=True)
            planning = services.plan_round(pid, title="Planning", version=version, opens_on=None, due_on=None)
            open_round = services.plan_round(pid, title="Open", version=version, opens_on=None, due_on=None)
            for reference in ("CS-1", "CS-2", "CS-3"):
                case_services.add_case(open_round, agency_ids=[police.agency_id], reference=reference)
            services.move_round(open_round, RoundStatus.OPEN)
            returns = list(
                db.session.scalars(sa.select(Return).where(Return.round_id == open_round.id).order_by(Return.id))
            )
            for ret in returns:
                make_return_answered(ret, lead)
            services.submit_return(returns[2], by=lead, as_lead=True)
            tokens = {
                name: accounts.create_api_token(user, pid, "race")[1]
                for name, user in (("admin", admin), ("qa", qa), ("lead", lead))
            }
            db.session.commit()
            course = Racecourse(
                app=app,
                partnership_id=pid,
                police_id=police.agency_id,
                police_sector_id=police_sector.id,
                planning_round_id=planning.id,
                to_submit=returns[0].id,
                to_decline=returns[1].id,
                to_accept=returns[2].id,
                newcomer_id=newcomer.id,
                tokens=tokens,
            )
        yield course


def _race(
    course: Racecourse,
    who: str,
    method: str,
    url: str,
    body: Callable[[int], dict] | None = None,
    refusals: frozenset[int] = frozenset(),
) -> list[int]:
    """``RACERS`` requests at once, one per thread; their status codes. Fails on any 5xx or exception,
    and on any refusal but a 409 (or one of ``refusals``) with a message."""
    barrier = threading.Barrier(RACERS)
    statuses: list[int | None] = [None] * RACERS
    failures: list[BaseException] = []
    headers = {"Authorization": f"Bearer {course.tokens[who]}"}

    def attempt(n: int) -> None:
        client = course.app.test_client()
        try:
            barrier.wait(timeout=30)
            response = client.open(url, method=method, headers=headers, json=body(n) if body else None)
            statuses[n] = response.status_code
            if response.status_code >= 500:
                failures.append(AssertionError(f"{response.status_code}: {response.get_data(as_text=True)[:500]}"))
            elif response.status_code >= 400:
                assert response.status_code in {409, *refusals}, response.get_data(as_text=True)
                assert response.get_json()["error"]["message"]
        except BaseException as error:  # reported below, with every thread's status
            failures.append(error)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a racer hung"
    assert not failures, (statuses, failures)
    return [status for status in statuses if status is not None]


def _count(course: Racecourse, query: sa.Select) -> int:
    with course.app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))


def _wins(statuses: list[int], success: int, refusals: frozenset[int] = frozenset()) -> int:
    assert len(statuses) == RACERS and set(statuses) <= {success, 409, *refusals}, statuses
    return statuses.count(success)


@needs_postgres
def test_parallel_role_grants_make_one_membership(racecourse: Racecourse):
    course = racecourse
    url = f"/api/v1/users/{course.newcomer_id}/roles"
    statuses = _race(course, "admin", "POST", url, lambda n: {"role": "qa_member"})
    assert _wins(statuses, 201) == 1
    held = sa.select(Membership.id).where(Membership.user_id == course.newcomer_id, Membership.role == Role.QA_MEMBER)
    assert _count(course, held) == 1


@needs_postgres
def test_parallel_agency_creates_with_one_name_make_one_agency(racecourse: Racecourse):
    course = racecourse
    statuses = _race(
        course,
        "admin",
        "POST",
        "/api/v1/agencies",
        lambda n: {"name": "Racing Hospital", "sector_id": course.police_sector_id},
    )
    assert _wins(statuses, 201) == 1
    named = (
        sa.select(Agency.id)
        .join(PartnershipAgency, PartnershipAgency.agency_id == Agency.id)
        .where(PartnershipAgency.partnership_id == course.partnership_id, Agency.name == "Racing Hospital")
    )
    assert _count(course, named) == 1


@needs_postgres
def test_parallel_sector_creates_make_one_sector(racecourse: Racecourse):
    course = racecourse
    statuses = _race(course, "admin", "POST", "/api/v1/sectors", lambda n: {"name": "Racing sector"})
    assert _wins(statuses, 201) == 1
    assert _count(course, sa.select(Sector.id).where(Sector.name == "Racing sector")) == 1


#: one name, as eight people might type it
NAME_VARIANTS = [
    "Racing Clinic",
    "racing clinic",
    " RACING  CLINIC ",
    "Racing clinic",
    "racing CLINIC",
    "RACING clinic",
]


@needs_postgres
def test_parallel_agency_creates_with_one_name_in_any_case_make_one_agency(racecourse: Racecourse):
    course = racecourse
    statuses = _race(
        course,
        "admin",
        "POST",
        "/api/v1/agencies",
        lambda n: {"name": NAME_VARIANTS[n % len(NAME_VARIANTS)], "sector_id": course.police_sector_id},
    )
    assert _wins(statuses, 201) == 1
    named = sa.select(PartnershipAgency.id).where(
        PartnershipAgency.partnership_id == course.partnership_id, PartnershipAgency.agency_name_key == "racing clinic"
    )
    assert _count(course, named) == 1


@needs_postgres
def test_parallel_sector_creates_with_one_name_in_any_case_make_one_sector(racecourse: Racecourse):
    # Each with its own key, so only the name (whatever its case or spaces) can clash.
    course = racecourse
    statuses = _race(
        course,
        "admin",
        "POST",
        "/api/v1/sectors",
        lambda n: {"name": NAME_VARIANTS[n % len(NAME_VARIANTS)], "key": f"racing_{n}"},
    )
    assert _wins(statuses, 201) == 1
    named = sa.select(Sector.id).where(
        Sector.partnership_id == course.partnership_id, Sector.name_key == "racing clinic"
    )
    assert _count(course, named) == 1


@needs_postgres
def test_parallel_user_creates_with_one_email_make_one_account(racecourse: Racecourse):
    course = racecourse
    statuses = _race(
        course,
        "admin",
        "POST",
        "/api/v1/users",
        lambda n: {"email": "same@race.example.org", "name": f"Same {n}", "role": "qa_member", "password": "y" * 12},
    )
    assert _wins(statuses, 201) == 1
    assert _count(course, sa.select(User.id).where(User.email == "same@race.example.org")) == 1
    memberships = sa.select(Membership.id).join(User, User.id == Membership.user_id)
    assert _count(course, memberships.where(User.email == "same@race.example.org")) == 1


@needs_postgres
def test_parallel_case_adds_with_one_reference_add_it_once(racecourse: Racecourse):
    course = racecourse
    url = f"/api/v1/rounds/{course.planning_round_id}/cases"
    statuses = _race(course, "admin", "POST", url, lambda n: {"reference": "CS-RACE", "agency_ids": [course.police_id]})
    assert _wins(statuses, 201) == 1
    assert _count(course, sa.select(Case.id).where(Case.reference == "CS-RACE")) == 1
    in_round = sa.select(RoundCase.id).join(Case, Case.id == RoundCase.case_id).where(Case.reference == "CS-RACE")
    assert _count(course, in_round) == 1


def _moves(course: Racecourse, return_id: int, to: ReturnStatus) -> int:
    return _count(
        course, sa.select(ReturnEvent.id).where(ReturnEvent.return_id == return_id, ReturnEvent.to_status == to)
    )


@needs_postgres
def test_parallel_submits_of_one_return_submit_it_once(racecourse: Racecourse):
    course = racecourse
    with course.app.app_context():
        before = db.session.get(Return, course.to_submit).lock_version
    url = f"/api/v1/returns/{course.to_submit}/submit"
    # a racer that loads the return after the winner committed is told it moved on: a 409, never a 403
    statuses = _race(course, "lead", "POST", url)
    assert _wins(statuses, 200) == 1
    assert _moves(course, course.to_submit, ReturnStatus.SUBMITTED) == 1
    with course.app.app_context():
        after = db.session.get(Return, course.to_submit)
        assert (after.status, after.lock_version) == (ReturnStatus.SUBMITTED, before + 1)


@needs_postgres
def test_parallel_declines_of_one_return_decline_it_once(racecourse: Racecourse):
    course = racecourse
    url = f"/api/v1/returns/{course.to_decline}/decline"
    statuses = _race(course, "lead", "POST", url, lambda n: {"reason": f"Reason {n}"})
    assert _wins(statuses, 200) == 1
    assert _moves(course, course.to_decline, ReturnStatus.DECLINED) == 1
    with course.app.app_context():
        declined = db.session.get(Return, course.to_decline)
        event = db.session.scalar(
            sa.select(ReturnEvent).where(
                ReturnEvent.return_id == declined.id, ReturnEvent.to_status == ReturnStatus.DECLINED
            )
        )
        assert declined.status == ReturnStatus.DECLINED and declined.note == event.note  # the winner's reason, whole


@needs_postgres
def test_parallel_accepts_of_one_return_accept_it_once(racecourse: Racecourse):
    course = racecourse
    statuses = _race(course, "qa", "POST", f"/api/v1/returns/{course.to_accept}/accept")
    assert _wins(statuses, 200) == 1  # reviewing is not gated by the return's state: late ones get 409
    assert _moves(course, course.to_accept, ReturnStatus.ACCEPTED) == 1
