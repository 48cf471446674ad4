"""State changes of recommendations, actions, progress updates and evidence of impact.

Every rule is enforced here and explained in words a person can act on: Blue and "closed" go together and
need a reason; "complete" needs at least one piece of evidence the QA group accepted; a due date moves
only with a reason and the first date stays; the QA group decides on evidence, with a note when it says no.
Services flush and leave the commit to the view; each refusal names every field at fault at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, BinaryIO

import sqlalchemy as sa

from ..accounts.models import Membership, PartnershipAgency, User, name_key
from ..core import clock, storage
from ..core.errors import DomainError, FieldErrors, NotAllowedError
from ..core.roles import Role
from ..extensions import db
from ..questionnaires.models import Question, QuestionnaireVersion, Section, VersionStatus
from ..questionnaires.roles import QuestionRole
from ..rounds.models import Round
from .models import (
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
)

if TYPE_CHECKING:
    from ..case_audits.models import CaseJudgement, ReportRecommendation

#: evidence files: PDF, Word, Excel, PNG, JPEG and plain text (checked by content, not by name)
EVIDENCE_TYPES = frozenset({storage.PDF, storage.DOCX, storage.XLSX, storage.PNG, storage.JPEG, storage.TEXT})
EVIDENCE_TYPES_MESSAGE = "must be a PDF, Word (.docx), Excel (.xlsx), PNG, JPEG or plain text file"
#: how many files one piece of evidence may carry
MAX_EVIDENCE_FILES = 10
TEXT_LIMIT = 5000
TITLE_LIMIT = 300


class _Problems:
    """Every problem with a change, by field, raised together."""

    def __init__(self) -> None:
        self.fields: dict[str, list[str]] = {}

    def add(self, field_name: str, message: str) -> None:
        self.fields.setdefault(field_name, []).append(message)

    def text(self, field_name: str, value: str | None, label: str, *, required: bool, limit: int) -> str:
        value = (value or "").strip()
        if required and not value:
            self.add(field_name, f"Enter {label}")
        elif len(value) > limit:
            self.add(field_name, f"{label[0].upper()}{label[1:]} must be {limit:,} characters or fewer")
        return value

    def raise_any(self, what: str = "fields") -> None:
        if self.fields:
            raise FieldErrors(self.fields, what)


# -- recommendations --


def source_key(source: SourceKind, round_id: int | None, description: str, review_id: int | None = None) -> str:
    """The group a recommendation is numbered in: its round, its learning review, or its other source's name (any
    case or spacing)."""
    if source == SourceKind.ROUND:
        return f"round:{round_id}"
    if source == SourceKind.REVIEW:
        return f"review:{review_id}"
    return f"other:{name_key(description)}"


def next_number(partnership_id: int, key: str) -> int:
    highest = db.session.scalar(
        sa.select(sa.func.max(Recommendation.number)).where(
            Recommendation.partnership_id == partnership_id, Recommendation.source_key == key
        )
    )
    return (highest or 0) + 1


def partnership_agency_ids(partnership_id: int) -> set[int]:
    return set(
        db.session.scalars(
            sa.select(PartnershipAgency.agency_id).where(PartnershipAgency.partnership_id == partnership_id)
        )
    )


def partnership_rounds(partnership_id: int) -> list[Round]:
    from ..rounds.permissions import in_partnership

    return list(db.session.scalars(sa.select(Round).where(in_partnership(partnership_id)).order_by(Round.id.desc())))


def partnership_reviews(partnership_id: int) -> list[Any]:
    """The partnership's learning reviews, newest first (a recommendation's source may be one)."""
    from ..reviews.models import LearningReview

    return list(
        db.session.scalars(
            sa.select(LearningReview)
            .where(LearningReview.partnership_id == partnership_id)
            .order_by(LearningReview.created_at.desc(), LearningReview.id.desc())
        )
    )


def learning_theme_choices(partnership_id: int) -> list[str]:
    """The themes a recommendation may be tagged with: the partnership's list of learning themes (the active ones,
    in its order) first, then any other theme people tick in its published questionnaires or already used on a
    recommendation, in alphabetical order."""
    from ..questionnaires.learning_themes import active_theme_names

    listed = active_theme_names(partnership_id)
    folded = {n.casefold() for n in listed}
    options = db.session.scalars(
        sa.select(Question.options)
        .join(Section, Section.id == Question.section_id)
        .join(QuestionnaireVersion, QuestionnaireVersion.id == Section.version_id)
        .where(
            Question.role == QuestionRole.LEARNING_THEMES,
            QuestionnaireVersion.status == VersionStatus.PUBLISHED,
            QuestionnaireVersion.questionnaire.has(partnership_id=partnership_id),
        )
    )
    names = {o for opts in options for o in (opts or []) if isinstance(o, str) and o.strip()}
    names |= set(
        db.session.scalars(
            sa.select(RecommendationTheme.name)
            .join(Recommendation, Recommendation.id == RecommendationTheme.recommendation_id)
            .where(Recommendation.partnership_id == partnership_id)
        )
    )
    return listed + sorted((n for n in names if n.casefold() not in folded), key=str.casefold)


@dataclass
class RecommendationIn:
    """A recommendation as given (page or API): the source, the text and its tags."""

    source: str = SourceKind.OTHER.value
    round_id: int | None = None
    review_id: int | None = None
    source_description: str = ""
    text: str = ""
    number: int | None = None
    themes: list[str] = field(default_factory=list)
    agency_ids: list[int] = field(default_factory=list)
    tested_by_round_id: int | None = None


def _checked_recommendation(
    partnership_id: int, given: RecommendationIn, *, current: Recommendation | None = None
) -> tuple[SourceKind, str, str, list[str]]:
    problems = _Problems()
    try:
        source = SourceKind(given.source)
    except ValueError:
        problems.add(
            "source", "Choose where the recommendation came from: an audit round, a learning review or another source"
        )
        source = SourceKind.OTHER
    rounds = {r.id: r for r in partnership_rounds(partnership_id)}
    description = problems.text(
        "source_description",
        given.source_description,
        "what the source was (for example, an inspection or a board challenge)",
        required=source == SourceKind.OTHER,
        limit=200,
    )
    if source == SourceKind.ROUND:
        description = ""
        if given.round_id is None:
            problems.add("round_id", "Choose the round the recommendation came from")
        elif given.round_id not in rounds:
            problems.add("round_id", "Choose a round of this partnership")
    if source == SourceKind.REVIEW:
        description = ""
        if given.review_id is None:
            problems.add("review_id", "Choose the learning review the recommendation came from")
        elif given.review_id not in {r.id for r in partnership_reviews(partnership_id)}:
            problems.add("review_id", "Choose a learning review of this partnership")
    text = problems.text("text", given.text, "the recommendation", required=True, limit=TEXT_LIMIT)
    if given.number is not None and not 1 <= given.number <= 999:
        problems.add("number", "The number must be a whole number from 1 to 999")
    themes = []
    for name in given.themes:
        name = " ".join((name or "").split())
        if not name:
            continue
        if len(name) > 120:
            problems.add("themes", "A learning theme must be 120 characters or fewer")
        elif name.casefold() not in {t.casefold() for t in themes}:
            themes.append(name)
    unknown = set(given.agency_ids) - partnership_agency_ids(partnership_id)
    if unknown:
        problems.add("agency_ids", "Choose agencies of this partnership")
    if given.tested_by_round_id is not None and given.tested_by_round_id not in rounds:
        problems.add("tested_by_round_id", "Choose a round of this partnership to test the recommendation")
    problems.raise_any()
    key = source_key(source, given.round_id, description, given.review_id)
    if given.number is not None:
        taken = db.session.scalar(
            sa.select(Recommendation.id).where(
                Recommendation.partnership_id == partnership_id,
                Recommendation.source_key == key,
                Recommendation.number == given.number,
                Recommendation.id != (current.id if current is not None else -1),
            )
        )
        if taken is not None:
            raise FieldErrors({"number": [f"Recommendation {given.number} of this source already exists"]})
    return source, description, text, themes


def _apply_tags(rec: Recommendation, given: RecommendationIn, themes: list[str]) -> None:
    from ..accounts.models import Agency

    wanted = {t.casefold(): t for t in themes}
    rec.themes = [t for t in rec.themes if t.name.casefold() in wanted] + [
        RecommendationTheme(name=name)
        for fold, name in wanted.items()
        if fold not in {t.name.casefold() for t in rec.themes}
    ]
    ids = sorted(set(given.agency_ids))
    rec.agencies = list(db.session.scalars(sa.select(Agency).where(Agency.id.in_(ids)))) if ids else []


def create_recommendation(
    partnership_id: int,
    given: RecommendationIn,
    *,
    report_recommendation_id: int | None = None,
    case_judgement_id: int | None = None,
) -> Recommendation:
    """Record a recommendation, numbered next in its source unless a free number is given."""
    source, description, text, themes = _checked_recommendation(partnership_id, given)
    key = source_key(source, given.round_id, description, given.review_id)
    rec = Recommendation(
        partnership_id=partnership_id,
        source=source,
        round_id=given.round_id if source == SourceKind.ROUND else None,
        review_id=given.review_id if source == SourceKind.REVIEW else None,
        source_description=description,
        source_key=key,
        number=given.number or next_number(partnership_id, key),
        text=text,
        tested_by_round_id=given.tested_by_round_id,
        report_recommendation_id=report_recommendation_id,
        case_judgement_id=case_judgement_id,
    )
    db.session.add(rec)
    _apply_tags(rec, given, themes)
    db.session.flush()
    return rec


def update_recommendation(rec: Recommendation, given: RecommendationIn) -> Recommendation:
    """Change a recommendation's text, source, number, themes, agencies or the round that will test it."""
    source, description, text, themes = _checked_recommendation(rec.partnership_id, given, current=rec)
    key = source_key(source, given.round_id, description, given.review_id)
    if key != rec.source_key and given.number is None:
        rec.number = next_number(rec.partnership_id, key)
    elif given.number is not None:
        rec.number = given.number
    rec.source = source
    rec.round_id = given.round_id if source == SourceKind.ROUND else None
    rec.review_id = given.review_id if source == SourceKind.REVIEW else None
    rec.source_description = description
    rec.source_key = key
    rec.text = text
    rec.tested_by_round_id = given.tested_by_round_id
    _apply_tags(rec, given, themes)
    db.session.flush()
    return rec


