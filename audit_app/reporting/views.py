"""Findings pages: a round's figures, strengths and areas for development, re-audit comparison,
theme trends and the agency by theme table, each downloadable as CSV or XLSX; the answers
export and the PDF round report."""

from __future__ import annotations

import os
import tempfile
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Response, abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user, login_required
from sqlalchemy.orm import selectinload

from ..actions.models import Action, ActionStatus, Recommendation
from ..actions.permissions import recommendations_query
from ..case_audits.retention import purge_of
from ..core import clock, storage
from ..core.access_log import AccessVia
from ..core.forms import ConfirmForm
from ..core.permissions import allowed_or_403, current_principal
from ..extensions import db
from ..questionnaires.models import QuestionnaireKind, Theme
from ..rounds.models import Return, ReturnGroup, Round, RoundStatus
from ..rounds.permissions import can_manage_round
from . import charts, exports, params, report_files
from . import findings as f
from .models import ReportFile, ReportKind
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
from .tables import SUPPRESS_BELOW, SUPPRESSED, Column, is_hidden, is_missing, levels_text, present, share_places

bp = Blueprint("reporting", __name__)

DOWNLOADS = ("csv", "xlsx")


@bp.app_template_filter("small")
def small_count(value: Any, suppressed: bool) -> Any:
    """A count in running text, shown as "fewer than 5" when small counts are suppressed."""
    return SUPPRESSED if suppressed and isinstance(value, int) and 0 < value < SUPPRESS_BELOW else value


@bp.app_template_filter("present")
def present_value(value: Any, empty: str = "\u2013") -> str:
    """Any report or export value as people read it: ``empty`` when missing (never "None" or "nan")."""
    return present(value, empty)


@bp.app_template_filter("app_datetime")
def local_datetime(value: Any) -> str:
    """A stored (UTC) time as people in England read it: "3 March 2027 at 14:05"."""
    return value.astimezone(clock.LONDON).strftime("%-d %B %Y at %H:%M")


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
        if is_missing(value):
            return column.empty if column.of and not row.get(column.of[1]) else "\u2013"
        return f"{share_places(row, column, 0)}%"
    return present(value)


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


def _round_page(template: str, build: Any, chart: Any = None, quotes: bool = False, **context: Any) -> Any:
    """Load the round in scope, read filters, build the tables, answer a download or render. A page that
    ``quotes`` returns (the collated texts) records each of them in the access log."""
    p = current_principal()
    allowed_or_403(can_view_findings(p))
    round_ = get_findings_round_or_404(p, context.pop("round_id"))
    scope = findings_scope(p)
    if quotes:
        via = AccessVia.EXPORT if request.args.get("download") else AccessVia.PAGE
        exports.record_answers_export(round_.partnership_id, round_id=round_.id, agency_ids=scope, via=via)
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
        purged=purge_of(round_.id),
        previous_purged=purge_of(round_.previous_round_id) if round_.previous_round_id else None,
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
    drawn = {
        "grades": charts.stacked_bars(
            "grades-chart", "Grades given by agencies, by section", found.charts["grades"], scale.colours
        ),
        "rates": charts.bars("rates-chart", "Return rate by agency", rates),
    }
    if found.charts.get("learning_themes"):
        drawn["learning_themes"] = charts.bars(
            "learning-themes-chart", "Share of returns ticking each learning theme", found.charts["learning_themes"]
        )
    return drawn


@bp.get("/rounds/<int:round_id>/findings")
@login_required
def round_findings(round_id: int):
    """A round's return rates and grade distributions, with filters and downloads."""
    return _round_page(
        "reporting/round_findings.html",
        _main_tables,
        _grade_chart,
        round_id=round_id,
        page="summary",
        tested=tested_recommendations(round_id),
    )


