"""Pages of a criterion's links and files (rounds.evidence), on the rounds blueprint.

Each page loads the return through the scoped query first (an agency never reaches another's return: 404),
then checks the role (403), then the form, then calls the service, which refuses a return that moved on (409).
"""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_login import login_required
from werkzeug.exceptions import RequestEntityTooLarge

from ..core import storage
from ..core.access_log import AccessKind, AccessVia, record_access
from ..core.errors import FieldErrors, NotAllowedError
from ..core.forms import check_csrf
from ..core.permissions import current_principal
from ..extensions import db
from . import evidence
from .kinds import kind_rules
from .models import CriterionEvidenceKind, Return, RoundStatus
from .permissions import can_edit_return, get_return_or_404, works_for_return
from .views import bp


def _criterion_or_404(ret: Return, question_key: str) -> Any:
    question = evidence.criterion(ret, question_key)
    if question is None:
        abort(404)
    return question


def _section_url(ret: Return, question: Any) -> str:
    section = next(s for s in ret.round.version.sections if s.id == question.section_id)
    return url_for("rounds.return_section", return_id=ret.id, section_key=section.key) + f"#evidence-{question.key}"


def _max_file_mb() -> str:
    size = int(current_app.config["MAX_FILE_BYTES"]) / (1024 * 1024)
    return f"{size:g} MB"


def _page(ret: Return, question: Any, *, errors: dict[str, str] | None = None, status: int = 200, values: Any = None):
    p = current_principal()
    errors = errors or {}
    anchors = {"title": "link-title", "url": "link-url", "files": "files", "question_key": "link-title"}
    return render_template(
        "rounds/_criterion_evidence_page.html",
        ret=ret,
        question=question,
        items=evidence.items_of(ret, question.key),
        can_change=can_edit_return(p, ret) and ret.round.status == RoundStatus.OPEN,
        errors=errors,
        error_list=[{"text": message, "href": "#" + anchors.get(name, name)} for name, message in errors.items()],
        values=values or {},
        back=_section_url(ret, question),
        max_file_mb=_max_file_mb(),
        max_files=evidence.MAX_FILES_AT_ONCE,
        LINK=CriterionEvidenceKind.LINK,
    ), status


def _writable(return_id: int, question_key: str) -> tuple[Any, Return, Any]:
    p = current_principal()
    ret = get_return_or_404(p, return_id)
    question = _criterion_or_404(ret, question_key)
    if not works_for_return(p, ret):
        abort(403)
    check_csrf()
    return p, ret, question


def _refused(return_id: int, question_key: str, error: FieldErrors, prefix: str = ""):
    db.session.rollback()
    ret = get_return_or_404(current_principal(), return_id)
    question = _criterion_or_404(ret, question_key)
    errors = {name: problems[0] for name, problems in error.fields.items()}
    return _page(ret, question, errors=errors, status=400, values=request.form)


def _moved_on(ret_id: int, question_key: str, error: NotAllowedError):
    db.session.rollback()
    flash(error.message, "error")
    return redirect(url_for("rounds.criterion_evidence", return_id=ret_id, question_key=question_key), code=303)


@bp.app_template_global()
def criterion_evidence_of(ret: Return) -> dict[str, list[Any]] | None:
    """For the return's pages: its links and files by question key (loaded once per request), or None when its
    kind of round does not take them."""
    if not kind_rules(ret.round.kind).criterion_evidence:
        return None
    # per request (not on g, which outlives a request when an app context is already pushed)
    cache = request.environ.setdefault("audit_app.criterion_evidence", {})
    if ret.id not in cache:
        cache[ret.id] = evidence.items_by_key(ret)
    return cache[ret.id]


@bp.get("/returns/<int:return_id>/criteria/<question_key>/evidence")
@login_required
def criterion_evidence(return_id: int, question_key: str):
    """A criterion's links and files: listed to whoever can see the return; the agency adds and removes them
    while the return is editable."""
    p = current_principal()
    ret = get_return_or_404(p, return_id)
    question = _criterion_or_404(ret, question_key)
    record_access(AccessKind.RETURN, ret.id)
    return _page(ret, question)


