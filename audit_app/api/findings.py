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
from flask import Response, jsonify, send_file
from pydantic import BaseModel, ConfigDict, Field

from ..accounts.models import Role
from ..case_audits.cohort import AGE_BANDS, DISABILITY, ETHNICITIES, PLAN_TYPES, SEXES
from ..questionnaires.models import Theme
from ..reporting import exports, params
from ..reporting import findings as f
from ..reporting.aggregation import suppress_small
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


def _round_download(round_id: int, build: Any) -> Response:
    _p, round_, scope, filters, suppressed = _round_request(round_id)
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
    return _round_download(round_id, f.round_texts)


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
    p = principal()
    require(can_view_findings(p))
    query_args()
    years, _raw, errors = params.years()
    if errors:
        raise ApiError(400, "Check the years", {k: [v] for k, v in errors.items()})
    found = f.agency_theme([p.partnership_id], findings_scope(p), years)
    if params.suppress():
        found = found.suppressed()
    about = [("Figures", "Overall grades agencies gave in returned returns, by agency and theme")]
    if years:
        about.append(("Years", f"{years[0]} to {years[1]}"))
    return _file(found, about, "agency-by-theme")


def _answers_file(stem: str, **kwargs: Any) -> Response:
    """Every returned answer as XLSX, written to a temporary file rather than held in memory (it can be large)."""
    handle, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(handle)
    try:
        exports.answers_xlsx(path, **kwargs)
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


@api_route(
    "/rounds/<int:round_id>/report.pdf",
    "GET",
    summary="The round report as a PDF: cover, method, return rates, grades, texts, panel judgements",
    tag="findings",
    roles=WIDE,
    query_model=SuppressQuery,
    produces=(PDF,),
)
def findings_round_report(round_id: int):
    from ..reporting.report import round_report_pdf

    p = principal()
    require(can_view_findings(p) and sees_everything(p))
    round_ = get_findings_round_or_404(p, round_id)
    query_args()
    pdf = round_report_pdf(round_, suppressed=params.suppress())
    name = f"{exports.file_stem(round_.title)}-report.pdf"
    return Response(pdf, mimetype=PDF, headers={"Content-Disposition": f'attachment; filename="{name}"'})


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
