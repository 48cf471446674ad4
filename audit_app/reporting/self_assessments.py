"""A self-assessment round's report, as one partnership sees it: the rows (``sa_queries``) turned into figures
(``sa_aggregation``) and into :class:`~.tables.Table` s, so the page, the XLSX, the board's PDF and the API
carry the same figures.

Tables (their keys are stable, in the API and the spreadsheet):

- ``sa_heatmap``: per returned agency and standard, the self-rated and moderated counts by level;
- ``sa_below_good``: per standard and sector (and all sectors), the counts below good (Partly met / Not met);
- ``sa_change``: per agency and standard, criteria better / same / worse / new since the previous round
  (only for a round with a previous round);
- ``sa_not_counted``: returns declined, sent on another template or not yet returned, listed, never counted;
- ``sa_return_rates``: ``rounds.services.return_rates`` for the partnership looking.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..rounds.models import ReturnGroup, ReturnStatus, Round
from ..rounds.services import ReturnRate, return_rates
from . import sa_aggregation as agg
from . import sa_queries as q
from .tables import Column, LevelCount, Table, key_column, plain_records


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A counts frame's rows as plain dicts (pandas gives Python numbers), a missing share as None, never NaN."""
    return [
        {key: (None if isinstance(value, float) and value != value else value) for key, value in row.items()}
        for row in frame.to_dict("records")
    ]


SHEETS = {
    "sa_heatmap": "Heatmap",
    "sa_below_good": "Below good by sector",
    "sa_change": "Change since last round",
    "sa_not_counted": "Returns not counted",
    "sa_return_rates": "Return rates",
}
ALL_SECTORS_LABEL = "All sectors"
METHOD = (
    "Counted: the criteria (questions rated on a scale) of returns submitted or accepted. Not applicable and "
    "unanswered criteria are counted apart, never as a rating. The moderated rating is the moderator's where a "
    "criterion was moderated, otherwise the agency's own; the agency's own rating is always shown as well."
)


@dataclass
class Level:
    level_id: int
    label: str
    value: float | None
    is_na: bool
    is_good: bool


@dataclass
class SaReport:
    """Everything the report's outputs show, for one round seen from one partnership."""

    round: Round
    partnership_id: int
    levels: list[Level]
    #: (section key, title) of the standards with criteria, in questionnaire order
    standards: list[tuple[str, str]]
    #: (sector key, name) of the sectors with returns, by name
    sectors: list[tuple[str, str]]
    tables: dict[str, Table]
    rates: list[ReturnRate]
    overall_rate: ReturnRate
    #: whether any counted criterion was moderated to another level
    has_moderation: bool
    #: the page's heatmap: per sector (name), its agencies' rows, each with a cell per standard
    grid: list[tuple[str, list[dict[str, Any]]]] = field(default_factory=list)
    #: the page's counts below good: per standard (title), a row of the table per sector, all sectors last
    below_grid: list[tuple[str, list[dict[str, Any]]]] = field(default_factory=list)
    suppressed: bool = False

    @property
    def rated_levels(self) -> list[Level]:
        return [level for level in self.levels if not level.is_na]

    @property
    def below_good_levels(self) -> list[Level]:
        return [level for level in self.levels if not level.is_na and not level.is_good]

    @property
    def below_good_words(self) -> str:
        """The levels below good as people read them ("Partly met or Not met"), from the levels' flags."""
        labels = [level.label for level in self.below_good_levels]
        return " or ".join(labels) if labels else "Below good"

    @property
    def has_previous(self) -> bool:
        return self.round.previous_round_id is not None

    def suppress(self) -> SaReport:
        """The same report with counts from 1 to 4 withheld in every table and in the heatmap."""
        tables = {key: table.suppress() for key, table in self.tables.items()}
        copy = SaReport(**{**self.__dict__, "tables": tables, "suppressed": True})
        copy.grid = _grid(copy)
        copy.below_grid = _below_grid(copy)
        return copy


