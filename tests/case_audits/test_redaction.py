"""Redacting a wrongly entered case reference: the service, the page, the API, and a scan of every text
and JSON column of every table (and every stored file) proving the old value is gone everywhere."""

from __future__ import annotations

import io
import zipfile
from datetime import date

import openpyxl
import pytest
import sqlalchemy as sa

from audit_app.accounts.session import build_principal
from audit_app.actions import services as action_services
from audit_app.case_audits import services as case_services
from audit_app.case_audits.models import Case, RoundCase
from audit_app.core.audit import AuditEvent, system_actor
from audit_app.core.errors import ConflictError, DomainError
from audit_app.core.storage import StoredFile, _blob_path, store_file
from audit_app.extensions import db
from audit_app.questionnaires.models import QuestionnaireKind, QuestionnaireVersion, QuestionType
from audit_app.rounds import services as rounds
from audit_app.rounds.models import Return, RoundStatus
from tests.conftest import login, module_setup
from tests.factories import (
    _library_key_of,
    build_world,
    load_world,
    make_questionnaire,
    make_round,
    valid_answers,
    world_ids,
)

OLD = "ZQ-4471"
NEW = "CS-9012"
#: the reference planted everywhere (no other case's reference holds it)
PLANTED = "QX-5830"


# -- the world, a questionnaire per partnership and a round of three cases, built once for the module --


@pytest.fixture(scope="module")
def shared(app, module_connection) -> dict:
    with module_setup(app, module_connection):
        world = build_world()
        key = _library_key_of(QuestionnaireKind.CASE_AUDIT)
        version = make_questionnaire(world.partnership.id, library_key=key)
        south_version = make_questionnaire(world.other_partnership.id, library_key=key)
        round_ = make_round(
            world.partnership.id, version=version, agencies=[world.police], cases=[OLD, "CS-1", f"{OLD} B"]
        )
        db.session.commit()
        return {
            "world": world_ids(world),
            "version_id": version.id,
            "south_version_id": south_version.id,
            "cases": {rc.case.reference: rc.case_id for rc in round_.cases},
        }


@pytest.fixture()
def db_session(savepoint_session):
    return savepoint_session


@pytest.fixture()
def world(db_session, shared):
    return load_world(shared["world"])


@pytest.fixture()
def two_cases(world, shared) -> dict[str, int]:
    """Case ids by reference: OLD, "CS-1", and f"{OLD} B" (which holds OLD)."""
    return shared["cases"]


def _principal(user):
    return build_principal(user.id, user.memberships[0].partnership_id, list(user.memberships))


def _case(partnership_id: int, reference: str) -> Case:
    return db.session.scalar(sa.select(Case).where(Case.partnership_id == partnership_id, Case.reference == reference))


def _xlsx(text: str) -> bytes:
    book = openpyxl.Workbook()
    book.active["A1"] = "Notes"
    book.active["A2"] = text
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _file_text(stored: StoredFile) -> str:
    data = _blob_path(stored.sha256).read_bytes()
    if data.startswith(b"PK"):
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            return "".join(package.read(name).decode("utf-8", "replace") for name in package.namelist())
    return data.decode("utf-8")


