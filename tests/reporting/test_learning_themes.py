"""Learning themes in findings, the panel's grades in a theme's trend, and the charts beside the tables.

Two rounds of the shipped neglect audit (its learning themes question is found by its role): police and
the hospital on each case, the themes each return ticks planned below, so every count is known.
"""

from __future__ import annotations

import io
import json

import openpyxl
import pandas as pd
import pytest
import sqlalchemy as sa
from pandas.testing import assert_frame_equal

from audit_app.case_audits import services as case_services
from audit_app.core.audit import system_actor
from audit_app.extensions import db
from audit_app.questionnaires.models import QuestionRole
from audit_app.reporting import aggregation as agg
from audit_app.reporting import charts
from audit_app.reporting import findings as f
from audit_app.rounds import services as rounds
from audit_app.rounds.models import Return, RoundStatus
from tests.conftest import login
from tests.factories import make_questionnaire, make_round, valid_answers

INFO, CURIOSITY, VOICE = "Information sharing", "Professional curiosity", "Voice of the child"
#: round -> (agency, case number) -> themes ticked; None leaves the return unsubmitted
PLAN = {
    "first": {
        ("police", 1): [INFO, VOICE],
        ("police", 2): [INFO],
        ("police", 3): [],
        ("health", 1): [INFO],
        ("health", 2): None,
        ("health", 3): [CURIOSITY],
    },
    "second": {
        ("police", 1): [VOICE],
        ("police", 2): [VOICE],
        ("health", 1): [INFO, VOICE],
        ("health", 2): [VOICE],
    },
}
#: the panel's overall grade per case in each round
PANEL = {"first": {1: "Good", 2: "Inadequate", 3: "Outstanding"}, "second": {1: "Good", 2: "Good"}}


def _build(world):
    version = make_questionnaire(world.partnership.id, library_key="neglect_case_audit")
    themed = next(q for q in version.questions if q.role == QuestionRole.LEARNING_THEMES)
    lead = world.user("agency_lead")
    built = {}
    for title, cases in (("first", 3), ("second", 2)):
        round_ = make_round(
            world.partnership.id,
            version=version,
            title=title.title() + " neglect audit",
            agencies=[world.police, world.health],
            cases=cases,
            status=RoundStatus.OPEN,
            shares_answers_in_discussion=title == "second",
        )
        names = {world.police.agency_id: "police", world.health.agency_id: "health"}
        with system_actor("test:setup"):
            for ret in db.session.scalars(sa.select(Return).where(Return.round_id == round_.id)):
                ticked = PLAN[title][(names[ret.agency_id], int(ret.round_case.case.reference.split("-")[1]))]
                if ticked is None:
                    continue
                answers = valid_answers(ret)
                answers[themed.key] = ticked
                answers["overall_grade"] = "Good" if names[ret.agency_id] == "police" else "Requires improvement"
                rounds.save_answers(ret, answers, by=lead, expected_version=ret.lock_version)
                rounds.submit_return(ret, by=lead, as_lead=True)
            rounds.move_round(round_, RoundStatus.CLOSED)
            rounds.move_round(round_, RoundStatus.IN_DISCUSSION)
            for rc in round_.cases:
                grade = PANEL[title][int(rc.case.reference.split("-")[1])]
                case_services.record_judgement(rc, section_key="", grade=grade)
        built[title] = round_
    db.session.commit()
    return built


@pytest.fixture()
def themed(world):
    return _build(world)


def _rows(table, key="theme"):
    return {row[key]: row for row in table.rows}


def test_aggregation_counts_returns_and_cases_and_keeps_every_theme():
    answers = pd.DataFrame(
        {
            "round_id": [1, 1, 1, 2],
            "return_id": [10, 11, 12, 20],
            "round_case_id": [100, 100, 101, 200],
            "ticked": [["A", "B"], ["A"], [], ["B"]],
        }
    )
    table = agg.learning_themes(answers, ["A", "B", "C"], [1, 2])
    expected = pd.DataFrame(
        {
            "ticked": [2, 0, 1, 1, 0, 0],
            "cases": [1, 0, 1, 1, 0, 0],
            "answered": [2, 1, 2, 1, 2, 1],
            "ticked_pct": [100.0, 0.0, 50.0, 100.0, 0.0, 0.0],
        },
        index=pd.MultiIndex.from_product([["A", "B", "C"], [1, 2]], names=["theme", "round_id"]),
    )
    assert_frame_equal(table, expected)
    total = agg.learning_themes_total(answers, ["A", "B", "C"])
    assert total["ticked"].tolist() == [2, 2, 0] and total["answered"].tolist() == [3, 3, 3]
    # nobody ticked anything: shares stay missing, never 0 %
    empty = agg.learning_themes(answers.iloc[0:0], ["A"], [1])
    assert empty["ticked"].tolist() == [0] and empty["ticked_pct"].isna().all()


