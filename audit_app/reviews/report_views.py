"""The learning-review files: the register and the learning summary as XLSX (what the reader can see), and the
annual summary for 1 April to 31 March as a page, XLSX and a PDF drawn by a job."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import login_required

from ..core import storage
from ..core.forms import ConfirmForm
from ..core.permissions import allowed_or_403, current_principal
from ..extensions import db
from ..reporting import exports, review_files
from ..reporting import reviews as report
from ..reporting.report_files import FileState
from .permissions import can_view_register, can_view_unpublished, reviews_query

bp = Blueprint("review_reports", __name__)

#: the reporting years offered: from the first the product could hold to a few years ahead
FIRST_YEAR, LAST_YEAR = 2000, 2100


def _xlsx(data: bytes, name: str) -> Response:
    return Response(
        data, mimetype=exports.XLSX_MIMETYPE, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


def chosen_year(raw: str | None) -> int | None:
    """The reporting year asked for (``?year=2025`` is 1 April 2025 to 31 March 2026), the last complete one if
    none; None if it is not a year."""
    if raw is None or raw.strip() == "":
        return report.default_year()
    text = raw.strip()
    if not text.isdigit() or not FIRST_YEAR <= int(text) <= LAST_YEAR:
        return None
    return int(text)


def _year_or_400() -> int:
    year = chosen_year(request.args.get("year"))
    if year is None:
        abort(
            400,
            f"Year: enter the year the reporting year starts in, such as {report.default_year()} "
            f"(between {FIRST_YEAR} and {LAST_YEAR})",
        )
    return year


@bp.get("/reviews/register.xlsx")
@login_required
def register_xlsx():
    """The register as a spreadsheet: every review the reader can see, with its clocks."""
    p = current_principal()
    allowed_or_403(can_view_register(p))
    return _xlsx(report.register_xlsx(report.register_table(reviews_query(p))), "learning-reviews-register.xlsx")


@bp.get("/reviews/learning-summary.xlsx")
@login_required
def learning_xlsx():
    """The learning summary as a spreadsheet: learning points with their themes, recommendations, theme counts."""
    p = current_principal()
    allowed_or_403(can_view_register(p))
    tables = report.learning_tables(reviews_query(p), p.partnership_id)
    return _xlsx(report.learning_xlsx(tables), "learning-reviews-learning-summary.xlsx")


@bp.get("/reviews/annual-summary")
@login_required
def annual_summary():
    """The annual summary of reviews for the partnership's annual report: counts by type and decision,
    timeliness against each clock, publication and themes (XLSX with ``?download=xlsx``)."""
    p = current_principal()
    allowed_or_403(can_view_unpublished(p))
    year = _year_or_400()
    download = request.args.get("download", "")
    if download not in ("", "xlsx"):
        abort(400, "Download: the annual summary is offered as xlsx")
    summary = report.build_annual_summary(review_files.partnership_reviews(p.partnership_id), p.partnership_id, year)
    if download == "xlsx":
        return _xlsx(
            report.summary_xlsx(summary), f"learning-reviews-annual-summary-{year}-{(year + 1) % 100:02d}.xlsx"
        )
    this_year = report.default_year() + 1
    return render_template(
        "review_reports/annual_summary.html",
        summary=summary,
        years=list(range(this_year, this_year - 6, -1)),
    )


@bp.get("/reviews/annual-summary/pdf")
@login_required
def annual_pdf_page():
    """Where the annual summary's PDF stands: prepare it, see its progress, or download it."""
    p = current_principal()
    allowed_or_403(can_view_unpublished(p))
    year = _year_or_400()
    row, state = review_files.current_state(p.partnership_id, year)
    return render_template(
        "review_reports/annual_pdf_page.html",
        year=year,
        label=report.agg.year_label(year),
        row=row,
        state=state,
        FileState=FileState,
    )


@bp.post("/reviews/annual-summary/pdf")
@login_required
def annual_pdf_prepare():
    """Ask for the annual summary's PDF: drawn by a job after this request, unless a current one is kept."""
    p = current_principal()
    allowed_or_403(can_view_unpublished(p))
    year = _year_or_400()
    if not ConfirmForm().validate_on_submit():
        abort(400, "The form has expired: go back, reload the page and try again")
    review_files.request_summary_file(p.partnership_id, year, by_user_id=p.user_id)
    db.session.commit()
    return redirect(url_for("review_reports.annual_pdf_page", year=year), 303)


@bp.get("/reviews/annual-summary.pdf")
@login_required
def annual_pdf():
    """The annual summary's PDF when prepared from the figures as they are now; otherwise to the page that
    prepares it."""
    p = current_principal()
    allowed_or_403(can_view_unpublished(p))
    year = _year_or_400()
    row, state = review_files.current_state(p.partnership_id, year)
    if state != FileState.READY:
        flash("The PDF of the figures as they are now is not ready yet: prepare it below", "error")
        return redirect(url_for("review_reports.annual_pdf_page", year=year), 303)
    assert row is not None and row.stored_file is not None
    return send_file(
        storage.open_file(row.stored_file),
        mimetype="application/pdf",
        as_attachment=True,
        download_name=review_files.file_name(year),
    )
