"""Answer types: one definition per question type, and one rule for which questions are asked.

Each question type has one class saying how its answer is posted by the return
page (``from_form``), checked and stored (``clean``), shown to people
(``display``), put back into a form (``for_form``), written to a file cell
(``export``) or the API (``to_json``), read from a workbook cell
(``from_cell``), offered as a workbook drop-down (``choices``) and whether it
counts as unanswered (``is_empty``). Pages, the workbook, the API, the
discussion and reporting call these; none of them branches on the question
type itself.

Stored values are text in ``answers.value``: a scale level's or option's
label, a JSON list of options in the questionnaire's order (multiple choice),
a plain decimal, an ISO date, or the text itself. Empty is ``""``.

Which questions are asked is one rule too: ``applicable()`` (by the agency's
sector), ``shown()`` (by the question's show-if condition on the answers so
far) and ``required_missing()``, used by the task list, submission, the
workbook, the API and the answers export alike.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, ClassVar

from ..core.errors import FieldErrors
from .models import QuestionType

if TYPE_CHECKING:
    from .models import Question

MAX_TEXT = 10_000
MAX_NUMBER = Decimal("1e9")
#: what separates several options in a workbook cell (a comma works too where it is not part of an option)
CELL_SEPARATOR = "; "


class AnswerProblem(ValueError):
    """One answer is wrong; the message says what to do, for the person who gave it."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class AnswerErrors(FieldErrors):
    """A save refused because of bad answers: every problem, by question key."""

    def __init__(self, fields: dict[str, list[str]]) -> None:
        super().__init__(fields, what="answers")


#: line breaks as browsers post them, and Word's manual line break (vertical tab)
_LINE_BREAK = re.compile("\r\n|[\r\x0b]")
#: control characters XML 1.0 (so XLSX) cannot carry
_UNWRITABLE = re.compile("[\x00-\x08\x0c\x0e-\x1f\ufffe\uffff]")


def _blank(raw: Any) -> bool:
    return raw is None or raw == "" or raw == [] or (isinstance(raw, str) and not raw.strip())


class AnswerType:
    """The behaviour shared by most types: a single posted string, stored as typed."""

    #: the GOV.UK component the return page renders (see templates/questionnaires/_question.html)
    widget: ClassVar[str] = "textarea"
    #: an Excel data validation for the workbook's answer cell, other than a drop-down of ``choices``
    cell_validation: ClassVar[dict[str, str] | None] = None

    # -- in --

    def from_form(self, formdata: Any, name: str) -> Any:
        """What the page posted under ``name`` (a MultiDict such as ``request.form``)."""
        return formdata.get(name, "")

    def from_cell(self, question: Question, text: str) -> Any:
        """The raw answer in a workbook cell (already text, stripped)."""
        return text

    #: the raw values this type reads (pages and workbooks give text; the API gives any JSON value)
    accepts: ClassVar[tuple[type, ...]] = (str,)
    #: what to say when the raw value is of another kind (a number for a text question, a list for a date)
    wrong_kind: ClassVar[str] = "Enter the answer as text"

    def clean(self, question: Question, raw: Any) -> tuple[str, int | None]:
        """(stored value, scale level id) for a raw answer, or AnswerProblem. Blank is ``("", None)``."""
        if _blank(raw):
            return "", None
        # bool is an int: true must never pass for 1, nor a number for text stored as "3" or "True"
        if isinstance(raw, bool) or not isinstance(raw, self.accepts):
            raise AnswerProblem(self.wrong_kind)
        return self._clean(question, raw)

    def _clean(self, question: Question, raw: Any) -> tuple[str, int | None]:
        # One stored form for line breaks ("\n", as in a spreadsheet cell; browsers post "\r\n"), and
        # no control characters a file cannot carry, so the workbook gives back exactly what was saved.
        text = _UNWRITABLE.sub("", _LINE_BREAK.sub("\n", str(raw))).strip()
        if len(text) > MAX_TEXT:
            raise AnswerProblem(f"The answer must be {MAX_TEXT:,} characters or fewer")
        return text, None

    # -- out --

    def is_empty(self, stored: str | None) -> bool:
        return not stored

    def display(self, question: Question | None, stored: str | None) -> str:
        """The answer as people read it: pages, the discussion, the workbook."""
        return stored or ""

    def for_form(self, stored: str | None) -> Any:
        """The value the page's field is filled with."""
        return stored or ""

    def export(self, stored: str | None) -> Any:
        """The cell value in XLSX and CSV files."""
        return self.display(None, stored)

    def to_json(self, stored: str | None) -> Any:
        """The value in the API; ``None`` when unanswered."""
        return None if self.is_empty(stored) else stored

    def export_columns(self, stored: str | None, level_value: Any, level_label: str | None) -> tuple[Any, str, str]:
        """The answers file's Value, Label and Text cells (a scale answer's level value and label come with it)."""
        return self.export(stored), "", ""

    def cell(self, question: Question, stored: str | None) -> str:
        """The workbook's answer cell, as ``from_cell`` reads it back."""
        return stored or ""

    def choices(self, question: Question) -> list[str] | None:
        """The workbook cell's drop-down, if the answer is one of a list."""
        return None

    def example(self, question: Question, rng: random.Random, *, grade_weights: Mapping[str, float]) -> Any:
        """A plausible raw answer for demo data (``None``: the caller writes its own text).
        ``grade_weights`` weight the labels of a scale that has them all."""
        return None

    # -- the page's field --

    def field(
        self, question: Question, *, name: str, value: Any, label: str, hint: str, error: str | None
    ) -> dict[str, Any]:
        """The parameters of the GOV.UK component named by ``widget``."""
        return {
            "name": name,
            "id": name,
            "label": {"text": label, "classes": "govuk-label--s"},
            "hint": {"text": hint} if hint else None,
            "errorMessage": {"text": error} if error else None,
            "value": value if value is not None else "",
            "rows": 4,
        }

    def error_anchor(self, name: str) -> str:
        """The id the error summary links to (the first input of the field)."""
        return name


