"""State changes of the round engine: rounds, who returns, and returns.

Services flush and let the audit trail record each change; views commit.
Every refusal is a DomainError naming the field at fault.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm.exc import StaleDataError

from ..accounts.models import Agency, Membership, Partnership, PartnershipAgency, Role, Sector, User
from ..core import clock
from ..core.audit import AuditAction, record_event
from ..core.errors import ConflictError, DomainError, FieldErrors, NotAllowedError
from ..core.models import utcnow
from ..extensions import db
from ..questionnaires import answers, roles
from ..questionnaires.models import Question, QuestionnaireKind, QuestionnaireVersion, Section, VersionStatus
from .kinds import is_round_kind, kind_rules
from .models import Answer, Return, ReturnEvent, ReturnGroup, ReturnStatus, Round, RoundStatus, round_partnerships
from .notifications import queue_concern_email

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
    problems = _round_field_problems(title, opens_on, due_on, remind_days_before, remind_days_after)
    if version is None or version.questionnaire.partnership_id != partnership_id:
        problems["version_id"] = ["Choose a questionnaire of this partnership"]
    elif version.status != VersionStatus.PUBLISHED:
        problems["version_id"] = ["Choose a published version: drafts and retired versions cannot be used"]
    elif not is_round_kind(version.questionnaire.kind):
        problems["version_id"] = [
            f"A {version.questionnaire.kind.label.lower()} is not answered in a round of its own: choose a case "
            "audit or self-assessment questionnaire"
        ]
    if previous_round is not None and previous_round.partnership_id != partnership_id:
        problems["previous_round_id"] = ["Choose an earlier round of this partnership"]
    kind = version.questionnaire.kind if version is not None else None
    if kind is not None and kind != QuestionnaireKind.CASE_AUDIT:
        # re-audits and sharing answers in a discussion are case-audit things; a self-assessment carries its
        # answers forward from the previous round's page instead (carry.plan_next_round)
        if previous_round is not None:
            problems["previous_round_id"] = [
                f"A {kind.label.lower()} round is not a re-audit: to start from an earlier round, use 'Start the "
                "next round' on that round's page"
            ]
        if shares_answers_in_discussion:
            problems["shares_answers_in_discussion"] = [
                "Sharing answers in a multi-agency discussion applies only to case audits"
            ]
    if problems:
        raise FieldErrors(problems)
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


def _round_field_problems(
    title: str, opens_on: date | None, due_on: date | None, remind_days_before: int, remind_days_after: int
) -> dict[str, list[str]]:
    """Every problem with a round's own fields at once, by field (planning and editing share them)."""
    problems: dict[str, list[str]] = {}
    if not title:
        problems["title"] = ["Enter a title"]
    elif len(title) > 200:
        problems["title"] = ["Title must be 200 characters or fewer"]
    if opens_on and due_on and due_on < opens_on:
        problems["due_on"] = ["The due date must be on or after the opening date"]
    for name, days in (("remind_days_before", remind_days_before), ("remind_days_after", remind_days_after)):
        if not 0 <= days <= 60:
            problems[name] = ["Enter a number of days from 0 to 60"]
    return problems


def update_round(
    round_: Round,
    *,
    title: str,
    opens_on: date | None,
    due_on: date | None,
    remind_days_before: int,
    remind_days_after: int,
) -> None:
    """Change a round's title, dates and reminder days: any time until it is reported."""
    if round_.status == RoundStatus.REPORTED:
        raise NotAllowedError("A reported round cannot be changed")
    title = (title or "").strip()
    problems = _round_field_problems(title, opens_on, due_on, remind_days_before, remind_days_after)
    if problems:
        raise FieldErrors(problems)
    round_.title = title
    round_.opens_on = opens_on
    round_.due_on = due_on
    round_.remind_days_before = remind_days_before
    round_.remind_days_after = remind_days_after
    db.session.flush()


