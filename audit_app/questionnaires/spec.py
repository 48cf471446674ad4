"""The questionnaire file format (YAML or JSON) and its validation.

One set of rules serves imports, the editor and publishing: a version is
turned into a spec (a plain dict), and :func:`validate_spec` lists every
problem by path, such as ``sections[2].questions[0].scale``. The format is
documented in docs/questionnaire-format.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StringConstraints,
    ValidationError,
    field_validator,
)
from pydantic_core import PydanticCustomError

from ..core.errors import DomainError
from ..core.inputs import UNSTORABLE, json_nul_path
from .models import QuestionnaireKind, QuestionRole, QuestionType, default_role

FORMAT_VERSION = 1
KEY_PATTERN = r"^[a-z0-9][a-z0-9_]{0,63}$"
Key = Annotated[str, StringConstraints(pattern=KEY_PATTERN)]
Text200 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Colour = Annotated[str, StringConstraints(pattern=r"^#[0-9a-fA-F]{6}$")]
CHOICE_TYPES = {QuestionType.SINGLE_CHOICE, QuestionType.MULTIPLE_CHOICE}
#: never inside a multiple-choice option: it separates the chosen options in a workbook cell
OPTION_SEPARATOR = ";"
NO_ROLE = "none"
#: the question types each role fits, and how the refusal says so
ROLE_TYPES: dict[QuestionRole, tuple[frozenset[QuestionType], str]] = {
    QuestionRole.GRADE: (frozenset({QuestionType.SCALE}), "a scale question"),
    QuestionRole.OVERALL_GRADE: (frozenset({QuestionType.SCALE}), "a scale question"),
    QuestionRole.STRENGTHS: (frozenset({QuestionType.TEXT}), "a text question"),
    QuestionRole.DEVELOPMENT: (frozenset({QuestionType.TEXT}), "a text question"),
    QuestionRole.RECOMMENDATION: (frozenset({QuestionType.TEXT}), "a text question"),
    QuestionRole.EVIDENCE: (frozenset({QuestionType.TEXT}), "a text question"),
    QuestionRole.IMMEDIATE_CONCERN: (
        frozenset({QuestionType.SCALE, QuestionType.SINGLE_CHOICE}),
        "a scale or single_choice question (such as Yes / No)",
    ),
    QuestionRole.LEARNING_THEMES: (
        frozenset({QuestionType.MULTIPLE_CHOICE, QuestionType.TEXT}),
        "a multiple_choice or text question",
    ),
}
#: roles a questionnaire has at most once
ONCE_PER_QUESTIONNAIRE = (QuestionRole.OVERALL_GRADE, QuestionRole.IMMEDIATE_CONCERN, QuestionRole.LEARNING_THEMES)
#: roles a section has at most once
ONCE_PER_SECTION = (
    QuestionRole.GRADE,
    QuestionRole.STRENGTHS,
    QuestionRole.DEVELOPMENT,
    QuestionRole.RECOMMENDATION,
)
#: the section key the case-audit pages keep for the overall judgement: it has no grade of its own
OVERALL_SECTION_KEY = "overall"
#: level labels that count as good when a file marks no level of a scale (the rule findings used
#: before levels carried the flag); without them, the scale's best graded level counts
LEGACY_GOOD_LABELS = ("Outstanding", "Good")
#: the answer that means "a concern was identified" when an immediate-concern question's file gives no
#: ``concern_if`` (the Yes / No questions written before the field existed); see :func:`default_concern_values`
LEGACY_CONCERN_LABEL = "Yes"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class LevelSpec(_Strict):
    label: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
    value: float | None = None
    colour: Colour = "#505a5f"
    not_applicable: StrictBool = False
    #: counted in "Good or better"; left out on every level of a scale, see :func:`_default_good`
    good: StrictBool | None = None


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
    required: StrictBool = False
    applies_to: list[Key] = Field(default_factory=list)
    show_if: ConditionSpec | None = None
    #: what the question means to findings; "none" for no role. Left out, the key's ending decides
    #: (models.ROLE_DEFAULTS); after validation it holds the role, or None.
    role: QuestionRole | Literal["none"] | None = None
    #: the answers meaning an immediate safeguarding concern was identified (immediate_concern role only);
    #: left out, "Yes" where it is an answer (see :func:`default_concern_values`)
    concern_if: list[Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]] = Field(
        default_factory=list, max_length=50
    )

    @field_validator("role", mode="before")
    @classmethod
    def _known_role(cls, value: Any) -> Any:
        if value is None or value == NO_ROLE or value in {r.value for r in QuestionRole}:
            return value
        raise PydanticCustomError(
            "role", "Input should be one of {roles} or 'none'", {"roles": ", ".join(f"'{r}'" for r in QuestionRole)}
        )


class SectionSpec(_Strict):
    key: Key
    title: Text200
    description: Annotated[str, StringConstraints(max_length=5000)] = ""
    questions: list[QuestionSpec] = Field(default_factory=list, max_length=200)


class QuestionnaireSpec(_Strict):
    format: StrictInt = FORMAT_VERSION
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
    #: scale key -> labels of its levels that count as good, for scales already known
    good: dict[str, list[str]] = field(default_factory=dict)


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


#: nesting deeper than this is refused while the file is read (a questionnaire needs about six levels)
MAX_YAML_DEPTH = 32


class _PlainLoader(yaml.SafeLoader):
    """YAML's safe loader without anchors and aliases, and with bounded nesting.

    An alias repeats a node without copying it, so a few lines of ``&a [*b, *b, ...]`` expand to
    millions of items (a "billion laughs"): refusing them before any node is built keeps the cost of
    reading a file in proportion to its length. Deep nesting would otherwise exhaust the stack.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise yaml.composer.ComposerError(
                None, None, "anchors and aliases (&name, *name) are not allowed: write each value out", event.start_mark
            )
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                raise yaml.composer.ComposerError(
                    None, None, f"the file is nested more than {MAX_YAML_DEPTH} levels deep", event.start_mark
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def parse_text(text: str) -> dict[str, Any]:
    """YAML (or JSON, which is YAML) text to a dict, or SpecError."""
    try:
        # _PlainLoader is a SafeLoader, stricter still (no anchors, aliases or deep nesting).
        data = yaml.load(text, Loader=_PlainLoader)  # noqa: S506  # nosec B506
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(file)"
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError([SpecProblem(where, f"not valid YAML: {problem}")]) from None
    if not isinstance(data, dict):
        raise SpecError([SpecProblem("(file)", "the file must hold one questionnaire (a mapping of keys to values)")])
    where = json_nul_path(data, "")  # a "\0" escape in a quoted string: PostgreSQL cannot store it
    if where is not None:
        raise SpecError([SpecProblem(where or "(file)", UNSTORABLE)])
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
            if level.good and level.not_applicable:
                problems.append(
                    SpecProblem(f"scales[{i}].levels[{j}].good", "a not-applicable level cannot count as good")
                )
        _default_good(scale)
        if not any(level.good for level in scale.levels):
            problems.append(
                SpecProblem(f"scales[{i}].levels", "mark at least one graded level good: true (it counts as good)")
            )
        known = context.scales.get(scale.key)
        good = [level.label for level in scale.levels if level.good]
        if known is not None and known != labels:
            problems.append(
                SpecProblem(
                    f"scales[{i}].key", f"scale '{scale.key}' already exists with other levels; use another key"
                )
            )
        elif known is not None and scale.key in context.good and context.good[scale.key] != good:
            problems.append(
                SpecProblem(
                    f"scales[{i}].key",
                    f"scale '{scale.key}' already exists with other levels counting as good "
                    f"({', '.join(context.good[scale.key])}); use another key",
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
    problems.extend(_role_problems(spec))
    problems.extend(_concern_problems(spec, scales))
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
    if question.type == QuestionType.MULTIPLE_CHOICE:
        # A workbook cell lists the chosen options separated by ";" (answers.CELL_SEPARATOR): an option
        # holding one would come back as two options (or as one that does not exist).
        for k, option in enumerate(question.options):
            if OPTION_SEPARATOR in option:
                problems.append(
                    SpecProblem(
                        f"{path}.options[{k}]",
                        f"option '{option}' of question '{question.key}' contains '{OPTION_SEPARATOR}', which "
                        "separates the chosen options of a multiple-choice answer in a workbook cell: use another "
                        "character, such as '/' or ','",
                    )
                )
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


def _default_good(scale: ScaleSpec) -> None:
    """Settle every level's ``good``: a scale marking none gets Outstanding and Good where it has them,
    else its best graded level (the import default); a level left out of a scale that marks some is not good."""
    if any(level.good is not None for level in scale.levels):
        for level in scale.levels:
            level.good = bool(level.good)
        return
    graded = [level for level in scale.levels if not level.not_applicable]
    named = [level for level in graded if level.label in LEGACY_GOOD_LABELS]
    chosen = named or graded[:1]
    for level in scale.levels:
        level.good = any(level is c for c in chosen)


def _role_problems(spec: QuestionnaireSpec) -> list[SpecProblem]:
    """Settle each question's role (its key's default when left out) and check it fits, and the counts."""
    problems: list[SpecProblem] = []
    once: dict[QuestionRole, str] = {}
    for i, section in enumerate(spec.sections):
        in_section: dict[QuestionRole, str] = {}
        for j, question in enumerate(section.questions):
            path = f"sections[{i}].questions[{j}]"
            explicit = question.role is not None
            if question.role is None:
                question.role = default_role(question.key, question.type)
            elif question.role == NO_ROLE:
                question.role = None
            role = question.role
            if role is None:
                continue
            role = QuestionRole(role)
            types, wanted = ROLE_TYPES[role]
            if question.type not in types:
                # a default never refuses a file: a key ending that does not fit gives no role
                if explicit:
                    problems.append(SpecProblem(f"{path}.role", f"the role {role.value} needs {wanted}"))
                continue
            if role in ONCE_PER_QUESTIONNAIRE:
                if role in once:
                    problems.append(
                        SpecProblem(f"{path}.role", f"only one question can be {_what(role)}; {once[role]} is already")
                    )
                else:
                    once[role] = path
            if role in ONCE_PER_SECTION:
                if role in in_section:
                    problems.append(
                        SpecProblem(
                            f"{path}.role",
                            f"a section has one {_what(role, article=False)} question; {in_section[role]} is already",
                        )
                    )
                else:
                    in_section[role] = path
            if role == QuestionRole.GRADE and section.key == OVERALL_SECTION_KEY:
                problems.append(
                    SpecProblem(
                        f"{path}.role", "the section keyed 'overall' has no grade of its own; use role overall_grade"
                    )
                )
    return problems


def default_concern_values(answer_values: list[str]) -> list[str]:
    """The answers meaning a concern when a file names none: "Yes" where it is an answer, else none."""
    return [LEGACY_CONCERN_LABEL] if LEGACY_CONCERN_LABEL in answer_values else []


def _concern_problems(spec: QuestionnaireSpec, scales: dict[str, list[str]]) -> list[SpecProblem]:
    """Settle and check ``concern_if``: only on the immediate-concern question, and only its own answers."""
    problems: list[SpecProblem] = []
    for i, section in enumerate(spec.sections):
        for j, question in enumerate(section.questions):
            path = f"sections[{i}].questions[{j}].concern_if"
            allowed = _answer_values(question, scales)
            if question.role != QuestionRole.IMMEDIATE_CONCERN or allowed is None:
                if question.concern_if:
                    problems.append(
                        SpecProblem(
                            path, "only the immediate concern question (role immediate_concern) takes concern_if"
                        )
                    )
                continue
            if not question.concern_if:
                question.concern_if = default_concern_values(allowed)
                if not question.concern_if:
                    problems.append(
                        SpecProblem(path, "say which answers mean an immediate concern was identified (concern_if)")
                    )
            for k, value in enumerate(question.concern_if):
                if value not in allowed:
                    problems.append(SpecProblem(f"{path}[{k}]", f"'{value}' is not an answer of this question"))
    return problems


def _what(role: QuestionRole, *, article: bool = True) -> str:
    name = {
        QuestionRole.OVERALL_GRADE: "the overall grade",
        QuestionRole.IMMEDIATE_CONCERN: "the immediate concern question",
        QuestionRole.LEARNING_THEMES: "the learning themes question",
        QuestionRole.GRADE: "grade",
        QuestionRole.STRENGTHS: "strengths",
        QuestionRole.DEVELOPMENT: "areas for development",
        QuestionRole.RECOMMENDATION: "recommendations",
    }[role]
    return name if article else name.removeprefix("the ")


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
