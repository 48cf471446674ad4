"""Work queues: each role's home page counts what needs them, each count opening the return list filtered the
same way; the list's filters, order and scope, on the page and in the API; assigning a return to an auditor;
hand-off emails; chasing one agency; the whole return on one page; 'Save and continue'."""

from __future__ import annotations

import re
from datetime import date

import pytest
import sqlalchemy as sa

from audit_app.core.audit import AuditEvent, system_actor
from audit_app.extensions import db
from audit_app.questionnaires import answers
from audit_app.rounds import services
from audit_app.rounds.models import AgencyEmail, Return, ReturnStatus, RoundStatus
from tests.conftest import login
from tests.factories import make_return_answered, make_round, make_user, returns_of, valid_answers


def _round(world, *, title: str = "CSE audit", cases=("CS-1", "CS-2"), due: date | None = None, agencies=None):
    round_ = make_round(
        world.partnership.id,
        title=title,
        agencies=agencies or [world.police, world.health],
        cases=list(cases),
        status=RoundStatus.OPEN,
    )
    round_.due_on = due
    db.session.commit()
    return round_


def _police(round_, world) -> list[Return]:
    return [r for r in returns_of(round_) if r.agency_id == world.police.agency_id]


def _health(round_, world) -> list[Return]:
    return [r for r in returns_of(round_) if r.agency_id == world.health.agency_id]


def _counts(html: str, block: str) -> dict[str, int]:
    """The figures of one count list on the home page: key -> count."""
    found = re.findall(rf'<li id="{block}-(\w+)"><a[^>]*><span[^>]*>(\d+)</span>', html)
    return {key: int(number) for key, number in found}


def _cases(html: str) -> list[str]:
    """The case references of the return list's rows, in order."""
    return re.findall(r'/returns/\d+">([\w-]+)</a></td>', html)


# -- the home page --


def test_an_auditors_home_page_counts_their_agencys_returns_and_links_to_the_filtered_lists(client, world, clock):
    clock.set(date(2027, 5, 1))
    late_round = _round(world, title="Late round", due=date(2027, 4, 1))
    _round(world, title="Current round", cases=("CS-3",), due=date(2027, 6, 1))
    first, second = _police(late_round, world)
    make_return_answered(first, world.user("auditor"), limit=1)  # in progress
    with system_actor("test"):
        services.assign_return(second, world.user("auditor").id, by=world.user("agency_lead"))
    db.session.commit()
    login(client, world.user("auditor"))
    html = client.get("/").get_data(as_text=True)
    counts = _counts(html, "agency-counts")
    # police only: the hospital's three returns never count for the police's auditor
    assert counts == {"assigned": 1, "not_started": 2, "in_progress": 1, "changes_requested": 0, "late": 2}
    assert 'href="/returns?status=late"' in html and 'href="/returns?assigned=me"' in html
    assert "lead-counts" not in html and "qa-counts" not in html
    late = client.get("/returns?status=late").get_data(as_text=True)
    assert "2 returns matching the filters" in late and "CS-3" not in late
    assert late.count("govuk-tag--red") == 2
    mine = client.get("/returns?assigned=me").get_data(as_text=True)
    assert _cases(mine) == ["CS-2"]


def test_a_leads_and_the_qa_groups_counts(client, world, clock):
    clock.set(date(2027, 5, 1))
    round_ = _round(world, due=date(2027, 4, 1))
    first, second = _police(round_, world)
    make_return_answered(first, world.user("auditor"))
    with system_actor("test"):
        services.submit_return(first, by=world.user("auditor"), as_lead=False)  # ready for sign-off
    make_return_answered(second, world.user("agency_lead"), submit=True)  # submitted
    db.session.commit()
    login(client, world.user("agency_lead"))
    lead = client.get("/").get_data(as_text=True)
    assert _counts(lead, "lead-counts") == {"ready_for_sign_off": 1}
    assert "assigned" not in _counts(lead, "agency-counts")  # a lead is not assigned returns
    login(client, world.user("qa_member"))
    qa = client.get("/").get_data(as_text=True)
    # late: the ready-for-sign-off police return and the two hospital returns (the submitted one is in)
    assert _counts(qa, "qa-counts") == {"concern": 0, "submitted": 1, "late": 3, "ready_for_discussion": 0}
    assert 'href="/rounds?status=closed&amp;kind=case_audit"' in qa
    assert "agency-counts" not in qa and "admin-rounds" not in qa