def delete_recommendation(rec: Recommendation) -> None:
    """Remove a recommendation recorded by mistake: only while it has no actions (their history would go)."""
    if rec.actions:
        raise NotAllowedError(
            "This recommendation has actions, so it cannot be deleted: close its actions as no longer "
            "progressable instead (their history is kept)"
        )
    db.session.delete(rec)
    db.session.flush()


def promote_report_recommendation(report_rec: ReportRecommendation) -> Recommendation:
    """Make a chair's report recommendation a record of the plan, keeping its number and its link."""
    already = db.session.scalar(
        sa.select(Recommendation).where(Recommendation.report_recommendation_id == report_rec.id)
    )
    if already is not None:
        raise NotAllowedError(
            f"Recommendation {report_rec.number} of the chair's report is already in the action plan "
            f"(recommendation {already.number})"
        )
    round_ = report_rec.round
    key = source_key(SourceKind.ROUND, round_.id, "")
    free = (
        db.session.scalar(
            sa.select(Recommendation.id).where(
                Recommendation.partnership_id == round_.partnership_id,
                Recommendation.source_key == key,
                Recommendation.number == report_rec.number,
            )
        )
        is None
    )
    return create_recommendation(
        round_.partnership_id,
        RecommendationIn(
            source=SourceKind.ROUND.value,
            round_id=round_.id,
            text=report_rec.text,
            number=report_rec.number if free else None,
            agency_ids=[],
        ),
        report_recommendation_id=report_rec.id,
    )


