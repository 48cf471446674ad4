"""Findings pages: a round's figures, strengths and areas for development, re-audit comparison,
theme trends and the agency by theme table, each downloadable as CSV or XLSX; the answers
export and the PDF round report."""

from __future__ import annotations

import os
import tempfile
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Response, abort, render_template, request, send_file, url_for
from flask_login import login_required

from ..core.permissions import current_principal
from ..extensions import db
from ..questionnaires.models import Theme
from ..rounds.models import Round, RoundStatus
from . import charts, exports, params
from . import findings as f
from .params import filter_rows
from .permissions import (
    can_view_findings,
    findings_rounds_query,
    findings_scope,
    get_findings_round_or_404,
    get_theme_or_404,
    sees_everything,
)
from .queries import Filters
from .tables import SUPPRESS_BELOW, SUPPRESSED, Column, is_hidden, levels_text, share_places

bp = Blueprint("reporting", __name__)

DOWNLOADS = ("csv", "xlsx")


def _require(allowed: bool) -> None:
    if not allowed:
        abort(403)


@bp.app_template_filter("small")
def small_count(value: Any, suppressed: bool) -> Any:
    """A count in running text, shown as "fewer than 5" when small counts are suppressed."""
    return SUPPRESSED if suppressed and isinstance(value, int) and 0 < value < SUPPRESS_BELOW else value


@bp.app_template_filter("finding")
def finding_cell(row: dict[str, Any], column: Column) -> str:
    """A table cell as people read it: shares as "45%" (rounded half up), missing as "\u2013", a share of
    nothing in words, a withheld count as "fewer than 5" and a share built on one as "not shown"."""
    value = row.get(column.key)
    if column.kind == "levels":
        return levels_text(value)
    if is_hidden(row, column):
        return "not shown" if column.kind == "pct" else SUPPRESSED
    if column.kind == "pct":
        if value is None or value != value:
            return column.empty if column.of and not row.get(column.of[1]) else "\u2013"
        return f"{share_places(row, column, 0)}%"
    if value is None or value == "" or value != value:
        return "\u2013"
    return str(value)