class TextAnswer(AnswerType):
    """Free text: a string only (never a number, true or a list written out as Python would)."""

    def export_columns(self, stored: str | None, level_value: Any, level_label: str | None) -> tuple[Any, str, str]:
        return "", "", stored or ""


def _items(labels: Iterable[str], value: Any) -> list[dict[str, Any]]:
    chosen = set(value) if isinstance(value, (list, tuple, set)) else {value}
    return [{"value": label, "text": label, "checked": label in chosen} for label in labels]


class _OneOf(AnswerType):
    widget = "radios"
    wrong_kind = "Choose one of the options, as its text"

    def options(self, question: Question) -> list[str]:
        raise NotImplementedError

    def _clean(self, question: Question, raw: Any) -> tuple[str, int | None]:
        options = self.options(question)
        if not isinstance(raw, str) or raw.strip() not in options:
            raise AnswerProblem(f"Choose one of: {', '.join(options)}")
        return raw.strip(), None

    def choices(self, question: Question) -> list[str] | None:
        return self.options(question)

    def field(
        self, question: Question, *, name: str, value: Any, label: str, hint: str, error: str | None
    ) -> dict[str, Any]:
        return {
            "name": name,
            "idPrefix": name,
            "fieldset": {"legend": {"text": label, "classes": "govuk-fieldset__legend--s"}},
            "hint": {"text": hint} if hint else None,
            "errorMessage": {"text": error} if error else None,
            "classes": f"govuk-{self.widget}--small",
            "items": _items(self.options(question), value),
        }


class ScaleAnswer(_OneOf):
    """A level of the question's scale, stored as its label with the level's id."""

    def options(self, question: Question) -> list[str]:
        return [level.label for level in question.scale.levels]

    def export_columns(self, stored: str | None, level_value: Any, level_label: str | None) -> tuple[Any, str, str]:
        return (float(level_value) if level_value is not None else ""), level_label or "", ""

    def example(self, question: Question, rng: random.Random, *, grade_weights: Mapping[str, float]) -> Any:
        labels = self.options(question)
        if set(grade_weights) <= set(labels):
            return rng.choices(list(grade_weights), weights=list(grade_weights.values()))[0]
        weights = [1 if "applicable" in label.lower() else 4 - min(i, 3) for i, label in enumerate(labels)]
        return rng.choices(labels, weights=weights)[0]

    def _clean(self, question: Question, raw: Any) -> tuple[str, int | None]:
        label = raw.strip() if isinstance(raw, str) else raw
        level = next((lvl for lvl in question.scale.levels if lvl.label == label), None)
        if level is None:
            raise AnswerProblem(f"Choose one of: {', '.join(self.options(question))}")
        return level.label, level.id


