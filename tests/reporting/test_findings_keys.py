"""Findings rows carry stable keys beside their labels, a column holds one type, and the round's
overall return rate comes with and without declined returns, all on the known rounds of
tests/reporting/test_findings.py."""

from __future__ import annotations

from collections import Counter

import pytest

from audit_app.reporting import findings as f
from tests.conftest import login
from tests.reporting import test_findings as tf

known = tf.known  # the same known rounds


def endpoints(known) -> list[str]:
    b = known.b
    return [
        f"/api/v1/rounds/{b.id}/findings",
        f"/api/v1/rounds/{b.id}/findings/texts",
        f"/api/v1/rounds/{b.id}/findings/re-audit",
        f"/api/v1/themes/{b.theme_id}/trend",
        "/api/v1/findings/agency-theme",
    ]


def tables_of(caller, known, suppress: str = "0") -> dict:
    tables = {}
    for url in endpoints(known):
        response = caller.get(f"{url}?suppress={suppress}")
        if response.status_code == 403 and "re-audit" in url:
            continue  # the re-audit comparison is for the partnership-wide roles
        assert response.status_code == 200, url
        tables.update(response.get_json()["tables"])
    return tables


def column_keys(table: dict, kind: str) -> list[str]:
    return [c["key"] for c in table["columns"] if c["kind"] == kind]


def test_every_row_carries_stable_keys_beside_its_labels(known, world, api):
    tables = tables_of(api(world.user("qa_member")), known)
    ids = {name: known.ids[short] for short, name in known.names.items()}
    sections = {"Recognition": "recognition", "Impact": "impact", "Overall": "overall"}
    for key, table in tables.items():
        names = [c["key"] for c in table["columns"]]
        keys = column_keys(table, "key")
        assert keys, f"{key} has no key column"
        for column in table["columns"]:
            if column["kind"] == "key":
                assert column["key_of"] in names, (key, column)
                assert names.index(column["key_of"]) < names.index(column["key"])  # keys after their labels
        for row in table["rows"]:
            assert set(row) == {*names, "suppressed"}, key
            if "agency" in row:
                assert row["agency_id"] == ids[row["agency"]], (key, row)
            if "section_key" in row and "grade" in row:
                assert row["section_key"] == sections[row["grade"]], (key, row)
    rates = tables["return_rates_agency"]["rows"]
    assert {r["agency"]: r["agency_id"] for r in rates} == {n: known.ids[s] for s, n in known.names.items()}
    assert all(r["sector_key"] for r in rates + tables["return_rates_sector"]["rows"])
    assert [r["section_key"] for r in tables["grades"]["rows"]] == ["recognition", "impact", "overall"]
    assert len({(r["agency_id"], r["section_key"]) for r in tables["grades_by_agency"]["rows"]}) == 9
    # a grade column names its level's value
    outstanding = next(c for c in tables["grades"]["columns"] if c["key"] == "Outstanding")
    assert outstanding["level_value"] == 4
    questions = {r["question_key"]: r for r in tables["questions"]["rows"]}
    assert questions["recognition_signs"]["section_key"] == "recognition"
    assert [a["label"] for a in questions["recognition_grade"]["answers"]] == tf.LEVELS
    assert [a["value"] for a in questions["recognition_grade"]["answers"]] == [4, 3, 2, 1]
    compared = tables["panel_vs_agency"]["rows"]
    for row in compared:
        assert row["agency_grade_value"] == tf.VALUE[row["agency_grade"]]
        assert row["panel_grade_value"] == (tf.VALUE[row["panel_grade"]] if row["panel_grade"] else None)
        assert row["verdict_key"] in ("same", "higher", "lower", "no_panel_grade")
        assert isinstance(row["round_case_id"], int)
    texts = tables["texts"]["rows"]
    assert {r["kind_key"] for r in texts} == {"strengths", "development", "recommendations"}
    assert all(r["agency_id"] is None for r in texts if r["source"] == f.PANEL)
    assert all(r["agency_id"] == ids[r["source"]] for r in texts if r["source"] != f.PANEL)
    cases = tables["reaudit_cases"]["rows"]
    assert Counter(r["change_key"] for r in cases)["not_compared"] == 16  # impact, never graded then
    assert all(r["now_value"] == tf.VALUE[r["now"]] for r in cases if r["now"] != "Not graded")
    new = tables["reaudit_new_cases"]["rows"]
    assert [r["overall_value"] for r in new] == [tf.VALUE[tf.panel(i)[""]] for i in range(17, 22)]
    assert [r["round_id"] for r in tables["trend"]["rows"]] == [known.a.id, known.b.id]
    by_theme = tables["agency_theme"]
    assert {c.get("theme_id") for c in by_theme["columns"] if c["kind"] != "key"} - {None} == {known.b.theme_id}
    assert {r["agency_id"] for r in by_theme["rows"]} == set(known.ids.values())