def promote_case_recommendation(judgement: CaseJudgement) -> Recommendation:
    """Make the panel's recommendation on a case a record of the plan, linked to the case's judgement."""
    if not (judgement.recommendations or "").strip():
        raise DomainError("The panel recorded no recommendation for this case", field="case_judgement_id")
    already = db.session.scalar(sa.select(Recommendation).where(Recommendation.case_judgement_id == judgement.id))
    if already is not None:
        raise NotAllowedError(
            f"The panel's recommendation for this case is already in the action plan (recommendation {already.number})"
        )
    round_case = judgement.round_case
    return create_recommendation(
        round_case.round.partnership_id,
        RecommendationIn(
            source=SourceKind.ROUND.value,
            round_id=round_case.round_id,
            text=judgement.recommendations.strip(),
            agency_ids=[a.id for a in round_case.agencies],
        ),
        case_judgement_id=judgement.id,
    )


# -- actions --


@dataclass
class ActionIn:
    """An action as given (page or API)."""

    title: str = ""
    owner_user_id: int | None = None
    owner_name: str = ""
    owner_agency_id: int | None = None
    due_on: date | None = None
    #: given only when the action is created (later moves go through move_due_date, with a reason)
    rag: str = Rag.GREEN.value


def owner_choices(partnership_id: int) -> list[User]:
    """The partnership's people who can own an action (anyone with a role there), by name."""
    return list(
        db.session.scalars(
            sa.select(User)
            .where(
                User.is_active.is_(True),
                User.id.in_(sa.select(Membership.user_id).where(Membership.partnership_id == partnership_id)),
            )
            .order_by(User.name, User.id)
        )
    )


