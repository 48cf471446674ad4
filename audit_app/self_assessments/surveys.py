"""Practitioner surveys: switched on for a self-assessment round, answered anonymously by front-line staff through
a link per agency, and counted per agency beside that agency's self-assessment.

Nothing about a respondent is kept: a response is the agency whose link was used, the day, and the levels or
options chosen. Small counts are suppressed as in findings (fewer than 5 responses: no distribution at all).
Services flush and raise ``DomainError``; the view commits.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from typing import Any

import sqlalchemy as sa
from flask import current_app

from ..accounts.models import Agency
from ..core import clock
from ..core.errors import DomainError, FieldErrors, NotAllowedError
from ..core.models import utcnow
from ..extensions import db
from ..questionnaires import answers
from ..questionnaires.models import (
    Question,
    Questionnaire,
    QuestionnaireKind,
    QuestionnaireVersion,
    QuestionRole,
    QuestionType,
    ScaleLevel,
    Section,
    VersionStatus,
)
from ..reporting.aggregation import suppress_small
from ..rounds.models import Answer, Return, Round, RoundStatus
from .models import PractitionerSurvey, SurveyAnswer, SurveyLink, SurveyResponse

#: fewer responses than this: the count is "fewer than 5" and no distribution is shown (as in findings)
SMALL_COUNT = 5
#: practitioners and leaders "disagree" on a standard when their shares of best-level answers differ this much
GAP = Fraction(1, 4)
#: the question types a survey may ask: chosen from a list, never free text (which could identify the person)
SURVEY_TYPES = frozenset({QuestionType.SCALE, QuestionType.SINGLE_CHOICE})
#: how a token starts, so a survey link is told apart from other secrets
TOKEN_PREFIX = "sv_"  # noqa: S105 (a public marker, not a secret)


class SurveyFull(NotAllowedError):
    """The link has taken as many answers as it may today."""


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# -- set-up --


def survey_of(round_: Round) -> PractitionerSurvey | None:
    """The round's survey, if it has one."""
    return db.session.scalar(sa.select(PractitionerSurvey).where(PractitionerSurvey.round_id == round_.id))


def survey_versions(partnership_id: int) -> list[QuestionnaireVersion]:
    """The published practitioner-survey versions a round of the partnership may use."""
    return list(
        db.session.scalars(
            sa.select(QuestionnaireVersion)
            .join(QuestionnaireVersion.questionnaire)
            .where(
                Questionnaire.partnership_id == partnership_id,
                Questionnaire.kind == QuestionnaireKind.PRACTITIONER_SURVEY,
                QuestionnaireVersion.status == VersionStatus.PUBLISHED,
            )
            .order_by(Questionnaire.title, QuestionnaireVersion.number)
        )
    )


def has_responses(survey: PractitionerSurvey) -> bool:
    return (
        db.session.scalar(sa.select(SurveyResponse.id).where(SurveyResponse.survey_id == survey.id).limit(1))
        is not None
    )


def set_up_survey(round_: Round, *, version: QuestionnaireVersion | None, closes_on: date | None) -> PractitionerSurvey:
    """Switch on (or change) a self-assessment round's practitioner survey: its questions and closing date
    (the round's due date if none is given). Every problem is named at once."""
    survey = survey_of(round_)
    problems: dict[str, list[str]] = {}
    if round_.kind != QuestionnaireKind.SELF_ASSESSMENT:
        raise NotAllowedError("Only a self-assessment round can have a practitioner survey")
    if round_.status == RoundStatus.REPORTED:
        raise NotAllowedError("This round is reported: its practitioner survey can no longer change")
    if version is None or version.questionnaire.partnership_id != round_.partnership_id:
        problems["version_id"] = ["Choose a practitioner survey of this partnership"]
    elif version.questionnaire.kind != QuestionnaireKind.PRACTITIONER_SURVEY:
        problems["version_id"] = ["Choose a practitioner survey questionnaire"]
    elif version.status != VersionStatus.PUBLISHED:
        problems["version_id"] = ["Choose a published version: drafts and retired versions cannot be used"]
    else:
        asked = version.questions
        if not asked:
            problems["version_id"] = ["This survey has no questions"]
        elif any(q.type not in SURVEY_TYPES for q in asked):
            problems["version_id"] = [
                "A practitioner survey may only ask for ratings and single choices: free text could identify the "
                "person answering"
            ]
        elif survey is not None and survey.questionnaire_version_id != version.id and has_responses(survey):
            problems["version_id"] = ["Practitioners have already answered this survey: its questions cannot change"]
    closes_on = closes_on or round_.due_on
    if closes_on is None:
        problems["closes_on"] = ["Enter the closing date (the round has no due date to take it from)"]
    elif closes_on < clock.today() and (survey is None or closes_on != survey.closes_on):
        problems["closes_on"] = ["The closing date must be today or later"]
    if problems:
        raise FieldErrors(problems)
    assert version is not None and closes_on is not None
    if survey is None:
        survey = PractitionerSurvey(round_id=round_.id, questionnaire_version_id=version.id, closes_on=closes_on)
        db.session.add(survey)
    else:
        survey.questionnaire_version_id = version.id
        survey.closes_on = closes_on
    db.session.flush()
    return survey