class SingleChoiceAnswer(_OneOf):
    def options(self, question: Question) -> list[str]:
        return list(question.options)

    def example(self, question: Question, rng: random.Random, *, grade_weights: Mapping[str, float]) -> Any:
        options = self.options(question)
        if "Yes" in options and "No" in options:
            return "No" if rng.random() < 0.85 else "Yes"  # most answers say nothing was missed
        return rng.choice(options)


class MultipleChoiceAnswer(SingleChoiceAnswer):
    """Any of the options, stored as a JSON list in the questionnaire's order; shown joined with ", "."""

    widget = "checkboxes"
    accepts = (str, list, tuple)
    wrong_kind = "Choose from the options: a list of their texts"

    def from_form(self, formdata: Any, name: str) -> Any:
        return [v for v in formdata.getlist(name) if v]

    def from_cell(self, question: Question, text: str) -> Any:
        return _split_options(text, self.options(question))

    def _clean(self, question: Question, raw: Any) -> tuple[str, int | None]:
        options = self.options(question)
        values = raw if isinstance(raw, (list, tuple)) else [raw]
        if not all(isinstance(v, str) for v in values):
            raise AnswerProblem("Choose from the options")
        values = [v.strip() for v in values if v.strip()]
        bad = [v for v in values if v not in options]
        if bad:
            listed = ", ".join(f"'{v}'" for v in bad)
            raise AnswerProblem(f"{listed} {'is' if len(bad) == 1 else 'are'} not one of the options")
        if not values:
            return "", None
        return json.dumps([o for o in options if o in values]), None

    def example(self, question: Question, rng: random.Random, *, grade_weights: Mapping[str, float]) -> Any:
        return rng.sample(self.options(question), k=min(len(self.options(question)), rng.randint(1, 2)))

    def values(self, stored: str | None) -> list[str]:
        """The chosen options, in the questionnaire's order."""
        if not stored:
            return []
        return list(json.loads(stored))

    def is_empty(self, stored: str | None) -> bool:
        return not self.values(stored)

    def display(self, question: Question | None, stored: str | None) -> str:
        return ", ".join(self.values(stored))

    def for_form(self, stored: str | None) -> Any:
        return self.values(stored)

    def to_json(self, stored: str | None) -> Any:
        return self.values(stored) or None

    def cell(self, question: Question, stored: str | None) -> str:
        # "; ", not the display's ", ": an option may hold a comma, so a comma cannot separate them
        return CELL_SEPARATOR.join(self.values(stored))

    def choices(self, question: Question) -> list[str] | None:
        return None  # several may be chosen: an Excel list allows only one


def _split_options(text: str, options: list[str]) -> list[str]:
    """Options written in one cell, separated by ";" or "," (an option may itself hold a comma).

    At each point the longest option followed by a separator (or the end) is taken,
    so "Police, CID; Police" is the options "Police, CID" and "Police".
    """
    found: list[str] = []
    rest = text
    while rest := rest.lstrip(_SEPARATORS + " \t\n"):
        match = max((o for o in options if _starts_with_option(rest, o)), key=len, default=None)
        if match is None:
            # not an option: keep the rest up to the next separator so the problem names it
            head = re.split("[,;]", rest, maxsplit=1)[0]
            found.append(head.strip())
            rest = rest[len(head) :]
        else:
            found.append(match)
            rest = rest[len(match) :]
    return [f for f in found if f]


_SEPARATORS = ",;"


def _starts_with_option(text: str, option: str) -> bool:
    if not text.startswith(option):
        return False
    after = text[len(option) :].lstrip()
    return not after or after[0] in _SEPARATORS


