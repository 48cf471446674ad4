"""One shape for every findings table, whatever it is shown in.

A :class:`Table` is built once from the aggregation's DataFrames and then
rendered as an HTML table, a CSV or XLSX file, a PDF page or JSON, so the same
figures appear everywhere. Percentages name the counts they come from, so
every output shows a share with its numerator and denominator, and small-count
suppression hides a share whenever it would reveal a suppressed count.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, NamedTuple

import pandas as pd

from ..core.files import csv_cell

SUPPRESS_BELOW = 5
SUPPRESSED = f"fewer than {SUPPRESS_BELOW}"
#: the row entry naming the columns whose figures suppression withheld (their cells hold None)
HIDDEN = "suppressed"

#: short names for spreadsheet tabs (31 characters at most)
SHEET_NAMES = {
    "return_rate_overall": "Return rate for the round",
    "return_rates_agency": "Return rates by agency",
    "return_rates_sector": "Return rates by sector",
    "grades": "Grades by section",
    "grades_by_agency": "Grades by agency",
    "questions": "Rated questions",
    "panel_grades": "Panel grades",
    "panel_vs_agency": "Agency and panel grades",
    "panel_agreement": "Agreement with panel",
    "texts": "Strengths and development",
    "reaudit_summary": "Re-audit summary",
    "reaudit_cases": "Re-audit by case",
    "reaudit_new_cases": "New cases",
    "trend": "Trend",
    "trend_by_agency": "Trend by agency",
    "trend_panel": "Trend, panel grades",
    "learning_themes": "Learning themes",
    "learning_themes_overall": "Learning themes",
    "learning_themes_by_round": "Learning themes by round",
    "agency_theme": "Agency by theme",
    "review_register": "Register",
    "learning_points": "Learning points",
    "review_recommendations": "Recommendations",
    "learning_point_themes": "Themes of learning points",
    "reviews_by_type": "Reviews by type",
    "review_decisions": "Decisions",
    "review_timeliness": "Timeliness",
    "review_publication": "Publication",
    "review_themes": "Learning themes",
}


class LevelCount(NamedTuple):
    """One level's count in a ``levels`` cell: its label, the count (None where suppressed) and the
    level's value on its scale (its stable key)."""

    label: str
    count: int | None
    value: float | None = None
    suppressed: bool = False


@dataclass(frozen=True)
class Column:
    key: str
    heading: str
    #: text, count, pct (a share of ``of``), number, levels (a list of :class:`LevelCount`),
    #: or key (a stable identifier of the label column ``key_of``: an id, a section key, a level value)
    kind: str = "text"
    #: for a pct column: the (numerator, denominator) count columns it comes from
    of: tuple[str, str] | None = None
    #: what a share reads where its denominator is 0
    empty: str = "none graded"
    #: for a key column: the label column it identifies
    key_of: str | None = None
    #: stable keys of what the column itself stands for (a level's ``level_value``, a ``theme_id``)
    meta: tuple[tuple[str, Any], ...] = ()


def key_column(key: str, label: str) -> Column:
    """A column of stable keys beside the label column ``label`` (for the API; never shown to people)."""
    return Column(key, key, "key", key_of=label)


@dataclass
class Table:
    key: str
    title: str
    columns: list[Column]
    rows: list[dict[str, Any]]
    #: sentences printed under the table (method, suppression)
    notes: list[str] = field(default_factory=list)
    suppressed: bool = False

    @property
    def sheet_name(self) -> str:
        return SHEET_NAMES.get(self.key, self.title[:31])

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)

    def suppress(self) -> Table:
        """A copy in which counts from 1 to 4 and the shares built on them are withheld.

        A withheld figure's cell holds None and its column is named in the row's ``suppressed`` list
        (a levels cell marks each withheld level), so a column keeps one type; pages and files then
        read it as "fewer than 5" ("not shown" for a share on a page)."""
        rows = []
        for row in self.rows:
            new = dict(row)
            hidden: list[str] = []
            for column in self.columns:
                value = row.get(column.key)
                if column.kind == "count" and _small(value):
                    new[column.key] = None
                    hidden.append(column.key)
                elif column.kind == "levels" and value:
                    levels = [_level(item) for item in value]
                    new[column.key] = [
                        item._replace(count=None, suppressed=True) if _small(item.count) else item for item in levels
                    ]
                    if any(item.suppressed for item in new[column.key]):
                        hidden.append(column.key)
                elif column.kind == "pct" and column.of and any(_small(row.get(k)) for k in column.of):
                    new[column.key] = None
                    if value is not None:
                        hidden.append(column.key)
            new[HIDDEN] = hidden
            rows.append(new)
        notes = [*self.notes, f"Counts from 1 to {SUPPRESS_BELOW - 1} are shown as \u201c{SUPPRESSED}\u201d."]
        return Table(self.key, self.title, self.columns, rows, notes, suppressed=True)

    # -- plain values for files and JSON --

    @property
    def file_columns(self) -> list[Column]:
        """The columns a file for people holds: every one but the stable keys (the API carries those)."""
        return [c for c in self.columns if c.kind != "key"]

    def cell(self, row: dict[str, Any], column: Column) -> Any:
        """The value for a file: numbers as numbers (shares to one decimal place, half up), a withheld
        figure as "fewer than 5", missing as empty."""
        value = row.get(column.key)
        if is_hidden(row, column):
            return levels_text(value) if column.kind == "levels" else SUPPRESSED
        if is_missing(value):
            return ""
        if column.kind == "pct" and isinstance(value, int | float):
            return share_places(row, column, 1)
        if column.kind == "count" and isinstance(value, int | float):
            return int(value)
        if column.kind == "levels":
            return levels_text(value)
        return value

    def matrix(self) -> list[list[Any]]:
        """Headings then rows, for CSV and XLSX (without the key columns)."""
        columns = self.file_columns
        headings = [c.heading + (" (%)" if c.kind == "pct" else "") for c in columns]
        return [headings, *[[self.cell(row, c) for c in columns] for row in self.rows]]

    def to_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        for line in self.matrix():
            writer.writerow([csv_cell(value) for value in line])
        return out.getvalue()

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "title": self.title,
            "suppressed": self.suppressed,
            "columns": [_column_json(c) for c in self.columns],
            "rows": [
                {
                    **{c.key: _json_value(row, c) for c in self.columns},
                    HIDDEN: [k for k in row.get(HIDDEN, ()) if any(c.key == k for c in self.columns)],
                }
                for row in self.rows
            ],
            "notes": self.notes,
        }


