"""API endpoints for case-audit rounds and returns."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from flask import Response, abort, g, jsonify
from pydantic import BaseModel, Field, StrictBool, StrictInt, StringConstraints
from sqlalchemy.orm import contains_eager, selectinload

from ..accounts.models import Role
from ..case_audits import cohort
from ..case_audits import services as case_services
from ..core import clock
from ..core.access_log import AccessKind, AccessVia, record_access
from ..core.errors import ConflictError, DomainError, NotAllowedError
from ..core.inputs import MAX_ID, Id, Int32
from ..extensions import db
from ..questionnaires import answers
from ..questionnaires.models import QuestionnaireKind, QuestionnaireVersion
from ..rounds import carry, queues, services
from ..rounds.models import EmailKind, Return, ReturnGroup, ReturnStatus, Round, RoundStatus
from ..rounds.notifications import queue_round_emails
from ..rounds.permissions import (
    can_assign_return,
    can_choose_round_agencies,
    can_manage_rounds,
    can_mark_declined,
    can_review_returns,
    can_share_round,
    can_view_rounds,
    get_managed_round_or_404,
    get_return_or_404,
    get_round_or_404,
    leads_return_agency,
    returns_query,
    rounds_query,
    works_for_return,
)
from .helpers import ApiError, page_of, parse_body, principal, query_args, require, uploaded_file
from .schemas import Strict
from .spec import ANY_ROLE, PageQuery, api_route

BUILDERS = (Role.ADMIN, Role.QA_MEMBER)
VIEWERS = (Role.ADMIN, Role.QA_MEMBER, Role.SCRUTINEER)
AGENCY = (Role.AUDITOR, Role.AGENCY_LEAD)
OWN_AGENCY = "agency auditors and leads reach their own agency's returns only"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class RoundIn(Strict):
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    version_id: Id = Field(description="A published questionnaire version of the partnership")
    opens_on: date | None = None
    due_on: date | None = None
    shares_answers_in_discussion: StrictBool = False
    previous_round_id: Id | None = Field(default=None, description="The round this one re-audits")
    remind_days_before: StrictInt = Field(
        default=3, ge=0, le=60, description="Automatic reminder this many days before the due date (0: none)"
    )
    remind_days_after: StrictInt = Field(default=2, ge=0, le=60, description="And this many days after it (0: none)")
    agency_ids: list[Id] = Field(
        default_factory=list,
        description="Self-assessments and agency summaries: the agencies that must return (case audits take theirs from cases)",
    )
    sector_ids: list[Id] = Field(
        default_factory=list, description="Self-assessments: every active agency of these sectors must return"
    )


class RoundAgenciesIn(Strict):
    agency_ids: list[Id] = Field(default_factory=list, description="The agencies that must return")
    sector_ids: list[Id] = Field(default_factory=list, description="And every active agency of these sectors")


class RoundOut(BaseModel):
    id: int
    title: str
    status: RoundStatus
    status_label: str
    kind: QuestionnaireKind
    questionnaire_key: str
    version_number: int
    opens_on: date | None
    due_on: date | None
    shares_answers_in_discussion: bool
    previous_round_id: int | None
    remind_days_before: int
    remind_days_after: int
    cases: list[dict[str, Any]] = Field(
        description="Each case: id, reference, agency_ids, previous_round_case_id, concern_raised (an agency's return "
        "recorded an immediate safeguarding concern) and concerns (agency_id, agency_name, raised_at of each)"
    )
    agencies: list[dict[str, Any]] = Field(
        description="The agencies chosen to return (kinds that choose them): the asking partnership's own, in a "
        "round shared by several"
    )
    partnership_ids: list[int] = Field(description="Every partnership the round counts for, the planning one first")
    warnings: list[RoundWarningOut] = Field(
        description="What to put right in a planning or open round: a due date past, agencies with nobody to "
        "complete their returns"
    )


class RoundPatch(Strict):
    """Change any of these until the round is reported; fields left out keep their values."""

    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)] | None = None
    opens_on: date | None = Field(default=None, description="Send null to clear it")
    due_on: date | None = Field(default=None, description="Send null to clear it")
    remind_days_before: StrictInt | None = Field(default=None, ge=0, le=60)
    remind_days_after: StrictInt | None = Field(default=None, ge=0, le=60)


class RoundWarningOut(BaseModel):
    key: Literal[services.WARNING_KEYS] = Field(description="Stable: what the warning is about")
    message: str


class MoveOut(BaseModel):
    to: RoundStatus
    label: str = Field(description="The button's words")
    consequences: list[str] = Field(description="What the move does and leaves undone, in words")


class MovesOut(BaseModel):
    round_id: int
    status: RoundStatus
    moves: list[MoveOut]


class CaseIn(Strict):
    reference: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
    age_band: Literal[("", *cohort.AGE_BANDS)] = Field(default="", description="Empty: not recorded")
    sex: Literal[("", *cohort.SEXES)] = Field(default="", description="Empty: not recorded")
    ethnicity: Literal[("", *cohort.ETHNICITIES)] = Field(
        default="",
        description="A 2021 Census category key (labels: "
        + "; ".join(f"{k} = {v}" for k, v in cohort.ETHNICITIES.items())
        + "). Empty: not recorded",
    )
    disability: Literal[("", *cohort.DISABILITY)] = Field(default="", description="Empty: not recorded")
    plan_type: Literal[("", *cohort.PLAN_TYPES)] = Field(default="", description="Empty: not recorded")
    agency_ids: list[Id] = Field(min_length=1, description="The agencies involved with the case")


class MoveIn(Strict):
    to: RoundStatus


class ReturnOut(BaseModel):
    id: int
    round_id: int
    round_title: str
    agency_id: int
    agency_name: str
    round_case_id: int | None
    case_reference: str | None
    status: ReturnStatus
    status_label: str
    is_late: bool = Field(description="Outstanding after its round's due date")
    assigned_to_id: int | None = Field(description="The auditor of the agency named to complete it")
    assigned_to_name: str | None
    lock_version: int
    submitted_at: datetime | None
    note: str
    concern_raised: bool = Field(
        description="The return's answer to the immediate-concern question says a concern was identified"
    )
    concern_raised_at: datetime | None = Field(description="When that was first recorded (the QA group was emailed)")
    answers: dict[str, Any]
    carried_forward: list[str] = Field(
        description="Keys of the answers carried forward from the previous round and not yet reviewed (saving an "
        "answer or confirming it clears it); submitting with any left needs confirm_carried=true"
    )


class AnswersIn(Strict):
    lock_version: Int32 = Field(description="The lock_version you read; a save after someone else's is refused (409)")
    answers: dict[str, Any] = Field(
        description="Question key -> value (level label, option, list of options, number, ISO date or text)"
    )


class NextRoundIn(Strict):
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    opens_on: date | None = None
    due_on: date | None = None
    remind_days_before: StrictInt | None = Field(default=None, ge=0, le=60, description="Default: the previous round's")
    remind_days_after: StrictInt | None = Field(default=None, ge=0, le=60, description="Default: the previous round's")


class ConfirmCarriedIn(Strict):
    lock_version: Int32 = Field(
        description="The lock_version you read; a confirmation after someone else's save is refused (409)"
    )
    section_key: Annotated[str, StringConstraints(max_length=64)] | None = Field(
        default=None, description="Confirm only this section's carried answers (default: the whole return)"
    )


class SubmitQuery(BaseModel):
    confirm_carried: bool = Field(
        default=False,
        description="Submit even though answers carried forward from the previous round are not yet reviewed "
        "(without it such a submission is refused, 409, naming how many)",
    )


class ReturnsQuery(PageQuery):
    """The return list's filters: the same as the returns page's."""

    status: Literal[tuple(queues.STATUS_FILTER_LABELS)] | None = Field(  # type: ignore[valid-type]
        default=None, description="A return status, or 'late': outstanding after the round's due date"
    )
    round_id: int | None = Field(default=None, ge=1, le=MAX_ID, description="Only this round's returns")
    agency_id: int | None = Field(default=None, ge=1, le=MAX_ID, description="Only this agency's returns")
    case: Annotated[str, StringConstraints(strip_whitespace=True, max_length=queues.CASE_MAX)] | None = Field(
        default=None, description="Case reference, whole or in part (any case)"
    )
    assigned: Literal["me"] | None = Field(default=None, description="'me': only returns assigned to you")


class AssignIn(Strict):
    assigned_to_id: Id | None = Field(description="An active auditor of the return's agency; null for nobody")


class ShareIn(Strict):
    partnership_id: Id = Field(description="A partnership the caller is an administrator of too")


class SharingOut(BaseModel):
    round_id: int
    planned_by_partnership_id: int
    partnerships: list[dict[str, Any]] = Field(
        description="Every partnership the round counts for: id, name, plans_round (the one that manages it)"
    )
    shareable: list[dict[str, Any]] = Field(
        description="Partnerships the caller may share it with (id, name): administrators of the planning "
        "partnership who are administrators of these too; empty for everyone else"
    )


class ChaseIn(Strict):
    agency_id: Id | None = Field(
        default=None, description="Remind this agency only; leave out to remind every agency with returns outstanding"
    )


class ChaseOut(BaseModel):
    agencies_emailed: int = Field(description="Agencies with returns outstanding that the reminder goes to")


class NoteIn(Strict):
    note: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]


class DeclineIn(Strict):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)] = Field(
        description="Why the agency cannot complete this return"
    )


class AlternativeIn(Strict):
    note: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)] = Field(
        description="What the agency sent instead (its own form, a document) and where it is kept"
    )


class ReturnRateOut(BaseModel):
    sector: str = Field(description="The agencies' sector in the partnership asking; empty for every sector")
    asked: int
    returned: int = Field(description="Submitted or accepted")
    declined: int
    alternative: int = Field(description="Submitted on another template")
    outstanding: int
    late: int = Field(description="Outstanding after the due date")
    asked_less_declined: int = Field(description="Asked, leaving out declined and another-template returns")
    percent: int | None = Field(description="Returned as a whole percentage of asked; null when none asked")
    percent_less_declined: int | None


class ReturnRatesOut(BaseModel):
    round_id: int
    overall: ReturnRateOut
    by_sector: list[ReturnRateOut]
    not_returned: list[dict[str, Any]] = Field(
        description="Agencies still owing their return: id, name, status and status_label, late"
    )


def _rate(rate: Any) -> dict[str, Any]:
    return ReturnRateOut(
        sector=rate.sector,
        asked=rate.asked,
        returned=rate.returned,
        declined=rate.declined,
        alternative=rate.alternative,
        outstanding=rate.outstanding,
        late=rate.late,
        asked_less_declined=rate.asked_less_declined,
        percent=rate.percent,
        percent_less_declined=rate.percent_less_declined,
    ).model_dump(mode="json")


class ConcernOut(BaseModel):
    agency_id: int
    agency_name: str
    raised_at: datetime


def concern_items(returns: list[Return]) -> list[dict[str, Any]]:
    """Who raised an immediate concern on a case, and when (a case's ``concerns`` in the API)."""
    return [
        ConcernOut(agency_id=ret.agency_id, agency_name=ret.agency.name, raised_at=ret.concern_raised_at).model_dump(
            mode="json"
        )
        for ret in returns
        if ret.concern_raised_at is not None
    ]


def _round(r: Round) -> dict[str, Any]:
    concerns: dict[int | None, list[Return]] = {}
    for ret in services.raised_concerns(r.id):
        concerns.setdefault(ret.round_case_id, []).append(ret)
    return RoundOut(
        id=r.id,
        title=r.title,
        status=r.status,
        status_label=r.status.label,
        kind=r.kind.value,
        questionnaire_key=r.version.questionnaire.key,
        version_number=r.version.number,
        opens_on=r.opens_on,
        due_on=r.due_on,
        shares_answers_in_discussion=r.shares_answers_in_discussion,
        previous_round_id=r.previous_round_id,
        remind_days_before=r.remind_days_before,
        remind_days_after=r.remind_days_after,
        cases=[
            {
                "id": rc.id,
                "reference": rc.case.reference,
                "age_band": rc.case.age_band,
                "sex": rc.case.sex,
                "ethnicity": rc.case.ethnicity,
                "ethnicity_label": rc.case.ethnicity_label,
                "disability": rc.case.disability,
                "plan_type": rc.case.plan_type,
                "agency_ids": [a.id for a in rc.agencies],
                "previous_round_case_id": rc.previous_round_case_id,
                "concern_raised": rc.id in concerns,
                "concerns": concern_items(concerns.get(rc.id, [])),
            }
            for rc in r.cases
        ],
        agencies=[{"id": a.id, "name": a.name} for a in services.round_agencies_seen_by(r, principal().partnership_id)],
        partnership_ids=services.round_partnership_ids(r),
        warnings=[{"key": w.key, "message": w.message} for w in services.round_warnings(r)],
    ).model_dump(mode="json")


def _return(ret: Return) -> dict[str, Any]:
    # Answers to questions hidden by their show-if condition are kept but not reported, as on every page.
    stored = services.stored_answers(ret)
    given = {
        a.question.key: answers.answer_type(a.question).to_json(a.value)
        for a in ret.answers
        if answers.shown(a.question, stored)
    }
    return ReturnOut(
        id=ret.id,
        round_id=ret.round_id,
        round_title=ret.round.title,
        agency_id=ret.agency_id,
        agency_name=ret.agency.name,
        round_case_id=ret.round_case_id,
        case_reference=ret.round_case.case.reference if ret.round_case else None,
        status=ret.status.value,
        status_label=ret.status.label,
        is_late=bool(
            ret.round.due_on and ret.round.due_on < clock.today() and ret.status.group == ReturnGroup.OUTSTANDING
        ),
        assigned_to_id=ret.assigned_to_id,
        assigned_to_name=ret.assigned_to.name if ret.assigned_to else None,
        lock_version=ret.lock_version,
        submitted_at=ret.submitted_at,
        note=ret.note,
        concern_raised=ret.concern_raised_at is not None,
        concern_raised_at=ret.concern_raised_at,
        answers={key: value for key, value in given.items() if value is not None},
        carried_forward=sorted(carry.carried_keys(ret)),
    ).model_dump(mode="json")


# -- rounds --


@api_route("/rounds", "GET", summary="List rounds", tag="audits", response_model=RoundOut, many=True, roles=VIEWERS)
def rounds_list():
    p = principal()
    require(can_view_rounds(p))
    return page_of(rounds_query(p), _round)


@api_route(
    "/rounds",
    "POST",
    summary="Plan a round",
    tag="audits",
    request_model=RoundIn,
    response_model=RoundOut,
    status=201,
    roles=BUILDERS,
)
def rounds_create():
    p = principal()
    require(can_manage_rounds(p))
    body = parse_body(RoundIn)
    version = db.session.get(QuestionnaireVersion, body.version_id)
    previous = (
        db.session.scalar(rounds_query(p).where(Round.id == body.previous_round_id)) if body.previous_round_id else None
    )
    if body.previous_round_id and previous is None:
        raise DomainError("No such round in this partnership", field="previous_round_id")
    round_ = services.plan_round(
        p.partnership_id,
        title=body.title,
        version=version,
        opens_on=body.opens_on,
        due_on=body.due_on,
        shares_answers_in_discussion=body.shares_answers_in_discussion,
        previous_round=previous,
        remind_days_before=body.remind_days_before,
        remind_days_after=body.remind_days_after,
        agency_ids=body.agency_ids,
        sector_ids=body.sector_ids,
    )
    db.session.commit()
    return jsonify(_round(round_)), 201


@api_route(
    "/rounds/<int:round_id>/next",
    "POST",
    summary="Start next year's round from a closed or reported self-assessment round (same questionnaire, its "
    "newest published version, and agencies; answers carried forward for review when it opens)",
    tag="audits",
    request_model=NextRoundIn,
    response_model=RoundOut,
    status=201,
    roles=BUILDERS,
)
def rounds_next(round_id: int):
    p = principal()
    previous = get_managed_round_or_404(p, round_id)
    body = parse_body(NextRoundIn)
    round_ = carry.plan_next_round(
        previous,
        title=body.title,
        opens_on=body.opens_on,
        due_on=body.due_on,
        remind_days_before=body.remind_days_before,
        remind_days_after=body.remind_days_after,
    )
    db.session.commit()
    return jsonify(_round(round_)), 201


@api_route(
    "/rounds/<int:round_id>/agencies",
    "PUT",
    summary="Choose the agencies (or whole sectors) that must return to a self-assessment or agency-summary round",
    tag="audits",
    request_model=RoundAgenciesIn,
    response_model=RoundOut,
    roles=BUILDERS,
)
def rounds_set_agencies(round_id: int):
    p = principal()
    require(can_manage_rounds(p))
    round_ = get_round_or_404(p, round_id)
    require(can_choose_round_agencies(p, round_))
    body = parse_body(RoundAgenciesIn)
    services.set_round_agencies(
        round_, agency_ids=body.agency_ids, sector_ids=body.sector_ids, partnership_id=p.partnership_id
    )
    db.session.commit()
    return jsonify(_round(round_))


@api_route(
    "/rounds/<int:round_id>",
    "GET",
    summary="Get a round and its cases",
    tag="audits",
    response_model=RoundOut,
    roles=VIEWERS,
)
def rounds_get(round_id: int):
    p = principal()
    require(can_view_rounds(p))
    return jsonify(_round(get_round_or_404(p, round_id)))


@api_route(
    "/rounds/<int:round_id>/return-rates",
    "GET",
    summary="A round's return rates by sector and overall, with and without declined and another-template returns",
    tag="audits",
    response_model=ReturnRatesOut,
    roles=VIEWERS,
)
def rounds_return_rates(round_id: int):
    p = principal()
    require(can_view_rounds(p))
    round_ = get_round_or_404(p, round_id)
    by_sector, overall = services.return_rates(round_, p.partnership_id)
    past_due = round_.due_on is not None and clock.today() > round_.due_on
    owing = db.session.scalars(
        returns_query(p)
        .where(Return.round_id == round_.id, Return.status.in_(ReturnStatus.in_group(ReturnGroup.OUTSTANDING)))
        .options(selectinload(Return.agency))
    ).all()
    return jsonify(
        ReturnRatesOut(
            round_id=round_.id,
            overall=_rate(overall),
            by_sector=[_rate(r) for r in by_sector],
            not_returned=[
                {
                    "agency_id": r.agency_id,
                    "agency_name": r.agency.name,
                    "return_id": r.id,
                    "status": r.status.value,
                    "status_label": r.status.label,
                    "late": past_due,
                }
                for r in sorted(owing, key=lambda r: r.agency.name)
            ],
        ).model_dump(mode="json")
    )


@api_route(
    "/rounds/<int:round_id>/cases",
    "POST",
    summary="Add a case and the agencies involved",
    tag="audits",
    request_model=CaseIn,
    response_model=RoundOut,
    status=201,
    roles=BUILDERS,
)
def rounds_add_case(round_id: int):
    p = principal()
    round_ = get_managed_round_or_404(p, round_id)
    body = parse_body(CaseIn)
    case_services.add_case(
        round_,
        agency_ids=body.agency_ids,
        reference=body.reference,
        age_band=body.age_band,
        sex=body.sex,
        ethnicity=body.ethnicity,
        disability=body.disability,
        plan_type=body.plan_type,
    )
    db.session.commit()
    return jsonify(_round(round_)), 201


@api_route(
    "/rounds/<int:round_id>/status",
    "POST",
    summary="Move a round: open, closed, in_discussion, reported",
    tag="audits",
    request_model=MoveIn,
    response_model=RoundOut,
    roles=BUILDERS,
)
def rounds_move(round_id: int):
    p = principal()
    round_ = get_managed_round_or_404(p, round_id)
    body = parse_body(MoveIn)
    services.move_round(round_, body.to)
    if body.to == RoundStatus.OPEN:
        queue_round_emails(round_, EmailKind.OPENED)  # sent once this commits
    db.session.commit()
    return jsonify(_round(round_))


@api_route(
    "/rounds/<int:round_id>",
    "PATCH",
    summary="Change a round's title, dates or reminder days (until it is reported)",
    tag="audits",
    request_model=RoundPatch,
    response_model=RoundOut,
    roles=BUILDERS,
)
def rounds_update(round_id: int):
    p = principal()
    round_ = get_managed_round_or_404(p, round_id)
    body = parse_body(RoundPatch)
    given = body.model_fields_set
    services.update_round(
        round_,
        title=body.title if body.title is not None else round_.title,
        opens_on=body.opens_on if "opens_on" in given else round_.opens_on,
        due_on=body.due_on if "due_on" in given else round_.due_on,
        remind_days_before=(
            body.remind_days_before if body.remind_days_before is not None else round_.remind_days_before
        ),
        remind_days_after=body.remind_days_after if body.remind_days_after is not None else round_.remind_days_after,
    )
    db.session.commit()
    return jsonify(_round(round_))


@api_route(
    "/rounds/<int:round_id>",
    "DELETE",
    summary="Delete a round still in planning (its cases are taken out of it, not deleted)",
    tag="audits",
    status=204,
    roles=BUILDERS,
)
def rounds_delete(round_id: int):
    p = principal()
    round_ = get_managed_round_or_404(p, round_id)
    services.delete_round(round_)
    db.session.commit()
    return "", 204


@api_route(
    "/rounds/<int:round_id>/moves",
    "GET",
    summary="The moves a round can make now, each with what it does and leaves undone",
    tag="audits",
    response_model=MovesOut,
    roles=BUILDERS,
)
def rounds_moves(round_id: int):
    p = principal()
    round_ = get_managed_round_or_404(p, round_id)
    moves = [
        MoveOut(to=to, label=services.move_label(round_, to), consequences=services.move_consequences(round_, to))
        for to in sorted(round_.moves, key=lambda s: list(RoundStatus).index(s))
    ]
    return jsonify(MovesOut(round_id=round_.id, status=round_.status, moves=moves).model_dump(mode="json"))


@api_route(
    "/rounds/<int:round_id>/chase",
    "POST",
    summary="Email a reminder to one agency, or every agency, with returns outstanding (while the round is open)",
    tag="audits",
    request_model=ChaseIn,
    response_model=ChaseOut,
    roles=BUILDERS,
)
def rounds_chase(round_id: int):
    p = principal()
    require(can_manage_rounds(p))
    round_ = get_round_or_404(p, round_id)
    require(can_choose_round_agencies(p, round_))
    body = parse_body(ChaseIn)
    if round_.status != RoundStatus.OPEN:
        raise NotAllowedError("Reminders go only while the round is open")
    theirs = services.chaseable_agency_ids(round_, p.partnership_id)
    if body.agency_id is not None and body.agency_id not in theirs:
        raise DomainError("Choose an agency with returns in this round", field="agency_id")
    emailing = queue_round_emails(
        round_, EmailKind.CHASE, {body.agency_id} if body.agency_id is not None else theirs
    )  # sent once this commits
    db.session.commit()
    return jsonify(ChaseOut(agencies_emailed=emailing).model_dump(mode="json"))


def _sharing(p: Any, round_: Round) -> dict[str, Any]:
    shareable = services.shareable_partnerships(round_, p.admin_partnership_ids) if can_share_round(p, round_) else []
    return SharingOut(
        round_id=round_.id,
        planned_by_partnership_id=round_.partnership_id,
        partnerships=[
            {"id": x.id, "name": x.name, "plans_round": x.id == round_.partnership_id} for x in round_.partnerships
        ],
        shareable=[{"id": x.id, "name": x.name} for x in shareable],
    ).model_dump(mode="json")


@api_route(
    "/rounds/<int:round_id>/partnerships",
    "GET",
    summary="The partnerships a round counts for, and those the caller may share it with",
    tag="audits",
    response_model=SharingOut,
    roles=VIEWERS,
)
def rounds_partnerships(round_id: int):
    p = principal()
    require(can_view_rounds(p))
    return jsonify(_sharing(p, get_round_or_404(p, round_id)))


@api_route(
    "/rounds/<int:round_id>/partnerships",
    "POST",
    summary="Share a round with another partnership the caller is an administrator of too",
    tag="audits",
    request_model=ShareIn,
    response_model=SharingOut,
    roles=(Role.ADMIN,),
)
def rounds_share(round_id: int):
    p = principal()
    require(can_view_rounds(p))
    round_ = get_round_or_404(p, round_id)
    require(can_share_round(p, round_))
    body = parse_body(ShareIn)
    partnership = next(
        (x for x in services.shareable_partnerships(round_, p.admin_partnership_ids) if x.id == body.partnership_id),
        None,
    )
    if partnership is None:
        if body.partnership_id in {x.id for x in round_.partnerships}:
            raise ConflictError("The round already counts for this partnership", field="partnership_id")
        raise DomainError("Choose a partnership you are an administrator of too", field="partnership_id")
    services.share_round(round_, partnership)
    db.session.commit()
    return jsonify(_sharing(p, round_))


@api_route(
    "/rounds/<int:round_id>/partnerships/<int:partnership_id>",
    "DELETE",
    summary="Stop sharing a round with a partnership (only while the round is being planned)",
    tag="audits",
    response_model=SharingOut,
    roles=(Role.ADMIN,),
)
def rounds_unshare(round_id: int, partnership_id: int):
    p = principal()
    require(can_view_rounds(p))
    round_ = get_round_or_404(p, round_id)
    require(can_share_round(p, round_))
    partnership = next((x for x in round_.partnerships if x.id == partnership_id), None)
    if partnership is None:
        abort(404)
    services.unshare_round(round_, partnership)
    db.session.commit()
    return jsonify(_sharing(p, round_))


# -- returns --


@api_route(
    "/returns",
    "GET",
    summary="List the returns you may see (your agency's, or all for the QA group), filtered, what needs action first",
    tag="audits",
    response_model=ReturnOut,
    query_model=ReturnsQuery,
    many=True,
    roles=ANY_ROLE,
    roles_note=OWN_AGENCY,
)
def returns_list():
    p = principal()
    args = query_args()
    filters = queues.ReturnFilters(
        status=args.status,
        round_id=args.round_id,
        agency_id=args.agency_id,
        case=args.case or None,
        assigned=args.assigned,
    )
    query = queues.filtered_returns(p, filters).options(
        contains_eager(Return.round), selectinload(Return.answers), selectinload(Return.assigned_to)
    )
    return page_of(query, _return)


@api_route(
    "/returns/<int:return_id>/assignment",
    "PUT",
    summary="Name the auditor of the return's agency who completes it (or nobody)",
    tag="audits",
    request_model=AssignIn,
    response_model=ReturnOut,
    roles=(Role.ADMIN, Role.QA_MEMBER, Role.AGENCY_LEAD),
    roles_note="agency leads of the return's agency; while the return is outstanding",
)
def returns_assign(return_id: int):
    p = principal()
    ret = get_return_or_404(p, return_id)
    require(can_assign_return(p, ret))
    body = parse_body(AssignIn)
    services.assign_return(ret, body.assigned_to_id, by=g.audit_user)
    db.session.commit()
    return jsonify(_return(ret))


@api_route(
    "/returns/<int:return_id>",
    "GET",
    summary="Get a return and its answers",
    tag="audits",
    response_model=ReturnOut,
    roles=ANY_ROLE,
    roles_note=OWN_AGENCY,
)
def returns_get(return_id: int):
    p = principal()
    ret = get_return_or_404(p, return_id)
    record_access(AccessKind.RETURN, ret.id)
    return jsonify(_return(ret))


@api_route(
    "/returns/<int:return_id>/answers",
    "PUT",
    summary="Save answers (a draft); refused whole if any is wrong",
    tag="audits",
    request_model=AnswersIn,
    response_model=ReturnOut,
    roles=AGENCY,
    roles_note="of the return's agency",
)
def returns_save_answers(return_id: int):
    p = principal()
    ret = get_return_or_404(p, return_id)
    require(works_for_return(p, ret))
    body = parse_body(AnswersIn)
    services.save_answers(ret, body.answers, by=g.audit_user, expected_version=body.lock_version)
    db.session.commit()
    return jsonify(_return(ret))


@api_route(
    "/returns/<int:return_id>/submit",
    "POST",
    summary="Submit (agency lead), or mark ready for sign-off (auditor)",
    tag="audits",
    query_model=SubmitQuery,
    response_model=ReturnOut,
    roles=AGENCY,
    roles_note="of the return's agency",
)
def returns_submit(return_id: int):
    p = principal()
    ret = get_return_or_404(p, return_id)
    require(works_for_return(p, ret))
    query = query_args()
    services.submit_return(
        ret, by=g.audit_user, as_lead=leads_return_agency(p, ret), confirm_carried=query.confirm_carried
    )
    db.session.commit()
    return jsonify(_return(ret))


@api_route(
    "/returns/<int:return_id>/carried/confirm",
    "POST",
    summary="Confirm answers carried forward from the previous round unchanged (one section, or the whole return)",
    tag="audits",
    request_model=ConfirmCarriedIn,
    response_model=ReturnOut,
    roles=AGENCY,
    roles_note="of the return's agency",
)
def returns_confirm_carried(return_id: int):
    p = principal()
    ret = get_return_or_404(p, return_id)
    require(works_for_return(p, ret))
    body = parse_body(ConfirmCarriedIn)
    section = None
    if body.section_key is not None:
        section = next((s for s in ret.round.version.sections if s.key == body.section_key), None)
        if section is None:
            raise DomainError("No such section in this return's questionnaire", field="section_key")
    carry.confirm_carried(ret, by=g.audit_user, expected_version=body.lock_version, section=section)
    db.session.commit()
    return jsonify(_return(ret))


@api_route(
    "/returns/<int:return_id>/request-changes",
    "POST",
    summary="Send a submitted return back with a note",
    tag="audits",
    request_model=NoteIn,
    response_model=ReturnOut,
    roles=BUILDERS,
)
def returns_request_changes(return_id: int):
    p = principal()
    require(can_review_returns(p))
    ret = get_return_or_404(p, return_id)
    body = parse_body(NoteIn)
    services.request_changes(ret, by=g.audit_user, note=body.note)
    db.session.commit()
    return jsonify(_return(ret))


@api_route(
    "/returns/<int:return_id>/accept",
    "POST",
    summary="Accept a submitted return",
    tag="audits",
    response_model=ReturnOut,
    roles=BUILDERS,
)
def returns_accept(return_id: int):
    p = principal()
    require(can_review_returns(p))
    ret = get_return_or_404(p, return_id)
    services.accept_return(ret, by=g.audit_user)
    db.session.commit()
    return jsonify(_return(ret))


@api_route(
    "/returns/<int:return_id>/decline",
    "POST",
    summary="Decline a return, with the reason (while the round is open and the return not yet submitted)",
    tag="audits",
    request_model=DeclineIn,
    response_model=ReturnOut,
    roles=(Role.AGENCY_LEAD, Role.ADMIN, Role.QA_MEMBER),
    roles_note="agency leads of the return's agency only, while the return can still be edited",
)
def returns_decline(return_id: int):
    p = principal()
    ret = get_return_or_404(p, return_id)
    require(can_mark_declined(p, ret))
    body = parse_body(DeclineIn)
    services.decline_return(ret, by=g.audit_user, reason=body.reason)
    db.session.commit()
    return jsonify(_return(ret))


@api_route(
    "/returns/<int:return_id>/alternative",
    "POST",
    summary="Record that a return was submitted on another template, with a note (round open or closed)",
    tag="audits",
    request_model=AlternativeIn,
    response_model=ReturnOut,
    roles=(Role.AGENCY_LEAD, Role.ADMIN, Role.QA_MEMBER),
    roles_note="agency leads of the return's agency only",
)
def returns_alternative(return_id: int):
    p = principal()
    ret = get_return_or_404(p, return_id)
    require(can_mark_declined(p, ret))
    body = parse_body(AlternativeIn)
    services.record_alternative_template(ret, by=g.audit_user, note=body.note)
    db.session.commit()
    return jsonify(_return(ret))


# -- working offline in Excel --


@api_route(
    "/returns/<int:return_id>/workbook.xlsx",
    "GET",
    summary="Download the return as an Excel workbook to fill in offline",
    tag="audits",
    roles=ANY_ROLE,
    roles_note=OWN_AGENCY,
    produces=(XLSX,),
)
def returns_workbook(return_id: int):
    from ..rounds.workbook import build_workbook

    p = principal()
    ret = get_return_or_404(p, return_id)
    record_access(AccessKind.RETURN, ret.id, via=AccessVia.EXPORT)
    reference = ret.round_case.case.reference if ret.round_case else "agency"
    filename = f"return-{ret.id}-{reference}.xlsx".replace(" ", "_").replace("/", "-")
    return Response(
        build_workbook(ret), mimetype=XLSX, headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


@api_route(
    "/returns/<int:return_id>/workbook",
    "POST",
    summary="Upload a filled-in workbook: every cell is checked, and nothing is saved unless all are right",
    tag="audits",
    upload={"file": "The .xlsx workbook downloaded from this return, filled in"},
    response_model=ReturnOut,
    roles=AGENCY,
    roles_note="of the return's agency",
)
def returns_upload_workbook(return_id: int):
    from ..rounds.workbook import MAX_BYTES, WorkbookError, read_workbook

    p = principal()
    ret = get_return_or_404(p, return_id)
    require(works_for_return(p, ret))
    upload = uploaded_file("file")
    if not upload.filename.lower().endswith(".xlsx"):
        raise ApiError(
            400, "The file is not a workbook", {"file": ["Upload the .xlsx workbook downloaded from this return"]}
        )
    try:
        answers, lock = read_workbook(ret, upload.read(MAX_BYTES + 1))
        services.save_answers(ret, answers, by=g.audit_user, expected_version=lock)
    except WorkbookError as error:
        db.session.rollback()
        raise ApiError(
            400,
            f"The workbook was not saved: {len(error.problems)} problem(s)",
            {"file": [str(problem) for problem in error.problems]},
            [{"sheet": pr.sheet, "cell": pr.cell, "message": pr.message} for pr in error.problems],
        ) from None
    except DomainError as error:
        db.session.rollback()
        if error.field == "lock_version":
            raise ApiError(
                409,
                "Someone saved this return after the workbook was downloaded",
                {"file": ["Download the workbook again, copy your answers in, and upload it"]},
            ) from None
        raise ApiError(error.status_code, error.message, {"file": [error.message]}) from None
    db.session.commit()
    return jsonify(_return(ret))