class NumberAnswer(AnswerType):
    """A decimal number, stored as typed (without surrounding spaces)."""

    widget = "input"
    accepts = (str, int, float, Decimal)
    wrong_kind = "Enter a number, like 3 or 2.5"
    cell_validation: ClassVar[dict[str, str] | None] = {
        "type": "decimal",
        "operator": "between",
        "formula1": "-999999999",
        "formula2": "999999999",
    }

    def _clean(self, question: Question, raw: Any) -> tuple[str, int | None]:
        if isinstance(raw, bool):
            raise AnswerProblem("Enter a number, like 3 or 2.5")
        try:
            number = Decimal(str(raw).strip())
        except InvalidOperation:
            raise AnswerProblem("Enter a number, like 3 or 2.5") from None
        if not number.is_finite() or abs(number) >= MAX_NUMBER:
            raise AnswerProblem("Enter a number between -999,999,999 and 999,999,999")
        return str(number), None

    def export(self, stored: str | None) -> Any:
        return float(stored) if stored else ""

    def example(self, question: Question, rng: random.Random, *, grade_weights: Mapping[str, float]) -> Any:
        return str(rng.randint(0, 8))

    def field(
        self, question: Question, *, name: str, value: Any, label: str, hint: str, error: str | None
    ) -> dict[str, Any]:
        params = super().field(question, name=name, value=value, label=label, hint=hint, error=error)
        del params["rows"]
        return params | {"inputmode": "decimal", "classes": "govuk-input--width-5"}


DATE_PARTS = ("day", "month", "year")


class DateAnswer(AnswerType):
    """A calendar date: posted as day, month and year boxes, stored as an ISO date, shown as '2 November 2025'."""

    widget = "date"
    accepts = (str, date, Mapping)
    wrong_kind = "Enter a date, as YYYY-MM-DD"

    def from_form(self, formdata: Any, name: str) -> Any:
        parts = {part: formdata.get(f"{name}-{part}", "").strip() for part in DATE_PARTS}
        return parts if any(parts.values()) else ""

    def _clean(self, question: Question, raw: Any) -> tuple[str, int | None]:
        if isinstance(raw, Mapping):
            missing = [part for part in DATE_PARTS if not str(raw.get(part, "")).strip()]
            if missing:
                raise AnswerProblem(f"The date must include a {' and '.join(missing)}")
            try:
                day, month, year = (int(str(raw[part]).strip()) for part in DATE_PARTS)
                return date(year, month, day).isoformat(), None
            except ValueError:
                raise AnswerProblem("Enter a real date, like 27 3 2026") from None
        if isinstance(raw, datetime):
            return raw.date().isoformat(), None
        if isinstance(raw, date):
            return raw.isoformat(), None
        try:
            return date.fromisoformat(str(raw).strip()).isoformat(), None
        except ValueError:
            raise AnswerProblem("Enter a real date, as YYYY-MM-DD") from None

    def display(self, question: Question | None, stored: str | None) -> str:
        if not stored:
            return ""
        day = date.fromisoformat(stored)
        return f"{day.day} {day:%B %Y}"

    def for_form(self, stored: str | None) -> Any:
        if not stored:
            return dict.fromkeys(DATE_PARTS, "")
        day = date.fromisoformat(stored)
        return {"day": str(day.day), "month": str(day.month), "year": str(day.year)}

    def export(self, stored: str | None) -> Any:
        return stored or ""

    def example(self, question: Question, rng: random.Random, *, grade_weights: Mapping[str, float]) -> Any:
        return (date(2025, 1, 1) + timedelta(days=rng.randint(0, 300))).isoformat()

    def field(
        self, question: Question, *, name: str, value: Any, label: str, hint: str, error: str | None
    ) -> dict[str, Any]:
        parts = value if isinstance(value, Mapping) else self.for_form(value if isinstance(value, str) else "")
        widths = {"day": 2, "month": 2, "year": 4}
        return {
            "id": name,
            "namePrefix": name,
            "fieldset": {"legend": {"text": label, "classes": "govuk-fieldset__legend--s"}},
            "hint": {"text": hint or "For example, 27 3 2026"},
            "errorMessage": {"text": error} if error else None,
            "items": [
                {
                    "name": part,
                    "classes": f"govuk-input--width-{widths[part]}" + (" govuk-input--error" if error else ""),
                    "value": parts.get(part, ""),
                }
                for part in DATE_PARTS
            ],
        }

    def error_anchor(self, name: str) -> str:
        return f"{name}-day"


