"""State changes special to case audits: cases and their agencies, cohorts, re-audits, the panel's judgement.

Services flush and let the audit trail record each change; views commit.
Every refusal is a DomainError naming the field at fault.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa

from ..accounts.models import Agency
from ..accounts.permissions import agency_links_query
from ..core.audit import AuditAction, record_event
from ..core.errors import ConflictError, DomainError, FieldErrors, NotAllowedError
from ..core.models import utcnow
from ..core.permissions import Principal
from ..core.redaction import redact_everywhere
from ..extensions import db
from ..questionnaires import learning_themes_tags as tags
from ..questionnaires import roles
from ..questionnaires.answers import MAX_TEXT
from ..questionnaires.models import QuestionnaireKind, Scale
from ..rounds.models import Round, RoundStatus
from ..rounds.services import active_agency_ids, create_returns
from .cohort import (
    AGE_BANDS,
    DISABILITY,
    ETHNICITIES,
    PLAN_TYPES,
    SEXES,
    CohortRow,
    choice_problem,
    cohort_template,
    reference_problem,
)
from .models import (
    Case,
    CaseJudgement,
    ChairReport,
    PractitionerInvolvement,
    ReportRecommendation,
    RoundCase,
    SelectionMethod,
    round_case_agencies,
)
from .permissions import can_redact_case_reference

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
    if fields.get("ethnicity", "") and fields["ethnicity"] not in ETHNICITIES:
        raise DomainError(
            "Ethnicity: choose a 2021 Census category, 'Not stated', or leave it not recorded", field="ethnicity"
        )


def redact_case_reference(case: Case, new_reference: str, actor: Principal) -> dict[str, int]:
    """Replace a wrongly entered reference by ``new_reference`` everywhere it is stored, the audit trail
    included (``core.redaction``); record one event saying who redacted the reference and when, never the
    old value. Admins of the case's partnership only. Rows rewritten per table."""
    if not can_redact_case_reference(actor, case):
        raise PermissionError("only an admin of the case's partnership may redact its reference")
    new = (new_reference or "").strip()
    problem = reference_problem(new_reference or "")
    if problem:
        raise DomainError(problem, field="reference")
    old = case.reference
    if new == old:
        raise DomainError("Enter a reference different from the one to redact", field="reference")
    if db.session.scalar(
        sa.select(Case.id).where(Case.partnership_id == case.partnership_id, Case.reference == new, Case.id != case.id)
    ):
        raise ConflictError("A case with this reference already exists", field="reference")
    # Other cases' references that hold this one ("C12 A" beside "C12") are never touched.
    keep = db.session.scalars(
        sa.select(Case.reference).where(
            Case.partnership_id == case.partnership_id,
            Case.id != case.id,
            Case.reference.icontains(old, autoescape=True),
        )
    ).all()
    case_id, partnership_id = case.id, case.partnership_id
    counts = redact_everywhere(partnership_id, old, new, keep=keep)
    counts["report_files"] = _forget_drawn_reports(partnership_id)
    counts["plan_files"] = _forget_plan_files(partnership_id)
    record_event(
        "Case",
        case_id,
        AuditAction.REDACT,
        partnership_id=partnership_id,
        after={"redacted": "reference", "reference": new},
    )
    return counts


def _forget_drawn_reports(partnership_id: int) -> int:
    """The partnership's drawn PDFs print case references and cannot be rewritten: forget them (their rows,
    and their content once no row names it) so they are drawn afresh from the redacted data; how many."""
    from ..core import jobs
    from ..core.storage import StoredFile, remove_if_unreferenced
    from ..reporting.models import ReportFile

    rows = db.session.execute(
        sa.select(ReportFile.id, ReportFile.stored_file_id, StoredFile.sha256)
        .outerjoin(StoredFile, StoredFile.id == ReportFile.stored_file_id)
        .join(Round, Round.id == ReportFile.round_id)
        .where(Round.partnership_id == partnership_id)
    ).all()
    if not rows:
        return 0
    db.session.execute(sa.delete(ReportFile).where(ReportFile.id.in_([r.id for r in rows])))
    stored_ids = [r.stored_file_id for r in rows if r.stored_file_id is not None]
    if stored_ids:
        db.session.execute(sa.delete(StoredFile).where(StoredFile.id.in_(stored_ids)))
    for sha256 in {r.sha256 for r in rows if r.sha256}:
        jobs.enqueue(remove_if_unreferenced, sha256)
    return len(rows)


