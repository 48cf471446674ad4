"""API endpoints for findings: the same tables as the findings pages, as JSON.

Each table is ``{key, title, suppressed, columns: [{key, heading, kind, of}], rows, notes}``;
a ``pct`` column names the two count columns it is a share of. Agency users get their
own agency's figures only, as on the pages.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any, Literal

import sqlalchemy as sa
from flask import Response, jsonify, send_file, url_for
from pydantic import BaseModel, ConfigDict, Field

from ..accounts.models import Role
from ..case_audits.cohort import AGE_BANDS, DISABILITY, ETHNICITIES, PLAN_TYPES, SEXES
from ..core import storage
from ..core.access_log import AccessVia
from ..extensions import db
from ..questionnaires.models import Theme
from ..reporting import exports, params, report_files
from ..reporting import findings as f
from ..reporting.aggregation import suppress_small
from ..reporting.models import ReportFile, ReportKind
from ..reporting.permissions import (
    can_view_findings,
    findings_scope,
    get_findings_round_or_404,
    get_theme_or_404,
    sees_everything,
)
from ..reporting.views import _about as round_about_rows  # the pages' "About" sheet, so the files match
from .helpers import ApiError, page_of, principal, query_args, require
from .spec import ANY_ROLE, api_route

ALL_ROLES = ANY_ROLE
OWN_FIGURES = "agency leads and auditors get their own agency's figures"
WIDE = (Role.ADMIN, Role.QA_MEMBER, Role.SCRUTINEER)
PDF = "application/pdf"


class SuppressQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    suppress: Literal["0", "1", "true", "false"] | None = Field(
        default=None,
        description="1: counts from 1 to 4 read \u201cfewer than 5\u201d and shares built on them are withheld",
    )


class FilterQuery(SuppressQuery):
    sector: str | None = Field(default=None, description="Sector key: only returns of that sector's agencies")
    plan_type: Literal[tuple(PLAN_TYPES)] | None = Field(default=None, description="Only cases with this plan type")
    age_band: Literal[tuple(AGE_BANDS)] | None = Field(default=None, description="Only cases in this age band")
    sex: Literal[tuple(SEXES)] | None = Field(default=None, description="Only cases of this sex")
    ethnicity: Literal[tuple(ETHNICITIES)] | None = Field(
        default=None, description="Only cases of this 2021 Census ethnicity (a category key, as on the case)"
    )
    disability: Literal[tuple(DISABILITY)] | None = Field(
        default=None, description="Only cases with this disability answer"
    )


class YearsQuery(SuppressQuery):
    from_year: int | None = Field(default=None, ge=2000, le=2100, description="Rounds opened in or after this year")
    to_year: int | None = Field(default=None, ge=2000, le=2100, description="In or before this year")


class DownloadPart(BaseModel):
    format: Literal["csv", "xlsx"] = Field(
        description="csv: one table (name it with `table`); xlsx: one or every table"
    )
    table: str | None = Field(
        default=None, description="A table's key (the `tables` keys of the JSON answer); required for csv"
    )


class FilterDownloadQuery(FilterQuery, DownloadPart):
    pass


class SuppressDownloadQuery(SuppressQuery, DownloadPart):
    pass


class YearsDownloadQuery(YearsQuery, DownloadPart):
    pass


class FindingsOut(BaseModel):
    scope: Literal["all agencies", "own agency"]
    filters: dict[str, str]
    suppressed: bool
    tables: dict[str, dict[str, Any]]
    about: dict[str, Any]


def _answer(found: f.Findings, scope: Any, suppressed: bool, filters: dict[str, str], about: dict[str, Any]):
    if suppressed:
        found = found.suppressed()
    return jsonify(
        {
            "scope": "all agencies" if scope is None else "own agency",
            "filters": filters,
            "suppressed": suppressed,
            "tables": {key: table.to_json() for key, table in found.tables.items()},
            "about": about,
        }
    )


def _round_request(round_id: int):
    p = principal()
    require(can_view_findings(p))
    round_ = get_findings_round_or_404(p, round_id)
    query_args()
    scope = findings_scope(p)
    filters, _choices, errors = params.filters(round_, scope)
    if errors:
        raise ApiError(400, "Some filters are not values of this round", {k: [v] for k, v in errors.items()})
    return p, round_, scope, filters, params.suppress()


def _round_about(round_: Any) -> dict[str, Any]:
    return {"round_id": round_.id, "title": round_.title, "status": round_.status.value}


@api_route(
    "/rounds/<int:round_id>/findings",
    "GET",
    summary="A round's figures: return rates, grade distributions, panel grades and agencies beside them",
    tag="findings",
    response_model=FindingsOut,
    roles=ALL_ROLES,
    roles_note=OWN_FIGURES,
    query_model=FilterQuery,
)
def findings_round(round_id: int):
    _p, round_, scope, filters, suppressed = _round_request(round_id)
    found = f.round_findings(round_, scope, filters)
    totals = {**found.extra["totals"], "suppressed": []}
    if suppressed:  # as in a table's row: a withheld count is null and named, never text in a number
        hidden = [key for key, value in totals.items() if suppress_small(value) != value]
        totals = {**{key: None if key in hidden else value for key, value in totals.items()}, "suppressed": hidden}
    about = {**_round_about(round_), "totals": totals, "panel_shown": found.extra["panel_shown"]}
    return _answer(found, scope, suppressed, filters.as_args(), about)


@api_route(
    "/rounds/<int:round_id>/findings/texts",
    "GET",
    summary="Strengths, areas for development and recommendations, labelled with agency and case",
    tag="findings",
    response_model=FindingsOut,
    roles=ALL_ROLES,
    roles_note=OWN_FIGURES,
    query_model=FilterQuery,
)
def findings_round_texts(round_id: int):
    _p, round_, scope, filters, _suppressed = _round_request(round_id)
    exports.record_answers_export(round_.partnership_id, round_id=round_.id, agency_ids=scope, via=AccessVia.API)
    return _answer(f.round_texts(round_, scope, filters), scope, False, filters.as_args(), _round_about(round_))


@api_route(
    "/rounds/<int:round_id>/findings/re-audit",
    "GET",
    summary="Re-audit comparison: carried cases' panel grades then and now, and the new cases",
    tag="findings",
    response_model=FindingsOut,
    roles=WIDE,
    query_model=SuppressQuery,
)
def findings_round_reaudit(round_id: int):
    p = principal()
    require(can_view_findings(p) and sees_everything(p))
    round_ = get_findings_round_or_404(p, round_id)
    query_args()
    found = f.reaudit(round_)
    about = {**_round_about(round_), "previous_round_id": round_.previous_round_id, "carried": found.extra["carried"]}
    return _answer(found, None, params.suppress(), {}, about)


@api_route(
    "/themes/<int:theme_id>/trend",
    "GET",
    summary="A theme's overall grades by round over the years, for all agencies and each agency",
    tag="findings",
    response_model=FindingsOut,
    roles=ALL_ROLES,
    roles_note=OWN_FIGURES,
    query_model=SuppressQuery,
)
def findings_theme_trend(theme_id: int):
    p = principal()
    require(can_view_findings(p))
    theme = get_theme_or_404(p, theme_id)
    query_args()
    scope = findings_scope(p)
    found = f.theme_trend(p.partnership_id, theme.id, scope)
    return _answer(found, scope, params.suppress(), {}, {"theme_id": theme.id, "theme": theme.name})


@api_route(
    "/findings/agency-theme",
    "GET",
    summary="Agencies by theme: overall grades good or better, across rounds and years",
    tag="findings",
    response_model=FindingsOut,
    roles=ALL_ROLES,
    roles_note=OWN_FIGURES,
    query_model=YearsQuery,
)
def findings_agency_theme():
    p = principal()
    require(can_view_findings(p))
    query_args()
    years, raw, errors = params.years()
    if errors:
        raise ApiError(400, "Check the years", {k: [v] for k, v in errors.items()})
    scope = findings_scope(p)
    found = f.agency_theme([p.partnership_id], scope, years)
    return _answer(found, scope, params.suppress(), {k: v for k, v in raw.items() if v}, {})


@api_route(
    "/findings/learning-themes",
    "GET",
    summary="Learning themes ticked in returns: counts by theme across rounds, and round by round",
    tag="findings",
    response_model=FindingsOut,
    roles=ALL_ROLES,
    roles_note=OWN_FIGURES,
    query_model=YearsQuery,
)
def findings_learning_themes():
    p = principal()
    require(can_view_findings(p))
    query_args()
    years, raw, errors = params.years()
    if errors:
        raise ApiError(400, "Check the years", {k: [v] for k, v in errors.items()})
    scope = findings_scope(p)
    found = f.learning_themes([p.partnership_id], scope, years)
    return _answer(found, scope, params.suppress(), {k: v for k, v in raw.items() if v}, {})


# -- downloads: the same files as the findings pages --


def _file(found: f.Findings, about: list[tuple[str, Any]], stem: str) -> Response:
    """The table(s) the query names, as CSV or XLSX; a missing or unknown table is a 400 naming ``table``."""
    args = query_args()
    key = args.table or ""
    if key and key not in found.tables:
        raise ApiError(400, "No such table here", {"table": [f"Choose one of: {', '.join(found.tables)}"]})
    if args.format == "csv" and not key:
        raise ApiError(400, "Say which table to download as CSV", {"table": ["Required for csv"]})
    data, mimetype, name = exports.findings_file(found.tables, args.format, key, about, stem)
    return Response(data, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}"'})


def _round_download(round_id: int, build: Any, quotes: bool = False) -> Response:
    """A round's tables as a file; one that ``quotes`` returns (the texts) records each in the access log."""
    _p, round_, scope, filters, suppressed = _round_request(round_id)
    if quotes:
        exports.record_answers_export(round_.partnership_id, round_id=round_.id, agency_ids=scope)
    found = build(round_, scope, filters)
    if suppressed:
        found = found.suppressed()
    about = round_about_rows(round_, filters, scope, suppressed)
    return _file(found, about, exports.file_stem(round_.title))


