"""Learning themes across every source: the only code of the themes page that reads the database.

Each function gives plain rows, one per tagged item and theme, in the columns of
``theme_aggregation.ITEM_COLUMNS`` plus ``parent_id`` and ``round_case_id`` (what an item's link needs).
reporting/theme_aggregation.py dates and counts them.

* review learning points: ``learning_point_themes``; dated by the review's aware date (else its creation);
* case-audit findings: the panel's judgement of a case (``case_judgement_themes``); dated by the round;
* case-audit returns: the options ticked in the question with the role ``learning_themes`` of returned
  returns in opened case-audit rounds; an option counts towards the theme of the same name (case does not matter);
  dated by the round's opening (else its creation);
* self-assessment findings: challenge events (``challenge_event_themes``); dated by the day held;
* recommendations: ``recommendation_themes`` (names, matched as for returns); dated by their creation.

Access: the page and the API are for the partnership-wide roles (admins, the QA group, scrutineers), who see
every item of their partnership; every query is limited to that partnership.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import sqlalchemy as sa

from ..accounts.models import Agency
from ..actions.models import Recommendation, RecommendationTheme, SourceKind
from ..case_audits.models import Case, CaseJudgement, RoundCase, case_judgement_themes
from ..extensions import db
from ..questionnaires.models import LearningTheme, Question, QuestionnaireKind, QuestionRole, QuestionType
from ..reviews.models import LearningPoint, LearningReview, ReviewType, learning_point_themes
from ..rounds.models import Answer, Return, Round, RoundStatus
from ..rounds.permissions import in_partnerships
from ..self_assessments.models import ChallengeEvent, challenge_event_themes
from .queries import RETURNED
from .theme_aggregation import ITEM_COLUMNS, ThemeSource, match_names, ticked_names

COLUMNS = [*ITEM_COLUMNS, "parent_id", "round_case_id"]
#: how much of an item's text a list shows
EXCERPT = 160


def _excerpt(text: str | None) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= EXCERPT else text[: EXCERPT - 1].rstrip() + "\u2026"


def _day(value: Any) -> str:
    return f"{value.day} {value.strftime('%B %Y')}" if value else ""


def themes(partnership_id: int) -> pd.DataFrame:
    """The partnership's learning themes, retired ones too, in list order: ``theme_id``, ``name``,
    ``is_retired``."""
    query = (
        sa.select(LearningTheme.id, LearningTheme.name, LearningTheme.is_retired)
        .where(LearningTheme.partnership_id == partnership_id)
        .order_by(LearningTheme.position, LearningTheme.name, LearningTheme.id)
    )
    rows = [tuple(r) for r in db.session.execute(query)]
    return pd.DataFrame(rows, columns=["theme_id", "name", "is_retired"])


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=COLUMNS)


def learning_points(partnership_id: int, theme_id: int | None = None) -> pd.DataFrame:
    """Review learning points, one row per theme tagged."""
    table = learning_point_themes
    query = (
        sa.select(
            LearningPoint.id,
            table.c.learning_theme_id,
            LearningReview.aware_on,
            LearningReview.created_at,
            LearningReview.review_type,
            LearningReview.pseudonym,
            LearningPoint.number,
            LearningPoint.text,
            LearningReview.id.label("review_id"),
        )
        .join(table, table.c.learning_point_id == LearningPoint.id)
        .join(LearningReview, LearningReview.id == LearningPoint.review_id)
        .where(LearningReview.partnership_id == partnership_id)
        .order_by(LearningReview.id, LearningPoint.number)
    )
    if theme_id is not None:
        query = query.where(table.c.learning_theme_id == theme_id)
    return _frame(
        [
            {
                "source": ThemeSource.LEARNING_POINT.value,
                "item_id": r.id,
                "theme_id": r.learning_theme_id,
                "on": r.aware_on,
                "created_at": r.created_at,
                "label": f"{ReviewType(r.review_type).label}: {r.pseudonym}, learning point {r.number}",
                "detail": _excerpt(r.text),
                "parent_id": r.review_id,
                "round_case_id": None,
            }
            for r in db.session.execute(query)
        ]
    )


def case_findings(partnership_id: int, theme_id: int | None = None) -> pd.DataFrame:
    """The multi-agency panel's judgements of cases, one row per theme tagged."""
    table = case_judgement_themes
    query = (
        sa.select(
            CaseJudgement.id,
            table.c.learning_theme_id,
            Round.opens_on,
            Round.created_at,
            Round.title,
            Case.reference,
            CaseJudgement.areas_for_development,
            RoundCase.round_id,
            RoundCase.id.label("round_case_id"),
        )
        .join(table, table.c.case_judgement_id == CaseJudgement.id)
        .join(RoundCase, RoundCase.id == CaseJudgement.round_case_id)
        .join(Case, Case.id == RoundCase.case_id)
        .join(Round, Round.id == RoundCase.round_id)
        .where(Case.partnership_id == partnership_id)
        .order_by(Round.id, Case.reference, CaseJudgement.id)
    )
    if theme_id is not None:
        query = query.where(table.c.learning_theme_id == theme_id)
    return _frame(
        [
            {
                "source": ThemeSource.CASE_FINDING.value,
                "item_id": r.id,
                "theme_id": r.learning_theme_id,
                "on": r.opens_on,
                "created_at": r.created_at,
                "label": f"{r.title}: panel's judgement of case {r.reference}",
                "detail": _excerpt(r.areas_for_development),
                "parent_id": r.round_id,
                "round_case_id": r.round_case_id,
            }
            for r in db.session.execute(query)
        ]
    )


