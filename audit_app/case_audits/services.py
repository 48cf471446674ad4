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
from ..core.errors import ConflictError, DomainError, FieldErrors, NotAllowedError
from ..extensions import db
from ..questionnaires import roles
from ..questionnaires.answers import MAX_TEXT
from ..questionnaires.models import Scale
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
from .models import Case, CaseJudgement, RoundCase

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
) -> CaseJudgement:
    """Record (or change) the agreed multi-agency judgement for a section, or overall (section_key "")."""
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
    if problems:
        raise FieldErrors(problems, what="judgements")
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
