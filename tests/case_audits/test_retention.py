"""Retention: `flask purge` removes a reported case audit round's case-level records once its partnership's
period is over, keeps the counts its findings are drawn from, and records what it removed.

Most tests run on the demo (the shipped library's neglect and CSE questionnaires, with their overall section
and learning themes): its autumn 2025 CSE round is reported and re-audited by the spring 2026 round.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from audit_app.accounts.models import Partnership
from audit_app.case_audits import retention
from audit_app.case_audits.models import Case, CaseJudgement, RoundCase, RoundPurge
from audit_app.core import storage
from audit_app.core.audit import AuditEvent, system_actor
from audit_app.core.demo import load_demo
from audit_app.extensions import db
from audit_app.reporting import findings as f
from audit_app.reporting.models import ReportFile, ReportFileStatus, ReportKind
from audit_app.rounds import evidence
from audit_app.rounds.models import Answer, Return, Round, RoundStatus
from tests.conftest import login, module_setup

TODAY = date(2026, 12, 1)
#: the round tables whose figures are counts (kept); the others list cases (removed with them)
KEPT_TABLES = {
    "return_rate_overall",
    "return_rates_agency",
    "return_rates_sector",
    "grades",
    "grades_by_agency",
    "questions",
    "panel_grades",
    "learning_themes",
    "panel_agreement",
}


@pytest.fixture(scope="module")
def demo_ids(app, module_connection) -> dict:
    """The demo, loaded once for the module (see "data built once per module" in conftest): its ids."""
    with module_setup(app, module_connection):
        with system_actor("test:demo"):
            load_demo()
            db.session.commit()
        partnership_id = db.session.scalar(sa.select(Partnership.id).order_by(Partnership.id))
        rounds = db.session.execute(
            sa.select(Round.id, Round.status)
            .where(Round.partnership_id == partnership_id, Round.kind == "case_audit")
            .order_by(Round.id)
        ).all()
    return {
        "partnership": partnership_id,
        "reported": [r for r, status in rounds if status == RoundStatus.REPORTED],
        "others": [r for r, status in rounds if status != RoundStatus.REPORTED],
    }


@pytest.fixture()
def db_session(savepoint_session):
    """Each test runs in a savepoint on the module's connection, over the demo loaded once."""
    return savepoint_session


@pytest.fixture()
def demo(db_session, demo_ids):
    reported = demo_ids["reported"]
    assert len(reported) >= 2, "the demo has a reported round and its reported re-audit"
    return (
        db.session.get(Partnership, demo_ids["partnership"]),
        db.session.get(Round, reported[0]),
        db.session.get(Round, reported[1]),
        [db.session.get(Round, r) for r in demo_ids["others"]],
    )


def _reported_on(round_: Round, day: date) -> None:
    round_.reported_at = datetime(day.year, day.month, day.day, 12, tzinfo=UTC)
    db.session.commit()


def _tables(found: f.Findings) -> dict[str, list[dict]]:
    return {key: table.rows for key, table in found.tables.items()}


def _police(partnership: Partnership) -> frozenset[int]:
    from audit_app.accounts.models import Agency

    return frozenset(db.session.scalars(sa.select(Agency.id).where(Agency.name.like("%Police%"))).all())


def _everything(partnership: Partnership, round_: Round, theme_id: int, agencies: frozenset[int] | None):
    return {
        "round": _tables(f.round_findings(round_, agencies)),
        "trend": _tables(f.theme_trend(partnership.id, theme_id, agencies)),
        "agency_theme": _tables(f.agency_theme([partnership.id], agencies)),
        "themes": _tables(f.learning_themes([partnership.id], agencies)),
    }


def _purge(today: date = TODAY) -> retention.Run:
    with system_actor("cli:purge"):
        return retention.run_purge(today, apply=True)


def test_a_dry_run_lists_what_is_due_and_removes_nothing(demo):
    partnership, first, second, _others = demo
    partnership.retention_months = 12
    _reported_on(first, date(2025, 11, 30))
    _reported_on(second, date(2025, 12, 2))  # its 12 months end tomorrow
    answers = db.session.scalar(sa.select(sa.func.count()).select_from(Answer))

    run = retention.run_purge(TODAY, apply=False)

    assert [d.round.id for d in run.due] == [first.id]
    assert run.due[0].due_on == date(2026, 11, 30)
    assert run.due[0].counts["returns"] == db.session.scalar(
        sa.select(sa.func.count()).select_from(Return).where(Return.round_id == first.id)
    )
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Answer)) == answers
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RoundPurge)) == 0


