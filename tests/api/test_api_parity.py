"""The API does what the pages do: decline, carry, judgements, uploads, downloads, themes; lists paged."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from audit_app.case_audits import services as case_services
from audit_app.case_audits.models import CaseJudgement, RoundCase
from audit_app.extensions import db
from audit_app.questionnaires import services as questionnaires
from audit_app.rounds import services as rounds
from audit_app.rounds.models import Return, ReturnStatus, Round, RoundStatus
from tests.conftest import login
from tests.questionnaires.test_questionnaire_spec import EXAMPLE


@pytest.fixture()
def version(world):
    v = questionnaires.import_questionnaire(world.partnership.id, EXAMPLE, publish=True)
    db.session.commit()
    return v


def _round(world, version, title: str, *, previous: Round | None = None, cases=("CS-1",)) -> Round:
    round_ = rounds.plan_round(
        world.partnership.id, title=title, version=version, opens_on=None, due_on=None, previous_round=previous
    )
    for reference in cases:
        case_services.add_case(round_, agency_ids=[world.police.agency_id, world.health.agency_id], reference=reference)
    db.session.commit()
    return round_


@pytest.fixture()
def open_round(world, version):
    round_ = _round(world, version, "Neglect audit")
    rounds.move_round(round_, RoundStatus.OPEN)
    db.session.commit()
    return round_


def _police_return(round_, world) -> Return:
    return db.session.scalar(
        sa.select(Return).where(Return.round_id == round_.id, Return.agency_id == world.police.agency_id)
    )


# -- decline --


def test_agency_lead_declines_a_return_by_api_with_a_reason(api, world, open_round):
    ret = _police_return(open_round, world)
    url = f"/api/v1/returns/{ret.id}/decline"
    assert api(world.user("auditor")).post(url, json={"reason": "Not ours"}).status_code == 403
    # (the QA group may decline for the agency since issue 13: tests/self_assessments/test_sa_rounds.py)
    lead = api(world.user("agency_lead"))
    blank = lead.post(url, json={"reason": "  "})
    assert blank.status_code == 400 and "reason" in blank.json["error"]["fields"]
    assert lead.post(url, json={"why": "x"}).status_code == 400
    declined = lead.post(url, json={"reason": "The family moved before we were involved"})
    assert declined.status_code == 200
    assert declined.json["status"] == "declined" and declined.json["status_label"]
    assert declined.json["note"] == "The family moved before we were involved"
    db.session.refresh(ret)
    assert ret.status == ReturnStatus.DECLINED
    # once declined it cannot be declined again: the lead is told what state it is in (409), not that they
    # lack the role (403) -- their permission has not changed, the return has (issue 10)
    again = lead.post(url, json={"reason": "again"})
    assert again.status_code == 409 and "declined" in again.json["error"]["message"]
    assert api(world.user("auditor")).post(url, json={"reason": "again"}).status_code == 403


# -- re-audits --


def _closed_then_reaudit(world, version, *, cases=("CS-1", "CS-2")) -> tuple[Round, Round]:
    first = _round(world, version, "First audit", cases=cases)
    for status in (RoundStatus.OPEN, RoundStatus.CLOSED):
        rounds.move_round(first, status)
    db.session.commit()
    second = _round(world, version, "Re-audit", previous=first, cases=())
    return first, second


def test_cases_are_carried_into_a_reaudit_by_api(api, world, version):
    first, second = _closed_then_reaudit(world, version)
    qa = api(world.user("qa_member"))
    url = f"/api/v1/rounds/{second.id}/carry"
    assert qa.post(url, json={"round_case_ids": []}).status_code == 400
    foreign = qa.post(url, json={"round_case_ids": [999999]})
    assert foreign.status_code == 400 and "round_case_ids" in foreign.json["error"]["fields"]
    earlier = first.cases[0]
    carried = qa.post(url, json={"round_case_ids": [earlier.id]})
    assert carried.status_code == 200, carried.json
    [case] = carried.json["cases"]
    assert case["reference"] == earlier.case.reference and case["previous_round_case_id"] == earlier.id
    again = qa.post(url, json={"round_case_ids": [earlier.id]})
    assert again.status_code == 409 and "round_case_ids" in again.json["error"]["fields"]
    not_a_reaudit = qa.post(f"/api/v1/rounds/{first.id}/carry", json={"round_case_ids": [earlier.id]})
    assert not_a_reaudit.status_code in (400, 409) and "round_case_ids" in not_a_reaudit.json["error"]["fields"]
    assert api(world.user("scrutineer")).post(url, json={"round_case_ids": [earlier.id]}).status_code == 403


def test_an_earlier_case_added_by_reference_to_a_reaudit_is_linked_by_api(api, world, version):
    first, second = _closed_then_reaudit(world, version)
    qa = api(world.user("qa_member"))
    added = qa.post(
        f"/api/v1/rounds/{second.id}/cases", json={"reference": "CS-2", "agency_ids": [world.police.agency_id]}
    )
    assert added.status_code == 201
    earlier = next(rc for rc in first.cases if rc.case.reference == "CS-2")
    assert added.json["cases"][0]["previous_round_case_id"] == earlier.id
    new = qa.post(
        f"/api/v1/rounds/{second.id}/cases", json={"reference": "CS-NEW", "agency_ids": [world.police.agency_id]}
    )
    assert {c["reference"]: c["previous_round_case_id"] for c in new.json["cases"]}["CS-NEW"] is None


def test_an_earlier_case_added_by_reference_to_a_reaudit_is_linked_on_the_page(client, world, version):
    first, second = _closed_then_reaudit(world, version)
    login(client, world.user("qa_member"))
    response = client.post(
        f"/rounds/{second.id}/cases", data={"reference": "CS-1", "agency_ids": [str(world.police.agency_id)]}
    )
    assert response.status_code == 302
    linked = db.session.scalar(sa.select(RoundCase).where(RoundCase.round_id == second.id))
    assert linked.previous_round_case_id == next(rc.id for rc in first.cases if rc.case.reference == "CS-1")


# -- the panel's judgement --


@pytest.fixture()
def closed_round(open_round):
    rounds.move_round(open_round, RoundStatus.CLOSED)
    db.session.commit()
    return open_round


def test_the_panel_records_and_reads_back_its_judgement_by_api(api, world, closed_round):
    round_case = closed_round.cases[0]
    url = f"/api/v1/rounds/{closed_round.id}/cases/{round_case.id}/judgements"
    qa = api(world.user("qa_member"))
    empty = qa.get(url)
    assert empty.status_code == 200
    assert [s["section_key"] for s in empty.json["sections"]] == [s.key for s in closed_round.version.sections]
    assert empty.json["case"]["grade"] is None and empty.json["can_record"] is True
    labels = [level["label"] for level in empty.json["scale"]]
    assert "Good" in labels and all(level["id"] for level in empty.json["scale"])

    bad = qa.put(
        url,
        json={
            "sections": {"recognition": {"grade": "Brilliant"}, "nope": {"grade": "Good"}},
            "case": {"grade": "Splendid", "concern_escalated": True},
        },
    )
    assert bad.status_code == 400
    assert set(bad.json["error"]["fields"]) == {
        "sections.recognition.grade",
        "sections.nope",
        "case.grade",
        "case.escalated_to",
    }
    too_long = qa.put(url, json={"case": {"strengths": "x" * 10_001}})
    assert too_long.status_code == 400 and "case.strengths" in too_long.json["error"]["fields"]
    assert qa.put(url, json={"case": {"escalated_on": "last week"}}).json["error"]["fields"].keys() == {
        "case.escalated_on"
    }
    assert db.session.scalar(sa.select(sa.func.count(CaseJudgement.id))) == 0  # nothing half-saved

    saved = qa.put(
        url,
        json={
            "sections": {"recognition": {"grade": "Good", "strengths": "Early help offered"}},
            "case": {
                "grade": "Requires improvement",
                "areas_for_development": "Chronology",
                "recommendations": "Share the plan",
                "concern_escalated": True,
                "escalated_to": "Head of service",
                "escalated_on": "2026-05-01",
            },
        },
    )
    assert saved.status_code == 200, saved.json
    back = qa.get(url).json
    recognition = next(s for s in back["sections"] if s["section_key"] == "recognition")
    assert recognition["grade"] == "Good" and recognition["grade_level_id"] and recognition["section_title"]
    assert recognition["strengths"] == "Early help offered"
    assert back["case"]["grade"] == "Requires improvement" and back["case"]["escalated_on"] == "2026-05-01"
    assert back["case"]["recommendations"] == "Share the plan"
    # the same judgement on the discussion page
    assert api(world.user("scrutineer")).get(url).json["case"]["grade"] == "Requires improvement"
    assert api(world.user("scrutineer")).put(url, json={}).status_code == 403
    assert api(world.user("auditor")).get(url).status_code == 403


def test_judgements_wait_for_the_round_to_close(api, world, open_round):
    round_case = open_round.cases[0]
    url = f"/api/v1/rounds/{open_round.id}/cases/{round_case.id}/judgements"
    refused = api(world.user("qa_member")).put(url, json={"case": {"grade": "Good"}})
    assert refused.status_code == 409
    other = api(world.user("other_admin"))
    assert other.get(url).status_code == 404


# -- workbooks and cohorts as multipart uploads --


def _xlsx(workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _row_of(sheet, key):
    return next(r for r in range(4, sheet.max_row + 1) if sheet.cell(row=r, column=1).value == key)


def test_a_workbook_is_downloaded_and_uploaded_by_api(api, world, open_round):
    ret = _police_return(open_round, world)
    auditor = api(world.user("auditor"))
    download = auditor.get(f"/api/v1/returns/{ret.id}/workbook.xlsx")
    assert download.status_code == 200 and "attachment" in download.headers["Content-Disposition"]
    assert download.mimetype.endswith("spreadsheetml.sheet")
    url = f"/api/v1/returns/{ret.id}/workbook"

    assert auditor.post(url, json={"file": "x"}).status_code == 415
    missing = auditor.post(url, data={}, content_type="multipart/form-data")
    assert missing.status_code == 400 and "file" in missing.json["error"]["fields"]
    wrong_type = auditor.post(url, data={"file": (io.BytesIO(b"a,b"), "return.csv")})
    assert wrong_type.status_code == 400 and "file" in wrong_type.json["error"]["fields"]

    workbook = load_workbook(io.BytesIO(download.data))
    sheet = workbook["Return"]
    sheet.cell(row=_row_of(sheet, "signs_recognised"), column=6, value="Brilliant")
    sheet.cell(row=_row_of(sheet, "visits"), column=6, value="lots")
    refused = auditor.post(url, data={"file": (io.BytesIO(_xlsx(workbook)), "return.xlsx")})
    assert refused.status_code == 400
    cells = {(p["sheet"], p["cell"]) for p in refused.json["error"]["problems"]}
    assert ("Return", f"F{_row_of(sheet, 'signs_recognised')}") in cells
    assert ("Return", f"F{_row_of(sheet, 'visits')}") in cells
    assert len(refused.json["error"]["fields"]["file"]) == 2
    db.session.refresh(ret)
    assert ret.answers == []

    workbook = load_workbook(io.BytesIO(download.data))
    sheet = workbook["Return"]
    sheet.cell(row=_row_of(sheet, "signs_recognised"), column=6, value="Partly")
    sheet.cell(row=_row_of(sheet, "recognition_grade"), column=6, value="Good")
    saved = auditor.post(url, data={"file": (io.BytesIO(_xlsx(workbook)), "return.xlsx")})
    assert saved.status_code == 200, saved.json
    assert saved.json["answers"]["recognition_grade"] == "Good"
    stale = auditor.post(url, data={"file": (io.BytesIO(_xlsx(workbook)), "return.xlsx")})
    assert stale.status_code == 409 and "file" in stale.json["error"]["fields"]
    assert api(world.user("qa_member")).post(url, data={"file": (io.BytesIO(b""), "r.xlsx")}).status_code == 403


def test_a_cohort_file_is_uploaded_by_api(api, world, version):
    round_ = _round(world, version, "Cohort round", cases=())
    qa = api(world.user("qa_member"))
    url = f"/api/v1/rounds/{round_.id}/cohort"
    assert qa.post(url, json={}).status_code == 415
    bad = b"reference,plan_type,agencies\nMary Jones,Child protection,North Police\nChild K,Sometimes,Nobody\n"
    refused = qa.post(url, data={"file": (io.BytesIO(bad), "cohort.csv")})
    assert refused.status_code == 400
    problems = refused.json["error"]["problems"]
    assert {p["line"] for p in problems} == {2, 3} and all(p["column"] and p["message"] for p in problems)
    assert db.session.scalar(sa.select(sa.func.count(RoundCase.id)).where(RoundCase.round_id == round_.id)) == 0
    big = qa.post(url, data={"file": (io.BytesIO(b"x" * (2 * 1024 * 1024 + 1)), "cohort.csv")})
    assert big.status_code == 400 and "file" in big.json["error"]["fields"]
    good = b"reference,plan_type,agencies\nChild K,Child protection,North Police\n"
    added = qa.post(url, data={"file": (io.BytesIO(good), "cohort.csv")})
    assert added.status_code == 201, added.json
    assert [c["reference"] for c in added.json["cases"]] == ["Child K"]
    assert api(world.user("scrutineer")).post(url, data={"file": (io.BytesIO(good), "c.csv")}).status_code == 403


# -- downloads --


def _submitted(world, round_):
    for agency in (world.police, world.health):
        ret = db.session.scalar(
            sa.select(Return).where(Return.round_id == round_.id, Return.agency_id == agency.agency_id)
        )
        rounds.save_answers(
            ret,
            {"signs_recognised": "Yes", "recognition_grade": "Good"},
            by=world.user("admin"),
            expected_version=ret.lock_version,
        )
        ret.status = ReturnStatus.SUBMITTED
    db.session.commit()


def test_findings_tables_download_by_api_as_the_pages_do(api, client, world, open_round):
    _submitted(world, open_round)
    qa = api(world.user("qa_member"))
    tables = qa.get(f"/api/v1/rounds/{open_round.id}/findings").json["tables"]
    key = "grades"
    assert key in tables
    csv = qa.get(f"/api/v1/rounds/{open_round.id}/findings/download?format=csv&table={key}")
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    login(client, world.user("qa_member"))
    page = client.get(f"/rounds/{open_round.id}/findings?download=csv&table={key}")
    assert csv.data == page.data
    xlsx = qa.get(f"/api/v1/rounds/{open_round.id}/findings/download?format=xlsx")
    assert xlsx.status_code == 200
    sheets = load_workbook(io.BytesIO(xlsx.data)).sheetnames
    assert sheets[0] == "About" and len(sheets) == len(tables) + 1

    bad = qa.get(f"/api/v1/rounds/{open_round.id}/findings/download?format=pdf&suppress=maybe")
    assert bad.status_code == 400 and set(bad.json["error"]["fields"]) == {"format", "suppress"}
    unknown = qa.get(f"/api/v1/rounds/{open_round.id}/findings/download?format=csv&table=nope")
    assert unknown.status_code == 400 and "table" in unknown.json["error"]["fields"]
    no_table = qa.get(f"/api/v1/rounds/{open_round.id}/findings/download?format=csv")
    assert no_table.status_code == 400 and "table" in no_table.json["error"]["fields"]
    texts = qa.get(f"/api/v1/rounds/{open_round.id}/findings/texts/download?format=xlsx")
    assert texts.status_code == 200
    answers = qa.get(f"/api/v1/rounds/{open_round.id}/answers.xlsx")
    assert answers.status_code == 200 and load_workbook(io.BytesIO(answers.data)).sheetnames == ["Answers"]
    reaudit = qa.get(f"/api/v1/rounds/{open_round.id}/findings/re-audit/download?format=xlsx")
    assert reaudit.status_code == 200
    assert (
        api(world.user("auditor"))
        .get(f"/api/v1/rounds/{open_round.id}/findings/re-audit/download?format=xlsx")
        .status_code
        == 403
    )

    themes = qa.get("/api/v1/themes").json
    [theme] = themes["items"]
    assert theme["name"] == "Neglect" and theme["id"] == open_round.theme_id
    trend = qa.get(f"/api/v1/themes/{theme['id']}/trend/download?format=csv&table=trend")
    assert (
        trend.status_code == 200
        and trend.data == client.get(f"/themes/{theme['id']}/trend?download=csv&table=trend").data
    )
    assert qa.get(f"/api/v1/themes/{theme['id']}/answers.xlsx").status_code == 200
    by_theme = qa.get("/api/v1/findings/agency-theme/download?format=csv&table=agency_theme")
    assert by_theme.status_code == 200 and by_theme.data == client.get("/findings?download=csv&table=agency_theme").data
    years = qa.get("/api/v1/findings/agency-theme/download?format=xlsx&from_year=abc&to_year=1900")
    assert years.status_code == 400 and set(years.json["error"]["fields"]) == {"from_year", "to_year"}


def test_agency_downloads_carry_their_own_figures_only(api, client, world, open_round):
    _submitted(world, open_round)
    auditor = api(world.user("auditor"))
    csv = auditor.get(f"/api/v1/rounds/{open_round.id}/findings/download?format=csv&table=grades")
    assert csv.status_code == 200
    login(client, world.user("auditor"))
    assert csv.data == client.get(f"/rounds/{open_round.id}/findings?download=csv&table=grades").data


# -- pagination --


def test_every_list_is_paged(api, world, version):
    for n in range(3):
        _round(world, version, f"Round {n}", cases=())
    qa = api(world.user("qa_member"))
    first = qa.get("/api/v1/rounds?per_page=2")
    assert first.status_code == 200
    assert {k: first.json[k] for k in ("total", "page", "per_page", "pages")} == {
        "total": 3,
        "page": 1,
        "per_page": 2,
        "pages": 2,
    }
    second = qa.get("/api/v1/rounds?per_page=2&page=2").json
    assert len(first.json["items"]) == 2 and len(second["items"]) == 1
    assert {r["id"] for r in first.json["items"]}.isdisjoint({r["id"] for r in second["items"]})
    assert qa.get("/api/v1/rounds?per_page=2&page=3").status_code == 404
    bad = qa.get("/api/v1/rounds?page=0&per_page=500")
    assert bad.status_code == 400 and set(bad.json["error"]["fields"]) == {"page", "per_page"}
    assert qa.get("/api/v1/rounds?page=two").json["error"]["fields"].keys() == {"page"}
    admin = api(world.user("admin"))
    for url in (
        "/api/v1/sectors",
        "/api/v1/agencies",
        "/api/v1/users",
        "/api/v1/returns",
        "/api/v1/questionnaires",
        "/api/v1/themes",
        "/api/v1/rounds",
    ):
        body = admin.get(url + "?per_page=1").json
        assert set(body) == {"items", "total", "page", "per_page", "pages"}, url
        assert len(body["items"]) <= 1 and body["per_page"] == 1, url
        assert admin.get(url + "?per_page=x").status_code == 400, url
    kinds = admin.get("/api/v1/questionnaires?kind=poem&page=-1")
    assert kinds.status_code == 400 and set(kinds.json["error"]["fields"]) == {"kind", "page"}
