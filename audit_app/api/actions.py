"""API endpoints of the action plan: recommendations (and promoting them from a report or a panel judgement),
actions, progress updates, evidence of impact with its files, and the composite plan with its counts.

Who may do what comes from actions/permissions.py; what one may not see is 404, found by the scoped queries.
The services name every bad field at once (FieldErrors: 400 with ``error.fields``) or refuse a change the
object's state does not allow (NotAllowedError: 409); core/web.py answers both, after rolling back.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

import sqlalchemy as sa
from flask import Response, abort, jsonify, request, send_file, url_for
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, ValidationError
from sqlalchemy.orm import selectinload

from ..accounts.models import Agency, User
from ..actions import plan as plans
from ..actions import plan_files, services
from ..actions.models import (
    Action,
    ActionStatus,
    ActionUpdate,
    DueDateChange,
    EvidenceStatus,
    ImpactEvidence,
    Rag,
    Recommendation,
    RecommendationTheme,
    SourceKind,
    recommendation_agencies,
)
from ..actions.permissions import (
    PLAN_WIDE,
    actions_query,
    can_decide_evidence,
    can_edit_action,
    can_manage_recommendations,
    can_update_action,
    can_view_plan,
    get_action_or_404,
    get_evidence_or_404,
    get_recommendation_or_404,
    recommendations_query,
)
from ..actions.plan_rows import FILTER_LABELS, refused_filters
from ..case_audits.models import Case, CaseJudgement, ReportRecommendation, RoundCase
from ..case_audits.permissions import get_partnership_round_case_or_404
from ..core import storage
from ..core.access_log import AccessKind, AccessVia, record_access
from ..core.errors import FieldErrors, NotAllowedError
from ..core.inputs import MAX_ID, Id
from ..core.permissions import Principal
from ..core.roles import Role
from ..extensions import db
from ..questionnaires.models import Question
from ..questionnaires.roles import QuestionRole
from ..reporting.report_files import FileState
from ..rounds.models import Answer, Return, ReturnGroup, ReturnStatus, Round
from ..rounds.permissions import get_round_or_404
from .helpers import ApiError, page_of, parse_body, principal, query_args, require
from .schemas import FileOut, Strict
from .spec import ANY_ROLE, PageQuery, api_route

TAG = "actions"
READERS = ANY_ROLE
SCOPED = "agency auditors and leads reach what is addressed to their agency or owned by them or it"
MANAGERS = (Role.ADMIN, Role.QA_MEMBER)
UPDATERS = (Role.ADMIN, Role.QA_MEMBER, Role.AGENCY_LEAD, Role.AUDITOR)
UPDATERS_NOTE = "an agency auditor updates the actions they own, an agency lead those its agency owns"
WIDE = PLAN_WIDE
EVIDENCE_MEDIA = tuple(sorted(services.EVIDENCE_TYPES))


# -- what the API answers --


class NamedRef(BaseModel):
    id: int
    name: str


class RoundRef(BaseModel):
    id: int
    title: str


class ReviewRef(BaseModel):
    id: int
    title: str = Field(description="The review's type and pseudonym, as people name it")


class Person(BaseModel):
    user_id: int | None = Field(description="The user's id; null for a named person without an account")
    name: str


class PlanRecommendationOut(BaseModel):
    id: int = Field(description="Stable, whatever its number or source becomes")
    number: int = Field(description="Its number within its source")
    text: str
    source: SourceKind
    source_label: str = Field(description="The kind of source in words")
    source_name: str = Field(description="The source as people name it: the round's title, or the description")
    source_key: str = Field(description="The numbering group; filter the plan and lists by it (`source`)")
    round: RoundRef | None = Field(description="The round it came from (source `round`)")
    review: ReviewRef | None = Field(description="The learning review it came from (source `review`)")
    source_description: str = Field(description="What the other source was (source `other`)")
    themes: list[str] = Field(description="Learning themes")
    agencies: list[NamedRef] = Field(description="The agencies it is addressed to")
    tested_by_round: RoundRef | None = Field(description="The re-audit (or later round) that will test it")
    report_recommendation_id: int | None = Field(description="Promoted from this chair's report recommendation")
    case_judgement_id: int | None = Field(description="Promoted from this panel judgement of a case")
    impact_evidenced: bool = Field(description="The QA group accepted evidence of impact on one of its actions")
    actions_total: int
    actions_overdue: int
    can_manage: bool = Field(description="Whether you may change it and add actions")


class DueDateChangeOut(BaseModel):
    from_date: date
    to_date: date
    reason: str
    changed_by: Person | None
    changed_at: datetime


class UpdateOut(BaseModel):
    id: int
    action_id: int
    written_on: date
    note: str
    rag: Rag
    rag_label: str
    status: ActionStatus = Field(description="The action's status after this update")
    status_label: str
    author: Person | None
    created_at: datetime


class ActionOut(BaseModel):
    id: int
    recommendation_id: int
    recommendation_number: int
    recommendation_text: str
    source: SourceKind
    source_label: str
    source_name: str
    title: str
    owner: Person
    owner_agency: NamedRef | None
    owner_label: str = Field(description="The owner and their agency, as pages show them")
    due_on: date
    original_due_on: date = Field(description="The due date first agreed; differs from due_on once moved")
    due_date_moved: bool
    overdue: bool = Field(description="Due date passed, and neither complete nor closed (computed)")
    status: ActionStatus
    status_label: str
    rag: Rag
    rag_label: str
    rag_meaning: str
    closure_reason: str = Field(description="Why it can no longer progress (status closed)")
    completed_on: date | None
    latest_update: UpdateOut | None
    evidence_total: int
    has_accepted_evidence: bool
    due_date_changes: list[DueDateChangeOut] = Field(description="Each move of the due date, oldest first")
    can_update: bool = Field(description="Whether you may post updates, add evidence and move the due date")
    can_edit: bool = Field(description="Whether you may change its title and owner")


class EvidenceOut(BaseModel):
    id: int
    action_id: int
    description: str = Field(description="What changed for children or for practice")
    measure: str
    unit: str
    before_value: float | None
    before_on: date | None
    after_value: float | None
    after_on: date | None
    status: EvidenceStatus
    status_label: str
    added_by: Person | None
    created_at: datetime
    decided_by: Person | None
    decided_at: datetime | None
    decision_note: str
    files: list[FileOut]


class PlanRagCount(BaseModel):
    key: Rag
    label: str
    count: int


class PlanAgencyCount(BaseModel):
    agency_id: int | None = Field(description="Null for actions with no owner agency")
    name: str
    total: int
    overdue: int
    by_rag: list[PlanRagCount]


class PlanCountsOut(BaseModel):
    total: int
    overdue: int
    complete: int
    by_rag: list[PlanRagCount] = Field(description="Every RAG rating in order, zeros kept")
    by_agency: list[PlanAgencyCount] = Field(description="By owner agency, by name; no agency last")


class SourceChoice(BaseModel):
    key: str
    label: str


class PlanOut(BaseModel):
    counts: PlanCountsOut
    actions: list[ActionOut] = Field(description="What needs attention first: overdue, then red to blue, then due")
    sources: list[SourceChoice] = Field(description="The sources you can filter by (`source`)")
    themes: list[str] = Field(description="The learning themes you can filter by (`theme`)")


class PlanPdfOut(BaseModel):
    state: Literal["none", "preparing", "ready", "failed"] = Field(
        description="none: not prepared for the plan as it is now (ask with POST); preparing: ask again shortly; "
        "ready: download it; failed: ask again with POST"
    )
    state_label: str
    progress: int | None = Field(description="Percent done while preparing")
    stage: str | None = Field(description="What the worker is doing, while preparing")
    pages: int | None
    prepared_at: str | None
    error: str | None = Field(description="Why it could not be prepared, when failed")
    filters: dict[str, str] = Field(description="The filters it is drawn with, as query parameters")
    download: str | None = Field(description="The file's URL, when ready")


class CandidateOut(BaseModel):
    kind: Literal["chair_report", "panel", "return"] = Field(
        description="chair_report: a numbered recommendation of the chair's report; panel: the panel's "
        "recommendation on a case; return: the recommendation an agency wrote in its return"
    )
    kind_label: str
    text: str
    agency: NamedRef | None = Field(description="The agency whose return it is (kind return)")
    round_case_id: int | None
    case_reference: str | None
    number: int | None = Field(description="Its number in the chair's report")
    report_recommendation_id: int | None = Field(description="Promote with /report-recommendations/{id}/promote")
    case_judgement_id: int | None
    return_id: int | None
    question_key: str | None
    recommendation_id: int | None = Field(description="The plan's recommendation it was promoted to, if it was")


class CandidatesOut(BaseModel):
    round_id: int
    round_title: str
    candidates: list[CandidateOut]


CANDIDATE_LABELS = {
    "chair_report": "Chair's report",
    "panel": "Panel's case recommendation",
    "return": "Agency return",
}


# -- requests --


class PlanRecommendationIn(Strict):
    source: SourceKind = Field(
        description="round (then round_id), review (then review_id) or other (then source_description)"
    )
    round_id: Id | None = None
    review_id: Id | None = Field(default=None, description="A learning review of your partnership (source review)")
    source_description: str = Field(default="", description="What the other source was (an inspection, ...)")
    text: str = ""
    number: StrictInt | None = Field(default=None, description="From 1 to 999; omit: the next number of its source")
    themes: list[str] = Field(default_factory=list, description="Learning themes")
    agency_ids: list[Id] = Field(default_factory=list, description="The agencies it is addressed to")
    tested_by_round_id: Id | None = Field(default=None, description="The round that will test it")


class PlanRecommendationPatch(Strict):
    """Fields given are changed; fields left out keep their values."""

    source: SourceKind | None = None
    round_id: Id | None = None
    review_id: Id | None = None
    source_description: str | None = None
    text: str | None = None
    number: StrictInt | None = Field(default=None, description="Omit to keep it (or to renumber in a new source)")
    themes: list[str] | None = None
    agency_ids: list[Id] | None = None
    tested_by_round_id: Id | None = Field(default=None, description="Send null to clear it")


class ActionIn(Strict):
    title: str = ""
    owner_user_id: Id | None = Field(default=None, description="A user of the partnership; or give owner_name")
    owner_name: str = Field(default="", description="A named person at an agency without an account")
    owner_agency_id: Id | None = None
    due_on: date | None = None
    rag: Literal[Rag.RED, Rag.AMBER, Rag.GREEN] = Field(default=Rag.GREEN, description="The RAG rating to start")


class ActionPatch(Strict):
    """Title and owner; fields left out keep their values. The due date moves with /due-date and a reason."""

    title: str | None = None
    owner_user_id: Id | None = Field(default=None, description="Send null with owner_name for a named person")
    owner_name: str | None = None
    owner_agency_id: Id | None = Field(default=None, description="Send null to clear it")


class DueDateIn(Strict):
    due_on: date | None = None
    reason: str = Field(default="", description="Why it moves (kept with the change)")


class UpdateIn(Strict):
    note: str = Field(default="", description="What has happened since the last update")
    rag: Rag | None = Field(default=None, description="The RAG rating now; blue closes the action")
    status: ActionStatus | None = Field(
        default=None, description="A new status: complete needs accepted evidence, closed a closure_reason"
    )
    closure_reason: str = ""
    written_on: date | None = Field(default=None, description="Today unless given; never in the future")


class EvidenceIn(Strict):
    description: str = Field(default="", description="What changed for children or for practice")
    measure: str = Field(default="", description="What was measured, if anything")
    unit: str = ""
    before_value: Decimal | None = None
    before_on: date | None = None
    after_value: Decimal | None = None
    after_on: date | None = None


class EvidenceForm(BaseModel):
    """The multipart/form-data fields beside the files (dates as YYYY-MM-DD)."""

    model_config = ConfigDict(extra="ignore")

    description: str = Field(default="", description="What changed for children or for practice (needed)")
    measure: str = ""
    unit: str = ""
    before_value: str = Field(default="", description="A number")
    before_on: str = Field(default="", description="YYYY-MM-DD", json_schema_extra={"format": "date"})
    after_value: str = Field(default="", description="A number")
    after_on: str = Field(default="", description="YYYY-MM-DD", json_schema_extra={"format": "date"})


class DecisionIn(Strict):
    accept: StrictBool
    note: str = Field(default="", description="Needed to reject")
    complete_action: StrictBool = Field(default=False, description="On accepting: mark the action complete too")


# -- queries --


class RecommendationsQuery(PageQuery):
    source: str | None = Field(
        default=None, max_length=700, description="round, review, other, or a source_key such as round:12 or review:3"
    )
    round_id: int | None = Field(default=None, ge=1, le=MAX_ID, description="Recommendations of this round")
    agency_id: int | None = Field(default=None, ge=1, le=MAX_ID, description="Addressed to this agency")
    theme: str | None = Field(default=None, max_length=120, description="Tagged with this learning theme")


class PlanQuery(BaseModel):
    """The plan's filters (the plan page's); none given: the whole plan you may see."""

    model_config = ConfigDict(extra="ignore")

    source: str | None = Field(
        default=None, max_length=700, description="round, review, other, or a source_key such as round:12 or review:3"
    )
    agency_id: int | None = Field(default=None, ge=1, le=MAX_ID, description="Owned by this agency")
    owner_user_id: int | None = Field(default=None, ge=1, le=MAX_ID, description="Owned by this user")
    status: ActionStatus | None = None
    rag: Rag | None = None
    theme: str | None = Field(default=None, max_length=120, description="Its recommendation's learning theme")
    overdue: bool = Field(default=False, description="true: only overdue actions")
    recommendation_id: int | None = Field(default=None, ge=1, le=MAX_ID)


# -- serializing --


def _person(user: User | None) -> Person | None:
    return Person(user_id=user.id, name=user.name) if user is not None else None


def _round_ref(round_: Round | None) -> RoundRef | None:
    return RoundRef(id=round_.id, title=round_.title) if round_ is not None else None


def _recommendation(p: Principal, rec: Recommendation) -> dict[str, Any]:
    return PlanRecommendationOut(
        id=rec.id,
        number=rec.number,
        text=rec.text,
        source=rec.source,
        source_label=rec.source.label,
        source_name=rec.source_label,
        source_key=rec.source_key,
        round=_round_ref(rec.round),
        review=ReviewRef(id=rec.review.id, title=rec.review.title) if rec.review is not None else None,
        source_description=rec.source_description,
        themes=rec.theme_names,
        agencies=[NamedRef(id=a.id, name=a.name) for a in rec.agencies],
        tested_by_round=_round_ref(rec.tested_by_round),
        report_recommendation_id=rec.report_recommendation_id,
        case_judgement_id=rec.case_judgement_id,
        impact_evidenced=rec.impact_evidenced,
        actions_total=len(rec.actions),
        actions_overdue=sum(a.overdue for a in rec.actions),
        can_manage=can_manage_recommendations(p),
    ).model_dump(mode="json")


def _update(update: ActionUpdate) -> UpdateOut:
    return UpdateOut(
        id=update.id,
        action_id=update.action_id,
        written_on=update.written_on,
        note=update.note,
        rag=update.rag,
        rag_label=update.rag.label,
        status=update.status,
        status_label=update.status.label,
        author=_person(update.author),
        created_at=update.created_at,
    )


def _action_model(p: Principal, action: Action) -> ActionOut:
    rec = action.recommendation
    latest = action.latest_update
    return ActionOut(
        id=action.id,
        recommendation_id=rec.id,
        recommendation_number=rec.number,
        recommendation_text=rec.text,
        source=rec.source,
        source_label=rec.source.label,
        source_name=rec.source_label,
        title=action.title,
        owner=Person(user_id=action.owner_user_id, name=action.owner_person),
        owner_agency=NamedRef(id=action.owner_agency.id, name=action.owner_agency.name)
        if action.owner_agency
        else None,
        owner_label=action.owner_label,
        due_on=action.due_on,
        original_due_on=action.original_due_on,
        due_date_moved=action.due_date_moved,
        overdue=action.overdue,
        status=action.status,
        status_label=action.status.label,
        rag=action.rag,
        rag_label=action.rag.label,
        rag_meaning=action.rag.meaning,
        closure_reason=action.closure_reason,
        completed_on=action.completed_on,
        latest_update=_update(latest) if latest is not None else None,
        evidence_total=len(action.evidence),
        has_accepted_evidence=action.has_accepted_evidence,
        due_date_changes=[
            DueDateChangeOut(
                from_date=c.from_date,
                to_date=c.to_date,
                reason=c.reason,
                changed_by=_person(c.changed_by),
                changed_at=c.created_at,
            )
            for c in action.due_date_changes
        ],
        can_update=can_update_action(p, action),
        can_edit=can_edit_action(p, action),
    )


def _action(p: Principal, action: Action) -> dict[str, Any]:
    return _action_model(p, action).model_dump(mode="json")


def _evidence(evidence: ImpactEvidence) -> dict[str, Any]:
    def number(value: Decimal | None) -> float | None:
        return float(value) if value is not None else None

    base = f"/api/v1/actions/{evidence.action_id}/evidence/{evidence.id}/files"
    return EvidenceOut(
        id=evidence.id,
        action_id=evidence.action_id,
        description=evidence.description,
        measure=evidence.measure,
        unit=evidence.unit,
        before_value=number(evidence.before_value),
        before_on=evidence.before_on,
        after_value=number(evidence.after_value),
        after_on=evidence.after_on,
        status=evidence.status,
        status_label=evidence.status.label,
        added_by=_person(evidence.added_by),
        created_at=evidence.created_at,
        decided_by=_person(evidence.decided_by),
        decided_at=evidence.decided_at,
        decision_note=evidence.decision_note,
        files=[
            FileOut(
                id=f.id,
                filename=f.original_filename,
                content_type=f.content_type,
                size_bytes=f.size_bytes,
                sha256=f.sha256,
                url=f"{base}/{f.id}",
            )
            for f in evidence.files
        ],
    ).model_dump(mode="json")


def _viewer() -> Principal:
    p = principal()
    require(can_view_plan(p))
    return p


def _manager() -> Principal:
    p = principal()
    require(can_manage_recommendations(p))
    return p


# -- loading lists in a few queries, whatever their length --


def _action_loads() -> list[Any]:
    """What an action's answer reads, loaded for a whole list at once."""
    return [
        selectinload(Action.recommendation).selectinload(Recommendation.round),
        selectinload(Action.owner_user),
        selectinload(Action.owner_agency),
        selectinload(Action.updates).selectinload(ActionUpdate.author),
        selectinload(Action.evidence),
        selectinload(Action.due_date_changes).selectinload(DueDateChange.changed_by),
    ]


