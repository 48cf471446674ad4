"""Year on year: a self-assessment round started from the previous one, each agency's return opening with its
last returned answers carried forward (matched on question key across versions) and marked for review."""

from __future__ import annotations

import copy

import pytest
import sqlalchemy as sa

from audit_app.core.audit import AuditEvent, system_actor
from audit_app.core.errors import ConflictError, NotAllowedError
from audit_app.extensions import db
from audit_app.rounds import carry, services
from audit_app.rounds.models import Answer, ReturnStatus, Round, RoundStatus
from tests.conftest import login
from tests.factories import make_questionnaire, make_round, returns_of

SCALES = [
    {
        "key": "met_three",
        "name": "Met",
        "levels": [
            {"label": "Met", "value": 2, "good": True},
            {"label": "Partly", "value": 1},
            {"label": "Not met", "value": 0},
        ],
    },
    {
        "key": "met_two",
        "name": "Met or not",
        "levels": [{"label": "Met", "value": 1, "good": True}, {"label": "Not met", "value": 0}],
    },
]

V1 = {
    "format": 1,
    "key": "yoy_s11",
    "title": "Year on year S11",
    "kind": "self_assessment",
    "scales": SCALES,
    "sections": [
        {
            "key": "lead",
            "title": "Leadership",
            "questions": [
                {"key": "named_lead", "text": "A named lead", "type": "scale", "scale": "met_three", "required": True},
                {"key": "board", "text": "Board reports", "type": "scale", "scale": "met_three"},
                {"key": "lead_notes", "text": "Evidence", "type": "text"},
            ],
        },
        {
            "key": "training",
            "title": "Training",
            "questions": [
                {"key": "trained", "text": "Staff trained", "type": "scale", "scale": "met_three"},
                {"key": "retired_q", "text": "An old question", "type": "text"},
            ],
        },
    ],
}


def _v2() -> dict:
    """Version 2: 'retired_q' removed, 'board' and 'trained' on a scale without 'Partly', a new question."""
    spec = copy.deepcopy(V1)
    lead, training = spec["sections"]
    lead["questions"][1]["scale"] = "met_two"
    training["questions"] = [
        {"key": "trained", "text": "Staff trained", "type": "scale", "scale": "met_two"},
        {"key": "new_q", "text": "A new question", "type": "text"},
    ]
    return spec


LAST_YEAR = {"named_lead": "Met", "board": "Partly", "lead_notes": "Minutes of May", "trained": "Met", "retired_q": "x"}


@pytest.fixture()
def last_year(world):
    """A closed round for police and health; police submitted LAST_YEAR, health left its return unfinished."""
    version = make_questionnaire(world.partnership.id, V1)
    round_ = make_round(
        world.partnership.id,
        version=version,
        title="S11 2025",
        agencies=[world.police, world.health],
        status=RoundStatus.OPEN,
    )
    police, health = sorted(returns_of(round_), key=lambda r: r.agency_id != world.police.agency_id)
    with system_actor("test:setup"):
        services.save_answers(police, LAST_YEAR, by=world.user("agency_lead"), expected_version=police.lock_version)
        services.submit_return(police, by=world.user("agency_lead"), as_lead=True)
        services.save_answers(health, {"named_lead": "Not met"}, by=world.user("admin"), expected_version=1)
        services.move_round(round_, RoundStatus.CLOSED)
    db.session.commit()
    return round_


def _next(world, last_year, *, new_version: bool = True, open_it: bool = True):
    if new_version:
        make_questionnaire(world.partnership.id, _v2())
    with system_actor("test:setup"):
        round_ = carry.plan_next_round(last_year, title="S11 2026", opens_on=None, due_on=None)
        if open_it:
            services.move_round(round_, RoundStatus.OPEN)
    db.session.commit()
    return round_


def _own(round_, world):
    return next(r for r in returns_of(round_) if r.agency_id == world.police.agency_id)


def _answers(ret) -> dict[str, tuple[str, bool]]:
    return {a.question.key: (a.value, a.carried_forward) for a in ret.answers}


def test_the_next_round_takes_the_newest_version_the_same_agencies_and_links_the_previous(world, last_year):
    round_ = _next(world, last_year, open_it=False)
    assert round_.previous_round_id == last_year.id
    assert round_.version.number == 2 and round_.version.questionnaire_id == last_year.version.questionnaire_id
    assert {a.id for a in round_.agencies} == {world.police.agency_id, world.health.agency_id}
    assert round_.status == RoundStatus.PLANNING


def test_only_a_closed_or_reported_self_assessment_can_be_started_from(world, last_year):
    with system_actor("test:setup"):
        services.move_round(last_year, RoundStatus.OPEN)
        with pytest.raises(NotAllowedError):
            carry.plan_next_round(last_year, title="Too soon", opens_on=None, due_on=None)
        case_round = make_round(world.partnership.id, agencies=[world.police], cases=1, status=RoundStatus.OPEN)
        services.move_round(case_round, RoundStatus.CLOSED)
        with pytest.raises(NotAllowedError):
            carry.plan_next_round(case_round, title="No", opens_on=None, due_on=None)