def tested_recommendations(round_id: int) -> list[dict[str, Any]]:
    """The loop back: the recommendations this round (a re-audit) tests, that the viewer may see, each with its
    actions' statuses and whether its impact has been evidenced."""
    recs = db.session.scalars(
        recommendations_query(current_principal())
        .where(Recommendation.tested_by_round_id == round_id)
        .options(
            selectinload(Recommendation.round),
            selectinload(Recommendation.actions).selectinload(Action.evidence),
        )
        .order_by(Recommendation.source_key, Recommendation.number)
    ).all()
    today = clock.today()
    rows = []
    for rec in recs:
        counts = [
            (status.label, sum(1 for a in rec.actions if a.status == status))
            for status in ActionStatus
            if any(a.status == status for a in rec.actions)
        ]
        rows.append(
            {
                "id": rec.id,
                "number": rec.number,
                "text": rec.text,
                "source": rec.source_label,
                "actions": len(rec.actions),
                "statuses": counts,
                "overdue": sum(1 for a in rec.actions if a.is_overdue(today)),
                "impact_evidenced": rec.impact_evidenced,
            }
        )
    return rows


def _main_tables(round_: Round, scope: Any, filters: Filters) -> f.Findings:
    return f.round_findings(round_, scope, filters, parts=frozenset({f.SUMMARY}))


#: agreement with the panel: the same grade, the agency's higher, the agency's lower
AGREEMENT_COLOURS = {f.VERDICTS["same"]: "#00703c", f.VERDICTS["higher"]: "#1d70b8", f.VERDICTS["lower"]: "#912b88"}


def _agency_chart(found: f.Findings, suppressed: bool) -> dict[str, Any]:
    compared = [row for row in found.charts.get("panel_agreement", []) if sum(n for _, n in row[1])]
    if suppressed or not compared:
        return {}
    return {
        "agreement": charts.stacked_bars(
            "agreement-chart", "How often each agency's grade matched the panel's", compared, AGREEMENT_COLOURS
        )
    }


def _agency_tables(round_: Round, scope: Any, filters: Filters) -> f.Findings:
    found = f.round_findings(round_, scope, filters, parts=frozenset({f.AGENCIES}))
    order = ("grades_by_agency", "panel_agreement", "panel_vs_agency")
    found.tables = {key: found.tables[key] for key in order}
    return found


@bp.get("/rounds/<int:round_id>/findings/agencies")
@login_required
def round_findings_agencies(round_id: int):
    """Each agency's grades, and its grades beside the multi-agency panel's."""
    return _round_page(
        "reporting/round_agencies.html", _agency_tables, _agency_chart, round_id=round_id, page="agencies"
    )


@bp.get("/rounds/<int:round_id>/findings/texts")
@login_required
def round_findings_texts(round_id: int):
    """Every strength, area for development and recommendation, collated by section."""
    return _round_page("reporting/round_texts.html", f.round_texts, quotes=True, round_id=round_id, page="texts")


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
    allowed_or_403(sees_everything(current_principal()))
    return _round_page(
        "reporting/round_reaudit.html",
        lambda r, s, fl: f.reaudit(r),
        _reaudit_chart,
        round_id=round_id,
        page="reaudit",
        tested=tested_recommendations(round_id),
    )


def _send_answers(stem: str, **kwargs: Any) -> Any:
    handle, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(handle)
    try:
        exports.answers_xlsx(path, **kwargs)
        exports.record_answers_export(**kwargs)
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
    allowed_or_403(can_view_findings(p))
    round_ = get_findings_round_or_404(p, round_id)
    return _send_answers(
        _stem(round_.title), partnership_id=round_.partnership_id, round_id=round_.id, agency_ids=findings_scope(p)
    )


def _report_round(round_id: int) -> Round:
    """A round whose report the principal may read and prepare: the partnership-wide roles."""
    p = current_principal()
    allowed_or_403(can_view_findings(p) and sees_everything(p))
    return get_findings_round_or_404(p, round_id)


def _kind_or_404(kind: str) -> ReportKind:
    try:
        return ReportKind(kind)
    except ValueError:
        abort(404)


def _send_report_file(round_: Round, row: ReportFile) -> Response:
    assert row.stored_file is not None
    exports.record_answers_export(round_.partnership_id, round_id=round_.id)  # the reports quote the returns
    return send_file(
        storage.open_file(row.stored_file),
        mimetype="application/pdf",
        as_attachment=True,
        download_name=report_files.file_name(round_, row.kind, row.suppressed),
    )


