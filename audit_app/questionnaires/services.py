"""State changes for scales and questionnaires: import, export, edit, publish, retire.

Every change to a draft is checked by the same rules as an import
(spec.validate_spec), so a draft can never hold what a file could not.
"""

from __future__ import annotations

import copy
import functools
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from ..accounts.models import Sector
from ..core.errors import ConflictError, DomainError, NotAllowedError
from ..core.models import utcnow
from ..extensions import db
from .models import (
    Question,
    Questionnaire,
    QuestionnaireKind,
    QuestionnaireVersion,
    QuestionRole,
    QuestionType,
    Scale,
    ScaleLevel,
    Section,
    Theme,
    VersionStatus,
)
from .spec import (
    FORMAT_VERSION,
    QuestionnaireSpec,
    SpecContext,
    SpecError,
    SpecProblem,
    default_concern_values,
    parse_text,
    validate_spec,
)

LIBRARY_DIR = Path(__file__).parent / "library"


# -- scales --


def scales_query(partnership_id: int) -> sa.Select:
    """Built-in scales and the partnership's own."""
    return (
        sa.select(Scale)
        .where(sa.or_(Scale.partnership_id.is_(None), Scale.partnership_id == partnership_id))
        .order_by(Scale.partnership_id.is_not(None), Scale.name)
    )


def available_scales(partnership_id: int) -> dict[str, Scale]:
    """Scale key -> scale; a partnership's own scale can't shadow a built-in (keys are checked on creation)."""
    return {s.key: s for s in db.session.scalars(scales_query(partnership_id))}


def create_scale(partnership_id: int, key: str, name: str, levels: list[dict[str, Any]]) -> Scale:
    """A partnership's own scale. Levels: label, value (or None), colour, not_applicable, good."""
    spec = {
        "key": "scale_check",
        "title": "check",
        "kind": "case_audit",
        "scales": [{"key": key, "name": name, "levels": levels}],
    }
    try:
        validated = validate_spec(spec, SpecContext(), complete=False)
    except SpecError as error:
        raise SpecError([SpecProblem(p.path.removeprefix("scales[0]."), p.message) for p in error.problems]) from None
    if key in available_scales(partnership_id):
        raise ConflictError(f"A scale with key '{key}' already exists", field="key")
    return _make_scale(partnership_id, validated.scales[0])


def _make_scale(partnership_id: int | None, spec: Any) -> Scale:
    scale = Scale(partnership_id=partnership_id, key=spec.key, name=spec.name)
    scale.levels = [
        ScaleLevel(
            position=i,
            label=level.label,
            value=None if level.value is None else Decimal(str(level.value)),
            colour=level.colour,
            is_not_applicable=level.not_applicable,
            counts_as_good=bool(level.good),
        )
        for i, level in enumerate(spec.levels)
    ]
    db.session.add(scale)
    db.session.flush()
    return scale


def _scale_spec(scale: Scale) -> dict[str, Any]:
    return {
        "key": scale.key,
        "name": scale.name,
        "levels": [
            {
                "label": level.label,
                "value": None if level.value is None else _number(level.value),
                "colour": level.colour,
                **({"not_applicable": True} if level.is_not_applicable else {}),
                **({"good": True} if level.counts_as_good else {}),
            }
            for level in scale.levels
        ],
    }


def _number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


# -- context --


def spec_context(partnership_id: int) -> SpecContext:
    known = available_scales(partnership_id)
    scales = {key: [level.label for level in scale.levels] for key, scale in known.items()}
    good = {key: [level.label for level in scale.levels if level.counts_as_good] for key, scale in known.items()}
    sectors = set(db.session.scalars(sa.select(Sector.key).where(Sector.partnership_id == partnership_id)))
    return SpecContext(scales=scales, sector_keys=sectors, good=good)


# -- export --


def export_version(version: QuestionnaireVersion) -> dict[str, Any]:
    """A version as a spec dict (the file format)."""
    questionnaire = version.questionnaire
    own_scales: dict[str, Scale] = {}
    for question in version.questions:
        if question.scale is not None and not question.scale.is_builtin:
            own_scales[question.scale.key] = question.scale
    data: dict[str, Any] = {
        "format": FORMAT_VERSION,
        "key": questionnaire.key,
        "title": questionnaire.title,
        "kind": questionnaire.kind.value,
    }
    if questionnaire.theme is not None:
        data["theme"] = questionnaire.theme.name
    if questionnaire.description:
        data["description"] = questionnaire.description
    if own_scales:
        data["scales"] = [_scale_spec(s) for s in own_scales.values()]
    data["sections"] = [
        {
            "key": section.key,
            "title": section.title,
            **({"description": section.description} if section.description else {}),
            "questions": [question.to_dict() for question in section.questions],
        }
        for section in version.sections
    ]
    return data