def is_open(survey: PractitionerSurvey) -> bool:
    """Answers are taken until the end of the closing day."""
    return clock.today() <= survey.closes_on


# -- links --


def live_link(survey: PractitionerSurvey, agency_id: int) -> SurveyLink | None:
    return db.session.scalar(
        sa.select(SurveyLink).where(
            SurveyLink.survey_id == survey.id, SurveyLink.agency_id == agency_id, SurveyLink.revoked_at.is_(None)
        )
    )


def _owes_return(round_id: int, agency_id: int) -> bool:
    return (
        db.session.scalar(
            sa.select(Return.id).where(
                Return.round_id == round_id, Return.agency_id == agency_id, Return.round_case_id.is_(None)
            )
        )
        is not None
    )


def make_link(survey: PractitionerSurvey, agency_id: int) -> tuple[SurveyLink, str]:
    """A new link for the agency's staff; any link it had stops working. The token is returned once, never
    stored (only its hash)."""
    if not _owes_return(survey.round_id, agency_id):
        raise DomainError("This agency has no return in the round", field="agency_id")
    if not is_open(survey):
        raise NotAllowedError("The survey has closed: change its closing date before making a link")
    previous = live_link(survey, agency_id)
    if previous is not None:
        previous.revoked_at = utcnow()
        db.session.flush()  # the live-link index must see it revoked before the new one is added
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    link = SurveyLink(survey_id=survey.id, agency_id=agency_id, token_hash=_token_hash(token))
    db.session.add(link)
    db.session.flush()
    return link, token


def revoke_link(survey: PractitionerSurvey, agency_id: int) -> SurveyLink:
    """Stop the agency's link working: it says the survey has closed."""
    link = live_link(survey, agency_id)
    if link is None:
        raise NotAllowedError("This agency has no link to revoke")
    link.revoked_at = utcnow()
    db.session.flush()
    return link


