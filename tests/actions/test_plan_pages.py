"""The composite action plan's page, its XLSX and its PDF: counts and filters, scoping, bad filters, the files."""

from __future__ import annotations

import io
import re
from datetime import date, datetime

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from audit_app.actions import plan_files, services
from audit_app.actions.plan import PlanFilters
from audit_app.core.audit import system_actor
from audit_app.extensions import db
from audit_app.reporting.models import ReportFileStatus
from tests.conftest import login
from tests.factories import make_action, make_recommendation, principal_of

START = date(2026, 3, 2)


@pytest.fixture()
def plan(world, clock):
    """Three actions: police's red one goes overdue, police's amber one is due later, health's is complete."""
    clock.set(START)
    pid = world.partnership.id
    jtai = make_recommendation(
        pid,
        "Children who go missing get a return home interview within 72 hours.",
        description="Ofsted JTAI, March 2026",
        agencies=[world.police],
        themes=["Voice of the child"],
    )
    board = make_recommendation(
        pid, "Health joins every strategy discussion.", description="Board challenge", agencies=[world.health]
    )
    red = make_action(
        jtai,
        "Police refer missing children the same day",
        owner=world.user("auditor"),
        agency=world.police,
        due_on=date(2026, 3, 10),
    )
    amber = make_action(
        jtai,
        "Interview findings shared with the youth offending team",
        owner_name="Sam Reed",
        agency=world.police,
        due_on=date(2026, 6, 1),
    )
    done = make_action(
        board,
        "Health added to the strategy invitation list",
        owner_name="Dr Kay Lowe",
        agency=world.health,
        due_on=date(2026, 5, 1),
    )
    with system_actor("test:setup"):
        services.post_update(red, services.UpdateIn(note="No officer named yet", rag="red"), by=None)
        services.post_update(
            amber, services.UpdateIn(note="Waiting for the data sharing agreement", rag="amber"), by=None
        )
        evidence = services.add_evidence(
            done,
            services.EvidenceIn(
                description="Health attended 9 of 10 strategy discussions",
                measure="Discussions with health",
                unit="%",
                before_value="20",
                after_value="90",
            ),
            by=None,
        )
        services.decide_evidence(evidence, accept=True, note="", by=None, complete_action=True)
        db.session.commit()
    clock.set(date(2026, 3, 20))  # the red action is now overdue
    return {"red": red, "amber": amber, "done": done, "jtai": jtai, "board": board}


def _count(body: str, name: str) -> int:
    found = re.search(rf'id="count-{name}">(\d+)<', body)
    assert found, name
    return int(found.group(1))


def _titles(body: str) -> set[str]:
    return {t for t in ("Police refer missing", "Interview findings shared", "Health added to") if t in body}


def test_the_qa_group_sees_every_action_with_its_counts(client, world, plan):
    login(client, world.user("qa_member"))
    response = client.get("/actions")
    body = response.get_data(as_text=True)
    assert response.status_code == 200
    assert (_count(body, "total"), _count(body, "overdue"), _count(body, "complete")) == (3, 1, 1)
    assert _titles(body) == {"Police refer missing", "Interview findings shared", "Health added to"}
    # RAG with label and meaning; the overdue tag; the evidence state; links to the action and recommendation
    assert "Off track" in body and "Red<span" in body and "Overdue</strong>" in body
    assert "Accepted" in body and "No evidence yet" in body
    assert f'href="/actions/{plan["red"].id}"' in body and f'href="/recommendations/{plan["jtai"].id}"' in body
    # what needs action first: the overdue red one leads the table
    table = body[body.index('id="plan-table"') :]
    assert table.index("Police refer missing") < table.index("Interview findings") < table.index("Health added")
    # counts by agency link to the plan filtered that way
    assert f"agency_id={world.police.agency_id}" in body and "rag=red" in body
    # the chart, with its alt text; the navigation; nothing a person should not read
    assert 'role="img"' in body and "Actions by RAG rating (figures in the table below)" in body
    assert ">Action plan<" in body
    for word in ("None", "nan", "not_started", "in_progress"):
        assert word not in re.sub(r"<[^>]+>", " ", body).split(), word


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("rag=red", {"Police refer missing"}),
        ("overdue=yes", {"Police refer missing"}),
        ("status=complete", {"Health added to"}),
        ("source=other", {"Police refer missing", "Interview findings shared", "Health added to"}),
        ("theme=Voice+of+the+child", {"Police refer missing", "Interview findings shared"}),
        ("rag=amber&overdue=yes", set()),
    ],
)
def test_filters(client, world, plan, query, expected):
    login(client, world.user("qa_member"))
    body = client.get(f"/actions?{query}").get_data(as_text=True)
    table = body[body.index('id="actions"') :]
    assert _titles(table) == expected
    assert _count(body, "total") == len(expected)


