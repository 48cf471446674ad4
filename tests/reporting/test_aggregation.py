"""Round findings figures from hand-built frames: no database, every number checked."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandas.testing as pdt

from audit_app.reporting.aggregation import (
    NOT_COMPARED,
    agency_theme_table,
    change,
    change_summary,
    difference_summary,
    grade_differences,
    grade_distribution,
    reaudit_comparison,
    return_rates,
    suppress_small,
    total_over,
    trend,
)
from audit_app.reporting.tables import Column, Table

LEVELS = ["Outstanding", "Good", "Requires improvement", "Inadequate"]
#: the levels flagged counts_as_good on the Ofsted scale
GOOD = ["Outstanding", "Good"]


def test_return_rates_with_and_without_declined():
    returns = pd.DataFrame(
        {
            "agency": ["Police"] * 5 + ["Health"] * 4 + ["School"] * 2,
            "status": [
                "accepted",
                "submitted",
                "in_progress",
                "declined",
                "not_started",
                "accepted",
                "accepted",
                "declined",
                "declined",
                "not_started",
                "in_progress",
            ],
        }
    )
    table = return_rates(returns, by="agency", groups=["Health", "Police", "School", "Youth Justice"])
    assert table.loc["Police", ["expected", "returned", "declined", "outstanding"]].tolist() == [5, 2, 1, 2]
    assert table.loc["Police", "rate"] == 40.0
    assert table.loc["Police", "rate_excluding_declined"] == 50.0
    assert table.loc["Health", "rate"] == 50.0 and table.loc["Health", "rate_excluding_declined"] == 100.0
    assert table.loc["School", "rate"] == 0.0
    # A group with no returns at all is listed, with no rate rather than 0 %.
    assert table.loc["Youth Justice", "expected"] == 0
    assert np.isnan(table.loc["Youth Justice", "rate"])


def test_grade_distribution_never_counts_na_or_missing_as_zero():
    answers = pd.DataFrame(
        {
            "question_key": ["q1", "q1", "q1", "q1", "q2", "q2"],
            "label": ["Good", "Good", "Inadequate", "Not applicable", "Outstanding", "Requires improvement"],
            "is_na": [False, False, False, True, False, False],
        }
    )
    table = grade_distribution(answers, questions=["q1", "q2", "q3"], levels=LEVELS, good=GOOD)
    expected = pd.DataFrame(
        {
            "Outstanding": [0, 1, 0],
            "Good": [2, 0, 0],
            "Requires improvement": [0, 1, 0],
            "Inadequate": [1, 0, 0],
            "not_applicable": [1, 0, 0],
            "graded": [3, 2, 0],
            "good_or_better": [2, 1, 0],
            "good_or_better_pct": [200 / 3, 50.0, np.nan],
        },
        index=pd.Index(["q1", "q2", "q3"], name="question_key"),
    )
    pdt.assert_frame_equal(table, expected, check_names=False, check_dtype=False)


def test_grade_distribution_by_agency_lists_every_question_for_every_agency():
    answers = pd.DataFrame(
        {
            "agency": ["Police", "Police", "Health"],
            "question_key": ["q1", "q2", "q1"],
            "label": ["Good", "Inadequate", "Outstanding"],
            "is_na": [False, False, False],
        }
    )
    table = grade_distribution(answers, questions=["q1", "q2"], levels=LEVELS, by="agency", good=GOOD)
    assert list(table.index) == [("Health", "q1"), ("Health", "q2"), ("Police", "q1"), ("Police", "q2")]
    assert table.loc[("Health", "q2"), "graded"] == 0
    assert np.isnan(table.loc[("Health", "q2"), "good_or_better_pct"])
    assert table.loc[("Police", "q1"), "good_or_better_pct"] == 100.0


def test_counted_rows_give_the_same_figures_as_one_row_per_answer():
    rows = pd.DataFrame(
        {
            "question_key": ["q1"] * 5,
            "label": ["Good", "Good", "Good", "Inadequate", "Not applicable"],
            "is_na": [False, False, False, False, True],
        }
    )
    counted = pd.DataFrame(
        {
            "question_key": ["q1", "q1", "q1"],
            "label": ["Good", "Inadequate", "Not applicable"],
            "is_na": [False, False, True],
            "n": [3, 1, 1],
        }
    )
    pdt.assert_frame_equal(
        grade_distribution(rows, ["q1"], LEVELS, good=GOOD),
        grade_distribution(counted, ["q1"], LEVELS, good=GOOD),
        check_dtype=False,
    )


def test_agency_grades_beside_the_panel_grade():
    agency = pd.DataFrame(
        {
            "round_case_id": [1, 1, 2],
            "grade_key": ["s1", "s1", "s1"],
            "agency": ["Police", "Health", "Police"],
            "label": ["Good", "Inadequate", "Good"],
            "value": [3.0, 1.0, 3.0],
        }
    )
    panel = pd.DataFrame({"round_case_id": [1], "grade_key": ["s1"], "label": ["Requires improvement"], "value": [2.0]})
    table = grade_differences(agency, panel)
    assert table["difference"].tolist()[:2] == [1.0, -1.0]
    assert table["differs"].tolist()[:2] == [True, True]
    assert table["differs"].isna().tolist() == [False, False, True]  # no panel grade yet for case 2
    summary = difference_summary(table, ["Health", "Police", "School"])
    assert summary.loc["Police", ["compared", "same", "higher", "lower"]].tolist() == [1, 0, 1, 0]
    assert summary.loc["Health", ["compared", "lower"]].tolist() == [1, 1]
    assert summary.loc["School", "compared"] == 0 and np.isnan(summary.loc["School", "same_pct"])


def test_change_compares_values_and_never_guesses():
    before = pd.Series([2.0, 3.0, 3.0, np.nan, 1.0])
    after = pd.Series([3.0, 3.0, 1.0, 2.0, np.nan])
    assert change(before, after).tolist() == ["Improved", "Same", "Worse", NOT_COMPARED, NOT_COMPARED]


def test_reaudit_comparison_lists_every_carried_case_and_section():
    cases = pd.DataFrame(
        {"round_case_id": [11, 12, 13], "previous_round_case_id": [1.0, 2.0, np.nan], "case": ["A", "B", "New"]}
    )
    then = pd.DataFrame(
        {
            "round_case_id": [1, 1, 2],
            "grade_key": ["overall", "s1", "overall"],
            "label": ["Requires improvement", "Good", "Good"],
            "value": [2.0, 3.0, 3.0],
        }
    )
    now = pd.DataFrame(
        {
            "round_case_id": [11, 11, 12, 13],
            "grade_key": ["overall", "s1", "overall", "overall"],
            "label": ["Good", "Good", "Inadequate", "Good"],
            "value": [3.0, 3.0, 1.0, 3.0],
        }
    )
    table = reaudit_comparison(cases, now, then, ["s1", "overall"])
    assert table[["case", "grade_key", "change"]].values.tolist() == [
        ["A", "s1", "Same"],
        ["A", "overall", "Improved"],
        ["B", "s1", NOT_COMPARED],
        ["B", "overall", "Worse"],
    ]
    summary = change_summary(table, ["s1", "overall"])
    assert summary.loc["overall", ["Improved", "Same", "Worse", "compared"]].tolist() == [1, 0, 1, 2]
    assert summary.loc["s1", NOT_COMPARED] == 1 and summary.loc["s1", "improved_pct"] == 0.0


def test_trend_lists_rounds_without_grades_as_missing():
    counts = pd.DataFrame(
        {"round_id": [1, 1, 3], "label": ["Good", "Inadequate", "Outstanding"], "is_na": [False] * 3, "n": [3, 1, 2]}
    )
    table = trend(counts, [1, 2, 3], LEVELS, good=GOOD)
    assert table.loc[1, "good_or_better_pct"] == 75.0
    assert table.loc[2, "graded"] == 0 and np.isnan(table.loc[2, "good_or_better_pct"])
    assert table.loc[3, "good_or_better"] == 2


def test_agency_theme_table_has_every_pair():
    counts = pd.DataFrame(
        {
            "agency": ["Police", "Health"],
            "theme": ["CSE", "Neglect"],
            "label": ["Good", "Inadequate"],
            "is_na": [False, False],
            "n": [4, 2],
        }
    )
    table = agency_theme_table(counts, LEVELS, ["Health", "Police"], ["CSE", "Neglect"], good=GOOD)
    assert len(table) == 4
    assert table.loc[("Police", "CSE"), ["graded", "good_or_better"]].tolist() == [4, 4]
    assert table.loc[("Health", "Neglect"), "good_or_better_pct"] == 0.0
    assert np.isnan(table.loc[("Police", "Neglect"), "good_or_better_pct"])


def test_suppression_hides_small_counts_and_the_shares_built_on_them():
    assert [suppress_small(v) for v in (0, 1, 4, 5, None)] == [0, "fewer than 5", "fewer than 5", 5, None]
    table = Table(
        "t",
        "T",
        [
            Column("name", "Name"),
            Column("n", "N", "count"),
            Column("of", "Of", "count"),
            Column("pct", "Share", "pct", of=("n", "of")),
        ],
        [
            {"name": "a", "n": 3, "of": 10, "pct": 30.0},
            {"name": "b", "n": 6, "of": 12, "pct": 50.0},
            {"name": "c", "n": 0, "of": 0, "pct": None},
            {"name": "d", "n": 5, "of": 4, "pct": 125.0},
        ],
    )
    hidden = table.suppress()
    # a withheld figure is None and named in the row's "suppressed" list, so the column keeps one type
    assert [r["n"] for r in hidden.rows] == [None, 6, 0, 5]
    assert [r["pct"] for r in hidden.rows] == [None, 50.0, None, None]
    assert [r["suppressed"] for r in hidden.rows] == [["n", "pct"], [], [], ["of", "pct"]]
    assert hidden.suppressed and "fewer than 5" in hidden.notes[-1]
    assert table.rows[0]["n"] == 3  # the original is untouched
    assert hidden.matrix()[1] == ["a", "fewer than 5", 10, "fewer than 5"]


def test_csv_output_neutralises_formulas():
    table = Table("t", "T", [Column("text", "Text")], [{"text": "=HYPERLINK(1)"}, {"text": "-2 weeks"}, {"text": "ok"}])
    assert table.to_csv().splitlines() == ["Text", "'=HYPERLINK(1)", "'-2 weeks", "ok"]


def test_totals_over_agencies_recompute_the_share_and_keep_every_round():
    counts = pd.DataFrame(
        {
            "round_id": [1, 1, 1],
            "agency": ["Police", "Health", "Health"],
            "label": ["Good", "Inadequate", "Good"],
            "is_na": [False] * 3,
            "n": [2, 1, 1],
        }
    )
    by_agency = trend(counts, [1, 2], LEVELS, by="agency", groups=["Health", "Police"], good=GOOD)
    total = total_over(by_agency, "round_id", [1, 2], LEVELS)
    assert total.loc[1, ["Good", "Inadequate", "graded", "good_or_better"]].tolist() == [3, 1, 4, 3]
    assert total.loc[1, "good_or_better_pct"] == 75.0  # from the summed counts, not a sum of shares
    assert total.loc[2, "graded"] == 0 and np.isnan(total.loc[2, "good_or_better_pct"])
    pdt.assert_frame_equal(
        total, trend(counts, [1, 2], LEVELS, good=GOOD)[total.columns], check_dtype=False, check_names=False
    )