TYPES: dict[QuestionType, AnswerType] = {
    QuestionType.SCALE: ScaleAnswer(),
    QuestionType.SINGLE_CHOICE: SingleChoiceAnswer(),
    QuestionType.MULTIPLE_CHOICE: MultipleChoiceAnswer(),
    QuestionType.TEXT: TextAnswer(),
    QuestionType.NUMBER: NumberAnswer(),
    QuestionType.DATE: DateAnswer(),
}


def answer_type(question: Question | QuestionType) -> AnswerType:
    """The answer type of a question (or of a question type, for code that reads columns)."""
    return TYPES[question if isinstance(question, QuestionType) else question.type]


# -- several answers at once --


def clean_answers(questions: Mapping[str, Question], raw: Mapping[str, Any]) -> dict[str, tuple[str, int | None]]:
    """Every raw answer (question key -> raw) cleaned, or AnswerErrors naming every bad one.

    ``questions`` are the questions that may be answered, by key.
    """
    cleaned: dict[str, tuple[str, int | None]] = {}
    problems: dict[str, list[str]] = {}
    for key, value in raw.items():
        question = questions.get(key)
        if question is None:
            problems[key] = [f"'{key}' is not a question of this return"]
            continue
        try:
            cleaned[key] = answer_type(question).clean(question, value)
        except AnswerProblem as problem:
            problems[key] = [problem.message]
    if problems:
        raise AnswerErrors(problems)
    return cleaned


def display(question: Question, stored: str | None) -> str:
    """The answer as people read it."""
    return answer_type(question).display(question, stored)


def is_empty(question: Question, stored: str | None) -> bool:
    return answer_type(question).is_empty(stored)


# -- which questions are asked --


def applicable(questions: Iterable[Question], sector_key: str | None) -> list[Question]:
    """The questions an agency of this sector is asked (before show-if conditions)."""
    return [q for q in questions if q.applies_to_sector(sector_key)]


def _chosen(stored: str | None) -> set[str]:
    """The labels a stored answer chose. Conditions point only at scale and choice questions
    (questionnaires/spec.py): a label as typed, or a multiple choice's JSON list.

    A label may itself start with "[" ("[draft]", "[a, b]", "[]"): it is read as a list only when it is
    exactly what MultipleChoiceAnswer stores (``json.dumps`` of a list of strings), and counts as its own
    label as well, so no option text can hide or break a follow-up question.
    """
    if not stored:
        return set()
    chosen = {stored}
    if stored.startswith('["') and stored.endswith('"]'):
        try:
            values = json.loads(stored)
        except (ValueError, RecursionError):
            return chosen
        if isinstance(values, list) and all(isinstance(v, str) for v in values) and json.dumps(values) == stored:
            chosen.update(values)
    return chosen


def shown(question: Question, answers: Mapping[str, str]) -> bool:
    """Whether the question is asked given the answers so far (question key -> stored value): its show-if
    condition holds, or it has none."""
    return condition_holds(question.condition_question_key, question.condition_values, answers)


def condition_holds(key: str | None, values: Iterable[str], answers: Mapping[str, str]) -> bool:
    """A show-if condition ("question ``key`` is one of ``values``") on the answers; no condition holds."""
    if not key:
        return True
    return bool(_chosen(answers.get(key)) & set(values))


def asked(questions: Iterable[Question], answers: Mapping[str, str]) -> list[Question]:
    """The questions shown by their conditions (pass the applicable ones)."""
    return [q for q in questions if shown(q, answers)]


def answered(questions: Iterable[Question], answers: Mapping[str, str]) -> list[Question]:
    """The questions asked and answered."""
    return [q for q in asked(questions, answers) if not is_empty(q, answers.get(q.key))]


def required_missing(questions: Iterable[Question], answers: Mapping[str, str]) -> list[Question]:
    """Required questions that are asked (pass the applicable ones; conditions are applied here) and not answered."""
    return [q for q in asked(questions, answers) if q.is_required and is_empty(q, answers.get(q.key))]


def unanswered(questions: Iterable[Question], answers: Mapping[str, str]) -> list[Question]:
    """Questions asked (pass the applicable ones; conditions are applied here) and not answered, required or not:
    a section is complete when none is left (a scale's not-applicable level is an answer)."""
    return [q for q in asked(questions, answers) if is_empty(q, answers.get(q.key))]