# -- import --


def _theme(partnership_id: int, name: str | None) -> Theme | None:
    if not name:
        return None
    theme = db.session.scalar(
        sa.select(Theme).where(Theme.partnership_id == partnership_id, sa.func.lower(Theme.name) == name.lower())
    )
    if theme is None:
        theme = Theme(partnership_id=partnership_id, name=name)
        db.session.add(theme)
        db.session.flush()
    return theme


def _fill_version(version: QuestionnaireVersion, spec: QuestionnaireSpec, scales: dict[str, Scale]) -> None:
    version.sections = []
    db.session.flush()
    for i, section_spec in enumerate(spec.sections):
        section = Section(
            version_id=version.id,
            key=section_spec.key,
            position=i,
            title=section_spec.title,
            description=section_spec.description,
        )
        version.sections.append(section)
        db.session.flush()
        for j, q in enumerate(section_spec.questions):
            section.questions.append(
                Question(
                    version_id=version.id,
                    section_id=section.id,
                    key=q.key,
                    position=j,
                    text=q.text,
                    guidance=q.guidance,
                    type=q.type,
                    scale_id=scales[q.scale].id if q.scale else None,
                    is_required=q.required,
                    applies_to=list(q.applies_to),
                    options=list(q.options),
                    condition_question_key=q.show_if.question if q.show_if else None,
                    condition_values=list(q.show_if.in_) if q.show_if else [],
                    role=QuestionRole(q.role) if q.role else None,
                    concern_values=list(q.concern_if),
                )
            )
    db.session.flush()


def import_questionnaire(
    partnership_id: int,
    data: dict[str, Any],
    *,
    publish: bool = False,
    key: str | None = None,
    title: str | None = None,
) -> QuestionnaireVersion:
    """Create a questionnaire (or the next draft of an existing one) from a spec.

    Refused whole, with every problem listed (SpecError), if anything is wrong;
    nothing is written then. An existing draft of the same questionnaire is
    replaced.
    """
    data = dict(data)
    if key is not None:
        data["key"] = key
    if title is not None:
        data["title"] = title
    context = spec_context(partnership_id)
    spec = validate_spec(data, context, complete=True)
    questionnaire = db.session.scalar(
        sa.select(Questionnaire).where(Questionnaire.partnership_id == partnership_id, Questionnaire.key == spec.key)
    )
    if questionnaire is not None and questionnaire.kind != spec.kind:
        raise SpecError(
            [
                SpecProblem(
                    "kind",
                    f"questionnaire '{spec.key}' exists as a {questionnaire.kind.label.lower()}; the kind cannot change",
                )
            ]
        )
    scales = available_scales(partnership_id)
    for scale_spec in spec.scales:
        if scale_spec.key not in scales:
            scales[scale_spec.key] = _make_scale(partnership_id, scale_spec)
    theme = _theme(partnership_id, spec.theme)
    if questionnaire is None:
        questionnaire = Questionnaire(
            partnership_id=partnership_id,
            key=spec.key,
            title=spec.title,
            kind=spec.kind,
            theme_id=theme.id if theme else None,
            description=spec.description,
        )
        db.session.add(questionnaire)
        db.session.flush()
    else:
        questionnaire.title = spec.title
        questionnaire.theme_id = theme.id if theme else None
        questionnaire.description = spec.description
    version = questionnaire.draft
    if version is None:
        version = QuestionnaireVersion(questionnaire_id=questionnaire.id, number=_next_number(questionnaire))
        db.session.add(version)
        db.session.flush()
        db.session.refresh(questionnaire)
    _fill_version(version, spec, scales)
    if publish:
        publish_version(version)
    return version


def import_text(partnership_id: int, text: str, *, publish: bool = False) -> QuestionnaireVersion:
    """Import YAML or JSON text (see import_questionnaire)."""
    return import_questionnaire(partnership_id, parse_text(text), publish=publish)


def _next_number(questionnaire: Questionnaire) -> int:
    return (
        db.session.scalar(
            sa.select(sa.func.max(QuestionnaireVersion.number)).where(
                QuestionnaireVersion.questionnaire_id == questionnaire.id
            )
        )
        or 0
    ) + 1


# -- the library --