def _recommendation_loads() -> list[Any]:
    return [
        selectinload(Recommendation.round),
        selectinload(Recommendation.review),
        selectinload(Recommendation.tested_by_round),
        selectinload(Recommendation.themes),
        selectinload(Recommendation.agencies),
        selectinload(Recommendation.actions).selectinload(Action.evidence),
    ]


# -- recommendations --


@api_route(
    "/recommendations",
    "GET",
    summary="List the recommendations you may see, by source and number",
    tag=TAG,
    query_model=RecommendationsQuery,
    response_model=PlanRecommendationOut,
    many=True,
    roles=READERS,
    roles_note=SCOPED,
)
def recommendations_list():
    p = _viewer()
    args: RecommendationsQuery = query_args()
    query = recommendations_query(p)
    if args.source in ("round", "review", "other"):
        query = query.where(Recommendation.source == args.source)
    elif args.source:
        query = query.where(Recommendation.source_key == args.source)
    if args.round_id is not None:
        query = query.where(Recommendation.round_id == args.round_id)
    if args.agency_id is not None:
        query = query.where(
            Recommendation.id.in_(
                sa.select(recommendation_agencies.c.recommendation_id).where(
                    recommendation_agencies.c.agency_id == args.agency_id
                )
            )
        )
    if args.theme:
        query = query.where(
            Recommendation.id.in_(
                sa.select(RecommendationTheme.recommendation_id).where(RecommendationTheme.name == args.theme)
            )
        )
    query = query.order_by(Recommendation.source_key, Recommendation.number, Recommendation.id).options(
        *_recommendation_loads()
    )
    return page_of(query, lambda rec: _recommendation(p, rec))