def case_returns(partnership_id: int, theme_rows: pd.DataFrame, theme_id: int | None = None) -> pd.DataFrame:
    """Returned answers to the learning themes question, one row per theme an option ticked names."""
    query = (
        sa.select(
            Return.id,
            Answer.value,
            Round.opens_on,
            Round.created_at,
            Round.title,
            Agency.name,
            Case.reference,
            Return.round_id,
        )
        .select_from(Answer)
        .join(Return, Return.id == Answer.return_id)
        .join(Round, Round.id == Return.round_id)
        .join(Question, Question.id == Answer.question_id)
        .join(Agency, Agency.id == Return.agency_id)
        .outerjoin(RoundCase, RoundCase.id == Return.round_case_id)
        .outerjoin(Case, Case.id == RoundCase.case_id)
        .where(
            in_partnerships([partnership_id]),
            Return.status.in_(RETURNED),
            Round.status != RoundStatus.PLANNING,
            Round.kind == QuestionnaireKind.CASE_AUDIT,
            Question.role == QuestionRole.LEARNING_THEMES,
            Question.type == QuestionType.MULTIPLE_CHOICE,
        )
        .order_by(Round.id, Agency.name, Return.id)
    )
    rows = pd.DataFrame(
        [
            {
                "source": ThemeSource.CASE_RETURN.value,
                "item_id": r.id,
                "on": r.opens_on,
                "created_at": r.created_at,
                "label": f"{r.title}: {r.name}'s return" + (f" on case {r.reference}" if r.reference else ""),
                "detail": "",
                "parent_id": r.round_id,
                "round_case_id": None,
                "names": ticked_names(r.value),
            }
            for r in db.session.execute(query)
        ],
        columns=[c for c in COLUMNS if c != "theme_id"] + ["names"],
    )
    matched = match_names(rows, _theme_pairs(theme_rows), "names")
    return _only(matched[COLUMNS], theme_id)


