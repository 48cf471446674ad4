"""State changes for rounds, cases and returns.

Services flush and let the audit trail record each change; views commit.
Every refusal is a DomainError naming the field at fault.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm.exc import StaleDataError

from ..accounts.models import Partnership, PartnershipAgency, User
from ..core.errors import ConflictError, DomainError, NotAllowedError
from ..core.models import utcnow
from ..extensions import db
from ..questionnaires.models import Question, QuestionnaireVersion, QuestionType, Section, VersionStatus
from .cohort import AGE_BANDS, DISABILITY, PLAN_TYPES, SEXES, CohortRow, choice_problem, reference_problem
from .models import (
    ROUND_MOVES,
    Answer,
    Case,
    CaseJudgement,
    Return,
    ReturnEvent,
    ReturnStatus,
    Round,
    RoundCase,
    RoundStatus,
)

MAX_TEXT = 10_000
MAX_NUMBER = Decimal("1e9")


# -- rounds --


def plan_round(
    partnership_id: int,
    *,
    title: str,
    version: QuestionnaireVersion | None,
    opens_on: date | None,
    due_on: date | None,
    shares_answers_in_discussion: bool = False,
    previous_round: Round | None = None,
    remind_days_before: int = 3,
    remind_days_after: int = 2,
) -> Round:
    """A new round in planning, answering a published version of the partnership's."""
    title = (title or "").strip()
    if not title:
        raise DomainError("Enter a title", field="title")
    if version is None or version.questionnaire.partnership_id != partnership_id:
        raise DomainError("Choose a questionnaire of this partnership", field="version_id")
    if version.status != VersionStatus.PUBLISHED:
        raise DomainError("Choose a published version: drafts and retired versions cannot be used", field="version_id")
    if opens_on and due_on and due_on < opens_on:
        raise DomainError("The due date must be on or after the opening date", field="due_on")
    if previous_round is not None and previous_round.partnership_id != partnership_id:
        raise DomainError("Choose an earlier round of this partnership", field="previous_round_id")
    for name, days in (("remind_days_before", remind_days_before), ("remind_days_after", remind_days_after)):
        if not 0 <= days <= 60:
            raise DomainError("Enter a number of days from 0 to 60", field=name)
    round_ = Round(
        partnership_id=partnership_id,
        questionnaire_version_id=version.id,
        kind=version.questionnaire.kind,
        title=title,
        theme_id=version.questionnaire.theme_id,
        opens_on=opens_on,
        due_on=due_on,
        shares_answers_in_discussion=shares_answers_in_discussion,
        previous_round_id=previous_round.id if previous_round else None,
        remind_days_before=remind_days_before,
        remind_days_after=remind_days_after,
    )
    db.session.add(round_)
    db.session.flush()
    return round_


def move_round(round_: Round, to: RoundStatus) -> None:
    """Move a round to its next state; illegal moves are refused."""
    if to not in ROUND_MOVES[round_.status]:
        raise NotAllowedError(f"A round that is {round_.status.label.lower()} cannot become {to.label.lower()}")
    if to == RoundStatus.OPEN and round_.status == RoundStatus.PLANNING:
        if not round_.cases and round_.kind.value == "case_audit":
            raise NotAllowedError("Add at least one case before opening the round")
        if any(not rc.agencies for rc in round_.cases):
            raise NotAllowedError("Tick the agencies involved with every case before opening the round")
        _create_returns(round_)
    round_.status = to
    db.session.flush()


def _create_returns(round_: Round) -> list[Return]:
    created = []
    existing = {
        (r.agency_id, r.round_case_id)
        for r in db.session.scalars(sa.select(Return).where(Return.round_id == round_.id))
    }
    for round_case in round_.cases:
        for agency in round_case.agencies:
            if (agency.id, round_case.id) not in existing:
                ret = Return(round_id=round_.id, agency_id=agency.id, round_case_id=round_case.id)
                db.session.add(ret)
                created.append(ret)
    db.session.flush()
    for ret in created:
        _event(ret, None, ReturnStatus.NOT_STARTED, None, "")
    return created


# -- cases --