def _frame(rows: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=columns)


def build_report(round_: Round, partnership_id: int) -> SaReport:
    """The report of ``round_`` for ``partnership_id``: its agencies' returns only."""
    criteria_rows = q.criterion_rows(round_.questionnaire_version_id)
    level_rows = q.level_rows({row["scale_id"] for row in criteria_rows if row["scale_id"] is not None})
    return_rows = q.return_rows(round_.id, partnership_id)
    counted = [row for row in return_rows if ReturnStatus(row["status"]).group == ReturnGroup.RETURNED]
    wanted = {row["question_key"] for row in criteria_rows}
    wanted |= {row["condition_question_key"] for row in criteria_rows if row["condition_question_key"]}
    answer_rows = q.answer_rows([row["return_id"] for row in counted], wanted)
    cell_rows = q.criterion_cells(criteria_rows, counted, answer_rows)

    levels = _frame(level_rows, ["level_id", "scale_id", "position", "label", "value", "is_na", "is_good"])
    # one column per level, in the scale's order (several scales: each scale's levels in turn)
    level_ids = levels["level_id"].tolist()
    criteria = _frame(
        criteria_rows,
        ["question_id", "question_key", "question", "section_key", "section", "section_position", "position"],
    )
    returns = _frame(return_rows, ["return_id", "agency_id", "agency", "sector_key", "sector", "status"])
    cells = _frame(cell_rows, ["return_id", "question_id", "self_level_id", "moderated_level_id"])
    rated = agg.rated_cells(cells, returns, criteria, levels)

    standards = list(dict.fromkeys(zip(criteria["section_key"], criteria["section"], strict=True)))
    standard_keys = [key for key, _ in standards]
    agencies = agg.returned(returns)[["agency_id", "agency", "sector_key", "sector"]].drop_duplicates("agency_id")
    sectors = sorted(set(zip(returns["sector_key"], returns["sector"], strict=True)), key=lambda s: s[1])
    report_levels = [
        Level(int(r.level_id), r.label, None if pd.isna(r.value) else float(r.value), bool(r.is_na), bool(r.is_good))
        for r in levels.itertuples()
    ]
    rates, overall = return_rates(round_, partnership_id)

    heat = agg.heatmap(rated, agencies, standard_keys, level_ids)
    by_sector = agg.below_good_by_sector(rated, standard_keys, [key for key, _ in sectors], level_ids)
    titles = dict(standards)
    sector_names = {**dict(sectors), agg.ALL_SECTORS: ALL_SECTORS_LABEL}
    tables = {
        "sa_heatmap": _heatmap_table(heat, report_levels, titles),
        "sa_below_good": _below_good_table(by_sector, report_levels, titles, sector_names),
        "sa_not_counted": _not_counted_table(returns),
        "sa_return_rates": _rates_table(rates, overall),
    }
    if round_.previous_round_id is not None:
        previous = _frame(
            q.previous_ratings(round_.previous_round_id, partnership_id),
            ["agency_id", "question_key", "self_value", "self_na", "moderated_value", "moderated_na"],
        )
        compared = agg.compare_ratings(rated, previous)
        tables["sa_change"] = _change_table(agg.change_summary(compared, agencies, standard_keys), titles)
    report = SaReport(
        round=round_,
        partnership_id=partnership_id,
        levels=report_levels,
        standards=standards,
        sectors=sectors,
        tables=tables,
        rates=rates,
        overall_rate=overall,
        has_moderation=bool(rated["is_moderated"].any()) if not rated.empty else False,
    )
    report.grid = _grid(report)
    report.below_grid = _below_grid(report)
    return report


# -- tables --


def _level_counts(row: dict[str, Any], which: str, levels: list[Level]) -> list[LevelCount]:
    return [LevelCount(level.label, int(row[f"{which}_{level.level_id}"]), level.value) for level in levels]