def _given(body: PlanRecommendationIn) -> services.RecommendationIn:
    return services.RecommendationIn(
        source=body.source.value,
        round_id=body.round_id,
        review_id=body.review_id,
        source_description=body.source_description,
        text=body.text,
        number=body.number,
        themes=list(body.themes),
        agency_ids=list(body.agency_ids),
        tested_by_round_id=body.tested_by_round_id,
    )


@api_route(
    "/recommendations",
    "POST",
    summary="Record a recommendation of a round or another source; every bad field named at once",
    tag=TAG,
    request_model=PlanRecommendationIn,
    response_model=PlanRecommendationOut,
    status=201,
    roles=MANAGERS,
)
def recommendations_create():
    p = _manager()
    body = parse_body(PlanRecommendationIn)
    rec = services.create_recommendation(p.partnership_id, _given(body))
    db.session.commit()
    return jsonify(_recommendation(p, rec)), 201


@api_route(
    "/recommendations/<int:recommendation_id>",
    "GET",
    summary="Get a recommendation: its source, themes, agencies, the round that tests it, impact evidenced",
    tag=TAG,
    response_model=PlanRecommendationOut,
    roles=READERS,
    roles_note=SCOPED,
)
def recommendations_get(recommendation_id: int):
    p = _viewer()
    return jsonify(_recommendation(p, get_recommendation_or_404(p, recommendation_id)))