def test_nothing_is_due_without_a_period_or_before_it_ends_or_in_a_round_not_reported(demo):
    partnership, first, _second, others = demo
    assert partnership.retention_months == 72  # the demo's six years
    partnership.retention_months = None
    _reported_on(first, date(2020, 1, 1))
    assert retention.run_purge(TODAY, apply=True).due == []  # no period set: kept

    partnership.retention_months = 72  # 1 January 2020 + 72 months: 1 January 2026
    assert [d.round.id for d in retention.due_rounds(TODAY)] == [first.id]
    partnership.retention_months = 84  # 1 January 2027
    assert retention.due_rounds(date(2026, 12, 31)) == []
    assert [d.round.id for d in retention.due_rounds(date(2027, 1, 1))] == [first.id]

    # a round in any other state is never due, however old
    for round_ in others:
        round_.reported_at = datetime(2000, 1, 1, tzinfo=UTC)
    db.session.commit()
    due = {d.round.id for d in retention.due_rounds(date(2040, 1, 1))}
    assert not due & {r.id for r in others}


def test_purge_removes_the_case_records_and_keeps_every_count(demo):
    partnership, first, second, _others = demo
    police = _police(partnership)
    theme_id = first.theme_id
    before = {who: _everything(partnership, first, theme_id, who) for who in (None, police)}
    second_before = _tables(f.round_findings(second))
    case_ids = set(db.session.scalars(sa.select(RoundCase.case_id).where(RoundCase.round_id == first.id)))
    carried = set(db.session.scalars(sa.select(RoundCase.case_id).where(RoundCase.round_id == second.id)))
    return_ids = list(db.session.scalars(sa.select(Return.id).where(Return.round_id == first.id)))
    references = set(db.session.scalars(sa.select(Case.reference).where(Case.id.in_(case_ids - carried))))
    assert return_ids and references

    partnership.retention_months = 12
    _reported_on(first, date(2025, 6, 1))
    run = _purge()

    assert [p.round_id for p in run.purged] == [first.id]
    # the records are gone
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Return).where(Return.round_id == first.id)) == 0
    assert (
        db.session.scalar(sa.select(sa.func.count()).select_from(Answer).where(Answer.return_id.in_(return_ids))) == 0
    )
    assert (
        db.session.scalar(sa.select(sa.func.count()).select_from(RoundCase).where(RoundCase.round_id == first.id)) == 0
    )
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(CaseJudgement).join(RoundCase).where(RoundCase.round_id == first.id)
        )
        == 0
    )
    # a case only this round held is gone; a case the later re-audit still holds stays, unlinked from it
    remaining = set(db.session.scalars(sa.select(Case.id).where(Case.id.in_(case_ids))))
    assert remaining == case_ids & carried
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(RoundCase)
            .where(RoundCase.previous_round_case_id.is_not(None), RoundCase.round_id == second.id)
        )
        == 0
    )
    # the round stays, reported, with its record of what went
    db.session.expire_all()
    kept_round = db.session.get(Round, first.id)
    assert kept_round.status == RoundStatus.REPORTED
    record = retention.purge_of(first.id)
    assert record.removed["returns"] == len(return_ids)
    assert record.removed["cases"] == len(references)
    assert record.retention_months == 12 and record.actor_label == "cli:purge"

    # every count reads the same, partnership-wide and for the police
    for who in (None, police):
        after = _everything(partnership, kept_round, theme_id, who)
        for key in KEPT_TABLES & set(before[who]["round"]):
            assert after["round"][key] == before[who]["round"][key], (who, key)
        for page in ("trend", "agency_theme", "themes"):
            assert after[page] == before[who][page], (who, page)
    # tables that list cases are empty now
    after_all = _everything(partnership, kept_round, theme_id, None)["round"]
    assert after_all["panel_vs_agency"] == []
    # the later round's own figures are untouched
    second_after = _tables(f.round_findings(db.session.get(Round, second.id)))
    for key in KEPT_TABLES & set(second_before):
        assert second_after[key] == second_before[key], key

    # the audit trail keeps each event of the removed records, without their values
    events = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.entity_type == "Return", AuditEvent.entity_id.in_(return_ids))
    ).all()
    assert events and all(e.after == retention.REMOVED_VALUES and e.before is None for e in events)
    trail = " ".join(json.dumps([e.before, e.after]) for e in db.session.scalars(sa.select(AuditEvent)).all())
    assert not [ref for ref in references if ref in trail]
    # and it says what was removed
    said = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.entity_type == "round", AuditEvent.entity_id == first.id)
    ).all()
    assert any("case_records_removed" in (e.after or {}) for e in said)

    # the round's report still counts the panel's overall grades; its case-by-case appendix says why it is empty
    from audit_app.reporting.report import key_figures, round_report_html

    figures = dict(key_figures(f.round_findings(kept_round), [], False))
    assert figures["Cases the panel graded good or better overall"] != "none to count"
    html = round_report_html(kept_round)
    assert "judgement on each case went with them" in html
    assert not [ref for ref in references if ref in html]

    # a second run finds nothing more to do
    assert _purge().due == []