def _heatmap_table(frame: pd.DataFrame, levels: list[Level], titles: dict[str, str]) -> Table:
    rated_levels = [level for level in levels if not level.is_na]
    rows = []
    for row in _records(frame):
        rows.append(
            {
                "agency": row["agency"],
                "agency_id": row["agency_id"],
                "sector": row["sector"],
                "sector_key": row["sector_key"],
                "standard": titles[row["section_key"]],
                "standard_key": row["section_key"],
                "criteria": row["criteria"],
                "self_levels": _level_counts(row, "self", rated_levels),
                "self_rated": row["self_rated"],
                "self_below_good": row["self_below_good"],
                "self_below_good_pct": row["self_below_good_pct"],
                "not_applicable": row["self_na"],
                "unanswered": row["self_unanswered"],
                "moderated_levels": _level_counts(row, "moderated", rated_levels),
                "moderated_rated": row["moderated_rated"],
                "moderated_below_good": row["moderated_below_good"],
                "moderated_below_good_pct": row["moderated_below_good_pct"],
                "moderated_changed": row["moderated_changed"],
            }
        )
    columns = [
        Column("agency", "Agency"),
        key_column("agency_id", "agency"),
        Column("sector", "Sector"),
        key_column("sector_key", "sector"),
        Column("standard", "Standard"),
        key_column("standard_key", "standard"),
        Column("criteria", "Criteria asked", "count"),
        Column("self_levels", "Self-rated, by level", "levels"),
        Column("self_rated", "Self-rated (not N/A)", "count"),
        Column("self_below_good", "Self-rated below good", "count"),
        Column("self_below_good_pct", "Self-rated below good", "pct", of=("self_below_good", "self_rated")),
        Column("not_applicable", "Not applicable", "count"),
        Column("unanswered", "Unanswered", "count"),
        Column("moderated_levels", "Moderated, by level", "levels"),
        Column("moderated_rated", "Moderated (not N/A)", "count"),
        Column("moderated_below_good", "Moderated below good", "count"),
        Column(
            "moderated_below_good_pct", "Moderated below good", "pct", of=("moderated_below_good", "moderated_rated")
        ),
        Column("moderated_changed", "Criteria moderated to another level", "count"),
    ]
    notes = [
        METHOD,
        "Below good: rated at a level that does not count as good ("
        + ", ".join(level.label for level in rated_levels if not level.is_good)
        + ").",
    ]
    return Table("sa_heatmap", "Heatmap: agencies by standard", columns, rows, notes)


def _below_good_table(
    frame: pd.DataFrame, levels: list[Level], titles: dict[str, str], sector_names: dict[str, str]
) -> Table:
    below = [level for level in levels if not level.is_na and not level.is_good]
    rows = []
    for row in _records(frame):
        rows.append(
            {
                "standard": titles[row["section_key"]],
                "standard_key": row["section_key"],
                "sector": sector_names[row["sector_key"]],
                "sector_key": row["sector_key"] or None,
                "agencies": row["agencies"],
                "self_rated": row["self_rated"],
                "self_levels": _level_counts(row, "self", below),
                "self_below_good": row["self_below_good"],
                "self_below_good_pct": row["self_below_good_pct"],
                "moderated_rated": row["moderated_rated"],
                "moderated_levels": _level_counts(row, "moderated", below),
                "moderated_below_good": row["moderated_below_good"],
                "moderated_below_good_pct": row["moderated_below_good_pct"],
            }
        )
    columns = [
        Column("standard", "Standard"),
        key_column("standard_key", "standard"),
        Column("sector", "Sector"),
        key_column("sector_key", "sector"),
        Column("agencies", "Agencies returned", "count"),
        Column("self_rated", "Criteria self-rated (not N/A)", "count"),
        Column("self_levels", "Self-rated below good, by level", "levels"),
        Column("self_below_good", "Self-rated below good", "count"),
        Column("self_below_good_pct", "Self-rated below good", "pct", of=("self_below_good", "self_rated")),
        Column("moderated_rated", "Criteria rated after moderation (not N/A)", "count"),
        Column("moderated_levels", "Moderated below good, by level", "levels"),
        Column("moderated_below_good", "Moderated below good", "count"),
        Column(
            "moderated_below_good_pct", "Moderated below good", "pct", of=("moderated_below_good", "moderated_rated")
        ),
    ]
    title = "Counts of " + " and ".join(level.label for level in below) + " by standard and sector"
    return Table("sa_below_good", title, columns, rows, [METHOD])


