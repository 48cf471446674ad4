"""The composite action plan's pages: the plan with its filters, counts and chart, and its XLSX and PDF."""

from __future__ import annotations

import io
from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Response, abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import login_required
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from ..accounts.models import Agency, PartnershipAgency, User
from ..core import clock, storage
from ..core.files import text_cell
from ..core.forms import ConfirmForm
from ..core.inputs import whole_number
from ..core.pagination import PER_PAGE, Page
from ..core.permissions import Principal, current_principal
from ..extensions import db
from ..reporting.report_files import FILE_STATE_LABELS, FileState
from . import plan_files
from .models import Action, ActionStatus, Rag
from .permissions import actions_query, can_view_plan
from .plan import PlanFilters, plan_actions, plan_counts, source_choices
from .plan_rows import plan_charts, plan_rows, rag_text
from .services import learning_theme_choices

bp = Blueprint("plan", __name__)

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
SOURCE_KINDS = [("round", "Any audit round"), ("other", "Any other source")]
OVERDUE_CHOICES = [("", "All actions"), ("yes", "Overdue only")]


def recommendation_href(recommendation_id: int) -> str:
    """The recommendation's page."""
    return url_for("actions.recommendation_detail", recommendation_id=recommendation_id)


def action_href(action_id: int) -> str:
    """The action's page."""
    return url_for("actions.action_detail", action_id=action_id)


def _require_plan() -> Principal:
    p = current_principal()
    if not can_view_plan(p):
        abort(403)
    return p


# -- filters --


def filter_choices(p: Principal) -> dict[str, list[tuple[str, str]]]:
    """What each filter offers: (value, label), with "" for all."""
    agencies = db.session.execute(
        sa.select(Agency.id, Agency.name)
        .join(PartnershipAgency, PartnershipAgency.agency_id == Agency.id)
        .where(PartnershipAgency.partnership_id == p.partnership_id)
        .order_by(Agency.name)
    ).all()
    owners = db.session.execute(
        sa.select(User.id, User.name)
        .where(User.id.in_(actions_query(p).with_only_columns(Action.owner_user_id).order_by(None)))
        .order_by(User.name, User.id)
    ).all()
    assert p.partnership_id is not None
    return {
        "source": [("", "All sources"), *SOURCE_KINDS, *source_choices(p)],
        "agency_id": [("", "All agencies"), *((str(i), name) for i, name in agencies)],
        "owner_user_id": [("", "All owners"), *((str(i), name) for i, name in owners)],
        "status": [("", "All statuses"), *((s.value, s.label) for s in ActionStatus)],
        "rag": [("", "All ratings"), *((r.value, rag_text(r)) for r in Rag)],
        "theme": [("", "All themes"), *((t, t) for t in learning_theme_choices(p.partnership_id))],
        "overdue": OVERDUE_CHOICES,
    }


FILTER_LABELS = {
    "source": "Source",
    "agency_id": "Owner agency",
    "owner_user_id": "Owner",
    "status": "Status",
    "rag": "RAG rating",
    "theme": "Learning theme",
    "overdue": "Overdue",
}


def read_filters(p: Principal) -> tuple[PlanFilters, dict[str, list[tuple[str, str]]], dict[str, str], dict[str, str]]:
    """The filters asked for in the query string, checked against what each offers.

    Returns the filters (a refused one left out), the choices, the values as given and an error per refused field.
    """
    choices = filter_choices(p)
    given = {name: request.args.get(name, "").strip() for name in FILTER_LABELS}
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for name, label in FILTER_LABELS.items():
        value = given[name]
        if value and value not in {key for key, _ in choices[name]}:
            errors[name] = f"{label}: choose one of the options listed"
            value = ""
        if name in ("agency_id", "owner_user_id"):
            values[name] = whole_number(value) if value else None
        elif name == "overdue":
            values[name] = value == "yes"
        else:
            values[name] = value
    return PlanFilters(**values), choices, given, errors


def filter_labels(p: Principal, filters: PlanFilters) -> list[tuple[str, str]]:
    """The filters set, as people read them: (filter, chosen option's label)."""
    choices = filter_choices(p)
    rows = []
    for name, value in filters.as_args().items():
        if name in FILTER_LABELS:
            rows.append((FILTER_LABELS[name], dict(choices[name]).get(value, value)))
    return rows


def plan_url(endpoint: str, filters: PlanFilters, **changes: Any) -> str:
    """A URL of the plan with the current filters, some changed (None drops one)."""
    args: dict[str, Any] = filters.as_args()
    for name, value in changes.items():
        if value is None or value == "":
            args.pop(name, None)
        else:
            args[name] = value
    return url_for(endpoint, **args)