TABLE_FILES = (exports.CSV_MIMETYPE, exports.XLSX_MIMETYPE)


@api_route(
    "/rounds/<int:round_id>/findings/download",
    "GET",
    summary="Download a round's figures (the tables of GET findings) as CSV (one table) or XLSX",
    tag="findings",
    roles=ALL_ROLES,
    roles_note=OWN_FIGURES,
    query_model=FilterDownloadQuery,
    produces=TABLE_FILES,
)
def findings_round_download(round_id: int):
    return _round_download(round_id, f.round_findings)


@api_route(
    "/rounds/<int:round_id>/findings/texts/download",
    "GET",
    summary="Download the strengths, areas for development and recommendations as CSV or XLSX",
    tag="findings",
    roles=ALL_ROLES,
    roles_note=OWN_FIGURES,
    query_model=FilterDownloadQuery,
    produces=TABLE_FILES,
)
def findings_round_texts_download(round_id: int):
    return _round_download(round_id, f.round_texts, quotes=True)


@api_route(
    "/rounds/<int:round_id>/findings/re-audit/download",
    "GET",
    summary="Download the re-audit comparison as CSV or XLSX",
    tag="findings",
    roles=WIDE,
    query_model=SuppressDownloadQuery,
    produces=TABLE_FILES,
)
def findings_round_reaudit_download(round_id: int):
    p = principal()
    require(can_view_findings(p) and sees_everything(p))
    round_ = get_findings_round_or_404(p, round_id)
    query_args()
    suppressed = params.suppress()
    found = f.reaudit(round_)
    if suppressed:
        found = found.suppressed()
    about = round_about_rows(round_, f.Filters(), None, suppressed)
    return _file(found, about, exports.file_stem(round_.title))


