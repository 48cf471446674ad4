"""Year on year: a round started from the previous one, its returns opening with last round's answers.

A kind whose rules say ``carries_forward`` (self-assessments) can plan its next round from a closed or
reported one: the same questionnaire (its newest published version), the same agencies, the previous round
linked. When that round opens, each agency's return starts from its answers in its last returned
(submitted or accepted) return to the previous round, matched on the question's key, since versions
differ. An answer the new version cannot take (the question is gone, its type changed, its scale level
or option no longer exists) is left out. Every copied answer is marked ``carried_forward`` until the agency
saves it (changed or not) or confirms a section unchanged; submitting with answers still to review needs
the submitter's confirmation.

Services flush and let the audit trail record each change; views commit.
"""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm.exc import StaleDataError

from ..accounts.models import User
from ..core.errors import ConflictError, DomainError, FieldErrors, NotAllowedError
from ..core.models import utcnow
from ..extensions import db
from ..questionnaires import answers
from ..questionnaires.models import QuestionnaireVersion, Section, VersionStatus
from .evidence import carry_links
from .kinds import kind_rules
from .models import Answer, Return, ReturnGroup, ReturnStatus, Round, RoundStatus

#: the states a round may be in to start the next one from it
NEXT_FROM = (RoundStatus.CLOSED, RoundStatus.REPORTED)


def can_start_next(round_: Round) -> bool:
    """Whether a next round can be started from ``round_`` (its kind carries forward, and it is finished)."""
    return kind_rules(round_.kind).carries_forward and round_.status in NEXT_FROM


def newest_version(round_: Round) -> QuestionnaireVersion | None:
    """The newest published version of the round's questionnaire (None if every version is retired)."""
    return db.session.scalar(
        sa.select(QuestionnaireVersion)
        .where(
            QuestionnaireVersion.questionnaire_id == round_.version.questionnaire_id,
            QuestionnaireVersion.status == VersionStatus.PUBLISHED,
        )
        .order_by(QuestionnaireVersion.number.desc())
        .limit(1)
    )


def plan_next_round(
    previous: Round,
    *,
    title: str,
    opens_on: date | None,
    due_on: date | None,
    remind_days_before: int | None = None,
    remind_days_after: int | None = None,
) -> Round:
    """A new round in planning started from ``previous``: its questionnaire's newest published version, the
    agencies it asked that are still active, and ``previous_round`` set, so returns carry forward on opening."""
    from . import services

    if not kind_rules(previous.kind).carries_forward:
        raise NotAllowedError(f"A {previous.kind.label.lower()} round cannot be started from the previous one")
    if previous.status not in NEXT_FROM:
        raise NotAllowedError(
            f"The next round can be started only from a closed or reported round; this one is "
            f"{previous.status.label.lower()}"
        )
    version = newest_version(previous)
    if version is None:
        raise DomainError(
            "Every version of this questionnaire is retired: publish one before starting the next round",
            field="version_id",
        )
    active = services.active_agency_ids(previous.partnership_id)
    agency_ids = [a.id for a in previous.agencies if a.id in active]
    if not agency_ids:
        raise FieldErrors({"agency_ids": ["None of the previous round's agencies is still active"]})
    round_ = services.plan_round(
        previous.partnership_id,
        title=title,
        version=version,
        opens_on=opens_on,
        due_on=due_on,
        remind_days_before=previous.remind_days_before if remind_days_before is None else remind_days_before,
        remind_days_after=previous.remind_days_after if remind_days_after is None else remind_days_after,
        agency_ids=agency_ids,
    )
    # linked here, not through plan_round (whose previous_round is a case audit's re-audit)
    round_.previous_round_id = previous.id
    round_.previous_round = previous
    db.session.flush()
    return round_