@api_route(
    "/recommendations/<int:recommendation_id>",
    "PATCH",
    summary="Change a recommendation; fields left out keep their values",
    tag=TAG,
    request_model=PlanRecommendationPatch,
    response_model=PlanRecommendationOut,
    roles=MANAGERS,
)
def recommendations_update(recommendation_id: int):
    p = _viewer()
    rec = get_recommendation_or_404(p, recommendation_id)
    require(can_manage_recommendations(p))
    body = parse_body(PlanRecommendationPatch)
    given = body.model_fields_set
    source = body.source or rec.source
    round_id = body.round_id if "round_id" in given else rec.round_id
    review_id = body.review_id if "review_id" in given else rec.review_id
    services.update_recommendation(
        rec,
        services.RecommendationIn(
            source=source.value,
            round_id=round_id,
            review_id=review_id,
            source_description=body.source_description
            if body.source_description is not None
            else rec.source_description,
            text=body.text if body.text is not None else rec.text,
            number=body.number,
            themes=list(body.themes) if body.themes is not None else rec.theme_names,
            agency_ids=list(body.agency_ids) if body.agency_ids is not None else [a.id for a in rec.agencies],
            tested_by_round_id=body.tested_by_round_id if "tested_by_round_id" in given else rec.tested_by_round_id,
        ),
    )
    db.session.commit()
    return jsonify(_recommendation(p, rec))


@api_route(
    "/recommendations/<int:recommendation_id>",
    "DELETE",
    summary="Delete a recommendation recorded by mistake; 409 once it has actions",
    tag=TAG,
    status=204,
    roles=MANAGERS,
)
def recommendations_delete(recommendation_id: int):
    p = _viewer()
    rec = get_recommendation_or_404(p, recommendation_id)
    require(can_manage_recommendations(p))
    services.delete_recommendation(rec)
    db.session.commit()
    return "", 204


@api_route(
    "/report-recommendations/<int:report_recommendation_id>/promote",
    "POST",
    summary="Make a chair's report recommendation a recommendation of the plan (409 if it already is)",
    tag=TAG,
    response_model=PlanRecommendationOut,
    status=201,
    roles=MANAGERS,
)
def report_recommendations_promote(report_recommendation_id: int):
    p = _manager()
    report_rec = db.session.get(ReportRecommendation, report_recommendation_id)
    if report_rec is None or report_rec.round.partnership_id != p.partnership_id:
        abort(404)
    rec = services.promote_report_recommendation(report_rec)
    db.session.commit()
    return jsonify(_recommendation(p, rec)), 201


