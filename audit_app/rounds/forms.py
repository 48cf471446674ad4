"""Forms for planning rounds and handling returns."""

from __future__ import annotations

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxInput,
    GovDateInput,
    GovRadioInput,
    GovSelect,
    GovSubmitInput,
    GovTextArea,
    GovTextInput,
)
from wtforms import BooleanField, IntegerField, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from ..core.forms import GovDateField, OptionRadioField, OptionSelectField, optional_id, strip_filter
from ..core.inputs import MAX_ID
from .models import RoundStatus


class DaysField(IntegerField):
    def process_formdata(self, valuelist: list[str]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError("Enter a whole number of days, like 3") from None


class RoundForm(FlaskForm):
    title = StringField(
        "Title",
        widget=GovTextInput(),
        filters=[strip_filter],
        description="For example 'CSE multi-agency case audit, spring 2027'.",
        validators=[DataRequired("Enter a title"), Length(max=200, message="Title must be 200 characters or fewer")],
    )
    version_id = OptionSelectField(
        "Questionnaire", widget=GovSelect(), coerce=optional_id, validators=[DataRequired("Choose a questionnaire")]
    )
    opens_on = GovDateField(
        "Opens on",
        widget=GovDateInput(),
        format="%d %m %Y",
        description="For example, 27 3 2027",
    )
    due_on = GovDateField(
        "Returns due by",
        widget=GovDateInput(),
        format="%d %m %Y",
        description="For example, 30 4 2027",
    )
    previous_round_id = OptionSelectField(
        "Re-audit of an earlier round",
        widget=GovSelect(),
        coerce=optional_id,
        description="Choose the earlier round if this one re-audits its cases; you then choose which cases to carry.",
    )
    remind_days_before = DaysField(
        "Remind agencies this many days before the due date",
        widget=GovTextInput(),
        default=3,
        description="0 for no reminder. Reminders go to the auditors and leads of agencies with returns outstanding.",
        validators=[
            Optional(),
            NumberRange(min=0, max=60, message="Enter a number of days from 0 to 60"),
        ],
    )
    remind_days_after = DaysField(
        "Remind them again this many days after the due date",
        widget=GovTextInput(),
        default=2,
        validators=[
            Optional(),
            NumberRange(min=0, max=60, message="Enter a number of days from 0 to 60"),
        ],
    )
    shares_answers_in_discussion = BooleanField(
        "Let the agencies on a case see each other's answers once the multi-agency discussion opens",
        widget=GovCheckboxInput(),
    )
    submit = SubmitField("Plan the round", widget=GovSubmitInput())


class RoundEditForm(FlaskForm):
    """What can change until a round is reported: its title, dates and reminder days."""

    title = RoundForm.title
    opens_on = RoundForm.opens_on
    due_on = RoundForm.due_on
    remind_days_before = RoundForm.remind_days_before
    remind_days_after = RoundForm.remind_days_after
    submit = SubmitField("Save changes", widget=GovSubmitInput())


class NoteForm(FlaskForm):
    note = TextAreaField(
        "Note",
        widget=GovTextArea(),
        filters=[strip_filter],
        validators=[
            DataRequired("Enter a note"),
            Length(max=2000, message="The note must be 2000 characters or fewer"),
        ],
    )
    submit = SubmitField("Send", widget=GovSubmitInput())


class WholeNumberField(IntegerField):
    def process_formdata(self, valuelist: list[str]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError("must be a number") from None


class MoveForm(FlaskForm):
    """Move a round to another state (the buttons on the round's page)."""

    to = SelectField(
        "Move to",
        choices=[(status.value, status.label) for status in RoundStatus],
        validators=[DataRequired("choose one of the round's statuses")],
    )


class ChaseForm(FlaskForm):
    """Remind one agency (``agency_id``) or every agency with returns outstanding (none given)."""

    agency_id = WholeNumberField(
        "Agency", validators=[Optional(), NumberRange(min=1, max=MAX_ID, message="must be an agency's id")]
    )


def first_error(form: FlaskForm) -> str:
    """The first refusal of a button-only form, for a 400 (its fields are not shown to correct)."""
    for name, messages in form.errors.items():
        if name == "csrf_token":
            return "The form had expired or was not sent from this service. Reload the page and try again."
        field = getattr(form, name, None)
        label = field.label.text if field is not None and getattr(field, "label", None) else name
        return f"{label}: {messages[0]}"
    return "The request is not valid"


class ShareRoundForm(FlaskForm):
    """Share a round with another partnership (one its manager is an administrator of too)."""

    partnership_id = OptionRadioField(
        "Share this round with",
        widget=GovRadioInput(),
        coerce=optional_id,
        validators=[DataRequired("Choose the partnership to share the round with")],
    )
    submit = SubmitField("Share the round", widget=GovSubmitInput())
