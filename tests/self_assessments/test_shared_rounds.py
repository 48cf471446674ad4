"""A Section 11 round shared by two partnerships: planned by North, shared with South by someone who administers
both. North Police works with both partnerships and answers once; North Hospital is North's own, South Council
South's own. Each partnership chooses its own agencies, sees its own agencies' returns and return rates, and
nothing of the other's own agencies; a third partnership sees nothing at all."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from audit_app.accounts import services as accounts
from audit_app.accounts.models import Role
from audit_app.core.audit import AuditEvent, system_actor
from audit_app.extensions import db
from audit_app.rounds import services
from audit_app.rounds.models import AgencyEmail, Return, ReturnStatus, Round, RoundStatus
from tests.conftest import login, sector
from tests.factories import make_questionnaire, make_return_answered, make_user

S11 = "section11_self_assessment"


@pytest.fixture()
def shared(world):
    """North's Section 11 round in planning; police linked to South too; a joint admin of both; East apart."""
    with system_actor("test:setup"):
        south_police = accounts.link_agency(
            world.other_partnership.id, world.police.agency, sector(world.other_partnership.id, "police")
        )
        joint = make_user(world.partnership.id, Role.ADMIN, email="joint@both.example.org")
        accounts.add_membership(joint, world.other_partnership.id, Role.ADMIN)
        south_lead = make_user(
            world.other_partnership.id,
            Role.AGENCY_LEAD,
            email="lead@council.example.org",
            agency_id=world.other_agency.agency_id,
        )
        east = accounts.create_partnership("East Test Partnership")
        east_admin = make_user(east.id, Role.ADMIN, email="admin@east.example.org")
        version = make_questionnaire(world.partnership.id, library_key=S11)
        round_ = services.plan_round(
            world.partnership.id, title="Shared Section 11", version=version, opens_on=None, due_on=None
        )
        db.session.commit()
    return {
        "round": round_,
        "joint": joint,
        "south_lead": south_lead,
        "east_admin": east_admin,
        "south_police": south_police,
    }


def _return(round_: Round, agency_id: int) -> Return:
    return db.session.scalar(sa.select(Return).where(Return.round_id == round_.id, Return.agency_id == agency_id))


def _share_and_open(client, world, shared) -> Round:
    """The joint admin shares the round; each partnership's admin chooses its own agencies; North opens it."""
    round_ = shared["round"]
    login(client, shared["joint"], world.partnership.id)
    page = client.get(f"/rounds/{round_.id}/sharing").get_data(as_text=True)
    assert "South Test Partnership" in page and "Share the round" in page
    response = client.post(f"/rounds/{round_.id}/sharing", data={"partnership_id": world.other_partnership.id})
    assert response.status_code == 303, response.get_data(as_text=True)

    login(client, world.user("admin"))
    posted = client.post(
        f"/rounds/{round_.id}/agencies", data={"agency_ids": [world.police.agency_id, world.health.agency_id]}
    )
    assert posted.status_code == 302
    login(client, world.user("other_admin"))
    page = client.get(f"/rounds/{round_.id}").get_data(as_text=True)
    assert "Choose the agencies that must return" in page and "North Hospital" not in page
    # South sees the shared police already ticked, and adds its council: North's choice of its hospital stays
    assert f'value="{world.police.agency_id}" checked' in page
    posted = client.post(
        f"/rounds/{round_.id}/agencies", data={"agency_ids": [world.police.agency_id, world.other_agency.agency_id]}
    )
    assert posted.status_code == 302
    db.session.expire_all()
    assert {a.id for a in round_.agencies} == {
        world.police.agency_id,
        world.health.agency_id,
        world.other_agency.agency_id,
    }
    with system_actor("test:setup"):
        services.move_round(round_, RoundStatus.OPEN)
        db.session.commit()
    return round_


