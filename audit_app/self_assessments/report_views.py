"""The self-assessment reports: heatmap, counts by standard and sector, change since last round, return rates.

Read by the partnership-wide roles (admins, the QA group, scrutineers) of a self-assessment round that counts for
their partnership; each partnership sees its own agencies' returns (``reporting.sa_queries``). Agency users have
no report page (403): they see their own ratings and moderation on their return.
"""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import login_required

from ..core import storage
from ..core.access_log import AccessVia
from ..core.forms import ConfirmForm
from ..core.permissions import current_principal
from ..extensions import db
from ..reporting import exports, params, sa_files
from ..reporting.report_files import FileState
from ..reporting.self_assessments import SaReport, build_report, report_xlsx
from ..rounds.models import Round
from .permissions import get_sa_report_round_or_404

bp = Blueprint("sa_reports", __name__)

#: the heatmap's colour bands as GOV.UK tag colours (the words in the tag carry the meaning, never the colour alone)
BAND_TAGS = {
    "none": "govuk-tag--grey",
    "all_good": "govuk-tag--green",
    "some": "govuk-tag--yellow",
    "many": "govuk-tag--orange",
    "most": "govuk-tag--red",
}


def _report(sa_round_id: int) -> tuple[SaReport, bool]:
    p = current_principal()
    round_ = get_sa_report_round_or_404(p, sa_round_id)
    suppressed = params.suppress()
    report = build_report(round_, p.partnership_id)
    return (report.suppress() if suppressed else report), suppressed


def _record_returns(round_: Round, via: AccessVia) -> None:
    """The report shows each agency's return standard by standard: the access log records them all."""
    exports.record_answers_export(current_principal().partnership_id, round_id=round_.id, via=via)


def _args(suppressed: bool) -> dict[str, str]:
    return {"suppress": "1"} if suppressed else {}


@bp.get("/rounds/<int:sa_round_id>/self-assessment/report")
@login_required
def report(sa_round_id: int):
    """The round's heatmap, counts below good by standard and sector, change since last round and return rates."""
    sa_report, suppressed = _report(sa_round_id)
    download = request.args.get("download", "")
    if download not in ("", "xlsx"):
        abort(400, "Download: the report is offered as xlsx")
    _record_returns(sa_report.round, AccessVia.EXPORT if download else AccessVia.PAGE)
    if download == "xlsx":
        stem = exports.file_stem(sa_report.round.title)
        return Response(
            report_xlsx(sa_report),
            mimetype=exports.XLSX_MIMETYPE,
            headers={"Content-Disposition": f'attachment; filename="{stem}-self-assessment-report.xlsx"'},
        )
    return render_template(
        "self_assessments/report_page.html",
        report=sa_report,
        round=sa_report.round,
        suppressed=suppressed,
        args=_args(suppressed),
        band_tags=BAND_TAGS,
    )


@bp.get("/rounds/<int:sa_round_id>/self-assessment/report/pdf")
@login_required
def report_pdf_page(sa_round_id: int):
    """Where the board's PDF summary stands: prepare it, see its progress, or download it."""
    p = current_principal()
    round_ = get_sa_report_round_or_404(p, sa_round_id)
    suppressed = params.suppress()
    row, state = sa_files.current_state(round_, p.partnership_id, suppressed)
    return render_template(
        "self_assessments/report_pdf_page.html",
        round=round_,
        row=row,
        state=state,
        FileState=FileState,
        suppressed=suppressed,
        args=_args(suppressed),
    )


@bp.post("/rounds/<int:sa_round_id>/self-assessment/report/pdf")
@login_required
def report_pdf_prepare(sa_round_id: int):
    """Ask for the board's PDF: drawn by a job after this request, unless a current one is kept."""
    p = current_principal()
    round_ = get_sa_report_round_or_404(p, sa_round_id)
    suppressed = params.suppress()
    if not ConfirmForm().validate_on_submit():
        abort(400, "The form has expired: go back, reload the page and try again")
    sa_files.request_sa_file(round_, p.partnership_id, suppressed, by_user_id=p.user_id)
    db.session.commit()
    return redirect(url_for("sa_reports.report_pdf_page", sa_round_id=round_.id, **_args(suppressed)), 303)


@bp.get("/rounds/<int:sa_round_id>/self-assessment/report.pdf")
@login_required
def report_pdf(sa_round_id: int):
    """The board's PDF, when prepared from the figures as they are now; otherwise to the page that prepares it."""
    p = current_principal()
    round_ = get_sa_report_round_or_404(p, sa_round_id)
    suppressed = params.suppress()
    row, state = sa_files.current_state(round_, p.partnership_id, suppressed)
    if state != FileState.READY:
        flash("The PDF of the figures as they are now is not ready yet: prepare it below", "error")
        return redirect(url_for("sa_reports.report_pdf_page", sa_round_id=round_.id, **_args(suppressed)), 303)
    assert row is not None and row.stored_file is not None
    _record_returns(round_, AccessVia.EXPORT)
    return send_file(
        storage.open_file(row.stored_file),
        mimetype="application/pdf",
        as_attachment=True,
        download_name=sa_files.file_name(round_, suppressed),
    )
