"""Case-audit rounds and returns through the pages."""

from __future__ import annotations

import io
from datetime import date

import pytest
import sqlalchemy as sa

from audit_app.accounts import services as accounts
from audit_app.accounts.models import Role
from audit_app.case_audits.models import Case
from audit_app.extensions import db
from audit_app.questionnaires import services as questionnaires
from audit_app.rounds import services
from audit_app.rounds.models import Return, ReturnStatus, Round, RoundStatus
from tests.conftest import login
from tests.questionnaires.test_questionnaire_spec import EXAMPLE


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
            "opens_on": ["1", "3", "2026"],  # GOV.UK date inputs: day, month, year under one name
            "due_on": ["1", "4", "2026"],
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
    # A colleague's click that arrives after the submit (a second tab, a slow connection) is told what
    # happened to the return, not that they lack permission; nothing changes.
    client.post("/logout")
    login(client, world.user("auditor"))
    late = client.post(f"/returns/{ret.id}/submit", follow_redirects=True)
    assert late.status_code == 200 and b"This return is submitted and cannot be submitted" in late.data
    late_save = client.post(
        f"/returns/{ret.id}/sections/recognition",
        data={"lock_version": ret.lock_version, "q-signs_recognised": "No"},
        follow_redirects=True,
    )
    assert late_save.status_code == 200 and b"This return is submitted and cannot be changed" in late_save.data
    db.session.refresh(ret)
    assert ret.status == ReturnStatus.SUBMITTED and services.stored_answers(ret)["signs_recognised"] == "Yes"


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
    empty = client.post(f"/returns/{ret.id}/decline", data={"note": ""})
    assert empty.status_code == 400
    # The lead can put the reason right there: the form is shown again, and the error links to it.
    assert (
        b"Why can your agency not complete it?" in empty.data
        and b'href="#note"' in empty.data
        and b'id="note"' in empty.data
    )
    assert (
        client.post(f"/returns/{ret.id}/decline", data={"note": "No involvement found in our records"}).status_code
        == 302
    )
    db.session.refresh(ret)
    assert ret.status == ReturnStatus.DECLINED


def test_opening_emails_each_agency_and_reports_who_has_nobody(client, world, version, mailbox):
    round_ = _plan(client, world, version)
    client.post(
        f"/rounds/{round_.id}/cases",
        data={"reference": "CS-1", "agency_ids": [str(world.police.agency_id), str(world.health.agency_id)]},
    )
    page = client.post(f"/rounds/{round_.id}/status", data={"to": "open"}, follow_redirects=True).data.decode()
    assert "Emailed 1 agencies: North Police" in page
    assert "North Hospital (nobody with an auditor or agency lead role)" in page
    assert len(mailbox) == 1
    assert set(mailbox[0]["To"].split(", ")) == {"auditor@north.example.org", "lead@north.example.org"}
    assert "1 return(s) to complete" in mailbox[0].get_content()
    assert "http://localhost/returns" in mailbox[0].get_content()


def test_chasing_and_automatic_reminders(client, world, open_round, mailbox, app):
    login(client, world.user("qa_member"))
    page = client.post(f"/rounds/{open_round.id}/chase", follow_redirects=True).data.decode()
    assert "Emailed 1 agencies" in page
    assert mailbox[-1]["Subject"] == "Reminder: audit returns outstanding for Neglect audit"
    assert client.post(f"/rounds/{open_round.id}/chase", data={"agency_id": "x"}).status_code == 400
    mailbox.clear()
    runner = app.test_cli_runner()
    # Due 1 April 2026: reminders 3 days before and 2 days after, and on no other day.
    quiet = runner.invoke(args=["reminders", "send", "--date", "2026-03-27"])
    assert "No reminders due today." in quiet.output and mailbox == []
    before = runner.invoke(args=["reminders", "send", "--date", "2026-03-29"])
    assert "Neglect audit: reminded 1 agencies" in before.output
    after = runner.invoke(args=["reminders", "send", "--date", "2026-04-03"])
    assert "reminded 1 agencies" in after.output
    assert len(mailbox) == 2
    # Once the police return is in, nobody is chased.
    ret = _return(open_round, world.police)
    ret.status = ReturnStatus.SUBMITTED
    db.session.commit()
    mailbox.clear()
    runner.invoke(args=["reminders", "send", "--date", "2026-04-03"])
    assert mailbox == []


