"""What questions and levels mean, read from their roles and flags (never from keys or labels).

The case-audit pages, findings and exports call these instead of matching key
endings such as ``_grade`` or labels such as "Good": a question's role and a
level's ``counts_as_good`` are data, set in the file or the editor (see
docs/questionnaire-format.md).
"""

from __future__ import annotations

from .models import Question, QuestionnaireVersion, QuestionRole, Scale, ScaleLevel, Section

#: the text roles findings collate, in the order they are shown
TEXT_ROLES = (QuestionRole.STRENGTHS, QuestionRole.DEVELOPMENT, QuestionRole.RECOMMENDATION)


def questions_with_role(version: QuestionnaireVersion, role: QuestionRole) -> list[Question]:
    """A version's questions with ``role``, in order."""
    return [q for q in version.questions if q.role == role]


def overall_grade_question(version: QuestionnaireVersion) -> Question | None:
    """The version's overall grade (at most one: the rules refuse a second)."""
    return next(iter(questions_with_role(version, QuestionRole.OVERALL_GRADE)), None)


def section_question(section: Section, role: QuestionRole) -> Question | None:
    """A section's question with ``role`` (its grade, strengths...), or None."""
    return next((q for q in section.questions if q.role == role), None)


def section_grade_question(section: Section) -> Question | None:
    """The question that grades a section, or None."""
    return section_question(section, QuestionRole.GRADE)


def graded_sections(version: QuestionnaireVersion) -> list[tuple[Section, Question]]:
    """Each section with a grade question, and that question, in order (the overall grade is apart)."""
    out = []
    for section in version.sections:
        question = section_grade_question(section)
        if question is not None:
            out.append((section, question))
    return out


def grade_scale(version: QuestionnaireVersion) -> Scale | None:
    """The scale of the version's overall grade (also the scale the multi-agency panel grades on)."""
    question = overall_grade_question(version)
    return question.scale if question is not None else None


def immediate_concern_question(version: QuestionnaireVersion) -> Question | None:
    """The version's "was an immediate safeguarding concern identified?" question (at most one), or None."""
    return next(iter(questions_with_role(version, QuestionRole.IMMEDIATE_CONCERN)), None)


def raises_concern(question: Question, value: str | None) -> bool:
    """Whether an answer to the immediate-concern question says a concern was identified (its ``concern_if``)."""
    return bool(value) and value in question.concern_values


def good_levels(scale: Scale) -> list[ScaleLevel]:
    """The levels of a scale counted as "Good or better"."""
    return [level for level in scale.levels if level.counts_as_good]