@api_route(
    "/themes/<int:theme_id>/trend/download",
    "GET",
    summary="Download a theme's trend as CSV or XLSX",
    tag="findings",
    roles=ALL_ROLES,
    roles_note=OWN_FIGURES,
    query_model=SuppressDownloadQuery,
    produces=TABLE_FILES,
)
def findings_theme_trend_download(theme_id: int):
    p = principal()
    require(can_view_findings(p))
    theme = get_theme_or_404(p, theme_id)
    scope = findings_scope(p)
    found = f.theme_trend(p.partnership_id, theme.id, scope)
    if params.suppress():
        found = found.suppressed()
    about = [
        ("Theme", theme.name),
        ("Figures", "Overall grades agencies gave in returned returns, by round"),
        ("Agencies", "All agencies" if scope is None else "Your agency's returns only"),
    ]
    return _file(found, about, exports.file_stem(theme.name) + "-trend")


@api_route(
    "/findings/agency-theme/download",
    "GET",
    summary="Download agencies by theme as CSV or XLSX",
    tag="findings",
    roles=ALL_ROLES,
    roles_note=OWN_FIGURES,
    query_model=YearsDownloadQuery,
    produces=TABLE_FILES,
)
def findings_agency_theme_download():
    return _years_file(
        f.agency_theme,
        ("Figures", "Overall grades agencies gave in returned returns, by agency and theme"),
        "agency-by-theme",
    )


