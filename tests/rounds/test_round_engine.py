"""The round engine: recipients per kind, per-kind state tables, return groups, shared rounds, one return per
round and agency, on the shipped library's self-assessment questionnaires."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from audit_app.accounts import services as accounts
from audit_app.accounts.session import build_principal
from audit_app.core.audit import system_actor
from audit_app.core.errors import ConflictError, DomainError, NotAllowedError
from audit_app.extensions import db
from audit_app.questionnaires import services as questionnaires
from audit_app.questionnaires.models import Questionnaire, QuestionnaireVersion
from audit_app.rounds import services
from audit_app.rounds.kinds import kind_rules
from audit_app.rounds.models import Return, ReturnGroup, ReturnStatus, RoundStatus
from audit_app.rounds.permissions import rounds_query
from tests.conftest import login, sector


def _library_version(partnership_id: int, key: str) -> QuestionnaireVersion:
    """The shipped library's questionnaire ``key``, imported and published (once per test)."""
    existing = db.session.scalar(
        sa.select(Questionnaire).where(Questionnaire.partnership_id == partnership_id, Questionnaire.key == key)
    )
    if existing is not None:
        return existing.versions[-1]
    item = next(item for item in questionnaires.library() if item["key"] == key)
    with system_actor("test:setup"):
        return questionnaires.import_questionnaire(partnership_id, item["data"], publish=True)


def _returns(round_id: int) -> list[Return]:
    return list(db.session.scalars(sa.select(Return).where(Return.round_id == round_id).order_by(Return.agency_id)))


def _section_11_round(world, agency_ids: list[int], title: str = "S11"):
    """A round in planning on the shipped Section 11 questionnaire, for the agencies given."""
    version = _library_version(world.partnership.id, "section11_self_assessment")
    return services.plan_round(
        world.partnership.id, title=title, version=version, opens_on=None, due_on=None, agency_ids=agency_ids
    )


@pytest.fixture()
def council(world):
    with system_actor("test:setup"):
        link = accounts.create_agency(
            world.partnership.id, "North Council", sector(world.partnership.id, "social_care")
        )
        db.session.commit()
    return link


def test_a_section_11_round_for_three_agencies_opens_with_exactly_three_returns(world, council):
    version = _library_version(world.partnership.id, "section11_self_assessment")
    agencies = [world.police.agency_id, world.health.agency_id, council.agency_id]
    round_ = services.plan_round(
        world.partnership.id, title="Section 11 2027", version=version, opens_on=None, due_on=None, agency_ids=agencies
    )
    services.move_round(round_, RoundStatus.OPEN)
    returns = _returns(round_.id)
    assert sorted(r.agency_id for r in returns) == sorted(agencies)
    assert {r.round_case_id for r in returns} == {None}
    assert {r.status for r in returns} == {ReturnStatus.NOT_STARTED}
    # Opening again (closed, reopened) creates nothing more.
    services.move_round(round_, RoundStatus.CLOSED)
    services.move_round(round_, RoundStatus.OPEN)
    assert len(_returns(round_.id)) == 3


def test_a_schools_round_takes_every_active_agency_of_the_chosen_sectors(world):
    education = sector(world.partnership.id, "education")
    with system_actor("test:setup"):
        schools = [accounts.create_agency(world.partnership.id, f"School {n}", education) for n in (1, 2, 3)]
        db.session.commit()
    version = _library_version(world.partnership.id, "schools_s175_self_assessment")
    round_ = services.plan_round(
        world.partnership.id, title="s175 2027", version=version, opens_on=None, due_on=None, sector_ids=[education.id]
    )
    services.move_round(round_, RoundStatus.OPEN)
    assert sorted(r.agency_id for r in _returns(round_.id)) == sorted(s.agency_id for s in schools)


def test_a_self_assessment_round_needs_its_agencies_before_it_opens(world):
    version = _library_version(world.partnership.id, "section11_self_assessment")
    round_ = services.plan_round(world.partnership.id, title="S11", version=version, opens_on=None, due_on=None)
    with pytest.raises(NotAllowedError, match="Choose at least one agency"):
        services.move_round(round_, RoundStatus.OPEN)
    assert _returns(round_.id) == []


