"""Agency and sector names are unique in a partnership whatever their capitals or spaces: in the services,
the pages, the API and the database; and the migration that brings it refuses to run over duplicates."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from flask import current_app
from flask_migrate import upgrade
from sqlalchemy.exc import IntegrityError

from audit_app.accounts import services
from audit_app.accounts.models import Agency, PartnershipAgency, Sector, name_key
from audit_app.core.audit import AuditEvent, system_actor
from audit_app.core.errors import ConflictError
from audit_app.extensions import db
from tests.conftest import login, own_database
from tests.factories import sector

SAME_NAMES = ["north police", "  NORTH   Police ", "North\tpolice"]


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("Northbridge Police", " northbridge  police ", True),
        ("Straße Clinic", "STRASSE CLINIC", True),
        ("Café", "Cafe\u0301", True),  # composed and decomposed é
        ("Northbridge Police", "Northbridge Polic", False),
        ("St Mary's", "St Marys", False),
    ],
)
def test_what_counts_as_the_same_name(a, b, same):
    assert (name_key(a) == name_key(b)) is same


@pytest.mark.parametrize("name", SAME_NAMES)
def test_an_agency_name_differing_only_in_case_or_spaces_is_refused(world, name):
    with pytest.raises(ConflictError) as refused:
        services.create_agency(world.partnership.id, name, sector(world.partnership.id, "police"))
    assert refused.value.field == "name"
    assert "capitals or spaces" in refused.value.message


def test_renaming_into_another_agency_s_name_is_refused_but_recasing_its_own_is_not(world):
    with pytest.raises(ConflictError) as refused:
        services.update_agency(world.health, " NORTH POLICE", world.health.sector)
    assert refused.value.field == "name"
    services.update_agency(world.police, "NORTH police", world.police.sector)
    assert world.police.agency.name == "NORTH police"
    assert world.police.agency_name_key == "north police"


def test_another_partnership_may_use_the_name_until_the_agency_is_shared(world):
    south = world.other_partnership.id
    services.create_agency(south, "NORTH POLICE", sector(south, "police"))  # a name is per partnership
    with pytest.raises(ConflictError) as refused:
        services.link_agency(south, world.police.agency, sector(south, "police"))
    assert refused.value.field == "agency_id"
    assert "already has this name" in refused.value.message


def test_a_shared_agency_cannot_take_a_name_used_in_another_partnership_it_serves(world):
    south = world.other_partnership.id
    services.link_agency(south, world.health.agency, sector(south, "health"))
    with pytest.raises(ConflictError) as refused:
        services.update_agency(world.health, "south council", world.health.sector)
    assert refused.value.field == "name"
    assert refused.value.message == "Another partnership this agency serves already has an agency with this name"


def test_a_rename_keeps_every_partnership_s_key(world):
    south = world.other_partnership.id
    south_link = services.link_agency(south, world.police.agency, sector(south, "police"))
    services.update_agency(world.police, "Northbridge  Police", world.police.sector)
    db.session.flush()
    db.session.expire_all()
    keys = db.session.scalars(
        sa.select(PartnershipAgency.agency_name_key).where(PartnershipAgency.id.in_([world.police.id, south_link.id]))
    ).all()
    assert keys == ["northbridge police", "northbridge police"]


def test_the_database_refuses_what_slips_past_the_services(world):
    # As if two requests both passed the check: the unique constraint on the key refuses the second.
    agency = Agency(name="north POLICE")
    db.session.add(agency)
    db.session.flush()
    db.session.add(
        PartnershipAgency(
            partnership_id=world.partnership.id,
            agency_id=agency.id,
            sector_id=world.police.sector_id,
            agency_name_key=name_key(agency.name),
        )
    )
    with pytest.raises(IntegrityError, match=r"uq_partnership_agencies_partnership_id_agency_name_key|UNIQUE"):
        db.session.flush()
    db.session.rollback()
    db.session.add(Sector(partnership_id=world.partnership.id, key="police_again", name=" POLICE "))
    with pytest.raises(IntegrityError, match=r"uq_sectors_partnership_id_name_key|UNIQUE"):
        db.session.flush()
    db.session.rollback()


def test_a_racing_agency_create_by_api_is_a_409_naming_name(api, world, monkeypatch):
    monkeypatch.setattr(services, "_check_agency_name_free", lambda *args, **kwargs: None)
    admin = api(world.user("admin"))
    body = {"name": "  north police ", "sector_id": world.police.sector_id}
    response = admin.post("/api/v1/agencies", json=body)
    assert response.status_code == 409, response.data
    assert response.get_json()["error"]["fields"] == {
        "name": [
            "An agency with this name already exists in the partnership (names differing only in capitals or "
            "spaces are the same)"
        ]
    }


def test_the_link_page_names_the_agency_field(client, world):
    south = world.other_partnership.id
    services.create_agency(south, "north  police", sector(south, "police"))
    db.session.commit()
    login(client, world.user("other_admin"))
    page = client.post(
        "/admin/agencies/link",
        data={"agency_id": world.police.agency_id, "sector_id": sector(south, "police").id},
    )
    assert page.status_code == 400
    assert b'href="#agency_id"' in page.data and b"already has this name" in page.data


def test_the_agency_and_sector_pages_name_the_field(client, world):
    login(client, world.user("admin"))
    page = client.post("/admin/agencies/new", data={"name": "North  HOSPITAL", "sector_id": world.health.sector_id})
    assert page.status_code == 400
    assert b'href="#name"' in page.data and b"capitals or spaces" in page.data
    police = sector(world.partnership.id, "police")
    page = client.post(f"/admin/sectors/{sector(world.partnership.id, 'other').id}/edit", data={"name": " police"})
    assert page.status_code == 400
    assert b'href="#name"' in page.data and b"A sector with this name already exists" in page.data
    assert police.name == "Police"


def test_the_api_names_the_field_for_sectors(api, world):
    other = sector(world.partnership.id, "other")
    response = api(world.user("admin")).patch(f"/api/v1/sectors/{other.id}", json={"name": "HEALTH "})
    assert response.status_code == 409
    assert list(response.get_json()["error"]["fields"]) == ["name"]


# -- the migration --

BEFORE, AFTER = "a7c356412264", "2830f734d44e"
NOW = "2026-01-01 00:00:00"


def _old_world(agencies: list[tuple[int, str, list[int]]], sectors: list[tuple[int, str]]) -> None:
    """Two partnerships (1 North, 2 South) as the schema before the migration held them; agencies as
    (id, name, partnerships it serves), sectors as (partnership, name)."""
    with db.engine.begin() as conn:

        def run(sql: str, rows: list[dict] | dict) -> None:
            conn.execute(sa.text(sql), rows)

        run(
            "INSERT INTO partnerships (id, name, qa_group_name, created_at, updated_at) VALUES (:id, :name, 'QA', :now, :now)",
            [{"id": 1, "name": "North", "now": NOW}, {"id": 2, "name": "South", "now": NOW}],
        )
        run(
            "INSERT INTO sectors (partnership_id, key, name, created_at, updated_at) VALUES (:p, :key, :name, :now, :now)",
            [{"p": p, "key": f"s{n}", "name": name, "now": NOW} for n, (p, name) in enumerate(sectors)],
        )
        first_sector = {
            p: conn.scalar(sa.text("SELECT MIN(id) FROM sectors WHERE partnership_id = :p"), {"p": p}) for p in (1, 2)
        }
        run(
            "INSERT INTO agencies (id, name, created_at, updated_at) VALUES (:id, :name, :now, :now)",
            [{"id": agency_id, "name": name, "now": NOW} for agency_id, name, _p in agencies],
        )
        run(
            "INSERT INTO partnership_agencies (partnership_id, agency_id, sector_id, is_active, created_at, updated_at) "
            "VALUES (:p, :a, :s, true, :now, :now)",
            [{"p": p, "a": agency_id, "s": first_sector[p], "now": NOW} for agency_id, _n, ps in agencies for p in ps],
        )
        run(
            "INSERT INTO users (id, email, name, is_active, session_version, created_at, updated_at) "
            "VALUES (7, 'nadia@north.example.org', 'Nadia North', true, 1, :now, :now)",
            {"now": NOW},
        )


def test_the_migration_stops_over_duplicate_names_and_changes_nothing(tmp_path: Path):
    with own_database(tmp_path, "dupnames") as app, app.app_context():
        upgrade(revision=BEFORE)
        _old_world(
            agencies=[
                (10, "Northbridge Police", [1]),
                (11, "northbridge police ", [1]),
                (12, "Northbridge police", [2]),
            ],
            sectors=[(1, "Police"), (1, "POLICE"), (1, "Health"), (2, "Police")],
        )
        # Alembic itself, to catch the error that `flask db upgrade` prints before it exits 1.
        with pytest.raises(RuntimeError) as stopped:
            command.upgrade(current_app.extensions["migrate"].migrate.get_config(), AFTER)
        message = str(stopped.value)
        assert "Nothing was changed" in message
        assert "North (partnership id 1): 'Police' (id " in message and "'POLICE' (id" in message
        assert "North (partnership id 1): 'Northbridge Police' (id 10), 'northbridge police ' (id 11)" in message
        assert "South" not in message  # one agency of that name there: no clash
        with db.engine.connect() as conn:
            assert conn.scalar(sa.text("SELECT version_num FROM alembic_version")) == BEFORE
            columns = {c["name"] for c in sa.inspect(conn).get_columns("partnership_agencies")}
        assert "agency_name_key" not in columns


def test_the_migration_fills_the_keys_and_shares_past_events_without_people(tmp_path: Path):
    with own_database(tmp_path, "sharedpast") as app, app.app_context():
        upgrade(revision=BEFORE)
        _old_world(
            agencies=[(10, "North  Police", [1, 2]), (11, "North Hospital", [1])],
            sectors=[(1, "Police"), (2, "Police")],
        )
        with db.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO audit_events (occurred_at, actor_id, actor_label, partnership_id, entity_type, "
                    "entity_id, action, before, after, request_id) "
                    "VALUES (:now, :actor, :label, 1, :type, :id, 'update', NULL, :after, 'r-1')"
                ),
                [
                    {
                        "now": NOW,
                        "actor": 7,
                        "label": "nadia@north.example.org",
                        "type": "Agency",
                        "id": 10,
                        "after": '{"name": "North  Police"}',
                    },
                    {"now": NOW, "actor": None, "label": "cli:demo load", "type": "Agency", "id": 10, "after": "{}"},
                    {
                        "now": NOW,
                        "actor": 7,
                        "label": "nadia@north.example.org",
                        "type": "Agency",
                        "id": 11,
                        "after": "{}",
                    },
                ],
            )
        upgrade(revision=AFTER)
        rows = db.session.execute(
            sa.select(
                AuditEvent.partnership_id, AuditEvent.entity_id, AuditEvent.actor_id, AuditEvent.actor_label
            ).order_by(AuditEvent.id)
        ).all()
        assert [tuple(r) for r in rows] == [
            (1, 10, 7, "nadia@north.example.org"),
            (1, 10, None, "cli:demo load"),
            (1, 11, 7, "nadia@north.example.org"),  # North Hospital serves North alone: no copy
            (2, 10, None, "An administrator of North"),
            (2, 10, None, "cli:demo load"),
        ]
        keys = db.session.execute(sa.select(PartnershipAgency.agency_id, PartnershipAgency.agency_name_key)).all()
        assert sorted(tuple(k) for k in keys) == [(10, "north police"), (10, "north police"), (11, "north hospital")]
        assert set(db.session.scalars(sa.select(Sector.name_key))) == {"police"}
        # And from now on the services and the database hold the rule.
        with system_actor("test"), pytest.raises(ConflictError):
            services.create_agency(
                2, "NORTH POLICE", db.session.get(Sector, db.session.scalar(sa.select(sa.func.max(Sector.id))))
            )