def _plant_everywhere(world, shared) -> dict:
    """The wrong reference put, through the app's own services, everywhere a user can type it."""
    north, lead, qa = world.partnership.id, world.user("agency_lead"), world.user("qa_member")
    round_ = make_round(
        north,
        version=db.session.get(QuestionnaireVersion, shared["version_id"]),
        title=f"Neglect audit (first case {PLANTED})",
        agencies=[world.police, world.health],
        cases=[PLANTED, "CS-1"],
        status=RoundStatus.OPEN,
    )
    round_case = next(rc for rc in round_.cases if rc.case.reference == PLANTED)
    police, health = (
        db.session.scalar(
            sa.select(Return).where(Return.round_case_id == round_case.id, Return.agency_id == agency.agency_id)
        )
        for agency in (world.police, world.health)
    )
    with system_actor("test:setup"):
        answers = valid_answers(police)
        texts = [q for q in rounds.applicable_questions(police) if q.type == QuestionType.TEXT]
        for question in texts:
            answers[question.key] = f"Seen at the MASH as {PLANTED}; see {PLANTED.lower()} notes"
        rounds.save_answers(police, answers, by=lead, expected_version=police.lock_version)
        rounds.submit_return(police, by=lead, as_lead=True)
        rounds.request_changes(police, by=qa, note=f"Say more about what happened to {PLANTED}.")
        rounds.decline_return(health, by=lead, reason=f"We hold no record of {PLANTED}")
        rounds.move_round(round_, RoundStatus.CLOSED)
        rounds.move_round(round_, RoundStatus.IN_DISCUSSION)
        case_services.record_judgement(
            round_case,
            section_key="",
            grade="",
            strengths=f"Quick referral of {PLANTED}",
            recommendations=f"Re-audit {PLANTED} next year",
            concern_escalated=True,
            escalated_to=f"MASH manager ({PLANTED})",
        )
        # changed once agreed: the trail's "before" holds it too
        case_services.record_judgement(
            round_case,
            section_key="",
            grade="",
            strengths=f"Quick referral of {PLANTED} by the police",
            recommendations=f"Re-audit {PLANTED} next year",
            concern_escalated=True,
            escalated_to=f"MASH manager ({PLANTED})",
        )
        # the action plan: a recommendation from a source named after the case, its action, update, moved due
        # date and evidence of impact, each typed with the reference
        rec = action_services.create_recommendation(
            north,
            action_services.RecommendationIn(
                source_description=f"Serious incident notification for {PLANTED}", text=f"Learn from {PLANTED}"
            ),
        )
        action = action_services.add_action(
            rec,
            action_services.ActionIn(
                title=f"Brief staff on {PLANTED}", owner_name=f"Key worker for {PLANTED}", due_on=date(2030, 1, 1)
            ),
        )
        action_services.post_update(action, action_services.UpdateIn(note=f"Briefed on {PLANTED}"), by=qa.id)
        action_services.move_due_date(action, date(2030, 2, 1), f"Waiting for {PLANTED}'s review", by=qa.id)
        action_services.add_evidence(
            action, action_services.EvidenceIn(description=f"{PLANTED}'s plan reviewed on time"), by=qa.id
        )
        text_file = store_file(
            io.BytesIO(f"Chronology of {PLANTED}\n".encode()),
            f"{PLANTED} chronology.txt",
            partnership_id=north,
            uploaded_by_id=qa.id,
        )
        workbook = store_file(
            io.BytesIO(_xlsx(f"Panel notes on {PLANTED}")),
            "panel notes.xlsx",
            partnership_id=north,
            uploaded_by_id=qa.id,
        )
        # the same reference in another partnership is another child's: never touched
        south_round = make_round(
            world.other_partnership.id,
            version=db.session.get(QuestionnaireVersion, shared["south_version_id"]),
            cases=[PLANTED],
            agencies=[world.other_agency],
        )
        db.session.commit()
    return {
        "case_id": round_case.case_id,
        "round_id": round_.id,
        "texts": len(texts),
        "files": [text_file.id, workbook.id],
        "old_blobs": [text_file.sha256, workbook.sha256],
        "south_case_id": south_round.cases[0].case_id,
    }


def _text_columns(table: sa.Table) -> list[sa.Column]:
    """Every column of the table that can hold text, whatever it is (a scan independent of the code under test)."""
    return [c for c in table.columns if isinstance(c.type, (sa.String, sa.Text, sa.JSON))]


def _hits(value: str) -> list[tuple[str, str, dict]]:
    """Every row of every table with ``value`` in a text or JSON column (ignoring case)."""
    found = []
    connection = db.session.connection()
    for table in db.metadata.sorted_tables:
        for column in _text_columns(table):
            searched = sa.cast(column, sa.Text)  # JSON and enums too
            for row in connection.execute(sa.select(table).where(searched.icontains(value, autoescape=True))):
                found.append((table.name, column.name, dict(row._mapping)))
    return found