@functools.lru_cache(maxsize=64)
def _library_file(path: Path, mtime_ns: int) -> dict[str, Any]:
    """One library file, parsed once per process and version of the file (parsing the library took
    seconds on every library page and every "use this questionnaire")."""
    return parse_text(path.read_text(encoding="utf-8"))


def library() -> list[dict[str, Any]]:
    """The shipped questionnaires: key, title, kind, theme, description, file name."""
    items = []
    for path in sorted(LIBRARY_DIR.glob("*.yaml")):
        data = copy.deepcopy(_library_file(path, path.stat().st_mtime_ns))  # callers may change their copy
        items.append(
            {
                "file": path.name,
                "key": data.get("key"),
                "title": data.get("title"),
                "kind": QuestionnaireKind(data.get("kind")),
                "theme": data.get("theme"),
                "description": data.get("description", ""),
                "data": data,
            }
        )
    return items


def start_from_library(
    partnership_id: int, library_key: str, *, key: str | None = None, title: str | None = None
) -> QuestionnaireVersion:
    """A new questionnaire (draft) from one of the shipped ones."""
    item = next((i for i in library() if i["key"] == library_key), None)
    if item is None:
        raise DomainError("Choose a questionnaire from the library", field="library_key")
    _check_key_free(partnership_id, key or item["key"])
    return import_questionnaire(partnership_id, item["data"], key=key, title=title)


def copy_questionnaire(source: QuestionnaireVersion, *, key: str, title: str) -> QuestionnaireVersion:
    """A new questionnaire (draft) with the content of another's version."""
    partnership_id = source.questionnaire.partnership_id
    _check_key_free(partnership_id, key)
    return import_questionnaire(partnership_id, export_version(source), key=key, title=title)


def _check_key_free(partnership_id: int, key: str) -> None:
    exists = db.session.scalar(
        sa.select(Questionnaire.id).where(Questionnaire.partnership_id == partnership_id, Questionnaire.key == key)
    )
    if exists is not None:
        raise ConflictError(f"A questionnaire with key '{key}' already exists", field="key")


def create_questionnaire(
    partnership_id: int, *, key: str, title: str, kind: QuestionnaireKind, theme: str | None, description: str = ""
) -> QuestionnaireVersion:
    """An empty questionnaire with its first draft."""
    _check_key_free(partnership_id, key)
    data = {"key": key, "title": title, "kind": kind.value, "theme": theme or None, "description": description}
    spec = validate_spec(data, spec_context(partnership_id), complete=False)
    theme_row = _theme(partnership_id, spec.theme)
    questionnaire = Questionnaire(
        partnership_id=partnership_id,
        key=spec.key,
        title=spec.title,
        kind=spec.kind,
        theme_id=theme_row.id if theme_row else None,
        description=spec.description,
    )
    db.session.add(questionnaire)
    db.session.flush()
    version = QuestionnaireVersion(questionnaire_id=questionnaire.id, number=1)
    db.session.add(version)
    db.session.flush()
    return version


def update_details(questionnaire: Questionnaire, *, title: str, theme: str | None, description: str) -> None:
    """Title, theme and description (they belong to the questionnaire, not a version)."""
    title = title.strip()
    if not title:
        raise DomainError("Enter a title", field="title")
    theme_row = _theme(questionnaire.partnership_id, (theme or "").strip() or None)
    questionnaire.title = title
    questionnaire.theme_id = theme_row.id if theme_row else None
    questionnaire.description = description.strip()
    db.session.flush()


# -- the version life cycle --


def version_in_use(version: QuestionnaireVersion) -> bool:
    """True if any round uses this version."""
    from ..rounds.models import Round

    return (
        db.session.scalar(sa.select(Round.id).where(Round.questionnaire_version_id == version.id).limit(1)) is not None
    )


def check_editable(version: QuestionnaireVersion) -> None:
    """Refuse changes to a published, retired or in-use version."""
    if version_in_use(version):
        raise NotAllowedError("This version is used by a round and can never be changed; make a new draft instead")
    if version.status != VersionStatus.DRAFT:
        raise NotAllowedError("Published versions cannot be changed or deleted; make a new draft instead, or retire it")


def publish_version(version: QuestionnaireVersion) -> None:
    """Make a draft the published version; it is immutable from now on."""
    check_editable(version)
    validate_spec(export_version(version), spec_context(version.questionnaire.partnership_id), complete=True)
    version.status = VersionStatus.PUBLISHED
    version.published_at = utcnow()
    db.session.flush()


