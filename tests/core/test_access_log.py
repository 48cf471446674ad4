"""The access log: every route that shows a case, a return, a review or an evidence file records one row per
object, only when it succeeds; admins and scrutineers read it, filter it, export it, and ask who looked at a case.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from audit_app.accounts.models import User
from audit_app.core.access_log import AccessEvent, AccessKind, AccessVia
from audit_app.extensions import db
from audit_app.rounds.models import CriterionEvidence, Return
from tests.conftest import login, module_setup
from tests.factories import make_return_answered
from tests.routes import ROUTES, build_route_world, fill_url

# -- the world, built once for the module --


@pytest.fixture(scope="module")
def data(app, module_connection) -> dict:
    with module_setup(app, module_connection):
        return build_route_world()


@pytest.fixture()
def db_session(savepoint_session):
    return savepoint_session


def _user(data: dict, role: str) -> User:
    return db.session.get(User, data["world"]["users"][role])


def _get(client, data: dict, url: str, role: str = "admin"):
    if url.startswith("/api/"):
        return client.get(url, headers={"Authorization": f"Bearer {data['secrets'][role]}"})
    login(client, _user(data, role))
    return client.get(url)


def _rows(**where) -> list[AccessEvent]:
    query = sa.select(AccessEvent).order_by(AccessEvent.id)
    for name, value in where.items():
        query = query.where(getattr(AccessEvent, name) == value)
    return list(db.session.scalars(query))


# -- what is recorded, route by route --

#: the URL argument that names the object each route shows
CASE, RETURN, SA_RETURN, REVIEW, ACTION_FILE, CRITERION_FILE = (
    "case_id",
    "return_id",
    "sa_return_id",
    "review_id",
    "file_id",
    "criterion_evidence_id",
)

#: endpoint -> (kind, which object, via): every GET that shows one, on a page, through the API, as a file or export
RECORDED: dict[str, tuple[AccessKind, str, AccessVia]] = {
    # cases
    "case_audits.case_history": (AccessKind.CASE, CASE, AccessVia.PAGE),
    "case_audits.case_discussion": (AccessKind.CASE, CASE, AccessVia.PAGE),
    "case_audits.case_practitioners": (AccessKind.CASE, CASE, AccessVia.PAGE),
    "api.cases_get": (AccessKind.CASE, CASE, AccessVia.API),
    "api.judgements_get": (AccessKind.CASE, CASE, AccessVia.API),
    "api.practitioners_get": (AccessKind.CASE, CASE, AccessVia.API),
    # returns (case audit, self-assessment; an agency summary is a return on the same pages)
    "rounds.return_detail": (AccessKind.RETURN, RETURN, AccessVia.PAGE),
    "rounds.return_answers": (AccessKind.RETURN, RETURN, AccessVia.PAGE),
    "rounds.return_section": (AccessKind.RETURN, RETURN, AccessVia.PAGE),
    "rounds.criterion_evidence": (AccessKind.RETURN, RETURN, AccessVia.PAGE),
    "rounds.return_workbook": (AccessKind.RETURN, RETURN, AccessVia.EXPORT),
    "scrutiny.return_scrutiny": (AccessKind.RETURN, SA_RETURN, AccessVia.PAGE),
    "scrutiny.criterion": (AccessKind.RETURN, SA_RETURN, AccessVia.PAGE),
    "api.returns_get": (AccessKind.RETURN, RETURN, AccessVia.API),
    "api.returns_workbook": (AccessKind.RETURN, RETURN, AccessVia.EXPORT),
    "api.return_evidence_list": (AccessKind.RETURN, RETURN, AccessVia.API),
    "api.return_scrutiny_get": (AccessKind.RETURN, SA_RETURN, AccessVia.API),
    "api.return_threads_list": (AccessKind.RETURN, SA_RETURN, AccessVia.API),
    # reviews
    "reviews.review_detail": (AccessKind.REVIEW, REVIEW, AccessVia.PAGE),
    "reviews.review_edit": (AccessKind.REVIEW, REVIEW, AccessVia.PAGE),
    "review_summaries.panel_edit": (AccessKind.REVIEW, REVIEW, AccessVia.PAGE),
    "review_summaries.decision_edit": (AccessKind.REVIEW, REVIEW, AccessVia.PAGE),
    "api.reviews_get": (AccessKind.REVIEW, REVIEW, AccessVia.API),
    "api.reviews_clocks": (AccessKind.REVIEW, REVIEW, AccessVia.API),
    "api.review_summaries_list": (AccessKind.REVIEW, REVIEW, AccessVia.API),
    "api.review_panel_get": (AccessKind.REVIEW, REVIEW, AccessVia.API),
    "api.review_decision_get": (AccessKind.REVIEW, REVIEW, AccessVia.API),
    "api.learning_points_list": (AccessKind.REVIEW, REVIEW, AccessVia.API),
    "api.review_recommendations_list": (AccessKind.REVIEW, REVIEW, AccessVia.API),
    # evidence files
    "actions.action_evidence_file": (AccessKind.EVIDENCE_FILE, ACTION_FILE, AccessVia.DOWNLOAD),
    "api.action_evidence_file": (AccessKind.EVIDENCE_FILE, ACTION_FILE, AccessVia.DOWNLOAD),
    "rounds.criterion_evidence_file": (AccessKind.EVIDENCE_FILE, CRITERION_FILE, AccessVia.DOWNLOAD),
    "api.return_evidence_file": (AccessKind.EVIDENCE_FILE, CRITERION_FILE, AccessVia.DOWNLOAD),
}

#: exports of many returns (and their cases): tested with a returned return below
EXPORTS = {
    "reporting.round_answers": "/rounds/{round_id}/answers.xlsx",
    "reporting.theme_answers": "/themes/{theme_id}/answers.xlsx",
    "api.findings_round_answers": "/api/v1/rounds/{round_id}/answers.xlsx",
    "api.findings_theme_answers": "/api/v1/themes/{theme_id}/answers.xlsx",
}

#: routes whose URL names such an object but which are not a view of it, and why
NOT_RECORDED: dict[str, str] = {
    "access_log.case_report": "reading the access log is not recorded (it would record itself)",
    "access_log.case_report_csv": "reading the access log is not recorded",
    "api.access_log_case": "reading the access log is not recorded",
    "case_audits.case_redact": "a form to replace the reference: the change is in the audit trail",
    "case_audits.round_case_agencies": "a form choosing the case's agencies: shows only its reference",
    "case_audits.round_case_remove": "a confirmation showing only the reference",
    "rounds.return_accept": "a confirmation showing only the agency and round",
    "improvement.improvement_action_new": "a form for an action: shows only the return's name",
    "learning.point_new": "a form for a learning point: shows only the review's pseudonym",
    "review_summaries.summaries_add_agency": "a form choosing agencies: shows only the pseudonym",
    "review_summaries.summaries_ask": "a form asking for summaries: shows only the pseudonym",
    "reviews.clock_pause": "a form to pause a clock: shows only the pseudonym",
    "reviews.clock_resume": "a form to resume a clock: shows only the pseudonym",
    "reviews.review_publication": "a form for the publication state: shows only the pseudonym",
    "api.improvement_actions_list": "a list of improvement actions, not the return's answers",
    "api.action_evidence_get": "evidence of impact (a description and file names): no file is served",
}

#: URL arguments that name a case, a return, a review or a file
OBJECT_ARGUMENTS = re.compile(
    r"<int:(case_id|round_case_id|return_id|sa_return_id|review_id|file_id|criterion_evidence_id)>"
)


def test_every_route_that_names_an_object_is_in_a_table():
    """A new GET route taking a case, return, review or file id must say whether it records a view."""
    shown = {endpoint for endpoint, rule, method in ROUTES if method == "GET" and OBJECT_ARGUMENTS.search(rule)}
    missing = shown - set(RECORDED) - set(NOT_RECORDED)
    assert missing == set(), "add these endpoints to RECORDED (and call record_access) or to NOT_RECORDED"
    gone = (set(RECORDED) | set(NOT_RECORDED) | set(EXPORTS)) - {endpoint for endpoint, _, _ in ROUTES}
    assert gone == set(), "these endpoints no longer exist"


def _object_id(data: dict, which: str) -> int:
    ids = data["ids"]
    if which == CRITERION_FILE:
        return db.session.get(CriterionEvidence, ids[CRITERION_FILE]).stored_file_id
    return ids[which]


ROUTE_OF = {endpoint: rule for endpoint, rule, method in ROUTES if method == "GET"}


@pytest.mark.parametrize("endpoint", sorted(RECORDED))
def test_each_route_records_a_view_of_its_object(client, data, endpoint):
    kind, which, via = RECORDED[endpoint]
    response = _get(client, data, fill_url(ROUTE_OF[endpoint], data["ids"]))
    assert response.status_code == 200, response.data[:300]
    rows = _rows(endpoint=endpoint)
    assert [(r.object_kind, r.object_id, r.via) for r in rows] == [(kind, _object_id(data, which), via)]
    (row,) = rows
    assert row.user_id == data["world"]["users"]["admin"]
    assert row.partnership_id == data["world"]["partnership"]
    assert row.ip == "127.0.0.1"
    assert (row.api_token_id is not None) == endpoint.startswith("api.")
    assert row.occurred_at.tzinfo is not None


def test_a_refused_or_missing_request_records_nothing(client, data):
    url = fill_url(ROUTE_OF["rounds.return_detail"], data["ids"])
    # the other partnership's admin: 404, nothing recorded
    login(client, _user(data, "other_admin"))
    assert client.get(url).status_code == 404
    # a section that does not exist: 404 after the return was loaded
    login(client, _user(data, "admin"))
    assert client.get(f"/returns/{data['ids']['return_id']}/sections/no-such-section").status_code == 404
    assert _rows() == []


def test_writes_are_not_views(client, data):
    """A POST to a page that records its GET writes no access row (its change is in the audit trail)."""
    login(client, _user(data, "qa_member"))
    client.post(f"/reviews/{data['ids']['review_id']}/edit", data={})
    # a HEAD shows nothing either
    assert client.head(f"/reviews/{data['ids']['review_id']}").status_code == 200
    assert _rows() == []


def test_rows_are_committed_by_a_get(client, data):
    """A GET commits nothing else, so the access rows are committed on their own: a rollback keeps them."""
    _get(client, data, f"/returns/{data['ids']['return_id']}")
    db.session.rollback()
    assert len(_rows(object_kind=AccessKind.RETURN)) == 1


def test_the_next_test_sees_none_of_it(db_session):
    assert _rows() == []


def _returned(data: dict) -> Return:
    ret = db.session.get(Return, data["ids"]["return_id"])
    make_return_answered(ret, _user(data, "agency_lead"), submit=True)
    db.session.commit()
    return ret


@pytest.mark.parametrize("endpoint", sorted(EXPORTS))
def test_exports_record_each_return_and_case_they_hold(client, data, endpoint):
    ret = _returned(data)
    url = EXPORTS[endpoint].format(round_id=data["ids"]["round_id"], theme_id=data["ids"]["theme_id"])
    response = _get(client, data, url)
    assert response.status_code == 200
    rows = {(r.object_kind, r.object_id, r.via) for r in _rows(endpoint=endpoint)}
    assert rows == {
        (AccessKind.RETURN, ret.id, AccessVia.EXPORT),
        (AccessKind.CASE, data["ids"]["case_id"], AccessVia.EXPORT),
    }


#: what quotes or draws on a round's returns one by one: the collated texts, the round's PDF, the
#: self-assessment report (case-audit round unless "sa"); each records every returned return (and its case)
QUOTING = [
    ("/rounds/{round_id}/findings/texts", AccessVia.PAGE),
    ("/rounds/{round_id}/findings/texts?download=xlsx", AccessVia.EXPORT),
    ("/api/v1/rounds/{round_id}/findings/texts", AccessVia.API),
    ("/api/v1/rounds/{round_id}/findings/texts/download?format=xlsx", AccessVia.EXPORT),
    ("/rounds/{round_id}/report.pdf", AccessVia.EXPORT),
    ("/api/v1/rounds/{round_id}/report.pdf", AccessVia.EXPORT),
]
SA_QUOTING = [
    ("/rounds/{sa_round_id}/self-assessment/report", AccessVia.PAGE),
    ("/rounds/{sa_round_id}/self-assessment/report?download=xlsx", AccessVia.EXPORT),
    ("/api/v1/rounds/{sa_round_id}/self-assessment/report", AccessVia.API),
    ("/api/v1/rounds/{sa_round_id}/self-assessment/report.xlsx", AccessVia.EXPORT),
]


@pytest.mark.parametrize(("url", "via"), QUOTING)
def test_texts_and_reports_record_the_returns_they_quote(client, data, url, via):
    ret = _returned(data)
    response = _get(client, data, url.format(**data["ids"]))
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert {(r.object_kind, r.object_id, r.via) for r in _rows()} == {
        (AccessKind.RETURN, ret.id, via),
        (AccessKind.CASE, data["ids"]["case_id"], via),
    }


@pytest.mark.parametrize(("url", "via"), SA_QUOTING)
def test_the_self_assessment_report_records_each_return(client, data, url, via):
    ret = db.session.get(Return, data["ids"]["sa_return_id"])
    make_return_answered(ret, _user(data, "agency_lead"), submit=True)
    db.session.commit()
    response = _get(client, data, url.format(**data["ids"]))
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert {(r.object_kind, r.object_id, r.via) for r in _rows()} == {(AccessKind.RETURN, ret.id, via)}


def test_an_export_of_nothing_records_nothing(client, data):
    """The round's only return is still open: the export holds no answers, so no row."""
    assert _get(client, data, f"/rounds/{data['ids']['round_id']}/answers.xlsx").status_code == 200
    assert _rows() == []