def test_an_admins_rounds_by_state_and_agencies_with_nobody_to_complete_returns(client, world):
    _round(world)
    make_round(world.partnership.id, title="Planned", agencies=[world.police], cases=1)
    login(client, world.user("admin"))
    html = client.get("/").get_data(as_text=True)
    assert _counts(html, "admin-qa-counts") == {"concern": 0, "submitted": 0, "late": 0, "ready_for_discussion": 0}
    assert _counts(html, "admin-rounds") == {
        "planning": 1,
        "open": 1,
        "closed": 0,
        "in_discussion": 0,
        "reported": 0,
    }
    # the hospital has no auditor or lead; the police have both; South's agency is not North's
    assert re.findall(r'<ul class="govuk-list govuk-list--bullet" id="unstaffed">\s*<li><a[^>]*>([^<]+)</a>', html) == [
        "North Hospital"
    ]
    planning = client.get("/rounds?status=planning").get_data(as_text=True)
    assert "Planned" in planning and "CSE audit" not in planning
    assert client.get("/rounds?status=sideways").status_code == 400
    assert client.get("/rounds?kind=nonsense").status_code == 400


def test_the_home_page_runs_the_same_queries_however_many_returns(client, world, count_queries):
    for index, role in enumerate(("auditor", "agency_lead", "qa_member", "admin")):
        login(client, world.user(role))
        client.get("/")
        _round(world, title=f"Small {role}", cases=(f"S-{index}",))
        with count_queries() as few:
            assert client.get("/").status_code == 200
        _round(world, title=f"Big {role}", cases=[f"B-{index}-{n}" for n in range(15)])
        with count_queries() as many:
            assert client.get("/").status_code == 200
        assert few.count == many.count <= 16, (role, few.count, many.count)


def test_a_discussion_shared_with_the_agency_is_on_its_home_page(client, world):
    shared = make_round(
        world.partnership.id,
        title="Shared",
        agencies=[world.police],
        cases=["SH-1"],
        status=RoundStatus.IN_DISCUSSION,
        shares_answers_in_discussion=True,
    )
    make_round(
        world.partnership.id,
        title="Not shared",
        agencies=[world.police],
        cases=["NS-1"],
        status=RoundStatus.IN_DISCUSSION,
    )
    make_round(
        world.partnership.id,
        title="Hospital only",
        agencies=[world.health],
        cases=["HO-1"],
        status=RoundStatus.IN_DISCUSSION,
        shares_answers_in_discussion=True,
    )
    db.session.commit()
    login(client, world.user("auditor"))
    html = client.get("/").get_data(as_text=True)
    links = re.findall(r'id="shared-discussions">(.*?)</ul>', html, re.S)[0]
    assert "SH-1" in links and "NS-1" not in links and "HO-1" not in links
    url = f"/rounds/{shared.id}/cases/{shared.cases[0].id}/discussion"
    assert url in links
    assert client.get(url).status_code == 200


# -- the return list --