def _change_table(frame: pd.DataFrame, titles: dict[str, str]) -> Table:
    rows = [
        {
            "agency": row["agency"],
            "agency_id": row["agency_id"],
            "sector": row["sector"],
            "sector_key": row["sector_key"],
            "standard": titles[row["section_key"]],
            "standard_key": row["section_key"],
            **{change: row[change] for change in agg.CHANGE_LABELS},
        }
        for row in _records(frame)
    ]
    columns = [
        Column("agency", "Agency"),
        key_column("agency_id", "agency"),
        Column("sector", "Sector"),
        key_column("sector_key", "sector"),
        Column("standard", "Standard"),
        key_column("standard_key", "standard"),
        *(Column(change, label, "count") for change, label in agg.CHANGE_LABELS.items()),
    ]
    notes = [
        "Each criterion's rating after moderation is compared with the same agency's rating after moderation in "
        "the previous round, on the question with the same key; better and worse follow the levels' order.",
    ]
    return Table("sa_change", "Change since the last round", columns, rows, notes)


NOT_COUNTED_STATUSES = {
    ReturnGroup.DECLINED: "Listed apart, not counted as a rating",
    ReturnGroup.OUTSTANDING: "Not returned yet",
}


def _not_counted_table(returns: pd.DataFrame) -> Table:
    rows = []
    for row in plain_records(returns):
        status = ReturnStatus(row["status"])
        if status.group == ReturnGroup.RETURNED:
            continue
        rows.append(
            {
                "agency": row["agency"],
                "agency_id": row["agency_id"],
                "sector": row["sector"],
                "sector_key": row["sector_key"],
                "status": status.label,
                "status_key": status.value,
            }
        )
    columns = [
        Column("agency", "Agency"),
        key_column("agency_id", "agency"),
        Column("sector", "Sector"),
        key_column("sector_key", "sector"),
        Column("status", "Status"),
        key_column("status_key", "status"),
    ]
    notes = ["Declined returns, returns sent on another template and returns not yet made are not in the figures."]
    return Table("sa_not_counted", "Returns not counted in the figures", columns, rows, notes)


def _rates_table(rates: list[ReturnRate], overall: ReturnRate) -> Table:
    rows = [
        {
            "sector": rate.sector or ALL_SECTORS_LABEL,
            "asked": rate.asked,
            "returned": rate.returned,
            "declined": rate.declined,
            "alternative": rate.alternative,
            "outstanding": rate.outstanding,
            "late": rate.late,
            "rate": 100 * rate.returned / rate.asked if rate.asked else None,
            "asked_less_declined": rate.asked_less_declined,
            "rate_less_declined": 100 * rate.returned / rate.asked_less_declined if rate.asked_less_declined else None,
        }
        for rate in [*rates, overall]
    ]
    columns = [
        Column("sector", "Sector"),
        Column("asked", "Asked", "count"),
        Column("returned", "Returned", "count"),
        Column("declined", "Declined", "count"),
        Column("alternative", "Another template", "count"),
        Column("outstanding", "Not yet returned", "count"),
        Column("late", "Late", "count"),
        Column("rate", "Rate", "pct", of=("returned", "asked"), empty="none asked"),
        Column("asked_less_declined", "Asked, less declined or another template", "count"),
        Column(
            "rate_less_declined",
            "Rate without declined or another template",
            "pct",
            of=("returned", "asked_less_declined"),
            empty="none asked",
        ),
    ]
    return Table("sa_return_rates", "Return rates", columns, rows, [])