@bp.get("/rounds/<int:round_id>/report")
@login_required
def report_page(round_id: int):
    """The round's PDFs: the chair's report, the full report and the learning briefing, each prepared as a
    job; this page shows their progress and refreshes itself until they are ready."""
    round_ = _report_round(round_id)
    suppressed = params.suppress()
    fingerprint = report_files.round_fingerprint(round_.id)
    files = []
    for kind in ReportKind:
        row = report_files.report_file(round_.id, kind, suppressed)
        files.append((kind, row, report_files.file_state(row, fingerprint)))
    preparing = any(state == report_files.FileState.PREPARING for _, _, state in files)
    p = current_principal()
    return render_template(
        "reporting/report_files.html",
        round=round_,
        files=files,
        FileState=report_files.FileState,
        state_labels=report_files.FILE_STATE_LABELS,
        suppressed=suppressed,
        preparing=preparing,
        can_write=can_manage_round(p, round_) and round_.kind == QuestionnaireKind.CASE_AUDIT,
        is_case_audit=round_.kind == QuestionnaireKind.CASE_AUDIT,
    )


@bp.post("/rounds/<int:round_id>/report/<kind>")
@login_required
def report_prepare(round_id: int, kind: str):
    """Ask for a PDF of the round: drawn by a job after this request, unless a current one is kept."""
    round_ = _report_round(round_id)
    report_kind = _kind_or_404(kind)
    if not ConfirmForm().validate_on_submit():
        abort(400, "The form has expired: go back, reload the page and try again")
    suppressed = request.form.get("suppress") == "1"
    report_files.request_file(round_, report_kind, suppressed, by_user_id=current_user.id)
    db.session.commit()
    return redirect(url_for("reporting.report_page", round_id=round_.id, suppress="1" if suppressed else None), 303)


@bp.get("/rounds/<int:round_id>/report/<kind>.pdf")
@login_required
def report_download(round_id: int, kind: str):
    """A prepared PDF of the round, while it is current; otherwise back to the report page to prepare it."""
    round_ = _report_round(round_id)
    report_kind = _kind_or_404(kind)
    suppressed = params.suppress()
    row = report_files.report_file(round_.id, report_kind, suppressed)
    if report_files.file_state(row, report_files.round_fingerprint(round_.id)) != report_files.FileState.READY:
        flash("That PDF is not ready for the round as it is now: prepare it below", "error")
        return redirect(url_for("reporting.report_page", round_id=round_.id, suppress="1" if suppressed else None), 303)
    return _send_report_file(round_, row)  # type: ignore[arg-type]


@bp.get("/rounds/<int:round_id>/report.pdf")
@login_required
def round_report(round_id: int):
    """The full round report as a PDF: the kept one if current; otherwise it is prepared as a job, and sent if
    it is ready by the end of the request (jobs run inline), else the report page shows its progress."""
    round_ = _report_round(round_id)
    suppressed = params.suppress()
    row = report_files.request_file(round_, ReportKind.FULL, suppressed, by_user_id=current_user.id)
    row_id = row.id
    db.session.commit()  # an inline job runs here
    db.session.expire_all()
    row = db.session.get(ReportFile, row_id)
    if row is not None and report_files.file_state(row, report_files.round_fingerprint(round_.id)) == (
        report_files.FileState.READY
    ):
        return _send_report_file(round_, row)
    return redirect(url_for("reporting.report_page", round_id=round_.id, suppress="1" if suppressed else None), 303)


# -- across rounds --


@bp.get("/findings")
@login_required
def index():
    """Findings across rounds: every round's findings, each theme's trend, and agencies by theme."""
    p = current_principal()
    allowed_or_403(can_view_findings(p))
    scope = findings_scope(p)
    years, raw_years, errors = params.years()
    suppressed = params.suppress()
    found = f.agency_theme([p.partnership_id], scope, years)
    themes_found = f.learning_themes([p.partnership_id], scope, years)
    found.tables.update(themes_found.tables)
    drawn = {} if suppressed else _index_charts(found, themes_found)
    if suppressed:
        found = found.suppressed()
    if errors and request.args.get("download"):
        abort(400, " ".join(errors.values()))
    about = [
        ("Figures", "Overall grades agencies gave in returned returns, by agency and theme"),
        ("Learning themes", "Themes ticked in returned returns, of the returns that ticked any"),
    ]
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
        charts=drawn,
        years=raw_years,
        errors=errors,
        suppressed=suppressed,
        sees_everything=sees_everything(p),
        query=request.args.to_dict(),
        RoundStatus=RoundStatus,
    ), (400 if errors else 200)