def is_hidden(row: dict[str, Any], column: Column) -> bool:
    """Whether suppression withheld this cell's figure (or, for levels, some of them)."""
    return column.key in row.get(HIDDEN, ())


def round_half_up(value: Any, places: int = 0) -> Decimal:
    """``value`` rounded as people expect (12.5 -> 13, 6.25 -> 6.3), not to even as round() does.
    A float is read by its shortest repr, so 0.05 is 0.05, not the binary number just above it."""
    number = value if isinstance(value, Decimal) else Decimal(repr(float(value)))
    return number.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def exact_share(numerator: Any, denominator: Any) -> Decimal | None:
    """numerator / denominator as a percentage, worked out in decimals (not binary floats), so
    29 of 200 is exactly 14.5 and rounds to 15."""
    if not _whole(numerator) or not _whole(denominator) or not denominator:
        return None
    return Decimal(int(numerator) * 100) / Decimal(int(denominator))


def share_places(row: dict[str, Any], column: Column, places: int) -> float | int:
    """A pct cell rounded half up to ``places`` decimal places, from its own counts where the row has them."""
    exact = exact_share(*(row.get(k) for k in column.of)) if column.of else None
    rounded = round_half_up(exact if exact is not None else row[column.key], places)
    return int(rounded) if places == 0 else float(rounded)


def whole_percent(value: float) -> int:
    """A share rounded as people expect (12.5 -> 13), not to even as Python's round() does."""
    return int(round_half_up(value))


def levels_text(value: Any) -> str:
    """Counts by level as read: "Yes: 5, Partly: fewer than 5, No: 0"."""
    levels = [_level(item) for item in value or []]
    return ", ".join(f"{item.label}: {SUPPRESSED if item.suppressed else item.count}" for item in levels)


def _level(item: Any) -> LevelCount:
    return item if isinstance(item, LevelCount) else LevelCount(*item)


def _whole(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and float(value).is_integer()


def _small(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < SUPPRESS_BELOW


def _column_json(column: Column) -> dict[str, Any]:
    out: dict[str, Any] = {"key": column.key, "heading": column.heading, "kind": column.kind}
    if column.of:
        out["of"] = list(column.of)
    if column.key_of:
        out["key_of"] = column.key_of
    out.update(column.meta)
    return out


def _json_value(row: dict[str, Any], column: Column) -> Any:
    value = row.get(column.key)
    if column.kind == "levels":
        return [
            {
                "label": item.label,
                "value": _plain(item.value, whole=True),
                "count": item.count,
                "suppressed": item.suppressed,
            }
            for item in map(_level, value or [])
        ]
    if is_missing(value):
        return None
    if column.kind == "pct" and isinstance(value, int | float):
        return share_places(row, column, 1)
    if column.kind == "count" and isinstance(value, int | float):
        return int(value)
    return _plain(value, whole=column.kind == "key")


def _plain(value: Any, whole: bool = False) -> Any:
    """numpy scalars as Python ones; with ``whole``, a whole float as an int (a level value 4, not 4.0)."""
    if is_missing(value):
        return None
    if hasattr(value, "item"):
        value = value.item()
    if whole and isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# -- missing values: one rule for every page, file, PDF and JSON cell --


def is_missing(value: Any) -> bool:
    """Nothing recorded: None, or pandas' stand-ins for it (NaN, NA, NaT), which a DataFrame puts where the
    database gave NULL (a case without a panel grade). An empty string is a value: the caller decides."""
    if value is None:
        return True
    if isinstance(value, str | list | tuple | dict | set):
        return False
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def plain_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A DataFrame's rows as dicts of plain Python values, with every missing value as None (never NaN,
    which a template prints as "nan" and counts as true)."""
    return [{key: _plain(value) for key, value in row.items()} for row in frame.to_dict("records")]


def present(value: Any, empty: str = "\u2013") -> str:
    """A value as people read it in a report or export: ``empty`` when missing or blank, dates written out
    ("12 November 2025"), never "None" or "nan"."""
    if is_missing(value) or value == "":
        return empty
    if isinstance(value, datetime | pd.Timestamp):
        value = value.date()
    if isinstance(value, date):
        return value.strftime("%-d %B %Y")
    return str(value)