def new_draft(questionnaire: Questionnaire) -> QuestionnaireVersion:
    """The next draft, copied from the latest version; keys stay the same."""
    if questionnaire.draft is not None:
        raise NotAllowedError("This questionnaire already has a draft; edit that one")
    source = questionnaire.latest
    spec = validate_spec(export_version(source), spec_context(questionnaire.partnership_id), complete=False)
    version = QuestionnaireVersion(questionnaire_id=questionnaire.id, number=_next_number(questionnaire))
    db.session.add(version)
    db.session.flush()
    db.session.refresh(questionnaire)
    _fill_version(version, spec, available_scales(questionnaire.partnership_id))
    return version


def retire_version(version: QuestionnaireVersion) -> None:
    """Stop a published version being chosen for new rounds; rounds using it keep it."""
    if version.status != VersionStatus.PUBLISHED:
        raise NotAllowedError("Only a published version can be retired")
    version.status = VersionStatus.RETIRED
    version.retired_at = utcnow()
    db.session.flush()


def delete_draft(version: QuestionnaireVersion) -> None:
    """Throw a draft away. A questionnaire with no other version goes too."""
    check_editable(version)
    questionnaire = version.questionnaire
    db.session.delete(version)
    db.session.flush()
    db.session.refresh(questionnaire)
    if not questionnaire.versions:
        db.session.delete(questionnaire)
        db.session.flush()


# -- editing a draft: each change is checked against the full rules --


def _revalidate(version: QuestionnaireVersion) -> None:
    db.session.flush()
    db.session.expire(version)
    validate_spec(export_version(version), spec_context(version.questionnaire.partnership_id), complete=False)


def _check_key_unused(items: list[Any], key: str, path: str, what: str, exclude: Any = None) -> None:
    # Checked before the flush, so the database's unique constraint is never what refuses.
    for item in items:
        if item is not exclude and item.key == key:
            raise SpecError([SpecProblem(path, f"{what} key '{key}' is already used")])


def add_section(version: QuestionnaireVersion, *, key: str, title: str, description: str = "") -> Section:
    """Append a section to a draft."""
    check_editable(version)
    _check_key_unused(version.sections, key, f"sections[{len(version.sections)}].key", "section")
    position = len(version.sections)
    section = Section(
        version_id=version.id, key=key, position=position, title=title.strip(), description=description.strip()
    )
    db.session.add(section)
    _revalidate(version)
    return section


def update_section(section: Section, *, key: str, title: str, description: str = "") -> None:
    check_editable(section.version)
    _check_key_unused(section.version.sections, key, f"sections[{section.position}].key", "section", exclude=section)
    section.key = key
    section.title = title.strip()
    section.description = description.strip()
    _revalidate(section.version)


def remove_section(section: Section) -> None:
    """Remove a section and its questions; conditions that pointed at them must be removed first."""
    version = section.version
    check_editable(version)
    db.session.delete(section)
    db.session.flush()
    _renumber(sorted(version.sections, key=lambda s: s.position))
    _revalidate(version)


def move_section(section: Section, offset: int) -> None:
    """Move a section up (-1) or down (+1)."""
    version = section.version
    check_editable(version)
    _move(sorted(version.sections, key=lambda s: s.position), section, offset)


def _renumber(items: list[Any]) -> None:
    # Two passes so the unique position constraints are never hit mid-way.
    for i, item in enumerate(items):
        item.position = 10_000 + i
    db.session.flush()
    for i, item in enumerate(items):
        item.position = i
    db.session.flush()


def _move(items: list[Any], item: Any, offset: int) -> None:
    index = items.index(item)
    target = index + offset
    if not 0 <= target < len(items):
        raise NotAllowedError("It is already at the " + ("top" if offset < 0 else "bottom"))
    items[index], items[target] = items[target], items[index]
    _renumber(items)


QUESTION_FIELDS = (
    "key",
    "text",
    "guidance",
    "type",
    "scale_id",
    "is_required",
    "applies_to",
    "options",
    "condition_question_key",
    "condition_values",
    "role",
    "concern_values",
)


def add_question(section: Section, **fields: Any) -> Question:
    """Append a question to a section of a draft."""
    version = section.version
    check_editable(version)
    path = f"sections[{section.position}].questions[{len(section.questions)}].key"
    _check_key_unused(version.questions, fields.get("key", ""), path, "question")
    question = Question(version_id=version.id, section_id=section.id, position=len(section.questions))
    _set_question(question, fields)
    db.session.add(question)
    _revalidate(version)
    return question