# -- reading the log --


def _views(client, data):
    """The auditor opens the police return twice and its file; the admin opens the review."""
    ids = data["ids"]
    _get(client, data, f"/returns/{ids['return_id']}", "auditor")
    _get(client, data, f"/returns/{ids['return_id']}/answers", "auditor")
    _get(client, data, f"/returns/{ids['return_id']}/criterion-evidence/{ids['criterion_evidence_id']}/file", "auditor")
    _get(client, data, f"/reviews/{ids['review_id']}", "admin")


def test_the_log_page_shows_labels_and_filters(client, data):
    _views(client, data)
    login(client, _user(data, "admin"))
    page = client.get("/access-log")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    auditor = _user(data, "auditor")
    assert auditor.name in text and "Child A (rapid review)" in text and "minutes.txt" in text
    assert "Access round (case CS-ACCESS)" in text
    assert "4 recorded views" in text

    by_person = client.get(f"/access-log?person={auditor.id}").get_data(as_text=True)
    assert "3 recorded views" in by_person
    by_kind = client.get("/access-log?kind=review").get_data(as_text=True)
    assert "1 recorded view " in by_kind
    one = client.get(f"/access-log?kind=return&object={data['ids']['return_id']}").get_data(as_text=True)
    assert "2 recorded views" in one
    tomorrow = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()
    assert "0 recorded views" in client.get(f"/access-log?from={tomorrow}").get_data(as_text=True)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("person=abc", "person"),
        ("person=999999", "person"),
        ("from=2026-13-01", "from"),
        ("to=yesterday", "to"),
        ("from=2026-12-02&to=2026-12-01", "to"),
        ("kind=child", "kind"),
        ("via=fax", "via"),
        ("object=x&kind=case", "object"),
        ("object=3", "object"),
    ],
)
def test_bad_filters_are_400_naming_the_field(client, data, query, field):
    login(client, _user(data, "admin"))
    page = client.get(f"/access-log?{query}")
    assert page.status_code == 400
    assert f'id="{field}-error"' in page.get_data(as_text=True)
    assert client.get(f"/access-log.csv?{query}").status_code == 400
    api = client.get(f"/api/v1/access-log?{query}", headers={"Authorization": f"Bearer {data['secrets']['admin']}"})
    assert api.status_code == 400
    assert field in api.get_json()["error"]["fields"], api.get_json()