def challenge_events(partnership_id: int, theme_id: int | None = None) -> pd.DataFrame:
    """Self-assessment challenge events (what was agreed), one row per theme tagged."""
    table = challenge_event_themes
    query = (
        sa.select(
            ChallengeEvent.id,
            table.c.learning_theme_id,
            ChallengeEvent.held_on,
            ChallengeEvent.created_at,
            Round.title,
            Agency.name,
            ChallengeEvent.agreed,
            ChallengeEvent.round_id,
        )
        .join(table, table.c.challenge_event_id == ChallengeEvent.id)
        .join(Round, Round.id == ChallengeEvent.round_id)
        .join(Agency, Agency.id == ChallengeEvent.agency_id)
        .where(ChallengeEvent.partnership_id == partnership_id)
        .order_by(ChallengeEvent.held_on, ChallengeEvent.id)
    )
    if theme_id is not None:
        query = query.where(table.c.learning_theme_id == theme_id)
    return _frame(
        [
            {
                "source": ThemeSource.CHALLENGE_EVENT.value,
                "item_id": r.id,
                "theme_id": r.learning_theme_id,
                "on": r.held_on,
                "created_at": r.created_at,
                "label": f"{r.title}: challenge event with {r.name} on {_day(r.held_on)}",
                "detail": _excerpt(r.agreed),
                "parent_id": r.round_id,
                "round_case_id": None,
            }
            for r in db.session.execute(query)
        ]
    )


def recommendations(partnership_id: int, theme_rows: pd.DataFrame, theme_id: int | None = None) -> pd.DataFrame:
    """Recommendations on the action plan, one row per theme a tag names."""
    query = (
        sa.select(
            Recommendation.id,
            RecommendationTheme.name.label("theme_name"),
            Recommendation.created_at,
            Recommendation.number,
            Recommendation.text,
            Recommendation.source,
            Recommendation.source_description,
            Round.title,
            LearningReview.review_type,
            LearningReview.pseudonym,
        )
        .join(RecommendationTheme, RecommendationTheme.recommendation_id == Recommendation.id)
        .outerjoin(Round, Round.id == Recommendation.round_id)
        .outerjoin(LearningReview, LearningReview.id == Recommendation.review_id)
        .where(Recommendation.partnership_id == partnership_id)
        .order_by(Recommendation.id, RecommendationTheme.name)
    )
    by_id: dict[int, dict[str, Any]] = {}
    for r in db.session.execute(query):
        row = by_id.get(r.id)
        if row is None:
            row = by_id[r.id] = {
                "source": ThemeSource.RECOMMENDATION.value,
                "item_id": r.id,
                "on": None,
                "created_at": r.created_at,
                "label": f"{_recommendation_source(r)}: recommendation {r.number}",
                "detail": _excerpt(r.text),
                "parent_id": None,
                "round_case_id": None,
                "names": [],
            }
        row["names"].append(r.theme_name)
    rows = pd.DataFrame(list(by_id.values()), columns=[c for c in COLUMNS if c != "theme_id"] + ["names"])
    matched = match_names(rows, _theme_pairs(theme_rows), "names")
    return _only(matched[COLUMNS], theme_id)


def _recommendation_source(r: Any) -> str:
    if r.source == SourceKind.ROUND and r.title:
        return r.title
    if r.source == SourceKind.REVIEW and r.pseudonym:
        return f"{ReviewType(r.review_type).label}: {r.pseudonym}"
    return r.source_description or "Recommendation"


def _theme_pairs(theme_rows: pd.DataFrame) -> list[tuple[int, str]]:
    return list(zip(theme_rows["theme_id"].tolist(), theme_rows["name"].tolist(), strict=True))


def _only(frame: pd.DataFrame, theme_id: int | None) -> pd.DataFrame:
    return frame if theme_id is None else frame[frame["theme_id"] == theme_id]


def tagged_items(partnership_id: int, theme_rows: pd.DataFrame, theme_id: int | None = None) -> pd.DataFrame:
    """Every tagged item of the partnership from every source (of one theme with ``theme_id``)."""
    parts = [
        learning_points(partnership_id, theme_id),
        case_findings(partnership_id, theme_id),
        case_returns(partnership_id, theme_rows, theme_id),
        challenge_events(partnership_id, theme_id),
        recommendations(partnership_id, theme_rows, theme_id),
    ]
    parts = [p for p in parts if len(p)]
    if not parts:
        return _frame([])
    return pd.concat(parts, ignore_index=True)[COLUMNS]