def _case_judgement(round_case: RoundCase) -> CaseJudgement | None:
    return db.session.scalar(
        sa.select(CaseJudgement).where(CaseJudgement.round_case_id == round_case.id, CaseJudgement.section_key == "")
    )


@api_route(
    "/rounds/<int:round_id>/cases/<int:round_case_id>/promote-recommendation",
    "POST",
    summary="Make the panel's recommendation on a case a recommendation of the plan, addressed to the case's "
    "agencies (409 if it already is, or if the panel recorded none)",
    tag=TAG,
    response_model=PlanRecommendationOut,
    status=201,
    roles=MANAGERS,
)
def case_recommendation_promote(round_id: int, round_case_id: int):
    p = _manager()
    round_case = get_partnership_round_case_or_404(p, round_id, round_case_id)
    if round_case.round.partnership_id != p.partnership_id:
        abort(404)
    judgement = _case_judgement(round_case)
    if judgement is None or not (judgement.recommendations or "").strip():
        raise NotAllowedError("The panel has recorded no recommendation for this case")
    rec = services.promote_case_recommendation(judgement)
    db.session.commit()
    return jsonify(_recommendation(p, rec)), 201


@api_route(
    "/rounds/<int:round_id>/recommendation-candidates",
    "GET",
    summary="What the round recommends, to pick from: the chair's report's recommendations, the panel's on each "
    "case, and those agencies wrote in their returns, each with where it came from and what it became",
    tag=TAG,
    response_model=CandidatesOut,
    roles=WIDE,
)
def recommendation_candidates(round_id: int):
    p = principal()
    require(p.has(*WIDE))
    round_ = get_round_or_404(p, round_id)
    promoted_reports = dict(
        db.session.execute(
            sa.select(Recommendation.report_recommendation_id, Recommendation.id).where(
                Recommendation.partnership_id == p.partnership_id, Recommendation.report_recommendation_id.is_not(None)
            )
        ).all()
    )
    promoted_cases = dict(
        db.session.execute(
            sa.select(Recommendation.case_judgement_id, Recommendation.id).where(
                Recommendation.partnership_id == p.partnership_id, Recommendation.case_judgement_id.is_not(None)
            )
        ).all()
    )
    candidates: list[CandidateOut] = []

    def add(kind: str, text: str, **where: Any) -> None:
        base: dict[str, Any] = {
            "agency": None,
            "round_case_id": None,
            "case_reference": None,
            "number": None,
            "report_recommendation_id": None,
            "case_judgement_id": None,
            "return_id": None,
            "question_key": None,
            "recommendation_id": None,
        }
        candidates.append(CandidateOut(kind=kind, kind_label=CANDIDATE_LABELS[kind], text=text, **(base | where)))

    for rr in db.session.scalars(
        sa.select(ReportRecommendation)
        .where(ReportRecommendation.round_id == round_.id)
        .order_by(ReportRecommendation.number)
    ):
        add(
            "chair_report",
            rr.text,
            number=rr.number,
            report_recommendation_id=rr.id,
            recommendation_id=promoted_reports.get(rr.id),
        )
    judgements = db.session.scalars(
        sa.select(CaseJudgement)
        .join(RoundCase, RoundCase.id == CaseJudgement.round_case_id)
        .where(RoundCase.round_id == round_.id, CaseJudgement.section_key == "", CaseJudgement.recommendations != "")
        .order_by(CaseJudgement.round_case_id)
        .options(selectinload(CaseJudgement.round_case).selectinload(RoundCase.case))
    )
    for judgement in judgements:
        if not judgement.recommendations.strip():
            continue
        add(
            "panel",
            judgement.recommendations.strip(),
            round_case_id=judgement.round_case_id,
            case_reference=judgement.round_case.case.reference,
            case_judgement_id=judgement.id,
            recommendation_id=promoted_cases.get(judgement.id),
        )
    answers = db.session.execute(
        sa.select(Answer.value, Return.id, Return.agency_id, Return.round_case_id, Case.reference, Question.key)
        .join(Return, Return.id == Answer.return_id)
        .join(Question, Question.id == Answer.question_id)
        .outerjoin(RoundCase, RoundCase.id == Return.round_case_id)
        .outerjoin(Case, Case.id == RoundCase.case_id)
        .where(
            Return.round_id == round_.id,
            Return.status.in_(ReturnStatus.in_group(ReturnGroup.RETURNED)),
            Question.role == QuestionRole.RECOMMENDATION,
            Answer.value != "",
        )
        .order_by(Return.round_case_id, Return.agency_id, Answer.id)
    ).all()
    agencies = {
        a.id: a
        for a in db.session.scalars(sa.select(Agency).where(Agency.id.in_({row.agency_id for row in answers} or {-1})))
    }
    for value, return_id, agency_id, round_case_id, reference, key in answers:
        if not value.strip():
            continue
        agency = agencies.get(agency_id)
        add(
            "return",
            value.strip(),
            agency=NamedRef(id=agency.id, name=agency.name) if agency is not None else None,
            round_case_id=round_case_id,
            case_reference=reference,
            return_id=return_id,
            question_key=key,
        )
    return jsonify(
        CandidatesOut(round_id=round_.id, round_title=round_.title, candidates=candidates).model_dump(mode="json")
    )


# -- actions --


@api_route(
    "/recommendations/<int:recommendation_id>/actions",
    "GET",
    summary="List the actions of a recommendation that you may see",
    tag=TAG,
    response_model=ActionOut,
    many=True,
    roles=READERS,
    roles_note=SCOPED,
)
def recommendation_actions_list(recommendation_id: int):
    p = _viewer()
    rec = get_recommendation_or_404(p, recommendation_id)
    query = actions_query(p).where(Action.recommendation_id == rec.id).order_by(Action.id).options(*_action_loads())
    return page_of(query, lambda action: _action(p, action))