def test_the_list_filters_by_status_round_agency_and_case(client, world):
    first = _round(world, title="First", cases=("AB-1", "AB-2"))
    second = _round(world, title="Second", cases=("XY-9",))
    make_return_answered(_police(first, world)[0], world.user("auditor"), limit=1)
    db.session.commit()
    login(client, world.user("qa_member"))
    assert _cases(client.get("/returns?status=in_progress").get_data(as_text=True)) == ["AB-1"]
    assert sorted(_cases(client.get(f"/returns?round={second.id}").get_data(as_text=True))) == ["XY-9", "XY-9"]
    by_agency = client.get(f"/returns?agency={world.health.agency_id}").get_data(as_text=True)
    assert "North Police" not in by_agency.split('id="returns"')[1] and len(_cases(by_agency)) == 3
    assert sorted(_cases(client.get("/returns?case=ab-").get_data(as_text=True))) == ["AB-1", "AB-1", "AB-2", "AB-2"]
    assert _cases(client.get("/returns?case=%25").get_data(as_text=True)) == []  # a wildcard is just a character
    both = client.get(f"/returns?round={first.id}&agency={world.police.agency_id}&status=not_started")
    assert _cases(both.get_data(as_text=True)) == ["AB-2"]
    # pages keep the filters
    _round(world, title="Many", cases=[f"M-{n}" for n in range(48)], agencies=[world.health])
    paged = client.get(f"/returns?agency={world.health.agency_id}").get_data(as_text=True)
    assert f'href="/returns?page=2&amp;agency={world.health.agency_id}"' in paged


def test_bad_filters_are_a_400_naming_every_one_at_once(client, world, api):
    _round(world)
    login(client, world.user("qa_member"))
    page = client.get("/returns?status=lost&round=two&agency=-1&case=" + "x" * 41 + "&assigned=you")
    html = page.get_data(as_text=True)
    assert page.status_code == 400
    for field in ("status", "round", "agency", "case", "assigned"):
        assert f'href="#filter-{field}"' in html, field
    assert "Choose a status from the list" in html and "Choose a round from the list" in html
    response = api(world.user("qa_member")).get("/api/v1/returns?status=lost&round_id=two&agency_id=0&assigned=you")
    assert response.status_code == 400
    assert set(response.get_json()["error"]["fields"]) == {"status", "round_id", "agency_id", "assigned"}


def test_what_needs_action_comes_first(client, world, clock):
    clock.set(date(2027, 5, 1))
    round_ = _round(world, cases=("C-1", "C-2", "C-3", "C-4"), due=date(2027, 6, 1))
    police = {r.round_case.case.reference: r for r in _police(round_, world)}
    make_return_answered(police["C-1"], world.user("agency_lead"), submit=True)  # submitted
    make_return_answered(police["C-2"], world.user("agency_lead"), submit=True)
    with system_actor("test"):
        services.request_changes(police["C-2"], by=world.user("qa_member"), note="Add the dates")
    make_return_answered(police["C-3"], world.user("auditor"))
    with system_actor("test"):
        services.submit_return(police["C-3"], by=world.user("auditor"), as_lead=False)  # ready for sign-off
    db.session.commit()
    login(client, world.user("agency_lead"))
    lead = _cases(client.get("/returns").get_data(as_text=True))
    assert lead == ["C-2", "C-3", "C-4", "C-1"]  # sent back, to sign off, not started, then the one submitted
    login(client, world.user("auditor"))
    auditor = _cases(client.get("/returns").get_data(as_text=True))
    assert auditor[0] == "C-2" and auditor[-1] == "C-1"
    login(client, world.user("qa_member"))
    qa = _cases(client.get("/returns").get_data(as_text=True))
    assert qa[0] == "C-1"  # waiting for review
    clock.set(date(2027, 6, 2))  # now everything outstanding is late: still after the review
    login(client, world.user("qa_member"))  # a month on, the session has been idle too long
    qa_late = _cases(client.get("/returns").get_data(as_text=True))
    assert qa_late[0] == "C-1" and len(qa_late) == 8


@pytest.mark.parametrize(
    ("role", "sees_health"),
    [("auditor", False), ("agency_lead", False), ("qa_member", True), ("admin", True), ("scrutineer", True)],
)
def test_lists_and_counts_hold_only_the_returns_a_role_may_see(client, world, api, role, sees_health):
    round_ = _round(world)
    health = _health(round_, world)
    login(client, world.user(role))
    by_agency = client.get(f"/returns?agency={world.health.agency_id}").get_data(as_text=True)
    assert (len(_cases(by_agency)) == 2) is sees_health
    listed = api(world.user(role)).get(f"/api/v1/returns?agency_id={world.health.agency_id}").get_json()
    assert (listed["total"] == 2) is sees_health
    assert ({r["id"] for r in listed["items"]} == {r.id for r in health}) is sees_health
    # another partnership's admin sees none of North's
    assert api(world.user("other_admin")).get("/api/v1/returns").get_json()["total"] == 0