def test_sharing_needs_an_administrator_of_both_partnerships(client, world, shared):
    round_ = shared["round"]
    login(client, world.user("admin"))  # North only
    page = client.get(f"/rounds/{round_.id}/sharing").get_data(as_text=True)
    assert "You can share a round only with a partnership you are an administrator of too" in page
    refused = client.post(f"/rounds/{round_.id}/sharing", data={"partnership_id": world.other_partnership.id})
    assert refused.status_code == 400
    assert "Select one of the options in the list" in refused.get_data(as_text=True)
    assert [p.id for p in round_.partnerships] == [world.partnership.id]
    login(client, world.user("qa_member"))
    assert client.get(f"/rounds/{round_.id}/sharing").status_code == 200
    assert (
        client.post(f"/rounds/{round_.id}/sharing", data={"partnership_id": world.other_partnership.id}).status_code
        == 403
    )


def test_sharing_is_written_to_both_partnerships_audit_logs_and_can_stop_while_planning(client, world, shared):
    round_ = shared["round"]
    login(client, shared["joint"], world.partnership.id)
    client.post(f"/rounds/{round_.id}/sharing", data={"partnership_id": world.other_partnership.id})
    events = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.entity_type == "round", AuditEvent.entity_id == round_.id)
    ).all()
    shared_in = {e.partnership_id for e in events if (e.after or {}).get("shared_with")}
    assert shared_in == {world.partnership.id, world.other_partnership.id}
    # South chose its council; stopping the share takes South's own agencies off, not the shared police
    with system_actor("test:setup"):
        services.set_round_agencies(
            round_,
            agency_ids=[world.police.agency_id, world.other_agency.agency_id],
            partnership_id=world.other_partnership.id,
        )
        db.session.commit()
    stopped = client.post(f"/rounds/{round_.id}/sharing/{world.other_partnership.id}/remove")
    assert stopped.status_code == 303
    db.session.expire_all()
    assert [p.id for p in round_.partnerships] == [world.partnership.id]
    assert {a.id for a in round_.agencies} == {world.police.agency_id}


def test_each_partnership_sees_its_own_agencies_returns_and_rates_only(client, world, shared, api):
    round_ = _share_and_open(client, world, shared)
    police, health, council = (
        _return(round_, world.police.agency_id),
        _return(round_, world.health.agency_id),
        _return(round_, world.other_agency.agency_id),
    )
    make_return_answered(police, world.user("agency_lead"), submit=True)
    with system_actor("test:setup"):
        services.decline_return(council, by=shared["south_lead"], reason="Council restructure: returning next year")
        db.session.commit()

    north_rates = services.return_rates(round_, world.partnership.id)[1]
    south_rates = services.return_rates(round_, world.other_partnership.id)[1]
    assert (north_rates.asked, north_rates.returned, north_rates.declined, north_rates.outstanding) == (2, 1, 0, 1)
    assert (south_rates.asked, south_rates.returned, south_rates.declined, south_rates.outstanding) == (2, 1, 1, 0)
    assert south_rates.percent_less_declined == 100 and north_rates.percent == 50

    # pages
    login(client, world.user("qa_member"))
    north_page = client.get(f"/rounds/{round_.id}").get_data(as_text=True)
    assert "North Hospital" in north_page and "North Police" in north_page and "South Council" not in north_page
    assert client.get(f"/returns/{council.id}").status_code == 404
    assert client.get(f"/returns/{police.id}").status_code == 200
    login(client, world.user("other_admin"))
    south_page = client.get(f"/rounds/{round_.id}").get_data(as_text=True)
    assert "South Council" in south_page and "North Police" in south_page and "North Hospital" not in south_page
    assert client.get(f"/returns/{health.id}").status_code == 404
    assert client.get(f"/returns/{police.id}").status_code == 200
    login(client, shared["east_admin"])
    assert client.get(f"/rounds/{round_.id}").status_code == 404
    assert client.get(f"/returns/{police.id}").status_code == 404

    # the API says the same
    south = api(world.user("other_admin"))
    rates = south.get(f"/api/v1/rounds/{round_.id}/return-rates").get_json()
    assert rates["overall"]["asked"] == 2 and rates["overall"]["declined"] == 1
    assert [a["name"] for a in south.get(f"/api/v1/rounds/{round_.id}").get_json()["agencies"]] == [
        "North Police",
        "South Council",
    ]
    listed = south.get(f"/api/v1/returns?round_id={round_.id}").get_json()
    assert {r["id"] for r in listed["items"]} == {police.id, council.id}
    assert south.get(f"/api/v1/returns/{health.id}").status_code == 404
    north = api(world.user("qa_member"))
    listed = north.get(f"/api/v1/returns?round_id={round_.id}").get_json()
    assert {r["id"] for r in listed["items"]} == {police.id, health.id}
    assert api(shared["east_admin"]).get(f"/api/v1/rounds/{round_.id}/return-rates").status_code == 404