def _check_case_fields(fields: dict[str, str]) -> None:
    problem = reference_problem(fields.get("reference", ""))
    if problem:
        raise DomainError(problem, field="reference")
    for name, allowed, what in (
        ("age_band", AGE_BANDS, "Age band"),
        ("sex", SEXES, "Sex"),
        ("disability", DISABILITY, "Disability"),
        ("plan_type", PLAN_TYPES, "Plan type"),
    ):
        message = choice_problem(fields.get(name, ""), allowed, what)
        if message:
            raise DomainError(message, field=name)
    if len(fields.get("ethnicity", "")) > 60:
        raise DomainError("Ethnicity must be 60 characters or fewer", field="ethnicity")


def _active_agency_ids(partnership_id: int) -> set[int]:
    return set(
        db.session.scalars(
            sa.select(PartnershipAgency.agency_id).where(
                PartnershipAgency.partnership_id == partnership_id, PartnershipAgency.is_active.is_(True)
            )
        )
    )


def add_case(round_: Round, *, agency_ids: list[int], **fields: str) -> RoundCase:
    """Add a case to a round (new to the partnership, or one already audited before)."""
    if round_.status not in (RoundStatus.PLANNING, RoundStatus.OPEN):
        raise NotAllowedError("Cases can be added only while the round is being planned or is open")
    fields = {k: (v or "").strip() for k, v in fields.items()}
    _check_case_fields(fields)
    case = db.session.scalar(
        sa.select(Case).where(Case.partnership_id == round_.partnership_id, Case.reference == fields["reference"])
    )
    if case is None:
        case = Case(partnership_id=round_.partnership_id, **fields)
        db.session.add(case)
        db.session.flush()
    elif db.session.scalar(
        sa.select(RoundCase.id).where(RoundCase.round_id == round_.id, RoundCase.case_id == case.id)
    ):
        raise ConflictError("This case is already in the round", field="reference")
    round_case = RoundCase(round_id=round_.id, case_id=case.id)
    db.session.add(round_case)
    db.session.flush()
    set_case_agencies(round_case, agency_ids)
    return round_case


def set_case_agencies(round_case: RoundCase, agency_ids: list[int]) -> None:
    """Which agencies were involved with the case; an open round gets the new returns at once."""
    round_ = round_case.round
    if round_.status not in (RoundStatus.PLANNING, RoundStatus.OPEN):
        raise NotAllowedError("The agencies involved can change only while the round is being planned or is open")
    wanted = set(agency_ids)
    if not wanted:
        raise DomainError("Tick at least one agency involved with the case", field="agency_ids")
    unknown = wanted - _active_agency_ids(round_.partnership_id)
    if unknown:
        raise DomainError("Tick active agencies of this partnership only", field="agency_ids")
    from ..accounts.models import Agency

    current = {a.id for a in round_case.agencies}
    if round_.status == RoundStatus.OPEN and current - wanted:
        raise NotAllowedError(
            "An agency cannot be taken off a case once the round is open; decline its return instead",
            field="agency_ids",
        )
    round_case.agencies = list(db.session.scalars(sa.select(Agency).where(Agency.id.in_(wanted))))
    db.session.flush()
    if round_.status == RoundStatus.OPEN:
        _create_returns(round_)


def remove_case(round_case: RoundCase) -> None:
    """Take a case out of a round that is still being planned."""
    if round_case.round.status != RoundStatus.PLANNING:
        raise NotAllowedError("Cases can be removed only while the round is being planned")
    round_case.agencies = []
    db.session.flush()
    db.session.delete(round_case)
    db.session.flush()


def import_cohort(round_: Round, rows: list[CohortRow]) -> list[RoundCase]:
    """Add every case of a parsed cohort file (see cohort.parse_cohort); all or nothing."""
    from ..accounts.models import Agency

    by_name = {
        a.name: a.id
        for a in db.session.scalars(sa.select(Agency).where(Agency.id.in_(_active_agency_ids(round_.partnership_id))))
    }
    added = []
    for row in rows:
        try:
            added.append(
                add_case(
                    round_,
                    agency_ids=[by_name[name] for name in row.agencies],
                    reference=row.reference,
                    age_band=row.age_band,
                    sex=row.sex,
                    ethnicity=row.ethnicity,
                    disability=row.disability,
                    plan_type=row.plan_type,
                )
            )
        except DomainError as error:
            column = "agencies" if error.field == "agency_ids" else error.field
            raise DomainError(f"row {row.line}, {column}: {error.message}", field="file") from None
    return added