def test_the_api_lists_with_the_same_filters_and_order(world, api, clock):
    clock.set(date(2027, 5, 1))
    round_ = _round(world, cases=("K-1", "K-2"), due=date(2027, 4, 1))
    first, second = _police(round_, world)
    make_return_answered(first, world.user("agency_lead"), submit=True)
    db.session.commit()
    qa = api(world.user("qa_member"))
    body = qa.get("/api/v1/returns").get_json()
    assert body["items"][0]["id"] == first.id and body["items"][0]["status"] == "submitted"
    late = qa.get("/api/v1/returns?status=late").get_json()
    assert late["total"] == 3 and all(item["is_late"] for item in late["items"])
    assert qa.get("/api/v1/returns?case=K-2").get_json()["total"] == 2
    assert qa.get(f"/api/v1/returns?round_id={round_.id}&agency_id={world.police.agency_id}").get_json()["total"] == 2
    item = qa.get(f"/api/v1/returns/{second.id}").get_json()
    assert item["round_title"] == "CSE audit" and item["assigned_to_id"] is None and item["is_late"] is True


# -- assigning a return --


def test_a_lead_assigns_a_return_to_an_auditor_of_the_agency(client, world):
    round_ = _round(world)
    ret = _police(round_, world)[0]
    other_auditor = make_user(world.partnership.id, world.user("auditor").memberships[0].role, agency=world.health)
    db.session.commit()
    login(client, world.user("agency_lead"))
    page = client.get(f"/returns/{ret.id}").get_data(as_text=True)
    assert 'id="assigned_to_id"' in page and world.user("auditor").name in page
    assert other_auditor.name not in page  # only the police's auditors are offered
    refused = client.post(f"/returns/{ret.id}/assign", data={"assigned_to_id": str(other_auditor.id)})
    assert refused.status_code == 400 and "Choose an active auditor of North Police" in refused.get_data(as_text=True)
    assert db.session.get(Return, ret.id).assigned_to_id is None
    assert client.post(f"/returns/{ret.id}/assign", data={"assigned_to_id": "abc"}).status_code == 400
    done = client.post(f"/returns/{ret.id}/assign", data={"assigned_to_id": str(world.user("auditor").id)})
    assert done.status_code == 302
    assert db.session.get(Return, ret.id).assigned_to_id == world.user("auditor").id
    change = db.session.scalar(
        sa.select(AuditEvent)
        .where(AuditEvent.entity_type == "Return", AuditEvent.entity_id == ret.id)
        .order_by(AuditEvent.id.desc())
    )
    assert change.actor_id == world.user("agency_lead").id
    # the auditor cannot assign, but sees who it is assigned to
    login(client, world.user("auditor"))
    assert client.post(f"/returns/{ret.id}/assign", data={"assigned_to_id": ""}).status_code == 403
    mine = client.get(f"/returns/{ret.id}").get_data(as_text=True)
    assert 'id="assigned_to_id"' not in mine and world.user("auditor").name in mine


def test_assigning_through_the_api(world, api):
    round_ = _round(world)
    police, health = _police(round_, world)[0], _health(round_, world)[0]
    lead = api(world.user("agency_lead"))
    auditor_id = world.user("auditor").id
    done = lead.put(f"/api/v1/returns/{police.id}/assignment", json={"assigned_to_id": auditor_id})
    assert done.status_code == 200 and done.get_json()["assigned_to_name"] == world.user("auditor").name
    assert lead.put(f"/api/v1/returns/{health.id}/assignment", json={"assigned_to_id": None}).status_code == 404
    bad = api(world.user("qa_member")).put(
        f"/api/v1/returns/{health.id}/assignment", json={"assigned_to_id": auditor_id}
    )
    assert bad.status_code == 400 and "assigned_to_id" in bad.get_json()["error"]["fields"]
    assert lead.put(f"/api/v1/returns/{police.id}/assignment", json={}).status_code == 400
    cleared = lead.put(f"/api/v1/returns/{police.id}/assignment", json={"assigned_to_id": None})
    assert cleared.get_json()["assigned_to_id"] is None
    make_return_answered(police, world.user("agency_lead"), submit=True)
    db.session.commit()
    late = lead.put(f"/api/v1/returns/{police.id}/assignment", json={"assigned_to_id": auditor_id})
    assert late.status_code == 409


