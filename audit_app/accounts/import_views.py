"""Pages to add settings from a CSV (accounts.settings_import), on the accounts blueprint: upload, preview what
will be added, updated or left unchanged, then apply it in one transaction; the template and the settings as CSV.

Stateless between the preview and applying: the preview page carries the file's text in a hidden field and
applying checks it all again, so a change made meanwhile is seen.
"""

from __future__ import annotations

from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_login import login_required

from ..core.errors import DomainError, FieldErrors
from ..core.forms import check_csrf
from ..core.permissions import allowed_or_403, current_principal
from ..extensions import db
from . import settings_import as importer
from .permissions import can_manage_accounts
from .views import _partnership_id, bp


def _round_for_import(round_id: str | None) -> Any:
    """The self-assessment round the settings may be added to (from its "choose the agencies" page), or None."""
    if not round_id:
        return None
    from ..rounds.kinds import kind_rules
    from ..rounds.models import RoundStatus
    from ..rounds.permissions import get_managed_round_or_404

    try:
        number = int(round_id)
    except ValueError:
        abort(404)
    round_ = get_managed_round_or_404(current_principal(), number)
    if not kind_rules(round_.kind).chooses_agencies or round_.status not in (RoundStatus.PLANNING, RoundStatus.OPEN):
        abort(404)
    return round_


def _page(*, plan: Any = None, text: str = "", errors: list[str] | None = None, round_: Any = None, status: int = 200):
    return render_template(
        "accounts/settings_import.html",
        plan=plan,
        text=text,
        errors=errors or [],
        round=round_,
        add_to_round=request.form.get("add_to_round") == "yes" if request.method == "POST" else True,
        columns=importer.COLUMN_LABELS,
        max_mb=importer.MAX_BYTES // (1024 * 1024),
    ), status


@bp.route("/admin/agencies/import", methods=["GET", "POST"])
@login_required
def settings_import():
    """Add settings from a CSV: upload, preview (added, updated, unchanged; every bad row at once), apply."""
    allowed_or_403(can_manage_accounts(current_principal()))
    partnership_id = _partnership_id()
    round_ = _round_for_import(request.values.get("round_id"))
    if request.method == "GET":
        return _page(round_=round_)
    check_csrf()
    if request.form.get("step") == "apply":
        text = request.form.get("csv_text") or ""
        try:
            plan, named = importer.apply_import(partnership_id, text)
            added = len(plan.of(importer.ImportAction.ADD))
            updated = len(plan.of(importer.ImportAction.UPDATE))
            if round_ is not None and request.form.get("add_to_round") == "yes":
                from ..rounds import services as rounds

                chosen = {a.id for a in round_.agencies}
                rounds.set_round_agencies(round_, agency_ids=sorted(chosen | {link.agency_id for link in named}))
        except FieldErrors as error:
            db.session.rollback()
            return _page(text=text, errors=[m for ms in error.fields.values() for m in ms], round_=round_, status=400)
        except DomainError as error:
            db.session.rollback()
            return _page(text=text, errors=[error.message], round_=round_, status=error.status_code)
        db.session.commit()
        flash(f"{added} settings added, {updated} updated", "success")
        if round_ is not None and request.form.get("add_to_round") == "yes":
            flash(f"The {len(named)} settings of the file are asked to return to {round_.title}", "success")
            return redirect(url_for("rounds.round_detail", round_id=round_.id, _anchor="agencies"), code=303)
        return redirect(url_for("accounts.agency_list"), code=303)
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _page(errors=["Select a CSV file of settings"], round_=round_, status=400)
    if not upload.filename.lower().endswith(".csv"):
        return _page(errors=["The selected file must be a CSV file (its name ending .csv)"], round_=round_, status=400)
    try:
        text = importer.decode(upload.stream.read(importer.MAX_BYTES + 1))
    except FieldErrors as error:
        return _page(errors=error.fields["file"], round_=round_, status=400)
    plan = importer.plan_import(partnership_id, text)
    db.session.rollback()  # a preview changes nothing
    if plan.problems:
        return _page(plan=plan, errors=[p.text for p in plan.problems], round_=round_, status=400)
    return _page(plan=plan, text=text, round_=round_)


def _csv(text: str, filename: str) -> Response:
    response = Response(text, mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.get("/admin/agencies/import/template.csv")
@login_required
def settings_import_template():
    """The CSV template: its columns and two example rows."""
    allowed_or_403(can_manage_accounts(current_principal()))
    return _csv(importer.template_csv(), "settings-template.csv")


@bp.get("/admin/agencies/settings.csv")
@login_required
def settings_export():
    """The partnership's agencies in the import's columns, to correct and upload again."""
    allowed_or_403(can_manage_accounts(current_principal()))
    return _csv(importer.settings_csv(_partnership_id()), "settings.csv")
