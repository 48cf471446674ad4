"""API endpoints for findings: the same tables as the findings pages, as JSON.

Each table is ``{key, title, suppressed, columns: [{key, heading, kind, of}], rows, notes}``;
a ``pct`` column names the two count columns it is a share of. Agency users get their
own agency's figures only, as on the pages.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify
from pydantic import BaseModel

from ..reporting import findings as f
from ..reporting import params
from ..reporting.aggregation import suppress_small
from ..reporting.permissions import (
    can_view_findings,
    findings_scope,
    get_findings_round_or_404,
    get_theme_or_404,
    sees_everything,
)
from .helpers import ApiError, principal, require
from .spec import api_route

ALL_ROLES = "admin, qa_member, scrutineer (every agency); agency_lead, auditor (their own agency)"
WIDE = "admin, qa_member, scrutineer"

FILTER_QUERY = [
    {"name": name, "in": "query", "required": False, "schema": {"type": "string"}, "description": text}
    for name, text in (
        ("sector", "Sector key: only returns of that sector's agencies"),
        ("plan_type", "Only cases with this plan type"),
        ("age_band", "Only cases in this age band"),
    )
]
SUPPRESS_QUERY = [
    {
        "name": "suppress",
        "in": "query",
        "required": False,
        "schema": {"type": "string", "enum": ["0", "1"]},
        "description": "1: counts from 1 to 4 read \u201cfewer than 5\u201d and shares built on them are withheld",
    }
]
YEARS_QUERY = [
    {"name": name, "in": "query", "required": False, "schema": {"type": "integer"}, "description": text}
    for name, text in (("from_year", "Rounds opened in or after this year"), ("to_year", "In or before this year"))
]


class FindingsOut(BaseModel):
    scope: str
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
    query=FILTER_QUERY + SUPPRESS_QUERY,
)
def findings_round(round_id: int):
    _p, round_, scope, filters, suppressed = _round_request(round_id)
    found = f.round_findings(round_, scope, filters)
    totals = found.extra["totals"]
    if suppressed:
        totals = {key: suppress_small(value) for key, value in totals.items()}
    about = {**_round_about(round_), "totals": totals, "panel_shown": found.extra["panel_shown"]}
    return _answer(found, scope, suppressed, filters.as_args(), about)


@api_route(
    "/rounds/<int:round_id>/findings/texts",
    "GET",
    summary="Strengths, areas for development and recommendations, labelled with agency and case",
    tag="findings",
    response_model=FindingsOut,
    roles=ALL_ROLES,
    query=FILTER_QUERY,
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
    query=SUPPRESS_QUERY,
)
def findings_round_reaudit(round_id: int):
    p = principal()
    require(can_view_findings(p) and sees_everything(p))
    round_ = get_findings_round_or_404(p, round_id)
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
    query=SUPPRESS_QUERY,
)
def findings_theme_trend(theme_id: int):
    p = principal()
    require(can_view_findings(p))
    theme = get_theme_or_404(p, theme_id)
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
    query=YEARS_QUERY + SUPPRESS_QUERY,
)
def findings_agency_theme():
    p = principal()
    require(can_view_findings(p))
    years, raw, errors = params.years()
    if errors:
        raise ApiError(400, "Check the years", {k: [v] for k, v in errors.items()})
    scope = findings_scope(p)
    found = f.agency_theme([p.partnership_id], scope, years)
    return _answer(found, scope, params.suppress(), {k: v for k, v in raw.items() if v}, {})
