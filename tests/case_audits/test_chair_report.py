"""The audit meeting, the method, practitioners' involvement and the chair's report: pages, services, API."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from audit_app.case_audits import services
from audit_app.case_audits.models import ChairReport, PractitionerInvolvement, ReportRecommendation, SelectionMethod
from audit_app.core.audit import AuditEvent
from audit_app.core.errors import FieldErrors
from audit_app.extensions import db
from audit_app.questionnaires.models import QuestionnaireKind
from tests.case_audits.report_world import judged_round
from tests.conftest import login
from tests.factories import make_round


@pytest.fixture()
def round_(world):
    return judged_round(world)


def _meeting_form(world, **changes):
    form = {
        "meeting_on-day": "12",
        "meeting_on-month": "3",
        "meeting_on-year": "2027",
        "chair": "Jo Adams, independent chair",
        "attendees": "Designated nurse\nDetective sergeant, MASH",
        "agency_ids": [str(world.police.agency_id)],
        "period_from-day": "1",
        "period_from-month": "8",
        "period_from-year": "2026",
        "period_to-day": "31",
        "period_to-month": "1",
        "period_to-year": "2027",
        "selection_method": "random",
        "selection_criteria": "Referred for neglect, open to a child in need plan",
    }
    form.update(changes)
    return form


def test_the_meeting_and_method_are_recorded_and_audited(client, world, round_):
    login(client, world.user("qa_member"))
    page = client.get(f"/rounds/{round_.id}/meeting")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "None" not in body and "How were the cases selected?" in body
    response = client.post(f"/rounds/{round_.id}/meeting", data=_meeting_form(world))
    assert response.status_code == 303
    report = db.session.scalar(sa.select(ChairReport).where(ChairReport.round_id == round_.id))
    assert report.meeting_on == date(2027, 3, 12) and report.chair == "Jo Adams, independent chair"
    assert report.period_from == date(2026, 8, 1) and report.period_to == date(2027, 1, 31)
    assert report.selection_method == SelectionMethod.RANDOM
    assert [a.id for a in report.agencies_present] == [world.police.agency_id]
    events = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.entity_type == "ChairReport", AuditEvent.entity_id == report.id)
    ).all()
    assert events and events[0].actor_id == world.user("qa_member").id
    # a scrutineer reads it, and cannot change it
    login(client, world.user("scrutineer"))
    read = client.get(f"/rounds/{round_.id}/meeting").get_data(as_text=True)
    assert (
        "12 March 2027" in read
        and "Random sample" in read
        and "North Police" in read
        and "Save the meeting and method" not in read
    )
    assert client.post(f"/rounds/{round_.id}/meeting", data=_meeting_form(world, chair="Changed")).status_code == 403
    assert db.session.get(ChairReport, report.id).chair == "Jo Adams, independent chair"


def test_bad_meeting_fields_are_all_named_and_nothing_is_saved(client, world, round_):
    login(client, world.user("admin"))
    bad = _meeting_form(
        world,
        **{
            "meeting_on-day": "31",
            "meeting_on-month": "2",
            "period_to-year": "2025",
            "selection_method": "lottery",
            "chair": "x" * 201,
            "agency_ids": [str(world.other_agency.agency_id)],
        },
    )
    response = client.post(f"/rounds/{round_.id}/meeting", data=bad)
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    for message in (
        "Enter a real meeting date, like 27 3 2027",
        "The end of the audit period must be the same as or after its start",
        "Choose how the cases were selected",
        "200 characters or fewer",
        "Tick agencies involved with this round&#39;s cases only",
    ):
        assert message in body, message
    assert 'href="#period_to"' in body and 'id="chair-error"' in body
    assert db.session.scalar(sa.select(ChairReport).where(ChairReport.round_id == round_.id)) is None


def test_the_chair_writes_the_report_beside_the_figures(client, world, round_):
    login(client, world.user("qa_member"))
    page = client.get(f"/rounds/{round_.id}/chair-report").get_data(as_text=True)
    assert "The figures" in page and "Cases audited" in page and "Returns received" in page
    assert "6 of 6 (100%)" in page  # 3 cases x 2 agencies, all returned
    assert "None" not in page and "nan" not in page
    form = {
        "executive_summary": "Practice was safe in most cases.\nSupervision was the weak point.",
        "strengths": "Prompt strategy discussions",
        "challenges": "Supervision rarely recorded",
        "themes": "Management oversight",
        "why_it_matters": "Neglect harms development",
        "what_good_looks_like": "Reflective supervision, recorded",
        "recommendation-new-1": "Audit supervision records in six months",
        "recommendation-new-2": "",
        "recommendation-new-3": "Share this briefing with every team",
    }
    assert client.post(f"/rounds/{round_.id}/chair-report", data=form).status_code == 303
    recs = services.report_recommendations(round_)
    assert [(r.number, r.text) for r in recs] == [
        (1, "Audit supervision records in six months"),
        (2, "Share this briefing with every team"),
    ]
    first, second = recs
    # clear the first: the second becomes number 1 and keeps its id; a new one is added after it
    form2 = {
        **{k: v for k, v in form.items() if not k.startswith("recommendation")},
        f"recommendation-{first.id}": "",
        f"recommendation-{second.id}": "Share this briefing with every team and the board",
        "recommendation-new-1": "Re-audit in a year",
    }
    assert client.post(f"/rounds/{round_.id}/chair-report", data=form2).status_code == 303
    db.session.expire_all()
    recs = services.report_recommendations(round_)
    assert (recs[0].id, recs[0].number) == (second.id, 1)
    assert [r.text for r in recs] == ["Share this briefing with every team and the board", "Re-audit in a year"]
    assert db.session.get(ReportRecommendation, first.id) is None
    shown = client.get(f"/rounds/{round_.id}/chair-report").get_data(as_text=True)
    assert "Supervision was the weak point." in shown and "Recommendation 2" in shown
    login(client, world.user("scrutineer"))
    read = client.get(f"/rounds/{round_.id}/chair-report").get_data(as_text=True)
    assert "Re-audit in a year" in read and "<textarea" not in read
    assert client.post(f"/rounds/{round_.id}/chair-report", data=form).status_code == 403


def test_bad_report_fields_are_all_named_and_nothing_is_saved(client, world, round_):
    login(client, world.user("admin"))
    form = {
        "executive_summary": "x" * 10_001,
        "themes": "Fine",
        "recommendation-new-1": "y" * 10_001,
        "recommendation-new-2": "A good one",
    }
    response = client.post(f"/rounds/{round_.id}/chair-report", data=form)
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert 'href="#executive_summary"' in body and 'href="#recommendation-new-1"' in body
    assert body.count("Write 10,000 characters or fewer") == 4  # summary and beside each field
    assert db.session.scalar(sa.select(ChairReport).where(ChairReport.round_id == round_.id)) is None
    assert services.report_recommendations(round_) == []


def test_recommendations_of_another_round_are_refused(world, round_):
    other = judged_round(world, cases=1, title="Other audit")
    _, [rec] = services.save_chair_report(other, {}, [(None, "Theirs")])
    with pytest.raises(FieldErrors) as error:
        services.save_chair_report(round_, {"nonsense": "x"}, [(rec.id, "Mine now")])
    assert set(error.value.fields) == {"nonsense", "recommendations-1"}


def test_practitioners_invited_attended_and_their_view(client, world, round_):
    login(client, world.user("qa_member"))
    rc = round_.cases[0]
    police, health = world.police.agency_id, world.health.agency_id
    url = f"/rounds/{round_.id}/cases/{rc.id}/practitioners"
    assert "None" not in client.get(url).get_data(as_text=True)
    refused = client.post(url, data={f"agency-{health}-attended": "yes", f"agency-{police}-view": "v" * 10_001})
    assert refused.status_code == 400
    body = refused.get_data(as_text=True)
    assert "A practitioner who attended was invited: tick invited too" in body and "Write 10,000" in body
    assert db.session.scalars(sa.select(PractitionerInvolvement)).all() == []
    saved = client.post(
        url,
        data={
            f"agency-{police}-invited": "yes",
            f"agency-{police}-attended": "yes",
            f"agency-{police}-view": "The referral was delayed by a weekend",
            f"agency-{health}-invited": "yes",
        },
    )
    assert saved.status_code == 303
    stored = services.practitioner_involvement(rc)
    assert stored[police].attended and stored[police].view == "The referral was delayed by a weekend"
    assert stored[health].invited and not stored[health].attended
    summary = client.get(f"/rounds/{round_.id}/meeting").get_data(as_text=True)
    assert "2 of 2" in summary


def test_only_case_audits_have_a_meeting_and_a_chairs_report(client, world):
    sa_round = make_round(world.partnership.id, kind=QuestionnaireKind.SELF_ASSESSMENT, agencies=[world.police])
    db.session.commit()
    login(client, world.user("admin"))
    for url in (f"/rounds/{sa_round.id}/meeting", f"/rounds/{sa_round.id}/chair-report"):
        assert client.get(url).status_code == 404, url


# -- the API --


def test_api_meeting_chair_report_and_practitioners(world, round_, api):
    qa = api(world.user("qa_member"))
    empty = qa.get(f"/api/v1/rounds/{round_.id}/meeting").get_json()
    assert empty["chair"] == "" and empty["selection_method"] is None
    assert {a["name"] for a in empty["agencies_involved"]} == {"North Police", "North Hospital"}
    put = qa.put(
        f"/api/v1/rounds/{round_.id}/meeting",
        json={
            "meeting_on": "2027-03-12",
            "chair": "Jo Adams",
            "agency_ids": [world.police.agency_id, world.health.agency_id],
            "period_from": "2026-08-01",
            "period_to": "2027-01-31",
            "selection_method": "purposive",
            "selection_criteria": "Cases open to early help",
        },
    )
    assert put.status_code == 200, put.get_json()
    got = put.get_json()
    assert got["selection_method_label"] == SelectionMethod.PURPOSIVE.label
    assert [a["name"] for a in got["agencies_present"]] == ["North Hospital", "North Police"]

    bad = qa.put(
        f"/api/v1/rounds/{round_.id}/meeting",
        json={"period_from": "2027-02-01", "period_to": "2027-01-01", "agency_ids": [world.other_agency.agency_id]},
    )
    assert bad.status_code == 400
    assert set(bad.get_json()["error"]["fields"]) == {"period_to", "agency_ids"}
    assert qa.get(f"/api/v1/rounds/{round_.id}/meeting").get_json()["chair"] == "Jo Adams"

    report = qa.put(
        f"/api/v1/rounds/{round_.id}/chair-report",
        json={"executive_summary": "Safe practice", "recommendations": [{"text": "First"}, {"text": "Second"}]},
    ).get_json()
    first, second = report["recommendations"]
    assert (first["number"], second["number"]) == (1, 2)
    assert {f["label"] for f in report["figures"]} >= {"Cases audited", "Returns received"}
    reordered = qa.put(
        f"/api/v1/rounds/{round_.id}/chair-report",
        json={"recommendations": [{"id": second["id"], "text": "Second"}, {"id": first["id"], "text": "First, now 2"}]},
    ).get_json()
    assert [(r["id"], r["number"]) for r in reordered["recommendations"]] == [(second["id"], 1), (first["id"], 2)]
    assert reordered["executive_summary"] == "Safe practice"  # fields not given are kept
    too_long = qa.put(
        f"/api/v1/rounds/{round_.id}/chair-report", json={"themes": "t" * 10_001, "strengths": "s" * 10_001}
    )
    assert too_long.status_code == 400
    assert set(too_long.get_json()["error"]["fields"]) == {"themes", "strengths"}
    unknown = qa.put(
        f"/api/v1/rounds/{round_.id}/chair-report",
        json={"recommendations": [{"id": 2_000_000, "text": "x"}, {"id": first["id"], "text": "kept"}]},
    )
    assert unknown.status_code == 400
    assert unknown.get_json()["error"]["fields"] == {
        "recommendations.0.text": ["No such recommendation in this round's report"]
    }
    assert [r["text"] for r in qa.get(f"/api/v1/rounds/{round_.id}/chair-report").get_json()["recommendations"]] == [
        "Second",
        "First, now 2",
    ]

    rc = round_.cases[1]
    practitioners = qa.put(
        f"/api/v1/rounds/{round_.id}/cases/{rc.id}/practitioners",
        json={"practitioners": [{"agency_id": world.police.agency_id, "invited": True, "view": "Helpful"}]},
    )
    assert practitioners.status_code == 200
    rows = {p["agency"]: p for p in practitioners.get_json()["practitioners"]}
    assert rows["North Police"]["invited"] and rows["North Police"]["view"] == "Helpful"
    assert not rows["North Hospital"]["invited"]
    wrong = qa.put(
        f"/api/v1/rounds/{round_.id}/cases/{rc.id}/practitioners",
        json={
            "practitioners": [
                {"agency_id": world.other_agency.agency_id},
                {"agency_id": world.health.agency_id, "attended": True},
            ]
        },
    )
    assert wrong.status_code == 400
    assert set(wrong.get_json()["error"]["fields"]) == {"practitioners.0.agency_id", "practitioners.1.invited"}

    scrutineer = api(world.user("scrutineer"))
    assert scrutineer.get(f"/api/v1/rounds/{round_.id}/chair-report").get_json()["can_write"] is False
    assert scrutineer.put(f"/api/v1/rounds/{round_.id}/chair-report", json={"themes": "x"}).status_code == 403
