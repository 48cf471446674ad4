"""The plan's files through the API: the XLSX (drawn on request) and the PDF (prepared by a job, its state, then
downloaded), with the plan page's filters, scoped to what the caller may see."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from audit_app.actions import plan_files
from audit_app.actions.plan import PlanFilters
from audit_app.actions.plan_files import XLSX_MIMETYPE
from audit_app.core import clock
from audit_app.extensions import db
from audit_app.reporting.models import ReportFileStatus
from tests.factories import make_action, make_recommendation, principal_of

V1 = "/api/v1"


@pytest.fixture()
def plan(world):
    """An action the police auditor owns (addressed to police) and an overdue one at health."""
    pid = world.partnership.id
    police_rec = make_recommendation(pid, "Invite health to every strategy discussion.", agencies=[world.police])
    police_action = make_action(
        police_rec, "Send strategy invitations to the GP", owner=world.user("auditor"), agency=world.police
    )
    health_rec = make_recommendation(
        pid, "Audit discharge planning.", description="Ofsted JTAI", agencies=[world.health]
    )
    health_action = make_action(
        health_rec,
        "Review discharge letters",
        owner_name="Dr Amira Shah",
        agency=world.health,
        due_on=clock.today() - timedelta(days=5),
    )
    db.session.commit()
    return {"police_action": police_action.id, "health_action": health_action.id, "health_rec": health_rec.id}


def _titles(data: bytes) -> list[str]:
    sheet = load_workbook(io.BytesIO(data))["Action plan"]
    headings = [c.value for c in sheet[1]]
    column = headings.index("Action")
    return [row[column] for row in sheet.iter_rows(min_row=2, values_only=True)]


def _pdf_text(data: bytes) -> str:
    """The PDF's words, each run of white space (a table cell's line breaks) as one space."""
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages).split())


def test_the_xlsx_has_the_rows_the_caller_may_see(api, world, plan):
    qa = api(world.user("qa_member"))
    answer = qa.get(f"{V1}/plan.xlsx")
    assert answer.status_code == 200
    assert answer.mimetype == XLSX_MIMETYPE
    assert answer.headers["Content-Disposition"] == 'attachment; filename="action-plan.xlsx"'
    assert sorted(_titles(answer.data)) == ["Review discharge letters", "Send strategy invitations to the GP"]
    overdue = qa.get(f"{V1}/plan.xlsx?overdue=true")
    assert _titles(overdue.data) == ["Review discharge letters"]
    about = dict(load_workbook(io.BytesIO(overdue.data))["About"].iter_rows(min_row=2, values_only=True))
    assert about["Overdue"] == "Overdue only" and about["Actions"] == "1"

    auditor = api(world.user("auditor"))
    assert _titles(auditor.get(f"{V1}/plan.xlsx").data) == ["Send strategy invitations to the GP"]
    # another partnership's admin: their own plan, empty; this partnership's agency is not a filter they have
    elsewhere = api(world.user("other_admin"))
    assert _titles(elsewhere.get(f"{V1}/plan.xlsx").data) == []
    refused = elsewhere.get(f"{V1}/plan.xlsx?agency_id={world.police.agency_id}")
    assert refused.status_code == 400 and list(refused.json["error"]["fields"]) == ["agency_id"]


def test_text_a_spreadsheet_cannot_hold_is_left_out_not_a_server_error(api, world, plan):
    auditor = api(world.user("auditor"))
    posted = auditor.post(f"{V1}/actions/{plan['police_action']}/updates", json={"note": "Invited\x07 the GP\x1b"})
    assert posted.status_code == 201, posted.json
    answer = auditor.get(f"{V1}/plan.xlsx")
    assert answer.status_code == 200
    sheet = load_workbook(io.BytesIO(answer.data))["Action plan"]
    row = dict(zip([c.value for c in sheet[1]], [c.value for c in sheet[2]], strict=True))
    assert row["Latest update note"] == "Invited the GP"


def test_bad_filters_are_refused_each_named(api, world, plan):
    qa = api(world.user("qa_member"))
    for url in (f"{V1}/plan.xlsx", f"{V1}/plan/pdf", f"{V1}/plan.pdf"):
        bad = qa.get(f"{url}?status=finished&rag=purple&agency_id=x&overdue=perhaps")
        assert bad.status_code == 400, url
        assert set(bad.json["error"]["fields"]) == {"status", "rag", "agency_id", "overdue"}
        offered = qa.get(f"{url}?source=round:999999&theme=Nothing%20like%20it&agency_id=999999")
        assert offered.status_code == 400
        assert set(offered.json["error"]["fields"]) == {"source", "theme", "agency_id"}
    bad = qa.post(f"{V1}/plan/pdf?rag=purple&owner_user_id=0")
    assert bad.status_code == 400 and set(bad.json["error"]["fields"]) == {"rag", "owner_user_id"}
    # of the wrong kind, and well-formed but not offered: all named at once
    both = qa.get(f"{V1}/plan.xlsx?rag=purple&agency_id=999999&source=round:999999&status=complete")
    assert both.status_code == 400 and set(both.json["error"]["fields"]) == {"rag", "agency_id", "source"}
    # a recommendation the police auditor cannot see is not a filter they have
    hidden = api(world.user("auditor")).get(f"{V1}/plan.xlsx?recommendation_id={plan['health_rec']}")
    assert hidden.status_code == 400 and list(hidden.json["error"]["fields"]) == ["recommendation_id"]


def test_the_pdf_is_prepared_then_downloaded(api, world, plan):
    auditor = api(world.user("auditor"))
    status = auditor.get(f"{V1}/plan/pdf")
    assert status.status_code == 200
    assert status.json["state"] == "none" and status.json["download"] is None
    assert status.json["state_label"] == "Not prepared for the plan as it is now"
    early = auditor.get(f"{V1}/plan.pdf")
    assert early.status_code == 409 and "POST /api/v1/plan/pdf" in early.json["error"]["message"]

    prepared = auditor.post(f"{V1}/plan/pdf")  # jobs run inline in tests: drawn by the time it answers
    assert prepared.status_code == 202
    assert prepared.json["state"] == "ready" and prepared.json["state_label"] == "Ready"
    assert prepared.json["pages"] >= 1 and prepared.json["download"] == "/api/v1/plan.pdf"
    assert auditor.get(f"{V1}/plan/pdf").json == prepared.json
    again = auditor.post(f"{V1}/plan/pdf")  # the kept one, as the plan has not changed
    assert again.status_code == 202 and again.json["prepared_at"] == prepared.json["prepared_at"]

    pdf = auditor.get(prepared.json["download"])
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    assert pdf.headers["Content-Disposition"].startswith("attachment")
    text = _pdf_text(pdf.data)
    assert "Send strategy invitations to the GP" in text
    assert "Review discharge letters" not in text  # the auditor's plan: only what concerns police

    # the filters are part of what is kept: another set is not prepared yet
    assert auditor.get(f"{V1}/plan/pdf?rag=red").json["state"] == "none"
    assert auditor.get(f"{V1}/plan.pdf?rag=red").status_code == 409
    # nor is another person's: the QA member's plan is their own
    qa = api(world.user("qa_member"))
    assert qa.get(f"{V1}/plan/pdf").json["state"] == "none"
    filtered = qa.post(f"{V1}/plan/pdf?overdue=true")
    assert filtered.json["download"] == "/api/v1/plan.pdf?overdue=yes"
    assert "Review discharge letters" in _pdf_text(qa.get(filtered.json["download"]).data)

    # a change to the plan makes the kept PDF stale
    qa.patch(f"{V1}/actions/{plan['police_action']}", json={"title": "Send strategy invitations to every GP"})
    assert auditor.get(f"{V1}/plan/pdf").json["state"] == "none"
    assert auditor.get(f"{V1}/plan.pdf").status_code == 409


def test_another_partnership_never_gets_this_plan(api, world, plan):
    elsewhere = api(world.user("other_admin"))
    prepared = elsewhere.post(f"{V1}/plan/pdf")
    assert prepared.status_code == 202 and prepared.json["state"] == "ready"
    text = _pdf_text(elsewhere.get(f"{V1}/plan.pdf").data)
    assert "Send strategy invitations" not in text and "Review discharge letters" not in text
    assert elsewhere.get(f"{V1}/plan/pdf?agency_id={world.health.agency_id}").status_code == 400


def test_signed_out_is_401(client, world, plan):
    for method, url in (("get", "/plan.xlsx"), ("get", "/plan/pdf"), ("post", "/plan/pdf"), ("get", "/plan.pdf")):
        assert getattr(client, method)(f"{V1}{url}").status_code == 401


def test_a_pdf_being_drawn_shows_its_progress_and_a_failed_one_why(api, world, plan):
    p = principal_of(world.user("qa_member"), world.partnership.id)
    filters = PlanFilters(rag="green")
    row = plan_files.PlanFile(
        partnership_id=world.partnership.id,
        user_id=p.user_id,
        filters_key=plan_files.filters_key(filters),
        filters=filters.as_args(),
        fingerprint="x",
        status=ReportFileStatus.RUNNING,
        progress=35,
        stage="Laying out the pages",
    )
    db.session.add(row)
    db.session.commit()
    qa = api(world.user("qa_member"))
    status = qa.get(f"{V1}/plan/pdf?rag=green").json
    assert status["state"] == "preparing" and status["state_label"] == "Being prepared"
    assert (status["progress"], status["stage"], status["download"]) == (35, "Laying out the pages", None)
    assert qa.get(f"{V1}/plan.pdf?rag=green").status_code == 409
    assert qa.post(f"{V1}/plan/pdf?rag=green").json["state"] == "preparing"  # left alone while it is drawn
    # the auditor's view of the plan is theirs: not the QA member's row
    assert api(world.user("auditor")).get(f"{V1}/plan/pdf?rag=green").json["state"] == "none"

    row.status = ReportFileStatus.FAILED
    row.fingerprint = plan_files.plan_fingerprint(p, filters)
    row.error = "The PDF could not be drawn. Ask for it again."
    db.session.commit()
    failed = qa.get(f"{V1}/plan/pdf?rag=green").json
    assert failed["state"] == "failed" and failed["state_label"] == "Could not be prepared"
    assert failed["error"] == "The PDF could not be drawn. Ask for it again." and failed["progress"] is None
    assert qa.get(f"{V1}/plan.pdf?rag=green").status_code == 409
    again = qa.post(f"{V1}/plan/pdf?rag=green")  # asked again: drawn (inline in tests)
    assert again.status_code == 202 and again.json["state"] == "ready" and again.json["error"] is None
    assert qa.get(again.json["download"]).status_code == 200