def delete_round(round_: Round) -> None:
    """Delete a round still in planning (no return exists yet); its kind removes what it added (cases)."""
    if round_.status != RoundStatus.PLANNING:
        raise NotAllowedError(
            f"Only a round still in planning can be deleted; this one is {round_.status.label.lower()}"
        )
    later = db.session.scalar(sa.select(Round.title).where(Round.previous_round_id == round_.id).limit(1))
    if later is not None:
        raise NotAllowedError(f"'{later}' re-audits this round: delete that round first")
    rules = kind_rules(round_.kind)
    if rules.before_delete is not None:
        rules.before_delete(round_)
    round_.agencies = []
    db.session.flush()
    db.session.delete(round_)
    db.session.flush()


# -- what a round's managers should know before they act --


@dataclass(frozen=True)
class RoundWarning:
    """Something to put right before opening (or while open): ``key`` is stable, ``message`` is for people."""

    key: str
    message: str


#: the warnings a round can carry, by key (the API documents them as an enum)
WARNING_KEYS = ("due_date_passed", "agencies_without_completers")


def agencies_without_completers(round_: Round) -> list[Agency]:
    """Agencies owing (or about to owe) a return with no active auditor or agency lead in the round's
    partnerships: nobody could complete their return, and nobody would be emailed."""
    owing = {agency_id for agency_id, _case in kind_rules(round_.kind).recipients(round_)}
    if not owing:
        return []
    staffed = set(
        db.session.scalars(
            sa.select(Membership.agency_id)
            .join(User, User.id == Membership.user_id)
            .where(
                Membership.agency_id.in_(owing),
                Membership.partnership_id.in_(round_partnership_ids(round_)),
                Membership.role.in_([Role.AUDITOR, Role.AGENCY_LEAD]),
                User.is_active.is_(True),
            )
        )
    )
    return list(db.session.scalars(sa.select(Agency).where(Agency.id.in_(owing - staffed)).order_by(Agency.name)))


def round_warnings(round_: Round) -> list[RoundWarning]:
    """What a planning or open round's managers should put right: a due date already past, and agencies with
    nobody to complete their returns."""
    if round_.status not in (RoundStatus.PLANNING, RoundStatus.OPEN):
        return []
    warnings = []
    if round_.due_on and round_.due_on < clock.today():
        when = f"{round_.due_on:%-d %B %Y}"
        warnings.append(
            RoundWarning(
                "due_date_passed",
                f"The due date, {when}, has passed: change it before opening, or every return will be late"
                if round_.status == RoundStatus.PLANNING
                else f"The due date, {when}, has passed: returns still outstanding are late",
            )
        )
    nobody = agencies_without_completers(round_)
    if nobody:
        names = ", ".join(a.name for a in nobody)
        warnings.append(
            RoundWarning(
                "agencies_without_completers",
                f"{len(nobody)} {'agency has' if len(nobody) == 1 else 'agencies have'} nobody with an auditor or "
                f"agency lead role to complete their returns: {names}. Give someone at each that role.",
            )
        )
    return warnings


#: the words of each move's button: (from planning or onward, reopening)
MOVE_WORDS = {
    RoundStatus.OPEN: ("Open the round", "Reopen for returns"),
    RoundStatus.CLOSED: ("Close for returns", "Close for returns"),
    RoundStatus.IN_DISCUSSION: ("Start the multi-agency discussion", "Start the multi-agency discussion"),
    RoundStatus.REPORTED: ("Mark as reported", "Mark as reported"),
}


def move_label(round_: Round, to: RoundStatus) -> str:
    """The words of the button that moves ``round_`` to ``to``."""
    first, again = MOVE_WORDS.get(to, (to.label, to.label))
    return again if to == RoundStatus.OPEN and round_.status != RoundStatus.PLANNING else first