def link_for_token(token: str) -> SurveyLink | None:
    """The link a token was made for (live or not), or None."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 100:
        return None
    return db.session.scalar(sa.select(SurveyLink).where(SurveyLink.token_hash == _token_hash(token)))


def link_is_open(link: SurveyLink) -> bool:
    return link.revoked_at is None and is_open(link.survey)


# -- answering --


def survey_questions(survey: PractitionerSurvey) -> list[Question]:
    return survey.version.questions


def daily_limit() -> int:
    return int(current_app.config["SURVEY_DAILY_LIMIT"])


def record_response(link: SurveyLink, raw: Mapping[str, Any]) -> SurveyResponse:
    """Keep one practitioner's answers (question key -> label), anonymously: every problem named at once,
    nothing kept unless all are right."""
    if not link_is_open(link):
        raise NotAllowedError("This survey has closed")
    survey = link.survey
    today = clock.today()
    taken = db.session.scalar(
        sa.select(sa.func.count(SurveyResponse.id)).where(
            SurveyResponse.survey_id == survey.id,
            SurveyResponse.agency_id == link.agency_id,
            SurveyResponse.responded_on == today,
        )
    )
    if taken >= daily_limit():
        raise SurveyFull("This survey has taken as many answers as it can today: try again tomorrow")
    questions = {q.key: q for q in survey_questions(survey)}
    given = {key: value for key, value in raw.items() if key in questions}
    problems: dict[str, list[str]] = {
        key: [f"'{key}' is not a question of this survey"] for key in raw if key not in questions
    }
    cleaned: dict[str, tuple[str, int | None]] = {}
    for key, value in given.items():  # each on its own, so a good answer still counts when another is wrong
        try:
            cleaned[key] = answers.answer_type(questions[key]).clean(questions[key], value)
        except answers.AnswerProblem as problem:
            problems[key] = [problem.message]
    stored = {key: value for key, (value, _) in cleaned.items()}
    for question in answers.required_missing(questions.values(), stored):
        if question.key not in problems:
            problems[question.key] = [_missing_message(question)]
    if problems:
        ordered = [key for key in questions if key in problems] + [key for key in problems if key not in questions]
        raise FieldErrors({key: problems[key] for key in ordered}, what="answers")
    response = SurveyResponse(survey_id=survey.id, agency_id=link.agency_id, responded_on=today)
    for key, (value, level_id) in cleaned.items():
        if value:
            response.answers.append(SurveyAnswer(question_id=questions[key].id, scale_level_id=level_id, value=value))
    db.session.add(response)
    db.session.flush()
    return response


def _missing_message(question: Question) -> str:
    return f"Select an answer to “{question.text.rstrip('.?')}”"


# -- counts and distributions --


def count_text(responses: int) -> str:
    """A count of responses as people read it: none, "fewer than 5", or the number."""
    if responses == 0:
        return "none yet"
    return str(suppress_small(responses, SMALL_COUNT))


def is_suppressed(responses: int) -> bool:
    """Fewer than 5 responses (none included): no distribution, no comparison."""
    return responses < SMALL_COUNT


@dataclass(frozen=True)
class Choice:
    """One answer a question offers, how many chose it, and the share of those who answered."""

    label: str
    count: int
    answered: int

    @property
    def percent(self) -> int:
        return round(100 * self.count / self.answered) if self.answered else 0


@dataclass(frozen=True)
class QuestionResult:
    key: str
    text: str
    section_key: str
    section_title: str
    answered: int
    choices: list[Choice]


@dataclass(frozen=True)
class Comparison:
    """Practitioners' answers and the agency's self-rating on one standard (section key)."""

    section_key: str
    title: str
    #: the agency's criteria rated at a level that counts as good, of those rated (not-applicable left out)
    leaders_good: int
    leaders_rated: int
    #: practitioners' answers at a level that counts as good, of those graded ("Don't know" left out)
    practitioners_good: int
    practitioners_graded: int
    leaders_label: str
    practitioners_label: str

    @property
    def verdict(self) -> str:
        """``leaders_higher``, ``practitioners_higher``, ``agree``, or ``not_compared`` (either side has nothing)."""
        return compare(self.leaders_good, self.leaders_rated, self.practitioners_good, self.practitioners_graded)

    @property
    def disagrees(self) -> bool:
        return self.verdict in ("leaders_higher", "practitioners_higher")

    @property
    def sentence(self) -> str:
        return comparison_sentence(self)


def compare(leaders_good: int, leaders_rated: int, practitioners_good: int, practitioners_graded: int) -> str:
    """Whether practitioners and leaders disagree on a standard: their shares of best-level answers differ by
    ``GAP`` (25 percentage points) or more."""
    if not leaders_rated or not practitioners_graded:
        return "not_compared"
    # exact fractions: 60% against 35% is 25 points, never 24.999...
    gap = Fraction(leaders_good, leaders_rated) - Fraction(practitioners_good, practitioners_graded)
    if gap >= GAP:
        return "leaders_higher"
    if -gap >= GAP:
        return "practitioners_higher"
    return "agree"


def comparison_sentence(c: Comparison) -> str:
    """The comparison in plain words, with the counts behind it."""
    verdict = c.verdict
    if verdict == "not_compared":
        if not c.leaders_rated:
            return "Not compared: the self-assessment has no ratings on this standard yet."
        return "Not compared: no practitioner gave a rating on this standard."
    leaders = f"the agency rated {c.leaders_good} of {c.leaders_rated} criteria {c.leaders_label}"
    practitioners = (
        f"{c.practitioners_good} of {c.practitioners_graded} practitioners' answers were “{c.practitioners_label}”"
    )
    if verdict == "leaders_higher":
        return f"Practitioners and leaders disagree: practitioners are less positive. {leaders[0].upper()}{leaders[1:]}; only {practitioners}."
    if verdict == "practitioners_higher":
        return f"Practitioners and leaders disagree: practitioners are more positive. {leaders[0].upper()}{leaders[1:]}; {practitioners}."
    return f"Practitioners and leaders broadly agree: {leaders}; {practitioners}."


@dataclass
class AgencyResults:
    agency_id: int
    agency_name: str
    responses: int
    questions: list[QuestionResult] = field(default_factory=list)
    comparisons: list[Comparison] = field(default_factory=list)

    @property
    def suppressed(self) -> bool:
        return is_suppressed(self.responses)

    @property
    def count_text(self) -> str:
        return count_text(self.responses)

    @property
    def disagreements(self) -> list[Comparison]:
        return [c for c in self.comparisons if c.disagrees]


def response_counts(survey: PractitionerSurvey, agency_ids: Iterable[int]) -> dict[int, int]:
    """Responses per agency (0 for an agency with none)."""
    ids = list(agency_ids)
    rows = db.session.execute(
        sa.select(SurveyResponse.agency_id, sa.func.count(SurveyResponse.id))
        .where(SurveyResponse.survey_id == survey.id, SurveyResponse.agency_id.in_(ids or [-1]))
        .group_by(SurveyResponse.agency_id)
    ).all()
    counts = dict.fromkeys(ids, 0)
    counts.update(dict(rows))  # (agency id, count) rows
    return counts


def _options(question: Question) -> list[str]:
    return answers.answer_type(question).choices(question) or []


def agency_results(survey: PractitionerSurvey, agency: Agency) -> AgencyResults:
    """The agency's count and, from 5 responses, each question's distribution and each standard's comparison
    with the agency's own ratings in the round. Below 5, only the count ("fewer than 5")."""
    responses = response_counts(survey, [agency.id])[agency.id]
    results = AgencyResults(agency.id, agency.name, responses)
    if is_suppressed(responses):
        return results
    rows = db.session.execute(
        sa.select(SurveyAnswer.question_id, SurveyAnswer.value, sa.func.count(SurveyAnswer.id))
        .join(SurveyResponse, SurveyResponse.id == SurveyAnswer.response_id)
        .where(SurveyResponse.survey_id == survey.id, SurveyResponse.agency_id == agency.id)
        .group_by(SurveyAnswer.question_id, SurveyAnswer.value)
    ).all()
    counted: dict[int, dict[str, int]] = {}
    for question_id, value, number in rows:
        counted.setdefault(question_id, {})[value] = number
    for section in survey.version.sections:
        for question in section.questions:
            by_label = counted.get(question.id, {})
            answered = sum(by_label.values())
            # every option the question offers, in its order, chosen by nobody or not
            choices = [Choice(label, by_label.get(label, 0), answered) for label in _options(question)]
            results.questions.append(
                QuestionResult(question.key, question.text, section.key, section.title, answered, choices)
            )
    results.comparisons = _comparisons(survey, agency.id)
    return results


