"""The board's PDF of a self-assessment round's report: asked for, drawn by a job, kept until the figures change.

Like the round reports and the action plan's PDF (``report_files``): a :class:`SaReportFile` row per round,
partnership looking (a shared round's report shows each partnership its own agencies) and small-count setting.
Its ``fingerprint`` is a hash of every figure the PDF shows (``self_assessments.report_fingerprint``), so a kept
file is offered while the report still has those figures, otherwise it is drawn again.
"""

from __future__ import annotations

import logging
from datetime import datetime

import sqlalchemy as sa
from flask import render_template
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import Partnership
from ..core import clock
from ..core.jobs import enqueue
from ..core.models import UTCDateTime, enum_type, utcnow
from ..core.redaction import exempt_table
from ..core.storage import StoredFile
from ..extensions import db
from ..rounds.models import Round
from . import exports
from .models import ReportFileStatus
from .report_files import FileState, draw_kept_pdf, file_state, queue_drawing
from .self_assessments import SaReport, build_report, report_fingerprint

logger = logging.getLogger(__name__)


class SaReportFile(db.Model):
    """The latest drawing of a self-assessment round's board PDF for one partnership and small-count setting."""

    __tablename__ = "sa_report_files"
    __table_args__ = (
        sa.UniqueConstraint("round_id", "partnership_id", "suppressed"),
        sa.CheckConstraint("progress BETWEEN 0 AND 100", name="progress_percent"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    #: the partnership whose agencies the report shows
    partnership_id: Mapped[int] = mapped_column(sa.ForeignKey("partnerships.id", ondelete="CASCADE"), index=True)
    #: counts from 1 to 4 shown as "fewer than 5"
    suppressed: Mapped[bool] = mapped_column(default=False)
    #: the report's fingerprint when the drawing was asked for
    fingerprint: Mapped[str] = mapped_column(sa.String(64))
    status: Mapped[ReportFileStatus] = mapped_column(enum_type(ReportFileStatus, "status"))
    progress: Mapped[int] = mapped_column(default=0)
    stage: Mapped[str] = mapped_column(sa.String(100), default="")
    stored_file_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stored_files.id"))
    error: Mapped[str] = mapped_column(sa.Text, default="")
    pages: Mapped[int | None] = mapped_column()
    requested_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    stored_file: Mapped[StoredFile | None] = relationship()


exempt_table(
    SaReportFile.__table__,
    "a drawing's fingerprint, stage and error are the app's own words; the PDF holds figures and agency names, "
    "never a case",
)

STATE_LABELS = {
    FileState.NONE: "Not prepared for the figures as they are now",
    FileState.PREPARING: "Being prepared",
    FileState.READY: "Ready",
    FileState.FAILED: "Could not be prepared",
}


def file_name(round_: Round, suppressed: bool) -> str:
    withheld = "-small-counts-withheld" if suppressed else ""
    return f"{exports.file_stem(round_.title)}-self-assessment-summary{withheld}.pdf"


def sa_report_file(round_id: int, partnership_id: int, suppressed: bool) -> SaReportFile | None:
    return db.session.scalar(
        sa.select(SaReportFile).where(
            SaReportFile.round_id == round_id,
            SaReportFile.partnership_id == partnership_id,
            SaReportFile.suppressed == suppressed,
        )
    )


def _report(round_: Round, partnership_id: int, suppressed: bool) -> SaReport:
    report = build_report(round_, partnership_id)
    return report.suppress() if suppressed else report


def current_state(round_: Round, partnership_id: int, suppressed: bool) -> tuple[SaReportFile | None, FileState]:
    row = sa_report_file(round_.id, partnership_id, suppressed)
    if row is None:
        return None, FileState.NONE
    return row, file_state(row, report_fingerprint(_report(round_, partnership_id, suppressed)))


def request_sa_file(round_: Round, partnership_id: int, suppressed: bool, *, by_user_id: int | None) -> SaReportFile:
    """Ask for the board's PDF: kept if current, left alone if being drawn, else queued. The caller commits."""
    fingerprint = report_fingerprint(_report(round_, partnership_id, suppressed))
    row = sa_report_file(round_.id, partnership_id, suppressed)
    if file_state(row, fingerprint) in (FileState.READY, FileState.PREPARING):
        return row  # type: ignore[return-value]
    if row is None:
        row = SaReportFile(round_id=round_.id, partnership_id=partnership_id, suppressed=suppressed)
        db.session.add(row)
    row.fingerprint = fingerprint
    row.requested_by_id = by_user_id
    queue_drawing(row)
    logger.info("self-assessment summary of round %s asked for by user %s", round_.id, by_user_id)
    enqueue(build_sa_file, row.id, row.requested_at)
    return row


def summary_html(report: SaReport) -> str:
    return render_template(
        "self_assessments/report_pdf.html",
        report=report,
        partnership=db.session.get(Partnership, report.partnership_id),
        generated=clock.local_now(),
    )


def build_sa_file(sa_report_file_id: int, requested_at: datetime) -> None:
    """Job: draw the PDF a :class:`SaReportFile` asks for, reporting progress, and keep it."""
    row = db.session.get(SaReportFile, sa_report_file_id)
    if row is None or row.requested_at != requested_at or row.status != ReportFileStatus.QUEUED:
        return
    round_ = db.session.get(Round, row.round_id)
    if round_ is None:
        return
    report = _report(round_, row.partnership_id, row.suppressed)
    draw_kept_pdf(
        row,
        fingerprint=report_fingerprint(report),
        gathering="Gathering the figures",
        make_html=lambda: summary_html(report),
        file_name=file_name(round_, row.suppressed),
        partnership_id=row.partnership_id,
        what=f"self-assessment summary of round {row.round_id}",
    )