@api_route(
    "/recommendations/<int:recommendation_id>/actions",
    "POST",
    summary="Add an action under a recommendation: owner (a user, or a named person), agency, due date, RAG",
    tag=TAG,
    request_model=ActionIn,
    response_model=ActionOut,
    status=201,
    roles=MANAGERS,
)
def recommendation_actions_create(recommendation_id: int):
    p = _viewer()
    rec = get_recommendation_or_404(p, recommendation_id)
    require(can_manage_recommendations(p))
    body = parse_body(ActionIn)
    action = services.add_action(
        rec,
        services.ActionIn(
            title=body.title,
            owner_user_id=body.owner_user_id,
            owner_name=body.owner_name,
            owner_agency_id=body.owner_agency_id,
            due_on=body.due_on,
            rag=Rag(body.rag).value,
        ),
    )
    db.session.commit()
    return jsonify(_action(p, action)), 201


@api_route(
    "/actions/<int:action_id>",
    "GET",
    summary="Get an action: owner, due dates, status, RAG, latest update, overdue",
    tag=TAG,
    response_model=ActionOut,
    roles=READERS,
    roles_note=SCOPED,
)
def actions_get(action_id: int):
    p = _viewer()
    return jsonify(_action(p, get_action_or_404(p, action_id)))


@api_route(
    "/actions/<int:action_id>",
    "PATCH",
    summary="Change an action's title, owner or owner agency",
    tag=TAG,
    request_model=ActionPatch,
    response_model=ActionOut,
    roles=MANAGERS,
)
def actions_update(action_id: int):
    p = _viewer()
    action = get_action_or_404(p, action_id)
    require(can_edit_action(p, action))
    body = parse_body(ActionPatch)
    given = body.model_fields_set
    owner_user_id = body.owner_user_id if "owner_user_id" in given else action.owner_user_id
    if "owner_name" in given and "owner_user_id" not in given:
        owner_user_id = None  # a named person replaces the user
    services.update_action(
        action,
        services.ActionIn(
            title=body.title if body.title is not None else action.title,
            owner_user_id=owner_user_id,
            owner_name=body.owner_name if body.owner_name is not None else action.owner_name,
            owner_agency_id=body.owner_agency_id if "owner_agency_id" in given else action.owner_agency_id,
        ),
    )
    db.session.commit()
    return jsonify(_action(p, action))


def _updatable(action_id: int) -> tuple[Principal, Action]:
    p = _viewer()
    action = get_action_or_404(p, action_id)
    require(can_update_action(p, action))
    return p, action


@api_route(
    "/actions/<int:action_id>/due-date",
    "POST",
    summary="Move an action's due date, with a reason; the original date stays",
    tag=TAG,
    request_model=DueDateIn,
    response_model=ActionOut,
    roles=UPDATERS,
    roles_note=UPDATERS_NOTE,
)
def actions_move_due_date(action_id: int):
    p, action = _updatable(action_id)
    body = parse_body(DueDateIn)
    services.move_due_date(action, body.due_on, body.reason, by=p.user_id)
    db.session.commit()
    return jsonify(_action(p, action))


@api_route(
    "/actions/<int:action_id>/updates",
    "GET",
    summary="An action's progress updates, newest first",
    tag=TAG,
    response_model=UpdateOut,
    many=True,
    roles=READERS,
    roles_note=SCOPED,
)
def action_updates_list(action_id: int):
    p = _viewer()
    action = get_action_or_404(p, action_id)
    query = (
        sa.select(ActionUpdate)
        .options(selectinload(ActionUpdate.author))
        .where(ActionUpdate.action_id == action.id)
        .order_by(ActionUpdate.written_on.desc(), ActionUpdate.id.desc())
    )
    return page_of(query, lambda update: _update(update).model_dump(mode="json"))


@api_route(
    "/actions/<int:action_id>/updates",
    "POST",
    summary="Post a progress update: a dated note, the RAG now, and a new status if it changes",
    tag=TAG,
    request_model=UpdateIn,
    response_model=UpdateOut,
    status=201,
    roles=UPDATERS,
    roles_note=UPDATERS_NOTE,
)
def action_updates_create(action_id: int):
    p, action = _updatable(action_id)
    body = parse_body(UpdateIn)
    update = services.post_update(
        action,
        services.UpdateIn(
            note=body.note,
            rag=body.rag.value if body.rag else "",
            status=body.status.value if body.status else "",
            closure_reason=body.closure_reason,
            written_on=body.written_on,
        ),
        by=p.user_id,
    )
    db.session.commit()
    return jsonify(_update(update).model_dump(mode="json")), 201


# -- evidence of impact --


@api_route(
    "/actions/<int:action_id>/evidence",
    "GET",
    summary="An action's evidence of impact, with the QA group's decisions and the files' SHA-256",
    tag=TAG,
    response_model=EvidenceOut,
    many=True,
    roles=READERS,
    roles_note=SCOPED,
)
def action_evidence_list(action_id: int):
    p = _viewer()
    action = get_action_or_404(p, action_id)
    query = (
        sa.select(ImpactEvidence)
        .where(ImpactEvidence.action_id == action.id)
        .order_by(ImpactEvidence.id)
        .options(
            selectinload(ImpactEvidence.files),
            selectinload(ImpactEvidence.added_by),
            selectinload(ImpactEvidence.decided_by),
        )
    )
    return page_of(query, _evidence)


def _form_date(value: str, name: str, problems: dict[str, list[str]]) -> date | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        problems.setdefault(name, []).append("Enter a real date as YYYY-MM-DD")
        return None