def test_a_rounds_learning_themes_count_returned_ticks_by_theme(themed, world):
    found = f.round_findings(themed["first"])
    rows = _rows(found.tables["learning_themes"])
    # every theme the question offers, in its order, ticked or not
    assert list(rows)[:3] == [INFO, CURIOSITY, "Voice of the child"] and len(rows) == 10
    # returned returns that ticked any theme: police 1, 2; health 1, 3 (police 3 ticked none; health 2 unsent)
    assert {r["answered"] for r in rows.values()} == {4}
    assert (rows[INFO]["ticked"], rows[INFO]["cases"], rows[INFO]["ticked_pct"]) == (3, 2, 75.0)
    assert (rows[VOICE]["ticked"], rows[CURIOSITY]["ticked"], rows["Escalation"]["ticked"]) == (1, 1, 0)
    assert rows[VOICE]["theme_key"] == "voice_of_the_child"
    # an agency sees its own returns' ticks only
    police = frozenset({world.police.agency_id})
    mine = _rows(f.round_findings(themed["first"], police).tables["learning_themes"])
    assert (mine[INFO]["ticked"], mine[VOICE]["ticked"], mine[INFO]["answered"]) == (2, 1, 2)
    assert mine[CURIOSITY]["ticked"] == 0 and mine[CURIOSITY]["ticked_pct"] == 0.0
    nobody = _rows(f.round_findings(themed["first"], frozenset()).tables["learning_themes"])
    assert all(r["ticked"] == 0 and r["ticked_pct"] is None for r in nobody.values())


def test_learning_themes_across_rounds(themed, world):
    found = f.learning_themes([world.partnership.id])
    overall = _rows(found.tables["learning_themes_overall"])
    assert overall[VOICE]["ticked"] == 5 and overall[VOICE]["answered"] == 8
    assert overall[VOICE]["cases"] == 3  # case 1 of the first round; cases 1 and 2 of the second
    by_round = {(r["theme"], r["round"].split(" (")[0]): r for r in found.tables["learning_themes_by_round"].rows}
    assert by_round[(VOICE, "Second neglect audit")]["ticked"] == 4
    assert by_round[(VOICE, "Second neglect audit")]["ticked_pct"] == 100.0
    assert by_round[(INFO, "Second neglect audit")]["ticked"] == 1
    police = f.learning_themes([world.partnership.id], frozenset({world.police.agency_id}))
    mine = _rows(police.tables["learning_themes_overall"])
    assert (mine[INFO]["ticked"], mine[VOICE]["ticked"], mine[VOICE]["answered"]) == (2, 3, 4)
    suppressed = police.suppressed().tables["learning_themes_overall"]
    row = _rows(suppressed)[INFO]
    assert row["ticked"] is None and "ticked" in row["suppressed"] and row["ticked_pct"] is None


def test_theme_trend_puts_the_panels_grades_beside_the_agencies(themed, world):
    theme_id = themed["first"].theme_id
    found = f.theme_trend(world.partnership.id, theme_id)
    panel = {r["round"].split(" (")[0]: r for r in found.tables["trend_panel"].rows}
    first, second = panel["First neglect audit"], panel["Second neglect audit"]
    assert (first["graded"], first["Good"], first["Inadequate"], first["Outstanding"]) == (3, 1, 1, 1)
    assert first["good_or_better"] == 2 and second["good_or_better"] == 2 and second["graded"] == 2
    # an agency sees the panel's grades only where the round shares them, and on its own cases
    police = f.theme_trend(world.partnership.id, theme_id, frozenset({world.police.agency_id}))
    shown = {r["round"].split(" (")[0]: r["graded"] for r in police.tables["trend_panel"].rows}
    assert shown == {"First neglect audit": 0, "Second neglect audit": 2}