def test_files_of_a_purged_round_leave_the_file_store(demo, app):
    partnership, first, _second, _others = demo
    ret = db.session.scalar(sa.select(Return).where(Return.round_id == first.id).order_by(Return.id))
    question = db.session.scalar(sa.select(Answer).where(Answer.return_id == ret.id)).question
    with system_actor("test:setup"):
        stored = storage.store_file(
            io.BytesIO(b"%PDF-1.4 minutes of a strategy meeting about this child"),
            "minutes.pdf",
            partnership_id=partnership.id,
            uploaded_by_id=None,
        )
        db.session.add(
            evidence.CriterionEvidence(
                return_id=ret.id, question_key=question.key, kind="file", stored_file_id=stored.id
            )
        )
        report = storage.store_made_file(
            b"%PDF-1.4 report", "report.pdf", "application/pdf", partnership_id=partnership.id
        )
        db.session.add(
            ReportFile(
                round_id=first.id,
                kind=ReportKind.FULL,
                fingerprint="x" * 64,
                status=ReportFileStatus.READY,
                stored_file_id=report.id,
            )
        )
        db.session.commit()
    paths = [storage._blob_path(stored.sha256), storage._blob_path(report.sha256)]
    assert all(p.exists() for p in paths)

    partnership.retention_months = 12
    _reported_on(first, date(2024, 1, 1))
    run = _purge()

    assert run.files_deleted == 2
    assert not any(p.exists() for p in paths)
    assert run.purged[0].removed["stored_files"] == 2 and run.purged[0].removed["report_files"] == 1


def test_the_command_is_a_dry_run_unless_told_to_apply(demo, app):
    partnership, first, _second, _others = demo
    partnership.retention_months = 24
    _reported_on(first, date(2024, 3, 1))
    runner = app.test_cli_runner()

    dry = runner.invoke(args=["purge"])
    assert dry.exit_code == 0, dry.output
    assert "dry run: nothing is removed" in dry.output
    assert f"Round {first.id} '{first.title}', reported 1 March 2024, kept 24 months (due 1 March 2026)" in dry.output
    assert "1 round past the retention period. Nothing removed." in dry.output
    assert "No retention period set (case records kept): " in dry.output  # the demo's second partnership
    assert retention.purge_of(first.id) is None

    applied = runner.invoke(args=["purge", "--apply"])
    assert applied.exit_code == 0, applied.output
    assert "removed" in applied.output and "1 round purged" in applied.output
    assert retention.purge_of(first.id) is not None

    again = runner.invoke(args=["purge", "--apply"])
    assert "No round is past its retention period" in again.output


def test_a_purged_rounds_pages_still_answer(client, demo):
    partnership, first, _second, _others = demo
    partnership.retention_months = 12
    _reported_on(first, date(2024, 1, 1))
    _purge()
    from audit_app.accounts.models import User

    qa = db.session.scalar(sa.select(User).where(User.email == "qa@northbridge.example.org"))
    login(client, qa, partnership.id)
    for url in (
        f"/rounds/{first.id}",
        f"/rounds/{first.id}/findings",
        f"/rounds/{first.id}/findings/agencies",
        f"/rounds/{first.id}/findings/texts",
        f"/rounds/{_second.id}/findings/re-audit",
        "/findings",
    ):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        page = response.get_data(as_text=True)
        assert "nan" not in page.split("<main")[-1].lower().split() and "None" not in page, url


# -- the setting, the retention page and the API --

SETTINGS = {"qa_group_name": "QA group", "action_remind_days_before": "7", "action_overdue_every_days": "7"}


def test_the_period_is_set_on_the_settings_page_and_every_bad_value_is_named(client, world):
    login(client, world.user("admin"))
    page = client.get("/admin/settings").get_data(as_text=True)
    assert "Remove case records this many months after a case audit round is reported" in page
    for bad, message in (
        ("6", "from 12 to 600"),
        ("601", "from 12 to 600"),
        ("six", "from 12 to 600"),
        ("-12", "from 12 to 600"),
        ("12.5", "from 12 to 600"),
    ):
        response = client.post("/admin/settings", data={**SETTINGS, "retention_months": bad, "qa_group_name": ""})
        text = response.get_data(as_text=True)
        assert response.status_code == 400, bad
        assert "#retention_months" in text and "#qa_group_name" in text and message in text, bad  # both at once
        assert db.session.get(Partnership, world.partnership.id).retention_months is None
    assert client.post("/admin/settings", data={**SETTINGS, "retention_months": " 72 "}).status_code == 302
    assert db.session.get(Partnership, world.partnership.id).retention_months == 72
    # left out of the form: kept; sent empty: no period
    assert client.post("/admin/settings", data=SETTINGS).status_code == 302
    assert db.session.get(Partnership, world.partnership.id).retention_months == 72
    assert client.post("/admin/settings", data={**SETTINGS, "retention_months": ""}).status_code == 302
    assert db.session.get(Partnership, world.partnership.id).retention_months is None