def _checked_action(partnership_id: int, given: ActionIn, problems: _Problems) -> tuple[str, str]:
    title = problems.text("title", given.title, "what will be done", required=True, limit=TITLE_LIMIT)
    owner_name = problems.text("owner_name", given.owner_name, "the owner's name", required=False, limit=200)
    if given.owner_user_id is not None:
        if given.owner_user_id not in {u.id for u in owner_choices(partnership_id)}:
            problems.add("owner_user_id", "Choose an owner who works in this partnership")
        owner_name = ""
    elif not owner_name:
        problems.add("owner_user_id", "Choose the action's owner, or enter the name of a person at an agency")
    if given.owner_agency_id is not None and given.owner_agency_id not in partnership_agency_ids(partnership_id):
        problems.add("owner_agency_id", "Choose an agency of this partnership")
    return title, owner_name


def _checked_new_action(partnership_id: int, given: ActionIn, problems: _Problems) -> tuple[str, str, Rag]:
    title, owner_name = _checked_action(partnership_id, given, problems)
    if given.due_on is None:
        problems.add("due_on", "Enter the date the action is due, as day, month and year")
    try:
        rag = Rag(given.rag or Rag.GREEN.value)
    except ValueError:
        problems.add("rag", "Choose Red, Amber or Green")
        rag = Rag.GREEN
    if rag == Rag.BLUE:
        problems.add("rag", "A new action cannot be Blue: Blue means closed as no longer progressable")
    return title, owner_name, rag


def new_action_problems(partnership_id: int, given: ActionIn) -> dict[str, list[str]]:
    """Every problem with a new action, by field, writing nothing: for a form that records something else
    with it to report all its problems at once."""
    problems = _Problems()
    _checked_new_action(partnership_id, given, problems)
    return problems.fields


def add_action(rec: Recommendation, given: ActionIn) -> Action:
    """Add an action under a recommendation: not started, with the due date agreed."""
    problems = _Problems()
    title, owner_name, rag = _checked_new_action(rec.partnership_id, given, problems)
    problems.raise_any()
    action = Action(
        recommendation=rec,
        partnership_id=rec.partnership_id,
        title=title,
        owner_user_id=given.owner_user_id,
        owner_name=owner_name,
        owner_agency_id=given.owner_agency_id,
        due_on=given.due_on,
        original_due_on=given.due_on,
        status=ActionStatus.NOT_STARTED,
        rag=rag,
    )
    db.session.add(action)
    db.session.flush()
    return action


def update_action(action: Action, given: ActionIn) -> Action:
    """Change an action's title, owner or owner agency (its due date moves through move_due_date)."""
    problems = _Problems()
    title, owner_name = _checked_action(action.partnership_id, given, problems)
    if given.due_on is not None and given.due_on != action.due_on:
        problems.add("due_on", "Move the due date with a reason (Move the due date)")
    problems.raise_any()
    action.title = title
    action.owner_user_id = given.owner_user_id
    action.owner_name = owner_name
    action.owner_agency_id = given.owner_agency_id
    db.session.flush()
    return action


def move_due_date(action: Action, new_date: date | None, reason: str, *, by: int | None) -> DueDateChange:
    """Move the due date, with a reason; the first agreed date stays on the action."""
    problems = _Problems()
    reason = problems.text("reason", reason, "why the due date is moving", required=True, limit=TEXT_LIMIT)
    if new_date is None:
        problems.add("due_on", "Enter the new due date, as day, month and year")
    elif new_date == action.due_on:
        problems.add("due_on", "The new due date is the date already set: enter a different date")
    if action.status.is_finished:
        problems.add("due_on", f"This action is {action.status.label.lower()}: its due date no longer moves")
    problems.raise_any()
    change = DueDateChange(action=action, from_date=action.due_on, to_date=new_date, reason=reason, changed_by_id=by)
    action.due_on = new_date
    db.session.add(change)
    db.session.flush()
    return change