def test_pages_draw_the_charts_with_their_tables(themed, client, world):
    login(client, world.user("qa_member"))
    first = themed["first"]
    page = client.get(f"/rounds/{first.id}/findings").get_data(as_text=True)
    assert 'id="learning-themes-chart-title"' in page and "Learning themes ticked (all agencies)" in page
    agencies = client.get(f"/rounds/{first.id}/findings/agencies").get_data(as_text=True)
    assert 'id="agreement-chart-title"' in agencies
    index = client.get("/findings").get_data(as_text=True)
    assert 'id="agency-theme-chart-title"' in index and 'id="learning-themes-chart-title"' in index
    assert "Learning themes ticked, by round" in index
    trend = client.get(f"/themes/{first.theme_id}/trend").get_data(as_text=True)
    assert "Multi-agency panel" in trend and "Overall grades the multi-agency panel agreed, by round" in trend
    for text in (page, agencies, index, trend):
        assert "None" not in text and "nan" not in text
    # suppressed: the tables stay, the charts go (they would show the small counts)
    hidden = client.get("/findings?suppress=1").get_data(as_text=True)
    assert "learning-themes-chart" not in hidden and "fewer than 5" in hidden
    sheet = openpyxl.load_workbook(io.BytesIO(client.get("/findings?download=xlsx").data))
    assert {"Learning themes", "Learning themes by round"} <= set(sheet.sheetnames)
    csv = client.get(f"/rounds/{first.id}/findings?download=csv&table=learning_themes").data.decode("utf-8-sig")
    assert csv.splitlines()[0].startswith("Learning theme,") and "Information sharing,3," in csv


def test_an_open_rounds_page_shows_return_progress(world, client):
    round_ = make_round(world.partnership.id, agencies=[world.police, world.health], cases=2, status=RoundStatus.OPEN)
    db.session.commit()
    login(client, world.user("admin"))
    page = client.get(f"/rounds/{round_.id}").get_data(as_text=True)
    assert 'id="progress-chart-title"' in page and "Return progress as a table" in page
    assert "All agencies" in page
    with system_actor("test:setup"):
        rounds.move_round(round_, RoundStatus.CLOSED)
    db.session.commit()
    assert "progress-chart" not in client.get(f"/rounds/{round_.id}").get_data(as_text=True)


def test_api_gives_learning_themes_with_keys_and_labels(themed, api, world):
    qa = api(world.user("qa_member"))
    answer = qa.get("/api/v1/findings/learning-themes")
    assert answer.status_code == 200
    table = answer.json["tables"]["learning_themes_by_round"]
    assert {"theme", "theme_key", "round", "round_id", "ticked", "answered", "ticked_pct"} <= set(table["rows"][0])
    keys = {c["key"]: c for c in table["columns"]}
    assert keys["theme_key"]["kind"] == "key" and keys["ticked_pct"]["of"] == ["ticked", "answered"]
    auditor = api(world.user("auditor")).get("/api/v1/findings/learning-themes").json
    assert auditor["scope"] == "own agency"
    overall = {r["theme"]: r for r in auditor["tables"]["learning_themes_overall"]["rows"]}
    assert overall[VOICE]["ticked"] == 3
    bad = qa.get("/api/v1/findings/learning-themes?from_year=abc")
    assert bad.status_code == 400 and "from_year" in bad.json["error"]["fields"]
    csv = qa.get("/api/v1/findings/learning-themes/download?format=csv&table=learning_themes_overall")
    assert csv.status_code == 200 and b"Voice of the child" in csv.data
    assert qa.get("/api/v1/findings/learning-themes/download?format=csv").status_code == 400
    round_json = qa.get(f"/api/v1/rounds/{themed['first'].id}/findings").json
    assert "learning_themes" in round_json["tables"]
    trend = qa.get(f"/api/v1/themes/{themed['first'].theme_id}/trend").json
    assert "trend_panel" in trend["tables"]


def test_heatmap_prints_every_figure_and_names_missing_cells():
    svg = str(
        charts.heatmap(
            "h", "Title", ["Neglect", "CSE"], [("North Police", [(24.6, "12 of 49"), (None, "none")])], empty="none"
        )
    )
    assert "25%" in svg and ">none<" in svg and "North Police, CSE: none" in svg
    assert json.dumps(svg)  # plain text, nothing unescaped
    assert "<script" not in str(charts.heatmap("h", "<script>", ["<b>"], [("<i>", [(50.0, "<x>")])]))