def _good_label(levels: Iterable[ScaleLevel]) -> str:
    labels = sorted({level.label for level in levels if level.counts_as_good})
    return " or ".join(labels) if labels else "at the best level"


def _comparisons(survey: PractitionerSurvey, agency_id: int) -> list[Comparison]:
    """Per standard the survey asks about (its section keys), practitioners' graded answers against the agency's
    own ratings of the round's criteria in the section of the same key. The self-rating, never the moderated one:
    the survey is set against what leaders said."""
    practitioner_rows = db.session.execute(
        sa.select(Section.key, ScaleLevel.counts_as_good, ScaleLevel.is_not_applicable)
        .select_from(SurveyAnswer)
        .join(SurveyResponse, SurveyResponse.id == SurveyAnswer.response_id)
        .join(Question, Question.id == SurveyAnswer.question_id)
        .join(Section, Section.id == Question.section_id)
        .join(ScaleLevel, ScaleLevel.id == SurveyAnswer.scale_level_id)
        .where(SurveyResponse.survey_id == survey.id, SurveyResponse.agency_id == agency_id)
    ).all()
    leader_rows = db.session.execute(
        sa.select(Section.key, ScaleLevel.counts_as_good, ScaleLevel.is_not_applicable)
        .select_from(Answer)
        .join(Return, Return.id == Answer.return_id)
        .join(Question, Question.id == Answer.question_id)
        .join(Section, Section.id == Question.section_id)
        .join(ScaleLevel, ScaleLevel.id == Answer.scale_level_id)
        .where(
            Return.round_id == survey.round_id,
            Return.agency_id == agency_id,
            Return.round_case_id.is_(None),
            Question.type == QuestionType.SCALE,
            sa.or_(Question.role.is_(None), Question.role == QuestionRole.GRADE),
        )
    ).all()
    round_version = db.session.get(QuestionnaireVersion, survey.round.questionnaire_version_id)
    round_sections = {s.key: s for s in round_version.sections} if round_version else {}
    leaders_label = _good_label(
        level for s in round_sections.values() for q in s.questions if q.scale for level in q.scale.levels
    )
    survey_levels = [level for q in survey.version.questions if q.scale for level in q.scale.levels]
    practitioners_label = _good_label(survey_levels)

    def tally(rows: Iterable[Any], key: str) -> tuple[int, int]:
        graded = [good for k, good, not_applicable in rows if k == key and not not_applicable]
        return sum(1 for good in graded if good), len(graded)

    comparisons = []
    for section in survey.version.sections:
        if section.key not in round_sections or not any(q.type == QuestionType.SCALE for q in section.questions):
            continue
        leaders_good, leaders_rated = tally(leader_rows, section.key)
        practitioners_good, practitioners_graded = tally(practitioner_rows, section.key)
        comparisons.append(
            Comparison(
                section.key,
                round_sections[section.key].title,
                leaders_good,
                leaders_rated,
                practitioners_good,
                practitioners_graded,
                leaders_label,
                practitioners_label,
            )
        )
    return comparisons
