"""Case-audit rounds, cohorts and returns at the service level."""

from __future__ import annotations

import io
from datetime import date

import pytest
import sqlalchemy as sa

from audit_app.case_audits import services as case_services
from audit_app.case_audits.cohort import CohortError, parse_cohort, reference_problem
from audit_app.core.errors import ConflictError, DomainError
from audit_app.extensions import db
from audit_app.questionnaires import services as questionnaires
from audit_app.rounds import services
from audit_app.rounds.models import Return, ReturnEvent, ReturnStatus, RoundStatus
from tests.questionnaires.test_questionnaire_spec import EXAMPLE


@pytest.fixture()
def round_(world):
    version = questionnaires.import_questionnaire(world.partnership.id, EXAMPLE, publish=True)
    r = services.plan_round(
        world.partnership.id,
        title="Neglect audit 2026",
        version=version,
        opens_on=date(2026, 1, 5),
        due_on=date(2026, 2, 5),
    )
    case_services.add_case(
        r,
        agency_ids=[world.police.agency_id, world.health.agency_id],
        reference="CS-1001",
        age_band="5-9",
        plan_type="Child protection",
    )
    case_services.add_case(r, agency_ids=[world.police.agency_id], reference="Child K")
    db.session.commit()
    return r


@pytest.mark.parametrize(
    ("reference", "problem"),
    [
        ("John Smith", "looks like a person's name"),
        ("Aaliyah O'Neill", "looks like a person's name"),
        ("12/03/2015", "looks like a date of birth"),
        ("CS1 DOB 2015-03-12", "looks like a date of birth"),
        ("born 3rd May", "looks like a date of birth"),
        ("", "Enter a case reference"),
        ("x" * 41, "40 characters"),
        ("<script>", "Use letters"),
        # what a probe got past the first guard (issue 10): names in any case and punctuation, compact dates,
        # ages, NHS numbers (by their check digit), other identifiers and control characters
        ("SMITH Jane", "looks like a person's name"),
        ("jane smith", "looks like a person's name"),
        ("J Smith", "looks like a person's name"),
        ("Jane.Smith", "looks like a person's name"),
        ("JSmith120315", "looks like a date of birth"),
        ("Jane Smith aged 9", "looks like a date of birth or an age"),
        ("12032015", "looks like a date of birth"),
        ("NHS 943 476 5919", "looks like an NHS number"),
        ("9434765919", "looks like an NHS number"),
        ("AB 12 34 56 C", "National Insurance number or a postcode"),
        ("Child\nK", "line break"),
        ("Child\u2028K", "line break"),
        ("CS\u200b1001", "invisible character"),
    ],
)
def test_references_that_identify_a_child_are_refused(reference, problem):
    assert problem in reference_problem(reference)


@pytest.mark.parametrize(
    "reference",
    [
        "Child K",
        "Baby Y",
        "CS-1001",
        "LA/2024/0031",
        "case 12",
        "MOSAIC 448812",
        "CSE-25-014",
        "9434765918",
        "448812",
        # a code piece with digits beside a single letter is not an initial and a name (a CI run drew this one)
        "E2E-c0f3be-B",
    ],
)
def test_references_and_pseudonyms_are_accepted(reference):
    assert reference_problem(reference) is None


def test_only_published_versions_can_be_used(world):
    draft = questionnaires.import_questionnaire(world.partnership.id, EXAMPLE)
    with pytest.raises(DomainError, match="published version"):
        services.plan_round(world.partnership.id, title="X", version=draft, opens_on=None, due_on=None)
    other = questionnaires.import_questionnaire(world.other_partnership.id, EXAMPLE, publish=True)
    with pytest.raises(DomainError, match="of this partnership"):
        services.plan_round(world.partnership.id, title="X", version=other, opens_on=None, due_on=None)


def test_opening_creates_one_return_per_case_and_agency(round_):
    services.move_round(round_, RoundStatus.OPEN)
    returns = db.session.scalars(sa.select(Return).where(Return.round_id == round_.id)).all()
    assert len(returns) == 3
    assert {r.status for r in returns} == {ReturnStatus.NOT_STARTED}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ReturnEvent)) == 3
    with pytest.raises(DomainError, match="cannot become"):
        services.move_round(round_, RoundStatus.REPORTED)
    services.move_round(round_, RoundStatus.CLOSED)
    with pytest.raises(DomainError, match="only while the round is being planned or is open"):
        case_services.add_case(round_, agency_ids=[], reference="CS-2")


def test_round_moves_are_checked(round_):
    for illegal in (RoundStatus.CLOSED, RoundStatus.IN_DISCUSSION, RoundStatus.REPORTED):
        with pytest.raises(DomainError):
            services.move_round(round_, illegal)


def _open_return(round_, world, agency) -> Return:
    services.move_round(round_, RoundStatus.OPEN)
    db.session.commit()
    return db.session.scalar(
        sa.select(Return).where(
            Return.round_id == round_.id,
            Return.agency_id == agency.agency_id,
            Return.round_case_id == round_.cases[0].id,
        )
    )


