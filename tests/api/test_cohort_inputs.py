"""Cohort files with cells the csv module or the database cannot take: refused as problems by row and column."""

from __future__ import annotations

import io

import pytest

from audit_app.case_audits.cohort import CohortError, parse_cohort
from audit_app.core.inputs import UNSTORABLE
from tests.factories import make_round

AGENCIES = {"North Police"}
HUGE = "x" * 200_000  # past the csv module's 131,072-character field limit


def _problems(data: bytes) -> list[tuple[int, str, str]]:
    with pytest.raises(CohortError) as refused:
        parse_cohort(data, "cohort.csv", agency_names=AGENCIES)
    return [(p.line, p.column, p.message) for p in refused.value.problems]


def test_a_cell_past_the_csv_field_limit_is_a_problem_on_its_row_and_column():
    data = f"reference,ethnicity,agencies\nChild K,{HUGE},North Police\nMary Jones,,North Police\n".encode()
    problems = _problems(data)
    assert (2, "ethnicity", "a cell is longer than 131,072 characters") in problems
    assert any(line == 3 and column == "reference" for line, column, _ in problems)  # the rest still checked


def test_an_unterminated_quote_running_past_the_limit_is_a_problem_too():
    problems = _problems(f'reference,agencies\nChild K,"{HUGE}\nChild L,North Police\n'.encode())
    assert problems[0][0] == 2 and "longer than" in problems[0][2]


def test_an_oversized_header_is_a_problem():
    assert _problems(f"reference,{HUGE}\n".encode())[0][2].startswith("a cell is longer")


def test_a_nul_in_a_cell_is_a_problem_not_a_database_error():
    problems = _problems(b"reference,ethnicity,agencies\nChild K,Wh\x00ite,North Police\n")
    assert problems == [(2, "ethnicity", UNSTORABLE)]


def test_the_api_answers_an_oversized_cell_with_400(api, world):
    round_ = make_round(world.partnership.id, title="Cohort limits")
    data = f"reference,ethnicity,agencies\nChild K,{HUGE},North Police\n".encode()
    response = api(world.user("qa_member")).post(
        f"/api/v1/rounds/{round_.id}/cohort", data={"file": (io.BytesIO(data), "cohort.csv")}
    )
    assert response.status_code == 400
    assert {"line": 2, "column": "ethnicity"}.items() <= response.json["error"]["problems"][0].items()
