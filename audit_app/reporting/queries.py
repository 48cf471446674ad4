"""The only reporting code that reads the database.

Every function returns plain rows (a DataFrame) for reporting/aggregation.py,
and every figure that can be counted in the database is counted there, with one
GROUP BY, so the work grows with the number of groups, not of answers.

Access is part of every query: ``agency_ids`` (None for the partnership-wide
roles) limits the rows to those agencies' returns, so a caller cannot forget it.

What the figures rely on is data, never a key or a label (docs/questionnaire-format.md):

* a section's grade is its question with the role ``grade``; the question with
  the role ``overall_grade`` is the return's overall grade, reported as the
  section ``overall``;
* questions with the roles ``strengths``, ``development`` and
  ``recommendation`` are the texts collated as strengths, areas for
  development and recommendations;
* the question with the role ``learning_themes`` (a ``multiple_choice`` question)
  holds the learning themes a return ticks, each an option of the question;
* "Good or better" counts the levels marked ``counts_as_good``;
* only returned answers count: returns that are submitted or accepted.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import groupby
from typing import Any

import pandas as pd
import sqlalchemy as sa

from ..accounts.models import Agency, PartnershipAgency, Sector
from ..case_audits.cohort import CASE_FIELD_CHOICES
from ..case_audits.models import Case, CaseJudgement, KeptCount, KeptFigure, RoundCase
from ..extensions import db
from ..questionnaires import answers
from ..questionnaires.models import Question, QuestionRole, QuestionType, ScaleLevel, Section, Theme
from ..rounds.models import Answer, Return, ReturnGroup, ReturnStatus, Round, RoundStatus
from ..rounds.permissions import in_partnership, in_partnerships

RETURNED = ReturnStatus.in_group(ReturnGroup.RETURNED)
OVERALL = "overall"
GRADE_ROLES = (QuestionRole.GRADE, QuestionRole.OVERALL_GRADE)
#: text role -> the kind findings collate it as
TEXT_KINDS = {
    QuestionRole.STRENGTHS: "strengths",
    QuestionRole.DEVELOPMENT: "development",
    QuestionRole.RECOMMENDATION: "recommendations",
}


@dataclass(frozen=True)
class Filters:
    """Narrow a round's figures to some returns; empty means all."""

    sector: str = ""
    plan_type: str = ""
    age_band: str = ""
    sex: str = ""
    #: a 2021 Census category key (case_audits.cohort.ETHNICITIES)
    ethnicity: str = ""
    disability: str = ""

    @property
    def active(self) -> bool:
        return any(self.as_args().values())

    def as_args(self) -> dict[str, str]:
        return {k: v for k in ("sector", *CASE_FILTERS) if (v := getattr(self, k))}


#: the filters that narrow by a field of the case (the Case column of the same name)
CASE_FILTERS = ("plan_type", "age_band", "sex", "ethnicity", "disability")


def _case_filtered(query: sa.Select, filters: Filters) -> sa.Select:
    """Narrow a query that joins Case by the case filters set."""
    for name in CASE_FILTERS:
        value = getattr(filters, name)
        if value:
            query = query.where(getattr(Case, name) == value)
    return query


def _frame(query: sa.Select, columns: list[str]) -> pd.DataFrame:
    rows = db.session.execute(query).all()
    return pd.DataFrame([tuple(row) for row in rows], columns=columns)


def _membership_join(query: sa.Select) -> sa.Select:
    """Join an agency's sector in the round's partnership."""
    return query.join(
        PartnershipAgency,
        sa.and_(
            PartnershipAgency.agency_id == Return.agency_id,
            PartnershipAgency.partnership_id == Round.partnership_id,
        ),
    ).join(Sector, Sector.id == PartnershipAgency.sector_id)


def _scoped(query: sa.Select, agency_ids: frozenset[int] | None, filters: Filters) -> sa.Select:
    if agency_ids is not None:
        query = query.where(Return.agency_id.in_(agency_ids or {-1}))
    if filters.sector:
        query = query.where(Sector.key == filters.sector)
    return _case_filtered(query, filters)


def _grade_key() -> sa.ColumnElement[str]:
    """The section a grade question grades (``overall`` for the overall grade)."""
    return sa.case((Question.role == QuestionRole.OVERALL_GRADE, sa.literal(OVERALL)), else_=Section.key)


def _is_grade_question() -> sa.ColumnElement[bool]:
    return Question.role.in_(GRADE_ROLES)


# -- one round --