# -- the page's heatmap --


def _grid(report: SaReport) -> list[tuple[str, list[dict[str, Any]]]]:
    """The heatmap table's rows pivoted for the page: per sector, per agency, a cell per standard."""
    table = report.tables["sa_heatmap"]
    by_agency: dict[int, dict[str, Any]] = {}
    for row in table.rows:
        agency = by_agency.setdefault(
            row["agency_id"],
            {"agency": row["agency"], "agency_id": row["agency_id"], "sector": row["sector"], "cells": {}},
        )
        hidden = set(row.get("suppressed", ()))
        agency["cells"][row["standard_key"]] = {
            **row,
            "self_band": "none" if "self_below_good_pct" in hidden else agg.band(row["self_below_good_pct"]),
            "moderated_band": "none"
            if "moderated_below_good_pct" in hidden
            else agg.band(row["moderated_below_good_pct"]),
            "hidden": hidden,
        }
    grouped: dict[str, list[dict[str, Any]]] = {}
    for agency in by_agency.values():
        grouped.setdefault(agency["sector"], []).append(agency)
    return sorted(grouped.items())


def _below_grid(report: SaReport) -> list[tuple[str, list[dict[str, Any]]]]:
    """The counts-below-good table's rows by standard, for the page's table of standards by sector."""
    by_standard: dict[str, list[dict[str, Any]]] = {}
    for row in report.tables["sa_below_good"].rows:
        by_standard.setdefault(row["standard"], []).append({**row, "hidden": set(row.get("suppressed", ()))})
    return list(by_standard.items())


# -- files --


def report_about(report: SaReport) -> list[tuple[str, Any]]:
    round_ = report.round
    about: list[tuple[str, Any]] = [
        ("Round", round_.title),
        ("Questionnaire", f"{round_.version.questionnaire.title}, version {round_.version.number}"),
        ("Status", round_.status.label),
        ("Counted", "Criteria of returns submitted or accepted; not applicable and unanswered apart"),
    ]
    if round_.previous_round is not None:
        about.append(("Previous round", round_.previous_round.title))
    if report.suppressed:
        about.append(("Small counts", "Counts from 1 to 4 are shown as \u201cfewer than 5\u201d"))
    return about


def report_xlsx(report: SaReport) -> bytes:
    """Every table of the report as a sheet, after an "About" sheet (the same figures as the page)."""
    from .exports import tables_xlsx

    tables = []
    for key, table in report.tables.items():
        tables.append(Table(table.key, SHEETS[key], table.columns, table.rows, table.notes, table.suppressed))
    return tables_xlsx(tables, report_about(report))


def report_json(report: SaReport) -> dict[str, Any]:
    """The report for the API: the tables, the levels and standards with their stable keys."""
    round_ = report.round
    return {
        "round": {
            "id": round_.id,
            "title": round_.title,
            "status": round_.status.value,
            "status_label": round_.status.label,
            "previous_round_id": round_.previous_round_id,
        },
        "partnership_id": report.partnership_id,
        "suppressed": report.suppressed,
        "levels": [
            {
                "level_id": level.level_id,
                "label": level.label,
                "value": None
                if level.value is None
                else (int(level.value) if level.value.is_integer() else level.value),
                "is_not_applicable": level.is_na,
                "counts_as_good": level.is_good,
            }
            for level in report.levels
        ],
        "standards": [{"key": key, "title": title} for key, title in report.standards],
        "has_moderation": report.has_moderation,
        "tables": {key: table.to_json() for key, table in report.tables.items()},
    }


def report_fingerprint(report: SaReport) -> str:
    """A hash of every figure the board's PDF shows (the report as the partnership sees it now)."""
    data = json.dumps([report_json(report), [name for name, _ in report.grid]], default=str, sort_keys=True)
    return hashlib.sha256(data.encode()).hexdigest()
