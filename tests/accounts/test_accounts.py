"""Partnership administration: sectors, agencies, users and roles, through the pages."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from audit_app.accounts import services
from audit_app.accounts.models import Membership, PartnershipAgency, Role, Sector, User
from audit_app.core.errors import DomainError
from audit_app.extensions import db
from tests.conftest import PASSWORD, login


@pytest.fixture()
def admin(client, world):
    return login(client, world.user("admin"))


# -- sectors --


def test_admin_adds_and_renames_a_sector(admin, world):
    response = admin.post("/admin/sectors/new", data={"name": "Housing providers"})
    assert response.status_code == 302
    sector = db.session.scalar(sa.select(Sector).where(Sector.name == "Housing providers"))
    assert sector.key == "housing_providers"
    assert sector.partnership_id == world.partnership.id
    assert admin.post(f"/admin/sectors/{sector.id}/edit", data={"name": "Housing"}).status_code == 302
    db.session.refresh(sector)
    assert (sector.name, sector.key) == ("Housing", "housing_providers")


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", b"Enter a sector name"),
        ("x" * 121, b"Sector name must be 120 characters or fewer"),
        ("police", b"A sector with this name already exists"),
    ],
)
def test_bad_sector_names_are_refused(admin, world, name, message):
    count = db.session.scalar(sa.select(sa.func.count()).select_from(Sector))
    response = admin.post("/admin/sectors/new", data={"name": name})
    assert response.status_code == 400
    assert message in response.data
    assert b'href="#name"' in response.data  # the error summary links to the field
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Sector)) == count


# -- agencies --


def test_admin_creates_an_agency_and_sees_it_listed(admin, world):
    response = admin.post(
        "/admin/agencies/new", data={"name": "  Northside Academy ", "sector_id": str(world.police.sector_id)}
    )
    assert response.status_code == 302
    listing = admin.get("/admin/agencies")
    assert b"Northside Academy" in listing.data


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"name": "", "sector_id": "SECTOR"}, "name", b"Enter the agency&#39;s name"),
        ({"name": "A" * 201, "sector_id": "SECTOR"}, "name", b"200 characters or fewer"),
        ({"name": "north police", "sector_id": "SECTOR"}, "name", b"already exists in the partnership"),
        ({"name": "Fine Name", "sector_id": ""}, "sector_id", b"Select a sector"),
        ({"name": "Fine Name", "sector_id": "999999"}, "sector_id", b"Select one of the options in the list"),
        ({"name": "Fine Name", "sector_id": "abc"}, "sector_id", b"Select one of the options in the list"),
    ],
)
def test_bad_agency_input_is_refused_by_field(admin, world, data, field, message):
    data = {k: (str(world.police.sector_id) if v == "SECTOR" else v) for k, v in data.items()}
    before = db.session.scalar(sa.select(sa.func.count()).select_from(PartnershipAgency))
    response = admin.post("/admin/agencies/new", data=data)
    assert response.status_code == 400
    assert message in response.data
    assert f'href="#{field}"'.encode() in response.data
    assert db.session.scalar(sa.select(sa.func.count()).select_from(PartnershipAgency)) == before


def test_sector_of_another_partnership_cannot_be_used(admin, world):
    foreign = db.session.scalar(sa.select(Sector).where(Sector.partnership_id == world.other_partnership.id))
    response = admin.post("/admin/agencies/new", data={"name": "Sneaky", "sector_id": str(foreign.id)})
    assert response.status_code == 400


def test_rename_keeps_previous_names(admin, world):
    agency_id = world.police.agency_id
    response = admin.post(
        f"/admin/agencies/{agency_id}/edit",
        data={"name": "North Police Service", "sector_id": str(world.police.sector_id)},
    )
    assert response.status_code == 302
    admin.post(
        f"/admin/agencies/{agency_id}/edit",
        data={"name": "North Constabulary", "sector_id": str(world.police.sector_id)},
    )
    detail = admin.get(f"/admin/agencies/{agency_id}").data.decode()
    assert "North Constabulary" in detail
    assert "North Police Service; North Police" in detail


def test_deactivate_and_reactivate_an_agency(admin, world):
    agency_id = world.police.agency_id
    assert admin.post(f"/admin/agencies/{agency_id}/active", data={"active": "0"}).status_code == 302
    db.session.refresh(world.police)
    assert world.police.is_active is False
    # No new roles for an inactive agency.
    response = admin.post(
        f"/admin/users/{world.user('qa_member').id}/roles", data={"role": "auditor", "agency_id": str(agency_id)}
    )
    assert response.status_code == 400
    again = admin.post(f"/admin/agencies/{agency_id}/active", data={"active": "0"}, follow_redirects=True)
    assert b"already inactive" in again.data
    admin.post(f"/admin/agencies/{agency_id}/active", data={"active": "1"})
    db.session.refresh(world.police)
    assert world.police.is_active is True


def test_an_agency_can_serve_two_partnerships(client, world):
    login(client, world.user("other_admin"))
    page = client.get("/admin/agencies/link")
    assert b"North Police" in page.data
    south_police = db.session.scalar(
        sa.select(Sector).where(Sector.partnership_id == world.other_partnership.id, Sector.key == "police")
    )
    response = client.post(
        "/admin/agencies/link", data={"agency_id": str(world.police.agency_id), "sector_id": str(south_police.id)}
    )
    assert response.status_code == 302
    assert b"North Police" in client.get("/admin/agencies").data
    # Deactivating it in the south leaves it active in the north.
    client.post(f"/admin/agencies/{world.police.agency_id}/active", data={"active": "0"})
    db.session.refresh(world.police)
    assert world.police.is_active is True
    again = client.post(
        "/admin/agencies/link", data={"agency_id": str(world.police.agency_id), "sector_id": str(south_police.id)}
    )
    assert again.status_code == 400


# -- users and roles --


def test_admin_creates_a_user_with_a_password(admin, world):
    response = admin.post(
        "/admin/users/new",
        data={
            "name": "Pat Nurse",
            "email": "Pat.Nurse@North.example.org",
            "role": "agency_lead",
            "agency_id": str(world.health.agency_id),
            "method": "password",
            "password": "a-suitably-long-one",
        },
    )
    assert response.status_code == 302
    user = db.session.scalar(sa.select(User).where(User.email == "pat.nurse@north.example.org"))
    assert [(m.role, m.agency_id) for m in user.memberships] == [(Role.AGENCY_LEAD, world.health.agency_id)]
    assert user.password_hash.startswith("$argon2id$")


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"email": "not-an-email"}, "email", b"correct format"),
        ({"email": ""}, "email", b"Enter an email address"),
        ({"name": ""}, "name", b"Enter the person&#39;s name"),
        ({"role": "emperor"}, "role", b"Select one of the options in the list"),
        ({"role": "auditor", "agency_id": ""}, "agency_id", b"Select the agency this person works for"),
        ({"method": "password", "password": ""}, "password", b"Enter a password, or choose to send an invitation"),
        ({"method": "password", "password": "short"}, "password", b"between 12 and 256"),
        ({"email": "admin@north.example.org", "role": "admin"}, "role", b"already has this role"),
    ],
)
def test_bad_user_input_is_refused_by_field(admin, world, data, field, message):
    base = {
        "name": "Someone",
        "email": "someone@north.example.org",
        "role": "qa_member",
        "agency_id": "",
        "method": "invite",
    }
    before = db.session.scalar(sa.select(sa.func.count()).select_from(User))
    response = admin.post("/admin/users/new", data={**base, **data})
    assert response.status_code == 400
    assert message in response.data
    assert f'href="#{field}"'.encode() in response.data
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == before


def test_existing_email_gets_the_role_added(client, world, mailbox):
    login(client, world.user("other_admin"))
    response = client.post(
        "/admin/users/new",
        data={"name": "Whoever", "email": "qa@north.example.org", "role": "scrutineer", "method": "invite"},
        follow_redirects=True,
    )
    assert b"already had an account" in response.data
    user = world.user("qa_member")
    db.session.refresh(user)
    assert {(m.partnership_id, m.role) for m in user.memberships} == {
        (world.partnership.id, Role.QA_MEMBER),
        (world.other_partnership.id, Role.SCRUTINEER),
    }
    assert mailbox == []  # no invitation: they already have a password


def test_agency_of_another_partnership_cannot_be_given(admin, world):
    response = admin.post(
        f"/admin/users/{world.user('qa_member').id}/roles",
        data={"role": "auditor", "agency_id": str(world.other_agency.agency_id)},
    )
    assert response.status_code == 400


def test_roles_can_be_added_and_removed(admin, world):
    qa = world.user("qa_member")
    assert admin.post(f"/admin/users/{qa.id}/roles", data={"role": "scrutineer", "agency_id": ""}).status_code == 302
    membership = db.session.scalar(
        sa.select(Membership).where(Membership.user_id == qa.id, Membership.role == Role.SCRUTINEER)
    )
    assert admin.post(f"/admin/users/{qa.id}/roles/{membership.id}/remove").status_code == 302
    assert db.session.get(Membership, membership.id) is None


def test_the_last_admin_cannot_be_removed_or_deactivated(client, world):
    admin = world.user("admin")
    login(client, admin)
    membership = db.session.scalar(sa.select(Membership).where(Membership.user_id == admin.id))
    response = client.post(f"/admin/users/{admin.id}/roles/{membership.id}/remove", follow_redirects=True)
    assert b"at least one active admin" in response.data
    assert db.session.get(Membership, membership.id) is not None
    with pytest.raises(DomainError, match="at least one active admin"):
        services.set_user_active(admin, False, by=world.user("qa_member"), partnership_id=world.partnership.id)


def test_admin_cannot_deactivate_themselves_but_can_deactivate_others(admin, world):
    me = world.user("admin")
    response = admin.post(f"/admin/users/{me.id}/active", data={"active": "0"}, follow_redirects=True)
    assert b"cannot deactivate your own account" in response.data
    auditor = world.user("auditor")
    assert admin.post(f"/admin/users/{auditor.id}/active", data={"active": "0"}).status_code == 302
    db.session.refresh(auditor)
    assert auditor.is_active is False
    assert services.authenticate("auditor@north.example.org", PASSWORD) is None


def test_edit_user_refuses_a_taken_email(admin, world):
    auditor = world.user("auditor")
    response = admin.post(f"/admin/users/{auditor.id}/edit", data={"name": "A", "email": "qa@north.example.org"})
    assert response.status_code == 400
    assert b"Another account already uses this email" in response.data
    ok = admin.post(f"/admin/users/{auditor.id}/edit", data={"name": "Alex Auditor", "email": "alex@north.example.org"})
    assert ok.status_code == 302


def test_reinvite_sends_a_reset_link(admin, world, mailbox):
    response = admin.post(f"/admin/users/{world.user('auditor').id}/invite")
    assert response.status_code == 302
    assert len(mailbox) == 1
    assert "/set-password/" in mailbox[0].get_content()


def test_unknown_ids_are_404(admin, world):
    for url in [
        "/admin/agencies/999999",
        "/admin/users/999999",
        "/admin/sectors/999999/edit",
        "/admin/agencies/999999/edit",
    ]:
        assert admin.get(url).status_code == 404, url


def test_scrutineer_reads_users_but_sees_no_buttons(client, world):
    login(client, world.user("scrutineer"))
    page = client.get(f"/admin/users/{world.user('auditor').id}")
    assert page.status_code == 200
    main = page.data.split(b"<main")[1]
    assert b"Deactivate account" not in main
    assert b"Add role" not in main


# -- API tokens on the account page --


def test_user_creates_and_revokes_a_token(client, world):
    login(client, world.user("auditor"))
    page = client.post("/account", data={"name": "my report", "expires_in_days": "30"})
    assert page.status_code == 200
    assert b'id="new-token"' in page.data
    secret = page.data.split(b'id="new-token">')[1].split(b"<")[0].decode()
    assert secret.startswith("sat_")
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    # The secret is never shown again.
    assert secret.encode() not in client.get("/account").data
    from audit_app.accounts.models import ApiToken

    token = db.session.scalar(sa.select(ApiToken).where(ApiToken.name == "my report"))
    assert client.post(f"/account/tokens/{token.id}/revoke").status_code == 302
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).status_code == 401


def test_token_form_refuses_bad_input(client, world):
    login(client, world.user("auditor"))
    assert client.post("/account", data={"name": "", "expires_in_days": "30"}).status_code == 400
    assert client.post("/account", data={"name": "x" * 101, "expires_in_days": "30"}).status_code == 400
    response = client.post("/account", data={"name": "ok", "expires_in_days": "7"})
    assert response.status_code == 400
    assert b"Select one of the options in the list" in response.data


# -- account-wide changes across partnerships --


@pytest.fixture()
def shared_user(world):
    """The auditor also works in the south, where the north admin has no say."""
    auditor = world.user("auditor")
    services.add_membership(auditor, world.other_partnership.id, Role.QA_MEMBER)
    db.session.commit()
    return auditor


def test_admin_cannot_change_the_account_of_someone_working_elsewhere(admin, world, shared_user, mailbox):
    page = admin.get(f"/admin/users/{shared_user.id}").data
    assert b"also works in a partnership where you are not an admin" in page
    assert b"Change details" not in page
    assert (
        admin.post(
            f"/admin/users/{shared_user.id}/edit", data={"name": "X", "email": "takeover@evil.example.org"}
        ).status_code
        == 403
    )
    assert admin.post(f"/admin/users/{shared_user.id}/active", data={"active": "0"}).status_code == 403
    assert admin.post(f"/admin/users/{shared_user.id}/invite").status_code == 403
    assert mailbox == []
    db.session.refresh(shared_user)
    assert shared_user.email == "auditor@north.example.org" and shared_user.is_active
    # Roles here are still theirs to manage.
    membership = db.session.scalar(
        sa.select(Membership).where(
            Membership.user_id == shared_user.id, Membership.partnership_id == world.partnership.id
        )
    )
    assert admin.post(f"/admin/users/{shared_user.id}/roles/{membership.id}/remove").status_code == 302


def test_an_admin_of_every_partnership_can_change_the_account(admin, world, shared_user):
    services.add_membership(world.user("admin"), world.other_partnership.id, Role.ADMIN)
    db.session.commit()
    response = admin.post(f"/admin/users/{shared_user.id}/edit", data={"name": "Al", "email": "al@north.example.org"})
    assert response.status_code == 302


def test_deactivation_keeps_an_admin_in_every_partnership(world):
    other_admin = world.user("other_admin")
    services.add_membership(other_admin, world.partnership.id, Role.QA_MEMBER)
    db.session.commit()
    # The north admin deactivating the south's only admin would leave the south with none.
    with pytest.raises(DomainError, match="at least one active admin"):
        services.set_user_active(other_admin, False, by=world.user("admin"), partnership_id=world.partnership.id)


def test_partnership_settings_rename_the_qa_group(admin, world):
    assert admin.post("/admin/settings", data={"qa_group_name": ""}).status_code == 400
    assert admin.post("/admin/settings", data={"qa_group_name": "x" * 201}).status_code == 400
    assert admin.post("/admin/settings", data={"qa_group_name": "Learning Hub"}).status_code == 302
    login(admin, world.user("qa_member"))
    assert b"Learning Hub" in admin.get("/").data


def test_sessions_expire_when_idle(client, world, app):
    response = client.post("/login", data={"email": "admin@north.example.org", "password": PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "Expires=" in cookie
    assert app.permanent_session_lifetime.total_seconds() == app.config["SESSION_IDLE_MINUTES"] * 60


@pytest.mark.parametrize(
    ("url", "data", "message"),
    [
        ("/admin/settings", {"qa_group_name": "   "}, b"Enter the group&#39;s name"),
        ("/admin/sectors/new", {"name": "  "}, b"Enter a sector name"),
        ("/admin/agencies/new", {"name": "   ", "sector_id": "1"}, b"Enter the agency&#39;s name"),
    ],
)
def test_blank_text_is_refused_after_trimming(admin, world, url, data, message):
    response = admin.post(url, data=data)
    assert response.status_code == 400
    assert message in response.data


def test_a_person_s_history_never_names_people_of_another_partnership(admin, world, shared_user):
    """The auditor also works in the south: a change recorded there (by the south's admin) shows in the north's
    history of the person as made in another partnership, never with the south admin's email."""
    from audit_app.core.audit import AuditEvent

    db.session.add(
        AuditEvent(
            actor_id=world.user("other_admin").id,
            actor_label=world.user("other_admin").email,
            partnership_id=world.other_partnership.id,
            entity_type="User",
            entity_id=shared_user.id,
            action="update",
            before={"name": shared_user.name},
            after={"name": "Renamed in the south"},
        )
    )
    db.session.commit()
    page = admin.get(f"/history/user/{shared_user.id}").get_data(as_text=True)
    assert "Renamed in the south" in page and "Someone in another partnership" in page
    assert world.user("other_admin").email not in page