# -- hand-off emails --


def test_each_hand_off_emails_the_people_the_return_now_waits_for(client, world, mailbox):
    second_auditor = make_user(world.partnership.id, world.user("auditor").memberships[0].role, agency=world.police)
    round_ = _round(world)
    ret = _police(round_, world)[0]
    make_return_answered(ret, world.user("auditor"))
    db.session.commit()
    mailbox.clear()
    login(client, world.user("auditor"))
    client.post(f"/returns/{ret.id}/submit")
    assert [m["To"] for m in mailbox] == ["lead@north.example.org"]
    assert mailbox[0]["Subject"].startswith("Ready for your sign-off: CSE audit")
    assert f"/returns/{ret.id}/answers" in mailbox[0].get_content()
    mailbox.clear()
    login(client, world.user("agency_lead"))
    client.post(f"/returns/{ret.id}/submit")
    assert [m["To"] for m in mailbox] == ["qa@north.example.org"]
    assert mailbox[0]["Subject"].startswith("Submitted for review")
    mailbox.clear()
    login(client, world.user("qa_member"))
    client.post(f"/returns/{ret.id}/request-changes", data={"note": "Add the dates of the visits"})
    # nobody assigned: every auditor of the agency
    assert sorted(mailbox[0]["To"].split(", ")) == sorted(["auditor@north.example.org", second_auditor.email])
    assert "Add the dates of the visits" in mailbox[0].get_content()


def test_changes_requested_go_to_the_assigned_auditor_only(client, world, mailbox):
    second_auditor = make_user(world.partnership.id, world.user("auditor").memberships[0].role, agency=world.police)
    round_ = _round(world)
    ret = _police(round_, world)[0]
    with system_actor("test"):
        services.assign_return(ret, second_auditor.id, by=world.user("agency_lead"))
    make_return_answered(ret, world.user("agency_lead"), submit=True)
    db.session.commit()
    mailbox.clear()
    login(client, world.user("qa_member"))
    client.post(f"/returns/{ret.id}/request-changes", data={"note": "Say who visited"})
    assert [m["To"] for m in mailbox] == [second_auditor.email]


def test_a_refused_change_sends_no_email(client, world, mailbox):
    round_ = _round(world)
    ret = _police(round_, world)[0]
    mailbox.clear()
    login(client, world.user("auditor"))
    client.post(f"/returns/{ret.id}/submit")  # nothing answered: refused
    assert db.session.get(Return, ret.id).status == ReturnStatus.NOT_STARTED
    assert mailbox == []


# -- chasing one agency --


