"""Form pieces shared by every domain."""

from __future__ import annotations

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovSubmitInput
from wtforms import DateField, RadioField, SelectField, SubmitField
from wtforms.validators import ValidationError


class ConfirmForm(FlaskForm):
    """A button-only form: a POST with its CSRF token and nothing else."""

    submit = SubmitField("Confirm", widget=GovSubmitInput())


def strip_filter(value: str | None) -> str | None:
    return value.strip() if isinstance(value, str) else value


def add_form_error(form: FlaskForm, message: str, field_name: str | None = None) -> None:
    """Show a service's refusal beside the field it names (or the first field)."""
    field = getattr(form, field_name, None) if field_name else None
    if field is None or not hasattr(field, "errors"):
        field = next(iter(form))
    field.errors = [*field.errors, message]
    form._errors = None  # WTForms caches form.errors; make it read the fields again


CHOICE_MESSAGE = "Select one of the options in the list"


class _PlainChoiceErrors:
    """WTForms' choice errors ("Not a valid choice", "could not coerce") in words people act on."""

    def process_formdata(self, valuelist: list[str]) -> None:
        try:
            super().process_formdata(valuelist)  # type: ignore[misc]
        except ValueError:
            raise ValueError(CHOICE_MESSAGE) from None

    def pre_validate(self, form: FlaskForm) -> None:
        try:
            super().pre_validate(form)  # type: ignore[misc]
        except ValidationError:
            raise ValidationError(CHOICE_MESSAGE) from None


class OptionSelectField(_PlainChoiceErrors, SelectField):
    """A select whose refusals say what to do, whatever was sent.

    A field left out of the post is coerced too, so a blank choice matches it.
    """

    def process_data(self, value: object) -> None:
        try:
            self.data = self.coerce(value)
        except (ValueError, TypeError):
            self.data = None


class OptionRadioField(_PlainChoiceErrors, RadioField):
    """Radios whose refusals say what to do, whatever was sent."""


class GovDateField(DateField):
    """A GOV.UK day/month/year date: refusals in plain words, and never a crash on missing parts."""

    def process_formdata(self, valuelist: list[str]) -> None:
        if not valuelist or not any(v.strip() for v in valuelist):
            self.raw_data = None
            self.data = None
            return
        if len(valuelist) != 3:
            self.raw_data = [*valuelist, "", "", ""][:3]  # the widget shows three boxes
            self.data = None
            raise ValueError("Enter the date as day, month and year")
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError("Enter a real date, like 27 3 2027") from None
