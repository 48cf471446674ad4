"""Forms for building questionnaires and scales."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxesInput,
    GovCheckboxInput,
    GovFileInput,
    GovRadioInput,
    GovSelect,
    GovSubmitInput,
    GovTextArea,
    GovTextInput,
)
from wtforms import BooleanField, SelectMultipleField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, Regexp, ValidationError

from ..core.forms import OptionRadioField, OptionSelectField, strip_filter
from .models import QuestionnaireKind, QuestionRole, QuestionType
from .spec import KEY_PATTERN

KEY_MESSAGE = "Use lower-case letters, digits and underscores, starting with a letter or digit (64 at most)"


def _key_field(label: str, description: str) -> StringField:
    return StringField(
        label,
        widget=GovTextInput(),
        filters=[strip_filter],
        description=description,
        validators=[DataRequired("Enter a key"), Regexp(KEY_PATTERN, message=KEY_MESSAGE)],
    )


def _optional_int(value: object) -> int | None:
    if value in (None, "", "None"):
        return None
    return int(value)  # type: ignore[arg-type]  # ValueError becomes the field's choice error


def _lines(value: str | None) -> list[str]:
    return [line.strip() for line in (value or "").splitlines() if line.strip()]


class QuestionnaireForm(FlaskForm):
    key = _key_field("Key", "A short identifier that never changes, such as cse_case_audit. Used in files and the API.")
    title = StringField(
        "Title",
        widget=GovTextInput(),
        filters=[strip_filter],
        validators=[DataRequired("Enter a title"), Length(max=200, message="Title must be 200 characters or fewer")],
    )
    kind = OptionRadioField(
        "What is it for?",
        widget=GovRadioInput(),
        choices=[(k.value, k.label) for k in QuestionnaireKind],
        validators=[DataRequired("Choose what the questionnaire is for")],
    )
    theme = StringField(
        "Theme",
        widget=GovTextInput(),
        filters=[strip_filter],
        description="For example Child sexual exploitation, Neglect, Section 11. Leave empty if none.",
        validators=[Optional(), Length(max=120, message="Theme must be 120 characters or fewer")],
    )
    description = TextAreaField(
        "Description",
        widget=GovTextArea(),
        filters=[strip_filter],
        description="When to use it and who completes it.",
        validators=[Optional(), Length(max=5000, message="Description must be 5000 characters or fewer")],
    )
    submit = SubmitField("Save", widget=GovSubmitInput())


class DetailsForm(FlaskForm):
    title = QuestionnaireForm.title
    theme = QuestionnaireForm.theme
    description = QuestionnaireForm.description
    submit = SubmitField("Save details", widget=GovSubmitInput())


class CopyForm(FlaskForm):
    key = _key_field(
        "Key of the new questionnaire", "It must be different from every questionnaire of the partnership."
    )
    title = QuestionnaireForm.title
    submit = SubmitField("Make a copy", widget=GovSubmitInput())


class LibraryForm(FlaskForm):
    key = StringField(
        "Key",
        widget=GovTextInput(),
        filters=[strip_filter],
        description="Leave empty to keep the library's key.",
        validators=[Optional(), Regexp(KEY_PATTERN, message=KEY_MESSAGE)],
    )
    submit = SubmitField("Use this questionnaire", widget=GovSubmitInput())


class ImportForm(FlaskForm):
    file = FileField("Questionnaire file (YAML or JSON)", widget=GovFileInput())
    text = TextAreaField(
        "Or paste the file's text",
        widget=GovTextArea(),
        validators=[Optional(), Length(max=500_000, message="The text must be 500,000 characters or fewer")],
    )
    submit = SubmitField("Import", widget=GovSubmitInput())

    def validate_text(self, field: TextAreaField) -> None:
        if not field.data and not (self.file.data and getattr(self.file.data, "filename", "")):
            raise ValidationError("Choose a file or paste its text")


class SectionForm(FlaskForm):
    title = StringField(
        "Section title",
        widget=GovTextInput(),
        filters=[strip_filter],
        validators=[
            DataRequired("Enter a section title"),
            Length(max=200, message="Title must be 200 characters or fewer"),
        ],
    )
    key = _key_field("Key", "Stays the same in later versions, so answers can be compared year on year.")
    description = TextAreaField(
        "Description",
        widget=GovTextArea(),
        filters=[strip_filter],
        validators=[Optional(), Length(max=5000, message="Description must be 5000 characters or fewer")],
    )
    submit = SubmitField("Save section", widget=GovSubmitInput())


class QuestionForm(FlaskForm):
    text = TextAreaField(
        "Question",
        widget=GovTextArea(),
        filters=[strip_filter],
        validators=[
            DataRequired("Enter the question"),
            Length(max=2000, message="The question must be 2000 characters or fewer"),
        ],
    )
    key = _key_field("Key", "Stays the same in later versions, so answers can be compared year on year.")
    guidance = TextAreaField(
        "Guidance for the person answering",
        widget=GovTextArea(),
        filters=[strip_filter],
        validators=[Optional(), Length(max=5000, message="Guidance must be 5000 characters or fewer")],
    )
    type = OptionRadioField(
        "Type of answer",
        widget=GovRadioInput(),
        choices=[(t.value, t.label) for t in QuestionType],
        validators=[DataRequired("Choose the type of answer")],
    )
    scale_id = OptionSelectField("Scale (for ratings)", widget=GovSelect(), coerce=_optional_int)
    options = TextAreaField(
        "Options (for choice questions), one per line",
        widget=GovTextArea(),
        validators=[Optional(), Length(max=10_000, message="Options must be 10,000 characters or fewer")],
    )
    role = OptionSelectField(
        "What findings use it for",
        widget=GovSelect(),
        choices=[("", "Nothing in particular (no role)")] + [(r.value, r.label) for r in QuestionRole],
        coerce=lambda value: getattr(value, "value", value) or "",
        description=(
            "A section's grade and the overall grade are rating questions; strengths, areas for development, "
            "recommendations and evidence are free text. A section has one grade; a questionnaire one overall grade."
        ),
    )
    is_required = BooleanField("An answer is required before the return can be submitted", widget=GovCheckboxInput())
    applies_to = SelectMultipleField(
        "Which sectors answer it?",
        widget=GovCheckboxesInput(),
        description="Leave all unticked for every sector.",
        choices=[],
    )
    condition_question_key = OptionSelectField(
        "Show it only if another question has certain answers",
        widget=GovSelect(),
        coerce=lambda value: value or "",
        description="Leave as 'Always show' unless it is a follow-up question.",
    )
    condition_values = TextAreaField(
        "…and those answers are (one per line)",
        widget=GovTextArea(),
        description="Use the exact option or scale level labels, such as Yes.",
        validators=[Length(max=5000, message="Answers must be 5000 characters or fewer")],
    )
    section_id = OptionSelectField("Section", widget=GovSelect(), coerce=_optional_int)
    submit = SubmitField("Save question", widget=GovSubmitInput())

    def validate_condition_values(self, field: TextAreaField) -> None:
        if self.condition_question_key.data and not _lines(field.data):
            raise ValidationError("Enter the answers that show this question")

    def service_fields(self) -> dict[str, object]:
        return {
            "key": self.key.data,
            "text": self.text.data,
            "guidance": self.guidance.data or "",
            "type": QuestionType(self.type.data),
            "scale_id": self.scale_id.data,
            "is_required": bool(self.is_required.data),
            "applies_to": list(self.applies_to.data or []),
            "options": _lines(self.options.data),
            "condition_question_key": self.condition_question_key.data or None,
            "condition_values": _lines(self.condition_values.data),
            "role": QuestionRole(self.role.data) if self.role.data else None,
        }


#: spec path suffix -> QuestionForm field, to show the engine's refusals beside the field
QUESTION_PATHS = {
    "key": "key",
    "text": "text",
    "guidance": "guidance",
    "type": "type",
    "scale": "scale_id",
    "options": "options",
    "applies_to": "applies_to",
    "show_if.question": "condition_question_key",
    "show_if.in": "condition_values",
    "show_if": "condition_question_key",
    "role": "role",
}
SECTION_PATHS = {"key": "key", "title": "title", "description": "description", "questions": "title"}


class ScaleForm(FlaskForm):
    name = StringField(
        "Scale name",
        widget=GovTextInput(),
        filters=[strip_filter],
        validators=[DataRequired("Enter a name"), Length(max=120, message="Name must be 120 characters or fewer")],
    )
    key = _key_field("Key", "Used in questionnaire files to name this scale.")
    levels = TextAreaField(
        "Levels, best first, one per line",
        widget=GovTextArea(),
        description=(
            'Label | value | colour, and good on the levels that count as good ("Good or better"), for example: '
            "Good | 3 | #00703c | good. Write N/A as the value for a not-applicable level. "
            "If no level says good, Outstanding and Good count where the scale has them, else the first level."
        ),
        validators=[
            DataRequired("Enter at least two levels"),
            Length(max=5000, message="Levels must be 5000 characters or fewer"),
        ],
    )
    submit = SubmitField("Save scale", widget=GovSubmitInput())

    def parsed_levels(self) -> list[dict[str, object]]:
        """The levels typed, or a ValidationError naming the line."""
        levels = []
        for number, line in enumerate(_lines(self.levels.data), start=1):
            parts = [p.strip() for p in line.split("|")]
            if len(parts) < 2 or len(parts) > 4:
                raise ValidationError(f"Line {number}: write label | value | colour | good")
            label, value = parts[0], parts[1]
            level: dict[str, object] = {"label": label}
            if value.upper() in ("N/A", "NA"):
                level["not_applicable"] = True
            else:
                try:
                    level["value"] = float(value)
                except ValueError:
                    raise ValidationError(f"Line {number}: the value must be a number or N/A") from None
            extra = parts[2:]
            if extra and extra[-1].lower() == "good":
                level["good"] = True
                extra = extra[:-1]
            elif len(extra) == 2:
                raise ValidationError(f"Line {number}: the last part can only be the word good")
            if extra and extra[0]:
                level["colour"] = extra[0]
            levels.append(level)
        return levels