def _answers_joined(columns: list[Any]) -> sa.Select:
    """SELECT ``columns`` over answers joined to their return, round, agency, question, section and case."""
    return (
        sa.select(*columns)
        .select_from(Answer)
        .join(Return, Return.id == Answer.return_id)
        .join(Round, Round.id == Return.round_id)
        .join(Agency, Agency.id == Return.agency_id)
        .join(Question, Question.id == Answer.question_id)
        .join(Section, Section.id == Question.section_id)
        .outerjoin(RoundCase, RoundCase.id == Return.round_case_id)
        .outerjoin(Case, Case.id == RoundCase.case_id)
    )


def _returned_answers(
    columns: list[Any], round_id: int, agency_ids: frozenset[int] | None, filters: Filters
) -> sa.Select:
    """A round's returned answers, scoped to ``agency_ids`` and narrowed by ``filters``."""
    query = _answers_joined(columns)
    if filters.sector:
        query = _membership_join(query)
    return _scoped(query, agency_ids, filters).where(Return.round_id == round_id, Return.status.in_(RETURNED))


def round_filter_choices(round_id: int, agency_ids: frozenset[int] | None) -> dict[str, list[tuple[str, str]]]:
    """The sectors and case fields (plan type, age band, sex, ethnicity, disability) present in a round, for its
    filters: (value, label) pairs in the order the choice lists give."""
    base = (
        sa.select(Sector.key, Sector.name, *[getattr(Case, name) for name in CASE_FILTERS])
        .select_from(Return)
        .join(Round, Round.id == Return.round_id)
        .outerjoin(RoundCase, RoundCase.id == Return.round_case_id)
        .outerjoin(Case, Case.id == RoundCase.case_id)
    )
    query = _scoped(_membership_join(base), agency_ids, Filters()).where(Return.round_id == round_id).distinct()
    frame = _frame(query, ["sector_key", "sector", *CASE_FILTERS])
    sectors = sorted({(k, n) for k, n in zip(frame["sector_key"], frame["sector"], strict=True)}, key=lambda s: s[1])
    choices: dict[str, list[tuple[str, str]]] = {"sector": sectors}
    for name in CASE_FILTERS:
        present = {v for v in frame[name] if isinstance(v, str) and v}
        order = CASE_FIELD_CHOICES[name]
        # values outside today's list (kept from before it) come last, as stored
        choices[name] = [(v, order[v]) for v in order if v in present] + [(v, v) for v in sorted(present - set(order))]
    return choices


def round_returns(
    round_id: int, agency_ids: frozenset[int] | None = None, filters: Filters = Filters()
) -> pd.DataFrame:
    """One row per return: ``return_id``, ``round_case_id``, ``agency_id``, ``agency``, ``sector_key``,
    ``sector``, ``case``, ``status``."""
    query = (
        sa.select(
            Return.id,
            Return.round_case_id,
            Return.agency_id,
            Agency.name,
            Sector.key,
            Sector.name,
            Case.reference,
            Return.status,
        )
        .select_from(Return)
        .join(Round, Round.id == Return.round_id)
        .join(Agency, Agency.id == Return.agency_id)
        .outerjoin(RoundCase, RoundCase.id == Return.round_case_id)
        .outerjoin(Case, Case.id == RoundCase.case_id)
    )
    query = _scoped(_membership_join(query), agency_ids, filters).where(Return.round_id == round_id).order_by(Return.id)
    frame = _frame(
        query, ["return_id", "round_case_id", "agency_id", "agency", "sector_key", "sector", "case", "status"]
    )
    frame["status"] = frame["status"].map(lambda s: getattr(s, "value", s))
    kept = _frame(
        _kept(KeptFigure.RETURNS, [round_id], agency_ids, filters, [KeptCount.key, KeptCount.n]),
        ["agency_id", "agency", "sector_key", "sector", "status", "n"],
    )
    if kept.empty:
        return frame
    # a purged round's returns, one row each again (without ids or cases: those went with the records)
    kept = kept.loc[kept.index.repeat(kept["n"].astype("int64"))].drop(columns="n").reset_index(drop=True)
    kept = kept.assign(return_id=None, round_case_id=None, case=None)[frame.columns]
    return pd.concat([frame, kept], ignore_index=True) if len(frame) else kept


# -- what a purged round keeps (case_audits.retention) --


def asked_of(agency_ids: frozenset[int]) -> sa.ColumnElement[bool]:
    """The round asked one of the agencies for a return: it has one, or had one before it was purged."""
    live = sa.select(Return.id).where(Return.round_id == Round.id, Return.agency_id.in_(agency_ids or {-1}))
    kept = sa.select(KeptCount.id).where(
        KeptCount.round_id == Round.id,
        KeptCount.figure == KeptFigure.RETURNS,
        KeptCount.agency_id.in_(agency_ids or {-1}),
    )
    return sa.or_(live.exists(), kept.exists())