def move_consequences(round_: Round, to: RoundStatus) -> list[str]:
    """What moving the round to ``to`` does and leaves undone, in words, for the confirmation page."""
    out: list[str] = []
    if to == RoundStatus.OPEN and round_.status == RoundStatus.PLANNING:
        owed = len(kind_rules(round_.kind).recipients(round_))
        out.append(
            f"{owed} {'return' if owed == 1 else 'returns'} will be created and every agency owing one is emailed."
        )
        out += [w.message for w in round_warnings(round_)]
    elif to == RoundStatus.OPEN:
        out.append("Agencies can change and submit their returns again until you close the round.")
    elif to == RoundStatus.CLOSED:
        outstanding = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Return)
            .where(Return.round_id == round_.id, Return.status.in_(ReturnStatus.in_group(ReturnGroup.OUTSTANDING)))
        )
        if outstanding:
            out.append(
                f"{outstanding} {'return is' if outstanding == 1 else 'returns are'} still outstanding: their "
                "agencies will no longer be able to complete them unless you reopen the round."
            )
        else:
            out.append("Every return is in. Agencies can no longer change them unless you reopen the round.")
    hook = kind_rules(round_.kind).move_consequences
    if hook is not None:
        out += hook(round_, to)
    return out


def share_round(round_: Round, partnership: Partnership) -> None:
    """Let a round count for another partnership too (one return from a shared agency counts in each)."""
    if partnership.id in {p.id for p in round_.partnerships}:
        raise ConflictError("The round already counts for this partnership", field="partnership_id")
    round_.partnerships.append(partnership)
    db.session.flush()
    _record_sharing(round_, "shared_with", partnership)


def unshare_round(round_: Round, partnership: Partnership) -> None:
    """Stop a round counting for a partnership it was shared with: only while it is being planned (once
    open, that partnership's agencies may have returned to it), never the partnership that planned it."""
    if partnership.id == round_.partnership_id:
        raise DomainError("A round always counts for the partnership that planned it", field="partnership_id")
    if partnership.id not in {p.id for p in round_.partnerships}:
        raise DomainError("The round is not shared with this partnership", field="partnership_id")
    if round_.status != RoundStatus.PLANNING:
        raise ConflictError("A round can stop being shared only while it is being planned", field="partnership_id")
    theirs = active_agency_ids(partnership.id) - active_agency_ids(round_.partnership_id)
    round_.agencies = [a for a in round_.agencies if a.id not in theirs]
    round_.partnerships = [p for p in round_.partnerships if p.id != partnership.id]
    db.session.flush()
    _record_sharing(round_, "no_longer_shared_with", partnership)


def _record_sharing(round_: Round, change: str, partnership: Partnership) -> None:
    """Sharing is written to the audit log of both partnerships (the association table is not audited by
    itself): the round's, and the one it is shared with."""
    after = {change: partnership.name, "partnership_id": partnership.id, "round": round_.title}
    for partnership_id in {round_.partnership_id, partnership.id}:
        record_event("round", round_.id, AuditAction.UPDATE, partnership_id=partnership_id, after=after)


def shareable_partnerships(round_: Round, admin_of: Iterable[int]) -> list[Partnership]:
    """The partnerships a round may be shared with by someone who is an administrator of ``admin_of``: those
    of them not already sharing it (a shared round lets that partnership's QA group see its agencies'
    returns, so the person sharing must speak for both)."""
    wanted = set(admin_of) - {p.id for p in round_.partnerships}
    return list(db.session.scalars(sa.select(Partnership).where(Partnership.id.in_(wanted)).order_by(Partnership.name)))


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


def linked_agency_ids(partnership_id: int) -> set[int]:
    """Every agency the partnership works with, active or not."""
    return set(
        db.session.scalars(
            sa.select(PartnershipAgency.agency_id).where(PartnershipAgency.partnership_id == partnership_id)
        )
    )


def round_agencies_seen_by(round_: Round, partnership_id: int) -> list[Agency]:
    """The agencies asked to return to a round, as a partnership sees them: its own (a shared round's other
    partnerships' own agencies are theirs to see)."""
    linked = linked_agency_ids(partnership_id)
    return [a for a in round_.agencies if a.id in linked]


def chaseable_agency_ids(round_: Round, partnership_id: int) -> set[int]:
    """The agencies with returns in a round that a partnership's managers chase: their own (in a shared
    round, each partnership chases its own agencies; a shared agency may be chased by each)."""
    linked = linked_agency_ids(partnership_id)
    return set(db.session.scalars(sa.select(Return.agency_id).where(Return.round_id == round_.id))) & linked


