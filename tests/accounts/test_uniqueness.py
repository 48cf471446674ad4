"""Uniqueness the database guarantees even where a column is NULL, and revokes that really revoke."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from audit_app.accounts import services as accounts
from audit_app.accounts.models import Membership, Role
from audit_app.extensions import db
from audit_app.questionnaires.models import Scale


def _roles(user_id: int, partnership_id: int, role: Role) -> list[Membership]:
    return list(
        db.session.scalars(
            sa.select(Membership).where(
                Membership.user_id == user_id, Membership.partnership_id == partnership_id, Membership.role == role
            )
        )
    )


@pytest.mark.parametrize("role", [Role.ADMIN, Role.QA_MEMBER, Role.SCRUTINEER])
def test_the_database_refuses_a_second_identical_role_without_an_agency(world, role):
    person = world.user("auditor")
    for _ in range(2):
        db.session.add(Membership(user_id=person.id, partnership_id=world.partnership.id, role=role))
    with pytest.raises(IntegrityError, match=r"uq_memberships_no_agency|UNIQUE constraint failed"):
        db.session.flush()
    db.session.rollback()


def test_the_same_role_in_another_partnership_or_agency_is_still_allowed(world):
    person = world.user("auditor")
    db.session.add(Membership(user_id=person.id, partnership_id=world.partnership.id, role=Role.QA_MEMBER))
    db.session.add(Membership(user_id=person.id, partnership_id=world.other_partnership.id, role=Role.QA_MEMBER))
    db.session.add(
        Membership(
            user_id=person.id, partnership_id=world.partnership.id, agency_id=world.health.agency_id, role=Role.AUDITOR
        )
    )
    db.session.flush()


def test_the_database_refuses_two_built_in_scales_with_one_key(app, db_session):
    db.session.add_all([Scale(key="twice", name="One"), Scale(key="twice", name="Two")])
    with pytest.raises(IntegrityError, match=r"uq_scales_builtin_key|UNIQUE constraint failed"):
        db.session.flush()
    db.session.rollback()


def test_a_racing_role_grant_by_api_is_a_409_naming_the_field(api, world, monkeypatch):
    # Both requests passed the service's check before either wrote: only the database can refuse.
    monkeypatch.setattr(accounts, "_same_memberships", lambda *args: [])
    person = world.user("scrutineer")
    response = api(world.user("admin")).post(f"/api/v1/users/{person.id}/roles", json={"role": "qa_member"})
    assert response.status_code == 201
    again = api(world.user("admin")).post(f"/api/v1/users/{person.id}/roles", json={"role": "qa_member"})
    assert again.status_code == 409, again.data
    assert again.get_json()["error"] == {
        "status": 409,
        "message": "This person already has this role",
        "fields": {"role": ["This person already has this role"]},
    }
    assert len(_roles(person.id, world.partnership.id, Role.QA_MEMBER)) == 1


def test_revoking_a_role_by_api_really_revokes_it(api, world):
    person = world.user("scrutineer")
    admin = api(world.user("admin"))
    granted = admin.post(f"/api/v1/users/{person.id}/roles", json={"role": "qa_member"})
    assert granted.status_code == 201
    membership = _roles(person.id, world.partnership.id, Role.QA_MEMBER)[0]
    assert admin.delete(f"/api/v1/users/{person.id}/roles/{membership.id}").status_code == 204
    db.session.expire_all()
    assert _roles(person.id, world.partnership.id, Role.QA_MEMBER) == []
    shown = admin.get(f"/api/v1/users/{person.id}").get_json()
    assert "qa_member" not in str(shown)
    assert admin.delete(f"/api/v1/users/{person.id}/roles/{membership.id}").status_code == 404


def test_revoking_removes_every_duplicate_of_the_role(world):
    """Duplicates left from before the unique index (or by any future gap) cannot keep a revoked role alive."""
    person = world.user("scrutineer")
    db.session.execute(sa.text("DROP INDEX uq_memberships_no_agency"))  # rolled back with the test
    for _ in range(3):
        db.session.add(Membership(user_id=person.id, partnership_id=world.partnership.id, role=Role.QA_MEMBER))
    db.session.flush()
    first = _roles(person.id, world.partnership.id, Role.QA_MEMBER)[0]
    accounts.remove_membership(first)
    assert _roles(person.id, world.partnership.id, Role.QA_MEMBER) == []
    assert _roles(person.id, world.partnership.id, Role.SCRUTINEER) != []  # other roles stay