def _kept(
    figure: KeptFigure,
    round_ids: list[int],
    agency_ids: frozenset[int] | None,
    filters: Filters,
    columns: list[Any],
    *,
    by_agency: bool = True,
) -> sa.Select:
    """A purged round's kept counts of ``figure``: ``agency_id``, ``agency``, ``sector_key``, ``sector`` (with
    ``by_agency``), then ``columns``. Scoped to ``agency_ids`` as the live queries are; a filter by a field of
    the case matches none (the cases went with the records), a sector filter works by the agency's sector."""
    where: list[Any] = [KeptCount.figure == figure, KeptCount.round_id.in_(round_ids or [-1])]
    if not by_agency:
        query = sa.select(*columns).select_from(KeptCount).join(Round, Round.id == KeptCount.round_id)
        if agency_ids is not None or filters.active:
            where.append(sa.false())  # counts over every agency: only the partnership-wide view, unfiltered
        return query.where(*where)
    query = (
        sa.select(
            KeptCount.agency_id.label("agency_id"),
            Agency.name.label("agency"),
            Sector.key.label("sector_key"),
            Sector.name.label("sector"),
            *columns,
        )
        .select_from(KeptCount)
        .join(Round, Round.id == KeptCount.round_id)
        .join(Agency, Agency.id == KeptCount.agency_id)
        .join(
            PartnershipAgency,
            sa.and_(
                PartnershipAgency.agency_id == KeptCount.agency_id,
                PartnershipAgency.partnership_id == Round.partnership_id,
            ),
        )
        .join(Sector, Sector.id == PartnershipAgency.sector_id)
    )
    if agency_ids is not None:
        where.append(KeptCount.agency_id.in_(agency_ids or {-1}))
    if filters.sector:
        where.append(Sector.key == filters.sector)
    if any(getattr(filters, name) for name in CASE_FILTERS):
        where.append(sa.false())
    return query.where(*where)


def kept_cases(round_id: int, agency_ids: frozenset[int] | None, filters: Filters = Filters()) -> int:
    """How many cases a purged round had (for an agency: those it returned on, one return per case)."""
    if agency_ids is None and not filters.active:
        query = _kept(KeptFigure.CASES, [round_id], None, filters, [sa.func.sum(KeptCount.n)], by_agency=False)
    else:
        returns = _kept(KeptFigure.RETURNS, [round_id], agency_ids, filters, [KeptCount.n.label("n")]).subquery()
        query = sa.select(sa.func.sum(returns.c.n))
    return int(db.session.scalar(query) or 0)


def kept_panel_counts(
    round_ids: list[int], agency_ids: frozenset[int] | None = None, filters: Filters = Filters()
) -> pd.DataFrame:
    """The panel's grades purged rounds kept, counted: ``round_id``, ``grade_key``, ``label``, ``value``, ``n``;
    for agencies, the grades on their own cases (as :func:`panel_grades` with their cases). None under a filter
    by a field of the case or by sector (the cases went with the records)."""
    columns = [KeptCount.round_id, KeptCount.key, ScaleLevel.label, ScaleLevel.value, KeptCount.n]
    query = (
        sa.select(*columns)
        .join(ScaleLevel, ScaleLevel.id == KeptCount.level_id)
        .where(KeptCount.figure == KeptFigure.PANEL, KeptCount.round_id.in_(round_ids or [-1]))
    )
    if agency_ids is None:
        query = query.where(KeptCount.agency_id.is_(None))
    else:
        query = query.where(KeptCount.agency_id.in_(agency_ids or {-1}))
    if filters.active:
        query = query.where(sa.false())
    frame = _frame(query, ["round_id", "grade_key", "label", "value", "n"])
    frame["value"] = frame["value"].astype("float64")
    return frame


def kept_agreement(round_id: int, agency_ids: frozenset[int] | None) -> pd.DataFrame:
    """A purged round's agencies' grades beside the panel's, counted: ``agency_id``, ``key`` (same, higher,
    lower), ``n``."""
    query = sa.select(KeptCount.agency_id, KeptCount.key, KeptCount.n).where(
        KeptCount.figure == KeptFigure.AGREEMENT, KeptCount.round_id == round_id
    )
    if agency_ids is not None:
        query = query.where(KeptCount.agency_id.in_(agency_ids or {-1}))
    return _frame(query, ["agency_id", "key", "n"])