def last_returned(previous_round_id: int, agency_id: int) -> Return | None:
    """The agency's own return (no case) to the previous round, if it was submitted or accepted."""
    return db.session.scalar(
        sa.select(Return).where(
            Return.round_id == previous_round_id,
            Return.agency_id == agency_id,
            Return.round_case_id.is_(None),
            Return.status.in_(ReturnStatus.in_group(ReturnGroup.RETURNED)),
        )
    )


def carry_forward(ret: Return) -> int:
    """Copy the agency's last returned answers into a new return of a round started from the previous one,
    each marked for review; answers the new version cannot take are left out. The number copied."""
    round_ = ret.round
    if round_.previous_round_id is None or ret.round_case_id is not None:
        return 0
    if not kind_rules(round_.kind).carries_forward or ret.answers:
        return 0
    source = last_returned(round_.previous_round_id, ret.agency_id)
    if source is None:
        return 0
    from .services import applicable_questions

    asked = {q.key: q for q in applicable_questions(ret)}
    copied = 0
    for old in source.answers:
        question = asked.get(old.question.key)
        if question is None or question.type != old.question.type or not old.value:
            continue
        try:
            value, level_id = answers.answer_type(question).clean(
                question, answers.answer_type(old.question).to_json(old.value)
            )
        except answers.AnswerProblem:
            continue  # the level or option no longer exists, or the answer no longer fits
        if not value:
            continue
        ret.answers.append(
            Answer(
                return_id=ret.id, question_id=question.id, value=value, scale_level_id=level_id, carried_forward=True
            )
        )
        copied += 1
    carry_links(source, ret, asked)  # links carry forward too; files do not (rounds.evidence)
    db.session.flush()
    return copied


def carried_answers(ret: Return, section: Section | None = None) -> list[Answer]:
    """The return's answers carried forward and not yet reviewed (in one section, if given)."""
    return [a for a in ret.answers if a.carried_forward and (section is None or a.question.section_id == section.id)]


def carried_counts(return_ids: list[int]) -> dict[int, int]:
    """How many answers each of these returns has carried forward and not yet reviewed (one query; returns with
    none are left out), for lists of returns."""
    if not return_ids:
        return {}
    rows = db.session.execute(
        sa.select(Answer.return_id, sa.func.count())
        .where(Answer.return_id.in_(return_ids), Answer.carried_forward.is_(True))
        .group_by(Answer.return_id)
    )
    return dict(rows.all())


def carried_keys(ret: Return) -> set[str]:
    """The question keys of the answers still to review."""
    return {a.question.key for a in carried_answers(ret)}


def confirm_carried(ret: Return, *, by: User, expected_version: int, section: Section | None = None) -> int:
    """The agency confirms the carried-forward answers of a section (or of the whole return) unchanged; the
    number confirmed. Refused as a save would be: a return that moved on, a closed round, a stale page."""
    from .services import _move

    if not ret.status.is_editable:
        raise NotAllowedError(f"This return is {ret.status.label.lower()} and cannot be changed")
    if ret.round.status != RoundStatus.OPEN:
        raise NotAllowedError("The round is not open for returns")
    if expected_version != ret.lock_version:
        raise ConflictError(
            "Someone else saved this return after you opened it. Nothing was confirmed: reload the page and "
            "check the answers again.",
            field="lock_version",
        )
    carried = carried_answers(ret, section)
    for answer in carried:
        answer.carried_forward = False
    try:
        if carried and ret.status == ReturnStatus.NOT_STARTED:
            _move(ret, ReturnStatus.IN_PROGRESS, by)
        ret.updated_at = utcnow()
        db.session.flush()
    except StaleDataError:
        raise ConflictError(
            "Someone else saved this return at the same moment. Nothing was confirmed: reload the page.",
            field="lock_version",
        ) from None
    return len(carried)


def carried_phrase(count: int) -> str:
    """'3 answers carried forward still to review' (for pages, the API's refusals and confirmations)."""
    return f"{count} {'answer' if count == 1 else 'answers'} carried forward from the previous round still to review"