def test_chosen_agencies_must_be_active_agencies_or_sectors_of_the_partnership(world):
    version = _library_version(world.partnership.id, "section11_self_assessment")
    round_ = services.plan_round(world.partnership.id, title="S11", version=version, opens_on=None, due_on=None)
    with pytest.raises(DomainError) as error:
        services.set_round_agencies(round_, agency_ids=[world.other_agency.agency_id])
    assert error.value.field == "agency_ids"
    south_sector = sector(world.other_partnership.id, "police")
    with pytest.raises(DomainError) as error:
        services.set_round_agencies(round_, agency_ids=[], sector_ids=[south_sector.id])
    assert error.value.field == "sector_ids"


def test_agencies_added_to_an_open_round_get_their_return_and_none_can_be_taken_off(world, council):
    round_ = _section_11_round(world, [world.police.agency_id])
    services.move_round(round_, RoundStatus.OPEN)
    services.set_round_agencies(round_, agency_ids=[world.police.agency_id, council.agency_id])
    assert len(_returns(round_.id)) == 2
    with pytest.raises(NotAllowedError):
        services.set_round_agencies(round_, agency_ids=[council.agency_id])


def test_a_case_audit_round_takes_its_agencies_from_its_cases(world):
    version = _library_version(world.partnership.id, "cse_case_audit")
    round_ = services.plan_round(world.partnership.id, title="CSE", version=version, opens_on=None, due_on=None)
    with pytest.raises(NotAllowedError, match="from its cases"):
        services.set_round_agencies(round_, agency_ids=[world.police.agency_id])
    with pytest.raises(NotAllowedError, match="at least one case"):
        services.move_round(round_, RoundStatus.OPEN)


def test_each_kind_has_its_own_state_table(world):
    """'In discussion' belongs to case audits only."""
    case_audit = _library_version(world.partnership.id, "cse_case_audit").questionnaire.kind
    self_assessment = _library_version(world.partnership.id, "section11_self_assessment").questionnaire.kind
    assert RoundStatus.IN_DISCUSSION in kind_rules(case_audit).moves[RoundStatus.CLOSED]
    assert RoundStatus.IN_DISCUSSION not in kind_rules(self_assessment).moves[RoundStatus.CLOSED]
    round_ = _section_11_round(world, [world.police.agency_id])
    services.move_round(round_, RoundStatus.OPEN)
    services.move_round(round_, RoundStatus.CLOSED)
    with pytest.raises(NotAllowedError):
        services.move_round(round_, RoundStatus.IN_DISCUSSION)
    services.move_round(round_, RoundStatus.REPORTED)
    assert round_.status == RoundStatus.REPORTED


def test_return_groups_are_defined_once_on_the_status():
    assert ReturnStatus.in_group(ReturnGroup.OUTSTANDING) == (
        ReturnStatus.NOT_STARTED,
        ReturnStatus.IN_PROGRESS,
        ReturnStatus.READY_FOR_SIGN_OFF,
        ReturnStatus.CHANGES_REQUESTED,
    )
    assert ReturnStatus.in_group(ReturnGroup.RETURNED) == (ReturnStatus.SUBMITTED, ReturnStatus.ACCEPTED)
    assert ReturnStatus.in_group(ReturnGroup.DECLINED) == (ReturnStatus.DECLINED, ReturnStatus.ALTERNATIVE_TEMPLATE)
    assert all(status.is_editable == (status.group == ReturnGroup.OUTSTANDING) for status in ReturnStatus)


def test_the_database_keeps_one_return_per_round_and_agency_without_a_case(world):
    round_ = _section_11_round(world, [world.police.agency_id])
    services.move_round(round_, RoundStatus.OPEN)
    with pytest.raises(IntegrityError), db.session.begin_nested():
        db.session.add(Return(round_id=round_.id, agency_id=world.police.agency_id, round_case_id=None))
        db.session.flush()
    assert len(_returns(round_.id)) == 1


