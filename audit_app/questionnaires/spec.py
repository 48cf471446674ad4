"""The questionnaire file format (YAML or JSON) and its validation.

One set of rules serves imports, the editor and publishing: a version is
turned into a spec (a plain dict), and :func:`validate_spec` lists every
problem by path, such as ``sections[2].questions[0].scale``. The format is
documented in docs/questionnaire-format.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Annotated, Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from ..core.errors import DomainError
from .models import QuestionnaireKind, QuestionType

FORMAT_VERSION = 1
KEY_PATTERN = r"^[a-z0-9][a-z0-9_]{0,63}$"
Key = Annotated[str, StringConstraints(pattern=KEY_PATTERN)]
Text200 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Colour = Annotated[str, StringConstraints(pattern=r"^#[0-9a-fA-F]{6}$")]
CHOICE_TYPES = {QuestionType.SINGLE_CHOICE, QuestionType.MULTIPLE_CHOICE}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class LevelSpec(_Strict):
    label: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
    value: float | None = None
    colour: Colour = "#505a5f"
    not_applicable: bool = False


class ScaleSpec(_Strict):
    key: Key
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
    levels: list[LevelSpec] = Field(min_length=2, max_length=20)


class ConditionSpec(_Strict):
    question: Key
    in_: list[str] = Field(alias="in", min_length=1)


class QuestionSpec(_Strict):
    key: Key
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
    type: QuestionType
    guidance: Annotated[str, StringConstraints(max_length=5000)] = ""
    scale: Key | None = None
    options: list[Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=50
    )
    required: bool = False
    applies_to: list[Key] = Field(default_factory=list)
    show_if: ConditionSpec | None = None


class SectionSpec(_Strict):
    key: Key
    title: Text200
    description: Annotated[str, StringConstraints(max_length=5000)] = ""
    questions: list[QuestionSpec] = Field(default_factory=list, max_length=200)


class QuestionnaireSpec(_Strict):
    format: int = FORMAT_VERSION
    key: Key
    title: Text200
    kind: QuestionnaireKind
    theme: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)] | None = None
    description: Annotated[str, StringConstraints(max_length=5000)] = ""
    scales: list[ScaleSpec] = Field(default_factory=list)
    sections: list[SectionSpec] = Field(default_factory=list, max_length=100)


@dataclass
class SpecContext:
    """What a spec may refer to outside itself."""

    #: scale key -> level labels, for scales already known (built-in and the partnership's)
    scales: dict[str, list[str]] = field(default_factory=dict)
    #: the partnership's sector keys
    sector_keys: set[str] = field(default_factory=set)


@dataclass
class SpecProblem:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class SpecError(DomainError):
    """A questionnaire file or draft that breaks the rules; every problem listed."""

    def __init__(self, problems: list[SpecProblem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems

    @property
    def fields(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for problem in self.problems:
            out.setdefault(problem.path, []).append(problem.message)
        return out


def _path(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            part = "in" if part == "in_" else part
            out += ("." if out else "") + str(part)
    return out or "(file)"


def parse_text(text: str) -> dict[str, Any]:
    """YAML (or JSON, which is YAML) text to a dict, or SpecError."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(file)"
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError([SpecProblem(where, f"not valid YAML: {problem}")]) from None
    if not isinstance(data, dict):
        raise SpecError([SpecProblem("(file)", "the file must hold one questionnaire (a mapping of keys to values)")])
    return data


