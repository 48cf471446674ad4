"""Two people saving the same return at once: the second save is refused and the first is kept.

Runs on its own committed database (a fresh PostgreSQL database beside
TEST_DATABASE_URL in CI, or a temporary SQLite file), with two real sessions
on two connections, as two web requests would have.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_migrate import upgrade

from audit_app import create_app
from audit_app.accounts import services as accounts
from audit_app.accounts.models import Role, Sector, User
from audit_app.case_audits import services as case_services
from audit_app.core.audit import system_actor
from audit_app.core.errors import ConflictError
from audit_app.extensions import db
from audit_app.questionnaires import services as questionnaires
from audit_app.rounds import services
from audit_app.rounds.models import Return, RoundStatus
from tests.questionnaires.test_questionnaire_spec import EXAMPLE


@pytest.fixture()
def committed_app(tmp_path: Path) -> Iterator[Flask]:
    test_url = os.environ.get("TEST_DATABASE_URL")
    maintenance = None
    if test_url:
        url = sa.engine.make_url(test_url).set(drivername="postgresql+psycopg")
        url = url.set(database=f"{url.database}_locking")
        maintenance = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with maintenance.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{url.database}"')
        database_url = url.render_as_string(hide_password=False)
    else:
        database_url = f"sqlite:///{tmp_path / 'locking.db'}"
    app = create_app("test", SQLALCHEMY_DATABASE_URI=database_url, MAIL_SERVER=None)
    with app.app_context():
        upgrade()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    if maintenance is not None:
        with maintenance.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
        maintenance.dispose()


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
