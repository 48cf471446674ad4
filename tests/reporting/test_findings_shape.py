"""The shape of a findings table, without a database: shares round half up, a suppressed figure is
marked rather than turned into text, and key columns stay out of the files people paste into Word."""

from __future__ import annotations

import pandas as pd
import pytest

from audit_app.reporting.aggregation import share
from audit_app.reporting.tables import Column, LevelCount, Table, key_column
from audit_app.reporting.views import finding_cell

RATE = Column("rate", "Rate", "pct", of=("n", "of"))


def rate_table(n: int, of: int) -> Table:
    rows = [{"name": "a", "n": n, "of": of, "rate": n * 100 / of}]
    return Table("t", "T", [Column("name", "Name"), Column("n", "N", "count"), Column("of", "Of", "count"), RATE], rows)


@pytest.mark.parametrize(
    ("n", "of", "file_share", "page_share"),
    [
        (2, 8, 25.0, "25%"),
        (1, 8, 12.5, "13%"),  # half up, not to even (12%)
        (1, 16, 6.3, "6%"),  # 6.25: round() gives 6.2
        (5, 16, 31.3, "31%"),  # 31.25: round() gives 31.2
        (5, 24, 20.8, "21%"),  # 20.833...
        (1, 400, 0.3, "0%"),  # 0.25: round() gives 0.2
        (1, 2000, 0.1, "0%"),  # 0.05
        (29, 200, 14.5, "15%"),  # 0.145 * 100 is 14.499999999999998 in binary
        (5, 40, 12.5, "13%"),
    ],
)
def test_shares_round_half_up_in_files_json_and_pages(n, of, file_share, page_share):
    table = rate_table(n, of)
    assert table.matrix()[1][3] == file_share
    assert table.to_json()["rows"][0]["rate"] == file_share
    assert table.to_csv().splitlines()[1].split(",")[3] == str(file_share)
    assert finding_cell(table.rows[0], RATE) == page_share


def test_a_share_from_the_aggregation_is_exact_for_its_counts():
    shares = share(pd.Series([29, 1, 5]), pd.Series([200, 16, 0]))
    assert shares.iloc[0] == 14.5 and shares.iloc[1] == 6.25 and pd.isna(shares.iloc[2])


def test_a_suppressed_count_is_marked_not_written_into_an_integer_column():
    table = Table(
        "t",
        "T",
        [
            Column("agency", "Agency"),
            key_column("agency_id", "agency"),
            Column("n", "N", "count"),
            Column("of", "Of", "count"),
            Column("pct", "Share", "pct", of=("n", "of")),
            Column("answers", "Answers", "levels"),
        ],
        [
            {
                "agency": "Police",
                "agency_id": 7,
                "n": 3,
                "of": 10,
                "pct": 30.0,
                "answers": [LevelCount("Yes", 3, 3.0), LevelCount("No", 7, 1.0)],
            },
            {"agency": "Health", "agency_id": 8, "n": 6, "of": 12, "pct": 50.0, "answers": []},
        ],
    ).suppress()
    data = table.to_json()
    police, health = data["rows"]
    assert police == {
        "agency": "Police",
        "agency_id": 7,
        "n": None,
        "of": 10,
        "pct": None,
        "answers": [
            {"label": "Yes", "value": 3, "count": None, "suppressed": True},
            {"label": "No", "value": 1, "count": 7, "suppressed": False},
        ],
        "suppressed": ["n", "pct", "answers"],
    }
    assert health["suppressed"] == [] and health["n"] == 6
    key = next(c for c in data["columns"] if c["key"] == "agency_id")
    assert key == {"key": "agency_id", "heading": "agency_id", "kind": "key", "key_of": "agency"}
    # people still read "fewer than 5": in files ...
    headings, first, _second = table.matrix()
    assert headings == ["Agency", "N", "Of", "Share (%)", "Answers"]  # no key column in a file
    assert first == ["Police", "fewer than 5", 10, "fewer than 5", "Yes: fewer than 5, No: 7"]
    assert "agency_id" not in table.to_csv() and "7," not in table.to_csv()
    # ... and on pages
    row = table.rows[0]
    assert finding_cell(row, table.column("n")) == "fewer than 5"
    assert finding_cell(row, table.column("pct")) == "not shown"
    assert finding_cell(row, table.column("answers")) == "Yes: fewer than 5, No: 7"
    assert finding_cell(table.rows[1], table.column("n")) == "6"


def test_an_unsuppressed_table_marks_nothing_and_keeps_level_values():
    table = Table(
        "t",
        "T",
        [Column("answers", "Answers", "levels")],
        [{"answers": [LevelCount("Good", 2, 3.0), LevelCount("Inadequate", 0, 1.0)]}],
    )
    [row] = table.to_json()["rows"]
    assert row["suppressed"] == []
    assert row["answers"] == [
        {"label": "Good", "value": 3, "count": 2, "suppressed": False},
        {"label": "Inadequate", "value": 1, "count": 0, "suppressed": False},
    ]
