"""State changes of the round engine: rounds, who returns, and returns.

Services flush and let the audit trail record each change; views commit.
Every refusal is a DomainError naming the field at fault.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm.exc import StaleDataError

from ..accounts.models import Agency, Membership, Partnership, PartnershipAgency, Role, Sector, User
from ..core.errors import ConflictError, DomainError, NotAllowedError
from ..core.models import utcnow
from ..extensions import db
from ..questionnaires import answers
from ..questionnaires.models import Question, QuestionnaireVersion, Section, VersionStatus
from .kinds import kind_rules
from .models import Answer, Return, ReturnEvent, ReturnStatus, Round, RoundStatus, round_partnerships

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
    agency_ids: list[int] | None = None,
    sector_ids: list[int] | None = None,
) -> Round:
    """A new round in planning, answering a published version of the partnership's.

    Kinds that choose their agencies (self-assessments, agency summaries) take
    them here: ``agency_ids`` and every active agency of ``sector_ids``.
    """
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
    db.session.execute(sa.insert(round_partnerships).values(round_id=round_.id, partnership_id=partnership_id))
    if agency_ids or sector_ids:
        set_round_agencies(round_, agency_ids=agency_ids or [], sector_ids=sector_ids or [])
    return round_


def share_round(round_: Round, partnership: Partnership) -> None:
    """Let a round count for another partnership too (one return from a shared agency counts in each)."""
    if partnership.id in {p.id for p in round_.partnerships}:
        raise ConflictError("The round already counts for this partnership", field="partnership_id")
    round_.partnerships.append(partnership)
    db.session.flush()


def round_partnership_ids(round_: Round) -> list[int]:
    """The partnerships a round counts for, the one that planned it first."""
    others = sorted(p.id for p in round_.partnerships if p.id != round_.partnership_id)
    return [round_.partnership_id, *others]


def active_agency_ids(partnership_ids: int | list[int], sector_ids: list[int] | None = None) -> set[int]:
    """Agencies active in any of the partnerships (optionally only in the given sectors)."""
    ids = [partnership_ids] if isinstance(partnership_ids, int) else list(partnership_ids)
    query = sa.select(PartnershipAgency.agency_id).where(
        PartnershipAgency.partnership_id.in_(ids), PartnershipAgency.is_active.is_(True)
    )
    if sector_ids is not None:
        query = query.where(PartnershipAgency.sector_id.in_(sector_ids))
    return set(db.session.scalars(query))


def set_round_agencies(round_: Round, *, agency_ids: list[int], sector_ids: list[int] | None = None) -> None:
    """Choose who returns (kinds that choose agencies): these agencies and every active agency of these sectors."""
    if not kind_rules(round_.kind).chooses_agencies:
        raise NotAllowedError(
            f"A {round_.kind.label.lower()} round takes its agencies from its cases", field="agency_ids"
        )
    if round_.status not in (RoundStatus.PLANNING, RoundStatus.OPEN):
        raise NotAllowedError("Agencies can be chosen only while the round is being planned or is open")
    partnership_ids = round_partnership_ids(round_)
    wanted = set(agency_ids)
    unknown = wanted - active_agency_ids(partnership_ids)
    if unknown:
        raise DomainError("Choose active agencies of this partnership only", field="agency_ids")
    if sector_ids:
        known = set(db.session.scalars(sa.select(Sector.id).where(Sector.partnership_id.in_(partnership_ids))))
        if set(sector_ids) - known:
            raise DomainError("Choose sectors of this partnership only", field="sector_ids")
        wanted |= active_agency_ids(partnership_ids, list(sector_ids))
    if not wanted:
        raise DomainError("Choose at least one agency or sector", field="agency_ids")
    current = {a.id for a in round_.agencies}
    if round_.status == RoundStatus.OPEN and current - wanted:
        raise NotAllowedError(
            "An agency cannot be taken off an open round; decline its return instead", field="agency_ids"
        )
    round_.agencies = list(db.session.scalars(sa.select(Agency).where(Agency.id.in_(wanted))))
    db.session.flush()
    if round_.status == RoundStatus.OPEN:
        create_returns(round_)


def move_round(round_: Round, to: RoundStatus) -> None:
    """Move a round to its next state by its kind's state table; illegal moves are refused."""
    rules = kind_rules(round_.kind)
    if to not in rules.moves[round_.status]:
        raise NotAllowedError(f"A round that is {round_.status.label.lower()} cannot become {to.label.lower()}")
    if to == RoundStatus.OPEN and round_.status == RoundStatus.PLANNING:
        problems = rules.open_problems(round_)
        if problems:
            raise NotAllowedError(problems[0])
        create_returns(round_)
    round_.status = to
    db.session.flush()