def kept_learning_themes(
    round_ids: list[int], agency_ids: frozenset[int] | None, filters: Filters = Filters()
) -> pd.DataFrame:
    """The learning themes purged rounds kept: ``round_id``, ``theme`` ("" for any theme), ``ticked`` (returns),
    ``cases``; for the partnership-wide view the all-agency counts, for agencies theirs summed."""
    if agency_ids is None and not filters.sector:
        query = _kept(
            KeptFigure.THEMES,
            round_ids,
            None,
            filters,
            [KeptCount.round_id, KeptCount.key, KeptCount.n, KeptCount.cases],
            by_agency=False,
        ).where(KeptCount.agency_id.is_(None))
        return _frame(query, ["round_id", "theme", "ticked", "cases"])
    inner = _kept(
        KeptFigure.THEMES,
        round_ids,
        agency_ids,
        filters,
        [
            KeptCount.round_id.label("round_id"),
            KeptCount.key.label("theme"),
            KeptCount.n.label("n"),
            KeptCount.cases.label("cases"),
        ],
    ).subquery()
    query = sa.select(inner.c.round_id, inner.c.theme, sa.func.sum(inner.c.n), sa.func.sum(inner.c.cases)).group_by(
        inner.c.round_id, inner.c.theme
    )
    return _frame(query, ["round_id", "theme", "ticked", "cases"])


def round_agencies(round_id: int, agency_ids: frozenset[int] | None = None) -> pd.DataFrame:
    """Every agency asked for returns in a round, with its sector, by name:
    ``agency_id``, ``agency``, ``sector_key``, ``sector``."""
    query = (
        sa.select(Agency.id, Agency.name, Sector.key, Sector.name)
        .select_from(Return)
        .join(Round, Round.id == Return.round_id)
        .join(Agency, Agency.id == Return.agency_id)
    )
    query = _scoped(_membership_join(query), agency_ids, Filters()).where(Return.round_id == round_id)
    kept = _kept(KeptFigure.RETURNS, [round_id], agency_ids, Filters(), [])
    both = sa.union(query, kept).subquery()
    ordered = sa.select(*both.c).order_by(both.c[1], both.c[0])
    return _frame(ordered, ["agency_id", "agency", "sector_key", "sector"])


def round_questions(version_id: int) -> pd.DataFrame:
    """Every scale question of a version, in order: ``section_key``, ``section``, ``question_key``,
    ``question``, ``scale_id``, ``grade_key`` (the section it grades, or empty)."""
    query = (
        sa.select(
            Section.key,
            Section.title,
            Question.key,
            Question.text,
            Question.scale_id,
            sa.case((_is_grade_question(), _grade_key()), else_=sa.literal("")),
        )
        .join(Section, Section.id == Question.section_id)
        .where(Question.version_id == version_id, Question.type == QuestionType.SCALE)
        .order_by(Section.position, Question.position)
    )
    return _frame(query, ["section_key", "section", "question_key", "question", "scale_id", "grade_key"])


def round_sections(version_id: int) -> pd.DataFrame:
    """A version's sections in order: ``section_key``, ``section``."""
    query = sa.select(Section.key, Section.title).where(Section.version_id == version_id).order_by(Section.position)
    return _frame(query, ["section_key", "section"])


def scale_levels(scale_ids: list[int]) -> pd.DataFrame:
    """The levels of some scales, best first: ``scale_id``, ``level_id``, ``label``, ``value``, ``is_na``,
    ``colour``, ``is_good`` (counted as good or better)."""
    query = (
        sa.select(
            ScaleLevel.scale_id,
            ScaleLevel.id,
            ScaleLevel.label,
            ScaleLevel.value,
            ScaleLevel.is_not_applicable,
            ScaleLevel.colour,
            ScaleLevel.counts_as_good,
        )
        .where(ScaleLevel.scale_id.in_(scale_ids or [-1]))
        .order_by(ScaleLevel.scale_id, ScaleLevel.position)
    )
    frame = _frame(query, ["scale_id", "level_id", "label", "value", "is_na", "colour", "is_good"])
    frame["value"] = frame["value"].astype("float64")
    return frame


def round_answer_counts(
    round_id: int, agency_ids: frozenset[int] | None = None, filters: Filters = Filters()
) -> pd.DataFrame:
    """Returned scale answers counted in the database: ``agency_id``, ``question_key``, ``level_id``, ``n``."""
    query = (
        _returned_answers(
            [Return.agency_id, Question.key, Answer.scale_level_id, sa.func.count()], round_id, agency_ids, filters
        )
        .where(Answer.scale_level_id.is_not(None))
        .group_by(Return.agency_id, Question.key, Answer.scale_level_id)
    )
    counted = _kept(
        KeptFigure.ANSWERS,
        [round_id],
        agency_ids,
        filters,
        [KeptCount.key.label("question_key"), KeptCount.level_id.label("level_id"), KeptCount.n.label("n")],
    ).subquery()
    kept = sa.select(counted.c.agency_id, counted.c.question_key, counted.c.level_id, counted.c.n)
    return _frame(sa.union_all(query, kept), ["agency_id", "question_key", "level_id", "n"])