@dataclass
class UpdateIn:
    """A progress update as given: the note, the RAG now, and optionally a new status (with a reason to close)."""

    note: str = ""
    rag: str = ""
    status: str = ""
    closure_reason: str = ""
    written_on: date | None = None


def post_update(action: Action, given: UpdateIn, *, by: int | None) -> ActionUpdate:
    """Record progress: a dated note with the RAG rating now, and the status if it changes.

    Blue and "closed" go together and need a reason; "complete" needs accepted evidence of impact."""
    problems = _Problems()
    note = problems.text("note", given.note, "what has happened since the last update", required=True, limit=TEXT_LIMIT)
    today = clock.today()
    written_on = given.written_on or today
    if written_on > today:
        problems.add("written_on", "The date of the update must be today or in the past")
    given_rag: Rag | None = None
    given_status: ActionStatus | None = None
    try:
        given_rag = Rag(given.rag) if given.rag else None
    except ValueError:
        problems.add("rag", "Choose Red, Amber, Green or Blue")
    try:
        given_status = ActionStatus(given.status) if given.status else None
    except ValueError:
        problems.add("status", "Choose not started, in progress, complete or closed")
    # Blue is "closed: no longer progressable": choosing either brings the other
    status = given_status or (ActionStatus.CLOSED if given_rag == Rag.BLUE else action.status)
    if status == ActionStatus.CLOSED:
        if given_rag not in (None, Rag.BLUE):
            problems.add("rag", "A closed action is Blue (no longer progressable): choose Blue, or another status")
        rag = Rag.BLUE
    elif given_rag == Rag.BLUE:
        problems.add("rag", "Blue is only for an action closed as no longer progressable: choose the status Closed")
        rag = action.rag
    elif given_rag is not None:
        rag = given_rag
    elif action.rag == Rag.BLUE:
        if status == ActionStatus.COMPLETE:
            rag = Rag.GREEN
        else:
            problems.add("rag", "Choose the RAG rating of the reopened action: Red, Amber or Green")
            rag = action.rag
    else:
        rag = Rag.GREEN if status == ActionStatus.COMPLETE and given_status is not None else action.rag
    closure_reason = ""
    if status == ActionStatus.CLOSED:
        closure_reason = problems.text(
            "closure_reason",
            given.closure_reason or (action.closure_reason if action.status == ActionStatus.CLOSED else ""),
            "why the action can no longer progress",
            required=True,
            limit=TEXT_LIMIT,
        )
    if status == ActionStatus.COMPLETE and action.status != ActionStatus.COMPLETE and not action.has_accepted_evidence:
        problems.add(
            "status",
            "An action is complete only when the QA group has accepted at least one piece of evidence of its "
            "impact: add evidence, and the QA group will review it",
        )
    problems.raise_any()
    if status == ActionStatus.COMPLETE:
        # completed on the day the update says it was (an update can be dated in the past)
        action.completed_on = action.completed_on or written_on
    else:
        action.completed_on = None
    action.status = status
    action.rag = rag
    action.closure_reason = closure_reason
    update = ActionUpdate(action=action, author_id=by, written_on=written_on, note=note, rag=rag, status=status)
    db.session.add(update)
    db.session.flush()
    return update


# -- evidence of impact --


@dataclass
class EvidenceIn:
    """Evidence of impact as given: what changed, an optional measure before and after, files."""

    description: str = ""
    measure: str = ""
    unit: str = ""
    before_value: str = ""
    before_on: date | None = None
    after_value: str = ""
    after_on: date | None = None


def _number(problems: _Problems, field_name: str, raw: str | None, label: str) -> Decimal | None:
    raw = (raw or "").strip().replace(",", "")
    if not raw:
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation:
        problems.add(field_name, f"{label} must be a number, like 42 or 37.5")
        return None
    if not value.is_finite() or abs(value) >= Decimal("1e12"):
        problems.add(field_name, f"{label} must be a number below a million million")
        return None
    return value.quantize(Decimal("0.01"))


