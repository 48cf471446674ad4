"""Findings from a hand-built pair of rounds whose every answer is known.

Round A (18 cases, police only) is re-audited by round B: 16 cases carried,
5 new, so 21 cases, with police on all of them, health on the odd ones and a
school on the first five, returns in every status. The expected figures are
worked out here with plain counting from the same plan that built the rounds,
and each findings table (pages, files, API, PDF) is checked against them.
"""

from __future__ import annotations

import io
from collections import Counter
from types import SimpleNamespace

import openpyxl
import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from audit_app.accounts import services as accounts
from audit_app.case_audits import services as case_services
from audit_app.core.audit import system_actor
from audit_app.extensions import db
from audit_app.questionnaires import services as questionnaires
from audit_app.reporting import findings as f
from audit_app.reporting.queries import Filters
from audit_app.rounds import services
from audit_app.rounds.models import Return, RoundStatus
from tests.conftest import login, sector

LEVELS = ["Outstanding", "Good", "Requires improvement", "Inadequate"]
VALUE = {"Outstanding": 4, "Good": 3, "Requires improvement": 2, "Inadequate": 1}
SIGNS = ["Yes", "Partly", "No"]

SPEC = {
    "format": 1,
    "key": "findings_audit",
    "title": "Findings test audit",
    "kind": "case_audit",
    "theme": "Exploitation",
    "sections": [
        {
            "key": "recognition",
            "title": "Recognition",
            "questions": [
                {"key": "recognition_signs", "text": "Signs recognised?", "type": "scale", "scale": "yes_partly_no"},
                {"key": "recognition_grade", "text": "Recognition grade", "type": "scale", "scale": "ofsted"},
                {"key": "recognition_good_practice", "text": "Good practice", "type": "text"},
                {"key": "recognition_development", "text": "Development", "type": "text"},
                {"key": "recognition_recommendations", "text": "Recommendations", "type": "text"},
            ],
        },
        {
            "key": "impact",
            "title": "Impact",
            "questions": [
                {"key": "impact_outcome", "text": "Outcome improved?", "type": "scale", "scale": "yes_partly_no"},
                {"key": "impact_grade", "text": "Impact grade", "type": "scale", "scale": "ofsted"},
            ],
        },
        {
            "key": "overall",
            "title": "Overall",
            "questions": [{"key": "overall_grade", "text": "Overall grade", "type": "scale", "scale": "ofsted"}],
        },
    ],
}

B_CASES = range(1, 22)  # i = 1..16 carried from A (C01..C16), 17..21 new (N01..N05)


def ref(i: int) -> str:
    return f"C{i:02d}" if i <= 16 else f"N{i - 16:02d}"


def agencies_on(i: int) -> list[str]:
    return ["police"] + (["health"] if i % 2 else []) + (["school"] if i <= 5 else [])


def status(agency: str, i: int) -> str:
    """The planned status of each return of round B."""
    if agency == "police":
        return {21: "declined", 20: "not_started", 19: "in_progress"}.get(i, "accepted" if i % 2 else "submitted")
    if agency == "health":
        return "in_progress" if i == 3 else "accepted"
    return "declined" if i == 2 else "submitted"