def test_the_automatic_reminders_go_once_a_day_however_often_the_command_runs(world, open_round, mailbox, app, clock):
    """Run twice on the day a reminder is due (cron retried, two servers): each agency is emailed once."""
    clock.set(date(2026, 3, 29))
    runner = app.test_cli_runner()
    first = runner.invoke(args=["reminders", "send"])
    assert "Neglect audit: reminded 1 agencies" in first.output and len(mailbox) == 1
    again = runner.invoke(args=["reminders", "send"])
    assert "Neglect audit" not in again.output and len(mailbox) == 1
    # the next day it is due, it goes again
    clock.set(date(2026, 4, 3))
    runner.invoke(args=["reminders", "send"])
    assert len(mailbox) == 2


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"title": ""}, "title", b"Enter a title"),
        ({"version_id": ""}, "version_id", b"Choose a questionnaire"),
        ({"version_id": "999999"}, "version_id", b"Select one of the options"),
        ({"due_on": ["31", "2", "2026"]}, "due_on", b"Enter a real date"),
        ({"due_on": ["1", "2"]}, "due_on", b"day, month and year"),
        ({"due_on": ["", "4", "2026"]}, "due_on", b"Enter a real date"),
        ({"due_on": ["1", "1", "2026"]}, "due_on", b"on or after the opening date"),
        ({"remind_days_before": "-1"}, "remind_days_before", b"from 0 to 60"),
        ({"remind_days_after": "soon"}, "remind_days_after", b"Enter a whole number of days"),
    ],
)
def test_bad_round_plans_are_refused_by_field(client, world, version, data, field, message):
    login(client, world.user("qa_member"))
    base = {
        "title": "T",
        "version_id": str(version.id),
        "opens_on": ["1", "3", "2026"],
        "due_on": ["1", "4", "2026"],
        "remind_days_before": "3",
        "remind_days_after": "2",
    }
    response = client.post("/rounds/new", data={**base, **data})
    assert response.status_code == 400
    assert message in response.data
    assert f'href="#{field}"'.encode() in response.data
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Round)) == 0


def _submit(client, world, ret, answers):
    login(client, world.user("agency_lead"))
    db.session.refresh(ret)
    data = {"lock_version": ret.lock_version} | {f"q-{k}": v for k, v in answers.items()}
    assert client.post(f"/returns/{ret.id}/sections/recognition", data=data).status_code == 302
    assert client.post(f"/returns/{ret.id}/submit").status_code == 302
    client.post("/logout")


def test_discussion_shows_answers_side_by_side_and_records_judgements(client, world, open_round):
    police = _return(open_round, world.police)
    _submit(client, world, police, {"signs_recognised": "Partly", "recognition_grade": "Requires improvement"})
    login(client, world.user("qa_member"))
    round_case = open_round.cases[0]
    url = f"/rounds/{open_round.id}/cases/{round_case.id}/discussion"
    early = client.post(url, data={"case-grade": "Good"}, follow_redirects=True)
    assert b"once the round is closed" in early.data
    client.post(f"/rounds/{open_round.id}/status", data={"to": "closed"})
    page = client.get(url).data.decode()
    assert "North Police" in page and "North Hospital" in page and "Requires improvement" in page
    bad = client.post(url, data={"section-recognition-grade": "Superb"})
    assert bad.status_code == 400 and b'href="#section-recognition-grade"' in bad.data
    no_whom = client.post(url, data={"case-grade": "Good", "concern_escalated": "yes", "escalated_to": ""})
    assert no_whom.status_code == 400 and b"Say to whom" in no_whom.data
    bad_date = client.post(
        url,
        data={
            "concern_escalated": "yes",
            "escalated_to": "MASH",
            "escalated_on-day": "40",
            "escalated_on-month": "1",
            "escalated_on-year": "2026",
        },
    )
    assert bad_date.status_code == 400 and b"date of escalation" in bad_date.data
    ok = client.post(
        url,
        data={
            "section-recognition-grade": "Requires improvement",
            "section-recognition-strengths": "Police flagged risk quickly",
            "case-grade": "Requires improvement",
            "case-development": "Health were not at the strategy meeting",
            "case-recommendations": "Invite health to every strategy meeting",
            "concern_escalated": "yes",
            "escalated_to": "MASH team manager",
            "escalated_on-day": "2",
            "escalated_on-month": "4",
            "escalated_on-year": "2026",
        },
    )
    assert ok.status_code == 302
    from audit_app.case_audits.models import CaseJudgement

    judgements = {j.section_key: j for j in db.session.scalars(sa.select(CaseJudgement))}
    assert judgements["recognition"].grade.label == "Requires improvement"
    assert judgements[""].escalated_to == "MASH team manager"
    assert judgements[""].escalated_on.isoformat() == "2026-04-02"
    assert judgements[""].recommendations == "Invite health to every strategy meeting"
    assert judgements["recognition"].recommendations == ""  # recorded with the case's overall judgement only
    assert "Invite health to every strategy meeting" in client.get(url).get_data(as_text=True)


