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
import math
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

SUPPRESS_BELOW = 5
SUPPRESSED = f"fewer than {SUPPRESS_BELOW}"

#: short names for spreadsheet tabs (31 characters at most)
SHEET_NAMES = {
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
    "agency_theme": "Agency by theme",
}


@dataclass(frozen=True)
class Column:
    key: str
    heading: str
    #: text, count, pct (a share of ``of``), number, or levels (a list of (label, count) pairs)
    kind: str = "text"
    #: for a pct column: the (numerator, denominator) count columns it comes from
    of: tuple[str, str] | None = None
    #: what a share reads where its denominator is 0
    empty: str = "none graded"


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
        """A copy in which counts from 1 to 4 read "fewer than 5", and shares built on them are withheld."""
        rows = []
        for row in self.rows:
            new = dict(row)
            for column in self.columns:
                value = row.get(column.key)
                if column.kind == "count" and _small(value):
                    new[column.key] = SUPPRESSED
                elif column.kind == "levels" and value:
                    new[column.key] = [(label, SUPPRESSED if _small(n) else n) for label, n in value]
                elif column.kind == "pct" and column.of and any(_small(row.get(k)) for k in column.of):
                    new[column.key] = None if value is None else SUPPRESSED
            rows.append(new)
        notes = [*self.notes, f"Counts from 1 to {SUPPRESS_BELOW - 1} are shown as \u201c{SUPPRESSED}\u201d."]
        return Table(self.key, self.title, self.columns, rows, notes, suppressed=True)

    # -- plain values for files and JSON --

    def cell(self, row: dict[str, Any], column: Column) -> Any:
        """The value for a file: numbers as numbers (shares to one decimal place), missing as empty."""
        value = row.get(column.key)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return ""
        if column.kind == "pct" and isinstance(value, int | float):
            return round(float(value), 1)
        if column.kind == "count" and isinstance(value, int | float):
            return int(value)
        if column.kind == "levels":
            return levels_text(value)
        return value

    def matrix(self) -> list[list[Any]]:
        """Headings then rows, for CSV and XLSX."""
        headings = [c.heading + (" (%)" if c.kind == "pct" else "") for c in self.columns]
        return [headings, *[[self.cell(row, c) for c in self.columns] for row in self.rows]]

    def to_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        for line in self.matrix():
            writer.writerow([_csv_safe(value) for value in line])
        return out.getvalue()

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "title": self.title,
            "suppressed": self.suppressed,
            "columns": [
                {"key": c.key, "heading": c.heading, "kind": c.kind, **({"of": list(c.of)} if c.of else {})}
                for c in self.columns
            ],
            "rows": [{c.key: _json_value(row.get(c.key), c) for c in self.columns} for row in self.rows],
            "notes": self.notes,
        }


def whole_percent(value: float) -> int:
    """A share rounded as people expect (12.5 -> 13), not to even as Python's round() does."""
    return int(Decimal(repr(float(value))).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def levels_text(value: Any) -> str:
    """Counts by level as read: "Yes: 5, Partly: fewer than 5, No: 0"."""
    return ", ".join(f"{label}: {n}" for label, n in value or [])


def _small(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < SUPPRESS_BELOW


def _json_value(value: Any, column: Column) -> Any:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if column.kind == "pct" and isinstance(value, int | float):
        return round(float(value), 1)
    if column.kind == "count" and isinstance(value, int | float):
        return int(value)
    if column.kind == "levels":
        return dict(value or [])
    if hasattr(value, "item"):
        return value.item()
    return value


def _csv_safe(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula is prefixed with an apostrophe."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