def _index_charts(found: f.Findings, themes_found: f.Findings) -> dict[str, Any]:
    """The agencies-by-theme table and the learning themes by round, as heatmaps."""
    drawn: dict[str, Any] = {}
    table = found.tables["agency_theme"]
    theme_ids = [dict(c.meta)["theme_id"] for c in table.columns if c.kind == "pct"]
    if table.rows and theme_ids:
        drawn["agency_theme"] = charts.heatmap(
            "agency-theme-chart",
            "Overall grades good or better, by agency and theme",
            found.extra["themes"],
            [
                (
                    row["agency"],
                    [
                        (row[f"theme_{t}_pct"], f"{row[f'theme_{t}_good']} of {row[f'theme_{t}_graded']}")
                        for t in theme_ids
                    ],
                )
                for row in table.rows
            ],
            empty="none graded",
        )
    if themes_found.extra["rounds"] and themes_found.charts["learning_themes"]:
        drawn["learning_themes"] = charts.heatmap(
            "learning-themes-chart",
            "Share of returns ticking each learning theme, by round",
            themes_found.extra["rounds"],
            themes_found.charts["learning_themes"],
            empty="no themes ticked",
        )
    return drawn


def _trend_chart(found: f.Findings, scope: frozenset[int] | None) -> Any:
    agencies, panel = found.tables["trend"], found.tables["trend_panel"]
    points = [
        (
            row["round"],
            [
                (
                    row["good_or_better_pct"],
                    f"{row['good_or_better']} of {row['graded']} graded" if row["graded"] else "none graded",
                ),
                (
                    agreed["good_or_better_pct"],
                    f"{agreed['good_or_better']} of {agreed['graded']} graded" if agreed["graded"] else "none graded",
                ),
            ],
        )
        for row, agreed in zip(agencies.rows, panel.rows, strict=True)
    ]
    whose = "all agencies" if scope is None else "your agency"
    return charts.paired_columns(
        "trend-chart",
        f"Overall grades good or better, by round: agencies' own ({whose}) and the panel's",
        ["Agencies' own grades", "Multi-agency panel"],
        points,
    )


@bp.get("/themes/<int:theme_id>/trend")
@login_required
def theme_trend(theme_id: int):
    """A theme's overall grades and share good or better, round by round over the years."""
    p = current_principal()
    allowed_or_403(can_view_findings(p))
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
    allowed_or_403(can_view_findings(p))
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


# -- a round's page (templates/rounds/_return_progress.html) --

#: the groups of return statuses, in the order the progress chart stacks them
PROGRESS = {
    ReturnGroup.RETURNED: ("Returned", "#00703c"),
    ReturnGroup.OUTSTANDING: ("Outstanding", "#d4351c"),
    ReturnGroup.DECLINED: ("Declined", "#505a5f"),
}


@bp.app_template_global()
def return_progress(returns: list[Return]) -> dict[str, Any]:
    """An open round's progress: returns by group, for all agencies and each agency, as a chart and the
    figures it shows (``rows``: name, then the count in each group)."""
    by_agency: dict[str, dict[ReturnGroup, int]] = {}
    total = dict.fromkeys(PROGRESS, 0)
    for ret in returns:
        group = ret.status.group
        total[group] += 1
        by_agency.setdefault(ret.agency.name, dict.fromkeys(PROGRESS, 0))[group] += 1
    rows = [("All agencies", total), *sorted(by_agency.items(), key=lambda item: item[0].lower())]
    bars = [(name, [(PROGRESS[g][0], counts[g]) for g in PROGRESS]) for name, counts in rows]
    chart = charts.stacked_bars(
        "progress-chart",
        "Return progress: returned, outstanding and declined, for all agencies and each agency",
        bars,
        dict(PROGRESS.values()),
    )
    return {
        "chart": chart,
        "headings": [label for label, _ in PROGRESS.values()],
        "rows": [(name, [counts[g] for g in PROGRESS], sum(counts.values())) for name, counts in rows],
    }