def test_filters_by_agency_owner_and_source(client, world, plan):
    login(client, world.user("qa_member"))
    health = client.get(f"/actions?agency_id={world.health.agency_id}").get_data(as_text=True)
    assert _titles(health[health.index('id="actions"') :]) == {"Health added to"}
    owner = client.get(f"/actions?owner_user_id={world.user('auditor').id}").get_data(as_text=True)
    assert _titles(owner[owner.index('id="actions"') :]) == {"Police refer missing"}
    source = client.get(f"/actions?source={plan['board'].source_key}").get_data(as_text=True)
    assert _titles(source[source.index('id="actions"') :]) == {"Health added to"}
    assert "<strong>Source</strong>: Board challenge" in source  # the filter read back as a label


def test_the_police_auditor_sees_only_police_actions(client, world, plan):
    login(client, world.user("auditor"))
    body = client.get("/actions").get_data(as_text=True)
    assert _titles(body) == {"Police refer missing", "Interview findings shared"}
    assert _count(body, "total") == 2
    # the health action is not in the XLSX either
    sheet = load_workbook(io.BytesIO(client.get("/actions/plan.xlsx").data))["Action plan"]
    assert [row[3] for row in sheet.iter_rows(min_row=2, values_only=True)] == [
        "Police refer missing children the same day",
        "Interview findings shared with the youth offending team",
    ]


def test_another_partnership_sees_none_of_it(client, world, plan):
    login(client, world.user("other_admin"))
    body = client.get("/actions").get_data(as_text=True)
    assert _titles(body) == set() and _count(body, "total") == 0
    assert "There are no actions in the plan yet" in body
    sheet = load_workbook(io.BytesIO(client.get("/actions/plan.xlsx").data))["Action plan"]
    assert sheet.max_row == 1
    # this partnership's agency is not a choice there
    assert client.get(f"/actions?agency_id={world.police.agency_id}").status_code == 400


@pytest.mark.parametrize("path", ["/actions", "/actions/plan.xlsx", "/actions/pdf", "/actions/plan.pdf"])
def test_bad_filters_are_400_naming_each_field(client, world, plan, path):
    login(client, world.user("qa_member"))
    response = client.get(f"{path}?rag=purple&agency_id=abc&overdue=maybe&status=done&source=round:999999")
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    for label in ("RAG rating", "Owner agency", "Overdue", "Status", "Source"):
        assert f"{label}: choose one of the options listed" in body
    assert client.get("/actions?page=abc").status_code == 400
    assert client.get("/actions?page=2").status_code == 404


def test_the_page_paginates_past_fifty_actions(client, world, plan):
    with system_actor("test:setup"):
        for n in range(50):
            services.add_action(
                plan["board"],
                services.ActionIn(title=f"Extra action {n:02}", owner_name="Pat Doe", due_on=date(2026, 9, 1)),
            )
        db.session.commit()
    login(client, world.user("qa_member"))
    first = client.get("/actions").get_data(as_text=True)
    assert "Showing 1 to 50 of 53 actions" in first and _count(first, "total") == 53
    second = client.get("/actions?page=2").get_data(as_text=True)
    assert "Showing 51 to 53 of 53 actions" in second


def test_the_xlsx_has_the_committee_columns(client, world, plan):
    with system_actor("test:setup"):
        services.move_due_date(plan["amber"], date(2026, 7, 1), "Agreement delayed", by=None)
        formula = make_action(plan["jtai"], '=HYPERLINK("http://x")', owner_name="Eve", due_on=date(2026, 9, 1))
        db.session.commit()
    login(client, world.user("qa_member"))
    response = client.get("/actions/plan.xlsx?source=other")
    assert response.status_code == 200 and "action-plan.xlsx" in response.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.data))
    sheet = book["Action plan"]
    headings = [c.value for c in sheet[1]]
    assert headings[:11] == [
        "Source",
        "Recommendation number",
        "Recommendation",
        "Action",
        "Owner",
        "Agency",
        "Due date",
        "Original due date",
        "Status",
        "RAG",
        "Overdue",
    ]
    assert sheet.freeze_panes == "A2"
    rows = {row[3]: dict(zip(headings, row, strict=True)) for row in sheet.iter_rows(min_row=2, values_only=True)}
    red = rows["Police refer missing children the same day"]
    assert red["Source"] == "Ofsted JTAI, March 2026" and red["Recommendation number"] == 1
    assert red["Owner"] == world.user("auditor").name and red["Agency"] == world.police.agency.name
    assert red["Due date"] == datetime(2026, 3, 10) and red["RAG"] == "Red (off track)" and red["Overdue"] == "Yes"
    assert red["Latest update"] == datetime(2026, 3, 2) and red["Latest update note"] == "No officer named yet"
    assert red["Learning themes"] == "Voice of the child" and red["Impact evidence"] == "No evidence yet"
    amber = rows["Interview findings shared with the youth offending team"]
    assert amber["Due date"] == datetime(2026, 7, 1) and amber["Original due date"] == datetime(2026, 6, 1)
    done = rows["Health added to the strategy invitation list"]
    assert done["Status"] == "Complete" and done["Impact evidence"] == "Accepted"
    assert "Health attended 9 of 10" in done["Accepted evidence of impact"]
    assert "before 20 %" in done["Accepted evidence of impact"] and "after 90 %" in done["Accepted evidence of impact"]
    # user text that looks like a formula stays text
    cell = next(c for c in sheet["D"] if c.value == formula.title)
    assert cell.data_type == "s"
    about = dict(book["About"].iter_rows(values_only=True))
    assert about["Source"] == "Any other source"


