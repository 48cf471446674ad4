"""Browse, preview, build, publish, import and export questionnaires; scales."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import login_required
from flask_wtf import FlaskForm
from sqlalchemy.orm import selectinload
from wtforms.validators import ValidationError

from ..accounts.models import Sector
from ..core.errors import DomainError
from ..core.forms import ConfirmForm, DirectionForm, add_form_error
from ..core.inputs import whole_number
from ..core.permissions import current_principal
from ..extensions import db
from . import services
from .forms import (
    QUESTION_PATHS,
    SECTION_PATHS,
    CopyForm,
    DetailsForm,
    ImportForm,
    LibraryForm,
    QuestionForm,
    QuestionnaireForm,
    ScaleForm,
    SectionForm,
)
from .models import (
    Question,
    Questionnaire,
    QuestionnaireKind,
    QuestionnaireVersion,
    QuestionType,
    Section,
    Theme,
)
from .permissions import (
    can_edit_questionnaires,
    can_view_questionnaires,
    get_question_or_404,
    get_questionnaire_or_404,
    get_section_or_404,
    get_version_or_404,
    questionnaires_query,
)
from .spec import SpecError, SpecProblem, to_yaml

bp = Blueprint("questionnaires", __name__, url_prefix="/questionnaires")

MAX_IMPORT_BYTES = 2 * 1024 * 1024


def _partnership_id() -> int:
    principal = current_principal()
    if principal.partnership_id is None:
        abort(403)
    return principal.partnership_id


def _require_view() -> int:
    pid = _partnership_id()
    if not can_view_questionnaires(current_principal()):
        abort(403)
    return pid


def _require_edit() -> int:
    pid = _partnership_id()
    if not can_edit_questionnaires(current_principal()):
        abort(403)
    return pid


def _status(form: FlaskForm) -> int:
    return 400 if form.errors else 200


def _show_problems(form: FlaskForm, error: SpecError, prefix: str | None, paths: dict[str, str]) -> None:
    """Put the engine's refusals beside the form's fields (others at the top, with their path)."""
    for problem in error.problems:
        field = None
        if prefix and problem.path.startswith(prefix + "."):
            suffix = problem.path[len(prefix) + 1 :].split("[")[0]
            field = paths.get(suffix)
        message = problem.message if field else f"{problem.path}: {problem.message}"
        add_form_error(form, message[0].upper() + message[1:], field)


# -- browsing --


@bp.get("")
@login_required
def questionnaire_list():
    """Questionnaires by kind and theme."""
    pid = _require_view()
    kind = request.args.get("kind") or None
    theme_id = request.args.get("theme") or None
    query = questionnaires_query(pid)
    if kind:
        if kind not in {k.value for k in QuestionnaireKind}:
            abort(400, "Unknown kind of questionnaire")
        query = query.where(Questionnaire.kind == QuestionnaireKind(kind))
    if theme_id:
        theme_number = whole_number(theme_id)
        if theme_number is None:
            abort(400, "Unknown theme")
        query = query.where(Questionnaire.theme_id == theme_number)
    # Each questionnaire's versions come with it (one query for all): the page's queries do not grow with its rows.
    questionnaires = db.session.scalars(query.options(selectinload(Questionnaire.versions))).unique().all()
    themes = db.session.scalars(sa.select(Theme).where(Theme.partnership_id == pid).order_by(Theme.name)).all()
    return render_template(
        "questionnaires/questionnaire_list.html",
        questionnaires=questionnaires,
        themes=themes,
        kinds=list(QuestionnaireKind),
        kind=kind,
        theme_id=int(theme_id) if theme_id else None,
        can_edit=can_edit_questionnaires(current_principal()),
    )


@bp.get("/<int:questionnaire_id>")
@login_required
def questionnaire_detail(questionnaire_id: int):
    """A questionnaire's details and versions."""
    pid = _partnership_id()
    questionnaire = get_questionnaire_or_404(pid, questionnaire_id)
    _require_view()
    in_use = {v.id: services.version_in_use(v) for v in questionnaire.versions}
    return render_template(
        "questionnaires/questionnaire_detail.html",
        questionnaire=questionnaire,
        in_use=in_use,
        can_edit=can_edit_questionnaires(current_principal()),
        confirm=ConfirmForm(),
    )