@bp.post("/returns/<int:return_id>/criteria/<question_key>/links")
@login_required
def criterion_link_add(return_id: int, question_key: str):
    """Attach a link (http or https, with a title) to a criterion."""
    p, ret, question = _writable(return_id, question_key)
    try:
        item = evidence.add_link(
            ret, question.key, title=request.form.get("title"), url=request.form.get("url"), by=p.user_id
        )
    except NotAllowedError as error:
        return _moved_on(return_id, question_key, error)
    except FieldErrors as error:
        return _refused(return_id, question_key, error)
    db.session.commit()
    flash(f"Link added: {item.title}", "success")
    return redirect(url_for("rounds.criterion_evidence", return_id=ret.id, question_key=question.key), code=303)


@bp.post("/returns/<int:return_id>/criteria/<question_key>/files")
@login_required
def criterion_file_add(return_id: int, question_key: str):
    """Attach files to a criterion (each checked by content and size; a refused file keeps none)."""
    p, ret, question = _writable(return_id, question_key)
    files = [(upload.stream, upload.filename) for upload in request.files.getlist("files") if upload.filename]
    try:
        items = evidence.add_files(ret, question.key, files, by=p.user_id)
    except NotAllowedError as error:
        return _moved_on(return_id, question_key, error)
    except FieldErrors as error:
        return _refused(return_id, question_key, error)
    db.session.commit()
    flash(f"{len(items)} {'file' if len(items) == 1 else 'files'} attached", "success")
    return redirect(url_for("rounds.criterion_evidence", return_id=ret.id, question_key=question.key), code=303)


@bp.post("/returns/<int:return_id>/criterion-evidence/<int:criterion_evidence_id>/remove")
@login_required
def criterion_evidence_remove(return_id: int, criterion_evidence_id: int):
    """Take a link or file off its criterion, while the return is editable."""
    p = current_principal()
    ret = get_return_or_404(p, return_id)
    item = evidence.get_item(ret, criterion_evidence_id)
    if item is None:
        abort(404)
    if not works_for_return(p, ret):
        abort(403)
    check_csrf()
    key, label = item.question_key, item.label
    try:
        evidence.remove_item(ret, item)
    except NotAllowedError as error:
        return _moved_on(return_id, key, error)
    db.session.commit()
    flash(f"Removed: {label}", "success")
    return redirect(url_for("rounds.criterion_evidence", return_id=ret.id, question_key=key), code=303)


@bp.get("/returns/<int:return_id>/criterion-evidence/<int:criterion_evidence_id>/file")
@login_required
def criterion_evidence_file(return_id: int, criterion_evidence_id: int):
    """A criterion's file, as an attachment, to whoever can see the return."""
    p = current_principal()
    ret = get_return_or_404(p, return_id)
    item = evidence.get_item(ret, criterion_evidence_id)
    if item is None or item.stored_file is None:
        abort(404)
    stored = item.stored_file
    record_access(AccessKind.EVIDENCE_FILE, stored.id, via=AccessVia.DOWNLOAD)
    response = send_file(
        storage.open_file(stored),
        mimetype=stored.content_type,
        as_attachment=True,
        download_name=stored.original_filename,
        conditional=False,
        etag=stored.sha256,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Content-SHA256"] = stored.sha256
    return response


@bp.errorhandler(RequestEntityTooLarge)
def criterion_upload_too_large(error: RequestEntityTooLarge):
    """A body past the request limit on a criterion's file form: the page, with the message beside the input."""
    args = request.view_args or {}
    db.session.rollback()
    if request.endpoint != "rounds.criterion_file_add" or "question_key" not in args:
        # elsewhere on the blueprint (the workbook upload), the app's usual page
        return render_template("errors/error.html", code=413, title="The file is too large", message=None), 413
    if not current_principal().is_authenticated:
        from ..accounts.session import _load_principal

        _load_principal()
    p = current_principal()
    if not p.is_authenticated:
        abort(401)
    ret = get_return_or_404(p, args["return_id"])
    question = _criterion_or_404(ret, args["question_key"])
    message = f"The files are too large: each must be {_max_file_mb()} or smaller, and all of them together too"
    return _page(ret, question, errors={"files": message}, status=413)
