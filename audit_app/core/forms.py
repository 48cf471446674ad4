"""Form pieces shared by every domain."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import Any, TypeVar

from flask import abort, flash, redirect
from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovSubmitInput
from wtforms import DateField, RadioField, SelectField, SelectMultipleField, SubmitField
from wtforms.validators import ValidationError

from ..extensions import db
from .errors import DomainError
from .inputs import MAX_ID

T = TypeVar("T")


class ConfirmForm(FlaskForm):
    """A button-only form: a POST with its CSRF token and nothing else."""

    submit = SubmitField("Confirm", widget=GovSubmitInput())


class ActiveForm(FlaskForm):
    """Deactivate (``active=0``) or reactivate (``active=1``) something: the button's one value."""

    active = SelectField(choices=[("1", "Active"), ("0", "Inactive")], validators=[])


class DirectionForm(FlaskForm):
    """Move something up or down a list: the button's one value."""

    direction = SelectField(choices=[("up", "Up"), ("down", "Down")])


def id_value(value: object) -> int:
    """A posted id as an int (the ``coerce`` of choice fields of ids): ValueError outside 1 to MAX_ID,
    so an out-of-range id is the field's error, never a query PostgreSQL refuses."""
    number = int(value)  # type: ignore[call-overload]
    if not 1 <= number <= MAX_ID:
        raise ValueError(CHOICE_MESSAGE)
    return number


def optional_id(value: object) -> int | None:
    """``id_value``, with a blank choice as None."""
    if value in (None, "", "None"):
        return None
    return id_value(value)


def posted_date(
    form: Mapping[str, str], name: str, what: str, *, years: tuple[int, int] | None = (1900, 2200)
) -> tuple[date | None, str]:
    """A GOV.UK date from its ``<name>-day``, ``-month`` and ``-year`` boxes: (the date or None if all are blank,
    "" or why it is not one). ``years`` bounds the year a person can mean (None: any real date)."""
    parts = [(form.get(f"{name}-{part}") or "").strip() for part in ("day", "month", "year")]
    if not any(parts):
        return None, ""
    if not all(parts):
        return None, f"Enter the {what} as day, month and year"
    try:
        year, month, day = int(parts[2]), int(parts[1]), int(parts[0])
        if years is not None and not years[0] <= year <= years[1]:
            raise ValueError
        return date(year, month, day), ""
    except (ValueError, OverflowError):
        return None, f"Enter a real {what}, like 27 3 2027"


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


class OptionSelectMultipleField(_PlainChoiceErrors, SelectMultipleField):
    """Checkboxes or a multiple select whose refusals say what to do ("could not be coerced" never shows)."""


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


class _Refused:
    """What :func:`run_service` returns when the service refused (never a service's own result)."""

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "REFUSED"


REFUSED: Any = _Refused()


def run_service(call: Callable[[], T], *, form: FlaskForm | None = None, back: str | None = None) -> T:
    """Run a service for a view: its result, or, if it refuses (``DomainError``), the session rolled back and
    the refusal shown.

    With ``form``, each refusal is put beside the field it names (every field of a ``FieldErrors``) and
    :data:`REFUSED` comes back, for the view to show the form again with a 400. With ``back`` (a URL), the
    refusal is flashed and the request ends there with a 303 to ``back``. The view still commits on success:
    one commit per request, in the view.
    """
    try:
        return call()
    except DomainError as error:
        db.session.rollback()
        if back is not None:
            flash(error.message, "error")
            abort(redirect(back, code=303))
        if form is None:
            raise
        for field, messages in (getattr(error, "fields", None) or {error.field: [error.message]}).items():
            for message in messages:
                add_form_error(form, message, field)
        return REFUSED


def check_csrf() -> None:
    """For a page that reads its post by hand: end with 400 unless the post carries a good CSRF token."""
    if not ConfirmForm().validate_on_submit():
        abort(400, "The form has expired: go back, reload the page and try again")