def _years_file(build: Any, about: tuple[str, str], stem: str) -> Response:
    """A partnership-wide table over the years asked for (own agency's figures for agency users), as a file."""
    p = principal()
    require(can_view_findings(p))
    query_args()
    years, _raw, errors = params.years()
    if errors:
        raise ApiError(400, "Check the years", {k: [v] for k, v in errors.items()})
    found = build([p.partnership_id], findings_scope(p), years)
    if params.suppress():
        found = found.suppressed()
    rows = [about]
    if years:
        rows.append(("Years", f"{years[0]} to {years[1]}"))
    return _file(found, rows, stem)


@api_route(
    "/findings/learning-themes/download",
    "GET",
    summary="Download the learning themes tables as CSV or XLSX",
    tag="findings",
    roles=ALL_ROLES,
    roles_note=OWN_FIGURES,
    query_model=YearsDownloadQuery,
    produces=TABLE_FILES,
)
def findings_learning_themes_download():
    return _years_file(
        f.learning_themes,
        ("Learning themes", "Themes ticked in returned returns, of the returns that ticked any"),
        "learning-themes",
    )


def _answers_file(stem: str, **kwargs: Any) -> Response:
    """Every returned answer as XLSX, written to a temporary file rather than held in memory (it can be large)."""
    handle, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(handle)
    try:
        exports.answers_xlsx(path, **kwargs)
        exports.record_answers_export(**kwargs)
        response = send_file(
            path, mimetype=exports.XLSX_MIMETYPE, as_attachment=True, download_name=f"{stem}-answers.xlsx"
        )
    finally:
        os.unlink(path)  # the open file stays readable for the response after its name is gone
    return response


@api_route(
    "/rounds/<int:round_id>/answers.xlsx",
    "GET",
    summary="Every returned answer in the round, one row per answer",
    tag="findings",
    roles=ALL_ROLES,
    roles_note="agency leads and auditors get their own agency's answers",
    produces=(exports.XLSX_MIMETYPE,),
)
def findings_round_answers(round_id: int):
    p = principal()
    require(can_view_findings(p))
    round_ = get_findings_round_or_404(p, round_id)
    return _answers_file(
        exports.file_stem(round_.title),
        partnership_id=round_.partnership_id,
        round_id=round_.id,
        agency_ids=findings_scope(p),
    )