def test_the_period_through_the_api(world, api):
    admin = api(world.user("admin"))
    assert admin.get("/api/v1/partnership/settings").json["retention_months"] is None
    for bad in (6, 601, "72", True, 12.5):
        response = admin.patch("/api/v1/partnership/settings", json={"retention_months": bad, "qa_group_name": ""})
        assert response.status_code == 400, bad
        assert {"retention_months", "qa_group_name"} <= set(response.json["error"]["fields"]), bad
    ok = admin.patch("/api/v1/partnership/settings", json={"retention_months": 84})
    assert ok.status_code == 200 and ok.json["retention_months"] == 84
    untouched = admin.patch("/api/v1/partnership/settings", json={"qa_group_name": "QA"})
    assert untouched.json["retention_months"] == 84
    cleared = admin.patch("/api/v1/partnership/settings", json={"retention_months": None})
    assert cleared.status_code == 200 and cleared.json["retention_months"] is None


def test_the_retention_page_and_api_say_what_goes_when_and_what_went(client, demo, api):
    from audit_app.accounts.models import User

    partnership, first, second, _others = demo
    partnership.retention_months = 12
    _reported_on(first, date(2025, 1, 10))
    _reported_on(second, date(2026, 6, 1))
    scrutineer = db.session.scalar(sa.select(User).where(User.email == "scrutineer@northbridge.example.org"))
    login(client, scrutineer, partnership.id)

    page = client.get("/admin/retention").get_data(as_text=True)
    assert "removed <strong>12 months</strong> after the round was reported" in page
    assert "At the next nightly purge" in page  # the first round: due since 10 January 2026
    assert "On 1 June 2027" in page
    assert "Nothing has been removed yet." in page
    assert "Change the retention period" not in page  # a scrutineer reads, an admin changes
    admin = db.session.scalar(sa.select(User).where(User.email == "admin@northbridge.example.org"))
    login(client, admin, partnership.id)
    saved = client.post(
        "/admin/settings", data={**SETTINGS, "qa_group_name": partnership.qa_group_name, "retention_months": "12"}
    )
    assert saved.status_code == 302
    warned = client.get("/admin/settings").get_data(as_text=True)
    assert "The case records of 1 reported round are past this period and will be removed" in warned
    home = client.get("/").get_data(as_text=True).split('id="records-due-soon"')[1].split("</div>")[0]
    assert f"{first.title}</a>: at the next nightly purge" in home
    assert second.title not in home  # 1 June 2027: not within 30 days
    login(client, scrutineer, partnership.id)
    body = api(scrutineer).get("/api/v1/retention").json
    assert body["retention_months"] == 12
    rounds = {r["round_id"]: r for r in body["rounds"]}
    assert rounds[first.id]["due"] is True and rounds[first.id]["removal_due_on"] == "2026-01-10"
    assert rounds[second.id]["due"] is False and rounds[second.id]["removal_due_on"] == "2027-06-01"
    assert rounds[first.id]["holds"]["returns"] > 0 and body["purges"] == []

    _purge()
    page = client.get("/admin/retention").get_data(as_text=True)
    assert first.title in page.split('id="purges"')[1]
    purge = api(scrutineer).get("/api/v1/retention").json["purges"][0]
    assert purge["round_id"] == first.id and purge["retention_months"] == 12 and purge["actor"] == "cli:purge"
    assert purge["removed"]["returns"] > 0 and "returns" in purge["removed_text"]
    round_page = client.get(f"/rounds/{first.id}").get_data(as_text=True)
    assert "at the end of the partnership&#39;s 12-month retention period" in round_page
    assert "The case records were removed at the end of the retention period." in round_page
    findings = client.get(f"/rounds/{first.id}/findings").get_data(as_text=True)
    assert 'id="purged"' in findings
    reaudit = client.get(f"/rounds/{second.id}/findings/re-audit").get_data(as_text=True)
    assert 'id="previous-purged"' in reaudit and "can no longer be compared" in reaudit
    assert "Kept until 1 June 2027" in client.get(f"/rounds/{second.id}").get_data(as_text=True)
