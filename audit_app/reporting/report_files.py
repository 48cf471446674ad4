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
from collections.abc import Callable
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
    row.requested_by_id = by_user_id
    queue_drawing(row)
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

    draw_kept_pdf(
        row,
        fingerprint=round_fingerprint(round_.id),
        gathering="Gathering the figures",
        make_html=lambda: round_report_html(round_, suppressed=row.suppressed, kind=row.kind),
        file_name=file_name(round_, row.kind, row.suppressed),
        partnership_id=round_.partnership_id,
        what=f"report {row.kind.value} of round {row.round_id}",
    )


# -- the life of a kept drawing, shared by every PDF drawn by a job (round reports, the action plan) --


def queue_drawing(row: Any) -> None:
    """Mark a kept drawing's row as asked for again, waiting for its job (flushed; the caller commits)."""
    row.status = ReportFileStatus.QUEUED
    row.progress = 0
    row.stage = "Waiting to start"
    row.error = ""
    row.requested_at = utcnow()
    row.finished_at = None
    db.session.flush()


def draw_kept_pdf(
    row: Any,
    *,
    fingerprint: str,
    gathering: str,
    make_html: Callable[[], str],
    file_name: str,
    partnership_id: int,
    what: str,
) -> None:
    """In a job: draw ``row``'s PDF from ``make_html()`` (the data as it is at ``fingerprint``), committing its
    progress as it goes so the page sees it, and keep the file; a failure is recorded on the row in words."""

    def progress(percent: int, stage: str) -> None:
        row.progress = percent
        row.stage = stage
        db.session.commit()  # seen by the page at once; also ends the read transaction before the layout

    started = time.process_time()
    row.status = ReportFileStatus.RUNNING
    row.fingerprint = fingerprint
    progress(5, gathering)
    try:
        html = make_html()
        progress(35, "Laying out the pages")
        data, pages = draw_pdf(html, progress)
        stored = storage.store_made_file(data, file_name, storage.PDF, partnership_id=partnership_id)
    except Exception:
        db.session.rollback()
        logger.exception("%s could not be drawn", what)
        row.status = ReportFileStatus.FAILED
        row.stage = "Failed"
        row.error = "The PDF could not be drawn. Ask for it again; if it fails again, tell the business unit."
        row.finished_at = utcnow()
        db.session.commit()
        return
    row.stored_file_id = stored.id
    row.pages = pages
    if hasattr(row, "cpu_seconds"):
        row.cpu_seconds = round(time.process_time() - started, 3)
    row.status = ReportFileStatus.READY
    row.progress = 100
    row.stage = "Ready"
    row.finished_at = utcnow()
    db.session.commit()
    logger.info("%s drawn: %s pages in %.2f s of CPU", what, pages, time.process_time() - started)