def _sectors(pid: int) -> list[Sector]:
    return list(db.session.scalars(sa.select(Sector).where(Sector.partnership_id == pid).order_by(Sector.name)))


@bp.get("/<int:questionnaire_id>/versions/<int:number>")
@login_required
def version_preview(questionnaire_id: int, number: int):
    """A version as a respondent will see it, optionally as one sector sees it."""
    pid = _partnership_id()
    version = get_version_or_404(pid, questionnaire_id, number)
    _require_view()
    sectors = _sectors(pid)
    sector_key = request.args.get("sector") or None
    if sector_key and sector_key not in {s.key for s in sectors}:
        abort(400, "Unknown sector")
    return render_template(
        "questionnaires/version_preview.html",
        version=version,
        questionnaire=version.questionnaire,
        sectors=sectors,
        sector_key=sector_key,
        sector_names={s.key: s.name for s in sectors},
    )


@bp.get("/<int:questionnaire_id>/versions/<int:number>/export.yaml")
@login_required
def version_export(questionnaire_id: int, number: int):
    """Download a version as a YAML file."""
    pid = _partnership_id()
    version = get_version_or_404(pid, questionnaire_id, number)
    _require_view()
    filename = f"{version.questionnaire.key}-v{version.number}.yaml"
    return Response(
        to_yaml(services.export_version(version)),
        mimetype="application/x-yaml",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@bp.get("/<int:questionnaire_id>/compare")
@login_required
def version_compare(questionnaire_id: int):
    """What changed between two versions."""
    pid = _partnership_id()
    questionnaire = get_questionnaire_or_404(pid, questionnaire_id)
    _require_view()
    numbers = [v.number for v in questionnaire.versions]
    if len(numbers) < 2:
        flash("There is only one version, so there is nothing to compare yet", "info")
        return redirect(url_for("questionnaires.questionnaire_detail", questionnaire_id=questionnaire_id))
    try:
        old_number = int(request.args.get("from", numbers[-2]))
        new_number = int(request.args.get("to", numbers[-1]))
    except ValueError:
        abort(400, "Versions are numbers")
    old = get_version_or_404(pid, questionnaire_id, old_number)
    new = get_version_or_404(pid, questionnaire_id, new_number)
    return render_template(
        "questionnaires/version_compare.html",
        questionnaire=questionnaire,
        old=old,
        new=new,
        numbers=numbers,
        changes=services.diff_versions(old, new),
    )


# -- creating --


@bp.route("/new", methods=["GET", "POST"])
@login_required
def questionnaire_create():
    """Start a questionnaire from nothing."""
    pid = _require_edit()
    form = QuestionnaireForm()
    if form.validate_on_submit():
        try:
            version = services.create_questionnaire(
                pid,
                key=form.key.data,
                title=form.title.data,
                kind=QuestionnaireKind(form.kind.data),
                theme=form.theme.data,
                description=form.description.data or "",
            )
        except SpecError as error:
            db.session.rollback()
            _show_problems(
                form, error, "", {"key": "key", "title": "title", "theme": "theme", "description": "description"}
            )
        except DomainError as error:
            db.session.rollback()
            add_form_error(form, error.message, error.field)
        else:
            db.session.commit()
            flash("Questionnaire created. Add its sections and questions.", "success")
            return redirect(_editor_url(version))
    return render_template("questionnaires/questionnaire_create.html", form=form), _status(form)


@bp.get("/library")
@login_required
def library():
    """The questionnaires shipped with the service."""
    _require_edit()
    return render_template("questionnaires/library.html", items=services.library(), form=LibraryForm(formdata=None))


@bp.post("/library/<library_key>")
@login_required
def library_use(library_key: str):
    """Start a questionnaire from the library (as a draft to edit)."""
    pid = _require_edit()
    form = LibraryForm()
    if form.validate_on_submit():
        try:
            version = services.start_from_library(pid, library_key, key=form.key.data or None)
        except DomainError as error:
            db.session.rollback()
            if error.field == "library_key":
                abort(404)
            add_form_error(form, error.message, "key")
        else:
            db.session.commit()
            flash(f"'{version.questionnaire.title}' added as a draft. Check it, edit it and publish it.", "success")
            return redirect(url_for("questionnaires.questionnaire_detail", questionnaire_id=version.questionnaire_id))
    return render_template(
        "questionnaires/library.html", items=services.library(), form=form, failed_key=library_key
    ), 400


@bp.route("/import", methods=["GET", "POST"])
@login_required
def questionnaire_import():
    """Import a questionnaire from a YAML or JSON file."""
    pid = _require_edit()
    form = ImportForm()
    problems: list[SpecProblem] = []
    if form.validate_on_submit():
        text = form.text.data or ""
        upload = form.file.data
        if upload and getattr(upload, "filename", ""):
            raw = upload.read(MAX_IMPORT_BYTES + 1)
            if len(raw) > MAX_IMPORT_BYTES:
                add_form_error(form, "The file must be 2 MB or smaller", "file")
            else:
                try:
                    text = raw.decode("utf-8")
                except UnicodeDecodeError:
                    add_form_error(form, "The file must be text (YAML or JSON) in UTF-8", "file")
        if not form.errors:
            try:
                version = services.import_text(pid, text)
            except SpecError as error:
                db.session.rollback()
                problems = error.problems
                add_form_error(
                    form, f"The questionnaire was not imported: {len(problems)} problem(s) listed below", "file"
                )
            else:
                db.session.commit()
                flash(f"Imported '{version.questionnaire.title}' as draft version {version.number}", "success")
                return redirect(
                    url_for("questionnaires.questionnaire_detail", questionnaire_id=version.questionnaire_id)
                )
    return render_template("questionnaires/import.html", form=form, problems=problems), _status(form)


@bp.route("/<int:questionnaire_id>/copy", methods=["GET", "POST"])
@login_required
def questionnaire_copy(questionnaire_id: int):
    """A new questionnaire copied from this one's latest version."""
    pid = _partnership_id()
    questionnaire = get_questionnaire_or_404(pid, questionnaire_id)
    _require_edit()
    form = CopyForm(data={"title": f"Copy of {questionnaire.title}"} if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            version = services.copy_questionnaire(questionnaire.latest, key=form.key.data, title=form.title.data)
        except DomainError as error:
            db.session.rollback()
            add_form_error(form, error.message, error.field if error.field in ("key", "title") else "key")
        else:
            db.session.commit()
            flash("Copy made as a draft", "success")
            return redirect(url_for("questionnaires.questionnaire_detail", questionnaire_id=version.questionnaire_id))
    return render_template("questionnaires/questionnaire_copy.html", form=form, questionnaire=questionnaire), _status(
        form
    )


@bp.route("/<int:questionnaire_id>/details", methods=["GET", "POST"])
@login_required
def questionnaire_details(questionnaire_id: int):
    """Change the title, theme and description."""
    pid = _partnership_id()
    questionnaire = get_questionnaire_or_404(pid, questionnaire_id)
    _require_edit()
    form = DetailsForm(
        data={
            "title": questionnaire.title,
            "theme": questionnaire.theme.name if questionnaire.theme else "",
            "description": questionnaire.description,
        }
    )
    if form.validate_on_submit():
        services.update_details(
            questionnaire, title=form.title.data, theme=form.theme.data, description=form.description.data or ""
        )
        db.session.commit()
        flash("Details saved", "success")
        return redirect(url_for("questionnaires.questionnaire_detail", questionnaire_id=questionnaire_id))
    return render_template(
        "questionnaires/questionnaire_details.html", form=form, questionnaire=questionnaire
    ), _status(form)


# -- the version life cycle --


def _editor_url(version: QuestionnaireVersion) -> str:
    return url_for("questionnaires.version_edit", questionnaire_id=version.questionnaire_id, number=version.number)


def _life_cycle(questionnaire_id: int, number: int | None, action: Any, success: str) -> Response:
    pid = _partnership_id()
    if number is None:
        target: Any = get_questionnaire_or_404(pid, questionnaire_id)
    else:
        target = get_version_or_404(pid, questionnaire_id, number)
    _require_edit()
    if not ConfirmForm().validate_on_submit():
        abort(400)
    back = url_for("questionnaires.questionnaire_detail", questionnaire_id=questionnaire_id)
    try:
        result = action(target)
    except SpecError as error:
        db.session.rollback()
        flash("It cannot be published yet: " + "; ".join(str(p) for p in error.problems), "error")
        return redirect(back, code=303)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(back, code=303)
    db.session.commit()
    flash(success, "success")
    if isinstance(result, QuestionnaireVersion):
        return redirect(_editor_url(result))
    return redirect(back)


@bp.post("/<int:questionnaire_id>/versions/<int:number>/publish")
@login_required
def version_publish(questionnaire_id: int, number: int):
    """Publish a draft: it can no longer change."""
    return _life_cycle(questionnaire_id, number, services.publish_version, "Version published")


@bp.post("/<int:questionnaire_id>/versions/<int:number>/retire")
@login_required
def version_retire(questionnaire_id: int, number: int):
    """Retire a published version so no new round can use it."""
    return _life_cycle(questionnaire_id, number, services.retire_version, "Version retired")


@bp.post("/<int:questionnaire_id>/versions/<int:number>/delete")
@login_required
def version_delete(questionnaire_id: int, number: int):
    """Throw a draft away."""
    pid = _partnership_id()
    version = get_version_or_404(pid, questionnaire_id, number)
    only_version = len(version.questionnaire.versions) == 1
    response = _life_cycle(questionnaire_id, number, services.delete_draft, "Draft deleted")
    if only_version and response.status_code == 302:
        return redirect(url_for("questionnaires.questionnaire_list"))
    return response


@bp.post("/<int:questionnaire_id>/drafts")
@login_required
def draft_create(questionnaire_id: int):
    """Start the next draft from the latest version."""
    return _life_cycle(questionnaire_id, None, services.new_draft, "New draft started from the latest version")


# -- the draft editor --


def _draft_or_redirect(questionnaire_id: int, number: int) -> QuestionnaireVersion:
    pid = _partnership_id()
    version = get_version_or_404(pid, questionnaire_id, number)
    _require_edit()
    return version


def _editable_or_refuse(version: QuestionnaireVersion) -> Response | None:
    try:
        services.check_editable(version)
    except DomainError as error:
        flash(error.message, "error")
        return redirect(
            url_for("questionnaires.questionnaire_detail", questionnaire_id=version.questionnaire_id), code=303
        )
    return None


@bp.get("/<int:questionnaire_id>/versions/<int:number>/edit")
@login_required
def version_edit(questionnaire_id: int, number: int):
    """The draft editor: sections and questions in order."""
    version = _draft_or_redirect(questionnaire_id, number)
    refused = _editable_or_refuse(version)
    if refused:
        return refused
    return render_template(
        "questionnaires/version_edit.html", version=version, questionnaire=version.questionnaire, confirm=ConfirmForm()
    )


@bp.route("/<int:questionnaire_id>/versions/<int:number>/sections/new", methods=["GET", "POST"])
@login_required
def section_create(questionnaire_id: int, number: int):
    """Add a section to the draft."""
    version = _draft_or_redirect(questionnaire_id, number)
    refused = _editable_or_refuse(version)
    if refused:
        return refused
    form = SectionForm()
    if form.validate_on_submit():
        try:
            services.add_section(
                version, key=form.key.data, title=form.title.data, description=form.description.data or ""
            )
        except SpecError as error:
            db.session.rollback()
            _show_problems(form, error, f"sections[{len(version.sections)}]", SECTION_PATHS)
        else:
            db.session.commit()
            flash("Section added", "success")
            return redirect(_editor_url(version))
    return render_template("questionnaires/section_form.html", form=form, version=version, section=None), _status(form)


@bp.route("/<int:questionnaire_id>/versions/<int:number>/sections/<int:section_id>/edit", methods=["GET", "POST"])
@login_required
def section_edit(questionnaire_id: int, number: int, section_id: int):
    """Change a section of the draft."""
    version = _draft_or_redirect(questionnaire_id, number)
    section = get_section_or_404(version, section_id)
    refused = _editable_or_refuse(version)
    if refused:
        return refused
    form = SectionForm(obj=section)
    if form.validate_on_submit():
        index = section.position
        try:
            services.update_section(
                section, key=form.key.data, title=form.title.data, description=form.description.data or ""
            )
        except SpecError as error:
            db.session.rollback()
            _show_problems(form, error, f"sections[{index}]", SECTION_PATHS)
        else:
            db.session.commit()
            flash("Section saved", "success")
            return redirect(_editor_url(version))
    return render_template("questionnaires/section_form.html", form=form, version=version, section=section), _status(
        form
    )


def _item_action(questionnaire_id: int, number: int, load: Any, action: Any, success: str) -> Response:
    version = _draft_or_redirect(questionnaire_id, number)
    item = load(version)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        action(item)
    except SpecError as error:
        db.session.rollback()
        flash("That would break the questionnaire: " + "; ".join(str(p) for p in error.problems), "error")
        return redirect(_editor_url(version), code=303)
    except DomainError as error:
        db.session.rollback()
        flash(error.message, "error")
        return redirect(_editor_url(version), code=303)
    db.session.commit()
    flash(success, "success")
    return redirect(_editor_url(version))


def _offset() -> int:
    form = DirectionForm(meta={"csrf": False})  # the view checks the CSRF token with its own form first
    if not form.validate():
        abort(400, "direction must be up or down")
    return -1 if form.direction.data == "up" else 1


@bp.post("/<int:questionnaire_id>/versions/<int:number>/sections/<int:section_id>/remove")
@login_required
def section_remove(questionnaire_id: int, number: int, section_id: int):
    """Remove a section and its questions from the draft."""
    return _item_action(
        questionnaire_id,
        number,
        lambda v: get_section_or_404(v, section_id),
        services.remove_section,
        "Section removed",
    )


@bp.post("/<int:questionnaire_id>/versions/<int:number>/sections/<int:section_id>/move")
@login_required
def section_move(questionnaire_id: int, number: int, section_id: int):
    """Move a section up or down."""
    return _item_action(
        questionnaire_id,
        number,
        lambda v: get_section_or_404(v, section_id),
        lambda s: services.move_section(s, _offset()),
        "Section moved",
    )


def _question_form(version: QuestionnaireVersion, question: Question | None, section: Section) -> QuestionForm:
    pid = version.questionnaire.partnership_id
    if question is not None and request.method == "GET":
        form = QuestionForm(
            obj=question,
            data={
                "type": question.type.value,
                "options": "\n".join(question.options),
                "condition_values": "\n".join(question.condition_values),
                "condition_question_key": question.condition_question_key or "",
                "section_id": question.section_id,
            },
        )
    else:
        form = QuestionForm(data={"section_id": section.id, "type": "scale"} if request.method == "GET" else None)
    form.scale_id.choices = [("", "No scale")] + [
        (s.id, s.name) for s in db.session.scalars(services.scales_query(pid))
    ]
    form.applies_to.choices = [(s.key, s.name) for s in _sectors(pid)]
    others = [
        q
        for q in version.questions
        if (question is None or q.id != question.id)
        and q.type in (QuestionType.SCALE, QuestionType.SINGLE_CHOICE, QuestionType.MULTIPLE_CHOICE)
    ]
    form.condition_question_key.choices = [("", "Always show")] + [(q.key, f"{q.key}: {q.text[:60]}") for q in others]
    if question is None:
        del form.section_id  # a new question goes into the section it was added to
    else:
        form.section_id.choices = [(s.id, s.title) for s in version.sections]
    return form


@bp.route(
    "/<int:questionnaire_id>/versions/<int:number>/sections/<int:section_id>/questions/new", methods=["GET", "POST"]
)
@login_required
def question_create(questionnaire_id: int, number: int, section_id: int):
    """Add a question to a section of the draft."""
    version = _draft_or_redirect(questionnaire_id, number)
    section = get_section_or_404(version, section_id)
    refused = _editable_or_refuse(version)
    if refused:
        return refused
    form = _question_form(version, None, section)
    if form.validate_on_submit():
        path = f"sections[{section.position}].questions[{len(section.questions)}]"
        try:
            services.add_question(section, **form.service_fields())
        except SpecError as error:
            db.session.rollback()
            _show_problems(form, error, path, QUESTION_PATHS)
        else:
            db.session.commit()
            flash("Question added", "success")
            return redirect(_editor_url(version) + f"#section-{section.key}")
    return render_template(
        "questionnaires/question_form.html", form=form, version=version, section=section, question=None
    ), _status(form)


@bp.route("/<int:questionnaire_id>/versions/<int:number>/questions/<int:question_id>/edit", methods=["GET", "POST"])
@login_required
def question_edit(questionnaire_id: int, number: int, question_id: int):
    """Change a question of the draft (or move it to another section)."""
    version = _draft_or_redirect(questionnaire_id, number)
    question = get_question_or_404(version, question_id)
    refused = _editable_or_refuse(version)
    if refused:
        return refused
    section = question.section
    form = _question_form(version, question, section)
    if form.validate_on_submit():
        fields = form.service_fields()
        fields["section_id"] = form.section_id.data
        path = f"sections[{section.position}].questions[{question.position}]"
        try:
            services.update_question(question, **fields)
        except SpecError as error:
            db.session.rollback()
            _show_problems(form, error, path, QUESTION_PATHS)
        except DomainError as error:
            db.session.rollback()
            add_form_error(form, error.message, error.field)
        else:
            db.session.commit()
            flash("Question saved", "success")
            return redirect(_editor_url(version))
    return render_template(
        "questionnaires/question_form.html", form=form, version=version, section=section, question=question
    ), _status(form)


@bp.post("/<int:questionnaire_id>/versions/<int:number>/questions/<int:question_id>/remove")
@login_required
def question_remove(questionnaire_id: int, number: int, question_id: int):
    """Remove a question from the draft."""
    return _item_action(
        questionnaire_id,
        number,
        lambda v: get_question_or_404(v, question_id),
        services.remove_question,
        "Question removed",
    )


@bp.post("/<int:questionnaire_id>/versions/<int:number>/questions/<int:question_id>/move")
@login_required
def question_move(questionnaire_id: int, number: int, question_id: int):
    """Move a question up or down within its section."""
    return _item_action(
        questionnaire_id,
        number,
        lambda v: get_question_or_404(v, question_id),
        lambda q: services.move_question(q, _offset()),
        "Question moved",
    )


# -- scales --


@bp.get("/scales")
@login_required
def scale_list():
    """Built-in scales and the partnership's own."""
    pid = _require_view()
    scales = db.session.scalars(services.scales_query(pid)).all()
    return render_template(
        "questionnaires/scale_list.html", scales=scales, can_edit=can_edit_questionnaires(current_principal())
    )


@bp.route("/scales/new", methods=["GET", "POST"])
@login_required
def scale_create():
    """Add a scale of the partnership's own."""
    pid = _require_edit()
    form = ScaleForm()
    if form.validate_on_submit():
        try:
            levels = form.parsed_levels()
        except ValidationError as error:
            add_form_error(form, str(error), "levels")
        else:
            try:
                services.create_scale(pid, form.key.data, form.name.data, levels)
            except SpecError as error:
                db.session.rollback()
                for problem in error.problems:
                    field = "levels" if problem.path.startswith("levels") else problem.path.split(".")[0].split("[")[0]
                    add_form_error(
                        form, f"{problem.path}: {problem.message}" if field == "levels" else problem.message, field
                    )
            except DomainError as error:
                db.session.rollback()
                add_form_error(form, error.message, error.field)
            else:
                db.session.commit()
                flash("Scale added", "success")
                return redirect(url_for("questionnaires.scale_list"))
    return render_template("questionnaires/scale_form.html", form=form), _status(form)