def answers(agency: str, i: int) -> dict[str, str]:
    if agency == "police":
        return {
            "recognition_grade": LEVELS[i % 4],
            "recognition_signs": "Not applicable" if i % 5 == 0 else SIGNS[i % 3],
            "overall_grade": LEVELS[(i // 2) % 4],
            "recognition_good_practice": f"Police strength {i}",
            "recognition_development": f"Police gap {i}",
        }
    if agency == "health":
        return {
            "recognition_grade": LEVELS[(i + 1) % 4],
            "overall_grade": "Good",
            "impact_grade": LEVELS[i % 2],
            "recognition_recommendations": f"Health recommends {i}",
        }
    return {"recognition_grade": "Good", "overall_grade": "Requires improvement", "recognition_signs": "Yes"}


def panel(i: int) -> dict[str, str]:
    grades = {"recognition": LEVELS[(i + 1) % 4], "": LEVELS[(i // 3) % 4]}
    if i <= 10:
        grades["impact"] = "Good"
    return grades


def panel_then(j: int) -> dict[str, str]:
    return {"recognition": LEVELS[(j + 2) % 4], "": LEVELS[j % 4]}


def returned(agency: str, i: int) -> bool:
    return status(agency, i) in ("submitted", "accepted")


def given(question: str, agency: str | None = None) -> Counter:
    """Oracle: returned answers to ``question`` (of one agency, or all), counted by label."""
    counts: Counter = Counter()
    for i in B_CASES:
        for name in agencies_on(i):
            if (agency is None or name == agency) and returned(name, i) and question in answers(name, i):
                counts[answers(name, i)[question]] += 1
    return counts


def build(world) -> SimpleNamespace:
    with system_actor("test:setup"):
        school = accounts.create_agency(world.partnership.id, "North School", sector(world.partnership.id, "education"))
        db.session.flush()
    ids = {"police": world.police.agency_id, "health": world.health.agency_id, "school": school.agency_id}
    names = {"police": "North Police", "health": "North Hospital", "school": "North School"}
    lead = world.user("agency_lead")
    qa = world.user("qa_member")
    version = questionnaires.import_questionnaire(world.partnership.id, SPEC, publish=True)

    # Round A: 18 cases, police only, every return accepted; 16 judged
    a = services.plan_round(world.partnership.id, title="Earlier", version=version, opens_on=None, due_on=None)
    for j in range(1, 19):
        case_services.add_case(a, agency_ids=[ids["police"]], reference=f"C{j:02d}", plan_type="Child protection")
    services.move_round(a, RoundStatus.OPEN)
    for ret in db.session.scalars(sa.select(Return).where(Return.round_id == a.id)):
        j = int(ret.round_case.case.reference[1:])
        services.save_answers(ret, {"overall_grade": LEVELS[(j + 1) % 4]}, by=lead, expected_version=ret.lock_version)
        services.submit_return(ret, by=lead, as_lead=True)
        services.accept_return(ret, by=qa)
    services.move_round(a, RoundStatus.CLOSED)
    services.move_round(a, RoundStatus.IN_DISCUSSION)
    db.session.expire(a, ["cases"])
    for rc in a.cases:
        j = int(rc.case.reference[1:])
        if j <= 16:
            for key, grade in panel_then(j).items():
                case_services.record_judgement(rc, section_key=key, grade=grade)
    services.move_round(a, RoundStatus.REPORTED)

    # Round B: the re-audit
    b = services.plan_round(
        world.partnership.id, title="Re-audit", version=version, opens_on=None, due_on=None, previous_round=a
    )
    earlier = {rc.case.reference: rc for rc in a.cases}
    case_services.carry_cases(b, [earlier[ref(i)] for i in range(1, 17)])
    for rc in b.cases:
        i = int(rc.case.reference[1:])
        case_services.set_case_agencies(rc, [ids[name] for name in agencies_on(i)])
    for i in range(17, 22):
        case_services.add_case(
            b,
            agency_ids=[ids[name] for name in agencies_on(i)],
            reference=ref(i),
            plan_type="Child protection" if i % 2 else "Child in need",
            age_band="10-14" if i <= 10 else "15-17",
        )
    # the carried cases' own details
    db.session.expire(b, ["cases"])
    for rc in b.cases:
        i = int(rc.case.reference[1:]) if rc.case.reference.startswith("C") else 16 + int(rc.case.reference[1:])
        rc.case.plan_type = "Child protection" if i % 2 else "Child in need"
        rc.case.age_band = "10-14" if i <= 10 else "15-17"
    services.move_round(b, RoundStatus.OPEN)
    by_agency = {v: k for k, v in ids.items()}
    for ret in db.session.scalars(sa.select(Return).where(Return.round_id == b.id)):
        reference = ret.round_case.case.reference
        i = int(reference[1:]) if reference.startswith("C") else 16 + int(reference[1:])
        agency = by_agency[ret.agency_id]
        target = status(agency, i)
        if target == "not_started":
            continue
        if target == "declined":
            services.decline_return(ret, by=lead, reason="No involvement")
            continue
        services.save_answers(ret, answers(agency, i), by=lead, expected_version=ret.lock_version)
        if target == "in_progress":
            continue
        services.submit_return(ret, by=lead, as_lead=True)
        if target == "accepted":
            services.accept_return(ret, by=qa)
    services.move_round(b, RoundStatus.CLOSED)
    services.move_round(b, RoundStatus.IN_DISCUSSION)
    db.session.expire(b, ["cases"])
    for rc in b.cases:
        reference = rc.case.reference
        i = int(reference[1:]) if reference.startswith("C") else 16 + int(reference[1:])
        for key, grade in panel(i).items():
            case_services.record_judgement(
                rc,
                section_key=key,
                grade=grade,
                strengths=f"Panel strength {i}" if key == "recognition" and i <= 2 else "",
                recommendations=f"Panel recommends {i}" if key == "" and i == 1 else "",
            )
    db.session.commit()
    return SimpleNamespace(a=a, b=b, names=names, ids=ids, version=version)


@pytest.fixture()
def known(world):
    return build(world)


def rows_by(table, key: str) -> dict:
    return {row[key]: row for row in table.rows}


def test_return_rates_by_agency_and_sector(known):
    found = f.round_findings(known.b)
    by_agency = rows_by(found.tables["return_rates_agency"], "agency")
    for short, name in known.names.items():
        cases = [i for i in B_CASES if short in agencies_on(i)]
        statuses = Counter(status(short, i) for i in cases)
        row = by_agency[name]
        back = statuses["submitted"] + statuses["accepted"]
        assert (row["expected"], row["returned"], row["declined"]) == (len(cases), back, statuses["declined"])
        assert row["outstanding"] == len(cases) - back - statuses["declined"]
        assert row["rate"] == pytest.approx(100 * back / len(cases))
        assert row["rate_excluding_declined"] == pytest.approx(100 * back / (len(cases) - statuses["declined"]))
    # the same, written out: police 18 of 21 returned, 1 declined; the school 4 of 5 with 1 declined
    assert [by_agency["North Police"][k] for k in ("expected", "returned", "declined", "outstanding")] == [21, 18, 1, 2]
    assert round(by_agency["North Police"]["rate"], 1) == 85.7
    assert by_agency["North Police"]["rate_excluding_declined"] == 90.0
    assert by_agency["North School"]["rate_excluding_declined"] == 100.0
    assert by_agency["North Hospital"]["returned"] == 10
    by_sector = rows_by(found.tables["return_rates_sector"], "sector")
    assert by_sector[by_agency["North Police"]["sector"]]["expected"] == 21
    assert sum(row["expected"] for row in by_sector.values()) == 37
    assert found.extra["totals"] == {"cases": 21, "expected": 37, "returned": 32, "declined": 2}


def test_grade_distribution_all_agencies_and_by_agency(known):
    found = f.round_findings(known.b)
    grades = rows_by(found.tables["grades"], "grade")
    assert list(grades) == ["Recognition", "Impact", "Overall"]
    for grade, question in (
        ("Recognition", "recognition_grade"),
        ("Impact", "impact_grade"),
        ("Overall", "overall_grade"),
    ):
        expected = given(question)
        row = grades[grade]
        assert [row[level] for level in LEVELS] == [expected[level] for level in LEVELS]
        graded = sum(expected.values())
        assert row["graded"] == graded
        good = expected["Outstanding"] + expected["Good"]
        assert row["good_or_better"] == good
        assert row["good_or_better_pct"] == pytest.approx(100 * good / graded)
        assert row["Good %"] == pytest.approx(100 * expected["Good"] / graded)
    # recognition: police 18 returned + health 10 + school 4 = 32 graded
    assert grades["Recognition"]["graded"] == 32
    assert grades["Impact"]["graded"] == 10  # only health grades impact
    by_agency = {(r["agency"], r["grade"]): r for r in found.tables["grades_by_agency"].rows}
    assert len(by_agency) == 3 * 3  # every agency, every section, graded or not
    police = given("recognition_grade", "police")
    assert [by_agency[("North Police", "Recognition")][level] for level in LEVELS] == [police[lv] for lv in LEVELS]
    nothing = by_agency[("North Police", "Impact")]
    assert nothing["graded"] == 0 and nothing["good_or_better_pct"] is None  # not 0 %
    school = by_agency[("North School", "Overall")]
    assert (school["Requires improvement"], school["graded"], school["good_or_better_pct"]) == (4, 4, 0.0)


def test_every_rated_question_is_listed_and_not_applicable_is_apart(known):
    found = f.round_findings(known.b)
    questions = rows_by(found.tables["questions"], "question")
    signs = given("recognition_signs")
    row = questions["Signs recognised?"]
    assert row["not_applicable"] == signs["Not applicable"] > 0
    assert row["graded"] == signs["Yes"] + signs["Partly"] + signs["No"]
    assert row["good_or_better"] == signs["Yes"]
    assert [(a.label, a.count) for a in row["answers"]] == [
        ("Yes", signs["Yes"]),
        ("Partly", signs["Partly"]),
        ("No", signs["No"]),
    ]
    cells = found.tables["questions"].matrix()
    assert f"Yes: {signs['Yes']}, Partly: {signs['Partly']}, No: {signs['No']}" in [line[2] for line in cells]
    school_only = f.round_findings(known.b, filters=Filters(sector=sector(known.b.partnership_id, "education").key))
    hidden = rows_by(school_only.suppressed().tables["questions"], "question")["Signs recognised?"]
    assert [(a.label, a.count, a.suppressed) for a in hidden["answers"]] == [
        ("Yes", None, True),
        ("Partly", 0, False),
        ("No", 0, False),
    ]
    nobody = questions["Outcome improved?"]  # nobody answered it
    assert (nobody["graded"], nobody["not_applicable"], nobody["good_or_better_pct"]) == (0, 0, None)


def test_panel_grades_beside_each_agency(known):
    found = f.round_findings(known.b)
    panel_rows = rows_by(found.tables["panel_grades"], "grade")
    recognition = Counter(panel(i)["recognition"] for i in B_CASES)
    assert [panel_rows["Recognition"][lv] for lv in LEVELS] == [recognition[lv] for lv in LEVELS]
    assert panel_rows["Impact"]["graded"] == 10
    assert panel_rows["Overall"]["graded"] == 21
    # agency grade v panel grade, per case and section
    compared = {(r["case"], r["grade"], r["agency"]): r for r in found.tables["panel_vs_agency"].rows}
    expected_same = Counter()
    expected_compared = Counter()
    for i in B_CASES:
        for agency in agencies_on(i):
            if not returned(agency, i):
                continue
            mine = answers(agency, i)
            for section, question in (
                ("recognition", "recognition_grade"),
                ("impact", "impact_grade"),
                ("", "overall_grade"),
            ):
                if question not in mine or section not in panel(i):
                    continue
                expected_compared[agency] += 1
                expected_same[agency] += mine[question] == panel(i)[section]
                row = compared[
                    (
                        ref(i),
                        {"recognition": "Recognition", "impact": "Impact", "": "Overall"}[section],
                        known.names[agency],
                    )
                ]
                difference = VALUE[mine[question]] - VALUE[panel(i)[section]]
                verdict = (
                    "Same" if not difference else "Agency graded higher" if difference > 0 else "Agency graded lower"
                )
                assert row["verdict"] == verdict
    agreement = rows_by(found.tables["panel_agreement"], "agency")
    for agency, name in known.names.items():
        assert agreement[name]["compared"] == expected_compared[agency]
        assert agreement[name]["same"] == expected_same[agency]
    # health graded impact on case 11, which the panel left ungraded: shown, not compared
    assert compared[("C11", "Impact", "North Hospital")]["verdict"] == "No panel grade"


def test_strengths_and_development_collated_with_agency_and_case(known):
    found = f.round_texts(known.b)
    rows = found.tables["texts"].rows
    police = [r for r in rows if r["source"] == "North Police" and r["kind"] == "Strengths"]
    assert [r["text"] for r in police] == [f"Police strength {i}" for i in range(1, 19)]
    assert {r["case"] for r in police} == {ref(i) for i in range(1, 19)}  # in-progress case 19 is not there
    recommendations = [r["text"] for r in rows if r["kind"] == "Recommendations"]
    assert sorted(recommendations) == sorted(
        [f"Health recommends {i}" for i in B_CASES if i % 2 and returned("health", i)] + ["Panel recommends 1"]
    )
    panel_rows = [r for r in rows if r["source"] == "Multi-agency panel" and r["kind"] == "Strengths"]
    assert [(r["case"], r["text"]) for r in panel_rows] == [("C01", "Panel strength 1"), ("C02", "Panel strength 2")]
    assert list(found.extra["grouped"]) == ["Recognition", "Overall"]


def test_reaudit_compares_carried_cases_and_lists_new_ones(known):
    found = f.reaudit(known.b)
    cases = {(r["case"], r["grade"]): r for r in found.tables["reaudit_cases"].rows}
    assert len(cases) == 16 * 3
    tally = {name: Counter() for name in ("Recognition", "Impact", "Overall")}
    for j in range(1, 17):
        for section, name in (("recognition", "Recognition"), ("", "Overall")):
            then, now = panel_then(j)[section], panel(j)[section]
            expected = "Improved" if VALUE[now] > VALUE[then] else "Worse" if VALUE[now] < VALUE[then] else "Same"
            assert (cases[(ref(j), name)]["then"], cases[(ref(j), name)]["now"]) == (then, now)
            assert cases[(ref(j), name)]["change"] == expected
            tally[name][expected] += 1
        assert cases[(ref(j), "Impact")]["change"] == "Not graded both times"
    summary = rows_by(found.tables["reaudit_summary"], "grade")
    for name in ("Recognition", "Overall"):
        for change in ("Improved", "Same", "Worse"):
            assert summary[name][change] == tally[name][change]
        assert summary[name]["compared"] == 16
    assert summary["Impact"]["compared"] == 0 and summary["Impact"]["improved_pct"] is None
    new = found.tables["reaudit_new_cases"].rows
    assert [r["case"] for r in new] == ["N01", "N02", "N03", "N04", "N05"]
    assert [r["overall"] for r in new] == [panel(i)[""] for i in range(17, 22)]
    assert (found.extra["carried"], found.extra["new"]) == (16, 5)


def test_theme_trend_and_agency_by_theme(known):
    theme_id = known.b.theme_id
    found = f.theme_trend(known.b.partnership_id, theme_id)
    rows = found.tables["trend"].rows
    assert [r["round"].split(" (")[0] for r in rows] == ["Earlier", "Re-audit"]
    earlier = Counter(LEVELS[(j + 1) % 4] for j in range(1, 19))
    assert [rows[0][lv] for lv in LEVELS] == [earlier[lv] for lv in LEVELS]
    now = given("overall_grade")
    assert [rows[1][lv] for lv in LEVELS] == [now[lv] for lv in LEVELS]
    assert rows[1]["good_or_better_pct"] == pytest.approx(100 * (now["Outstanding"] + now["Good"]) / sum(now.values()))
    by_agency = {(r["agency"], r["round"].split(" (")[0]): r for r in found.tables["trend_by_agency"].rows}
    assert by_agency[("North School", "Earlier")]["graded"] == 0
    assert by_agency[("North School", "Earlier")]["good_or_better_pct"] is None
    assert by_agency[("North Hospital", "Re-audit")]["Good"] == 10
    table = f.agency_theme([known.b.partnership_id])
    theme = f"theme_{theme_id}"  # the Exploitation theme's columns, keyed by its id
    police = rows_by(table.tables["agency_theme"], "agency")["North Police"]
    police_all = earlier + given("overall_grade", "police")
    assert police[f"{theme}_graded"] == sum(police_all.values())
    assert police[f"{theme}_good"] == police_all["Outstanding"] + police_all["Good"]
    # a year range with no rounds gives no rows rather than zeros
    assert f.agency_theme([known.b.partnership_id], years=(2001, 2002)).tables["agency_theme"].rows == []


def test_filters_narrow_every_table(known):
    police_sector = sector(known.b.partnership_id, "police").key
    found = f.round_findings(known.b, filters=Filters(sector=police_sector))
    assert [r["agency"] for r in found.tables["return_rates_agency"].rows] == ["North Police"]
    assert rows_by(found.tables["grades"], "grade")["Recognition"]["graded"] == 18
    found = f.round_findings(known.b, filters=Filters(plan_type="Child in need"))
    even = [i for i in B_CASES if i % 2 == 0]
    assert found.extra["totals"]["cases"] == len(even)
    expected = sum(1 for i in even for a in agencies_on(i) if returned(a, i) and "recognition_grade" in answers(a, i))
    assert rows_by(found.tables["grades"], "grade")["Recognition"]["graded"] == expected
    assert rows_by(found.tables["panel_grades"], "grade")["Overall"]["graded"] == len(even)
    found = f.round_findings(known.b, filters=Filters(age_band="15-17"))
    assert found.extra["totals"]["cases"] == 11


def test_agency_users_see_their_own_agency_only(client, known, world, api):
    """Every findings route, as the police auditor: no other agency's name, figure or text."""
    b = known.b
    login(client, world.user("auditor"))
    pages = [
        f"/rounds/{b.id}/findings",
        f"/rounds/{b.id}/findings/agencies",
        f"/rounds/{b.id}/findings/texts",
        f"/themes/{b.theme_id}/trend",
        "/findings",
        f"/rounds/{b.id}/findings?download=csv&table=grades",
        f"/rounds/{b.id}/findings/texts?download=csv&table=texts",
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        body = response.get_data(as_text=True)
        assert "North Police" in body or "download" in url, url
        assert "North Hospital" not in body and "North School" not in body, url
        assert "Health recommends" not in body and "Panel strength" not in body, url
    grades = rows_by(f.round_findings(b, frozenset({known.ids["police"]})).tables["grades"], "grade")
    assert grades["Recognition"]["graded"] == 18
    workbook = openpyxl.load_workbook(io.BytesIO(client.get(f"/rounds/{b.id}/answers.xlsx").data))
    agencies = {row[2] for row in workbook["Answers"].iter_rows(min_row=2, values_only=True)}
    assert agencies == {"North Police"}
    # another sector's filter is not a value they can choose
    health_sector = sector(b.partnership_id, "health").key
    assert client.get(f"/rounds/{b.id}/findings?sector={health_sector}").status_code == 400
    assert client.get(f"/rounds/{b.id}/report.pdf").status_code == 403
    assert client.get(f"/rounds/{b.id}/findings/re-audit").status_code == 403
    data = api(world.user("auditor")).get(f"/api/v1/rounds/{b.id}/findings").get_json()
    assert data["scope"] == "own agency"
    assert [r["agency"] for r in data["tables"]["return_rates_agency"]["rows"]] == ["North Police"]
    # a round the agency was never asked to return to does not exist for it
    with system_actor("test:setup"):
        other = services.plan_round(
            b.partnership_id, title="Health only", version=known.version, opens_on=None, due_on=None
        )
        case_services.add_case(other, agency_ids=[known.ids["health"]], reference="H01")
        services.move_round(other, RoundStatus.OPEN)
        db.session.commit()
    assert client.get(f"/rounds/{other.id}/findings").status_code == 404
    assert client.get(f"/rounds/{other.id}/answers.xlsx").status_code == 404
    assert api(world.user("auditor")).get(f"/api/v1/rounds/{other.id}/findings").status_code == 404
    trend = client.get(f"/themes/{b.theme_id}/trend").get_data(as_text=True)
    assert "Re-audit" in trend and "Health only" not in trend  # only rounds the agency returned to


def test_agencies_see_panel_grades_only_once_the_round_shares_them(client, known, world, api):
    b = known.b
    police = frozenset({known.ids["police"]})
    hidden = f.round_findings(b, police)
    assert hidden.extra["panel_shown"] is False
    assert all(row["graded"] == 0 for row in hidden.tables["panel_grades"].rows)
    assert {row["verdict"] for row in hidden.tables["panel_vs_agency"].rows} == {"No panel grade"}
    login(client, world.user("auditor"))
    assert "shared with agencies once" in client.get(f"/rounds/{b.id}/findings").get_data(as_text=True)
    b.shares_answers_in_discussion = True
    db.session.commit()
    shown = f.round_findings(b, police)
    overall = rows_by(shown.tables["panel_grades"], "grade")["Overall"]
    assert overall["graded"] == 21  # every case the police were on; the panel graded all 21
    assert api(world.user("auditor")).get(f"/api/v1/rounds/{b.id}/findings").get_json()["about"]["panel_shown"]


def test_downloads_carry_the_page_figures(client, known, world):
    b = known.b
    login(client, world.user("qa_member"))
    csv_text = client.get(f"/rounds/{b.id}/findings?download=csv&table=grades").get_data(as_text=True)
    lines = csv_text.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("Section,Outstanding,Outstanding (%),Good")
    recognition = given("recognition_grade")
    assert lines[1].split(",")[:4] == [
        "Recognition",
        str(recognition["Outstanding"]),
        f"{round(100 * recognition['Outstanding'] / 32, 1)}",
        str(recognition["Good"]),
    ]
    workbook = openpyxl.load_workbook(io.BytesIO(client.get(f"/rounds/{b.id}/findings?download=xlsx").data))
    assert workbook.sheetnames[:5] == [
        "About",
        "Return rate for the round",
        "Return rates by agency",
        "Return rates by sector",
        "Grades by section",
    ]
    sheet = workbook["Grades by section"]
    assert [c.value for c in sheet[2]][:2] == ["Recognition", recognition["Outstanding"]]
    answers_book = openpyxl.load_workbook(io.BytesIO(client.get(f"/rounds/{b.id}/answers.xlsx").data))
    sheet = answers_book["Answers"]
    header = [c.value for c in sheet[1]]
    assert header == [
        "Round",
        "Case reference",
        "Agency",
        "Sector",
        "Section",
        "Question key",
        "Question",
        "Value",
        "Label",
        "Text",
    ]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    expected = sum(len(answers(a, i)) for i in B_CASES for a in agencies_on(i) if returned(a, i))
    assert len(rows) == expected
    graded = [r for r in rows if r[5] == "recognition_grade" and r[2] == "North Police" and r[1] == "C01"]
    assert graded == [
        (
            "Re-audit",
            "C01",
            "North Police",
            graded[0][3],
            "Recognition",
            "recognition_grade",
            "Recognition grade",
            VALUE[LEVELS[1 % 4]],
            LEVELS[1 % 4],
            None,
        )
    ]
    text = [r for r in rows if r[5] == "recognition_good_practice" and r[1] == "C01"]
    assert text[0][9] == "Police strength 1" and text[0][7] is None
    theme_book = openpyxl.load_workbook(io.BytesIO(client.get(f"/themes/{b.theme_id}/answers.xlsx").data))
    assert theme_book["Answers"].max_row - 1 == expected + 18  # round A's 18 overall grades too


def test_pdf_report_holds_each_part(client, known, world):
    login(client, world.user("qa_member"))
    response = client.get(f"/rounds/{known.b.id}/report.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(response.data))
    text = "\n".join(page.extract_text() for page in reader.pages)
    for part in (
        "Multi-agency case audit: full report",
        "The chair's report",
        "Method",
        "Return rates by agency",
        "Grades given by agencies, by section",
        "Multi-agency panel grades, by section",
        "Re-audit: change since Earlier",
        "the panel's judgement",
        "Panel recommends 1",
        "Health recommends 1",
        "Police strength 1",
    ):
        assert part in text, part
    assert len(reader.pages) >= 8
    assert "Page 2 of" in text
    suppressed = PdfReader(io.BytesIO(client.get(f"/rounds/{known.b.id}/report.pdf?suppress=1").data))
    assert "fewer than 5" in "\n".join(page.extract_text() for page in suppressed.pages)


def test_small_counts_can_be_suppressed_everywhere(client, known, world, api):
    login(client, world.user("qa_member"))
    found = f.round_findings(known.b).suppressed()
    school = rows_by(found.tables["return_rates_agency"], "agency")["North School"]
    assert school["returned"] is None and school["rate"] is None
    assert {"returned", "rate"} <= set(school["suppressed"])
    police = rows_by(found.tables["return_rates_agency"], "agency")["North Police"]
    assert police["returned"] == 18 and police["declined"] is None and "declined" in police["suppressed"]
    body = client.get(f"/rounds/{known.b.id}/findings?suppress=1").get_data(as_text=True)
    assert "fewer than 5" in body and 'id="suppress" name="suppress" type="checkbox" value="1" checked' in body
    csv_text = client.get(f"/rounds/{known.b.id}/findings?suppress=1&download=csv&table=return_rates_agency").get_data(
        as_text=True
    )
    assert (
        "North School,Education,fewer than 5" in csv_text
        or "fewer than 5" in csv_text.split("North School")[1].splitlines()[0]
    )
    data = api(world.user("qa_member")).get(f"/api/v1/rounds/{known.b.id}/findings?suppress=1").get_json()
    assert data["suppressed"] is True
    school_json = next(r for r in data["tables"]["return_rates_agency"]["rows"] if r["agency"] == "North School")
    assert school_json["returned"] is None and "returned" in school_json["suppressed"]


def test_api_gives_the_same_tables(known, world, api):
    caller = api(world.user("scrutineer"))
    data = caller.get(f"/api/v1/rounds/{known.b.id}/findings").get_json()
    expected = f.round_findings(known.b).tables["grades"].to_json()
    assert data["tables"]["grades"] == expected
    assert data["about"]["totals"]["returned"] == 32
    pct = next(c for c in data["tables"]["grades"]["columns"] if c["key"] == "good_or_better_pct")
    assert pct["of"] == ["good_or_better", "graded"]
    reaudit = caller.get(f"/api/v1/rounds/{known.b.id}/findings/re-audit").get_json()
    assert reaudit["about"]["carried"] == 16
    trend = caller.get(f"/api/v1/themes/{known.b.theme_id}/trend").get_json()
    assert len(trend["tables"]["trend"]["rows"]) == 2
    texts = caller.get(f"/api/v1/rounds/{known.b.id}/findings/texts").get_json()
    assert any(r["text"] == "Panel recommends 1" for r in texts["tables"]["texts"]["rows"])
    by_theme = caller.get("/api/v1/findings/agency-theme?from_year=2000&to_year=2100").get_json()
    assert {r["agency"] for r in by_theme["tables"]["agency_theme"]["rows"]} == set(known.names.values())


@pytest.mark.parametrize(
    ("url", "status", "message"),
    [
        ("/rounds/{b}/findings?sector=nonsense", 400, "Sector: choose one of the values listed"),
        ("/rounds/{b}/findings?plan_type=Unknown", 400, "Plan type: choose one of the values listed"),
        ("/rounds/{b}/findings?suppress=maybe", 400, "Suppress: use 1"),
        ("/rounds/{b}/findings?download=pdf", 400, "Download: choose csv or xlsx"),
        ("/rounds/{b}/findings?download=csv", 400, "Table: say which table"),
        ("/rounds/{b}/findings?download=csv&table=nope", 404, ""),
        ("/rounds/{b}/findings?age_band=9-99&download=xlsx", 400, "Age band: choose one of the values listed"),
        ("/findings?from_year=abc", 400, "From year: enter a year such as 2025"),
        ("/findings?from_year=2026&to_year=2020", 400, "To year: must be the same as or after the from year"),
        ("/rounds/999999/findings", 404, ""),
        ("/themes/999999/trend", 404, ""),
    ],
)
def test_bad_requests_are_refused_with_the_field_named(client, known, world, url, status, message):
    login(client, world.user("qa_member"))
    response = client.get(url.format(b=known.b.id))
    assert response.status_code == status
    body = response.get_data(as_text=True)
    assert message.replace("\u201c", "&ldquo;") in body or message in body
    fields = {"Sector": "sector", "Plan type": "plan_type", "From year": "from_year", "To year": "to_year"}
    field = fields.get(message.split(":")[0])
    if field and "download" not in url:  # the message sits both in the error summary and beside the field itself
        assert body.count(message) == 2 and f'id="{field}-error"' in body


@pytest.mark.parametrize(
    ("url", "field"),
    [
        ("/api/v1/rounds/{b}/findings?age_band=99", "age_band"),
        ("/api/v1/findings/agency-theme?to_year=20x", "to_year"),
    ],
)
def test_api_bad_filters_name_the_field(known, world, api, url, field):
    response = api(world.user("qa_member")).get(url.format(b=known.b.id))
    assert response.status_code == 400
    assert field in response.get_json()["error"]["fields"]


def test_a_round_without_returns_or_judgements_still_lists_everything(world):
    version = questionnaires.import_questionnaire(world.partnership.id, SPEC, publish=True)
    round_ = services.plan_round(world.partnership.id, title="Empty", version=version, opens_on=None, due_on=None)
    case_services.add_case(round_, agency_ids=[world.police.agency_id], reference="E01")
    services.move_round(round_, RoundStatus.OPEN)
    found = f.round_findings(round_)
    assert [r["graded"] for r in found.tables["grades"].rows] == [0, 0, 0]
    assert all(r["good_or_better_pct"] is None for r in found.tables["grades"].rows)
    assert rows_by(found.tables["return_rates_agency"], "agency")["North Police"]["rate"] == 0.0
    assert f.reaudit(round_).tables["reaudit_cases"].rows == []
    assert f.round_texts(round_).tables["texts"].rows == []


def test_other_partnerships_cannot_reach_findings(client, known, world, api):
    login(client, world.user("other_admin"))
    for url in (
        f"/rounds/{known.b.id}/findings",
        f"/themes/{known.b.theme_id}/trend",
        f"/rounds/{known.b.id}/report.pdf",
    ):
        assert client.get(url).status_code == 404, url
    body = client.get("/findings").get_data(as_text=True)
    assert "North Police" not in body and "Re-audit" not in body
    assert api(world.user("other_admin")).get(f"/api/v1/rounds/{known.b.id}/findings").status_code == 404