def _forget_plan_files(partnership_id: int) -> int:
    """The action plan's drawn PDFs print recommendations' and updates' texts: forgotten the same way."""
    from ..actions.plan_files import forget_plan_files

    return forget_plan_files(partnership_id)


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
    # A case the re-audited round looked at is carried, not new: link it to its earlier audit.
    earlier_id = (
        db.session.scalar(
            sa.select(RoundCase.id).where(RoundCase.round_id == round_.previous_round_id, RoundCase.case_id == case.id)
        )
        if round_.previous_round_id
        else None
    )
    round_case = RoundCase(round_id=round_.id, case_id=case.id, previous_round_case_id=earlier_id)
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
    unknown = wanted - active_agency_ids(round_.partnership_id)
    if unknown:
        raise DomainError("Tick active agencies of this partnership only", field="agency_ids")
    current = {a.id for a in round_case.agencies}
    if round_.status == RoundStatus.OPEN and current - wanted:
        raise NotAllowedError(
            "An agency cannot be taken off a case once the round is open; decline its return instead",
            field="agency_ids",
        )
    round_case.agencies = list(db.session.scalars(sa.select(Agency).where(Agency.id.in_(wanted))))
    db.session.flush()
    if round_.status == RoundStatus.OPEN:
        create_returns(round_)


def remove_case(round_case: RoundCase) -> None:
    """Take a case out of a round that is still being planned."""
    if round_case.round.status != RoundStatus.PLANNING:
        raise NotAllowedError("Cases can be removed only while the round is being planned")
    round_case.agencies = []
    db.session.flush()
    db.session.delete(round_case)
    db.session.flush()


def cohort_agencies(partnership_id: int) -> tuple[set[str], dict[str, str]]:
    """The partnership's active agencies a cohort file may name: their names, and short code -> name."""
    links = db.session.scalars(agency_links_query(partnership_id, active_only=True)).unique().all()
    return {link.agency.name for link in links}, {
        link.short_code: link.agency.name for link in links if link.short_code
    }


def cohort_template_file(partnership_id: int) -> bytes:
    """The Excel cohort template, listing the partnership's active agencies with their short codes."""
    links = db.session.scalars(agency_links_query(partnership_id, active_only=True)).unique().all()
    return cohort_template(
        sorted(((link.agency.name, link.short_code or "") for link in links), key=lambda a: a[0].lower())
    )


