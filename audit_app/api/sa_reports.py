"""Self-assessment reports through the API: the same figures as the pages.

``GET /rounds/{id}/self-assessment/report`` answers every table of the report
(``{key, title, suppressed, columns, rows, notes}``, as the findings API), with the scale's levels and the
standards under their stable keys; ``.xlsx`` is the page's spreadsheet; ``/pdf`` asks for and reports on the
board's PDF, ``.pdf`` downloads it. Read by admins, the QA group and scrutineers of the partnerships the round
counts for, each seeing its own agencies' returns.
"""

from __future__ import annotations

from typing import Any, Literal

from flask import Response, jsonify, send_file, url_for
from pydantic import BaseModel, ConfigDict, Field

from ..core import storage
from ..core.access_log import AccessVia
from ..extensions import db
from ..reporting import exports, params, sa_files
from ..reporting.report_files import FileState
from ..reporting.self_assessments import build_report, report_json, report_xlsx
from ..self_assessments.permissions import SA_REPORT_READERS, get_sa_report_round_or_404
from .helpers import ApiError, principal, query_args
from .spec import api_route

TAG = "self-assessment reports"
SCOPE = "each partnership sees its own agencies' returns of a shared round; agency users have no report"
PDF = "application/pdf"


class SaReportQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    suppress: Literal["0", "1", "true", "false"] | None = Field(
        default=None,
        description="1: counts from 1 to 4 read \u201cfewer than 5\u201d and shares built on them are withheld",
    )


class SaReportOut(BaseModel):
    round: dict[str, Any]
    partnership_id: int
    suppressed: bool
    levels: list[dict[str, Any]]
    standards: list[dict[str, Any]]
    has_moderation: bool
    tables: dict[str, dict[str, Any]]


class SaPdfOut(BaseModel):
    state: Literal["none", "preparing", "ready", "failed"]
    state_label: str
    progress: int | None
    stage: str | None
    pages: int | None
    error: str | None
    download: str | None


def _request(sa_round_id: int):
    p = principal()
    round_ = get_sa_report_round_or_404(p, sa_round_id)
    query_args()
    return p, round_, params.suppress()


@api_route(
    "/rounds/<int:sa_round_id>/self-assessment/report",
    "GET",
    summary="A self-assessment round's report: heatmap of agencies by standard (self-rated and moderated), counts "
    "below good by standard and sector, change since the last round, returns not counted, return rates",
    tag=TAG,
    response_model=SaReportOut,
    roles=SA_REPORT_READERS,
    roles_note=SCOPE,
    query_model=SaReportQuery,
)
def sa_report_get(sa_round_id: int):
    p, round_, suppressed = _request(sa_round_id)
    exports.record_answers_export(p.partnership_id, round_id=round_.id, via=AccessVia.API)  # each return shown
    report = build_report(round_, p.partnership_id)
    return jsonify(report_json(report.suppress() if suppressed else report))


@api_route(
    "/rounds/<int:sa_round_id>/self-assessment/report.xlsx",
    "GET",
    summary="The self-assessment report's tables as XLSX, one sheet each after an About sheet",
    tag=TAG,
    roles=SA_REPORT_READERS,
    roles_note=SCOPE,
    query_model=SaReportQuery,
    produces=(exports.XLSX_MIMETYPE,),
)
def sa_report_xlsx(sa_round_id: int):
    p, round_, suppressed = _request(sa_round_id)
    exports.record_answers_export(p.partnership_id, round_id=round_.id)
    report = build_report(round_, p.partnership_id)
    stem = exports.file_stem(round_.title)
    return Response(
        report_xlsx(report.suppress() if suppressed else report),
        mimetype=exports.XLSX_MIMETYPE,
        headers={"Content-Disposition": f'attachment; filename="{stem}-self-assessment-report.xlsx"'},
    )


def _pdf_out(round_: Any, partnership_id: int, suppressed: bool) -> dict[str, Any]:
    row, state = sa_files.current_state(round_, partnership_id, suppressed)
    ready = state == FileState.READY
    args = {"suppress": "1"} if suppressed else {}
    return SaPdfOut(
        state=state.value,
        state_label=sa_files.STATE_LABELS[state],
        progress=row.progress if row is not None and state == FileState.PREPARING else None,
        stage=row.stage if row is not None and state == FileState.PREPARING else None,
        pages=row.pages if row is not None and ready else None,
        error=row.error if row is not None and state == FileState.FAILED else None,
        download=url_for("api.sa_report_pdf_download", sa_round_id=round_.id, **args) if ready else None,
    ).model_dump(mode="json")


@api_route(
    "/rounds/<int:sa_round_id>/self-assessment/report/pdf",
    "GET",
    summary="Where the board's PDF summary stands: not prepared, being prepared (with progress), ready (with its "
    "download URL) or failed",
    tag=TAG,
    response_model=SaPdfOut,
    roles=SA_REPORT_READERS,
    roles_note=SCOPE,
    query_model=SaReportQuery,
)
def sa_report_pdf_status(sa_round_id: int):
    p, round_, suppressed = _request(sa_round_id)
    return jsonify(_pdf_out(round_, p.partnership_id, suppressed))


@api_route(
    "/rounds/<int:sa_round_id>/self-assessment/report/pdf",
    "POST",
    summary="Ask for the board's PDF summary: drawn by a job unless one drawn from the figures as they are now is kept",
    tag=TAG,
    response_model=SaPdfOut,
    roles=SA_REPORT_READERS,
    roles_note=SCOPE,
    query_model=SaReportQuery,
    status=202,
)
def sa_report_pdf_prepare(sa_round_id: int):
    p, round_, suppressed = _request(sa_round_id)
    sa_files.request_sa_file(round_, p.partnership_id, suppressed, by_user_id=p.user_id)
    db.session.commit()
    db.session.expire_all()
    return jsonify(_pdf_out(round_, p.partnership_id, suppressed)), 202


@api_route(
    "/rounds/<int:sa_round_id>/self-assessment/report.pdf",
    "GET",
    summary="The prepared board PDF; 409 if it is not ready for the figures as they are now",
    tag=TAG,
    roles=SA_REPORT_READERS,
    roles_note=SCOPE,
    query_model=SaReportQuery,
    produces=(PDF,),
    refusals={409: "Not ready for the figures as they are now: ask for it with POST .../report/pdf and wait"},
)
def sa_report_pdf_download(sa_round_id: int):
    p, round_, suppressed = _request(sa_round_id)
    row, state = sa_files.current_state(round_, p.partnership_id, suppressed)
    if state != FileState.READY:
        raise ApiError(
            409,
            "The PDF is not ready for the figures as they are now: ask for it with POST "
            f"/api/v1/rounds/{round_.id}/self-assessment/report/pdf and wait until GET on it says it is ready",
            {"pdf": ["Not ready"]},
        )
    assert row is not None and row.stored_file is not None
    exports.record_answers_export(p.partnership_id, round_id=round_.id)
    return send_file(
        storage.open_file(row.stored_file),
        mimetype=PDF,
        as_attachment=True,
        download_name=sa_files.file_name(round_, suppressed),
    )