def update_question(question: Question, **fields: Any) -> None:
    """Change a question of a draft; ``section_id`` moves it to the end of another section."""
    version = question.section.version
    check_editable(version)
    if "key" in fields:
        path = f"sections[{question.section.position}].questions[{question.position}].key"
        _check_key_unused(version.questions, fields["key"], path, "question", exclude=question)
    new_section_id = fields.pop("section_id", None)
    if new_section_id is not None and new_section_id != question.section_id:
        target = next((s for s in version.sections if s.id == new_section_id), None)
        if target is None:
            raise DomainError("Choose a section of this version", field="section_id")
        old_section = question.section
        question.section_id = target.id
        question.position = 10_000 + len(target.questions)
        db.session.flush()
        db.session.expire(old_section)
        db.session.expire(target)
        _renumber(sorted(old_section.questions, key=lambda q: q.position))
        _renumber(sorted(target.questions, key=lambda q: q.position))
    _set_question(question, fields)
    _revalidate(version)


def _set_question(question: Question, fields: dict[str, Any]) -> None:
    for name in QUESTION_FIELDS:
        if name in fields:
            setattr(question, name, fields[name])
    if question.type != QuestionType.SCALE:
        question.scale_id = None
    if question.type not in (QuestionType.SINGLE_CHOICE, QuestionType.MULTIPLE_CHOICE):
        question.options = []
    if not question.condition_question_key:
        question.condition_question_key = None
        question.condition_values = []
    if question.role != QuestionRole.IMMEDIATE_CONCERN:
        question.concern_values = []
    elif not question.concern_values:
        # the editor does not ask: the file format's default ("Yes" where it is an answer)
        scale = db.session.get(Scale, question.scale_id) if question.scale_id else None
        answers = [level.label for level in scale.levels] if scale else list(question.options)
        question.concern_values = default_concern_values(answers)


def remove_question(question: Question) -> None:
    section = question.section
    version = section.version
    check_editable(version)
    db.session.delete(question)
    db.session.flush()
    db.session.expire(section)
    _renumber(sorted(section.questions, key=lambda q: q.position))
    _revalidate(version)


def move_question(question: Question, offset: int) -> None:
    check_editable(question.section.version)
    _move(sorted(question.section.questions, key=lambda q: q.position), question, offset)


# -- comparing versions --


def diff_versions(old: QuestionnaireVersion, new: QuestionnaireVersion) -> list[dict[str, Any]]:
    """What changed from ``old`` to ``new``, by section and question key.

    Each change: ``{"kind": "added"|"removed"|"changed"|"moved", "what": "section"|"question",
    "key", "title", "fields": {name: (before, after)}}``.
    """
    changes: list[dict[str, Any]] = []
    old_spec, new_spec = export_version(old), export_version(new)
    old_sections = {s["key"]: s for s in old_spec["sections"]}
    new_sections = {s["key"]: s for s in new_spec["sections"]}
    for key, section in new_sections.items():
        if key not in old_sections:
            changes.append({"kind": "added", "what": "section", "key": key, "title": section["title"], "fields": {}})
            continue
        fields = {
            name: (old_sections[key].get(name, ""), section.get(name, ""))
            for name in ("title", "description")
            if old_sections[key].get(name, "") != section.get(name, "")
        }
        if fields:
            changes.append(
                {"kind": "changed", "what": "section", "key": key, "title": section["title"], "fields": fields}
            )
    for key, section in old_sections.items():
        if key not in new_sections:
            changes.append({"kind": "removed", "what": "section", "key": key, "title": section["title"], "fields": {}})

    def questions(spec: dict[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
        return {q["key"]: (s["key"], q) for s in spec["sections"] for q in s["questions"]}

    old_questions, new_questions = questions(old_spec), questions(new_spec)
    for key, (section_key, question) in new_questions.items():
        if key not in old_questions:
            changes.append({"kind": "added", "what": "question", "key": key, "title": question["text"], "fields": {}})
            continue
        old_section_key, old_question = old_questions[key]
        names = sorted(set(old_question) | set(question))
        fields = {n: (old_question.get(n), question.get(n)) for n in names if old_question.get(n) != question.get(n)}
        if old_section_key != section_key:
            fields["section"] = (old_section_key, section_key)
        if fields:
            changes.append(
                {"kind": "changed", "what": "question", "key": key, "title": question["text"], "fields": fields}
            )
    for key, (_, question) in old_questions.items():
        if key not in new_questions:
            changes.append({"kind": "removed", "what": "question", "key": key, "title": question["text"], "fields": {}})
    return changes
