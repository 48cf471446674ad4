"""Learning themes across sources, counted without a database: every theme and year stays in the table,
an item counts once per theme, undated items are left out, names match whatever their case."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd
import pytest

from audit_app.reporting import theme_aggregation as agg
from audit_app.reporting.theme_aggregation import ITEM_COLUMNS, ThemeSource

LP, CF, CR, CE, RE = (s.value for s in agg.SOURCES)


def _items(rows):
    return pd.DataFrame(
        [
            {"source": s, "item_id": i, "theme_id": t, "on": on, "created_at": created, "label": "x", "detail": ""}
            for s, i, t, on, created in rows
        ],
        columns=ITEM_COLUMNS,
    )


def _at(year):
    return datetime(year, 6, 1, tzinfo=UTC)


ITEMS = _items(
    [
        (LP, 1, 10, date(2024, 3, 3), _at(2025)),  # the review's aware date wins over its creation
        (LP, 2, 10, None, _at(2025)),  # no aware date: the day recorded
        (CF, 7, 10, None, _at(2025)),
        (CF, 7, 11, None, _at(2025)),  # the same finding, another theme: counts for each
        (CR, 3, 10, date(2025, 1, 9), _at(2024)),
        (CR, 3, 10, date(2025, 1, 9), _at(2024)),  # the same return twice for a theme: once
        (CE, 4, 11, date(2026, 2, 1), _at(2026)),
        (RE, 5, 10, None, None),  # no date at all: not counted
    ]
)


def test_years_come_from_the_items_own_date_then_the_day_recorded():
    years = agg.dated(ITEMS)["year"].tolist()
    assert years[:3] == [2024, 2025, 2025]
    assert pd.isna(years[-1])


def test_every_theme_year_and_source_is_in_the_counts_even_when_nothing_is_tagged():
    items = agg.dated(ITEMS)
    years = agg.year_range(items)
    assert years == [2024, 2025, 2026]
    table = agg.counts(agg.in_years(items, years), [10, 11, 12], years)
    assert len(table) == 3 * 3 * len(agg.SOURCES)
    assert table.loc[(10, 2024, LP), "count"] == 1
    assert table.loc[(10, 2025, LP), "count"] == 1
    assert table.loc[(10, 2025, CR), "count"] == 1
    assert table.loc[(11, 2025, CF), "count"] == 1 and table.loc[(10, 2025, CF), "count"] == 1
    assert table.loc[(11, 2026, CE), "count"] == 1
    assert table.loc[(12, 2026, RE), "count"] == 0  # a theme nobody used is still there
    assert table["count"].sum() == 6  # the undated recommendation is not counted
    assert table["count"].dtype == "int64"


def test_totals_sum_over_the_years_per_source():
    items = agg.dated(ITEMS)
    years = agg.year_range(items)
    totals = agg.totals(agg.counts(items, [10, 11, 12], years), [10, 11, 12])
    assert totals.loc[10].to_dict() == {LP: 2, CF: 1, CR: 1, CE: 0, RE: 0, "total": 4}
    assert totals.loc[12, "total"] == 0
    assert list(totals.index) == [10, 11, 12]


@pytest.mark.parametrize(
    ("first", "last", "expected"),
    [
        (None, None, [2024, 2025, 2026]),
        (2025, None, [2025, 2026]),
        (None, 2024, [2024]),
        (2020, 2021, [2020, 2021]),  # a range with nothing in it is still shown, every year 0
        (2030, None, [2030]),  # from after the last tagged year: that year alone
    ],
)
def test_the_year_range_defaults_to_the_years_tagged(first, last, expected):
    assert agg.year_range(agg.dated(ITEMS), first, last) == expected


def test_no_items_no_years_and_an_empty_table_with_every_theme():
    items = agg.dated(_items([]))
    assert agg.year_range(items) == []
    assert agg.year_range(items, 2025, None) == [2025]
    table = agg.counts(items, [1, 2], [2025])
    assert len(table) == 2 * len(agg.SOURCES) and table["count"].sum() == 0


def test_in_years_keeps_only_dated_items_of_those_years():
    items = agg.dated(ITEMS)
    kept = agg.in_years(items, [2025])
    assert sorted(kept["item_id"].unique().tolist()) == [2, 3, 7]


def test_names_match_themes_whatever_their_case_and_spacing_and_others_are_dropped():
    rows = pd.DataFrame({"item_id": [1, 2], "names": [["voice of the CHILD ", "Voice of the child", "Other"], []]})
    matched = agg.match_names(rows, [(5, "Voice of the child"), (6, "Information sharing")], "names")
    assert matched.to_dict("records") == [{"item_id": 1, "theme_id": 5}]


@pytest.mark.parametrize(
    ("stored", "names"),
    [('["A", "B"]', ["A", "B"]), ("", []), (None, []), ("not json", []), ('["A", 3]', ["A"]), (["C"], ["C"])],
)
def test_ticked_names_read_stored_answers(stored, names):
    assert agg.ticked_names(stored) == names


def test_every_source_has_a_label():
    assert [s.label for s in ThemeSource] == [
        "Review learning points",
        "Case-audit findings",
        "Case-audit returns",
        "Self-assessment findings",
        "Recommendations",
    ]


def test_a_long_legend_runs_on_to_another_line_inside_the_chart():
    import re

    from audit_app.reporting import charts

    segments = [(s.label, 1) for s in agg.SOURCES]
    svg = str(charts.stacked_bars("t", "Themes", [("Information sharing", segments)], {}, as_share=False))
    width = int(re.search(r'viewBox="0 0 (\d+) ', svg).group(1))
    xs = [float(x) for x in re.findall(r'<text x="([\d.]+)" y="\d+" font-size="13"', svg)]
    ys = set(re.findall(r'<text x="[\d.]+" y="(\d+)" font-size="13"', svg))
    assert len(xs) == len(agg.SOURCES) and len(ys) > 1
    for label, x in zip([s.label for s in agg.SOURCES], xs, strict=True):
        assert x + len(label) * 7.2 <= width, label
    short = str(charts.stacked_bars("s", "Grades", [("A", [("Good", 1), ("Inadequate", 2)])], {}))
    assert len(set(re.findall(r'<text x="[\d.]+" y="(\d+)" font-size="13"', short))) == 1