def carry_cases(new_round: Round, round_cases: list[RoundCase]) -> list[RoundCase]:
    """Re-audit: put cases of the earlier round into this one, linked to their earlier audit."""
    if new_round.status != RoundStatus.PLANNING:
        raise NotAllowedError("Cases are carried while the round is being planned")
    already = {rc.case_id for rc in new_round.cases}
    carried = []
    for earlier in round_cases:
        if earlier.round_id != new_round.previous_round_id:
            raise DomainError("Choose cases of the round this one re-audits", field="round_case_ids")
        if earlier.case_id in already:
            raise ConflictError(f"Case {earlier.case.reference} is already in this round", field="round_case_ids")
        round_case = RoundCase(round_id=new_round.id, case_id=earlier.case_id, previous_round_case_id=earlier.id)
        db.session.add(round_case)
        db.session.flush()
        set_case_agencies(round_case, [a.id for a in earlier.agencies])
        carried.append(round_case)
    db.session.expire(new_round, ["cases"])
    return carried


# -- returns --


def _event(ret: Return, from_status: ReturnStatus | None, to: ReturnStatus, actor: User | None, note: str) -> None:
    db.session.add(
        ReturnEvent(
            return_id=ret.id,
            occurred_at=utcnow(),
            actor_id=actor.id if actor else None,
            from_status=from_status,
            to_status=to,
            note=note,
        )
    )


def _move(ret: Return, to: ReturnStatus, actor: User | None, note: str = "") -> None:
    _event(ret, ret.status, to, actor, note)
    ret.status = to
    db.session.flush()


def applicable_questions(ret: Return, section: Section | None = None) -> list[Question]:
    """The questions this return's agency is asked (by its sector in the partnership)."""
    sector_key = db.session.scalar(
        sa.select(PartnershipAgency).where(
            PartnershipAgency.partnership_id == ret.round.partnership_id, PartnershipAgency.agency_id == ret.agency_id
        )
    ).sector.key
    sections = [section] if section is not None else ret.round.version.sections
    return [q for s in sections for q in s.questions if q.applies_to_sector(sector_key)]


def clean_value(question: Question, raw: Any) -> tuple[str, int | None]:
    """Check one answer; return (value, scale level id) or raise DomainError naming the question."""
    field = question.key
    if raw is None or raw == "" or raw == []:
        return "", None
    if question.type == QuestionType.SCALE:
        level = next((lvl for lvl in question.scale.levels if lvl.label == raw), None)
        if level is None:
            raise DomainError(f"Choose one of: {', '.join(lvl.label for lvl in question.scale.levels)}", field=field)
        return level.label, level.id
    if question.type == QuestionType.SINGLE_CHOICE:
        if raw not in question.options:
            raise DomainError(f"Choose one of: {', '.join(question.options)}", field=field)
        return str(raw), None
    if question.type == QuestionType.MULTIPLE_CHOICE:
        values = raw if isinstance(raw, list) else [raw]
        bad = [v for v in values if v not in question.options]
        if bad:
            raise DomainError(f"'{bad[0]}' is not one of the options", field=field)
        return json.dumps([o for o in question.options if o in values]), None
    if question.type == QuestionType.NUMBER:
        try:
            number = Decimal(str(raw).strip())
        except InvalidOperation:
            raise DomainError("Enter a number, like 3 or 2.5", field=field) from None
        if not number.is_finite() or abs(number) >= MAX_NUMBER:
            raise DomainError("Enter a number between -999,999,999 and 999,999,999", field=field)
        return str(number), None
    if question.type == QuestionType.DATE:
        try:
            return date.fromisoformat(str(raw).strip()).isoformat(), None
        except ValueError:
            raise DomainError("Enter a real date", field=field) from None
    text = str(raw).strip()
    if len(text) > MAX_TEXT:
        raise DomainError(f"The answer must be {MAX_TEXT:,} characters or fewer", field=field)
    return text, None


