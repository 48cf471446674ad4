"""The round's PDFs as jobs: the chair's report, the full report and the learning briefing, kept until the round
changes, with progress shown while a worker draws them."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from pypdf import PdfReader

from audit_app.case_audits import services as case_services
from audit_app.core import clock
from audit_app.core.audit import system_actor
from audit_app.core.models import utcnow
from audit_app.extensions import db
from audit_app.reporting import report_files
from audit_app.reporting.models import ReportFile, ReportFileStatus, ReportKind
from audit_app.reporting.report import once_each, round_fingerprint
from tests.case_audits.report_world import judged_round
from tests.conftest import login


def _text(data: bytes) -> tuple[str, int]:
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages), len(reader.pages)


@pytest.fixture()
def written(world):
    """A judged round whose chair has written the report and recorded the meeting."""
    round_ = judged_round(world, cases=3)
    with system_actor("test:setup"):
        case_services.save_meeting(
            round_,
            case_services.MeetingIn(
                chair="Jo Adams, independent chair",
                agency_ids=(world.police.agency_id,),
                period_from=clock.today() - timedelta(days=200),
                period_to=clock.today() - timedelta(days=20),
                selection_method="purposive",
                selection_criteria="Children open to a child in need plan for neglect",
            ),
        )
        case_services.save_chair_report(
            round_,
            {
                "executive_summary": "Most children were safer because agencies acted quickly.",
                "strengths": "Quick strategy discussions",
                "challenges": "Supervision was rarely recorded",
                "themes": "Management oversight; voice of the child",
                "why_it_matters": "Neglect harms children slowly and is easy to miss",
                "what_good_looks_like": "Recorded, reflective supervision",
            },
            [(None, "Audit supervision records within six months"), (None, "Share this briefing with every team")],
        )
        case_services.save_practitioners(
            round_.cases[0],
            {world.police.agency_id: case_services.PractitionerIn(invited=True, attended=True, view="Helpful day")},
        )
        db.session.commit()
    return round_


def test_the_chair_prepares_the_report_and_downloads_it(client, world, written):
    login(client, world.user("qa_member"))
    page = client.get(f"/rounds/{written.id}/report")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "Not prepared" in body and "None" not in body
    assert 'http-equiv="refresh"' not in body  # nothing is being prepared
    # the job runs after the request commits (inline in tests): the page then offers the file
    response = client.post(f"/rounds/{written.id}/report/report")
    assert response.status_code == 303
    ready = client.get(response.location).get_data(as_text=True)
    assert "Ready" in ready and "Download the chair&#39;s report (PDF)" in ready
    row = report_files.report_file(written.id, ReportKind.REPORT, False)
    assert row.status == ReportFileStatus.READY and row.progress == 100 and row.cpu_seconds is not None
    pdf = client.get(f"/rounds/{written.id}/report/report.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert "neglect-audit-chairs-report.pdf" in pdf.headers["Content-Disposition"]
    text, pages = _text(pdf.data)
    assert pages == row.pages and pages < 20
    # the chair's words lead, then the method, then the figures; no appendices in the chair's report
    order = [
        text.index("The chair's report"),
        text.index("Most children were safer because agencies acted quickly."),
        text.index("1. Audit supervision records within six months")
        if "1. Audit" in text
        else text.index("Audit supervision records"),
        text.index("Method"),
        text.index("Purposive (chosen for what they show)"),
        text.index("Return rates"),
        text.index("Grades given by agencies, by section"),
    ]
    assert order == sorted(order)
    assert "Cases audited" in text and "Returns received" in text and "6 of 6 (100%)" in text
    assert "Jo Adams, independent chair" in text and "Appendix" not in text
    assert "None" not in text and "nan" not in text.replace("management", "").replace("nance", "")


def test_a_kept_file_is_offered_until_the_round_changes(client, world, written):
    login(client, world.user("admin"))
    client.post(f"/rounds/{written.id}/report/briefing")
    row = report_files.report_file(written.id, ReportKind.BRIEFING, False)
    first_file = row.stored_file_id
    fingerprint = round_fingerprint(written.id)
    # asking again draws nothing: the same file is kept
    client.post(f"/rounds/{written.id}/report/briefing")
    db.session.expire_all()
    assert report_files.report_file(written.id, ReportKind.BRIEFING, False).stored_file_id == first_file
    assert round_fingerprint(written.id) == fingerprint
    # a change to the chair's report (or a judgement) makes the kept file stale
    clock.set_clock(utcnow() + timedelta(seconds=5))
    try:
        with system_actor("test:setup"):
            kept = [(r.id, r.text) for r in case_services.report_recommendations(written)]
            case_services.save_chair_report(written, {"strengths": "Prompt, joint strategy discussions"}, kept)
            db.session.commit()
        assert round_fingerprint(written.id) != fingerprint
        stale = client.get(f"/rounds/{written.id}/report").get_data(as_text=True)
        assert "Not prepared" in stale
        refused = client.get(f"/rounds/{written.id}/report/briefing.pdf")
        assert refused.status_code == 303 and refused.location.endswith(f"/rounds/{written.id}/report")
        fingerprint = round_fingerprint(written.id)
        with system_actor("test:setup"):
            clock.set_clock(utcnow() + timedelta(seconds=5))
            case_services.record_judgement(written.cases[1], section_key="", grade="Outstanding")
            db.session.commit()
        assert round_fingerprint(written.id) != fingerprint
    finally:
        clock.reset_clock()
    client.post(f"/rounds/{written.id}/report/briefing")
    db.session.expire_all()
    again = report_files.report_file(written.id, ReportKind.BRIEFING, False)
    assert again.status == ReportFileStatus.READY and again.stored_file_id != first_file
    text, pages = _text(client.get(f"/rounds/{written.id}/report/briefing.pdf").data)
    assert pages == 1
    for part in ("1. Why it matters", "2. What we found", "3. What good looks like", "4. What to do now"):
        assert part in text, part
    assert "Prompt, joint strategy discussions" in text and "Audit supervision records within six months" in text
    assert "None" not in text


def test_the_page_shows_progress_while_a_worker_draws(client, world, written):
    with system_actor("test:setup"):
        db.session.add(
            ReportFile(
                round_id=written.id,
                kind=ReportKind.FULL,
                suppressed=False,
                fingerprint="0" * 64,
                status=ReportFileStatus.RUNNING,
                progress=35,
                stage="Laying out the pages",
                requested_at=utcnow(),
            )
        )
        db.session.commit()
    login(client, world.user("scrutineer"))
    body = client.get(f"/rounds/{written.id}/report").get_data(as_text=True)
    assert '<h1 class="govuk-heading-l">Preparing the report</h1>' in body
    assert 'http-equiv="refresh"' in body and "35% done: Laying out the pages" in body and "Check again" in body
    # a drawing that never finished (its worker died) can be asked for again
    row = report_files.report_file(written.id, ReportKind.FULL, False)
    row.requested_at = utcnow() - report_files.GIVE_UP_AFTER - timedelta(minutes=1)
    db.session.commit()
    assert client.post(f"/rounds/{written.id}/report/full").status_code == 303
    db.session.expire_all()
    assert report_files.report_file(written.id, ReportKind.FULL, False).status == ReportFileStatus.READY


def test_a_superseded_drawing_does_nothing(world, written):
    with system_actor("test:setup"):
        row = report_files.request_file(written, ReportKind.REPORT, False, by_user_id=None)
        requested = row.requested_at
        db.session.commit()  # the inline job draws it
    db.session.expire_all()
    row = report_files.report_file(written.id, ReportKind.REPORT, False)
    stored = row.stored_file_id
    report_files.build_report_file(row.id, requested - timedelta(seconds=1))
    db.session.expire_all()
    assert report_files.report_file(written.id, ReportKind.REPORT, False).stored_file_id == stored


def test_the_full_report_puts_appendices_last_and_prints_repeated_texts_once(client, world, written):
    login(client, world.user("qa_member"))
    response = client.get(f"/rounds/{written.id}/report.pdf")
    assert response.status_code == 200
    text, _ = _text(response.data)
    assert text.index("The chair's report") < text.index("Appendix A") < text.index("Appendix D")
    # every return wrote "Seen and recorded" in each text question: once, with its count
    appendix = text[text.index("Appendix D") :]
    assert appendix.count("Seen and recorded") == appendix.count("\u00d7 6") > 0
    assert "Practitioner, North Police: attended. Their view: Helpful day" in text
    assert "None" not in text


def test_once_each_counts_identical_texts():
    items = [
        {"text": "Good  joint work", "source": "Police", "case": "A"},
        {"text": "good joint work", "source": "Health", "case": "A"},
        {"text": "Other", "source": "Police", "case": ""},
        {"text": "  ", "source": "Police", "case": ""},
    ]
    assert once_each(items) == [
        {"text": "Good  joint work", "count": 2, "sources": ["Police, case A", "Health, case A"]},
        {"text": "Other", "count": 1, "sources": ["Police"]},
    ]


def test_api_prepares_lists_and_downloads(world, written, api):
    scrutineer = api(world.user("scrutineer"))
    listed = scrutineer.get(f"/api/v1/rounds/{written.id}/report-files").get_json()
    assert [f["state"] for f in listed["files"]] == ["none", "none", "none"]
    assert scrutineer.get(f"/api/v1/rounds/{written.id}/report-files/briefing.pdf").status_code == 409
    prepared = scrutineer.post(f"/api/v1/rounds/{written.id}/report-files/briefing")
    assert prepared.status_code == 202 and prepared.get_json()["state"] == "ready"
    download = prepared.get_json()["download"]
    pdf = scrutineer.get(download)
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert scrutineer.post(f"/api/v1/rounds/{written.id}/report-files/poster").status_code == 404
    assert scrutineer.get(f"/api/v1/rounds/{written.id}/report-files?suppress=maybe").status_code == 400
    auditor = api(world.user("auditor"))
    assert auditor.get(f"/api/v1/rounds/{written.id}/report-files").status_code == 403