def round_agency_grades(
    round_id: int, agency_ids: frozenset[int] | None = None, filters: Filters = Filters()
) -> pd.DataFrame:
    """Each returned agency grade on a case: ``round_case_id``, ``case``, ``agency_id``, ``agency``, ``grade_key``,
    ``label``, ``value``, ``is_na``."""
    columns = [
        RoundCase.id,
        Case.reference,
        Return.agency_id,
        Agency.name,
        _grade_key(),
        ScaleLevel.label,
        ScaleLevel.value,
        ScaleLevel.is_not_applicable,
    ]
    query = (
        _returned_answers(columns, round_id, agency_ids, filters)
        .join(ScaleLevel, ScaleLevel.id == Answer.scale_level_id)
        .where(_is_grade_question(), RoundCase.id.is_not(None))
        .order_by(Case.reference, Agency.name, Section.position)
    )
    frame = _frame(query, ["round_case_id", "case", "agency_id", "agency", "grade_key", "label", "value", "is_na"])
    frame["value"] = frame["value"].astype("float64")
    return frame


def panel_grades(round_ids: list[int], filters: Filters = Filters(), round_case_ids: Any = None) -> pd.DataFrame:
    """The agreed multi-agency grades: ``round_id``, ``round_case_id``, ``previous_round_case_id``, ``case``,
    ``grade_key`` (``overall`` for the case), ``label``, ``value``. Judgements without a grade are left out."""
    grade_key = sa.case((CaseJudgement.section_key == "", sa.literal(OVERALL)), else_=CaseJudgement.section_key)
    query = (
        sa.select(
            RoundCase.round_id,
            RoundCase.id,
            RoundCase.previous_round_case_id,
            Case.reference,
            grade_key,
            ScaleLevel.label,
            ScaleLevel.value,
        )
        .select_from(CaseJudgement)
        .join(RoundCase, RoundCase.id == CaseJudgement.round_case_id)
        .join(Case, Case.id == RoundCase.case_id)
        .join(ScaleLevel, ScaleLevel.id == CaseJudgement.grade_level_id)
        # the overall section's own slot duplicates the case's overall grade
        .where(RoundCase.round_id.in_(round_ids or [-1]), CaseJudgement.section_key != OVERALL)
        .order_by(Case.reference, CaseJudgement.id)
    )
    query = _case_filtered(query, filters)
    if round_case_ids is not None:
        query = query.where(RoundCase.id.in_(round_case_ids))
    frame = _frame(
        query, ["round_id", "round_case_id", "previous_round_case_id", "case", "grade_key", "label", "value"]
    )
    frame["value"] = frame["value"].astype("float64")
    return frame


def round_cases(round_id: int) -> pd.DataFrame:
    """Every case of a round: ``round_case_id``, ``previous_round_case_id``, ``case``, ``plan_type``, ``age_band``."""
    query = (
        sa.select(RoundCase.id, RoundCase.previous_round_case_id, Case.reference, Case.plan_type, Case.age_band)
        .join(Case, Case.id == RoundCase.case_id)
        .where(RoundCase.round_id == round_id)
        .order_by(Case.reference)
    )
    return _frame(query, ["round_case_id", "previous_round_case_id", "case", "plan_type", "age_band"])


def round_texts(round_id: int, agency_ids: frozenset[int] | None = None, filters: Filters = Filters()) -> pd.DataFrame:
    """Strengths, areas for development and recommendations written in returned returns:
    ``section_key``, ``section``, ``position``, ``kind``, ``agency_id``, ``agency``, ``round_case_id``, ``case``,
    ``text``."""
    kind = sa.case(
        *[(Question.role == role, sa.literal(name)) for role, name in TEXT_KINDS.items()], else_=sa.literal("")
    )
    columns = [
        Section.key,
        Section.title,
        Section.position,
        kind,
        Return.agency_id,
        Agency.name,
        RoundCase.id,
        Case.reference,
        Answer.value,
    ]
    query = (
        _returned_answers(columns, round_id, agency_ids, filters)
        .where(Question.role.in_(list(TEXT_KINDS)), Answer.value != "")
        .order_by(Section.position, Case.reference, Agency.name)
    )
    return _frame(
        query,
        ["section_key", "section", "position", "kind", "agency_id", "agency", "round_case_id", "case", "text"],
    )


def round_learning_themes(
    round_id: int, agency_ids: frozenset[int] | None = None, filters: Filters = Filters()
) -> pd.DataFrame:
    """Returned answers to the round's learning themes question: ``round_id``, ``return_id``, ``agency_id``,
    ``round_case_id``, ``value`` (the ticked options as stored, a JSON list)."""
    columns = [Return.round_id, Return.id, Return.agency_id, Return.round_case_id, Answer.value]
    query = _returned_answers(columns, round_id, agency_ids, filters).where(*_learning_themes_question())
    return _frame(query, ["round_id", "return_id", "agency_id", "round_case_id", "value"])