@api_route(
    "/actions/<int:action_id>/evidence",
    "POST",
    summary="Add evidence of impact: what changed, an optional measure before and after, optional files "
    "(multipart/form-data, in `files`; or JSON without files). A refused file names itself and nothing is kept",
    tag=TAG,
    request_model=EvidenceIn,
    upload={"files": "PDF, Word (.docx), Excel (.xlsx), PNG, JPEG or plain text files, checked by content"},
    form_model=EvidenceForm,
    response_model=EvidenceOut,
    status=201,
    roles=UPDATERS,
    roles_note=UPDATERS_NOTE,
)
def action_evidence_create(action_id: int):
    p, action = _updatable(action_id)
    problems: dict[str, list[str]] = {}
    files: list[tuple[Any, str | None]] = []
    if request.mimetype == "multipart/form-data":
        try:
            form = EvidenceForm.model_validate(request.form.to_dict())
        except ValidationError as exc:
            raise ApiError(
                400,
                "Some fields are not valid",
                {".".join(map(str, e["loc"])): [e["msg"]] for e in exc.errors(include_url=False)},
            ) from None
        given = services.EvidenceIn(
            description=form.description,
            measure=form.measure,
            unit=form.unit,
            before_value=form.before_value,
            before_on=_form_date(form.before_on, "before_on", problems),
            after_value=form.after_value,
            after_on=_form_date(form.after_on, "after_on", problems),
        )
        files = [(upload.stream, upload.filename) for upload in request.files.getlist("files")]
        unexpected = sorted(set(request.files) - {"files"})
        if unexpected:
            problems["files"] = [f"Send files in the field 'files' (not {', '.join(unexpected)})"]
    elif request.is_json:
        body = parse_body(EvidenceIn)
        given = services.EvidenceIn(
            description=body.description,
            measure=body.measure,
            unit=body.unit,
            before_value="" if body.before_value is None else str(body.before_value),
            before_on=body.before_on,
            after_value="" if body.after_value is None else str(body.after_value),
            after_on=body.after_on,
        )
    else:
        raise ApiError(415, "Send the evidence as JSON, or as multipart/form-data with its files in 'files'")
    try:
        evidence = services.add_evidence(action, given, files, by=p.user_id)
    except FieldErrors as error:
        db.session.rollback()
        for name, messages in problems.items():
            error.fields.setdefault(name, []).extend(messages)
        raise FieldErrors(error.fields) from None
    if problems:
        db.session.rollback()  # nothing is kept unless all is well
        raise FieldErrors(problems)
    db.session.commit()
    return jsonify(_evidence(evidence)), 201


@api_route(
    "/actions/<int:action_id>/evidence/<int:evidence_id>",
    "GET",
    summary="A piece of evidence of impact: its measure, decision and files (with their SHA-256)",
    tag=TAG,
    response_model=EvidenceOut,
    roles=READERS,
    roles_note=SCOPED,
)
def action_evidence_get(action_id: int, evidence_id: int):
    p = _viewer()
    return jsonify(_evidence(get_evidence_or_404(p, action_id, evidence_id)))


@api_route(
    "/actions/<int:action_id>/evidence/<int:evidence_id>/decision",
    "POST",
    summary="The QA group accepts or rejects evidence (a note is needed to reject); accepting can complete the action",
    tag=TAG,
    request_model=DecisionIn,
    response_model=EvidenceOut,
    roles=MANAGERS,
    refusals={409: "The evidence is already decided, or the action cannot be completed"},
)
def action_evidence_decide(action_id: int, evidence_id: int):
    p = _viewer()
    evidence = get_evidence_or_404(p, action_id, evidence_id)
    require(can_decide_evidence(p))
    body = parse_body(DecisionIn)
    if evidence.status != EvidenceStatus.PENDING:
        raise NotAllowedError(f"This evidence is already {evidence.status.label.lower()}")
    try:
        services.decide_evidence(
            evidence, accept=body.accept, note=body.note, by=p.user_id, complete_action=body.complete_action
        )
    except FieldErrors as error:
        db.session.rollback()
        renamed = {"decision_note": "note", "decision": "accept", "status": "complete_action", "rag": "complete_action"}
        fields: dict[str, list[str]] = {}
        for name, messages in error.fields.items():
            fields.setdefault(renamed.get(name, name), []).extend(messages)
        raise FieldErrors(fields) from None
    db.session.commit()
    return jsonify(_evidence(evidence))


@api_route(
    "/actions/<int:action_id>/evidence/<int:evidence_id>/files/<int:file_id>",
    "GET",
    summary="Download a file of a piece of evidence, as an attachment (check it against the evidence's sha256)",
    tag=TAG,
    produces=EVIDENCE_MEDIA,
    roles=READERS,
    roles_note=SCOPED,
)
def action_evidence_file(action_id: int, evidence_id: int, file_id: int):
    p = _viewer()
    evidence = get_evidence_or_404(p, action_id, evidence_id)
    stored = next((f for f in evidence.files if f.id == file_id), None)
    if stored is None:
        abort(404)
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


# -- the composite plan --


def _plan_counts(actions: list[Action]) -> PlanCountsOut:
    counts = plans.plan_counts(actions)
    agency_ids = {a.owner_agency.name: a.owner_agency.id for a in actions if a.owner_agency is not None}
    return PlanCountsOut(
        total=counts.total,
        overdue=counts.overdue,
        complete=counts.complete,
        by_rag=[PlanRagCount(key=rag, label=rag.label, count=n) for rag, n in counts.by_rag],
        by_agency=[
            PlanAgencyCount(
                agency_id=agency_ids.get(name),
                name=name,
                total=sum(by_rag.values()),
                overdue=overdue,
                by_rag=[PlanRagCount(key=rag, label=rag.label, count=n) for rag, n in by_rag.items()],
            )
            for name, by_rag, overdue in counts.by_agency
        ],
    )


