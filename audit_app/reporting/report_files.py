"""The round's PDFs as jobs: asked for, drawn outside the request, kept until the round changes.

A page (or API client) asks for a kind of PDF with :func:`request_file`. If a file of that kind drawn from
the round as it is now is kept, or one is being drawn, nothing more happens; otherwise the request is
recorded (``queued``) and :func:`build_report_file` is enqueued to run after commit (``core/jobs.py``: in
the web process after the response's transaction in development and tests, on an RQ worker in production).
The job reports its progress on the row as it goes and keeps the PDF as a stored file
(``core/storage.py``). A kept file is offered while the round's fingerprint
(:func:`report.round_fingerprint`) is the one it was drawn from.
"""

from __future__ import annotations

import enum
import logging
import time
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from ..core import storage
from ..core.jobs import enqueue
from ..core.models import utcnow
from ..extensions import db
from ..rounds.models import Round
from . import exports
from .models import ReportFile, ReportFileStatus, ReportKind
from .report import draw_pdf, round_fingerprint, round_report_html

logger = logging.getLogger(__name__)

#: a drawing not finished after this long is taken to have died with its worker: it can be asked for again
GIVE_UP_AFTER = timedelta(minutes=15)


class FileState(enum.StrEnum):
    """Where a kind of PDF stands for the round as it is now."""

    NONE = "none"
    PREPARING = "preparing"
    READY = "ready"
    FAILED = "failed"


FILE_STATE_LABELS = {
    FileState.NONE: "Not prepared for the round as it is now",
    FileState.PREPARING: "Preparing",
    FileState.READY: "Ready",
    FileState.FAILED: "Could not be prepared",
}

FILE_NAMES = {ReportKind.REPORT: "chairs-report", ReportKind.FULL: "report", ReportKind.BRIEFING: "briefing"}


def file_name(round_: Round, kind: ReportKind, suppressed: bool) -> str:
    return f"{exports.file_stem(round_.title)}-{FILE_NAMES[kind]}{'-small-counts-withheld' if suppressed else ''}.pdf"


def report_file(round_id: int, kind: ReportKind, suppressed: bool) -> ReportFile | None:
    return db.session.scalar(
        sa.select(ReportFile).where(
            ReportFile.round_id == round_id, ReportFile.kind == kind, ReportFile.suppressed == suppressed
        )
    )


def file_state(row: ReportFile | Any | None, fingerprint: str) -> FileState:
    """Ready: drawn from its data as it is now (the round's, or the action plan's). Preparing: queued or running,
    and not given up on. ``row`` is any kept drawing with a status, a request time and a fingerprint."""
    if row is None:
        return FileState.NONE
    if row.status in (ReportFileStatus.QUEUED, ReportFileStatus.RUNNING):
        return FileState.PREPARING if utcnow() - row.requested_at < GIVE_UP_AFTER else FileState.NONE
    if row.fingerprint != fingerprint:
        return FileState.NONE
    return FileState.READY if row.status == ReportFileStatus.READY else FileState.FAILED


def request_file(round_: Round, kind: ReportKind, suppressed: bool, *, by_user_id: int | None) -> ReportFile:
    """Ask for a kind of PDF of the round: kept if current, left alone if being drawn, else queued to draw.
    The caller commits; the job runs after that commit."""
    fingerprint = round_fingerprint(round_.id)
    row = report_file(round_.id, kind, suppressed)
    state = file_state(row, fingerprint)
    if state in (FileState.READY, FileState.PREPARING):
        return row  # type: ignore[return-value]
    if row is None:
        row = ReportFile(round_id=round_.id, kind=kind, suppressed=suppressed)
        db.session.add(row)
    row.fingerprint = fingerprint
    row.status = ReportFileStatus.QUEUED
    row.progress = 0
    row.stage = "Waiting to start"
    row.error = ""
    row.requested_by_id = by_user_id
    row.requested_at = utcnow()
    row.finished_at = None
    db.session.flush()
    logger.info("report %s of round %s asked for by user %s", kind.value, round_.id, by_user_id)
    enqueue(build_report_file, row.id, row.requested_at)
    return row


def build_report_file(report_file_id: int, requested_at: datetime) -> None:
    """Job: draw the PDF a :class:`ReportFile` asks for, reporting progress, and keep it.

    ``requested_at`` names the request: if the row was asked for again since, this drawing is not wanted."""
    row = db.session.get(ReportFile, report_file_id)
    if row is None or row.requested_at != requested_at or row.status != ReportFileStatus.QUEUED:
        return
    round_ = db.session.get(Round, row.round_id)
    if round_ is None:
        return

    def progress(percent: int, stage: str) -> None:
        row.progress = percent
        row.stage = stage
        db.session.commit()  # seen by the page at once; also ends the read transaction before the layout

    started = time.process_time()
    row.status = ReportFileStatus.RUNNING
    # the file will be drawn from the round as it is at this moment
    row.fingerprint = round_fingerprint(round_.id)
    progress(5, "Gathering the figures")
    try:
        html = round_report_html(round_, suppressed=row.suppressed, kind=row.kind)
        progress(35, "Laying out the pages")
        data, pages = draw_pdf(html, progress)
        stored = storage.store_made_file(
            data,
            file_name(round_, row.kind, row.suppressed),
            storage.PDF,
            partnership_id=round_.partnership_id,
        )
    except Exception:
        db.session.rollback()
        logger.exception("report %s of round %s could not be drawn", row.kind.value, row.round_id)
        row.status = ReportFileStatus.FAILED
        row.stage = "Failed"
        row.error = "The PDF could not be drawn. Ask for it again; if it fails again, tell the business unit."
        row.finished_at = utcnow()
        db.session.commit()
        return
    row.stored_file_id = stored.id
    row.pages = pages
    row.cpu_seconds = round(time.process_time() - started, 3)
    row.status = ReportFileStatus.READY
    row.progress = 100
    row.stage = "Ready"
    row.finished_at = utcnow()
    db.session.commit()
    logger.info("report %s of round %s drawn: %s pages", row.kind.value, row.round_id, pages)