def test_answers_are_checked_and_saved(round_, world):
    ret = _open_return(round_, world, world.health)
    auditor = world.user("auditor")
    services.save_answers(
        ret,
        {"signs_recognised": "Partly", "visits": "4", "first_contact": "2025-11-02", "tools": ["Other"]},
        by=auditor,
        expected_version=ret.lock_version,
    )
    db.session.commit()
    assert ret.status == ReturnStatus.IN_PROGRESS
    values = {a.question.key: a.value for a in ret.answers}
    assert values == {"signs_recognised": "Partly", "visits": "4", "first_contact": "2025-11-02", "tools": '["Other"]'}
    for answers, field, message in [
        ({"signs_recognised": "Brilliant"}, "signs_recognised", "Choose one of"),
        ({"visits": "lots"}, "visits", "Enter a number"),
        ({"visits": "1e12"}, "visits", "between"),
        ({"first_contact": "31/02/2025"}, "first_contact", "real date"),
        ({"signs_detail": "x" * 10_001}, "signs_detail", "10,000 characters"),
        ({"nonsense": "1"}, "nonsense", "not a question of this return"),
        ({"tools": ["Telepathy"]}, "tools", "not one of the options"),
    ]:
        before = ret.lock_version
        with pytest.raises(DomainError) as info:
            services.save_answers(ret, answers, by=auditor, expected_version=ret.lock_version)
        assert info.value.field == field and message in info.value.message
        db.session.rollback()
        db.session.refresh(ret)
        assert ret.lock_version == before


def test_questions_for_other_sectors_are_not_asked(round_, world):
    police = _open_return(round_, world, world.police)
    keys = {q.key for q in services.applicable_questions(police)}
    assert "tools" not in keys  # social care and health only
    with pytest.raises(DomainError, match="not a question of this return"):
        services.save_answers(
            police, {"tools": ["Other"]}, by=world.user("auditor"), expected_version=police.lock_version
        )


def test_a_stale_save_is_refused(round_, world):
    ret = _open_return(round_, world, world.police)
    first = ret.lock_version
    services.save_answers(ret, {"signs_recognised": "Yes"}, by=world.user("auditor"), expected_version=first)
    with pytest.raises(ConflictError, match="Someone else saved"):
        services.save_answers(ret, {"signs_recognised": "No"}, by=world.user("agency_lead"), expected_version=first)
    assert {a.question.key: a.value for a in ret.answers}["signs_recognised"] == "Yes"


def test_submit_checks_required_answers_and_sign_off(round_, world):
    ret = _open_return(round_, world, world.police)
    auditor, lead = world.user("auditor"), world.user("agency_lead")
    with pytest.raises(DomainError, match="required question"):
        services.submit_return(ret, by=auditor, as_lead=False)
    services.save_answers(
        ret, {"signs_recognised": "Yes", "recognition_grade": "Good"}, by=auditor, expected_version=ret.lock_version
    )
    assert services.submit_return(ret, by=auditor, as_lead=False) == ReturnStatus.READY_FOR_SIGN_OFF
    assert services.submit_return(ret, by=lead, as_lead=True) == ReturnStatus.SUBMITTED
    assert ret.submitted_by_id == lead.id
    with pytest.raises(DomainError, match="cannot be changed"):
        services.save_answers(ret, {"signs_recognised": "No"}, by=auditor, expected_version=ret.lock_version)
    services.request_changes(ret, by=world.user("qa_member"), note="Grade does not match the evidence")
    assert ret.status == ReturnStatus.CHANGES_REQUESTED and ret.note
    services.save_answers(
        ret, {"recognition_grade": "Requires improvement"}, by=auditor, expected_version=ret.lock_version
    )
    services.submit_return(ret, by=lead, as_lead=True)
    services.accept_return(ret, by=world.user("qa_member"))
    assert [e.to_status for e in ret.events] == [
        ReturnStatus.NOT_STARTED,
        ReturnStatus.IN_PROGRESS,
        ReturnStatus.READY_FOR_SIGN_OFF,
        ReturnStatus.SUBMITTED,
        ReturnStatus.CHANGES_REQUESTED,
        ReturnStatus.SUBMITTED,
        ReturnStatus.ACCEPTED,
    ]


def test_a_condition_makes_a_follow_up_required_only_when_shown(world):
    data = dict(EXAMPLE)
    data["sections"] = [dict(EXAMPLE["sections"][0])]
    data["sections"][0]["questions"] = [dict(q) for q in EXAMPLE["sections"][0]["questions"]]
    data["sections"][0]["questions"][1]["required"] = True
    version = questionnaires.import_questionnaire(world.partnership.id, data | {"key": "cond"}, publish=True)
    r = services.plan_round(world.partnership.id, title="C", version=version, opens_on=None, due_on=None)
    case_services.add_case(r, agency_ids=[world.police.agency_id], reference="CS-9")
    ret = _open_return(r, world, world.police)
    services.save_answers(
        ret,
        {"signs_recognised": "Yes", "recognition_grade": "Good"},
        by=world.user("auditor"),
        expected_version=ret.lock_version,
    )
    assert services.missing_answers(ret) == []
    services.save_answers(ret, {"signs_recognised": "No"}, by=world.user("auditor"), expected_version=ret.lock_version)
    assert [q.key for q in services.missing_answers(ret)] == ["signs_detail"]