@api_route(
    "/themes/<int:theme_id>/answers.xlsx",
    "GET",
    summary="Every returned answer in every round of a theme, one row per answer",
    tag="findings",
    roles=ALL_ROLES,
    roles_note="agency leads and auditors get their own agency's answers",
    produces=(exports.XLSX_MIMETYPE,),
)
def findings_theme_answers(theme_id: int):
    p = principal()
    require(can_view_findings(p))
    theme = get_theme_or_404(p, theme_id)
    return _answers_file(
        exports.file_stem(theme.name), partnership_id=p.partnership_id, theme_id=theme.id, agency_ids=findings_scope(p)
    )


class ReportFileOut(BaseModel):
    kind: Literal["report", "full", "briefing"] = Field(
        description="report: the chair's report; full: with the appendices; briefing: the one-page learning briefing"
    )
    kind_label: str
    suppressed: bool
    state: Literal["none", "preparing", "ready", "failed"] = Field(
        description="none: not prepared for the round as it is now (ask with POST); preparing: ask again shortly"
    )
    state_label: str
    progress: int | None = Field(description="Percent done while preparing")
    stage: str | None
    pages: int | None
    prepared_at: str | None
    download: str | None = Field(description="The file's URL, when ready")


class ReportFilesOut(BaseModel):
    round_id: int
    files: list[ReportFileOut]


class PrepareQuery(SuppressQuery):
    pass


def _report_round(round_id: int) -> Any:
    p = principal()
    require(can_view_findings(p) and sees_everything(p))
    return get_findings_round_or_404(p, round_id)


def _report_file_out(round_: Any, kind: ReportKind, suppressed: bool, fingerprint: str) -> dict[str, Any]:
    row = report_files.report_file(round_.id, kind, suppressed)
    state = report_files.file_state(row, fingerprint)
    ready = state == report_files.FileState.READY
    return ReportFileOut(
        kind=kind.value,
        kind_label=kind.label,
        suppressed=suppressed,
        state=state.value,
        state_label=report_files.FILE_STATE_LABELS[state],
        progress=row.progress if row is not None and state == report_files.FileState.PREPARING else None,
        stage=row.stage if row is not None and state == report_files.FileState.PREPARING else None,
        pages=row.pages if ready and row is not None else None,
        prepared_at=row.finished_at.isoformat() if ready and row is not None and row.finished_at else None,
        download=url_for(
            "api.report_files_download", round_id=round_.id, kind=kind.value, suppress="1" if suppressed else None
        )
        if ready
        else None,
    ).model_dump(mode="json")


def _kind(kind: str) -> ReportKind:
    try:
        return ReportKind(kind)
    except ValueError:
        raise ApiError(
            404, "No such report: choose report, full or briefing", {"kind": ["Choose report, full or briefing"]}
        ) from None


@api_route(
    "/rounds/<int:round_id>/report-files",
    "GET",
    summary="The round's PDFs (chair's report, full report, learning briefing): prepared or not, progress, download links",
    tag="findings",
    roles=WIDE,
    query_model=SuppressQuery,
    response_model=ReportFilesOut,
)
def report_files_list(round_id: int):
    round_ = _report_round(round_id)
    query_args()
    suppressed = params.suppress()
    fingerprint = report_files.round_fingerprint(round_.id)
    return jsonify(
        ReportFilesOut(
            round_id=round_.id,
            files=[_report_file_out(round_, kind, suppressed, fingerprint) for kind in ReportKind],
        ).model_dump(mode="json")
    )


