"""Learning themes across every source, counted: pure functions over DataFrames (no database).

reporting/theme_queries.py gives one row per tagged item and theme; this module dates each row to its year,
keeps the years asked for, and counts items per theme, year and source. Every theme of the partnership's list
and every year of the range appears in the result, counted or not, so nothing disappears from a table or a
chart; an item with no date at all has no year and is left out of the counts (missing is missing, never 0).
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable
from datetime import date, datetime

import pandas as pd


class ThemeSource(enum.StrEnum):
    """Where a learning theme was tagged."""

    LEARNING_POINT = "learning_point"
    CASE_FINDING = "case_finding"
    CASE_RETURN = "case_return"
    CHALLENGE_EVENT = "challenge_event"
    RECOMMENDATION = "recommendation"

    @property
    def label(self) -> str:
        return SOURCE_LABELS[self]


SOURCE_LABELS = {
    ThemeSource.LEARNING_POINT: "Review learning points",
    ThemeSource.CASE_FINDING: "Case-audit findings",
    ThemeSource.CASE_RETURN: "Case-audit returns",
    ThemeSource.CHALLENGE_EVENT: "Self-assessment findings",
    ThemeSource.RECOMMENDATION: "Recommendations",
}
SOURCES = list(ThemeSource)

#: the columns of the tagged items every query gives
ITEM_COLUMNS = ["source", "item_id", "theme_id", "on", "created_at", "label", "detail"]


def year_of(on: object, created_at: object) -> int | None:
    """The year an item counts in: its own date (a review's aware date, a round's opening...), else the day it
    was recorded; None when it has neither."""
    for value in (on, created_at):
        if isinstance(value, datetime | date) and not pd.isna(value):
            return value.year
    return None


def dated(items: pd.DataFrame) -> pd.DataFrame:
    """The items with a ``year`` column (a nullable integer: missing where the item has no date)."""
    years = [year_of(on, created) for on, created in zip(items["on"], items["created_at"], strict=True)]
    return items.assign(year=pd.array(years, dtype="Int64"))


def year_range(items: pd.DataFrame, first: int | None = None, last: int | None = None) -> list[int]:
    """The years to show: from ``first`` to ``last`` where given, else from the first or to the last year any
    dated item has (one end given and no item dated: that year alone; neither and none: no years)."""
    known = items["year"].dropna() if len(items) else pd.Series([], dtype="Int64")
    low = first if first is not None else (int(known.min()) if not known.empty else last)
    high = last if last is not None else (int(known.max()) if not known.empty else first)
    if low is None or high is None:
        return []
    if first is None and low > high:
        low = high
    if last is None and high < low:
        high = low
    return list(range(low, high + 1))


def in_years(items: pd.DataFrame, years: list[int]) -> pd.DataFrame:
    """The dated items of those years."""
    if not len(items):
        return items
    return items[items["year"].notna() & items["year"].isin(years)]


def counts(items: pd.DataFrame, theme_ids: list[int], years: list[int]) -> pd.DataFrame:
    """Items per theme, year and source: indexed (``theme_id``, ``year``, ``source``) over every theme, year
    and source (0 where none); one column ``count`` (an item counts once per theme it has). Undated items
    are not counted."""
    index = pd.MultiIndex.from_product(
        [theme_ids, years, [s.value for s in SOURCES]], names=["theme_id", "year", "source"]
    )
    known = items[items["year"].notna()] if len(items) else items
    if len(known):
        grouped = (
            known.assign(year=known["year"].astype("int64"), source=known["source"].astype(str))
            .drop_duplicates(["source", "item_id", "theme_id"])
            .groupby(["theme_id", "year", "source"])["item_id"]
            .nunique()
        )
    else:
        grouped = pd.Series([], dtype="int64", index=pd.MultiIndex.from_tuples([], names=index.names))
    return grouped.reindex(index, fill_value=0).astype("int64").to_frame("count")


def totals(table: pd.DataFrame, theme_ids: list[int]) -> pd.DataFrame:
    """Each theme's count over every year in view, by source: indexed ``theme_id``, one column per source key,
    and ``total``."""
    wide = (
        table["count"]
        .groupby(level=["theme_id", "source"])
        .sum()
        .unstack("source")
        .reindex(index=theme_ids, columns=[s.value for s in SOURCES], fill_value=0)
        .fillna(0)
        .astype("int64")
    )
    wide["total"] = wide.sum(axis=1)
    return wide


def ticked_names(value: object) -> list[str]:
    """A stored multiple-choice answer (a JSON list, or a list) as the names ticked."""
    if isinstance(value, str):
        try:
            value = json.loads(value) if value else []
        except ValueError:
            return []
    if not isinstance(value, list):
        return []
    return [name for name in value if isinstance(name, str)]


def fold(name: str) -> str:
    """A theme name as matched: case and surrounding space do not matter."""
    return " ".join(name.split()).casefold()


def match_names(rows: pd.DataFrame, themes: Iterable[tuple[int, str]], names_column: str) -> pd.DataFrame:
    """Rows that carry theme names (``names_column``: a list per row) as one row per theme they name,
    with ``theme_id``; a name on no theme of the list is dropped."""
    by_name = {fold(name): theme_id for theme_id, name in themes}
    out = []
    for row in rows.to_dict("records"):
        names = row.pop(names_column)
        seen: set[int] = set()
        for name in names or []:
            theme_id = by_name.get(fold(name))
            if theme_id is not None and theme_id not in seen:
                seen.add(theme_id)
                out.append({**row, "theme_id": theme_id})
    columns = [c for c in rows.columns if c != names_column] + ["theme_id"]
    return pd.DataFrame(out, columns=columns)
