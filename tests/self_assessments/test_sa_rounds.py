"""Section 11 self-assessment rounds on the shipped library questionnaire: planned, completed, declined or sent on
another template, and their return rates, through the pages and the API."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from audit_app.accounts import services as accounts
from audit_app.core.audit import system_actor
from audit_app.core.errors import DomainError, NotAllowedError
from audit_app.extensions import db
from audit_app.questionnaires.models import QuestionnaireVersion
from audit_app.rounds import services
from audit_app.rounds.models import Return, ReturnStatus, Round, RoundStatus
from tests.conftest import login, sector
from tests.factories import make_questionnaire, make_return_answered, make_round

S11 = "section11_self_assessment"


def _s11_version(partnership_id: int) -> QuestionnaireVersion:
    return make_questionnaire(partnership_id, library_key=S11)


def _return_of(round_: Round, agency_id: int) -> Return:
    return db.session.scalar(sa.select(Return).where(Return.round_id == round_.id, Return.agency_id == agency_id))


@pytest.fixture()
def schools(world):
    education = sector(world.partnership.id, "education")
    with system_actor("test:setup"):
        links = [accounts.create_agency(world.partnership.id, f"Primary School {n}", education) for n in (1, 2, 3, 4)]
        db.session.commit()
    return links


# -- planning --


def test_an_admin_plans_chooses_agencies_and_opens_a_section_11_round_on_the_pages(client, world, mailbox):
    version = _s11_version(world.partnership.id)
    db.session.commit()
    login(client, world.user("admin"))
    assert "Section 11 self-assessment (version 1)" in client.get("/rounds/new").get_data(as_text=True)
    planned = client.post(
        "/rounds/new",
        data={
            "title": "Section 11, 2027",
            "version_id": version.id,
            "opens_on-day": "1",
            "opens_on-month": "3",
            "opens_on-year": "2027",
            "due_on-day": "30",
            "due_on-month": "4",
            "due_on-year": "2027",
            "remind_days_before": "5",
            "remind_days_after": "3",
        },
    )
    assert planned.status_code == 302, planned.get_data(as_text=True)
    round_ = db.session.scalar(sa.select(Round).where(Round.title == "Section 11, 2027"))
    assert round_.kind.value == "self_assessment" and round_.remind_days_before == 5
    page = client.get(f"/rounds/{round_.id}").get_data(as_text=True)
    assert "Choose the agencies that must return" in page and "No agency has been chosen yet" in page
    # nothing of a case audit on a self-assessment's page
    for case_only in ("Re-audit of", "Sharing", "chair&#39;s report", "The audit meeting", "Add a case", ">Case<"):
        assert case_only not in page, case_only

    health = sector(world.partnership.id, "health")
    chosen = client.post(
        f"/rounds/{round_.id}/agencies", data={"agency_ids": [str(world.police.agency_id)], "sector_ids": [health.id]}
    )
    assert chosen.status_code == 302
    db.session.refresh(round_)
    assert {a.id for a in round_.agencies} == {world.police.agency_id, world.health.agency_id}
    # none chosen, and an agency of another partnership: refused, the page says why, nothing changes
    assert client.post(f"/rounds/{round_.id}/agencies", data={}).status_code == 400
    foreign = client.post(f"/rounds/{round_.id}/agencies", data={"agency_ids": [str(world.other_agency.agency_id)]})
    assert foreign.status_code == 400 and "active agencies of this partnership" in foreign.get_data(as_text=True)
    for hostile in (["x"], ["99999999999999999999"], ["-1"], ["1\x00"], [str(world.police.agency_id), ""]):
        assert client.post(f"/rounds/{round_.id}/agencies", data={"agency_ids": hostile}).status_code == 400, hostile
    assert client.post(f"/rounds/{round_.id}/agencies", data={"sector_ids": ["999999"]}).status_code == 400
    db.session.refresh(round_)
    assert len(round_.agencies) == 2

    assert client.post(f"/rounds/{round_.id}/status", data={"to": "open"}).status_code == 302
    returns = db.session.scalars(sa.select(Return).where(Return.round_id == round_.id)).all()
    assert sorted(r.agency_id for r in returns) == sorted([world.police.agency_id, world.health.agency_id])
    assert {r.round_case_id for r in returns} == {None}
    opened = client.get(f"/rounds/{round_.id}").get_data(as_text=True)
    assert "0 of 2 returns made (0%)" in opened
    assert "Email a reminder to every agency with returns outstanding" in opened


def test_a_round_is_planned_and_opened_through_the_api_for_a_whole_sector(api, world, schools):
    version = _s11_version(world.partnership.id)
    db.session.commit()
    qa = api(world.user("qa_member"))
    education = sector(world.partnership.id, "education")
    created = qa.post(
        "/api/v1/rounds",
        json={"title": "s11 api", "version_id": version.id, "due_on": "2027-04-30", "sector_ids": [education.id]},
    )
    assert created.status_code == 201, created.json
    assert created.json["kind"] == "self_assessment" and len(created.json["agencies"]) == 4
    round_id = created.json["id"]
    assert qa.post(f"/api/v1/rounds/{round_id}/status", json={"to": "open"}).status_code == 200
    rates = qa.get(f"/api/v1/rounds/{round_id}/return-rates")
    assert rates.status_code == 200
    assert rates.json["overall"]["asked"] == 4 and rates.json["overall"]["outstanding"] == 4
    assert [r["sector"] for r in rates.json["by_sector"]] == ["Education"]
    assert len(rates.json["not_returned"]) == 4 and rates.json["not_returned"][0]["status_label"] == "Not started"


# -- completing, declining, another template --


def test_the_agency_rates_criteria_with_evidence_saves_part_way_and_submits(client, world):
    round_ = make_round(world.partnership.id, version=_s11_version(world.partnership.id), agencies=[world.police])
    services.move_round(round_, RoundStatus.OPEN)
    db.session.commit()
    ret = _return_of(round_, world.police.agency_id)
    login(client, world.user("auditor"))
    section = client.get(f"/returns/{ret.id}/sections/leadership").get_data(as_text=True)
    for words in ("Fully met", "Partly met", "Not met", "Not applicable", "Evidence", "Areas for improvement"):
        assert words in section, words
    saved = client.post(
        f"/returns/{ret.id}/sections/leadership",
        data={
            "q-leadership_named_lead": "Partly met",
            "q-leadership_named_lead_evidence": "Deputy chief constable; in the force's safeguarding policy",
            "lock_version": ret.lock_version,
        },
    )
    assert saved.status_code in (200, 302), saved.get_data(as_text=True)[:500]
    db.session.refresh(ret)
    assert ret.status == ReturnStatus.IN_PROGRESS
    assert services.stored_answers(ret)["leadership_named_lead_evidence"].startswith("Deputy chief")
    make_return_answered(ret, world.user("agency_lead"), submit=True)
    assert ret.status == ReturnStatus.SUBMITTED


def test_a_lead_or_the_qa_group_records_a_return_sent_on_another_template(client, api, world):
    round_ = make_round(
        world.partnership.id, version=_s11_version(world.partnership.id), agencies=[world.police, world.health]
    )
    services.move_round(round_, RoundStatus.OPEN)
    db.session.commit()
    police = _return_of(round_, world.police.agency_id)
    health = _return_of(round_, world.health.agency_id)

    login(client, world.user("auditor"))
    assert "sent on another template" not in client.get(f"/returns/{police.id}").get_data(as_text=True)
    assert (
        client.post(f"/returns/{police.id}/alternative", data={"alternative-note": "Our own form"}).status_code == 403
    )

    login(client, world.user("agency_lead"))
    assert "Record that this return was sent on another template" in client.get(f"/returns/{police.id}").get_data(
        as_text=True
    )
    empty = client.post(f"/returns/{police.id}/alternative", data={"alternative-note": "  "})
    refused = empty.get_data(as_text=True)
    assert empty.status_code == 400 and refused.count("Enter a note") == 2  # the summary and the field
    assert 'href="#alternative-note"' in refused
    done = client.post(
        f"/returns/{police.id}/alternative", data={"alternative-note": "Sent the force's own audit, 3 March"}
    )
    assert done.status_code == 302
    db.session.refresh(police)
    assert police.status == ReturnStatus.ALTERNATIVE_TEMPLATE and police.note == "Sent the force's own audit, 3 March"
    assert "Submitted on another template" in client.get(f"/returns/{police.id}").get_data(as_text=True)
    # the lead of police cannot reach the hospital's return
    assert client.post(f"/returns/{health.id}/alternative", data={"alternative-note": "x"}).status_code == 404

    qa = api(world.user("qa_member"))
    bad = qa.post(f"/api/v1/returns/{health.id}/alternative", json={"note": ""})
    assert bad.status_code == 400 and "note" in bad.json["error"]["fields"]
    ok = qa.post(f"/api/v1/returns/{health.id}/alternative", json={"note": "Trust board paper, emailed"})
    assert ok.status_code == 200 and ok.json["status"] == "alternative_template"
    again = qa.post(f"/api/v1/returns/{health.id}/alternative", json={"note": "again"})
    assert again.status_code == 409


def test_the_service_refuses_an_empty_note_and_a_return_already_made(world):
    round_ = make_round(world.partnership.id, version=_s11_version(world.partnership.id), agencies=[world.police])
    services.move_round(round_, RoundStatus.OPEN)
    ret = _return_of(round_, world.police.agency_id)
    with pytest.raises(DomainError) as error:
        services.record_alternative_template(ret, by=world.user("qa_member"), note=" ")
    assert error.value.field == "note"
    make_return_answered(ret, world.user("agency_lead"), submit=True)
    with pytest.raises(NotAllowedError):
        services.record_alternative_template(ret, by=world.user("qa_member"), note="Own form")


# -- return rates --


def _hand_built_round(world, schools) -> Round:
    """Four primary schools (one submitted, one declined, one on another template, one late), the police
    (accepted) and the hospital (in progress, late)."""
    agencies = [world.police, world.health, *schools]
    round_ = make_round(world.partnership.id, version=_s11_version(world.partnership.id), agencies=agencies)
    services.move_round(round_, RoundStatus.OPEN)
    lead, qa = world.user("agency_lead"), world.user("qa_member")
    police = _return_of(round_, world.police.agency_id)
    make_return_answered(police, lead, submit=True)
    services.accept_return(police, by=qa)
    make_return_answered(_return_of(round_, world.health.agency_id), lead, limit=2)
    make_return_answered(_return_of(round_, schools[0].agency_id), lead, submit=True)
    services.decline_return(_return_of(round_, schools[1].agency_id), by=lead, reason="Academy trust audit instead")
    services.record_alternative_template(_return_of(round_, schools[2].agency_id), by=qa, note="Local authority form")
    round_.opens_on = date(2026, 1, 5)
    round_.due_on = date(2026, 2, 27)
    db.session.commit()
    return round_


def test_return_rates_by_sector_and_overall_with_and_without_declined_and_alternative(world, schools, clock):
    round_ = _hand_built_round(world, schools)
    clock.set(date(2026, 3, 2))
    by_sector, overall = services.return_rates(round_, world.partnership.id)
    rates = {r.sector: r for r in by_sector}
    assert list(rates) == ["Education", "Health", "Police"]
    schools_rate = rates["Education"]
    assert (schools_rate.asked, schools_rate.returned, schools_rate.declined, schools_rate.alternative) == (4, 1, 1, 1)
    assert (schools_rate.outstanding, schools_rate.late) == (1, 1)
    assert (schools_rate.percent, schools_rate.asked_less_declined, schools_rate.percent_less_declined) == (25, 2, 50)
    assert (rates["Police"].asked, rates["Police"].returned, rates["Police"].percent) == (1, 1, 100)
    assert (rates["Health"].outstanding, rates["Health"].late, rates["Health"].percent) == (1, 1, 0)
    assert (overall.asked, overall.returned, overall.declined, overall.alternative) == (6, 2, 1, 1)
    assert (overall.outstanding, overall.late, overall.percent, overall.percent_less_declined) == (2, 2, 33, 50)
    clock.set(date(2026, 2, 27))  # on the due date nothing is late yet
    assert services.return_rates(round_, world.partnership.id)[1].late == 0


def test_the_round_page_and_the_api_show_the_same_return_rates(client, api, world, schools, clock):
    round_ = _hand_built_round(world, schools)
    clock.set(date(2026, 3, 2))
    login(client, world.user("qa_member"))
    page = client.get(f"/rounds/{round_.id}").get_data(as_text=True)
    assert "2 of 6 returns made (33%); 2 of 4 leaving out those declined or sent on another template (50%)" in page
    assert "Return rates" in page and "All sectors" in page and "Late: 2" in page
    rates = api(world.user("scrutineer")).get(f"/api/v1/rounds/{round_.id}/return-rates").json
    assert rates["overall"] == {
        "sector": "",
        "asked": 6,
        "returned": 2,
        "declined": 1,
        "alternative": 1,
        "outstanding": 2,
        "late": 2,
        "asked_less_declined": 4,
        "percent": 33,
        "percent_less_declined": 50,
    }
    education = next(r for r in rates["by_sector"] if r["sector"] == "Education")
    assert (education["returned"], education["asked"]) == (1, 4)
    assert sorted(r["agency_name"] for r in rates["not_returned"]) == ["North Hospital", "Primary School 4"]
    assert all(r["late"] for r in rates["not_returned"])


def test_an_empty_round_has_no_rate_rather_than_a_division_by_zero(world):
    round_ = make_round(world.partnership.id, version=_s11_version(world.partnership.id))
    by_sector, overall = services.return_rates(round_, world.partnership.id)
    assert by_sector == [] and overall.asked == 0 and overall.percent is None and overall.percent_less_declined is None


# -- access --


def test_an_agency_sees_only_its_own_return_and_another_partnership_nothing(client, api, world, schools):
    round_ = make_round(
        world.partnership.id, version=_s11_version(world.partnership.id), agencies=[world.police, world.health]
    )
    services.move_round(round_, RoundStatus.OPEN)
    db.session.commit()
    police = _return_of(round_, world.police.agency_id)
    health = _return_of(round_, world.health.agency_id)
    login(client, world.user("auditor"))
    assert client.get(f"/returns/{police.id}").status_code == 200
    assert client.get(f"/returns/{health.id}").status_code == 404
    assert client.get(f"/rounds/{round_.id}").status_code == 403
    mine = api(world.user("auditor")).get("/api/v1/returns").json["items"]
    assert [r["agency_name"] for r in mine] == ["North Police"]
    assert api(world.user("auditor")).get(f"/api/v1/rounds/{round_.id}/return-rates").status_code == 403

    login(client, world.user("other_admin"))
    for url in (f"/rounds/{round_.id}", f"/returns/{police.id}"):
        assert client.get(url).status_code == 404, url
    assert client.post(f"/rounds/{round_.id}/agencies", data={"agency_ids": ["1"]}).status_code == 404
    assert client.post(f"/returns/{police.id}/alternative", data={"alternative-note": "x"}).status_code == 404
    other = api(world.user("other_admin"))
    assert other.get(f"/api/v1/rounds/{round_.id}/return-rates").status_code == 404
    assert other.post(f"/api/v1/returns/{police.id}/alternative", json={"note": "x"}).status_code == 404


def test_the_qa_group_marks_a_return_declined_for_the_agency_and_an_auditor_cannot(client, api, world):
    round_ = make_round(
        world.partnership.id, version=_s11_version(world.partnership.id), agencies=[world.police, world.health]
    )
    services.move_round(round_, RoundStatus.OPEN)
    db.session.commit()
    police = _return_of(round_, world.police.agency_id)
    health = _return_of(round_, world.health.agency_id)
    login(client, world.user("auditor"))
    assert "Decline this return" not in client.get(f"/returns/{police.id}").get_data(as_text=True)
    assert client.post(f"/returns/{police.id}/decline", data={"note": "No"}).status_code == 403
    login(client, world.user("qa_member"))
    assert "Why can the agency not complete it?" in client.get(f"/returns/{health.id}").get_data(as_text=True)
    assert client.post(f"/returns/{health.id}/decline", data={"note": "Trust in special measures"}).status_code == 302
    db.session.refresh(health)
    assert health.status == ReturnStatus.DECLINED and health.note == "Trust in special measures"
    declined = api(world.user("admin")).post(f"/api/v1/returns/{police.id}/decline", json={"reason": "Merged force"})
    assert declined.status_code == 200 and declined.json["status"] == "declined"


def test_the_findings_of_a_self_assessment_show_nothing_of_cases_or_the_panel(client, world, schools, clock):
    round_ = _hand_built_round(world, schools)
    login(client, world.user("qa_member"))
    page = client.get(f"/rounds/{round_.id}/findings").get_data(as_text=True)
    assert "6 returns asked for, 2 returned, 2 declined." in page
    assert "Return rates by sector" in page and "Return rates and grades" in page
    for case_only in (
        "Plan type",
        "Age band",
        "Ethnicity",
        "chair&#39;s report",
        "By agency and panel",
        "panel grades",
    ):
        assert case_only not in page, case_only
    assert "cases," not in page