def set_round_agencies(
    round_: Round, *, agency_ids: list[int], sector_ids: list[int] | None = None, partnership_id: int | None = None
) -> None:
    """Choose who returns (kinds that choose agencies): these agencies and every active agency of these sectors.

    With ``partnership_id`` (the partnership choosing, in a round shared by several), the choice is among
    that partnership's agencies only: the agencies the other partnerships chose stay as they are.
    """
    if not kind_rules(round_.kind).chooses_agencies:
        raise NotAllowedError(
            f"A {round_.kind.label.lower()} round takes its agencies from its cases", field="agency_ids"
        )
    if round_.status not in (RoundStatus.PLANNING, RoundStatus.OPEN):
        raise NotAllowedError("Agencies can be chosen only while the round is being planned or is open")
    partnership_ids = round_partnership_ids(round_) if partnership_id is None else [partnership_id]
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
    if partnership_id is not None:
        current &= linked_agency_ids(partnership_id)
        wanted |= {a.id for a in round_.agencies} - current  # the other partnerships' choices stay
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
    if to == RoundStatus.REPORTED:
        round_.reported_at = utcnow()
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
    if round_.previous_round_id is not None and kind_rules(round_.kind).carries_forward:
        from .carry import carry_forward

        for ret in created:
            carry_forward(ret)  # last round's answers, each marked for review
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
        answer.carried_forward = False  # saved, changed or not: reviewed
    newly_raised = _settle_concern(ret)
    try:
        if ret.status == ReturnStatus.NOT_STARTED:
            _move(ret, ReturnStatus.IN_PROGRESS, by)
        ret.updated_at = utcnow()  # bumps lock_version even when only answers changed
        db.session.flush()
        if newly_raised:
            queue_concern_email(ret)
    except StaleDataError:
        # Another session saved between our read and our write (the UPDATE matched no row).
        raise ConflictError(
            "Someone else saved this return at the same moment. Your changes were not saved: reload the page to see theirs, then make your changes again.",
            field="lock_version",
        ) from None


def concern_identified(ret: Return) -> bool:
    """Whether the return's answer to the immediate-concern question (by its role) says a concern was found."""
    question = roles.immediate_concern_question(ret.round.version)
    if question is None:
        return False
    answer = next((a for a in ret.answers if a.question_id == question.id), None)
    return answer is not None and roles.raises_concern(question, answer.value)


def raised_concerns(round_id: int, round_case_id: int | None = None) -> list[Return]:
    """The round's returns (or one case's) that raised an immediate concern, by case then when raised."""
    query = sa.select(Return).where(Return.round_id == round_id, Return.concern_raised_at.is_not(None))
    if round_case_id is not None:
        query = query.where(Return.round_case_id == round_case_id)
    return list(db.session.scalars(query.order_by(Return.round_case_id, Return.concern_raised_at, Return.id)))


def _settle_concern(ret: Return) -> bool:
    """Keep ``concern_raised_at`` in step with the answers; True when a concern is newly raised (email once).

    A later save that still says "concern" changes nothing; answering it away clears the flag, and
    saying it again is a new concern."""
    identified = concern_identified(ret)
    if identified and ret.concern_raised_at is None:
        ret.concern_raised_at = utcnow()
        return True
    if not identified and ret.concern_raised_at is not None:
        ret.concern_raised_at = None
    return False


def missing_answers(ret: Return) -> list[Question]:
    """Required questions the agency is asked, shown by their conditions, and not answered."""
    return answers.required_missing(applicable_questions(ret), stored_answers(ret))


def _partnership(ret: Return) -> Partnership:
    return db.session.get(Partnership, ret.round.partnership_id)


