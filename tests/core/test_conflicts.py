"""Conflicts end in a 409 on every view and endpoint: a stale optimistic lock, a broken unique constraint.

Races are made deterministic here: the other request's write is done by hand (a bumped lock version)
or the service's friendly pre-check is skipped (as when two requests pass it together), so the
database itself refuses, at flush or at the view's commit, as it would in a real race.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from audit_app.accounts import services as accounts
from audit_app.accounts.models import Sector
from audit_app.core.errors import UNIQUE_CONFLICTS, unique_conflict, unique_violation_name
from audit_app.extensions import db
from audit_app.rounds import services as rounds
from audit_app.rounds.models import Return, ReturnStatus, RoundStatus
from tests.conftest import login
from tests.factories import make_return_answered, make_round, returns_of

STALE = "Someone else changed this return at the same moment"


@pytest.fixture()
def police_return(world) -> Return:
    """An open case-audit round's police return, every question answered."""
    round_ = make_round(world.partnership.id, agencies=[world.police], cases=1, status=RoundStatus.OPEN)
    ret = returns_of(round_)[0]
    make_return_answered(ret, world.user("agency_lead"))
    db.session.commit()
    return ret


def _someone_else_writes_first(monkeypatch, name: str) -> None:
    """Before the service ``rounds.<name>`` runs, another request changes the return (its version moves on)."""
    original = getattr(rounds, name)

    def racing(ret, **kwargs):
        db.session.execute(sa.text("UPDATE returns SET lock_version = lock_version + 1 WHERE id = :id"), {"id": ret.id})
        return original(ret, **kwargs)

    monkeypatch.setattr(rounds, name, racing)


@pytest.mark.parametrize(
    ("service", "path", "body"),
    [
        ("submit_return", "submit", None),
        ("decline_return", "decline", {"reason": "Not known to us"}),
    ],
)
def test_a_racing_move_by_api_is_a_409_not_a_500(api, world, police_return, monkeypatch, service, path, body):
    _someone_else_writes_first(monkeypatch, service)
    response = api(world.user("agency_lead")).post(f"/api/v1/returns/{police_return.id}/{path}", json=body)
    assert response.status_code == 409, response.data
    error = response.get_json()["error"]
    assert error["status"] == 409
    assert error["message"].startswith(STALE) and "reload" in error["message"].lower()
    assert error["fields"] == {"lock_version": [error["message"]]}
    db.session.expire_all()
    assert db.session.get(Return, police_return.id).status == ReturnStatus.IN_PROGRESS  # nothing half-written


@pytest.mark.parametrize(
    ("service", "path", "body"),
    [("accept_return", "accept", None), ("request_changes", "request-changes", {"note": "Say more"})],
)
def test_a_racing_review_by_api_is_a_409(api, world, police_return, monkeypatch, service, path, body):
    rounds.submit_return(police_return, by=world.user("agency_lead"), as_lead=True)
    db.session.commit()
    _someone_else_writes_first(monkeypatch, service)
    response = api(world.user("qa_member")).post(f"/api/v1/returns/{police_return.id}/{path}", json=body)
    assert response.status_code == 409 and response.get_json()["error"]["message"].startswith(STALE)
    db.session.expire_all()
    assert db.session.get(Return, police_return.id).status == ReturnStatus.SUBMITTED


def test_a_racing_move_on_a_page_is_a_409_page_saying_so(client, world, police_return, monkeypatch):
    _someone_else_writes_first(monkeypatch, "submit_return")
    login(client, world.user("agency_lead"))
    response = client.post(f"/returns/{police_return.id}/submit")
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert STALE in page and "Reload the page and try again" in page
    # The session was rolled back: the next request works.
    assert client.get(f"/returns/{police_return.id}").status_code == 200


def test_a_racing_sector_create_on_a_page_is_a_409_page_naming_it(client, world, monkeypatch):
    monkeypatch.setattr(accounts, "_check_sector_unique", lambda *args, **kwargs: None)
    login(client, world.user("admin"))
    response = client.post("/admin/sectors/new", data={"name": "Health"})
    assert response.status_code == 409
    # Its name and its key ("health") both clash; the database reports the first index it checks.
    page = response.get_data(as_text=True)
    assert "A sector with this name already exists" in page or "A sector with this key already exists" in page
    count = db.session.scalar(
        sa.select(sa.func.count()).where(Sector.partnership_id == world.partnership.id, Sector.name == "Health")
    )
    assert count == 1


def test_a_unique_violation_is_named_from_the_constraint(world):
    db.session.add(Sector(partnership_id=world.partnership.id, key="police_2", name="Police"))
    with pytest.raises(IntegrityError) as raised:
        db.session.flush()
    db.session.rollback()
    name = unique_violation_name(raised.value, db.metadata)
    assert name == "uq_sectors_partnership_id_name_key"
    conflict = unique_conflict(name, db.metadata)
    assert (conflict.status_code, conflict.field) == (409, "name")


def test_other_integrity_errors_are_no_unique_violation(world):
    db.session.add(Sector(partnership_id=world.partnership.id, key="nowhere", name=None))  # NOT NULL
    with pytest.raises(IntegrityError) as raised:
        db.session.flush()
    db.session.rollback()
    assert unique_violation_name(raised.value, db.metadata) is None


def test_an_unlisted_constraint_still_names_its_field(app, monkeypatch):
    monkeypatch.delitem(UNIQUE_CONFLICTS, "uq_cases_partnership_id_reference")
    conflict = unique_conflict("uq_cases_partnership_id_reference", db.metadata)
    assert (conflict.status_code, conflict.field) == (409, "reference")
    assert "this reference already exists" in conflict.message


def test_every_unique_constraint_and_index_is_in_the_registry(app):
    names = {
        str(each.name)
        for table in db.metadata.tables.values()
        for each in [*table.constraints, *table.indexes]
        if isinstance(each, sa.UniqueConstraint) or (isinstance(each, sa.Index) and each.unique)
    }
    assert names - set(UNIQUE_CONFLICTS) == set()