def test_the_wrong_reference_is_gone_from_every_table_and_file(client, world, shared):
    planted = _plant_everywhere(world, shared)
    south = world.other_partnership.id
    before = {(table, column) for table, column, row in _hits(PLANTED) if row.get("partnership_id") != south}
    # planted in each place a person can type it (so the scan below proves something)
    assert {
        ("cases", "reference"),
        ("rounds", "title"),
        ("returns", "note"),
        ("return_events", "note"),
        ("answers", "value"),
        ("case_judgements", "strengths"),
        ("case_judgements", "recommendations"),
        ("case_judgements", "escalated_to"),
        ("stored_files", "original_filename"),
        ("audit_events", "after"),
        ("audit_events", "before"),
        ("recommendations", "source_description"),
        ("recommendations", "source_key"),
        ("recommendations", "text"),
        ("actions", "title"),
        ("actions", "owner_name"),
        ("action_updates", "note"),
        ("action_due_date_changes", "reason"),
        ("impact_evidence", "description"),
    } <= before
    assert planted["texts"] > 0
    assert all(PLANTED in _file_text(db.session.get(StoredFile, i)) for i in planted["files"])

    lock_before = db.session.get(Return, _police_return(planted)).lock_version

    case = db.session.get(Case, planted["case_id"])
    counts = case_services.redact_case_reference(case, NEW, _principal(world.user("admin")))
    db.session.commit()

    assert counts["audit_events"] > 0 and counts["stored files"] == 2
    # nothing of this partnership holds it, in any text or JSON column of any table
    left = [(table, column) for table, column, row in _hits(PLANTED) if row.get("partnership_id") != south]
    assert left == []
    # the other partnership's case of the same reference is untouched
    assert db.session.get(Case, planted["south_case_id"]).reference == PLANTED
    # the stored files were rewritten and their old content removed from disk (after the commit)
    for file_id, old_blob in zip(planted["files"], planted["old_blobs"], strict=True):
        stored = db.session.get(StoredFile, file_id)
        assert PLANTED.lower() not in _file_text(stored).lower()
        assert NEW in _file_text(stored)
        assert not _blob_path(old_blob).exists()
    # the new value took its place
    assert db.session.get(Case, planted["case_id"]).reference == NEW
    police = db.session.get(Return, _police_return(planted))
    assert NEW in police.note
    # its lock moved on: a page opened before the redaction cannot save the old text back over it
    assert police.lock_version > lock_before
    # a recommendation's source renamed keeps its numbering key in step (folded like any name)
    from audit_app.accounts.models import name_key
    from audit_app.actions.models import Recommendation

    rec = db.session.scalar(sa.select(Recommendation).where(Recommendation.source_description.contains(NEW)))
    assert rec.source_key == f"other:{name_key(rec.source_description)}"


def _police_return(planted: dict) -> int:
    return db.session.scalar(
        sa.select(Return.id)
        .join(RoundCase, RoundCase.id == Return.round_case_id)
        .where(RoundCase.case_id == planted["case_id"], Return.status == "changes_requested")
    )


def test_the_redaction_event_says_who_and_when_but_not_what(client, world, shared):
    planted = _plant_everywhere(world, shared)
    admin = world.user("admin")
    login(client, admin)
    response = client.post(
        f"/cases/{planted['case_id']}/redact", data={"reference": NEW, "confirm": "y"}, follow_redirects=True
    )
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert f"Reference redacted: the case is now {NEW}" in page
    event = db.session.scalar(
        sa.select(AuditEvent).where(AuditEvent.action == "redact", AuditEvent.entity_id == planted["case_id"])
    )
    assert event.entity_type == "Case" and event.actor_id == admin.id and event.actor_label == admin.email
    assert event.partnership_id == world.partnership.id and event.occurred_at is not None
    assert event.before is None and event.after == {"redacted": "reference", "reference": NEW}
    assert event.action_label == "Reference redacted"
    for url in (
        f"/cases/{planted['case_id']}",
        f"/history/case/{planted['case_id']}",
        "/audit-log",
        f"/rounds/{planted['round_id']}",
        f"/rounds/{planted['round_id']}/cases/{_round_case_id(planted)}/discussion",
    ):
        html = client.get(url).get_data(as_text=True)
        assert PLANTED.lower() not in html.lower(), url
    history = client.get(f"/history/case/{planted['case_id']}").get_data(as_text=True)
    assert "Reference redacted" in history and admin.email in history
    assert "Reference redacted" in client.get("/audit-log").get_data(as_text=True)