def test_the_export_holds_the_filtered_log(client, data):
    _views(client, data)
    login(client, _user(data, "scrutineer"))
    response = client.get("/access-log.csv?kind=return")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:3] == ["When (UK time)", "Person", "Email"]
    assert len(rows) == 3
    assert all(row[6].endswith(", Access round (case CS-ACCESS)") for row in rows[1:])
    assert {row[5] for row in rows[1:]} == {"Page"}
    assert {row[9] for row in rows[1:]} == {"rounds.return_detail", "rounds.return_answers"}


def test_who_looked_at_a_case(client, data):
    _views(client, data)
    ids = data["ids"]
    _get(client, data, f"/cases/{ids['case_id']}", "scrutineer")
    login(client, _user(data, "admin"))
    page = client.get(f"/access-log/cases/{ids['case_id']}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    by_person = text.split('id="by-person"')[1].split("</table>")[0]
    auditor, scrutineer = _user(data, "auditor"), _user(data, "scrutineer")
    # the auditor's two views of the return and one of its file; the scrutineer's view of the case
    assert re.search(rf"{re.escape(auditor.name)}.*?>3</td>", by_person, re.S)
    assert re.search(rf"{re.escape(scrutineer.name)}.*?>1</td>", by_person, re.S)
    assert "Child A" not in text  # the review is not part of the case
    assert "4 recorded views" in text
    # the log links a case to its report
    assert f'href="/access-log/cases/{ids["case_id"]}"' in client.get("/access-log?kind=case").get_data(as_text=True)
    export = client.get(f"/access-log/cases/{ids['case_id']}.csv")
    rows = list(csv.reader(io.StringIO(export.get_data(as_text=True).lstrip("\ufeff"))))
    assert len(rows) == 5
    api = client.get(
        f"/api/v1/access-log/cases/{ids['case_id']}", headers={"Authorization": f"Bearer {data['secrets']['admin']}"}
    ).get_json()
    assert api["case_id"] == ids["case_id"] and api["case_label"] == "Case CS-ACCESS"
    assert {(p["user_id"], p["count"]) for p in api["people"]} == {(auditor.id, 3), (scrutineer.id, 1)}
    assert api["total"] == 4
    assert {item["object_kind"] for item in api["items"]} == {"case", "return", "evidence_file"}


def test_the_api_lists_with_ids_and_labels(client, data):
    _views(client, data)
    headers = {"Authorization": f"Bearer {data['secrets']['scrutineer']}"}
    body = client.get("/api/v1/access-log?kind=evidence_file", headers=headers).get_json()
    assert body["total"] == 1 and body["page"] == 1
    (item,) = body["items"]
    assert item["object_label"] == "minutes.txt" and item["via"] == "download" and item["via_label"]
    assert item["user_id"] == data["world"]["users"]["auditor"] and item["user_name"]
    assert item["endpoint"] == "rounds.criterion_evidence_file"
    # reading the log is not itself recorded
    assert _rows(endpoint="api.access_log_list") == []


def test_other_partnerships_see_nothing(client, data):
    _views(client, data)
    login(client, _user(data, "other_admin"))
    assert "0 recorded views" in client.get("/access-log").get_data(as_text=True)
    assert client.get(f"/access-log/cases/{data['ids']['case_id']}").status_code == 404


def test_queries_added_per_page_view(client, data, count_queries):
    """Recording a view costs one INSERT (and the commit) per request, however many objects."""
    login(client, _user(data, "admin"))
    url = f"/returns/{data['ids']['return_id']}"
    client.get(url)
    with count_queries() as counter:
        client.get(url)
    inserts = [s for s in counter.statements if s.lstrip().upper().startswith("INSERT INTO ACCESS_EVENTS")]
    assert len(inserts) == 1


def test_the_log_page_runs_a_few_queries_however_many_rows(client, data, count_queries):
    """A fixed few, and one per kind of object on the page (at most four), never one per row."""
    _views(client, data)
    login(client, _user(data, "admin"))
    client.get("/access-log")
    with count_queries() as few:
        client.get("/access-log?per_page=1")
    with count_queries() as many:
        client.get("/access-log")
    # the newest row is the review (one kind); all four rows are returns, a file and the review (three kinds)
    assert many.count == few.count + 2, many.statements
    print(f"access log page: {many.count} statements")