def test_pages_and_files_for_people_leave_the_keys_out(client, known, world, api):
    """Downloads are pasted into Word and read by people, so they carry labels only; the API keeps the keys."""
    b = known.b
    login(client, world.user("qa_member"))
    csv_text = client.get(f"/rounds/{b.id}/findings?download=csv&table=return_rates_agency").get_data(as_text=True)
    assert csv_text.lstrip("\ufeff").splitlines()[0].startswith("Agency,Sector,Returns asked for")
    assert "agency_id" not in csv_text and "sector_key" not in csv_text
    page = client.get(f"/rounds/{b.id}/findings").get_data(as_text=True)
    agencies = client.get(f"/rounds/{b.id}/findings/agencies").get_data(as_text=True)
    for body in (page, agencies):
        assert "agency_id" not in body and "section_key" not in body and "question_key" not in body
    data = api(world.user("qa_member")).get(f"/api/v1/rounds/{b.id}/findings").get_json()
    assert "agency_id" in data["tables"]["return_rates_agency"]["rows"][0]


@pytest.mark.parametrize("suppress", ["0", "1"])
@pytest.mark.parametrize("role", ["qa_member", "auditor"])
def test_every_column_of_every_table_holds_one_type(known, world, api, suppress, role):
    tables = tables_of(api(world.user(role)), known, suppress)
    assert tables
    for key, table in tables.items():
        kinds = {c["key"]: c["kind"] for c in table["columns"]}
        for row in table["rows"]:
            hidden = row["suppressed"]
            assert set(hidden) <= set(kinds) and (suppress == "1" or hidden == []), (key, row)
            for name, kind in kinds.items():
                value = row[name]
                where = (key, name, value)
                if kind == "count":
                    assert (type(value) is int) or (value is None and name in hidden), where
                elif kind == "pct":
                    assert value is None or type(value) in (int, float), where
                elif kind == "levels":
                    for level in value:
                        assert type(level["count"]) is int or (level["count"] is None and level["suppressed"]), where
                elif kind == "text":
                    assert value is None or isinstance(value, str), where
                elif kind == "key":
                    assert value is None or type(value) in (int, float, str), where
                assert value != "fewer than 5", where
    about = api(world.user(role)).get(f"/api/v1/rounds/{known.b.id}/findings?suppress={suppress}").get_json()["about"]
    totals = about["totals"]
    for name in ("cases", "expected", "returned", "declined"):
        assert type(totals[name]) is int or (totals[name] is None and name in totals["suppressed"])
    if suppress == "1":
        assert totals["declined"] is None and totals["suppressed"] == ["declined"]  # 2 declined


def plan_rate(agencies: list[str]) -> tuple[int, int, int]:
    """Oracle: returns asked for, returned and declined in round B, counted from the plan."""
    statuses = Counter(tf.status(a, i) for i in tf.B_CASES for a in tf.agencies_on(i) if a in agencies)
    return sum(statuses.values()), statuses["submitted"] + statuses["accepted"], statuses["declined"]


def test_the_rounds_overall_return_rate_with_and_without_declined(client, known, world, api):
    expected, back, declined = plan_rate(["police", "health", "school"])
    assert (expected, back, declined) == (37, 32, 2)
    [row] = f.round_findings(known.b).tables["return_rate_overall"].rows
    assert (row["round_id"], row["round"]) == (known.b.id, "Re-audit")
    assert (row["expected"], row["returned"], row["declined"], row["eligible"]) == (37, 32, 2, 35)
    assert row["outstanding"] == 37 - 32 - 2
    assert row["rate"] == pytest.approx(100 * 32 / 37)
    assert row["rate_excluding_declined"] == pytest.approx(100 * 32 / 35)
    data = api(world.user("qa_member")).get(f"/api/v1/rounds/{known.b.id}/findings").get_json()
    table = data["tables"]["return_rate_overall"]
    [json_row] = table["rows"]
    assert (json_row["rate"], json_row["rate_excluding_declined"]) == (86.5, 91.4)
    columns = {c["key"]: c for c in table["columns"]}
    assert columns["rate"]["of"] == ["returned", "expected"]
    assert columns["rate_excluding_declined"]["of"] == ["returned", "eligible"]
    # an agency user: the rate over their own agency's returns
    police = api(world.user("auditor")).get(f"/api/v1/rounds/{known.b.id}/findings").get_json()
    [own] = police["tables"]["return_rate_overall"]["rows"]
    assert (own["expected"], own["returned"], own["declined"]) == plan_rate(["police"]) == (21, 18, 1)
    assert (own["rate"], own["rate_excluding_declined"]) == (85.7, 90.0)
    # shown on the page, in the files and in the PDF's tables
    login(client, world.user("qa_member"))
    page = client.get(f"/rounds/{known.b.id}/findings").get_data(as_text=True)
    assert "Return rate for the round (all agencies)" in page and "86%" in page and "91%" in page
    csv_text = client.get(f"/rounds/{known.b.id}/findings?download=csv&table=return_rate_overall").get_data(
        as_text=True
    )
    assert csv_text.lstrip("\ufeff").splitlines()[1] == "Re-audit,37,32,2,3,86.5,35,91.4"