def test_auditors_submit_directly_where_the_partnership_allows(round_, world):
    world.partnership.auditors_can_submit = True
    ret = _open_return(round_, world, world.police)
    services.save_answers(
        ret,
        {"signs_recognised": "Yes", "recognition_grade": "Good"},
        by=world.user("auditor"),
        expected_version=ret.lock_version,
    )
    assert services.submit_return(ret, by=world.user("auditor"), as_lead=False) == ReturnStatus.SUBMITTED


def test_decline_needs_a_reason(round_, world):
    ret = _open_return(round_, world, world.police)
    with pytest.raises(DomainError, match="reason"):
        services.decline_return(ret, by=world.user("agency_lead"), reason=" ")
    services.decline_return(ret, by=world.user("agency_lead"), reason="No record of involvement with this child")
    assert ret.status == ReturnStatus.DECLINED


def test_adding_an_agency_while_open_creates_its_return(round_, world):
    services.move_round(round_, RoundStatus.OPEN)
    second = round_.cases[1]
    case_services.set_case_agencies(second, [world.police.agency_id, world.health.agency_id])
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Return).where(Return.round_id == round_.id)) == 4
    with pytest.raises(DomainError, match="cannot be taken off"):
        case_services.set_case_agencies(second, [world.health.agency_id])
    with pytest.raises(DomainError, match="active agencies of this partnership"):
        case_services.set_case_agencies(second, [world.other_agency.agency_id])


def test_reaudit_carries_cases_linked_to_their_earlier_audit(round_, world):
    version = round_.version
    later = services.plan_round(
        world.partnership.id, title="Re-audit 2028", version=version, opens_on=None, due_on=None, previous_round=round_
    )
    carried = case_services.carry_cases(later, [round_.cases[0]])
    assert carried[0].previous_round_case_id == round_.cases[0].id
    assert carried[0].case_id == round_.cases[0].case_id
    assert {a.id for a in carried[0].agencies} == {a.id for a in round_.cases[0].agencies}
    case_services.add_case(later, agency_ids=[world.health.agency_id], reference="CS-NEW")
    assert len(later.cases) == 2


def _csv(text: str) -> bytes:
    return text.encode()


def test_cohort_csv_is_checked_row_by_row(world):
    agencies = {"North Police", "North Hospital"}
    rows = parse_cohort(
        _csv(
            "reference,age_band,sex,plan_type,agencies\nCS-1,5-9,Female,Child in need,North Police;north hospital\nChild B,,,,North Police\n"
        ),
        "c.csv",
        agency_names=agencies,
    )
    assert [r.reference for r in rows] == ["CS-1", "Child B"]
    assert rows[0].agencies == ["North Police", "North Hospital"]
    with pytest.raises(CohortError) as info:
        parse_cohort(_csv("age_band\n5-9\n"), "c.csv", agency_names=agencies)
    assert [str(p) for p in info.value.problems] == [
        "header: missing column 'agencies'",
        "header: missing column 'reference'",
    ]
    with pytest.raises(CohortError) as info:
        parse_cohort(
            _csv("reference,age_band,agencies\nJohn Smith,5-9,North Police\nCS-2,ancient,Nowhere\nCS-2,5-9,\n"),
            "c.csv",
            agency_names=agencies,
        )
    messages = [str(p) for p in info.value.problems]
    assert any(m.startswith("row 2, reference: The reference looks like a person's name") for m in messages)
    assert any(m.startswith("row 3, age_band:") for m in messages)
    assert any(m.startswith("row 3, agencies: no active agency called 'Nowhere'") for m in messages)
    assert any(m.startswith("row 4, reference: the same reference is on row 3") for m in messages)
    with pytest.raises(CohortError, match=r"upload a \.csv or \.xlsx"):
        parse_cohort(b"x", "c.txt", agency_names=agencies)
    with pytest.raises(CohortError, match="not a readable Excel"):
        parse_cohort(b"not a zip", "c.xlsx", agency_names=agencies)


def test_cohort_xlsx_with_blank_rows_keeps_every_case(world):
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["reference", "agencies"])
    for n in range(498):
        sheet.append([f"CS-{n}", "North Police"])
        if n % 50 == 0:
            sheet.append([None, None])
    buffer = io.BytesIO()
    workbook.save(buffer)
    rows = parse_cohort(buffer.getvalue(), "cohort.xlsx", agency_names={"North Police"})
    assert len(rows) == 498


def test_cohort_xlsx(world):
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["Reference", "Age band", "Agencies"])
    sheet.append(["CS-77", "15-17", "North Police"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    rows = parse_cohort(buffer.getvalue(), "cohort.xlsx", agency_names={"North Police"})
    assert (rows[0].reference, rows[0].age_band, rows[0].agencies) == ("CS-77", "15-17", ["North Police"])