def import_cohort(round_: Round, rows: list[CohortRow]) -> list[RoundCase]:
    """Add every case of a parsed cohort file (see cohort.parse_cohort); all or nothing."""
    by_name = {
        a.name: a.id
        for a in db.session.scalars(sa.select(Agency).where(Agency.id.in_(active_agency_ids(round_.partnership_id))))
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


# -- the multi-agency discussion --


def judgement_scale_levels(round_: Round) -> list[Any]:
    """The levels a multi-agency grade is given on: the scale of the version's overall grade question, or Ofsted's."""
    scale = roles.grade_scale(round_.version)
    if scale is not None:
        return list(scale.levels)
    ofsted = db.session.scalar(sa.select(Scale).where(Scale.partnership_id.is_(None), Scale.key == "ofsted"))
    return list(ofsted.levels)


def judgement_field_prefix(section_key: str) -> str:
    """The names of a judgement's fields: ``section-<key>-`` for a section, ``case-`` for the case itself.

    The two can never clash, whatever the section keys (the library's case audits have a section keyed
    ``overall``, which once shared its field names with the case's own judgement and lost it).
    """
    return f"section-{section_key}-" if section_key else "case-"


@dataclass(frozen=True)
class JudgementIn:
    """What the panel agreed for a section, or for the case (recommendations and escalation: the case only)."""

    grade: str = ""
    strengths: str = ""
    areas_for_development: str = ""
    recommendations: str = ""
    concern_escalated: bool = False
    escalated_to: str = ""
    escalated_on: date | None = None
    #: the learning themes of the finding (the case only); None keeps the themes recorded
    learning_theme_ids: tuple[int, ...] | None = None


def record_judgements(round_case: RoundCase, sections: dict[str, JudgementIn], case: JudgementIn) -> None:
    """Record the panel's whole judgement of a case: every section of the questionnaire (a section not given is
    left ungraded) and the case itself. Every problem is reported at once (``FieldErrors`` named as the page
    names its fields, see :func:`judgement_field_prefix`); the caller rolls back on error, so nothing is
    half-saved."""
    round_ = round_case.round
    problems: dict[str, list[str]] = {}
    unknown = sorted(set(sections) - {s.key for s in round_.version.sections})
    for key in unknown:
        problems[f"{judgement_field_prefix(key)}"] = [
            f"No such section in this questionnaire; sections: {', '.join(s.key for s in round_.version.sections)}"
        ]
    entries = [(s.key, sections.get(s.key, JudgementIn())) for s in round_.version.sections] + [("", case)]
    for key, given in entries:
        try:
            record_judgement(
                round_case,
                section_key=key,
                grade=given.grade,
                strengths=given.strengths,
                areas_for_development=given.areas_for_development,
                recommendations="" if key else given.recommendations,
                concern_escalated=False if key else given.concern_escalated,
                escalated_to="" if key else given.escalated_to,
                escalated_on=None if key else given.escalated_on,
                learning_theme_ids=None if key else given.learning_theme_ids,
            )
        except FieldErrors as error:
            for field, messages in error.fields.items():
                problems.setdefault(field, []).extend(messages)
    if problems:
        raise FieldErrors(problems, what="judgements")


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
    learning_theme_ids: tuple[int, ...] | None = None,
) -> CaseJudgement:
    """Record (or change) the agreed multi-agency judgement for a section, or overall (section_key ""); the
    case's overall judgement also carries the finding's learning themes (None keeps them)."""
    round_ = round_case.round
    if round_.status not in (RoundStatus.CLOSED, RoundStatus.IN_DISCUSSION):
        raise NotAllowedError("Judgements are recorded once the round is closed for returns, before it is reported")
    prefix = judgement_field_prefix(section_key)
    if section_key and section_key not in {s.key for s in round_.version.sections}:
        raise DomainError("No such section in this questionnaire", field=f"{prefix}grade")
    levels = {level.label: level for level in judgement_scale_levels(round_)}
    problems: dict[str, list[str]] = {}
    if grade and grade not in levels:
        problems[f"{prefix}grade"] = [f"Choose one of: {', '.join(levels)}"]
    texts = (("strengths", strengths), ("development", areas_for_development), ("recommendations", recommendations))
    for name, text in texts:
        if len(text or "") > MAX_TEXT:
            problems[f"{prefix}{name}"] = [f"Write {MAX_TEXT:,} characters or fewer"]
    if concern_escalated and not (escalated_to or "").strip():
        problems["escalated_to"] = ["Say to whom the concern was escalated"]
    judgement = db.session.scalar(
        sa.select(CaseJudgement).where(
            CaseJudgement.round_case_id == round_case.id, CaseJudgement.section_key == section_key
        )
    )
    themes = None
    if learning_theme_ids is not None and not section_key:
        themes, theme_problems = tags.chosen_themes(
            round_case.case.partnership_id, learning_theme_ids, judgement.themes if judgement else []
        )
        if theme_problems:
            problems[f"{prefix}{tags.FIELD}"] = theme_problems
    if problems:
        raise FieldErrors(problems, what="judgements")
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
    if themes is not None:
        tags.set_themes(judgement, themes, partnership_id=round_case.case.partnership_id)
    return judgement


# -- the audit meeting, the method and the chair's report --

#: the chair's report's own text fields, in the order the page and the PDF give them
REPORT_FIELDS = (
    ("executive_summary", "Executive summary"),
    ("strengths", "Key findings: strengths"),
    ("challenges", "Key findings: challenges"),
    ("themes", "Themes"),
    ("why_it_matters", "Why it matters (learning briefing)"),
    ("what_good_looks_like", "What good looks like (learning briefing)"),
)
#: at most this many numbered recommendations
MAX_RECOMMENDATIONS = 30
MAX_CHAIR = 200


