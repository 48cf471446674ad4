"""Learning-review files through the API: the same tables as the pages.

``GET /reviews/annual-summary`` answers the annual summary's tables (``{key, title, suppressed, columns, rows,
notes}``, as the findings API) for a reporting year (``?year=2025`` is 1 April 2025 to 31 March 2026);
``.xlsx`` is the page's spreadsheet; ``/pdf`` asks for and reports on its PDF, ``.pdf`` downloads it. The
register and the learning summary come as XLSX (and the learning summary's tables as JSON), holding what the
caller may see.
"""

from __future__ import annotations

from typing import Any, Literal

from flask import Response, jsonify, send_file, url_for
from pydantic import BaseModel, ConfigDict, Field

from ..accounts.models import Role
from ..core import storage
from ..core.permissions import Principal
from ..extensions import db
from ..reporting import exports, review_files
from ..reporting import reviews as report
from ..reporting.report_files import FileState
from ..reporting.review_aggregation import year_label
from ..reviews.permissions import REGISTER_READERS, can_view_unpublished, reviews_query
from ..reviews.report_views import FIRST_YEAR, LAST_YEAR
from .helpers import ApiError, principal, query_args, require
from .spec import api_route

TAG = "learning review reports"
PDF = "application/pdf"
EVERY_ROLE = (Role.ADMIN, Role.QA_MEMBER, Role.AGENCY_LEAD, Role.AUDITOR, Role.SCRUTINEER)
SEEN = "agency auditors and leads get the published reviews only"
STATE_LABELS = {
    FileState.NONE: "Not prepared for the figures as they are now",
    FileState.PREPARING: "Being prepared",
    FileState.READY: "Ready",
    FileState.FAILED: "Could not be prepared",
}


class YearQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")

    year: int | None = Field(
        default=None,
        ge=FIRST_YEAR,
        le=LAST_YEAR,
        description="The year the reporting year starts in: 2025 is 1 April 2025 to 31 March 2026 (default: the "
        "last complete one)",
    )


class AnnualSummaryOut(BaseModel):
    year: int
    label: str = Field(description="1 April 2025 to 31 March 2026")
    starts_on: str
    ends_on: str
    headline: dict[str, int] = Field(
        description="reviews (started in the year), rapid_reviews, decisions (rapid review decisions made in it), "
        "clocks_missed (clocks due in it that were met late or are overdue)"
    )
    tables: dict[str, dict[str, Any]]


class LearningSummaryOut(BaseModel):
    tables: dict[str, dict[str, Any]]


class SummaryPdfOut(BaseModel):
    year: int
    state: Literal["none", "preparing", "ready", "failed"]
    state_label: str
    progress: int | None
    stage: str | None
    pages: int | None
    error: str | None
    download: str | None


def _reader() -> Principal:
    """The caller, if of the QA group, an admin or a scrutineer (the summary counts unpublished reviews)."""
    p = principal()
    require(can_view_unpublished(p))
    return p


def _year() -> int:
    given = query_args()
    return given.year if given.year is not None else report.default_year()