def test_agencies_see_other_answers_only_when_the_round_shares_them(client, world, open_round):
    police = _return(open_round, world.police)
    _submit(client, world, police, {"signs_recognised": "Yes", "recognition_grade": "Good"})
    url = f"/rounds/{open_round.id}/cases/{open_round.cases[0].id}/discussion"
    login(client, world.user("qa_member"))
    client.post(f"/rounds/{open_round.id}/status", data={"to": "closed"})
    client.post(f"/rounds/{open_round.id}/status", data={"to": "in_discussion"})
    client.post("/logout")
    login(client, world.user("auditor"))
    assert client.get(url).status_code == 403  # the round does not share
    open_round.shares_answers_in_discussion = True
    db.session.commit()
    page = client.get(url)
    assert page.status_code == 200 and b"North Hospital" in page.data
    assert b"Save the multi-agency judgement" not in page.data
    assert client.post(url, data={"case-grade": "Good"}).status_code == 403


def test_reaudit_carries_chosen_cases_and_the_case_shows_its_history(client, world, version):
    earlier = _plan(client, world, version)
    for ref in ("CS-1", "CS-2"):
        client.post(f"/rounds/{earlier.id}/cases", data={"reference": ref, "agency_ids": [str(world.police.agency_id)]})
    later = client.post(
        "/rounds/new", data={"title": "Re-audit", "version_id": str(version.id), "previous_round_id": str(earlier.id)}
    )
    assert later.status_code == 302
    later_round = db.session.scalar(sa.select(Round).where(Round.title == "Re-audit"))
    page = client.get(f"/rounds/{later_round.id}").data.decode()
    assert "Carry cases from Neglect audit" in page
    first = earlier.cases[0]
    assert (
        client.post(f"/rounds/{later_round.id}/carry", data={}, follow_redirects=True).data.count(
            b"Choose at least one case"
        )
        == 1
    )
    assert client.post(f"/rounds/{later_round.id}/carry", data={"round_case_ids": ["999999"]}).status_code == 400
    assert client.post(f"/rounds/{later_round.id}/carry", data={"round_case_ids": [str(first.id)]}).status_code == 302
    client.post(
        f"/rounds/{later_round.id}/cases", data={"reference": "CS-NEW", "agency_ids": [str(world.health.agency_id)]}
    )
    db.session.refresh(later_round)
    assert [(rc.case.reference, rc.previous_round_case_id) for rc in later_round.cases] == [
        ("CS-1", first.id),
        ("CS-NEW", None),
    ]
    history = client.get(f"/cases/{first.case_id}").data.decode()
    assert "Neglect audit" in history and "Re-audit" in history and "(re-audit)" in history
    assert client.get("/cases/999999").status_code == 404


def _workbook_rows(data: bytes):
    from openpyxl import load_workbook

    workbook = load_workbook(io.BytesIO(data))
    return workbook, workbook["Return"]


