"""The action plan's files: the XLSX (drawn on request) and the PDF for a board paper (asked for, drawn by a job,
kept until the plan changes). The page (plan_views.py) and the API (api/actions.py) both serve them from here.

Like the round's PDFs (reporting/report_files.py), but the plan is scoped to the person asking (an agency's
auditor sees only the actions that concern their agency) and filtered, so a :class:`PlanFile` row is kept per
(partnership, person, filters). Its ``fingerprint`` is a hash of every figure and text the PDF shows, computed
from the plan as it is now (and today's date, since overdue moves with it): a kept file is offered while the
plan still has that fingerprint, otherwise it is drawn again.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from flask import render_template
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..accounts.models import Partnership
from ..accounts.session import principal_for
from ..core import clock
from ..core.files import text_cell
from ..core.jobs import enqueue
from ..core.models import UTCDateTime, enum_type, utcnow
from ..core.permissions import Principal
from ..core.redaction import exempt_table
from ..core.storage import StoredFile
from ..extensions import db
from ..reporting.models import ReportFileStatus
from ..reporting.report_files import FileState, draw_kept_pdf, file_state, queue_drawing
from .plan import PlanFilters, plan_actions, plan_counts
from .plan_rows import filter_labels, plan_charts, plan_rows

logger = logging.getLogger(__name__)

FILE_NAME = "action-plan.pdf"
XLSX_NAME = "action-plan.xlsx"
#: where the plan's PDF stands, in the page's words (the API gives them beside the state's key)
STATE_LABELS = {
    FileState.NONE: "Not prepared for the plan as it is now",
    FileState.PREPARING: "Being prepared",
    FileState.READY: "Ready",
    FileState.FAILED: "Could not be prepared",
}
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# -- the spreadsheet --

XLSX_COLUMNS = [
    ("Source", 30),
    ("Recommendation number", 14),
    ("Recommendation", 60),
    ("Action", 50),
    ("Owner", 24),
    ("Agency", 28),
    ("Due date", 14),
    ("Original due date", 14),
    ("Status", 22),
    ("RAG", 26),
    ("Overdue", 10),
    ("Latest update", 14),
    ("Latest update note", 60),
    ("Impact evidence", 22),
    ("Accepted evidence of impact", 60),
    ("Learning themes", 30),
]
DATE_COLUMNS = {"Due date", "Original due date", "Latest update"}


def plan_xlsx(rows: list[dict[str, Any]], about: list[tuple[str, str]]) -> bytes:
    """The plan as a workbook: one row per action, real dates, the header row frozen; an "About" sheet."""
    book = Workbook()
    sheet = book.active
    sheet.title = "Action plan"
    bold = Font(bold=True)
    for index, (heading, width) in enumerate(XLSX_COLUMNS, start=1):
        text_cell(sheet.cell(row=1, column=index), heading).font = bold
        sheet.column_dimensions[get_column_letter(index)].width = width
    wrap = Alignment(wrap_text=True, vertical="top")
    for row_no, row in enumerate(rows, start=2):
        values = [
            row["source"],
            row["recommendation_number"],
            row["recommendation_text"],
            row["title"],
            row["owner"],
            row["agency"],
            row["due_on"],
            row["original_due_on"],
            row["status"],
            row["rag_text"],
            "Yes" if row["overdue"] else "No",
            row["update_on"],
            row["update_note"],
            row["evidence_state"],
            row["evidence"],
            row["themes"],
        ]
        for col_no, ((heading, _), value) in enumerate(zip(XLSX_COLUMNS, values, strict=True), start=1):
            cell = text_cell(sheet.cell(row=row_no, column=col_no), value if value != "" else None)
            cell.alignment = wrap
            if heading in DATE_COLUMNS and value is not None:
                cell.number_format = "d mmmm yyyy"
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(XLSX_COLUMNS))}{max(1, len(rows) + 1)}"
    info = book.create_sheet("About")
    for index, width in ((1, 24), (2, 100)):
        info.column_dimensions[get_column_letter(index)].width = width
    for row_no, (item, detail) in enumerate(
        [("Item", "Detail"), *about, ("Downloaded", clock.local_now().strftime("%-d %B %Y %H:%M"))], start=1
    ):
        text_cell(info.cell(row=row_no, column=1), item).font = bold if row_no == 1 else Font()
        text_cell(info.cell(row=row_no, column=2), detail).font = bold if row_no == 1 else Font()
    info.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def plan_spreadsheet(p: Principal, filters: PlanFilters) -> bytes:
    """The plan the person may see, with these filters, as XLSX: the rows, and what they are on "About"."""
    today = clock.today()
    rows = plan_rows(plan_actions(p, filters, today), today)
    about = [("Contents", "The composite action plan: every action you can see, what needs action first")]
    about += filter_labels(p, filters) or [("Filters", "None set: every action")]
    about.append(("Actions", str(len(rows))))
    return plan_xlsx(rows, about)


# -- the PDF --


class PlanFile(db.Model):
    """The latest drawing of the action plan's PDF for one person, partnership and set of filters."""

    __tablename__ = "plan_files"
    __table_args__ = (
        sa.UniqueConstraint("partnership_id", "user_id", "filters_key"),
        sa.CheckConstraint("progress BETWEEN 0 AND 100", name="progress_percent"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    partnership_id: Mapped[int] = mapped_column(sa.ForeignKey("partnerships.id", ondelete="CASCADE"), index=True)
    #: whose view of the plan the PDF shows (the plan is scoped to the person)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: a hash of the filters (their query string), and the filters themselves as JSON query arguments
    filters_key: Mapped[str] = mapped_column(sa.String(64))
    filters: Mapped[dict[str, str]] = mapped_column(sa.JSON, default=dict)
    #: the plan's fingerprint when the drawing was asked for
    fingerprint: Mapped[str] = mapped_column(sa.String(64))
    status: Mapped[ReportFileStatus] = mapped_column(enum_type(ReportFileStatus, "status"))
    progress: Mapped[int] = mapped_column(default=0)
    stage: Mapped[str] = mapped_column(sa.String(100), default="")
    stored_file_id: Mapped[int | None] = mapped_column(sa.ForeignKey("stored_files.id"))
    error: Mapped[str] = mapped_column(sa.Text, default="")
    pages: Mapped[int | None] = mapped_column()
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    stored_file: Mapped[StoredFile | None] = relationship()


exempt_table(
    PlanFile.__table__,
    "the filters are the plan page's query arguments (choices and ids); fingerprint, stage and error are the "
    "app's own words; the PDFs themselves are forgotten on a redaction (forget_plan_files) and drawn again",
)


def filters_key(filters: PlanFilters) -> str:
    return hashlib.sha256(json.dumps(filters.as_args(), sort_keys=True).encode()).hexdigest()


def filters_from_args(args: dict[str, str]) -> PlanFilters:
    """The filters kept on a row (already checked when they were asked for)."""
    values: dict[str, Any] = {}
    for name in ("source", "status", "rag", "theme"):
        values[name] = args.get(name, "")
    for name in ("agency_id", "owner_user_id", "recommendation_id"):
        values[name] = int(args[name]) if args.get(name, "").isdigit() else None
    values["overdue"] = args.get("overdue") == "yes"
    return PlanFilters(**values)


def plan_fingerprint(p: Principal, filters: PlanFilters, today: date | None = None) -> str:
    """A hash of everything the plan's PDF shows, for this person and these filters, as of today."""
    today = today or clock.today()
    rows = plan_rows(plan_actions(p, filters, today), today)
    data = json.dumps([today.isoformat(), rows], default=str, sort_keys=True)
    return hashlib.sha256(data.encode()).hexdigest()


def plan_file(p: Principal, filters: PlanFilters) -> PlanFile | None:
    return db.session.scalar(
        sa.select(PlanFile).where(
            PlanFile.partnership_id == p.partnership_id,
            PlanFile.user_id == p.user_id,
            PlanFile.filters_key == filters_key(filters),
        )
    )


def request_plan_file(p: Principal, filters: PlanFilters) -> PlanFile:
    """Ask for the plan's PDF: kept if current, left alone if being drawn, else queued. The caller commits."""
    fingerprint = plan_fingerprint(p, filters)
    row = plan_file(p, filters)
    if file_state(row, fingerprint) in (FileState.READY, FileState.PREPARING):
        return row  # type: ignore[return-value]
    if row is None:
        assert p.partnership_id is not None and p.user_id is not None
        row = PlanFile(partnership_id=p.partnership_id, user_id=p.user_id, filters_key=filters_key(filters))
        db.session.add(row)
    row.filters = filters.as_args()
    row.fingerprint = fingerprint
    queue_drawing(row)
    logger.info("action plan PDF asked for by user %s in partnership %s", p.user_id, p.partnership_id)
    enqueue(build_plan_file, row.id, row.requested_at)
    return row


def plan_pdf_html(p: Principal, filters: PlanFilters, filter_rows: list[tuple[str, str]]) -> str:
    today = clock.today()
    actions = plan_actions(p, filters, today)
    counts = plan_counts(actions, today)
    return render_template(
        "actions/plan_pdf.html",
        partnership=db.session.get(Partnership, p.partnership_id),
        counts=counts,
        charts=plan_charts(counts),
        rows=plan_rows(actions, today),
        filter_rows=filter_rows,
        generated=clock.local_now(),
    )


def build_plan_file(plan_file_id: int, requested_at: datetime) -> None:
    """Job: draw the PDF a :class:`PlanFile` asks for, reporting progress, and keep it."""
    row = db.session.get(PlanFile, plan_file_id)
    if row is None or row.requested_at != requested_at or row.status != ReportFileStatus.QUEUED:
        return

    p = principal_for(row.user_id, row.partnership_id)
    filters = filters_from_args(row.filters or {})
    draw_kept_pdf(
        row,
        fingerprint=plan_fingerprint(p, filters),
        gathering="Gathering the plan",
        make_html=lambda: plan_pdf_html(p, filters, filter_labels(p, filters)),
        file_name=FILE_NAME,
        partnership_id=row.partnership_id,
        what=f"action plan PDF {row.id}",
    )


def forget_plan_files(partnership_id: int) -> int:
    """The partnership's drawn plan PDFs may print a case reference (in a recommendation's or an update's text) and
    cannot be rewritten: forget them on a redaction (their rows, and their content once no row names it), so they
    are drawn afresh from the redacted data; how many."""
    from ..core import jobs
    from ..core.storage import remove_if_unreferenced

    rows = db.session.execute(
        sa.select(PlanFile.id, PlanFile.stored_file_id, StoredFile.sha256)
        .outerjoin(StoredFile, StoredFile.id == PlanFile.stored_file_id)
        .where(PlanFile.partnership_id == partnership_id)
    ).all()
    if not rows:
        return 0
    db.session.execute(sa.delete(PlanFile).where(PlanFile.id.in_([r.id for r in rows])))
    stored_ids = [r.stored_file_id for r in rows if r.stored_file_id is not None]
    if stored_ids:
        db.session.execute(sa.delete(StoredFile).where(StoredFile.id.in_(stored_ids)))
    for sha256 in {r.sha256 for r in rows if r.sha256}:
        jobs.enqueue(remove_if_unreferenced, sha256)
    return len(rows)