def save_answers(
    ret: Return, answers: dict[str, Any], *, by: User, expected_version: int, section: Section | None = None
) -> None:
    """Save answers (question key -> raw value) as a draft. Refused whole if any is wrong or the return moved on.

    ``expected_version`` is the return's lock version the person started from:
    if someone else saved since, the save is refused and their answers stay.
    """
    if not ret.status.is_editable:
        raise NotAllowedError(f"This return is {ret.status.label.lower()} and cannot be changed")
    if ret.round.status != RoundStatus.OPEN:
        raise NotAllowedError("The round is not open for returns")
    if expected_version != ret.lock_version:
        raise ConflictError(
            "Someone else saved this return after you opened it. Your changes were not saved: reload the page to see theirs, then make your changes again.",
            field="lock_version",
        )
    allowed = {q.key: q for q in applicable_questions(ret, section)}
    unknown = sorted(set(answers) - set(allowed))
    if unknown:
        raise DomainError(f"'{unknown[0]}' is not a question of this return", field=unknown[0])
    cleaned = {key: clean_value(allowed[key], raw) for key, raw in answers.items()}
    existing = {a.question_id: a for a in ret.answers}
    for key, (value, level_id) in cleaned.items():
        question = allowed[key]
        answer = existing.get(question.id)
        if answer is None:
            if not value:
                continue
            answer = Answer(return_id=ret.id, question_id=question.id)
            ret.answers.append(answer)
        answer.value = value
        answer.scale_level_id = level_id
    try:
        if ret.status == ReturnStatus.NOT_STARTED:
            _move(ret, ReturnStatus.IN_PROGRESS, by)
        ret.updated_at = utcnow()  # bumps lock_version even when only answers changed
        db.session.flush()
    except StaleDataError:
        # Another session saved between our read and our write (the UPDATE matched no row).
        raise ConflictError(
            "Someone else saved this return at the same moment. Your changes were not saved: reload the page to see theirs, then make your changes again.",
            field="lock_version",
        ) from None


def missing_answers(ret: Return) -> list[Question]:
    """Required questions the agency is asked, shown by their conditions, and not answered."""
    by_question = {a.question.key: a.value for a in ret.answers}
    missing = []
    for question in applicable_questions(ret):
        if question.condition_question_key:
            shown_by = by_question.get(question.condition_question_key, "")
            values = json.loads(shown_by) if shown_by.startswith("[") else [shown_by]
            if not set(values) & set(question.condition_values):
                continue
        if question.is_required and not by_question.get(question.key):
            missing.append(question)
    return missing


def _partnership(ret: Return) -> Partnership:
    return db.session.get(Partnership, ret.round.partnership_id)


def submit_return(ret: Return, *, by: User, as_lead: bool) -> ReturnStatus:
    """Submit a complete return (agency lead, or an auditor where the partnership allows);
    an auditor elsewhere marks it ready for the lead's sign-off."""
    if not ret.status.is_editable:
        raise NotAllowedError(f"This return is {ret.status.label.lower()} and cannot be submitted")
    if ret.round.status != RoundStatus.OPEN:
        raise NotAllowedError("The round is not open for returns")
    missing = missing_answers(ret)
    if missing:
        raise DomainError(
            f"{len(missing)} required question(s) are not answered: " + "; ".join(q.text for q in missing[:10]),
            field=missing[0].key,
        )
    if ret.status == ReturnStatus.READY_FOR_SIGN_OFF and not as_lead and not _partnership(ret).auditors_can_submit:
        raise NotAllowedError("This return is already waiting for your agency lead's sign-off")
    if as_lead or _partnership(ret).auditors_can_submit:
        ret.submitted_at = utcnow()
        ret.submitted_by_id = by.id
        _move(ret, ReturnStatus.SUBMITTED, by)
    else:
        _move(ret, ReturnStatus.READY_FOR_SIGN_OFF, by)
    return ret.status