def test_each_partnership_chases_its_own_agencies(client, world, shared, mailbox):
    round_ = _share_and_open(client, world, shared)
    db.session.execute(sa.delete(AgencyEmail))
    db.session.commit()
    login(client, world.user("other_admin"))
    assert client.post(f"/rounds/{round_.id}/chase", data={}).status_code == 302
    chased = set(db.session.scalars(sa.select(AgencyEmail.agency_id)))
    assert chased == {world.police.agency_id, world.other_agency.agency_id}
    # South cannot chase North's own agency by its id
    client.post(f"/rounds/{round_.id}/chase", data={"agency_id": world.health.agency_id})
    assert world.health.agency_id not in set(db.session.scalars(sa.select(AgencyEmail.agency_id)))
    # the council's lead holds the role in South: the email reached them although North planned the round
    assert any("lead@council.example.org" in m["To"] for m in mailbox)


def test_sharing_through_the_api(client, world, shared, api):
    round_ = shared["round"]
    joint = api(shared["joint"], world.partnership.id)
    seen = joint.get(f"/api/v1/rounds/{round_.id}/partnerships").get_json()
    assert seen["shareable"] == [{"id": world.other_partnership.id, "name": "South Test Partnership"}]
    # a North-only admin cannot share with South; every bad call says which field
    refused = api(world.user("admin")).post(
        f"/api/v1/rounds/{round_.id}/partnerships", json={"partnership_id": world.other_partnership.id}
    )
    assert refused.status_code == 400 and "partnership_id" in refused.get_json()["error"]["fields"]
    done = joint.post(f"/api/v1/rounds/{round_.id}/partnerships", json={"partnership_id": world.other_partnership.id})
    assert done.status_code == 200
    assert [p["id"] for p in done.get_json()["partnerships"]] == sorted(
        [world.partnership.id, world.other_partnership.id]
    )
    again = joint.post(f"/api/v1/rounds/{round_.id}/partnerships", json={"partnership_id": world.other_partnership.id})
    assert again.status_code == 409
    with system_actor("test:setup"):
        services.set_round_agencies(round_, agency_ids=[world.health.agency_id])
        services.move_round(round_, RoundStatus.OPEN)
        db.session.commit()
    late = joint.delete(f"/api/v1/rounds/{round_.id}/partnerships/{world.other_partnership.id}")
    assert late.status_code == 409
    own = joint.delete(f"/api/v1/rounds/{round_.id}/partnerships/{world.partnership.id}")
    assert own.status_code == 400
    # South's admin sees it shared, may choose South's agencies, but does not manage or share it
    south = api(world.user("other_admin"))
    assert south.get(f"/api/v1/rounds/{round_.id}/partnerships").get_json()["shareable"] == []
    chosen = south.put(
        f"/api/v1/rounds/{round_.id}/agencies",
        json={"agency_ids": [world.police.agency_id, world.other_agency.agency_id]},
    )
    assert chosen.status_code == 200, chosen.get_json()
    assert _return(round_, world.other_agency.agency_id).status == ReturnStatus.NOT_STARTED
    assert south.delete(f"/api/v1/rounds/{round_.id}/partnerships/{world.other_partnership.id}").status_code == 403