def _round_case_id(planted: dict) -> int:
    return db.session.scalar(
        sa.select(RoundCase.id).where(
            RoundCase.case_id == planted["case_id"], RoundCase.round_id == planted["round_id"]
        )
    )


# -- the service's refusals --


@pytest.mark.parametrize(
    ("new", "error", "message"),
    [
        ("", DomainError, "Enter a case reference"),
        ("Jane Smith", DomainError, "looks like a person's name"),
        ("12/03/2015", DomainError, "date of birth"),
        (OLD, DomainError, "different from the one to redact"),
        ("CS-1", ConflictError, "already exists"),
    ],
)
def test_a_bad_new_reference_is_refused_naming_the_field(world, two_cases, new, error, message):
    case = db.session.get(Case, two_cases[OLD])
    with pytest.raises(error) as refused:
        case_services.redact_case_reference(case, new, _principal(world.user("admin")))
    assert refused.value.field == "reference" and message in refused.value.message
    db.session.rollback()
    assert db.session.get(Case, two_cases[OLD]).reference == OLD


@pytest.mark.parametrize("role", ["qa_member", "auditor", "scrutineer", "other_admin"])
def test_only_an_admin_of_the_partnership_may_redact(world, two_cases, role):
    case = db.session.get(Case, two_cases[OLD])
    with pytest.raises(PermissionError):
        case_services.redact_case_reference(case, NEW, _principal(world.user(role)))


def test_another_case_whose_reference_holds_this_one_is_untouched(world, two_cases):
    case = db.session.get(Case, two_cases[OLD])
    case_services.redact_case_reference(case, NEW, _principal(world.user("admin")))
    db.session.commit()
    assert db.session.get(Case, two_cases[f"{OLD} B"]).reference == f"{OLD} B"
    assert db.session.get(Case, two_cases[OLD]).reference == NEW
    # its own audit events keep its reference whole
    created = db.session.scalar(
        sa.select(AuditEvent).where(
            AuditEvent.entity_type == "Case",
            AuditEvent.entity_id == two_cases[f"{OLD} B"],
            AuditEvent.action == "create",
        )
    )
    assert created.after["reference"] == f"{OLD} B"


# -- the page --


def test_the_case_page_offers_redaction_to_admins_only(client, world, two_cases):
    case_id = two_cases[OLD]
    login(client, world.user("admin"))
    page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    assert f'href="/cases/{case_id}/redact"' in page and "Redact reference" in page
    form = client.get(f"/cases/{case_id}/redact").get_data(as_text=True)
    assert 'name="reference"' in form and 'name="confirm"' in form and "cannot be recovered" in form
    for role in ("qa_member", "scrutineer"):
        login(client, world.user(role))
        assert "Redact reference" not in client.get(f"/cases/{case_id}").get_data(as_text=True)


@pytest.mark.parametrize(
    ("role", "status"), [("qa_member", 403), ("auditor", 403), ("scrutineer", 403), ("other_admin", 404)]
)
def test_others_cannot_reach_the_form(client, world, two_cases, role, status):
    login(client, world.user(role))
    case_id = two_cases[OLD]
    assert client.get(f"/cases/{case_id}/redact").status_code == status
    assert client.post(f"/cases/{case_id}/redact", data={"reference": NEW, "confirm": "y"}).status_code == status
    assert db.session.get(Case, case_id).reference == OLD