def _learning_themes_question() -> list[sa.ColumnElement[bool]]:
    """The question whose ticked options are learning themes (a text one has nothing to count)."""
    return [Question.role == QuestionRole.LEARNING_THEMES, Question.type == QuestionType.MULTIPLE_CHOICE]


def _years(years: tuple[int, int] | None) -> list[Any]:
    if years is None:
        return []
    return [sa.extract("year", sa.func.coalesce(Round.opens_on, Round.created_at)).between(*years)]


def learning_theme_rounds(
    partnership_ids: list[int],
    agency_ids: frozenset[int] | None = None,
    years: tuple[int, int] | None = None,
    round_ids: list[int] | None = None,
) -> pd.DataFrame:
    """Opened rounds whose questionnaire asks for learning themes (for an agency, those it was asked to
    return to), oldest first: ``round_id``, ``title``, ``opens_on``, ``created_at``, ``options`` (the themes
    offered, in the questionnaire's order)."""
    query = (
        sa.select(Round.id, Round.title, Round.opens_on, Round.created_at, Question.options)
        .join(Question, Question.version_id == Round.questionnaire_version_id)
        .where(
            in_partnerships(partnership_ids),
            Round.status != RoundStatus.PLANNING,
            *_learning_themes_question(),
            *_years(years),
        )
        .order_by(sa.func.coalesce(Round.opens_on, sa.func.date(Round.created_at)), Round.id)
    )
    if round_ids is not None:
        query = query.where(Round.id.in_(round_ids or [-1]))
    if agency_ids is not None:
        query = query.where(asked_of(agency_ids))
    return _frame(query, ["round_id", "title", "opens_on", "created_at", "options"])


def learning_theme_answers(
    partnership_ids: list[int], agency_ids: frozenset[int] | None = None, years: tuple[int, int] | None = None
) -> pd.DataFrame:
    """Returned answers to the learning themes question in every opened round, as
    :func:`round_learning_themes` gives them for one."""
    query = (
        sa.select(Return.round_id, Return.id, Return.agency_id, Return.round_case_id, Answer.value)
        .select_from(Answer)
        .join(Return, Return.id == Answer.return_id)
        .join(Round, Round.id == Return.round_id)
        .join(Question, Question.id == Answer.question_id)
        .where(
            in_partnerships(partnership_ids),
            Return.status.in_(RETURNED),
            Round.status != RoundStatus.PLANNING,
            *_learning_themes_question(),
            *_years(years),
        )
    )
    if agency_ids is not None:
        query = query.where(Return.agency_id.in_(agency_ids or {-1}))
    return _frame(query, ["round_id", "return_id", "agency_id", "round_case_id", "value"])


def agency_round_cases(round_ids: list[int], agency_ids: frozenset[int]) -> list[int]:
    """The cases of some rounds on which the agencies were asked for a return."""
    query = (
        sa.select(Return.round_case_id)
        .where(
            Return.round_id.in_(round_ids or [-1]),
            Return.agency_id.in_(agency_ids or {-1}),
            Return.round_case_id.is_not(None),
        )
        .distinct()
    )
    return sorted(db.session.scalars(query))


def panel_texts(round_id: int, filters: Filters = Filters()) -> pd.DataFrame:
    """Strengths, areas for development and recommendations agreed by the panel:
    ``section_key`` (``overall`` for the case), ``kind``, ``round_case_id``, ``case``, ``text``."""
    query = (
        sa.select(
            CaseJudgement.section_key,
            RoundCase.id,
            Case.reference,
            CaseJudgement.strengths,
            CaseJudgement.areas_for_development,
            CaseJudgement.recommendations,
        )
        .join(RoundCase, RoundCase.id == CaseJudgement.round_case_id)
        .join(Case, Case.id == RoundCase.case_id)
        .where(RoundCase.round_id == round_id)
        .order_by(Case.reference, CaseJudgement.id)
    )
    query = _case_filtered(query, filters)
    rows = []
    for section_key, round_case_id, case, *texts in db.session.execute(query):
        for kind, text in zip(("strengths", "development", "recommendations"), texts, strict=True):
            if text:
                rows.append((section_key or OVERALL, kind, round_case_id, case, text))
    return pd.DataFrame(rows, columns=["section_key", "kind", "round_case_id", "case", "text"])