def test_opening_carries_the_last_returned_answers_forward_across_versions(world, last_year):
    round_ = _next(world, last_year)
    police = _own(round_, world)
    # 'board' was Partly, a level the new scale lacks; 'retired_q' is gone: both left out. 'trained' was Met
    # on the old scale and is Met on the new one (a different level row).
    assert _answers(police) == {
        "named_lead": ("Met", True),
        "lead_notes": ("Minutes of May", True),
        "trained": ("Met", True),
    }
    trained = next(a for a in police.answers if a.question.key == "trained")
    assert trained.scale_level.scale.key == "met_two" and trained.question.version_id == round_.questionnaire_version_id
    assert police.status == ReturnStatus.NOT_STARTED
    # health never returned last year: its unfinished answers are not carried
    health = next(r for r in returns_of(round_) if r.agency_id == world.health.agency_id)
    assert health.answers == []


def test_the_same_version_carries_every_answer(world, last_year):
    police = _own(_next(world, last_year, new_version=False), world)
    assert {k: v for k, (v, _) in _answers(police).items()} == LAST_YEAR


def test_saving_clears_the_flag_and_confirming_a_section_clears_it_there(world, last_year):
    police = _own(_next(world, last_year), world)
    lead = world.user("agency_lead")
    with system_actor("test:setup"):
        services.save_answers(police, {"named_lead": "Met"}, by=lead, expected_version=police.lock_version)
    assert _answers(police)["named_lead"] == ("Met", False)
    assert _answers(police)["lead_notes"] == ("Minutes of May", True)
    training = next(s for s in police.round.version.sections if s.key == "training")
    with system_actor("test:setup"):
        assert carry.confirm_carried(police, by=lead, expected_version=police.lock_version, section=training) == 1
    assert carry.carried_keys(police) == {"lead_notes"}
    with pytest.raises(ConflictError):
        carry.confirm_carried(police, by=lead, expected_version=police.lock_version - 1)


def test_submitting_with_answers_to_review_needs_confirmation(world, last_year):
    police = _own(_next(world, last_year), world)
    lead = world.user("agency_lead")
    with system_actor("test:setup"), pytest.raises(ConflictError) as refused:
        services.submit_return(police, by=lead, as_lead=True)
    assert refused.value.field == "confirm_carried" and refused.value.message.startswith("3 answers carried forward")
    with system_actor("test:setup"):
        assert services.submit_return(police, by=lead, as_lead=True, confirm_carried=True) == ReturnStatus.SUBMITTED


def test_the_audit_trail_records_the_carried_answers_and_their_review(world, last_year):
    police = _own(_next(world, last_year), world)
    with system_actor("test:setup"):
        carry.confirm_carried(police, by=world.user("agency_lead"), expected_version=police.lock_version)
    db.session.commit()
    ids = [a.id for a in police.answers]
    events = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.entity_type == "Answer", AuditEvent.entity_id.in_(ids))
    ).all()
    created = [e for e in events if e.action == "create"]
    assert len(created) == 3 and all(e.after["carried_forward"] is True for e in created)
    assert any(e.action == "update" and e.after.get("carried_forward") is False for e in events)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Answer).where(Answer.carried_forward)) == 0


# -- pages and API --


def test_an_admin_starts_the_next_round_from_the_rounds_page(world, last_year, client):
    make_questionnaire(world.partnership.id, _v2())
    login(client, world.user("admin"))
    page = client.get(f"/rounds/{last_year.id}").get_data(as_text=True)
    assert "Start next year&#39;s round from this one" in page or "Start next year's round from this one" in page
    form = client.get(f"/rounds/{last_year.id}/next")
    assert form.status_code == 200 and "version 2" in form.get_data(as_text=True)
    refused = client.post(f"/rounds/{last_year.id}/next", data={"title": ""})
    assert refused.status_code == 400 and "Enter a title" in refused.get_data(as_text=True)
    done = client.post(
        f"/rounds/{last_year.id}/next", data={"title": "S11 2026", "remind_days_before": "3", "remind_days_after": "2"}
    )
    assert done.status_code == 302
    new = db.session.scalar(sa.select(Round).where(Round.title == "S11 2026"))
    assert new.previous_round_id == last_year.id and new.version.number == 2
    # an open round offers nothing
    assert "Start next year" not in client.get(f"/rounds/{new.id}").get_data(as_text=True)
    assert client.get(f"/rounds/{new.id}/next").status_code == 303


