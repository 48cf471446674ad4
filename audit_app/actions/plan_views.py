"""The composite action plan's pages: the plan with its filters, counts and chart, and its XLSX and PDF."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, send_file, url_for
from flask_login import login_required

from ..core import clock, storage
from ..core.forms import ConfirmForm
from ..core.inputs import whole_number
from ..core.pagination import PER_PAGE, Page
from ..core.permissions import Principal, current_principal
from ..extensions import db
from ..reporting.report_files import FILE_STATE_LABELS, FileState
from . import plan_files
from .models import Rag
from .permissions import can_view_plan
from .plan import PlanFilters, plan_actions, plan_counts
from .plan_rows import FILTER_LABELS, filter_choices, filter_labels, plan_charts, plan_rows, rag_text, refused_filters

bp = Blueprint("plan", __name__)


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


def read_filters(p: Principal) -> tuple[PlanFilters, dict[str, list[tuple[str, str]]], dict[str, str], dict[str, str]]:
    """The filters asked for in the query string, checked against what each offers.

    Returns the filters (a refused one left out), the choices, the values as given and an error per refused field.
    """
    choices = filter_choices(p)
    given = {name: request.args.get(name, "").strip() for name in FILTER_LABELS}
    errors = refused_filters(p, given, choices)
    values: dict[str, Any] = {}
    for name in FILTER_LABELS:
        value = "" if name in errors else given[name]
        if name in ("agency_id", "owner_user_id"):
            values[name] = whole_number(value) if value else None
        elif name == "overdue":
            values[name] = value == "yes"
        else:
            values[name] = value
    return PlanFilters(**values), choices, given, errors


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
        filter_rows=filter_labels(p, filters, choices),
        agency_ids={label: value for value, label in choices["agency_id"] if value},
    ), (400 if errors else 200)


# -- the spreadsheet --


@bp.get("/actions/plan.xlsx")
@login_required
def plan_spreadsheet():
    """The plan as XLSX, with the columns committees use; the same filters as the page."""
    p = _require_plan()
    filters, _, _, errors = read_filters(p)
    _refuse_bad_filters(errors)
    data = plan_files.plan_spreadsheet(p, filters)
    return Response(
        data,
        mimetype=plan_files.XLSX_MIMETYPE,
        headers={"Content-Disposition": f'attachment; filename="{plan_files.XLSX_NAME}"'},
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
