"""An agency serving several partnerships: each sees a change to it in its own audit log and the agency's
history, naming the partnership that made it and never that partnership's people."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from audit_app.accounts import services
from audit_app.accounts.models import AgencyName
from audit_app.core.audit import AuditEvent, system_actor
from audit_app.core.roles import Role
from audit_app.extensions import db
from tests.conftest import login
from tests.factories import make_user, sector

NORTH_ADMIN = ("admin@north.example.org", "Admin")
SOUTH_ADMIN = ("admin@south.example.org", "Admin")


@pytest.fixture()
def shared(world):
    """North Police also serves the South; a third partnership, West, does not share it."""
    with system_actor("test:setup"):
        south_link = services.link_agency(
            world.other_partnership.id, world.police.agency, sector(world.other_partnership.id, "police")
        )
        west = services.create_partnership("West Test Partnership")
        west_admin = make_user(west.id, Role.ADMIN, email="admin@west.example.org", name="Wendy West")
        db.session.commit()
    return world, south_link, west, west_admin


def _page(client, user, url: str) -> str:
    login(client, user)
    response = client.get(url)
    assert response.status_code == 200, url
    return response.data.decode()


def _rename_events(partnership_id: int, agency_id: int) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            sa.select(AuditEvent).where(
                AuditEvent.partnership_id == partnership_id,
                AuditEvent.entity_type == "Agency",
                AuditEvent.entity_id == agency_id,
                AuditEvent.action == "update",
            )
        )
    )


def test_a_rename_in_one_partnership_is_seen_in_both_without_the_other_s_people(client, shared):
    world, _south_link, west, west_admin = shared
    agency_id = world.police.agency_id
    login(client, world.user("admin"))
    response = client.post(
        f"/admin/agencies/{agency_id}/edit", data={"name": "Northbridge Police", "sector_id": world.police.sector_id}
    )
    assert response.status_code == 302

    # North, who renamed it, sees who did.
    for url in ("/audit-log", f"/history/agency/{agency_id}"):
        north = _page(client, world.user("admin"), url)
        assert "Northbridge Police" in north and "admin@north.example.org" in north, url
    # South sees the rename, made by North's administrators, and nobody's name or email.
    for url in ("/audit-log", f"/history/agency/{agency_id}"):
        south = _page(client, world.user("other_admin"), url)
        assert "Northbridge Police" in south, url
        assert "An administrator of North Test Partnership" in south, url
        assert "north.example.org" not in south, url
    # West, which the agency does not serve, sees nothing of it.
    west_log = _page(client, west_admin, "/audit-log")
    assert "Northbridge Police" not in west_log and "North Police" not in west_log
    login(client, west_admin)
    assert client.get(f"/history/agency/{agency_id}").status_code == 404

    # Stored that way too: the South's copy holds no actor, no request to tie it to North's events.
    (north_event,) = _rename_events(world.partnership.id, agency_id)
    (south_event,) = _rename_events(world.other_partnership.id, agency_id)
    assert north_event.actor_id == world.user("admin").id
    assert (south_event.actor_id, south_event.actor_label, south_event.request_id) == (
        None,
        "An administrator of North Test Partnership",
        None,
    )
    assert south_event.after == north_event.after == {"name": "Northbridge Police"}
    assert _rename_events(west.id, agency_id) == []
    # The old name kept on record is shared the same way.
    old_names = sa.select(AuditEvent.partnership_id).where(AuditEvent.entity_type == "AgencyName")
    assert sorted(db.session.scalars(old_names)) == sorted([world.partnership.id, world.other_partnership.id])


def test_a_rename_by_api_from_the_other_partnership_hides_its_people_from_the_first(client, api, shared):
    world, _south_link, _west, _west_admin = shared
    agency_id = world.police.agency_id
    south_admin = world.user("other_admin")
    response = api(south_admin).patch(f"/api/v1/agencies/{agency_id}", json={"name": "Police Service (North)"})
    assert response.status_code == 200, response.data

    south = _page(client, south_admin, f"/history/agency/{agency_id}")
    assert "Police Service (North)" in south and "admin@south.example.org" in south
    for url in ("/audit-log", f"/history/agency/{agency_id}"):
        north = _page(client, world.user("scrutineer"), url)
        assert "Police Service (North)" in north, url
        assert "An administrator of South Test Partnership" in north, url
        assert "south.example.org" not in north, url


def test_what_a_partnership_sets_for_itself_stays_in_its_own_log(client, shared):
    """The sector and active state are the partnership's own (PartnershipAgency), not the shared agency's."""
    world, south_link, _west, _west_admin = shared
    agency_id = world.police.agency_id
    login(client, world.user("other_admin"))
    assert client.post(f"/admin/agencies/{agency_id}/active", data={"active": "0"}).status_code == 302
    other_sector = sector(world.other_partnership.id, "justice")
    edited = client.post(
        f"/admin/agencies/{agency_id}/edit", data={"name": "North Police", "sector_id": other_sector.id}
    )
    assert edited.status_code == 302
    south_events = sa.select(AuditEvent).where(
        AuditEvent.entity_type == "PartnershipAgency", AuditEvent.entity_id == south_link.id
    )
    changes = list(db.session.scalars(south_events.where(AuditEvent.action == "update")))
    assert {e.partnership_id for e in changes} == {world.other_partnership.id}
    assert {key for e in changes for key in e.after} == {"is_active", "sector_id"}
    north = _page(client, world.user("admin"), f"/history/agency/{agency_id}")
    assert "is_active: False" not in north and "admin@south.example.org" not in north
    # Nothing to share: the name did not change, so no event of the agency itself.
    assert _rename_events(world.other_partnership.id, agency_id) == []


def test_a_change_by_a_command_keeps_its_label_everywhere(shared):
    world, _south_link, _west, _west_admin = shared
    with system_actor("cli:agencies rename"):
        services.update_agency(world.police, "North Police Force", world.police.sector)
        db.session.flush()
    labels = {e.partnership_id: e.actor_label for e in _rename_events(world.partnership.id, world.police.agency_id)}
    labels |= {
        e.partnership_id: e.actor_label for e in _rename_events(world.other_partnership.id, world.police.agency_id)
    }
    assert labels == {world.partnership.id: "cli:agencies rename", world.other_partnership.id: "cli:agencies rename"}


def test_an_agency_of_one_partnership_records_one_event(world):
    with system_actor("test:admin"):
        services.update_agency(world.health, "North General Hospital", world.health.sector)
        db.session.flush()
    names = db.session.scalars(sa.select(AgencyName.id).where(AgencyName.agency_id == world.health.agency_id)).all()
    assert len(names) == 1
    events = db.session.scalars(
        sa.select(AuditEvent).where(
            sa.or_(
                sa.and_(AuditEvent.entity_type == "Agency", AuditEvent.action == "update"),
                sa.and_(AuditEvent.entity_type == "AgencyName", AuditEvent.entity_id == names[0]),
            )
        )
    ).all()
    assert sorted((e.entity_type, e.partnership_id) for e in events) == [
        ("Agency", world.partnership.id),
        ("AgencyName", world.partnership.id),
    ]