def create_returns(round_: Round) -> list[Return]:
    """A return for every recipient the round's kind names that has none yet."""
    existing = {
        (agency_id, case_id)
        for agency_id, case_id in db.session.execute(
            sa.select(Return.agency_id, Return.round_case_id).where(Return.round_id == round_.id)
        )
    }
    wanted = sorted(kind_rules(round_.kind).recipients(round_) - existing, key=lambda r: (r[1] or 0, r[0]))
    created = [Return(round_id=round_.id, agency_id=agency_id, round_case_id=case_id) for agency_id, case_id in wanted]
    db.session.add_all(created)
    db.session.flush()
    for ret in created:
        _event(ret, None, ReturnStatus.NOT_STARTED, None, "")
    return created


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
    from .notifications import queue_handoff_email

    _event(ret, ret.status, to, actor, note)
    ret.status = to
    db.session.flush()
    queue_handoff_email(ret, to)  # sent once this commits, for the hand-offs that have an email


def assignable_auditors(ret: Return) -> list[User]:
    """The active auditors of the return's agency, in the partnerships its round counts for, by name."""
    return list(
        db.session.scalars(
            sa.select(User)
            .join(Membership, Membership.user_id == User.id)
            .where(
                Membership.partnership_id.in_(round_partnership_ids(ret.round)),
                Membership.agency_id == ret.agency_id,
                Membership.role == Role.AUDITOR,
                User.is_active.is_(True),
            )
            .distinct()
            .order_by(User.name, User.id)
        )
    )


def assign_return(ret: Return, user_id: int | None, *, by: User) -> None:
    """Name the auditor of the return's agency who completes it (``None``: nobody). The change is recorded in
    the audit trail; the auditor's home page then counts it as assigned to them."""
    if not ret.status.is_editable:
        raise NotAllowedError(f"This return is {ret.status.label.lower()}: it can no longer be assigned")
    if user_id is not None and user_id not in {u.id for u in assignable_auditors(ret)}:
        raise DomainError(f"Choose an active auditor of {ret.agency.name}", field="assigned_to_id")
    ret.assigned_to_id = user_id
    db.session.flush()


def return_sector_key(ret: Return) -> str:
    """The sector of the return's agency, in the round's own partnership (or, for a shared round, the first
    partnership the agency belongs to)."""
    links = db.session.execute(
        sa.select(PartnershipAgency.partnership_id, Sector.key)
        .join(Sector, Sector.id == PartnershipAgency.sector_id)
        .where(
            PartnershipAgency.agency_id == ret.agency_id,
            PartnershipAgency.partnership_id.in_(round_partnership_ids(ret.round)),
        )
        .order_by(PartnershipAgency.partnership_id)
    ).all()
    by_partnership = dict(links)
    if ret.round.partnership_id in by_partnership:
        return by_partnership[ret.round.partnership_id]
    return links[0][1] if links else ""


def applicable_questions(
    ret: Return, section: Section | None = None, *, sector_key: str | None = None
) -> list[Question]:
    """The questions this return's agency is asked (by its sector in the partnership), before show-if conditions."""
    if sector_key is None:
        sector_key = return_sector_key(ret)
    sections = [section] if section is not None else ret.round.version.sections
    return answers.applicable((q for s in sections for q in s.questions), sector_key)


def stored_answers(ret: Return) -> dict[str, str]:
    """The return's stored answers by question key."""
    return {a.question.key: a.value for a in ret.answers}


def save_answers(
    ret: Return, raw: dict[str, Any], *, by: User, expected_version: int, section: Section | None = None
) -> None:
    """Save answers (question key -> raw value) as a draft. Refused whole if any is wrong or the return moved on.

    Every bad answer is reported at once (``answers.AnswerErrors``, one entry per question key).
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
    cleaned = answers.clean_answers(allowed, raw)
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
    return answers.required_missing(applicable_questions(ret), stored_answers(ret))


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
