"""Report files: the PDFs of a round (the chair's report, the full report, the learning briefing), drawn by a
job and kept until the round changes.

A file is current while its ``fingerprint`` equals the round's fingerprint now
(``reporting.report.round_fingerprint``): any change to the round, its cases,
returns, answers, judgements, meeting record or chair's report gives another
fingerprint, so the kept file is no longer offered and a new one is drawn.
"""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..core.models import UTCDateTime, enum_type, utcnow
from ..core.storage import StoredFile
from ..extensions import db


class ReportKind(enum.StrEnum):
    REPORT = "report"
    FULL = "full"
    BRIEFING = "briefing"

    @property
    def label(self) -> str:
        return REPORT_KIND_LABELS[self]


REPORT_KIND_LABELS = {
    ReportKind.REPORT: "The chair's report",
    ReportKind.FULL: "The full report, with the case-by-case and text appendices",
    ReportKind.BRIEFING: "The learning briefing (one page)",
}


class ReportFileStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    READY = "ready"
    FAILED = "failed"


class ReportFile(db.Model):
    """The latest drawing of one kind of PDF for a round (one row per round, kind and small-count setting)."""

    __tablename__ = "report_files"
    __table_args__ = (
        sa.UniqueConstraint("round_id", "kind", "suppressed"),
        sa.CheckConstraint("progress BETWEEN 0 AND 100", name="progress_percent"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    round_id: Mapped[int] = mapped_column(sa.ForeignKey("rounds.id", ondelete="CASCADE"), index=True)
    kind: Mapped[ReportKind] = mapped_column(enum_type(ReportKind, "kind"))
    #: counts from 1 to 4 shown as "fewer than 5"
    suppressed: Mapped[bool] = mapped_column(default=False)
    #: the round's fingerprint when the drawing was asked for
    fingerprint: Mapped[str] = mapped_column(sa.String(64))
    status: Mapped[ReportFileStatus] = mapped_column(enum_type(ReportFileStatus, "status"))
    progress: Mapped[int] = mapped_column(default=0)
    #: what the job is doing, as people read it
    stage: Mapped[str] = mapped_column(sa.String(100), default="")
    stored_file_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stored_files.id"))
    error: Mapped[str] = mapped_column(sa.Text, default="")
    pages: Mapped[int | None] = mapped_column()
    #: CPU the drawing took, in seconds
    cpu_seconds: Mapped[float | None] = mapped_column()
    requested_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    stored_file: Mapped[StoredFile | None] = relationship()


def _classify_for_redaction() -> None:
    from ..core.redaction import exempt_table

    exempt_table(
        ReportFile.__table__,
        "a drawing's fingerprint, stage and error are the app's own words; the PDFs themselves are forgotten "
        "on a redaction (case_audits.services._forget_drawn_reports) and drawn again",
    )


_classify_for_redaction()