@api_route(
    "/rounds/<int:round_id>/report-files/<kind>",
    "POST",
    path_enums={"kind": [k.value for k in ReportKind]},
    summary="Ask for a PDF of the round: prepared by a job unless one drawn from the round as it is now is kept",
    tag="findings",
    roles=WIDE,
    query_model=PrepareQuery,
    response_model=ReportFileOut,
    status=202,
)
def report_files_prepare(round_id: int, kind: str):
    round_ = _report_round(round_id)
    report_kind = _kind(kind)
    query_args()
    suppressed = params.suppress()
    report_files.request_file(round_, report_kind, suppressed, by_user_id=principal().user_id)
    db.session.commit()
    db.session.expire_all()
    return jsonify(_report_file_out(round_, report_kind, suppressed, report_files.round_fingerprint(round_.id))), 202


@api_route(
    "/rounds/<int:round_id>/report-files/<kind>.pdf",
    "GET",
    path_enums={"kind": [k.value for k in ReportKind]},
    summary="A prepared PDF of the round; 409 if it is not ready for the round as it is now",
    tag="findings",
    roles=WIDE,
    query_model=SuppressQuery,
    produces=(PDF,),
    refusals={409: "Not ready for the round as it is now: ask for it with POST and wait"},
)
def report_files_download(round_id: int, kind: str):
    round_ = _report_round(round_id)
    report_kind = _kind(kind)
    query_args()
    suppressed = params.suppress()
    row = report_files.report_file(round_.id, report_kind, suppressed)
    if report_files.file_state(row, report_files.round_fingerprint(round_.id)) != report_files.FileState.READY:
        raise ApiError(
            409,
            "The PDF is not ready for the round as it is now: ask for it with POST and wait",
            {"kind": ["Not ready"]},
        )
    assert row is not None and row.stored_file is not None
    exports.record_answers_export(round_.partnership_id, round_id=round_.id)  # the reports quote the returns
    return send_file(
        storage.open_file(row.stored_file),
        mimetype=PDF,
        as_attachment=True,
        download_name=report_files.file_name(round_, report_kind, suppressed),
    )


@api_route(
    "/rounds/<int:round_id>/report.pdf",
    "GET",
    summary="The full round report as a PDF: the kept one, or prepared now; 409 while a worker is still drawing it",
    tag="findings",
    roles=WIDE,
    query_model=SuppressQuery,
    produces=(PDF,),
    refusals={409: "Being prepared by a worker: see /rounds/{round_id}/report-files for its progress"},
)
def findings_round_report(round_id: int):
    round_ = _report_round(round_id)
    query_args()
    suppressed = params.suppress()
    row = report_files.request_file(round_, ReportKind.FULL, suppressed, by_user_id=principal().user_id)
    row_id = row.id
    db.session.commit()  # an inline job runs here
    db.session.expire_all()
    row = db.session.get(ReportFile, row_id)
    if row is None or report_files.file_state(row, report_files.round_fingerprint(round_.id)) != (
        report_files.FileState.READY
    ):
        progress = f" ({row.progress}% done: {row.stage})" if row is not None else ""
        raise ApiError(
            409,
            f"The report is being prepared{progress}: GET /api/v1/rounds/{round_.id}/report-files shows when it is ready",
            {"kind": ["Not ready yet"]},
        )
    assert row.stored_file is not None
    exports.record_answers_export(round_.partnership_id, round_id=round_.id)  # the report quotes the returns
    return send_file(
        storage.open_file(row.stored_file),
        mimetype=PDF,
        as_attachment=True,
        download_name=f"{exports.file_stem(round_.title)}-report.pdf",
    )


# -- themes --


class ThemeOut(BaseModel):
    id: int = Field(description="Use in /themes/{theme_id}/trend and its downloads")
    name: str


@api_route(
    "/themes",
    "GET",
    summary="List the partnership's themes, with their ids",
    tag="findings",
    response_model=ThemeOut,
    many=True,
    roles=ALL_ROLES,
)
def themes_list():
    p = principal()
    require(can_view_findings(p))
    query = sa.select(Theme).where(Theme.partnership_id == p.partnership_id).order_by(Theme.name, Theme.id)
    return page_of(query, lambda t: ThemeOut(id=t.id, name=t.name).model_dump())