def _require_case_audit(round_: Round) -> None:
    if round_.kind != QuestionnaireKind.CASE_AUDIT:
        raise NotAllowedError("Only a case audit has an audit meeting and a chair's report")


def get_chair_report(round_: Round) -> ChairReport | None:
    """The round's meeting record and chair's report, if anything has been written."""
    return db.session.scalar(sa.select(ChairReport).where(ChairReport.round_id == round_.id))


def report_recommendations(round_: Round) -> list[ReportRecommendation]:
    """The chair's numbered recommendations, in order."""
    return list(
        db.session.scalars(
            sa.select(ReportRecommendation)
            .where(ReportRecommendation.round_id == round_.id)
            .order_by(ReportRecommendation.number)
        )
    )


def _chair_report_for(round_: Round) -> ChairReport:
    report = get_chair_report(round_)
    if report is None:
        report = ChairReport(round_id=round_.id)
        db.session.add(report)
        db.session.flush()
    return report


def round_agency_ids(round_: Round) -> set[int]:
    """The agencies involved with any case of the round."""
    return set(
        db.session.scalars(
            sa.select(round_case_agencies.c.agency_id)
            .join(RoundCase, RoundCase.id == round_case_agencies.c.round_case_id)
            .where(RoundCase.round_id == round_.id)
        )
    )


@dataclass(frozen=True)
class MeetingIn:
    """The meeting record and the method, as given (every field replaces what was there)."""

    meeting_on: date | None = None
    chair: str = ""
    attendees: str = ""
    agency_ids: tuple[int, ...] = ()
    period_from: date | None = None
    period_to: date | None = None
    selection_method: str = ""
    selection_criteria: str = ""


def save_meeting(round_: Round, given: MeetingIn) -> ChairReport:
    """Record the audit meeting (date, chair, attendees, agencies present) and the method (audit period, how
    cases were chosen). Every problem is reported at once; nothing is saved unless all is right."""
    _require_case_audit(round_)
    problems: dict[str, list[str]] = {}
    chair = (given.chair or "").strip()
    if len(chair) > MAX_CHAIR:
        problems["chair"] = [f"The chair's name and role must be {MAX_CHAIR} characters or fewer"]
    for name, text in (("attendees", given.attendees), ("selection_criteria", given.selection_criteria)):
        if len(text or "") > MAX_TEXT:
            problems[name] = [f"Write {MAX_TEXT:,} characters or fewer"]
    method = None
    if given.selection_method:
        try:
            method = SelectionMethod(given.selection_method)
        except ValueError:
            problems["selection_method"] = [
                "Choose how the cases were selected: " + ", ".join(m.value for m in SelectionMethod)
            ]
    if given.period_from and given.period_to and given.period_to < given.period_from:
        problems["period_to"] = ["The end of the audit period must be the same as or after its start"]
    wanted = set(given.agency_ids)
    unknown = wanted - round_agency_ids(round_)
    if unknown:
        problems["agency_ids"] = ["Tick agencies involved with this round's cases only"]
    if problems:
        raise FieldErrors(problems, what="meeting fields")
    report = _chair_report_for(round_)
    report.meeting_on = given.meeting_on
    report.chair = chair
    report.attendees = (given.attendees or "").strip()
    report.period_from = given.period_from
    report.period_to = given.period_to
    report.selection_method = method
    report.selection_criteria = (given.selection_criteria or "").strip()
    report.agencies_present = list(db.session.scalars(sa.select(Agency).where(Agency.id.in_(wanted or {-1}))))
    report.updated_at = utcnow()  # the agencies present live in another table: move the stamp
    db.session.flush()
    return report