def test_chase_one_agency_on_the_page_and_in_the_api(client, world, api, mailbox):
    make_user(world.partnership.id, world.user("auditor").memberships[0].role, agency=world.health)
    round_ = _round(world)
    db.session.commit()
    login(client, world.user("qa_member"))
    page = client.get(f"/rounds/{round_.id}").get_data(as_text=True)
    assert "Email a reminder to this agency" in page and f'<option value="{world.health.agency_id}">' in page
    mailbox.clear()
    client.post(f"/rounds/{round_.id}/chase", data={"agency_id": str(world.health.agency_id)})
    assert len(mailbox) == 1 and "@test.example.org" in mailbox[0]["To"]
    chased = db.session.scalars(sa.select(AgencyEmail.agency_id).where(AgencyEmail.round_id == round_.id)).all()
    assert chased == [world.health.agency_id]
    mailbox.clear()
    qa = api(world.user("qa_member"))
    one = qa.post(f"/api/v1/rounds/{round_.id}/chase", json={"agency_id": world.police.agency_id})
    assert one.status_code == 200 and one.get_json() == {"agencies_emailed": 1}
    assert [m["To"] for m in mailbox] == ["auditor@north.example.org, lead@north.example.org"]
    assert qa.post(f"/api/v1/rounds/{round_.id}/chase", json={}).get_json() == {"agencies_emailed": 2}
    stranger = qa.post(f"/api/v1/rounds/{round_.id}/chase", json={"agency_id": world.other_agency.agency_id})
    assert stranger.status_code == 400 and "agency_id" in stranger.get_json()["error"]["fields"]
    assert qa.post(f"/api/v1/rounds/{round_.id}/chase", json={"agency_id": "x"}).status_code == 400
    bad_page = client.post(f"/rounds/{round_.id}/chase", data={"agency_id": str(world.other_agency.agency_id)})
    assert bad_page.status_code == 303
    with system_actor("test"):
        services.move_round(round_, RoundStatus.CLOSED)
    db.session.commit()
    assert qa.post(f"/api/v1/rounds/{round_.id}/chase", json={}).status_code == 409


# -- the whole return on one page, and the section pages --


def test_the_whole_return_on_one_page_for_the_lead_and_the_qa_group(client, world):
    round_ = _round(world)
    ret = _police(round_, world)[0]
    given = valid_answers(ret)
    make_return_answered(ret, world.user("auditor"), answers=given)
    with system_actor("test"):
        services.submit_return(ret, by=world.user("auditor"), as_lead=False)
    db.session.commit()
    login(client, world.user("agency_lead"))
    html = client.get(f"/returns/{ret.id}/answers").get_data(as_text=True)
    sections = [s for s in ret.round.version.sections if services.applicable_questions(ret, s)]
    for section in sections:
        assert f'id="section-{section.key}"' in html
    stored = services.stored_answers(ret)
    asked = [q for q in services.applicable_questions(ret) if answers.shown(q, stored)]  # show-if conditions met
    assert html.count("govuk-summary-list__row") == len(asked)
    assert "Seen and recorded" in html and "Ready for sign-off" in html
    assert "Sign off and submit" in html and 'id="events"' in html
    assert "None" not in html.replace("govuk-!-display-none-print", "")
    login(client, world.user("qa_member"))
    qa = client.get(f"/returns/{ret.id}/answers").get_data(as_text=True)
    assert "Accept" not in qa and "Sign off" not in qa  # not submitted yet: nothing for the QA group to do
    make_return_answered(_police(round_, world)[1], world.user("agency_lead"), submit=True)
    db.session.commit()
    submitted = client.get(f"/returns/{_police(round_, world)[1].id}/answers").get_data(as_text=True)
    assert "Accept" in submitted and "Request changes" in submitted
    login(client, world.user("auditor"))
    assert client.get(f"/returns/{_health(round_, world)[0].id}/answers").status_code == 404


def test_save_and_continue_goes_to_the_next_section_then_to_check_answers(client, world):
    round_ = _round(world)
    ret = _police(round_, world)[0]
    sections = [s for s in ret.round.version.sections if services.applicable_questions(ret, s)]
    login(client, world.user("auditor"))
    for index, section in enumerate(sections):
        form = client.get(f"/returns/{ret.id}/sections/{section.key}").get_data(as_text=True)
        lock = re.search(r'name="lock_version" value="(\d+)"', form).group(1)
        button = "Save and continue" if index < len(sections) - 1 else "Save and check your answers"
        assert button in form
        response = client.post(
            f"/returns/{ret.id}/sections/{section.key}", data={"lock_version": lock, "then": "continue"}
        )
        following = sections[index + 1].key if index < len(sections) - 1 else None
        expected = f"/returns/{ret.id}/sections/{following}" if following else f"/returns/{ret.id}/answers"
        assert response.status_code == 302 and response.location.endswith(expected)
    back = client.post(
        f"/returns/{ret.id}/sections/{sections[0].key}",
        data={"lock_version": str(db.session.get(Return, ret.id).lock_version), "then": "tasks"},
    )
    assert back.location.endswith(f"/returns/{ret.id}")