def _refuse_bad_filters(errors: dict[str, str]) -> None:
    if errors:
        abort(400, " ".join(errors.values()))


def _page_number() -> int:
    raw = request.args.get("page", "")
    if not raw:
        return 1
    number = whole_number(raw)
    if number is None:
        abort(400, "page must be a whole number from 1")
    return number


# -- the page --


@bp.get("/actions")
@login_required
def plan():
    """The composite action plan: counts by RAG and agency, a chart, then every action, what needs action
    first; filtered by the query string."""
    p = _require_plan()
    filters, choices, given, errors = read_filters(p)
    today = clock.today()
    actions = plan_actions(p, filters, today)
    counts = plan_counts(actions, today)
    number = _page_number()
    start = (number - 1) * PER_PAGE
    if number > 1 and start >= len(actions):
        abort(404)
    page = Page(items=actions[start : start + PER_PAGE], total=len(actions), page=number, per_page=PER_PAGE)
    return render_template(
        "actions/plan.html",
        filters=filters,
        choices=choices,
        given=given,
        errors=errors,
        counts=counts,
        charts=plan_charts(counts),
        page=page,
        rows=plan_rows(page.items, today),
        Rag=Rag,
        rag_text=rag_text,
        plan_url=plan_url,
        recommendation_href=recommendation_href,
        action_href=action_href,
        filter_rows=filter_labels(p, filters),
        agency_ids={label: value for value, label in choices["agency_id"] if value},
    ), (400 if errors else 200)


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


@bp.get("/actions/plan.xlsx")
@login_required
def plan_spreadsheet():
    """The plan as XLSX, with the columns committees use; the same filters as the page."""
    p = _require_plan()
    filters, _, _, errors = read_filters(p)
    _refuse_bad_filters(errors)
    today = clock.today()
    rows = plan_rows(plan_actions(p, filters, today), today)
    about = [("Contents", "The composite action plan: every action you can see, what needs action first")]
    about += filter_labels(p, filters) or [("Filters", "None set: every action")]
    about.append(("Actions", str(len(rows))))
    data = plan_xlsx(rows, about)
    return Response(
        data, mimetype=XLSX_MIMETYPE, headers={"Content-Disposition": 'attachment; filename="action-plan.xlsx"'}
    )


# -- the PDF --


@bp.get("/actions/pdf")
@login_required
def plan_pdf_page():
    """Where the plan's PDF (for these filters) stands: prepare it, see its progress, or download it."""
    p = _require_plan()
    filters, _, _, errors = read_filters(p)
    _refuse_bad_filters(errors)
    row = plan_files.plan_file(p, filters)
    state = plan_files.file_state(row, plan_files.plan_fingerprint(p, filters))
    return render_template(
        "actions/plan_pdf_page.html",
        row=row,
        state=state,
        FileState=FileState,
        state_label=FILE_STATE_LABELS[state],
        filters=filters,
        filter_rows=filter_labels(p, filters),
        plan_url=plan_url,
    )


@bp.post("/actions/pdf")
@login_required
def plan_pdf_prepare():
    """Ask for the plan's PDF: drawn by a job after this request, unless a current one is kept."""
    p = _require_plan()
    if not ConfirmForm().validate_on_submit():
        abort(400, "The form has expired: go back, reload the page and try again")
    filters, _, _, errors = read_filters(p)
    _refuse_bad_filters(errors)
    plan_files.request_plan_file(p, filters)
    db.session.commit()
    return redirect(plan_url("plan.plan_pdf_page", filters), 303)


@bp.get("/actions/plan.pdf")
@login_required
def plan_pdf():
    """The plan's PDF, when prepared from the plan as it is now; otherwise to the page that prepares it."""
    p = _require_plan()
    filters, _, _, errors = read_filters(p)
    _refuse_bad_filters(errors)
    row = plan_files.plan_file(p, filters)
    if plan_files.file_state(row, plan_files.plan_fingerprint(p, filters)) != FileState.READY:
        flash("The PDF of the plan as it is now is not ready yet: prepare it below", "error")
        return redirect(plan_url("plan.plan_pdf_page", filters), 303)
    assert row is not None and row.stored_file is not None
    return send_file(
        storage.open_file(row.stored_file),
        mimetype="application/pdf",
        as_attachment=True,
        download_name=plan_files.FILE_NAME,
    )
