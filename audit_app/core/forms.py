"""Form pieces shared by every domain."""

from __future__ import annotations

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovSubmitInput
from wtforms import SubmitField


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