def add_evidence(
    action: Action,
    given: EvidenceIn,
    files: Iterable[tuple[BinaryIO, str | None]] = (),
    *,
    by: int | None,
) -> ImpactEvidence:
    """Record evidence of impact (what changed for children or practice), awaiting the QA group's decision.

    Every file is checked (type by content, size) before anything is kept; a refused file names itself."""
    problems = _Problems()
    description = problems.text(
        "description", given.description, "what changed for children or for practice", required=True, limit=TEXT_LIMIT
    )
    measure = problems.text("measure", given.measure, "what was measured", required=False, limit=200)
    unit = problems.text("unit", given.unit, "the unit", required=False, limit=40)
    before = _number(problems, "before_value", given.before_value, "The measure before")
    after = _number(problems, "after_value", given.after_value, "The measure after")
    if ((given.before_value or "").strip() or (given.after_value or "").strip()) and not measure:
        problems.add("measure", "Enter what was measured (for example, the percentage of plans reviewed on time)")
    if given.before_on and given.after_on and given.after_on < given.before_on:
        problems.add("after_on", "The date measured after must be the same as or later than the date before")
    if action.status == ActionStatus.CLOSED:
        problems.add("description", "This action is closed as no longer progressable: reopen it to add evidence")
    files = [(stream, name) for stream, name in files if name]
    if len(files) > MAX_EVIDENCE_FILES:
        problems.add("files", f"Attach at most {MAX_EVIDENCE_FILES} files to one piece of evidence")
        files = []
    stored = []
    for stream, name in files:
        try:
            kept = storage.store_file(
                stream, name, partnership_id=action.partnership_id, uploaded_by_id=by, field="files"
            )
        except DomainError as error:
            problems.add("files", f"{storage.clean_filename(name)}: {error.message}")
            continue
        if kept.content_type not in EVIDENCE_TYPES:
            problems.add("files", f"{kept.original_filename}: the file {EVIDENCE_TYPES_MESSAGE}")
            continue
        stored.append(kept)
    # every problem at once, the files' too; nothing is kept unless all is well: the files accepted so far are
    # taken back (their rows, and their content unless another record already holds the same bytes)
    if problems.fields:
        for kept in stored:
            db.session.delete(kept)
        db.session.flush()
        for sha256 in {kept.sha256 for kept in stored}:
            storage.remove_if_unreferenced(sha256)
    problems.raise_any()
    evidence = ImpactEvidence(
        action=action,
        description=description,
        measure=measure,
        unit=unit,
        before_value=before,
        before_on=given.before_on,
        after_value=after,
        after_on=given.after_on,
        added_by_id=by,
        files=stored,
    )
    db.session.add(evidence)
    db.session.flush()
    return evidence


def decide_evidence(
    evidence: ImpactEvidence, *, accept: bool, note: str, by: int | None, complete_action: bool = False
) -> ImpactEvidence:
    """The QA group accepts or rejects a piece of evidence (a note is needed to reject); accepting can complete
    the action in the same step."""
    problems = _Problems()
    note = problems.text(
        "decision_note", note, "why the evidence is not accepted", required=not accept, limit=TEXT_LIMIT
    )
    if evidence.status != EvidenceStatus.PENDING:
        problems.add("decision", f"This evidence is already {evidence.status.label.lower()}")
    problems.raise_any()
    evidence.status = EvidenceStatus.ACCEPTED if accept else EvidenceStatus.REJECTED
    evidence.decided_by_id = by
    evidence.decided_at = clock.now()
    evidence.decision_note = note
    db.session.flush()
    action = evidence.action
    if accept and complete_action and action.status != ActionStatus.COMPLETE:
        post_update(
            action,
            UpdateIn(
                note="Evidence of impact accepted by the QA group; action complete." + (f" {note}" if note else ""),
                rag=Rag.GREEN.value,
                status=ActionStatus.COMPLETE.value,
            ),
            by=by,
        )
    return evidence


# -- who can be reminded, and reading scoped lists --


def qa_emails(partnership_id: int) -> list[str]:
    """The QA group's email addresses (the weekly digest goes to them)."""
    return sorted(
        set(
            db.session.scalars(
                sa.select(User.email)
                .join(Membership, Membership.user_id == User.id)
                .where(
                    Membership.partnership_id == partnership_id,
                    Membership.role == Role.QA_MEMBER,
                    User.is_active.is_(True),
                )
            )
        )
    )