def save_chair_report(
    round_: Round, texts: dict[str, str], recommendations: list[tuple[int | None, str]]
) -> tuple[ChairReport, list[ReportRecommendation]]:
    """Write the chair's report: its text fields, and the numbered recommendations in the order given.

    ``recommendations`` is ``[(id or None, text)]``: an id keeps that recommendation (its text changed), None
    adds one, a blank text is left out, and a kept recommendation not given is removed. They are numbered 1, 2,
    3... in the order given. Problems are named ``<field>`` or ``recommendations-<position>`` (from 1)."""
    _require_case_audit(round_)
    problems: dict[str, list[str]] = {}
    known = {name for name, _ in REPORT_FIELDS}
    for name in sorted(set(texts) - known):
        problems[name] = [f"No such field; fields: {', '.join(sorted(known))}"]
    for name in known:
        if len(texts.get(name) or "") > MAX_TEXT:
            problems[name] = [f"Write {MAX_TEXT:,} characters or fewer"]
    existing = {r.id: r for r in report_recommendations(round_)}
    kept: list[tuple[int | None, str]] = []
    seen: set[int] = set()
    for position, (rec_id, text) in enumerate(recommendations, start=1):
        field = f"recommendations-{position}"
        text = (text or "").strip()
        if rec_id is not None and rec_id not in existing:
            problems[field] = ["No such recommendation in this round's report"]
            continue
        if rec_id is not None and rec_id in seen:
            problems[field] = ["This recommendation is given twice"]
            continue
        if rec_id is not None:
            seen.add(rec_id)
        if len(text) > MAX_TEXT:
            problems[field] = [f"Write {MAX_TEXT:,} characters or fewer"]
        elif text:
            kept.append((rec_id, text))
    if len(kept) > MAX_RECOMMENDATIONS:
        problems["recommendations"] = [f"Give {MAX_RECOMMENDATIONS} recommendations or fewer"]
    if problems:
        raise FieldErrors(problems, what="report fields")
    report = _chair_report_for(round_)
    for name in known:
        if name in texts:
            setattr(report, name, (texts[name] or "").strip())
    for rec_id, rec in existing.items():
        if rec_id not in {i for i, _ in kept}:
            db.session.delete(rec)
    db.session.flush()
    # Numbers are unique per round: park the kept ones clear of 1..n first, then number them.
    parked = []
    for offset, (rec_id, text) in enumerate(kept, start=1):
        rec = existing[rec_id] if rec_id is not None else ReportRecommendation(round_id=round_.id, text=text)
        rec.number = 100_000 + offset
        rec.text = text
        db.session.add(rec)
        parked.append(rec)
    db.session.flush()
    for number, rec in enumerate(parked, start=1):
        rec.number = number
    report.updated_at = utcnow()
    db.session.flush()
    return report, parked


@dataclass(frozen=True)
class PractitionerIn:
    invited: bool = False
    attended: bool = False
    view: str = ""


def practitioner_involvement(round_case: RoundCase) -> dict[int, PractitionerInvolvement]:
    """Each agency's practitioner involvement on a case, by agency id (agencies not yet recorded left out)."""
    return {
        p.agency_id: p
        for p in db.session.scalars(
            sa.select(PractitionerInvolvement).where(PractitionerInvolvement.round_case_id == round_case.id)
        )
    }


def save_practitioners(round_case: RoundCase, given: dict[int, PractitionerIn]) -> list[PractitionerInvolvement]:
    """Record, for each agency on the case, whether its practitioner was invited, attended, and their view.
    Problems are named ``agency-<id>-<part>``; nothing is saved unless all is right."""
    _require_case_audit(round_case.round)
    on_case = {a.id for a in round_case.agencies}
    problems: dict[str, list[str]] = {}
    for agency_id, entry in given.items():
        if agency_id not in on_case:
            problems[f"agency-{agency_id}"] = ["This agency is not involved with the case"]
        elif len(entry.view or "") > MAX_TEXT:
            problems[f"agency-{agency_id}-view"] = [f"Write {MAX_TEXT:,} characters or fewer"]
        elif entry.attended and not entry.invited:
            problems[f"agency-{agency_id}-invited"] = ["A practitioner who attended was invited: tick invited too"]
    if problems:
        raise FieldErrors(problems, what="practitioner fields")
    stored = practitioner_involvement(round_case)
    saved = []
    for agency_id, entry in given.items():
        row = stored.get(agency_id)
        if row is None:
            row = PractitionerInvolvement(round_case_id=round_case.id, agency_id=agency_id)
            db.session.add(row)
        row.invited = bool(entry.invited)
        row.attended = bool(entry.attended)
        row.view = (entry.view or "").strip()
        saved.append(row)
    db.session.flush()
    return saved
