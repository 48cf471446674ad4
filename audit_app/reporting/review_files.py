"""The PDF of the annual summary of learning reviews: asked for, drawn by a job, kept until the figures change.

Like the self-assessment board PDF (``sa_files``): one :class:`ReviewSummaryFile` row per partnership and
reporting year; its ``fingerprint`` is a hash of every figure the PDF shows, so a kept file is offered while
the summary still has those figures, otherwise it is drawn again.
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
from ..reviews.models import LearningReview
from .models import ReportFileStatus
from .report_files import FileState, draw_kept_pdf, file_state, queue_drawing
from .reviews import AnnualSummary, build_annual_summary, summary_fingerprint

logger = logging.getLogger(__name__)


class ReviewSummaryFile(db.Model):
    """The latest drawing of a partnership's annual summary of learning reviews for one reporting year."""

    __tablename__ = "review_summary_files"
    __table_args__ = (
        sa.UniqueConstraint("partnership_id", "year"),
        sa.CheckConstraint("progress BETWEEN 0 AND 100", name="progress_percent"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    partnership_id: Mapped[int] = mapped_column(sa.ForeignKey("partnerships.id", ondelete="CASCADE"), index=True)
    #: the reporting year, named by the year its 1 April falls in
    year: Mapped[int] = mapped_column()
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
    ReviewSummaryFile.__table__,
    "a drawing's fingerprint, stage and error are the app's own words; the PDF holds counts and theme names",
)


def partnership_reviews(partnership_id: int) -> sa.Select:
    """Every review of the partnership: the annual summary counts them all (it is read by the partnership-wide
    roles, who see unpublished reviews too)."""
    return sa.select(LearningReview).where(LearningReview.partnership_id == partnership_id)


def file_name(year: int) -> str:
    return f"learning-reviews-annual-summary-{year}-{(year + 1) % 100:02d}.pdf"


def summary_file(partnership_id: int, year: int) -> ReviewSummaryFile | None:
    return db.session.scalar(
        sa.select(ReviewSummaryFile).where(
            ReviewSummaryFile.partnership_id == partnership_id, ReviewSummaryFile.year == year
        )
    )


def _summary(partnership_id: int, year: int) -> AnnualSummary:
    return build_annual_summary(partnership_reviews(partnership_id), partnership_id, year)


def current_state(partnership_id: int, year: int) -> tuple[ReviewSummaryFile | None, FileState]:
    row = summary_file(partnership_id, year)
    if row is None:
        return None, FileState.NONE
    return row, file_state(row, summary_fingerprint(_summary(partnership_id, year)))


def request_summary_file(partnership_id: int, year: int, *, by_user_id: int | None) -> ReviewSummaryFile:
    """Ask for the PDF: kept if current, left alone if being drawn, else queued. The caller commits."""
    fingerprint = summary_fingerprint(_summary(partnership_id, year))
    row = summary_file(partnership_id, year)
    if file_state(row, fingerprint) in (FileState.READY, FileState.PREPARING):
        return row  # type: ignore[return-value]
    if row is None:
        row = ReviewSummaryFile(partnership_id=partnership_id, year=year)
        db.session.add(row)
    row.fingerprint = fingerprint
    row.requested_by_id = by_user_id
    queue_drawing(row)
    logger.info("annual summary of reviews %s asked for by user %s", year, by_user_id)
    enqueue(build_summary_file, row.id, row.requested_at)
    return row


def summary_html(summary: AnnualSummary) -> str:
    return render_template(
        "review_reports/annual_pdf.html",
        summary=summary,
        partnership=db.session.get(Partnership, summary.partnership_id),
        generated=clock.local_now(),
    )


def build_summary_file(review_summary_file_id: int, requested_at: datetime) -> None:
    """Job: draw the PDF a :class:`ReviewSummaryFile` asks for, reporting progress, and keep it."""
    row = db.session.get(ReviewSummaryFile, review_summary_file_id)
    if row is None or row.requested_at != requested_at or row.status != ReportFileStatus.QUEUED:
        return
    summary = _summary(row.partnership_id, row.year)
    draw_kept_pdf(
        row,
        fingerprint=summary_fingerprint(summary),
        gathering="Gathering the figures",
        make_html=lambda: summary_html(summary),
        file_name=file_name(row.year),
        partnership_id=row.partnership_id,
        what=f"annual summary of learning reviews {row.year}",
    )