def panel_case_judgements(round_id: int) -> pd.DataFrame:
    """Each case's overall panel judgement: ``case``, ``grade``, ``strengths``, ``development``,
    ``recommendations``, ``escalated``, ``escalated_to``, ``escalated_on`` (each missing where the panel has not
    recorded it)."""
    query = (
        sa.select(
            Case.reference,
            ScaleLevel.label,
            CaseJudgement.strengths,
            CaseJudgement.areas_for_development,
            CaseJudgement.recommendations,
            CaseJudgement.concern_escalated,
            CaseJudgement.escalated_to,
            CaseJudgement.escalated_on,
        )
        .select_from(RoundCase)
        .join(Case, Case.id == RoundCase.case_id)
        .outerjoin(CaseJudgement, sa.and_(CaseJudgement.round_case_id == RoundCase.id, CaseJudgement.section_key == ""))
        .outerjoin(ScaleLevel, ScaleLevel.id == CaseJudgement.grade_level_id)
        .where(RoundCase.round_id == round_id)
        .order_by(Case.reference)
    )
    columns = ["case", "grade", "strengths", "development", "recommendations", "escalated", "escalated_to"]
    return _frame(query, [*columns, "escalated_on"])


# -- across rounds --


def _overall_grade_counts(by: list[Any], where: list[Any], agency_ids: frozenset[int] | None) -> sa.Select:
    """Returned overall grades counted by ``by`` and level (one GROUP BY)."""
    query = (
        sa.select(*by, Answer.scale_level_id, sa.func.count())
        .select_from(Answer)
        .join(Return, Return.id == Answer.return_id)
        .join(Round, Round.id == Return.round_id)
        .join(Question, Question.id == Answer.question_id)
        .where(
            Question.role == QuestionRole.OVERALL_GRADE,
            Return.status.in_(RETURNED),
            Answer.scale_level_id.is_not(None),
            *where,
        )
        .group_by(*by, Answer.scale_level_id)
    )
    if agency_ids is not None:
        query = query.where(Return.agency_id.in_(agency_ids or {-1}))
    return query


def _kept_overall_grade_counts(by: list[Any], where: list[Any], agency_ids: frozenset[int] | None) -> sa.Select:
    """Purged rounds' kept overall grades counted by ``by`` and level, as :func:`_overall_grade_counts`."""
    query = (
        sa.select(*by, KeptCount.level_id, sa.func.sum(KeptCount.n))
        .select_from(KeptCount)
        .join(Round, Round.id == KeptCount.round_id)
        .join(
            Question,
            sa.and_(Question.version_id == Round.questionnaire_version_id, Question.key == KeptCount.key),
        )
        .where(
            KeptCount.figure == KeptFigure.ANSWERS,
            Question.role == QuestionRole.OVERALL_GRADE,
            KeptCount.level_id.is_not(None),
            *where,
        )
        .group_by(*by, KeptCount.level_id)
    )
    if agency_ids is not None:
        query = query.where(KeptCount.agency_id.in_(agency_ids or {-1}))
    return query


def theme_rounds(partnership_id: int, theme_id: int, agency_ids: frozenset[int] | None = None) -> pd.DataFrame:
    """A theme's opened rounds (for an agency, those it was asked to return to), oldest first:
    ``round_id``, ``title``, ``opens_on``, ``created_at``, ``status``, ``shares_answers`` (the round shares
    answers, and so the panel's grades, with agencies in its discussion)."""
    query = (
        sa.select(
            Round.id, Round.title, Round.opens_on, Round.created_at, Round.status, Round.shares_answers_in_discussion
        )
        .where(
            in_partnership(partnership_id),
            Round.theme_id == theme_id,
            Round.status != RoundStatus.PLANNING,
        )
        .order_by(sa.func.coalesce(Round.opens_on, sa.func.date(Round.created_at)), Round.id)
    )
    if agency_ids is not None:
        query = query.where(asked_of(agency_ids))
    frame = _frame(query, ["round_id", "title", "opens_on", "created_at", "status", "shares_answers"])
    frame["status"] = frame["status"].map(lambda s: getattr(s, "value", s))
    return frame


def theme_grade_counts(partnership_id: int, theme_id: int, agency_ids: frozenset[int] | None = None) -> pd.DataFrame:
    """A theme's returned overall grades counted by round and agency:
    ``round_id``, ``agency_id``, ``agency``, ``level_id``, ``n``."""
    where = [in_partnership(partnership_id), Round.theme_id == theme_id]
    query = _overall_grade_counts([Return.round_id, Return.agency_id, Agency.name], where, agency_ids).join(
        Agency, Agency.id == Return.agency_id
    )
    kept = _kept_overall_grade_counts([KeptCount.round_id, KeptCount.agency_id, Agency.name], where, agency_ids).join(
        Agency, Agency.id == KeptCount.agency_id
    )
    return _frame(sa.union_all(query, kept), ["round_id", "agency_id", "agency", "level_id", "n"])