def _xlsx(data: bytes, name: str) -> Response:
    return Response(
        data, mimetype=exports.XLSX_MIMETYPE, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


@api_route(
    "/reviews/annual-summary",
    "GET",
    summary="The annual summary of learning reviews for a reporting year: reviews by type, rapid review decisions "
    "and the National Panel's response, timeliness against each statutory clock, publication, learning themes",
    tag=TAG,
    response_model=AnnualSummaryOut,
    roles=REGISTER_READERS,
    query_model=YearQuery,
)
def review_annual_summary():
    p = _reader()
    year = _year()
    summary = report.build_annual_summary(review_files.partnership_reviews(p.partnership_id), p.partnership_id, year)
    first, last = report.agg.year_bounds(year)
    return jsonify(
        AnnualSummaryOut(
            year=year,
            label=year_label(year),
            starts_on=first.isoformat(),
            ends_on=last.isoformat(),
            headline=summary.headline,
            tables={key: table.to_json() for key, table in summary.tables.items()},
        ).model_dump(mode="json")
    )


@api_route(
    "/reviews/annual-summary.xlsx",
    "GET",
    summary="The annual summary's tables as XLSX, one sheet each after an About sheet",
    tag=TAG,
    roles=REGISTER_READERS,
    query_model=YearQuery,
    produces=(exports.XLSX_MIMETYPE,),
)
def review_annual_summary_xlsx():
    p = _reader()
    year = _year()
    summary = report.build_annual_summary(review_files.partnership_reviews(p.partnership_id), p.partnership_id, year)
    return _xlsx(report.summary_xlsx(summary), f"learning-reviews-annual-summary-{year}-{(year + 1) % 100:02d}.xlsx")


def _pdf_out(partnership_id: int, year: int) -> dict[str, Any]:
    row, state = review_files.current_state(partnership_id, year)
    ready = state == FileState.READY
    return SummaryPdfOut(
        year=year,
        state=state.value,
        state_label=STATE_LABELS[state],
        progress=row.progress if row is not None and state == FileState.PREPARING else None,
        stage=row.stage if row is not None and state == FileState.PREPARING else None,
        pages=row.pages if row is not None and ready else None,
        error=row.error if row is not None and state == FileState.FAILED else None,
        download=url_for("api.review_annual_summary_pdf_download", year=year) if ready else None,
    ).model_dump(mode="json")


@api_route(
    "/reviews/annual-summary/pdf",
    "GET",
    summary="Where the annual summary's PDF stands: not prepared, being prepared (with progress), ready (with its "
    "download URL) or failed",
    tag=TAG,
    response_model=SummaryPdfOut,
    roles=REGISTER_READERS,
    query_model=YearQuery,
)
def review_annual_summary_pdf_status():
    p = _reader()
    return jsonify(_pdf_out(p.partnership_id, _year()))


@api_route(
    "/reviews/annual-summary/pdf",
    "POST",
    summary="Ask for the annual summary's PDF: drawn by a job unless one drawn from the figures as they are now is "
    "kept",
    tag=TAG,
    response_model=SummaryPdfOut,
    roles=REGISTER_READERS,
    query_model=YearQuery,
    status=202,
)
def review_annual_summary_pdf_prepare():
    p = _reader()
    year = _year()
    review_files.request_summary_file(p.partnership_id, year, by_user_id=p.user_id)
    db.session.commit()
    db.session.expire_all()
    return jsonify(_pdf_out(p.partnership_id, year)), 202


@api_route(
    "/reviews/annual-summary.pdf",
    "GET",
    summary="The prepared annual summary PDF; 409 if it is not ready for the figures as they are now",
    tag=TAG,
    roles=REGISTER_READERS,
    query_model=YearQuery,
    produces=(PDF,),
    refusals={409: "Not ready for the figures as they are now: ask for it with POST .../annual-summary/pdf and wait"},
)
def review_annual_summary_pdf_download():
    p = _reader()
    year = _year()
    row, state = review_files.current_state(p.partnership_id, year)
    if state != FileState.READY:
        raise ApiError(
            409,
            "The PDF is not ready for the figures as they are now: ask for it with POST "
            f"/api/v1/reviews/annual-summary/pdf?year={year} and wait until GET on it says it is ready",
            {"pdf": ["Not ready"]},
        )
    assert row is not None and row.stored_file is not None
    return send_file(
        storage.open_file(row.stored_file), mimetype=PDF, as_attachment=True, download_name=review_files.file_name(year)
    )


@api_route(
    "/reviews/register.xlsx",
    "GET",
    summary="The register of learning reviews as XLSX: every review the caller may see, with each clock's due date "
    "and state",
    tag=TAG,
    roles=EVERY_ROLE,
    roles_note=SEEN,
    produces=(exports.XLSX_MIMETYPE,),
)
def review_register_xlsx():
    p = principal()
    return _xlsx(report.register_xlsx(report.register_table(reviews_query(p))), "learning-reviews-register.xlsx")


@api_route(
    "/reviews/learning-summary",
    "GET",
    summary="The learning summary: every learning point with its themes, every recommendation of a review, and "
    "how often each theme tags a learning point",
    tag=TAG,
    response_model=LearningSummaryOut,
    roles=EVERY_ROLE,
    roles_note=SEEN,
)
def review_learning_summary():
    p = principal()
    tables = report.learning_tables(reviews_query(p), p.partnership_id)
    return jsonify(LearningSummaryOut(tables={t.key: t.to_json() for t in tables}).model_dump(mode="json"))


@api_route(
    "/reviews/learning-summary.xlsx",
    "GET",
    summary="The learning summary as XLSX",
    tag=TAG,
    roles=EVERY_ROLE,
    roles_note=SEEN,
    produces=(exports.XLSX_MIMETYPE,),
)
def review_learning_summary_xlsx():
    p = principal()
    tables = report.learning_tables(reviews_query(p), p.partnership_id)
    return _xlsx(report.learning_xlsx(tables), "learning-reviews-learning-summary.xlsx")