def _download(findings: f.Findings, about: list[tuple[str, Any]], stem: str) -> Response | None:
    """Answer ``?download=csv&table=<key>`` or ``?download=xlsx`` (every table of the page, or one)."""
    fmt = request.args.get("download", "")
    if not fmt:
        return None
    if fmt not in DOWNLOADS:
        abort(400, "Download: choose csv or xlsx")
    key = request.args.get("table", "")
    if key and key not in findings.tables:
        abort(404)
    if fmt == "csv":
        if not key:
            abort(400, "Table: say which table to download as CSV")
        data = findings.tables[key].to_csv().encode("utf-8-sig")
        mimetype, name = "text/csv", f"{stem}-{key}.csv"
    else:
        tables = [findings.tables[key]] if key else list(findings.tables.values())
        data = exports.tables_xlsx(tables, about)
        mimetype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        name = f"{stem}-{key or 'tables'}.xlsx"
    return Response(data, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _about(round_: Round, filters: Filters, scope: frozenset[int] | None, suppressed: bool) -> list[tuple[str, Any]]:
    about: list[tuple[str, Any]] = [
        ("Round", round_.title),
        ("Questionnaire", f"{round_.version.questionnaire.title}, version {round_.version.number}"),
        ("Status", round_.status.label),
        ("Agencies", "All agencies" if scope is None else "Your agency's returns only"),
        ("Counted", "Answers in returns that were submitted or accepted; not applicable answers apart"),
    ]
    about += filter_rows(filters)
    if suppressed:
        about.append(("Small counts", "Counts from 1 to 4 are shown as \u201cfewer than 5\u201d"))
    return about


def _stem(text: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in text.lower()).strip("-")[:60] or "findings"


def _round_page(template: str, build: Any, chart: Any = None, **context: Any) -> Any:
    """Load the round in scope, read filters, build the tables, answer a download or render."""
    p = current_principal()
    _require(can_view_findings(p))
    round_ = get_findings_round_or_404(p, context.pop("round_id"))
    scope = findings_scope(p)
    filters, choices, errors = params.filters(round_, scope)
    suppressed = params.suppress()
    found = build(round_, scope, filters)
    if suppressed:
        found = found.suppressed()
    about = _about(round_, filters, scope, suppressed)
    if errors and request.args.get("download"):
        abort(400, " ".join(errors.values()))
    download = _download(found, about, _stem(round_.title))
    if download is not None:
        return download
    return render_template(
        template,
        round=round_,
        findings=found,
        charts=chart(found, suppressed) if chart else {},
        filters=filters,
        choices=choices,
        errors=errors,
        suppressed=suppressed,
        sees_everything=sees_everything(p),
        query=request.args.to_dict(),
        **context,
    ), (400 if errors else 200)


def _grade_chart(found: f.Findings, suppressed: bool) -> dict[str, Any]:
    if suppressed:
        return {}
    scale = found.extra["scale"]
    rates = [
        (name, rate, f"{returned} of {expected}" if expected else "none asked for")
        for name, rate, returned, expected in found.charts["return_rates"]
    ]
    return {
        "grades": charts.stacked_bars(
            "grades-chart", "Grades given by agencies, by section", found.charts["grades"], scale.colours
        ),
        "rates": charts.bars("rates-chart", "Return rate by agency", rates),
    }


@bp.get("/rounds/<int:round_id>/findings")
@login_required
def round_findings(round_id: int):
    """A round's return rates and grade distributions, with filters and downloads."""
    return _round_page("reporting/round_findings.html", _main_tables, _grade_chart, round_id=round_id, page="summary")


def _main_tables(round_: Round, scope: Any, filters: Filters) -> f.Findings:
    return f.round_findings(round_, scope, filters, parts=frozenset({f.SUMMARY}))


def _agency_tables(round_: Round, scope: Any, filters: Filters) -> f.Findings:
    found = f.round_findings(round_, scope, filters, parts=frozenset({f.AGENCIES}))
    order = ("grades_by_agency", "panel_agreement", "panel_vs_agency")
    found.tables = {key: found.tables[key] for key in order}
    return found


@bp.get("/rounds/<int:round_id>/findings/agencies")
@login_required
def round_findings_agencies(round_id: int):
    """Each agency's grades, and its grades beside the multi-agency panel's."""
    return _round_page("reporting/round_agencies.html", _agency_tables, round_id=round_id, page="agencies")


@bp.get("/rounds/<int:round_id>/findings/texts")
@login_required
def round_findings_texts(round_id: int):
    """Every strength, area for development and recommendation, collated by section."""
    return _round_page("reporting/round_texts.html", f.round_texts, round_id=round_id, page="texts")


def _reaudit_chart(found: f.Findings, suppressed: bool) -> dict[str, Any]:
    if suppressed or not found.extra["carried"]:
        return {}
    colours = {"Improved": "#00703c", "Same": "#505a5f", "Worse": "#d4351c"}
    return {
        "reaudit": charts.stacked_bars(
            "reaudit-chart",
            "Carried cases: change in the panel's grade",
            found.charts["reaudit"],
            colours,
            as_share=False,
        )
    }


@bp.get("/rounds/<int:round_id>/findings/re-audit")
@login_required
def round_findings_reaudit(round_id: int):
    """For a re-audit: each carried case's grades then and now, and the new cases apart."""
    _require(sees_everything(current_principal()))
    return _round_page(
        "reporting/round_reaudit.html", lambda r, s, fl: f.reaudit(r), _reaudit_chart, round_id=round_id, page="reaudit"
    )


def _send_answers(stem: str, **kwargs: Any) -> Any:
    handle, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(handle)
    try:
        exports.answers_xlsx(path, **kwargs)
        response = send_file(
            path,
            mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            as_attachment=True,
            download_name=f"{stem}-answers.xlsx",
        )
    finally:
        # the open file stays readable for the response after its name is gone
        os.unlink(path)
    return response


@bp.get("/rounds/<int:round_id>/answers.xlsx")
@login_required
def round_answers(round_id: int):
    """Every returned answer in the round, one row per answer (the agency's own, for an agency)."""
    p = current_principal()
    _require(can_view_findings(p))
    round_ = get_findings_round_or_404(p, round_id)
    return _send_answers(
        _stem(round_.title), partnership_id=round_.partnership_id, round_id=round_.id, agency_ids=findings_scope(p)
    )


@bp.get("/rounds/<int:round_id>/report.pdf")
@login_required
def round_report(round_id: int):
    """The round report as a PDF: cover, method, return rates, grades, texts, panel judgements."""
    from .report import round_report_pdf

    p = current_principal()
    _require(can_view_findings(p) and sees_everything(p))
    round_ = get_findings_round_or_404(p, round_id)
    pdf = round_report_pdf(round_, suppressed=params.suppress())
    name = f"{_stem(round_.title)}-report.pdf"
    return Response(pdf, mimetype="application/pdf", headers={"Content-Disposition": f'attachment; filename="{name}"'})


# -- across rounds --


@bp.get("/findings")
@login_required
def index():
    """Findings across rounds: every round's findings, each theme's trend, and agencies by theme."""
    p = current_principal()
    _require(can_view_findings(p))
    scope = findings_scope(p)
    years, raw_years, errors = params.years()
    suppressed = params.suppress()
    found = f.agency_theme([p.partnership_id], scope, years)
    if suppressed:
        found = found.suppressed()
    if errors and request.args.get("download"):
        abort(400, " ".join(errors.values()))
    about = [("Figures", "Overall grades agencies gave in returned returns, by agency and theme")]
    if years:
        about.append(("Years", f"{years[0]} to {years[1]}"))
    download = _download(found, about, "agency-by-theme")
    if download is not None:
        return download
    rounds = db.session.scalars(findings_rounds_query(p)).all()
    visible = findings_rounds_query(p).with_only_columns(Round.theme_id).where(Round.theme_id.is_not(None))
    themes = db.session.scalars(
        sa.select(Theme)
        .where(Theme.partnership_id == p.partnership_id, Theme.id.in_(visible.order_by(None)))
        .order_by(Theme.name)
    ).all()
    return render_template(
        "reporting/index.html",
        rounds=rounds,
        themes=themes,
        findings=found,
        years=raw_years,
        errors=errors,
        suppressed=suppressed,
        sees_everything=sees_everything(p),
        query=request.args.to_dict(),
        RoundStatus=RoundStatus,
    ), (400 if errors else 200)


def _trend_chart(found: f.Findings, scope: frozenset[int] | None) -> Any:
    table = found.tables["trend"]
    points = [
        (row["round"], row["good_or_better_pct"], f"{row['good_or_better']} of {row['graded']}") for row in table.rows
    ]
    whose = "all agencies" if scope is None else "your agency"
    return charts.columns("trend-chart", f"Overall grades good or better, by round ({whose})", points)


@bp.get("/themes/<int:theme_id>/trend")
@login_required
def theme_trend(theme_id: int):
    """A theme's overall grades and share good or better, round by round over the years."""
    p = current_principal()
    _require(can_view_findings(p))
    theme = get_theme_or_404(p, theme_id)
    scope = findings_scope(p)
    suppressed = params.suppress()
    found = f.theme_trend(p.partnership_id, theme.id, scope)
    chart = None if suppressed else _trend_chart(found, scope)
    if suppressed:
        found = found.suppressed()
    about = [
        ("Theme", theme.name),
        ("Figures", "Overall grades agencies gave in returned returns, by round"),
        ("Agencies", "All agencies" if scope is None else "Your agency's returns only"),
    ]
    download = _download(found, about, _stem(theme.name) + "-trend")
    if download is not None:
        return download
    return render_template(
        "reporting/theme_trend.html",
        theme=theme,
        findings=found,
        chart=chart,
        suppressed=suppressed,
        sees_everything=sees_everything(p),
        query=request.args.to_dict(),
    )


@bp.get("/themes/<int:theme_id>/answers.xlsx")
@login_required
def theme_answers(theme_id: int):
    """Every returned answer in every round of a theme, one row per answer."""
    p = current_principal()
    _require(can_view_findings(p))
    theme = get_theme_or_404(p, theme_id)
    return _send_answers(
        _stem(theme.name), partnership_id=p.partnership_id, theme_id=theme.id, agency_ids=findings_scope(p)
    )


@bp.app_template_global()
def findings_url(endpoint: str, query: dict[str, str], **changes: Any) -> str:
    """The URL of ``endpoint`` keeping the page's filters, with ``changes`` (None removes a parameter)."""
    args = {k: v for k, v in query.items() if k not in ("download", "table")}
    for key, value in changes.items():
        if value is None:
            args.pop(key, None)
        else:
            args[key] = value
    return url_for(endpoint, **args)
