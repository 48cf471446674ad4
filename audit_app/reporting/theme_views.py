"""Learning themes across every source: per theme and year, how often it appears in review learning points,
case-audit findings and returns, self-assessment findings and recommendations, with links to every item.

For the partnership-wide roles (admins, the QA group, scrutineers): they see every review, return, finding,
challenge event and recommendation of the partnership, so the counts and the lists hold everything. Agency
staff are refused (403): a count over items they may not open would tell them about unpublished reviews and
other agencies' returns.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

import pandas as pd
import sqlalchemy as sa
from flask import Blueprint, abort, render_template, request, send_file, url_for
from flask_login import login_required

from ..core import clock
from ..core.permissions import Principal, allowed_or_403, current_principal
from ..extensions import db
from ..questionnaires.models import LearningTheme
from ..rounds.permissions import can_view_rounds
from . import charts
from . import theme_aggregation as agg
from . import theme_queries as tq
from .exports import XLSX_MIMETYPE
from .xlsx import XlsxWriter

bp = Blueprint("themes", __name__)

FIRST_YEAR, LAST_YEAR = 2000, 2100
#: the widest year range a page or file shows
MAX_YEARS = 30
#: a colour per source, in the order of ``agg.SOURCES`` (stacked segments also differ by pattern)
SOURCE_COLOURS = {
    agg.ThemeSource.LEARNING_POINT.label: "#1d70b8",
    agg.ThemeSource.CASE_FINDING.label: "#f47738",
    agg.ThemeSource.CASE_RETURN.label: "#00703c",
    agg.ThemeSource.CHALLENGE_EVENT.label: "#4c2c92",
    agg.ThemeSource.RECOMMENDATION.label: "#d4351c",
}


def can_view_themes_across_sources(p: Principal) -> bool:
    """Admins, the QA group and scrutineers: those who see every source of the partnership."""
    return can_view_rounds(p)


# -- the year range (pages and API) --


def parse_years(raw: dict[str, str]) -> tuple[int | None, int | None, dict[str, str]]:
    """``from_year`` and ``to_year`` as given (blank: not given): ``(first, last, errors)``, every bad one
    named."""
    errors: dict[str, str] = {}
    values: dict[str, int | None] = {}
    for name, label in (("from_year", "From year"), ("to_year", "To year")):
        text = (raw.get(name) or "").strip()
        values[name] = None
        if not text:
            continue
        if not text.isdigit() or not FIRST_YEAR <= int(text) <= LAST_YEAR:
            errors[name] = f"{label}: enter a year from {FIRST_YEAR} to {LAST_YEAR}, such as 2025"
        else:
            values[name] = int(text)
    first, last = values["from_year"], values["to_year"]
    if not errors and first is not None and last is not None:
        if first > last:
            errors["to_year"] = "To year: must be the same as or after the from year"
        elif last - first + 1 > MAX_YEARS:
            errors["to_year"] = f"To year: show {MAX_YEARS} years or fewer at once"
    return first, last, errors


# -- the figures (pages, files and API) --


@dataclass
class AcrossSources:
    themes: pd.DataFrame
    years: list[int]
    items: pd.DataFrame
    table: pd.DataFrame
    totals: pd.DataFrame

    def theme_name(self, theme_id: int) -> str:
        row = self.themes[self.themes["theme_id"] == theme_id].iloc[0]
        return row["name"] + (" (retired)" if row["is_retired"] else "")

    def count_rows(self) -> list[dict[str, Any]]:
        """One row per theme, year and source (0 where none): the API's and the download's rows."""
        names = dict(zip(self.themes["theme_id"], self.themes["name"], strict=True))
        return [
            {
                "learning_theme_id": int(theme_id),
                "learning_theme_name": names[theme_id],
                "year": int(year),
                "source": source,
                "source_label": agg.ThemeSource(source).label,
                "count": int(row["count"]),
            }
            for (theme_id, year, source), row in self.table.iterrows()
        ]


def across_sources(
    partnership_id: int, first: int | None, last: int | None, theme_id: int | None = None
) -> AcrossSources:
    """Every tagged item of the partnership in the years (both ends optional) and the counts."""
    themes = tq.themes(partnership_id)
    items = agg.dated(tq.tagged_items(partnership_id, themes, theme_id))
    years = agg.year_range(items, first, last)
    if len(years) > MAX_YEARS:  # an open end reaching far: the latest years
        years = years[-MAX_YEARS:]
    items = agg.in_years(items, years)
    theme_ids = [int(t) for t in themes["theme_id"]] if theme_id is None else [theme_id]
    table = agg.counts(items, theme_ids, years)
    return AcrossSources(themes, years, items, table, agg.totals(table, theme_ids))


def item_path(row: Any) -> str:
    """The page of a tagged item."""
    source = agg.ThemeSource(row["source"])
    if source == agg.ThemeSource.LEARNING_POINT:
        return url_for("reviews.review_detail", review_id=int(row["parent_id"]))
    if source == agg.ThemeSource.CASE_RETURN:
        return url_for("rounds.return_detail", return_id=int(row["item_id"]))
    if source == agg.ThemeSource.CASE_FINDING:
        return url_for(
            "case_audits.case_discussion", round_id=int(row["parent_id"]), round_case_id=int(row["round_case_id"])
        )
    if source == agg.ThemeSource.CHALLENGE_EVENT:
        return url_for("challenges.challenge_detail", challenge_id=int(row["item_id"]))
    return url_for("actions.recommendation_detail", recommendation_id=int(row["item_id"]))


def item_rows(found: AcrossSources) -> list[dict[str, Any]]:
    """The tagged items in source order, then by year and label."""
    order = {s.value: n for n, s in enumerate(agg.SOURCES)}
    rows = found.items.to_dict("records")
    rows.sort(key=lambda r: (order[r["source"]], r["year"] if not pd.isna(r["year"]) else 0, r["label"]))
    return [
        {
            "source": r["source"],
            "source_label": agg.ThemeSource(r["source"]).label,
            "item_id": int(r["item_id"]),
            "year": None if pd.isna(r["year"]) else int(r["year"]),
            "label": r["label"],
            "detail": r["detail"] or "",
            "link_path": item_path(r),
        }
        for r in rows
    ]


def get_learning_theme_or_404(p: Principal, learning_theme_id: int) -> LearningTheme:
    theme = db.session.scalar(
        sa.select(LearningTheme).where(
            LearningTheme.id == learning_theme_id, LearningTheme.partnership_id == p.partnership_id
        )
    )
    if theme is None:
        abort(404)
    return theme


def counts_xlsx(found: AcrossSources) -> bytes:
    """The counts as a workbook: what they are, by theme and year, and each theme's totals."""
    out = io.BytesIO()
    writer = XlsxWriter(out)
    span = f"{found.years[0]} to {found.years[-1]}" if found.years else "No tagged items yet"
    writer.add_sheet(
        "About",
        ["Item", "Detail"],
        [
            ("Figures", "Items tagged with each learning theme, per year, in each source"),
            ("Years", span),
            ("Counting", "An item counts once per theme it is tagged with; items without a date are not counted"),
            ("Downloaded", clock.local_now().strftime("%d %B %Y %H:%M")),
        ],
        widths=[24, 100],
    )
    labels = [s.label for s in agg.SOURCES]
    keys = [s.value for s in agg.SOURCES]
    wide = found.table["count"].unstack("source").reindex(columns=keys, fill_value=0)
    writer.add_sheet(
        "By theme and year",
        ["Learning theme", "Year", *labels, "Total"],
        [
            (found.theme_name(theme_id), int(year), *(int(row[k]) for k in keys), int(row[keys].sum()))
            for (theme_id, year), row in wide.iterrows()
        ],
    )
    writer.add_sheet(
        "Totals",
        ["Learning theme", *labels, "Total"],
        [
            (found.theme_name(theme_id), *(int(row[k]) for k in keys), int(row["total"]))
            for theme_id, row in found.totals.iterrows()
        ],
    )
    writer.close()
    return out.getvalue()