def test_every_bad_field_is_reported_at_once_and_nothing_is_saved(client, world, two_cases):
    login(client, world.user("admin"))
    case_id = two_cases[OLD]
    response = client.post(f"/cases/{case_id}/redact", data={"reference": "Jane Smith"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "govuk-error-summary" in page
    assert "looks like a person&#39;s name" in page or "looks like a person's name" in page
    assert "Confirm that the current reference will be removed everywhere for good" in page
    taken = client.post(f"/cases/{case_id}/redact", data={"reference": "CS-1", "confirm": "y"})
    assert taken.status_code == 400 and "A case with this reference already exists" in taken.get_data(as_text=True)
    assert db.session.get(Case, case_id).reference == OLD
    assert not db.session.scalar(sa.select(AuditEvent.id).where(AuditEvent.action == "redact"))


# -- the API --


def test_the_api_redacts_and_returns_the_case_with_stable_ids(api, world, two_cases):
    case_id = two_cases[OLD]
    response = api(world.user("admin")).post(f"/api/v1/cases/{case_id}/redact", json={"reference": NEW})
    assert response.status_code == 200, response.json
    body = response.json
    assert body["id"] == case_id and body["reference"] == NEW
    assert body["rounds"][0]["round_case_id"] and body["rounds"][0]["round_status"] == "planning"
    assert body["rounds"][0]["round_status_label"] == "Planning"
    assert api(world.user("scrutineer")).get(f"/api/v1/cases/{case_id}").json["reference"] == NEW


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({}, 400, "reference"),
        ({"reference": 12}, 400, "reference"),
        ({"reference": "Jane Smith"}, 400, "reference"),
        ({"reference": "CS-1"}, 409, "reference"),
        ({"reference": NEW, "extra": 1}, 400, "extra"),
    ],
)
def test_the_api_refuses_bad_input_naming_the_field(api, world, two_cases, body, status, field):
    case_id = two_cases[OLD]
    response = api(world.user("admin")).post(f"/api/v1/cases/{case_id}/redact", json=body)
    assert response.status_code == status, response.json
    assert field in response.json["error"]["fields"]
    assert db.session.get(Case, case_id).reference == OLD


@pytest.mark.parametrize(
    ("role", "status"), [("qa_member", 403), ("scrutineer", 403), ("auditor", 403), ("other_admin", 404)]
)
def test_the_api_lets_only_admins_redact(api, world, two_cases, role, status):
    case_id = two_cases[OLD]
    response = api(world.user(role)).post(f"/api/v1/cases/{case_id}/redact", json={"reference": NEW})
    assert response.status_code == status
    assert db.session.get(Case, case_id).reference == OLD


def test_events_recorded_without_a_partnership_about_its_rows_are_redacted_too(world, two_cases):
    """Events of new round cases and judgements were once recorded without a partnership: still found."""
    from audit_app.core.audit import AuditAction, record_event

    case_id = two_cases[OLD]
    round_case_id = db.session.scalar(sa.select(RoundCase.id).where(RoundCase.case_id == case_id))
    record_event("RoundCase", round_case_id, AuditAction.UPDATE, partnership_id=None, after={"note": f"{OLD} moved"})
    record_event("Case", case_id, AuditAction.UPDATE, partnership_id=None, after={"reference": OLD})
    # an event without a partnership about another partnership's row is not this redaction's
    record_event("Case", 10**6, AuditAction.UPDATE, partnership_id=None, after={"reference": OLD})
    case_services.redact_case_reference(db.session.get(Case, case_id), NEW, _principal(world.user("admin")))
    db.session.commit()
    afters = {
        (e.entity_type, e.entity_id): e.after
        for e in db.session.scalars(sa.select(AuditEvent).where(AuditEvent.partnership_id.is_(None)))
    }
    assert afters[("RoundCase", round_case_id)] == {"note": f"{NEW} moved"}
    assert afters[("Case", case_id)] == {"reference": NEW}
    assert afters[("Case", 10**6)] == {"reference": OLD}


def test_new_round_cases_returns_and_judgements_are_recorded_with_their_partnership(world, two_cases):
    assert not db.session.scalar(
        sa.select(sa.func.count())
        .select_from(AuditEvent)
        .where(
            AuditEvent.partnership_id.is_(None), AuditEvent.entity_type.in_(["RoundCase", "Return", "CaseJudgement"])
        )
    )