def submit_return(ret: Return, *, by: User, as_lead: bool, confirm_carried: bool = False) -> ReturnStatus:
    """Submit a complete return (agency lead, or an auditor where the partnership allows);
    an auditor elsewhere marks it ready for the lead's sign-off.

    Answers carried forward from the previous round and not yet reviewed are refused (409, field
    ``confirm_carried``, naming how many) unless the submitter confirms them with ``confirm_carried``."""
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
    if not confirm_carried:
        from .carry import carried_answers, carried_phrase

        carried = len(carried_answers(ret))
        if carried:
            raise ConflictError(
                f"{carried_phrase(carried)}: review them, or confirm you are submitting them as they are",
                field="confirm_carried",
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


def record_alternative_template(ret: Return, *, by: User, note: str) -> None:
    """The agency sent its answers on another template (its own form, a document): recorded with a note saying
    what was sent, so the return counts apart from returns made here (in the declined group of return rates)."""
    note = (note or "").strip()
    if not note:
        raise DomainError("Say what the agency sent instead", field="note")
    if len(note) > 2000:
        raise DomainError("The note must be 2000 characters or fewer", field="note")
    if not ret.status.is_editable:
        raise NotAllowedError(
            f"This return is {ret.status.label.lower()} and cannot be marked as submitted on another template"
        )
    if ret.round.status not in (RoundStatus.OPEN, RoundStatus.CLOSED):
        raise NotAllowedError("A return can be marked as submitted on another template only once the round is open")
    ret.note = note
    _move(ret, ReturnStatus.ALTERNATIVE_TEMPLATE, by, note)


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


# -- return rates --


@dataclass(frozen=True)
class ReturnRate:
    """One line of a round's return rates: a sector's (or, with ``sector`` empty, the whole round's)."""

    sector: str
    asked: int
    returned: int
    declined: int
    alternative: int
    outstanding: int
    late: int

    @property
    def asked_less_declined(self) -> int:
        """Returns asked for, leaving out those declined or sent on another template."""
        return self.asked - self.declined - self.alternative

    @property
    def percent(self) -> int | None:
        """Returned as a whole percentage of every return asked for."""
        return round(100 * self.returned / self.asked) if self.asked else None

    @property
    def percent_less_declined(self) -> int | None:
        """Returned as a whole percentage of the returns asked for less those declined or on another template."""
        base = self.asked_less_declined
        return round(100 * self.returned / base) if base else None


NO_SECTOR = "No sector"


def return_rates(round_: Round, partnership_id: int) -> tuple[list[ReturnRate], ReturnRate]:
    """A round's return rates by the sector each agency has in ``partnership_id`` (the partnership looking),
    and overall, over that partnership's agencies only (a shared round counts each partnership's own). Declined and alternative-template returns are counted apart, so a rate can be given with and
    without them; late means outstanding after the due date."""
    rows = db.session.execute(
        sa.select(Return.status, Sector.name)
        .select_from(Return)
        .join(
            PartnershipAgency,
            sa.and_(
                PartnershipAgency.agency_id == Return.agency_id, PartnershipAgency.partnership_id == partnership_id
            ),
        )
        .outerjoin(Sector, Sector.id == PartnershipAgency.sector_id)
        .where(Return.round_id == round_.id)
    ).all()
    past_due = round_.due_on is not None and clock.today() > round_.due_on
    tallies: dict[str, dict[str, int]] = {}

    def tally(key: str, status: ReturnStatus) -> None:
        t = tallies.setdefault(
            key, dict.fromkeys(("asked", "returned", "declined", "alternative", "outstanding", "late"), 0)
        )
        t["asked"] += 1
        if status == ReturnStatus.ALTERNATIVE_TEMPLATE:
            t["alternative"] += 1
        elif status.group == ReturnGroup.DECLINED:
            t["declined"] += 1
        elif status.group == ReturnGroup.RETURNED:
            t["returned"] += 1
        else:
            t["outstanding"] += 1
            t["late"] += int(past_due)

    for status, sector in rows:
        tally(sector or NO_SECTOR, status)
        tally("", status)
    total = tallies.pop("", None) or dict.fromkeys(
        ("asked", "returned", "declined", "alternative", "outstanding", "late"), 0
    )
    by_sector = [
        ReturnRate(sector=name, **tallies[name]) for name in sorted(tallies, key=lambda n: (n == NO_SECTOR, n))
    ]
    return by_sector, ReturnRate(sector="", **total)