def agency_theme_counts(
    partnership_ids: list[int], agency_ids: frozenset[int] | None = None, years: tuple[int, int] | None = None
) -> pd.DataFrame:
    """Returned overall grades counted by agency and theme across partnerships:
    ``agency_id``, ``agency``, ``theme_id``, ``theme``, ``level_id``, ``n``."""
    where: list[Any] = [in_partnerships(partnership_ids)]
    if years is not None:
        year = sa.extract("year", sa.func.coalesce(Round.opens_on, Round.created_at))
        where.append(year.between(*years))
    query = (
        _overall_grade_counts([Return.agency_id, Agency.name, Round.theme_id, Theme.name], where, agency_ids)
        .join(Agency, Agency.id == Return.agency_id)
        .join(Theme, Theme.id == Round.theme_id)
    )
    kept = (
        _kept_overall_grade_counts([KeptCount.agency_id, Agency.name, Round.theme_id, Theme.name], where, agency_ids)
        .join(Agency, Agency.id == KeptCount.agency_id)
        .join(Theme, Theme.id == Round.theme_id)
    )
    frame = _frame(sa.union_all(query, kept), ["agency_id", "agency", "theme_id", "theme", "level_id", "n"])
    # a theme's live and kept counts of one level are added up (a purged round and a live one of the same theme)
    return frame.groupby(["agency_id", "agency", "theme_id", "theme", "level_id"], as_index=False)["n"].sum()


def overall_grade_scale_ids(partnership_ids: list[int]) -> list[int]:
    query = (
        sa.select(Question.scale_id)
        .join(Round, Round.questionnaire_version_id == Question.version_id)
        .where(in_partnerships(partnership_ids), Question.role == QuestionRole.OVERALL_GRADE)
        .distinct()
    )
    return [scale_id for scale_id in db.session.scalars(query) if scale_id is not None]


# -- every answer, for the answers export --

ANSWER_COLUMNS = [
    "Round",
    "Case reference",
    "Agency",
    "Sector",
    "Section",
    "Question key",
    "Question",
    "Value",
    "Label",
    "Text",
]


def answer_objects(
    partnership_id: int,
    *,
    round_id: int | None = None,
    theme_id: int | None = None,
    agency_ids: frozenset[int] | None = None,
) -> tuple[sa.Select, sa.Select]:
    """Queries of the returns and of the cases whose answers :func:`answer_rows` gives, by the same joins and
    conditions (for the access log, which inserts what they select): ``(return ids, case ids)``."""

    def of(column: Any) -> sa.Select:
        query = _membership_join(_answers_joined([column])).where(
            in_partnership(partnership_id), Return.status.in_(RETURNED), column.is_not(None)
        )
        if round_id is not None:
            query = query.where(Return.round_id == round_id)
        if theme_id is not None:
            query = query.where(Round.theme_id == theme_id)
        if agency_ids is not None:
            query = query.where(Return.agency_id.in_(agency_ids or {-1}))
        return query.distinct()

    return of(Return.id), of(Case.id)


def answer_rows(
    partnership_id: int,
    *,
    round_id: int | None = None,
    theme_id: int | None = None,
    agency_ids: frozenset[int] | None = None,
    batch: int = 5000,
) -> Iterator[tuple[Any, ...]]:
    """Every returned answer of a round (or of every round of a theme), one tuple per answer in
    ``ANSWER_COLUMNS`` order, streamed in batches so memory stays flat however many there are."""
    columns = [
        Round.title,
        Case.reference,
        Agency.name,
        Sector.name,
        Section.title,
        Question.key,
        Question.text,
        Question.type,
        Answer.value,
        ScaleLevel.value,
        ScaleLevel.label,
        Return.id,
        Question.condition_question_key,
        Question.condition_values,
    ]
    query = (
        _answers_joined(columns)
        .outerjoin(ScaleLevel, ScaleLevel.id == Answer.scale_level_id)
        .where(in_partnership(partnership_id), Return.status.in_(RETURNED))
        .order_by(Round.id, Case.reference, Agency.name, Return.id, Section.position, Question.position)
        .execution_options(yield_per=batch)
    )
    query = _membership_join(query)
    if round_id is not None:
        query = query.where(Return.round_id == round_id)
    if theme_id is not None:
        query = query.where(Round.theme_id == theme_id)
    if agency_ids is not None:
        query = query.where(Return.agency_id.in_(agency_ids or {-1}))
    # A return's rows are together, so its answers to questions hidden by their show-if condition
    # can be left out as every page leaves them out (answers.condition_holds).
    for _, rows in groupby(db.session.execute(query), key=lambda row: row[11]):
        rows = list(rows)
        stored = {row[5]: row[8] for row in rows}
        for row in rows:
            title, case, agency, sector, section, key, question, qtype, raw, level_value, level_label = row[:11]
            if not answers.condition_holds(row[12], row[13], stored):
                continue
            value, label, text = answers.answer_type(qtype).export_columns(raw, level_value, level_label)
            yield (title, case or "", agency, sector, section, key, question, value, label, text)