@api_route(
    "/plan",
    "GET",
    summary="The composite action plan across every source, filtered, with counts by RAG and by agency",
    tag=TAG,
    query_model=PlanQuery,
    response_model=PlanOut,
    roles=READERS,
    roles_note=SCOPED,
)
def plan_get():
    p = _viewer()
    args: PlanQuery = query_args()
    filters = plans.PlanFilters(
        source=args.source or "",
        agency_id=args.agency_id,
        owner_user_id=args.owner_user_id,
        status=args.status.value if args.status else "",
        rag=args.rag.value if args.rag else "",
        theme=args.theme or "",
        overdue=args.overdue,
        recommendation_id=args.recommendation_id,
    )
    actions = plans.plan_actions(p, filters)
    if actions:  # what the answer reads beyond what the plan's query loads, for every action at once
        db.session.scalars(
            sa.select(Action).where(Action.id.in_([a.id for a in actions])).options(*_action_loads())
        ).all()
    themes = sorted(
        set(
            db.session.scalars(
                sa.select(RecommendationTheme.name).where(
                    RecommendationTheme.recommendation_id.in_(
                        recommendations_query(p).with_only_columns(Recommendation.id)
                    )
                )
            )
        ),
        key=str.casefold,
    )
    return jsonify(
        PlanOut(
            counts=_plan_counts(actions),
            actions=[_action_model(p, action) for action in actions],
            sources=[SourceChoice(key=key, label=label) for key, label in plans.source_choices(p)],
            themes=themes,
        ).model_dump(mode="json")
    )


# -- the plan's files: the XLSX, and the PDF drawn by a job --

PDF_MEDIA = "application/pdf"


def _plan_filters() -> tuple[Principal, plans.PlanFilters]:
    """The caller and the plan's filters from the query string: a value of the wrong kind, or one the plan does
    not offer (an agency or owner not in it, an unknown source or theme, a recommendation one cannot see), is
    refused, every such field named at once."""
    p = _viewer()
    try:
        args: PlanQuery = query_args()
    except ApiError as error:  # name too the well-formed values the plan does not offer
        fields = dict(error.fields or {})
        given = {}
        for name in (*FILTER_LABELS, "recommendation_id"):
            value = request.args.get(name, "").strip()
            if name in fields or name == "overdue" or not value:
                continue
            given[name] = str(int(value)) if value.isdigit() else value
        for name, message in refused_filters(p, given).items():
            fields[name] = [message]
        raise ApiError(error.status, error.message, fields) from None
    filters = plans.PlanFilters(
        source=args.source or "",
        agency_id=args.agency_id,
        owner_user_id=args.owner_user_id,
        status=args.status.value if args.status else "",
        rag=args.rag.value if args.rag else "",
        theme=args.theme or "",
        overdue=args.overdue,
        recommendation_id=args.recommendation_id,
    )
    errors = refused_filters(p, filters.as_args())
    if errors:
        raise ApiError(
            400,
            "Some filters are not offered by the plan: " + " ".join(errors.values()),
            {k: [v] for k, v in errors.items()},
        )
    return p, filters


def _plan_pdf_out(p: Principal, filters: plans.PlanFilters) -> dict[str, Any]:
    row = plan_files.plan_file(p, filters)
    state = plan_files.file_state(row, plan_files.plan_fingerprint(p, filters))
    ready = state == FileState.READY and row is not None
    preparing = state == FileState.PREPARING and row is not None
    return PlanPdfOut(
        state=state.value,
        state_label=plan_files.STATE_LABELS[state],
        progress=row.progress if preparing and row is not None else None,
        stage=row.stage if preparing and row is not None else None,
        pages=row.pages if ready and row is not None else None,
        prepared_at=row.finished_at.isoformat() if ready and row is not None and row.finished_at else None,
        error=row.error or None if state == FileState.FAILED and row is not None else None,
        filters=filters.as_args(),
        download=url_for("api.plan_pdf_download", **filters.as_args()) if ready else None,
    ).model_dump(mode="json")


@api_route(
    "/plan.xlsx",
    "GET",
    summary="The composite action plan as XLSX, with the columns committees use; the same filters as /plan",
    tag=TAG,
    query_model=PlanQuery,
    roles=READERS,
    roles_note=SCOPED,
    produces=(plan_files.XLSX_MIMETYPE,),
)
def plan_xlsx():
    p, filters = _plan_filters()
    return Response(
        plan_files.plan_spreadsheet(p, filters),
        mimetype=plan_files.XLSX_MIMETYPE,
        headers={"Content-Disposition": f'attachment; filename="{plan_files.XLSX_NAME}"'},
    )


@api_route(
    "/plan/pdf",
    "GET",
    summary="Where the plan's PDF for these filters stands: not prepared, being prepared (with progress), ready "
    "(with its download URL) or failed",
    tag=TAG,
    query_model=PlanQuery,
    response_model=PlanPdfOut,
    roles=READERS,
    roles_note=SCOPED,
)
def plan_pdf_status():
    p, filters = _plan_filters()
    return jsonify(_plan_pdf_out(p, filters))


@api_route(
    "/plan/pdf",
    "POST",
    summary="Ask for the plan's PDF for these filters: drawn by a job unless one drawn from the plan as it is now "
    "is kept",
    tag=TAG,
    query_model=PlanQuery,
    response_model=PlanPdfOut,
    roles=READERS,
    roles_note=SCOPED,
    status=202,
)
def plan_pdf_prepare():
    p, filters = _plan_filters()
    plan_files.request_plan_file(p, filters)
    db.session.commit()
    db.session.expire_all()
    return jsonify(_plan_pdf_out(p, filters)), 202


@api_route(
    "/plan.pdf",
    "GET",
    summary="The prepared PDF of the plan for these filters; 409 if it is not ready for the plan as it is now",
    tag=TAG,
    query_model=PlanQuery,
    roles=READERS,
    roles_note=SCOPED,
    produces=(PDF_MEDIA,),
    refusals={409: "Not ready for the plan as it is now: ask for it with POST /plan/pdf and wait"},
)
def plan_pdf_download():
    p, filters = _plan_filters()
    row = plan_files.plan_file(p, filters)
    if plan_files.file_state(row, plan_files.plan_fingerprint(p, filters)) != FileState.READY:
        raise ApiError(
            409,
            "The PDF is not ready for the plan as it is now: ask for it with POST /api/v1/plan/pdf (the same filters) "
            "and wait until GET /api/v1/plan/pdf says it is ready",
            {"pdf": ["Not ready"]},
        )
    assert row is not None and row.stored_file is not None
    return send_file(
        storage.open_file(row.stored_file),
        mimetype=PDF_MEDIA,
        as_attachment=True,
        download_name=plan_files.FILE_NAME,
    )