def decline_return(ret: Return, *, by: User, reason: str) -> None:
    """The agency says it cannot complete this return, and why."""
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("Give the reason for declining", field="reason")
    if len(reason) > 2000:
        raise DomainError("The reason must be 2000 characters or fewer", field="reason")
    if not ret.status.is_editable:
        raise NotAllowedError(f"This return is {ret.status.label.lower()} and cannot be declined")
    if ret.round.status != RoundStatus.OPEN:
        raise NotAllowedError("Returns can be declined only while the round is open")
    ret.note = reason
    _move(ret, ReturnStatus.DECLINED, by, reason)


def request_changes(ret: Return, *, by: User, note: str) -> None:
    """The QA group sends a submitted return back with a note."""
    note = (note or "").strip()
    if not note:
        raise DomainError("Say what needs to change", field="note")
    if len(note) > 2000:
        raise DomainError("The note must be 2000 characters or fewer", field="note")
    if ret.status != ReturnStatus.SUBMITTED:
        raise NotAllowedError("Only a submitted return can be sent back")
    if ret.round.status != RoundStatus.OPEN:
        raise NotAllowedError("Returns can be sent back only while the round is open; reopen it first")
    ret.note = note
    _move(ret, ReturnStatus.CHANGES_REQUESTED, by, note)


def accept_return(ret: Return, *, by: User) -> None:
    """The QA group accepts a submitted return."""
    if ret.status != ReturnStatus.SUBMITTED:
        raise NotAllowedError("Only a submitted return can be accepted")
    if ret.round.status not in (RoundStatus.OPEN, RoundStatus.CLOSED):
        raise NotAllowedError("Returns can be accepted only until the discussion starts")
    _move(ret, ReturnStatus.ACCEPTED, by)


# -- the multi-agency discussion --


def judgement_scale_levels(round_: Round) -> list[Any]:
    """The levels a multi-agency grade is given on: the scale of the version's overall grade question, or Ofsted's."""
    from ..questionnaires.models import Scale

    for question in round_.version.questions:
        if question.key == "overall_grade" and question.scale is not None:
            return list(question.scale.levels)
    ofsted = db.session.scalar(sa.select(Scale).where(Scale.partnership_id.is_(None), Scale.key == "ofsted"))
    return list(ofsted.levels)


def record_judgement(
    round_case: RoundCase,
    *,
    section_key: str,
    grade: str,
    strengths: str = "",
    areas_for_development: str = "",
    recommendations: str = "",
    concern_escalated: bool = False,
    escalated_to: str = "",
    escalated_on: date | None = None,
) -> CaseJudgement:
    """Record (or change) the agreed multi-agency judgement for a section, or overall (section_key "")."""
    round_ = round_case.round
    if round_.status not in (RoundStatus.CLOSED, RoundStatus.IN_DISCUSSION):
        raise NotAllowedError("Judgements are recorded once the round is closed for returns, before it is reported")
    field = section_key or "overall"
    if section_key and section_key not in {s.key for s in round_.version.sections}:
        raise DomainError("No such section in this questionnaire", field=field)
    levels = {level.label: level for level in judgement_scale_levels(round_)}
    if grade and grade not in levels:
        raise DomainError(f"Choose one of: {', '.join(levels)}", field=f"grade-{field}")
    texts = (("strengths", strengths), ("development", areas_for_development), ("recommendations", recommendations))
    for name, text in texts:
        if len(text or "") > MAX_TEXT:
            raise DomainError(f"Write {MAX_TEXT:,} characters or fewer", field=f"{name}-{field}")
    if concern_escalated and not (escalated_to or "").strip():
        raise DomainError("Say to whom the concern was escalated", field="escalated_to")
    judgement = db.session.scalar(
        sa.select(CaseJudgement).where(
            CaseJudgement.round_case_id == round_case.id, CaseJudgement.section_key == section_key
        )
    )
    if judgement is None:
        judgement = CaseJudgement(round_case_id=round_case.id, section_key=section_key)
        db.session.add(judgement)
    judgement.grade_level_id = levels[grade].id if grade else None
    judgement.strengths = (strengths or "").strip()
    judgement.areas_for_development = (areas_for_development or "").strip()
    if not section_key:
        judgement.recommendations = (recommendations or "").strip()
        judgement.concern_escalated = concern_escalated
        judgement.escalated_to = (escalated_to or "").strip()[:200]
        judgement.escalated_on = escalated_on
    db.session.flush()
    return judgement