def test_the_return_pages_mark_carried_answers_and_confirm_a_section(world, last_year, client):
    police = _own(_next(world, last_year), world)
    login(client, world.user("auditor"))
    listed = client.get("/returns").get_data(as_text=True)
    assert f'id="to-review-{police.id}">3 carried forward to review' in listed
    tasks = client.get(f"/returns/{police.id}").get_data(as_text=True)
    assert "3 answers carried forward from the previous round still to review" in tasks
    assert "2 carried forward to review" in tasks and "1 carried forward to review" in tasks
    section = client.get(f"/returns/{police.id}/sections/training").get_data(as_text=True)
    assert 'id="carried-trained"' in section and "Carried forward from S11 2025: review it" in section
    assert 'id="carried-new_q"' not in section and "Confirm unchanged" in section
    done = client.post(f"/returns/{police.id}/sections/training/confirm", data={"lock_version": police.lock_version})
    assert done.status_code == 302
    db.session.refresh(police)
    assert carry.carried_keys(police) == {"named_lead", "lead_notes"}
    assert "Confirm unchanged" not in client.get(f"/returns/{police.id}/sections/training").get_data(as_text=True)
    # saving the leadership section (unchanged) reviews its answers too
    saved = client.post(
        f"/returns/{police.id}/sections/lead",
        data={"lock_version": police.lock_version, "q-named_lead": "Met", "q-lead_notes": "Minutes of May"},
    )
    assert saved.status_code == 302
    db.session.refresh(police)
    assert carry.carried_keys(police) == set()


def test_submitting_on_the_page_asks_for_confirmation_first(world, last_year, client):
    police = _own(_next(world, last_year), world)
    login(client, world.user("agency_lead"))
    ask = client.post(f"/returns/{police.id}/submit")
    text = ask.get_data(as_text=True)
    assert ask.status_code == 200 and "Submit answers you have not reviewed?" in text
    assert "3 answers carried forward" in text and "confirm_carried=1" in text
    db.session.refresh(police)
    assert police.status == ReturnStatus.NOT_STARTED
    assert client.post(f"/returns/{police.id}/submit?confirm_carried=1").status_code == 302
    db.session.refresh(police)
    assert police.status == ReturnStatus.SUBMITTED


def test_the_api_starts_the_next_round_and_submit_needs_confirm_carried(world, last_year, api):
    made = api(world.user("qa_member")).post(f"/api/v1/rounds/{last_year.id}/next", json={"title": "S11 2026"})
    assert made.status_code == 201, made.json
    assert made.json["previous_round_id"] == last_year.id and made.json["version_number"] == 1
    with system_actor("test:setup"):
        services.move_round(db.session.get(Round, made.json["id"]), RoundStatus.OPEN)
    db.session.commit()
    police = _own(db.session.get(Round, made.json["id"]), world)
    lead = api(world.user("agency_lead"))
    got = lead.get(f"/api/v1/returns/{police.id}").json
    assert got["carried_forward"] == sorted(LAST_YEAR) and got["answers"]["board"] == "Partly"
    refused = lead.post(f"/api/v1/returns/{police.id}/submit")
    assert refused.status_code == 409 and "5 answers carried forward" in refused.get_data(as_text=True)
    confirmed = lead.post(
        f"/api/v1/returns/{police.id}/carried/confirm",
        json={"lock_version": got["lock_version"], "section_key": "lead"},
    )
    assert confirmed.status_code == 200 and confirmed.json["carried_forward"] == ["retired_q", "trained"]
    bad = lead.post(f"/api/v1/returns/{police.id}/carried/confirm", json={"lock_version": 1, "section_key": "nope"})
    assert bad.status_code == 400
    done = lead.post(f"/api/v1/returns/{police.id}/submit?confirm_carried=true")
    assert done.status_code == 200 and done.json["status"] == "submitted"
    # an open round cannot be started from; a case audit never can
    again = api(world.user("admin")).post(f"/api/v1/rounds/{made.json['id']}/next", json={"title": "x"})
    assert again.status_code == 409


def test_only_the_agencys_own_people_see_and_confirm_its_carried_answers(world, last_year, client, api):
    round_ = _next(world, last_year)
    health = next(r for r in returns_of(round_) if r.agency_id == world.health.agency_id)
    police = _own(round_, world)
    # the police auditor cannot reach health's return; the QA member sees it but cannot confirm for the agency
    login(client, world.user("auditor"))
    assert client.get(f"/returns/{health.id}").status_code == 404
    assert client.post(f"/returns/{health.id}/sections/lead/confirm", data={"lock_version": 1}).status_code == 404
    assert (
        api(world.user("auditor"))
        .post(f"/api/v1/returns/{health.id}/carried/confirm", json={"lock_version": 1})
        .status_code
        == 404
    )
    assert (
        api(world.user("qa_member"))
        .post(f"/api/v1/returns/{police.id}/carried/confirm", json={"lock_version": police.lock_version})
        .status_code
        == 403
    )
    assert api(world.user("other_admin")).post(
        f"/api/v1/rounds/{last_year.id}/next", json={"title": "x"}
    ).status_code in (
        403,
        404,
    )