def _row_of(sheet, key):
    return next(r for r in range(4, sheet.max_row + 1) if sheet.cell(row=r, column=1).value == key)


def _upload(client, ret, workbook):
    buffer = io.BytesIO()
    workbook.save(buffer)
    return client.post(
        f"/returns/{ret.id}/workbook",
        data={"file": (io.BytesIO(buffer.getvalue()), "return.xlsx")},
        content_type="multipart/form-data",
    )


def test_offline_workbook_round_trip_and_cell_errors(client, world, open_round):
    ret = _return(open_round, world.police)
    login(client, world.user("auditor"))
    download = client.get(f"/returns/{ret.id}/workbook.xlsx")
    assert download.status_code == 200 and "attachment" in download.headers["Content-Disposition"]
    workbook, sheet = _workbook_rows(download.data)
    keys = [sheet.cell(row=r, column=1).value for r in range(4, sheet.max_row + 1)]
    assert "signs_recognised" in keys and "tools" not in keys  # only the police's questions
    assert sheet.data_validations.dataValidation  # drop-downs for the scale questions

    sheet.cell(row=_row_of(sheet, "signs_recognised"), column=6, value="Brilliant")
    sheet.cell(row=_row_of(sheet, "visits"), column=6, value="lots")
    key_row = _row_of(sheet, "visits") + 1
    sheet.cell(row=key_row, column=1, value="not_a_question")
    refused = _upload(client, ret, workbook)
    assert refused.status_code == 400
    html = refused.data.decode()
    assert f"Return!F{_row_of(sheet, 'signs_recognised')}: Choose one of" in html
    assert f"Return!F{_row_of(sheet, 'visits')}: Enter a number" in html
    assert f"Return!A{key_row}: &#39;not_a_question&#39; is not a question of this return" in html
    # A row below the template's questions is outside the workbook: refused before any answer is read.
    bad_row = sheet.max_row + 1
    sheet.cell(row=bad_row, column=6, value="x")
    outside = _upload(client, ret, workbook).data.decode()
    assert f"Return!F{bad_row}: this cell is outside the workbook&#39;s questions" in outside
    db.session.refresh(ret)
    assert ret.answers == []

    workbook, sheet = _workbook_rows(download.data)
    sheet.cell(row=_row_of(sheet, "signs_recognised"), column=6, value="Partly")
    sheet.cell(row=_row_of(sheet, "recognition_grade"), column=6, value="Good")
    sheet.cell(row=_row_of(sheet, "visits"), column=6, value=3)
    assert _upload(client, ret, workbook).status_code == 302
    db.session.refresh(ret)
    assert {a.question.key: a.value for a in ret.answers} == {
        "signs_recognised": "Partly",
        "recognition_grade": "Good",
        "visits": "3",
    }
    # The same (now stale) workbook again: someone has saved since it was downloaded.
    stale = _upload(client, ret, workbook)
    assert stale.status_code == 400 and b"Someone saved this return after the workbook was downloaded" in stale.data


def test_broken_uploads_are_refused(client, world, open_round):
    ret = _return(open_round, world.police)
    login(client, world.user("auditor"))
    for data, name, message in [
        (b"not a workbook", "return.xlsx", b"not a readable Excel workbook"),
        (b"a,b", "return.csv", b"Upload the .xlsx workbook"),
    ]:
        response = client.post(
            f"/returns/{ret.id}/workbook", data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data"
        )
        assert response.status_code == 400 and message in response.data
    assert client.post(f"/returns/{ret.id}/workbook", data={}).status_code == 400
    other = _return(open_round, world.health)
    login(client, world.user("qa_member"))
    workbook, _ = _workbook_rows(client.get(f"/returns/{other.id}/workbook.xlsx").data)
    login(client, world.user("auditor"))
    wrong = _upload(client, ret, workbook)
    assert wrong.status_code == 400 and b"this workbook is for another return" in wrong.data