def _pdf_text(data: bytes) -> str:
    """The PDF's text, with its line breaks as spaces (a cell's text wraps)."""
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages).split())


def test_the_pdf_is_prepared_by_a_job_and_kept_until_the_plan_changes(client, world, plan):
    login(client, world.user("qa_member"))
    page = client.get("/actions/pdf?rag=red").get_data(as_text=True)
    assert "Not prepared" in page and "Prepare the PDF" in page and 'http-equiv="refresh"' not in page
    # not ready: the download leads to the page that prepares it
    early = client.get("/actions/plan.pdf?rag=red")
    assert early.status_code == 303 and "/actions/pdf?rag=red" in early.location
    # the job runs after the request commits (inline in tests)
    response = client.post("/actions/pdf?rag=red")
    assert response.status_code == 303 and response.location.endswith("/actions/pdf?rag=red")
    ready = client.get(response.location).get_data(as_text=True)
    assert "Ready" in ready and "Download the plan (PDF)" in ready
    row = plan_files.plan_file(principal_of(world.user("qa_member"), world.partnership.id), PlanFilters(rag="red"))
    assert row.status == ReportFileStatus.READY and row.progress == 100 and row.pages
    pdf = client.get("/actions/plan.pdf?rag=red")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert "attachment" in pdf.headers["Content-Disposition"]
    text = _pdf_text(pdf.data)
    assert "Police refer missing children the same day" in text and "Interview findings" not in text
    assert "RAG rating: Red (off track)" in text
    for word in ("None", "nan"):
        assert word not in text.split()
    # a change to the plan: the kept file is no longer offered
    with system_actor("test"):
        services.post_update(plan["red"], services.UpdateIn(note="An officer is named", rag="red"), by=None)
        db.session.commit()
    assert client.get("/actions/plan.pdf?rag=red").status_code == 303
    assert "Not prepared" in client.get("/actions/pdf?rag=red").get_data(as_text=True)


def test_a_pdf_being_drawn_shows_its_progress(client, world, plan):
    p = principal_of(world.user("qa_member"), world.partnership.id)
    row = plan_files.PlanFile(
        partnership_id=world.partnership.id,
        user_id=p.user_id,
        filters_key=plan_files.filters_key(PlanFilters()),
        filters={},
        fingerprint="x",
        status=ReportFileStatus.RUNNING,
        progress=35,
        stage="Laying out the pages",
    )
    db.session.add(row)
    db.session.commit()
    login(client, world.user("qa_member"))
    page = client.get("/actions/pdf").get_data(as_text=True)
    assert "being prepared" in page and "35% done: Laying out the pages" in page and 'http-equiv="refresh"' in page
    # another person's view of the plan is drawn for them: the row is the QA member's only
    login(client, world.user("auditor"))
    assert "Not prepared" in client.get("/actions/pdf").get_data(as_text=True)


def test_the_pdf_of_the_police_view_holds_only_police_actions(client, world, plan):
    login(client, world.user("agency_lead"))
    client.post("/actions/pdf")
    text = _pdf_text(client.get("/actions/plan.pdf").data)
    assert "Police refer missing children the same day" in text and "Health added to" not in text


def test_a_redaction_forgets_the_drawn_pdfs(client, world, plan):
    login(client, world.user("qa_member"))
    client.post("/actions/pdf")
    p = principal_of(world.user("qa_member"), world.partnership.id)
    assert plan_files.plan_file(p, PlanFilters()).stored_file_id is not None
    assert plan_files.forget_plan_files(world.partnership.id) == 1
    db.session.commit()
    assert plan_files.plan_file(p, PlanFilters()) is None
    assert "Not prepared" in client.get("/actions/pdf").get_data(as_text=True)


def test_the_plan_page_costs_the_same_queries_however_many_actions(client, world, count_queries):
    """The plan is one scoped query and a few eager loads: 5 actions or 45, the same statements."""
    from tests.factories import make_action as _make_action
    from tests.factories import make_recommendation as _make_recommendation

    rec = _make_recommendation(world.partnership.id, agencies=[world.police])
    for n in range(5):
        _make_action(rec, f"Action {n}", owner=world.user("auditor"), agency=world.police)
    db.session.commit()
    login(client, world.user("qa_member"))
    client.get("/actions")
    with count_queries() as small:
        assert client.get("/actions").status_code == 200
    for n in range(5, 45):
        other = _make_recommendation(world.partnership.id, f"Recommendation {n}", themes=[f"Theme {n % 3}"])
        _make_action(other, f"Action {n}", owner_name=f"Person {n}", agency=world.health)
    db.session.commit()
    client.get("/actions")
    with count_queries() as large:
        assert client.get("/actions").status_code == 200
    assert large.count <= small.count + 2, (small.count, large.count)