def test_a_shared_round_is_seen_from_each_partnership_and_managed_from_its_own(world, client):
    round_ = _section_11_round(world, [world.police.agency_id], title="Shared S11")
    services.share_round(round_, world.other_partnership)
    with pytest.raises(ConflictError):
        services.share_round(round_, world.other_partnership)
    # An agency of the partnership it is shared with may be asked to return too.
    services.set_round_agencies(round_, agency_ids=[world.police.agency_id, world.other_agency.agency_id])
    services.move_round(round_, RoundStatus.OPEN)
    db.session.commit()
    assert len(_returns(round_.id)) == 2
    assert services.round_partnership_ids(round_) == [world.partnership.id, world.other_partnership.id]

    south_admin = world.user("other_admin")
    south = build_principal(south_admin.id, world.other_partnership.id, south_admin.memberships)
    assert round_.id in set(db.session.scalars(rounds_query(south).with_only_columns(sa.literal_column("rounds.id"))))

    login(client, south_admin)
    assert client.get(f"/rounds/{round_.id}").status_code == 200
    page = client.get(f"/rounds/{round_.id}").get_data(as_text=True)
    assert "Close for returns" not in page  # only the planning partnership manages it
    response = client.post(f"/rounds/{round_.id}/status", data={"to": "closed"})
    assert response.status_code == 403
    assert round_.status == RoundStatus.OPEN


def test_the_api_plans_a_self_assessment_round_for_chosen_agencies_and_opens_it(world, council, client):
    from audit_app.accounts import services as account_services

    version = _library_version(world.partnership.id, "section11_self_assessment")
    db.session.commit()
    with system_actor("test:setup"):
        _, secret = account_services.create_api_token(world.user("admin"), world.partnership.id, "engine test")
        db.session.commit()
    headers = {"Authorization": f"Bearer {secret}"}
    agencies = [world.police.agency_id, world.health.agency_id, council.agency_id]
    response = client.post(
        "/api/v1/rounds",
        json={"title": "Section 11 by API", "version_id": version.id, "agency_ids": agencies},
        headers=headers,
    )
    assert response.status_code == 201, response.json
    body = response.json
    assert sorted(a["id"] for a in body["agencies"]) == sorted(agencies)
    assert body["partnership_ids"] == [world.partnership.id]
    response = client.post(f"/api/v1/rounds/{body['id']}/status", json={"to": "open"}, headers=headers)
    assert response.status_code == 200, response.json
    assert len(_returns(body["id"])) == 3

    # Choosing agencies of another partnership is refused, naming the field.
    response = client.put(
        f"/api/v1/rounds/{body['id']}/agencies",
        json={"agency_ids": [world.other_agency.agency_id]},
        headers=headers,
    )
    assert response.status_code == 400
    assert "agency_ids" in response.json["error"]["fields"]


@pytest.mark.parametrize(
    ("statement", "constraint"),
    [
        ("UPDATE returns SET status = 'lost' WHERE id = :id", "ck_returns_status"),
        ("UPDATE rounds SET status = 'paused' WHERE id = :round_id", "ck_rounds_status"),
        ("UPDATE rounds SET due_on = '2026-01-01', opens_on = '2026-02-01' WHERE id = :round_id", "due_on"),
        ("UPDATE rounds SET remind_days_after = 61 WHERE id = :round_id", "reminder_days"),
    ],
)
def test_the_database_refuses_values_the_application_never_writes(world, statement, constraint):
    """Enum columns and a round's dates are checked by the database itself, whatever writes to it."""
    round_ = _section_11_round(world, [world.police.agency_id])
    services.move_round(round_, RoundStatus.OPEN)
    ret = _returns(round_.id)[0]
    with pytest.raises(IntegrityError) as error, db.session.begin_nested():
        db.session.execute(sa.text(statement), {"id": ret.id, "round_id": round_.id})
    assert "CHECK" in str(error.value).upper() or constraint in str(error.value)


def test_the_counting_rules_use_the_statuses_groups():
    """Return rates (pure pandas, no model imports) count the same statuses as the groups on the status."""
    from audit_app.reporting import aggregation

    assert tuple(s.value for s in ReturnStatus.in_group(ReturnGroup.RETURNED)) == aggregation.RETURNED
    assert tuple(s.value for s in ReturnStatus.in_group(ReturnGroup.DECLINED)) == aggregation.DECLINED