def test_partnership_setting_lets_auditors_submit(client, world):
    login(client, world.user("admin"))
    assert client.post("/admin/settings", data={"qa_group_name": "QA", "auditors_can_submit": "y"}).status_code == 302
    db.session.refresh(world.partnership)
    assert world.partnership.auditors_can_submit is True
    client.post("/admin/settings", data={"qa_group_name": "QA"})
    db.session.refresh(world.partnership)
    assert world.partnership.auditors_can_submit is False


def test_oversized_workbook_is_refused(client, world, open_round, app):
    ret = _return(open_round, world.police)
    login(client, world.user("auditor"))
    big = io.BytesIO(b"PK" + b"0" * (5 * 1024 * 1024 + 10))
    response = client.post(
        f"/returns/{ret.id}/workbook", data={"file": (big, "return.xlsx")}, content_type="multipart/form-data"
    )
    assert response.status_code == 400
    assert b"5 MB or smaller" in response.data


def test_change_agencies_and_remove_cases(client, world, version):
    round_ = _plan(client, world, version)
    client.post(f"/rounds/{round_.id}/cases", data={"reference": "CS-1", "agency_ids": [str(world.police.agency_id)]})
    client.post(f"/rounds/{round_.id}/cases", data={"reference": "CS-2", "agency_ids": [str(world.police.agency_id)]})
    first, second = round_.cases
    page = client.get(f"/rounds/{round_.id}/cases/{first.id}/agencies")
    assert page.status_code == 200 and b'value="%d" checked' % world.police.agency_id in page.data
    none = client.post(f"/rounds/{round_.id}/cases/{first.id}/agencies", data={})
    assert none.status_code == 400 and b"Tick at least one agency" in none.data
    assert client.post(f"/rounds/{round_.id}/cases/{first.id}/agencies", data={"agency_ids": ["x"]}).status_code == 400
    saved = client.post(
        f"/rounds/{round_.id}/cases/{first.id}/agencies", data={"agency_ids": [str(world.health.agency_id)]}
    )
    assert saved.status_code == 302
    assert client.post(f"/rounds/{round_.id}/cases/{second.id}/remove").status_code == 302
    db.session.expire_all()
    assert [(rc.case.reference, [a.name for a in rc.agencies]) for rc in round_.cases] == [("CS-1", ["North Hospital"])]
    client.post(f"/rounds/{round_.id}/status", data={"to": "open"})
    refused = client.post(f"/rounds/{round_.id}/cases/{first.id}/remove", follow_redirects=True)
    assert b"only while the round is being planned" in refused.data
    # Adding an agency while open creates its return at once.
    client.post(
        f"/rounds/{round_.id}/cases/{first.id}/agencies",
        data={"agency_ids": [str(world.health.agency_id), str(world.police.agency_id)]},
    )
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Return).where(Return.round_id == round_.id)) == 2


def test_cohort_row_numbers_count_blank_lines(world):
    from audit_app.case_audits.cohort import CohortError, parse_cohort

    with pytest.raises(CohortError) as info:
        parse_cohort(
            b"reference,agencies\n\nCS-1,North Police\n\nJohn Smith,North Police\n",
            "c.csv",
            agency_names={"North Police"},
        )
    assert str(info.value.problems[0]).startswith("row 5, reference:")


def test_refused_choices_and_moves_name_their_field_in_plain_words(client, world, version):
    """Found by the form fuzzer: a tampered checkbox showed WTForms' "could not be coerced" under the raw key
    ``agency_ids``, and a tampered move button "Unknown round status" without naming anything."""
    round_ = _plan(client, world, version)
    client.post(f"/rounds/{round_.id}/cases", data={"reference": "CS-1", "agency_ids": [str(world.police.agency_id)]})
    case = round_.cases[0]
    refused = client.post(f"/rounds/{round_.id}/cases/{case.id}/agencies", data={"agency_ids": ["x", "2147483648"]})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "govuk-error-summary" in page
    assert "Select one of the options in the list" in page
    assert "could not be coerced" not in page and "agency_ids:" not in page
    moved = client.post(f"/rounds/{round_.id}/status", data={"to": ""})
    assert moved.status_code == 400
    assert "govuk-error-summary" in moved.data.decode() and "Move to: choose one of the round" in moved.data.decode()
