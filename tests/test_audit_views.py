"""Case-audit rounds and returns through the pages."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

from audit_app.accounts import services as accounts
from audit_app.accounts.models import Role
from audit_app.audits.models import Case, Return, ReturnStatus, Round, RoundStatus
from audit_app.extensions import db
from audit_app.questionnaires import services as questionnaires

from .conftest import login
from .test_questionnaire_spec import EXAMPLE


@pytest.fixture()
def version(world):
    v = questionnaires.import_questionnaire(world.partnership.id, EXAMPLE, publish=True)
    db.session.commit()
    return v


def _plan(client, world, version) -> Round:
    login(client, world.user("qa_member"))
    response = client.post(
        "/rounds/new",
        data={
            "title": "Neglect audit",
            "version_id": str(version.id),
            "opens_on-day": "1",
            "opens_on-month": "3",
            "opens_on-year": "2026",
            "due_on-day": "1",
            "due_on-month": "4",
            "due_on-year": "2026",
        },
    )
    assert response.status_code == 302, response.data[-2000:]
    return db.session.scalar(sa.select(Round).where(Round.title == "Neglect audit"))


def test_plan_add_cases_and_open(client, world, version):
    round_ = _plan(client, world, version)
    bad = client.post(
        f"/rounds/{round_.id}/cases", data={"reference": "Jane Doe", "agency_ids": [str(world.police.agency_id)]}
    )
    assert bad.status_code == 400 and b"looks like a person&#39;s name" in bad.data
    none = client.post(f"/rounds/{round_.id}/cases", data={"reference": "CS-1", "agency_ids": []})
    assert none.status_code == 400 and b"Tick at least one agency" in none.data
    ok = client.post(
        f"/rounds/{round_.id}/cases",
        data={
            "reference": "CS-1",
            "age_band": "5-9",
            "agency_ids": [str(world.police.agency_id), str(world.health.agency_id)],
        },
    )
    assert ok.status_code == 302
    cohort = b"reference,plan_type,agencies\nChild K,Child protection,North Police\n"
    uploaded = client.post(
        f"/rounds/{round_.id}/cohort",
        data={"file": (io.BytesIO(cohort), "cohort.csv")},
        content_type="multipart/form-data",
    )
    assert uploaded.status_code == 302
    broken = client.post(
        f"/rounds/{round_.id}/cohort",
        data={"file": (io.BytesIO(b"age_band\n5-9\n"), "cohort.csv")},
        content_type="multipart/form-data",
    )
    assert broken.status_code == 400 and b"missing column &#39;reference&#39;" in broken.data
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Case)) == 2
    assert client.post(f"/rounds/{round_.id}/status", data={"to": "reported"}).status_code == 303
    assert client.post(f"/rounds/{round_.id}/status", data={"to": "open"}).status_code == 302
    db.session.refresh(round_)
    assert round_.status == RoundStatus.OPEN
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Return)) == 3
    page = client.get(f"/rounds/{round_.id}").data.decode()
    assert "Not started: 3" in page


@pytest.fixture()
def open_round(client, world, version):
    round_ = _plan(client, world, version)
    client.post(
        f"/rounds/{round_.id}/cases",
        data={"reference": "CS-1", "agency_ids": [str(world.police.agency_id), str(world.health.agency_id)]},
    )
    client.post(f"/rounds/{round_.id}/status", data={"to": "open"})
    client.post("/logout")
    return round_


def _return(round_, agency) -> Return:
    return db.session.scalar(
        sa.select(Return).where(Return.round_id == round_.id, Return.agency_id == agency.agency_id)
    )


def test_auditor_completes_over_two_visits_and_lead_signs_off(client, world, open_round):
    ret = _return(open_round, world.police)
    login(client, world.user("auditor"))
    mine = client.get("/returns").data.decode()
    assert "CS-1" in mine and "North Hospital" not in mine  # only their agency's returns
    task_list = client.get(f"/returns/{ret.id}").data.decode()
    assert "Recognition of risk" in task_list and "Not started" in task_list
    page = client.get(f"/returns/{ret.id}/sections/recognition").data.decode()
    assert 'name="lock_version"' in page
    lock = ret.lock_version
    bad = client.post(
        f"/returns/{ret.id}/sections/recognition", data={"lock_version": lock, "q-signs_recognised": "Brilliant"}
    )
    assert bad.status_code == 400 and b"Choose one of" in bad.data and b'href="#q-signs_recognised"' in bad.data
    first = client.post(
        f"/returns/{ret.id}/sections/recognition", data={"lock_version": lock, "q-signs_recognised": "Yes"}
    )
    assert first.status_code == 302
    # A second visit: the saved answer is still there, and a stale form is refused.
    assert b'value="Yes" checked' in client.get(f"/returns/{ret.id}/sections/recognition").data
    stale = client.post(
        f"/returns/{ret.id}/sections/recognition",
        data={"lock_version": lock, "q-recognition_grade": "Good"},
        follow_redirects=True,
    )
    assert b"Someone else saved this return" in stale.data
    db.session.refresh(ret)
    submit_early = client.post(f"/returns/{ret.id}/submit", follow_redirects=True)
    assert b"required question(s) are not answered" in submit_early.data
    client.post(
        f"/returns/{ret.id}/sections/recognition",
        data={"lock_version": ret.lock_version, "q-signs_recognised": "Yes", "q-recognition_grade": "Good"},
    )
    assert client.post(f"/returns/{ret.id}/submit").status_code == 302
    db.session.refresh(ret)
    assert ret.status == ReturnStatus.READY_FOR_SIGN_OFF
    client.post("/logout")
    login(client, world.user("agency_lead"))
    assert client.post(f"/returns/{ret.id}/submit").status_code == 302
    db.session.refresh(ret)
    assert ret.status == ReturnStatus.SUBMITTED


def test_qa_requests_changes_and_accepts(client, world, open_round):
    ret = _return(open_round, world.police)
    login(client, world.user("agency_lead"))
    client.post(
        f"/returns/{ret.id}/sections/recognition",
        data={"lock_version": ret.lock_version, "q-signs_recognised": "Yes", "q-recognition_grade": "Good"},
    )
    client.post(f"/returns/{ret.id}/submit")
    client.post("/logout")
    login(client, world.user("qa_member"))
    empty = client.post(f"/returns/{ret.id}/request-changes", data={"note": ""})
    assert empty.status_code == 400 and b"Enter a note" in empty.data
    assert (
        client.post(f"/returns/{ret.id}/request-changes", data={"note": "Evidence for the grade?"}).status_code == 302
    )
    db.session.refresh(ret)
    assert ret.status == ReturnStatus.CHANGES_REQUESTED
    client.post("/logout")
    login(client, world.user("agency_lead"))
    assert b"Evidence for the grade?" in client.get(f"/returns/{ret.id}").data
    db.session.refresh(ret)
    client.post(
        f"/returns/{ret.id}/sections/recognition",
        data={
            "lock_version": ret.lock_version,
            "q-signs_recognised": "Yes",
            "q-recognition_grade": "Requires improvement",
        },
    )
    client.post(f"/returns/{ret.id}/submit")
    client.post("/logout")
    login(client, world.user("qa_member"))
    assert client.post(f"/returns/{ret.id}/accept").status_code == 302
    db.session.refresh(ret)
    assert ret.status == ReturnStatus.ACCEPTED


def test_agencies_never_reach_each_others_returns(client, world, open_round):
    health_return = _return(open_round, world.health)
    login(client, world.user("auditor"))  # police
    for url in (f"/returns/{health_return.id}", f"/returns/{health_return.id}/sections/recognition"):
        assert client.get(url).status_code == 404
    assert client.post(f"/returns/{health_return.id}/sections/recognition", data={"lock_version": 1}).status_code == 404
    assert client.post(f"/returns/{health_return.id}/submit").status_code == 404
    other = accounts.create_user(
        world.other_partnership.id,
        email="aud@south.example.org",
        name="S",
        role=Role.AUDITOR,
        agency_id=world.other_agency.agency_id,
        password="a-long-password-here",
    )[0]
    db.session.commit()
    login(client, other)
    assert client.get(f"/returns/{health_return.id}").status_code == 404
    assert client.get(f"/rounds/{open_round.id}").status_code == 403


def test_decline_by_the_agency_lead(client, world, open_round):
    ret = _return(open_round, world.police)
    login(client, world.user("agency_lead"))
    assert client.post(f"/returns/{ret.id}/decline", data={"note": ""}).status_code == 400
    assert (
        client.post(f"/returns/{ret.id}/decline", data={"note": "No involvement found in our records"}).status_code
        == 302
    )
    db.session.refresh(ret)
    assert ret.status == ReturnStatus.DECLINED