def validate_spec(data: dict[str, Any], context: SpecContext, *, complete: bool = True) -> QuestionnaireSpec:
    """Check a spec against the format and the rules; raise SpecError listing every problem.

    ``complete`` (imports and publishing) also refuses empty questionnaires and
    sections; a draft being edited may have them.
    """
    try:
        spec = QuestionnaireSpec.model_validate(data)
    except ValidationError as exc:
        problems = [SpecProblem(_path(e["loc"]), e["msg"]) for e in exc.errors(include_url=False)]
        raise SpecError(problems) from None

    problems: list[SpecProblem] = []
    if spec.format != FORMAT_VERSION:
        problems.append(SpecProblem("format", f"this service reads format {FORMAT_VERSION}, not {spec.format}"))

    scales: dict[str, list[str]] = dict(context.scales)
    file_scale_keys: set[str] = set()
    for i, scale in enumerate(spec.scales):
        if scale.key in file_scale_keys:
            problems.append(SpecProblem(f"scales[{i}].key", f"scale key '{scale.key}' is used twice"))
        file_scale_keys.add(scale.key)
        labels = [level.label for level in scale.levels]
        if len(set(labels)) != len(labels):
            problems.append(SpecProblem(f"scales[{i}].levels", "level labels must be different"))
        for j, level in enumerate(scale.levels):
            if level.value is None and not level.not_applicable:
                problems.append(
                    SpecProblem(f"scales[{i}].levels[{j}].value", "give a value, or mark the level not_applicable")
                )
        known = context.scales.get(scale.key)
        if known is not None and known != labels:
            problems.append(
                SpecProblem(
                    f"scales[{i}].key", f"scale '{scale.key}' already exists with other levels; use another key"
                )
            )
        scales[scale.key] = labels

    if complete and not spec.sections:
        problems.append(SpecProblem("sections", "a questionnaire needs at least one section"))

    # Every question by key, to check uniqueness and conditions.
    where: dict[str, str] = {}
    by_key: dict[str, QuestionSpec] = {}
    section_keys: set[str] = set()
    for i, section in enumerate(spec.sections):
        if section.key in section_keys:
            problems.append(SpecProblem(f"sections[{i}].key", f"section key '{section.key}' is used twice"))
        section_keys.add(section.key)
        if complete and not section.questions:
            problems.append(SpecProblem(f"sections[{i}].questions", "a section needs at least one question"))
        for j, question in enumerate(section.questions):
            path = f"sections[{i}].questions[{j}]"
            if question.key in by_key:
                problems.append(
                    SpecProblem(
                        f"{path}.key", f"question key '{question.key}' is already used at {where[question.key]}"
                    )
                )
            else:
                by_key[question.key] = question
                where[question.key] = path

    for i, section in enumerate(spec.sections):
        for j, question in enumerate(section.questions):
            path = f"sections[{i}].questions[{j}]"
            problems.extend(_question_problems(question, path, scales, context.sector_keys, by_key))
    if problems:
        raise SpecError(problems)
    return spec


def _question_problems(
    question: QuestionSpec,
    path: str,
    scales: dict[str, list[str]],
    sector_keys: set[str],
    by_key: dict[str, QuestionSpec],
) -> list[SpecProblem]:
    problems: list[SpecProblem] = []
    if question.type == QuestionType.SCALE:
        if question.scale is None:
            problems.append(SpecProblem(f"{path}.scale", "a scale question needs a scale"))
        elif question.scale not in scales:
            problems.append(SpecProblem(f"{path}.scale", f"unknown scale '{question.scale}'"))
    elif question.scale is not None:
        problems.append(SpecProblem(f"{path}.scale", "only scale questions take a scale"))
    if question.type in CHOICE_TYPES:
        if len(question.options) < 2:
            problems.append(SpecProblem(f"{path}.options", "a choice question needs at least two options"))
        elif len(set(question.options)) != len(question.options):
            problems.append(SpecProblem(f"{path}.options", "options must be different"))
    elif question.options:
        problems.append(SpecProblem(f"{path}.options", "only choice questions take options"))
    for k, sector in enumerate(question.applies_to):
        if sector_keys and sector not in sector_keys:
            problems.append(
                SpecProblem(
                    f"{path}.applies_to[{k}]", f"unknown sector '{sector}' (known: {', '.join(sorted(sector_keys))})"
                )
            )
    condition = question.show_if
    if condition is not None:
        target = by_key.get(condition.question)
        if condition.question == question.key:
            problems.append(SpecProblem(f"{path}.show_if.question", "a question cannot depend on itself"))
        elif target is None:
            problems.append(SpecProblem(f"{path}.show_if.question", f"no question with key '{condition.question}'"))
        else:
            allowed = _answer_values(target, scales)
            if allowed is None:
                problems.append(
                    SpecProblem(f"{path}.show_if.question", f"'{condition.question}' is not a scale or choice question")
                )
            else:
                for k, value in enumerate(condition.in_):
                    if value not in allowed:
                        problems.append(
                            SpecProblem(
                                f"{path}.show_if.in[{k}]", f"'{value}' is not an answer of '{condition.question}'"
                            )
                        )
    return problems


def _answer_values(question: QuestionSpec, scales: dict[str, list[str]]) -> list[str] | None:
    if question.type == QuestionType.SCALE and question.scale in scales:
        return scales[question.scale]
    if question.type in CHOICE_TYPES:
        return question.options
    return None


def to_yaml(data: dict[str, Any]) -> str:
    """A spec as YAML, keys in the documented order."""
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)


def slug_key(text: str) -> str:
    """A key made from a title."""
    key = re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")[:64]
    return key if key and key[0].isalnum() else f"q_{key}"[:64]
