"""A return's links and files per criterion (rounds.evidence), a self-assessment return's improvement actions
(actions.improvement) and settings from a CSV (accounts.settings_import), through the API.

The return is loaded through the scoped query (another agency's or partnership's return is 404); adding and
removing are for the auditors and leads of the return's agency (403 otherwise) while the return is editable
(409 otherwise). Every bad field is named at once (400); a refused file keeps none.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from flask import abort, jsonify, request, send_file
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..accounts import settings_import as importer
from ..accounts.permissions import can_manage_accounts
from ..actions import improvement
from ..actions.models import Action, Recommendation
from ..actions.permissions import can_add_improvement_action
from ..core import storage
from ..core.access_log import AccessKind, AccessVia, record_access
from ..core.errors import FieldErrors
from ..core.inputs import Id
from ..core.roles import Role
from ..extensions import db
from ..rounds import evidence
from ..rounds.models import CriterionEvidence, CriterionEvidenceKind
from ..rounds.permissions import get_return_or_404, works_for_return
from .actions import ActionOut, _action_model
from .helpers import ApiError, page_of, parse_body, principal, require
from .schemas import FileOut, SectorOut, Strict
from .spec import ANY_ROLE, PageQuery, api_route

TAG = "returns"
SCOPED = "whoever can see the return: the partnership-wide roles, and the return's own agency"
AGENCY = (Role.AUDITOR, Role.AGENCY_LEAD)
AGENCY_NOTE = "auditors and leads of the return's agency, while the return is editable and the round open"
FILE_MEDIA = tuple(sorted(evidence.FILE_TYPES))


class CriterionEvidenceOut(BaseModel):
    id: int
    return_id: int
    question_key: str = Field(description="The criterion: the question's stable key")
    kind: CriterionEvidenceKind
    kind_label: str
    title: str = Field(description="The link's title, or the file's name")
    url: str = Field(description="The link's web address (empty for a file)")
    file: FileOut | None = Field(description="The file (kind `file`)")
    carried_forward: bool = Field(description="A link copied from the agency's return to the previous round")
    added_by: str | None = Field(description="Who added it")
    created_at: datetime


class AttachedOut(BaseModel):
    items: list[CriterionEvidenceOut] = Field(description="The files attached, one row each")


class EvidenceQuery(PageQuery):
    question_key: str | None = Field(default=None, description="Only this criterion's links and files")


class LinkIn(Strict):
    question_key: str = Field(description="The criterion: a question key the return is asked")
    title: str = Field(description="What the link shows")
    url: str = Field(description="http or https only")


class FilesForm(BaseModel):
    """The multipart/form-data field beside the files."""

    model_config = ConfigDict(extra="ignore")

    question_key: str = Field(default="", description="The criterion: a question key the return is asked")


def _out(item: CriterionEvidence) -> dict[str, Any]:
    stored = item.stored_file
    return CriterionEvidenceOut(
        id=item.id,
        return_id=item.return_id,
        question_key=item.question_key,
        kind=item.kind,
        kind_label=item.kind.label,
        title=item.label,
        url=item.url,
        file=FileOut(
            id=stored.id,
            filename=stored.original_filename,
            content_type=stored.content_type,
            size_bytes=stored.size_bytes,
            sha256=stored.sha256,
            url=f"/api/v1/returns/{item.return_id}/evidence/{item.id}/file",
        )
        if stored is not None
        else None,
        carried_forward=item.carried_forward,
        added_by=item.added_by.name if item.added_by is not None else None,
        created_at=item.created_at,
    ).model_dump(mode="json")


@api_route(
    "/returns/<int:return_id>/evidence",
    "GET",
    summary="A return's links and files per criterion (filter by `question_key`)",
    tag=TAG,
    query_model=EvidenceQuery,
    response_model=CriterionEvidenceOut,
    many=True,
    roles=ANY_ROLE,
    roles_note=SCOPED,
)
def return_evidence_list(return_id: int):
    ret = get_return_or_404(principal(), return_id)
    record_access(AccessKind.RETURN, ret.id)
    query = sa.select(CriterionEvidence).where(CriterionEvidence.return_id == ret.id)
    key = request.args.get("question_key")
    if key:
        query = query.where(CriterionEvidence.question_key == key)
    return page_of(query.order_by(CriterionEvidence.id), _out)


def _writable(return_id: int) -> tuple[Any, Any]:
    p = principal()
    ret = get_return_or_404(p, return_id)
    require(works_for_return(p, ret))
    return p, ret


@api_route(
    "/returns/<int:return_id>/evidence/links",
    "POST",
    summary="Attach a link (http or https, with a title) to a criterion of the return",
    tag=TAG,
    request_model=LinkIn,
    response_model=CriterionEvidenceOut,
    status=201,
    roles=AGENCY,
    roles_note=AGENCY_NOTE,
    refusals={409: "The return is no longer editable, or its round is not open"},
)
def return_evidence_link(return_id: int):
    p, ret = _writable(return_id)
    body = parse_body(LinkIn)
    item = evidence.add_link(ret, body.question_key, title=body.title, url=body.url, by=p.user_id)
    db.session.commit()
    return jsonify(_out(item)), 201


@api_route(
    "/returns/<int:return_id>/evidence/files",
    "POST",
    summary="Attach files to a criterion (multipart/form-data: `question_key` and `files`); each is checked by "
    "content and size, and a refused file keeps none",
    tag=TAG,
    upload={"files": "PDF, Word, Excel, PowerPoint, PNG, JPEG, text or CSV files, checked by content"},
    form_model=FilesForm,
    response_model=AttachedOut,
    status=201,
    roles=AGENCY,
    roles_note=AGENCY_NOTE,
    refusals={409: "The return is no longer editable, or its round is not open"},
)
def return_evidence_files(return_id: int):
    p, ret = _writable(return_id)
    if request.mimetype != "multipart/form-data":
        raise ApiError(415, "Send the files as multipart/form-data, in 'files', with the criterion in 'question_key'")
    try:
        form = FilesForm.model_validate(request.form.to_dict())
    except ValidationError as exc:  # pragma: no cover - every field is a string with a default
        raise ApiError(400, "Some fields are not valid", {"question_key": [str(exc)]}) from None
    unexpected = sorted(set(request.files) - {"files"})
    if unexpected:
        raise FieldErrors({"files": [f"Send files in the field 'files' (not {', '.join(unexpected)})"]})
    files = [(upload.stream, upload.filename) for upload in request.files.getlist("files")]
    items = evidence.add_files(ret, form.question_key, files, by=p.user_id)
    db.session.commit()
    return jsonify({"items": [_out(item) for item in items]}), 201


@api_route(
    "/returns/<int:return_id>/evidence/<int:criterion_evidence_id>",
    "DELETE",
    summary="Take a link or file off its criterion",
    tag=TAG,
    status=204,
    roles=AGENCY,
    roles_note=AGENCY_NOTE,
    refusals={409: "The return is no longer editable, or its round is not open"},
)
def return_evidence_remove(return_id: int, criterion_evidence_id: int):
    p = principal()
    ret = get_return_or_404(p, return_id)
    item = evidence.get_item(ret, criterion_evidence_id)
    if item is None:
        abort(404)
    require(works_for_return(p, ret))
    evidence.remove_item(ret, item)
    db.session.commit()
    return "", 204


@api_route(
    "/returns/<int:return_id>/evidence/<int:criterion_evidence_id>/file",
    "GET",
    summary="Download a criterion's file, as an attachment (check it against its sha256)",
    tag=TAG,
    produces=FILE_MEDIA,
    roles=ANY_ROLE,
    roles_note=SCOPED,
)
def return_evidence_file(return_id: int, criterion_evidence_id: int):
    ret = get_return_or_404(principal(), return_id)
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
    response.headers["X-Content-SHA256"] = stored.sha256
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


# -- an agency's own improvement actions on its self-assessment return (actions.improvement) --


class ImprovementActionIn(Strict):
    title: str = Field(description="What will be done")
    owner_user_id: Id = Field(description="The owner: an auditor or lead of the return's agency")
    due_on: date = Field(description="YYYY-MM-DD, today or later")
    question_key: str = Field(default="", description="The criterion it improves (a question key), or empty")


def _improvement_return(p: Any, sa_return_id: int) -> Any:
    ret = get_return_or_404(p, sa_return_id)
    if not improvement.takes_improvement_actions(ret):
        abort(404)
    return ret


@api_route(
    "/returns/<int:sa_return_id>/improvement-actions",
    "GET",
    summary="A self-assessment return's improvement actions (they are in the action plan under the round)",
    tag=TAG,
    response_model=ActionOut,
    many=True,
    roles=ANY_ROLE,
    roles_note=SCOPED,
)
def improvement_actions_list(sa_return_id: int):
    p = principal()
    ret = _improvement_return(p, sa_return_id)
    query = (
        sa.select(Action)
        .join(Recommendation, Recommendation.id == Action.recommendation_id)
        .where(Recommendation.return_id == ret.id)
        .order_by(Action.id)
    )
    return page_of(query, lambda action: _action_model(p, action).model_dump(mode="json"))


@api_route(
    "/returns/<int:sa_return_id>/improvement-actions",
    "POST",
    summary="Add one of the agency's own improvement actions (owner from the agency, due date, optional criterion); "
    "it joins the action plan under the round",
    tag=TAG,
    request_model=ImprovementActionIn,
    response_model=ActionOut,
    status=201,
    roles=(Role.ADMIN, Role.QA_MEMBER, Role.AGENCY_LEAD, Role.AUDITOR),
    roles_note="auditors and leads of the return's own agency, and the QA group and admins",
    refusals={409: "The round is not open or closed, or the return was declined"},
)
def improvement_actions_create(sa_return_id: int):
    p = principal()
    ret = _improvement_return(p, sa_return_id)
    require(can_add_improvement_action(p, ret))
    body = parse_body(ImprovementActionIn)
    action = improvement.add_improvement_action(
        ret,
        improvement.ImprovementIn(
            title=body.title, owner_user_id=body.owner_user_id, due_on=body.due_on, question_key=body.question_key
        ),
    )
    db.session.commit()
    return jsonify(_action_model(p, action).model_dump(mode="json")), 201


# -- settings from a CSV (accounts.settings_import) --


class ImportQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    dry_run: bool = Field(default=False, description="Check the file and say what it would do, changing nothing")
    round_id: int | None = Field(
        default=None, description="Also ask every setting of the file to return to this self-assessment round"
    )


class ImportRowOut(BaseModel):
    row: int = Field(description="The row number in the file (the header is row 1)")
    action: str = Field(description="add, update or unchanged")
    agency_id: int | None = Field(description="The agency (null for one a dry run would add)")
    name: str
    reference_number: str
    sector: SectorOut
    contact_email: str
    changes: list[str] = Field(description="What an update changes, in words")


class ImportOut(BaseModel):
    dry_run: bool
    added: int
    updated: int
    unchanged: int
    rows: list[ImportRowOut]


def _import_text() -> str:
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            raise FieldErrors({"file": ["Send the CSV file in the field 'file'"]})
        return importer.decode(upload.stream.read(importer.MAX_BYTES + 1))
    if request.mimetype in ("text/csv", "text/plain"):
        return importer.decode(request.get_data(cache=False)[: importer.MAX_BYTES + 1])
    raise ApiError(415, "Send the CSV as multipart/form-data (in 'file') or as a text/csv body")


@api_route(
    "/agencies/import",
    "POST",
    summary="Add or update settings from a CSV (name, reference number, sector, optional contact email): matched on "
    "reference number, then name; `dry_run` says what it would do. Every bad row and field is named at once "
    "(`error.fields`, keyed `row <n>.<column>`) and nothing is saved",
    tag="accounts",
    query_model=ImportQuery,
    upload={"file": "A CSV file of settings (or send a text/csv body)"},
    accepts=("text/csv",),
    response_model=ImportOut,
    roles=(Role.ADMIN,),
)
def agencies_import():
    p = principal()
    require(can_manage_accounts(p))
    try:
        query = ImportQuery.model_validate(request.args.to_dict())
    except ValidationError as exc:
        raise ApiError(
            400, "Some parameters are not valid", {str(e["loc"][0]): [e["msg"]] for e in exc.errors(include_url=False)}
        ) from None
    round_ = None
    if query.round_id is not None:
        from ..rounds.permissions import get_managed_round_or_404

        round_ = get_managed_round_or_404(p, query.round_id)
    text = _import_text()
    plan = importer.plan_import(p.partnership_id, text)
    if plan.problems:
        fields: dict[str, list[str]] = {}
        for problem in plan.problems:
            fields.setdefault(f"row {problem.row}.{problem.column or 'file'}", []).append(problem.message)
        raise ApiError(400, f"{len(plan.problems)} problems in the file: nothing was saved", fields)
    named = []
    if not query.dry_run:
        plan, named = importer.apply_import(p.partnership_id, text)
        if round_ is not None:
            from ..rounds import services as rounds

            chosen = {a.id for a in round_.agencies}
            rounds.set_round_agencies(round_, agency_ids=sorted(chosen | {link.agency_id for link in named}))
    out = ImportOut(
        dry_run=query.dry_run,
        added=len(plan.of(importer.ImportAction.ADD)),
        updated=len(plan.of(importer.ImportAction.UPDATE)),
        unchanged=len(plan.of(importer.ImportAction.UNCHANGED)),
        rows=[
            ImportRowOut(
                row=row.row,
                action=row.action,
                agency_id=named[i].agency_id if named else (row.link.agency_id if row.link else None),
                name=row.name,
                reference_number=row.reference_number,
                sector=SectorOut(id=row.sector.id, key=row.sector.key, name=row.sector.name),
                contact_email=row.contact_email,
                changes=row.changes,
            )
            for i, row in enumerate(plan.rows)
        ],
    ).model_dump(mode="json")
    if query.dry_run:
        db.session.rollback()
    else:
        db.session.commit()
    return jsonify(out)