def test_a_section_is_completed_only_when_every_question_asked_is_answered(client, world):
    round_ = _round(world)
    ret = _police(round_, world)[0]
    section = next(s for s in ret.round.version.sections if len(services.applicable_questions(ret, s)) > 1)
    questions = services.applicable_questions(ret, section)
    required = [q for q in questions if q.is_required]
    optional = [q for q in questions if not q.is_required]
    everything = valid_answers(ret)
    login(client, world.user("auditor"))
    if optional:
        make_return_answered(ret, world.user("auditor"), answers={q.key: everything[q.key] for q in required})
        db.session.commit()
        html = client.get(f"/returns/{ret.id}").get_data(as_text=True)
        state = re.search(rf"{re.escape(section.title)}</a>.*?task-list__status[^>]*>\s*(.*?)\s*</div>", html, re.S)
        assert "In progress" in state.group(1)  # every required one answered, an optional one not
    ret = db.session.get(Return, ret.id)
    make_return_answered(ret, world.user("auditor"), answers={q.key: everything[q.key] for q in questions})
    db.session.commit()
    html = client.get(f"/returns/{ret.id}").get_data(as_text=True)
    state = re.search(rf"{re.escape(section.title)}</a>.*?task-list__status[^>]*>\s*(.*?)\s*</div>", html, re.S)
    assert state.group(1).startswith("Completed")


def test_buttons_that_cannot_be_used_are_not_shown(client, world):
    round_ = _round(world)
    ret = _police(round_, world)[0]
    login(client, world.user("auditor"))
    empty = client.get(f"/returns/{ret.id}").get_data(as_text=True)
    assert "Mark ready for sign-off" not in empty and 'id="missing"' in empty  # nothing answered: no submit
    make_return_answered(ret, world.user("auditor"))
    db.session.commit()
    assert "Mark ready for sign-off" in client.get(f"/returns/{ret.id}").get_data(as_text=True)
    client.post(f"/returns/{ret.id}/submit")
    waiting = client.get(f"/returns/{ret.id}").get_data(as_text=True)
    assert "Mark ready for sign-off" not in waiting and "waiting for your agency lead" in waiting
    login(client, world.user("qa_member"))
    qa = client.get(f"/returns/{ret.id}").get_data(as_text=True)
    assert "Accept" not in qa and "Request changes" not in qa
    with system_actor("test"):
        services.move_round(round_, RoundStatus.CLOSED)
    db.session.commit()
    login(client, world.user("agency_lead"))
    closed = client.get(f"/returns/{ret.id}").get_data(as_text=True)
    assert "Sign off and submit" not in closed and "Decline" not in closed


# -- who may assign: role x agency (pure, no database) --

POLICE_ID, HEALTH_ID = 1, 2


@pytest.mark.parametrize(
    ("role", "agency_id", "return_agency_id", "allowed"),
    [
        ("admin", None, POLICE_ID, True),
        ("qa_member", None, POLICE_ID, True),
        ("agency_lead", POLICE_ID, POLICE_ID, True),
        ("agency_lead", POLICE_ID, HEALTH_ID, False),
        ("auditor", POLICE_ID, POLICE_ID, False),
        ("auditor", POLICE_ID, HEALTH_ID, False),
        ("scrutineer", None, POLICE_ID, False),
    ],
)
def test_who_may_assign_a_return(role, agency_id, return_agency_id, allowed):
    from audit_app.core.permissions import Principal
    from audit_app.core.roles import Role
    from audit_app.rounds.permissions import can_assign_return

    principal = Principal(
        user_id=1,
        partnership_id=1,
        roles=frozenset({Role(role)}),
        agency_roles=frozenset({(Role(role), agency_id)}) if agency_id else frozenset(),
    )
    assert can_assign_return(principal, Return(agency_id=return_agency_id)) is allowed