# -- pages --


def _raw_years() -> dict[str, str]:
    return {name: request.args.get(name, "").strip()[:12] for name in ("from_year", "to_year")}


@bp.get("/learning-themes/across-sources")
@login_required
def across_sources_page():
    """Per theme and year, how often each learning theme appears in each source: a chart, the table, a file."""
    p = current_principal()
    allowed_or_403(can_view_themes_across_sources(p))
    raw = _raw_years()
    first, last, errors = parse_years(raw)
    if errors and request.args.get("download"):
        abort(400, " ".join(errors.values()))
    found = across_sources(p.partnership_id, None if errors else first, None if errors else last)
    if request.args.get("download") == "xlsx":
        stem = "learning-themes-across-sources"
        if found.years:
            stem += f"-{found.years[0]}-{found.years[-1]}"
        return send_file(
            io.BytesIO(counts_xlsx(found)), mimetype=XLSX_MIMETYPE, as_attachment=True, download_name=f"{stem}.xlsx"
        )
    if request.args.get("download"):
        abort(400, "Download as xlsx")
    sources = agg.SOURCES
    bars = [
        (found.theme_name(theme_id), [(s.label, int(row[s.value])) for s in sources])
        for theme_id, row in found.totals.iterrows()
    ]
    chart = (
        charts.stacked_bars(
            "themes-across-sources",
            "Items tagged with each learning theme, by source",
            bars,
            SOURCE_COLOURS,
            as_share=False,
        )
        if bars and int(found.totals["total"].sum())
        else None
    )
    wide = found.table["count"].unstack("source").reindex(columns=[s.value for s in sources], fill_value=0)
    by_year = [
        {
            "theme_id": int(theme_id),
            "theme": found.theme_name(theme_id),
            "year": int(year),
            "counts": [int(row[s.value]) for s in sources],
            "total": int(row.sum()),
        }
        for (theme_id, year), row in wide.iterrows()
    ]
    totals = [
        {
            "theme_id": int(theme_id),
            "theme": found.theme_name(theme_id),
            "counts": [int(row[s.value]) for s in sources],
            "total": int(row["total"]),
        }
        for theme_id, row in found.totals.iterrows()
    ]
    query = {k: v for k, v in raw.items() if v and not errors}
    return render_template(
        "reporting/themes_across_sources.html",
        sources=sources,
        chart=chart,
        by_year=by_year,
        totals=totals,
        years=found.years,
        raw=raw,
        errors=errors,
        query=query,
    ), (400 if errors else 200)


@bp.get("/learning-themes/<int:learning_theme_id>/items")
@login_required
def theme_items(learning_theme_id: int):
    """Every item tagged with a learning theme, from every source, each linked to its page."""
    p = current_principal()
    allowed_or_403(can_view_themes_across_sources(p))
    theme = get_learning_theme_or_404(p, learning_theme_id)
    raw = _raw_years()
    first, last, errors = parse_years(raw)
    found = across_sources(p.partnership_id, None if errors else first, None if errors else last, theme.id)
    rows = item_rows(found)
    grouped = [(s, [r for r in rows if r["source"] == s.value]) for s in agg.SOURCES]
    query = {k: v for k, v in raw.items() if v and not errors}
    return render_template(
        "reporting/theme_items.html",
        theme=theme,
        grouped=grouped,
        total=len(rows),
        years=found.years,
        raw=raw,
        errors=errors,
        query=query,
    ), (400 if errors else 200)
