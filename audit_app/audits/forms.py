"""Forms for planning rounds, adding cases and handling returns."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxesInput,
    GovCheckboxInput,
    GovDateInput,
    GovFileInput,
    GovSelect,
    GovSubmitInput,
    GovTextArea,
    GovTextInput,
)
from wtforms import BooleanField, DateField, IntegerField, SelectMultipleField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from ..core.forms import OptionSelectField, strip_filter
from .cohort import AGE_BANDS, DISABILITY, PLAN_TYPES, SEXES


def _optional_int(value: object) -> int | None:
    if value in (None, "", "None"):
        return None
    return int(value)  # type: ignore[arg-type]


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


class DaysField(IntegerField):
    def process_formdata(self, valuelist: list[str]) -> None:
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError("Enter a whole number of days, like 3") from None


def _blank_first(values: list[str]) -> list[tuple[str, str]]:
    return [("", "Not recorded")] + [(v, v) for v in values]


class RoundForm(FlaskForm):
    title = StringField(
        "Title",
        widget=GovTextInput(),
        filters=[strip_filter],
        description="For example 'CSE multi-agency case audit, spring 2027'.",
        validators=[DataRequired("Enter a title"), Length(max=200, message="Title must be 200 characters or fewer")],
    )
    version_id = OptionSelectField(
        "Questionnaire", widget=GovSelect(), coerce=_optional_int, validators=[DataRequired("Choose a questionnaire")]
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
        coerce=_optional_int,
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


class CaseForm(FlaskForm):
    reference = StringField(
        "Case reference or pseudonym",
        widget=GovTextInput(),
        filters=[strip_filter],
        description="The case number in your system, or a pseudonym such as Child K. Never a name or a date of birth.",
        validators=[
            DataRequired("Enter a case reference or pseudonym"),
            Length(max=40, message="The reference must be 40 characters or fewer"),
        ],
    )
    age_band = OptionSelectField(
        "Age band", widget=GovSelect(), choices=_blank_first(AGE_BANDS), coerce=lambda v: v or ""
    )
    sex = OptionSelectField("Sex", widget=GovSelect(), choices=_blank_first(SEXES), coerce=lambda v: v or "")
    ethnicity = StringField(
        "Ethnicity",
        widget=GovTextInput(),
        filters=[strip_filter],
        validators=[Optional(), Length(max=60, message="Ethnicity must be 60 characters or fewer")],
    )
    disability = OptionSelectField(
        "Disability", widget=GovSelect(), choices=_blank_first(DISABILITY), coerce=lambda v: v or ""
    )
    plan_type = OptionSelectField(
        "Plan type", widget=GovSelect(), choices=_blank_first(PLAN_TYPES), coerce=lambda v: v or ""
    )
    agency_ids = SelectMultipleField(
        "Agencies involved with the case", widget=GovCheckboxesInput(), coerce=int, choices=[]
    )
    submit = SubmitField("Add case", widget=GovSubmitInput())


class CohortForm(FlaskForm):
    file = FileField(
        "Cohort file (CSV or Excel)",
        widget=GovFileInput(),
        description="Columns: reference, age_band, sex, ethnicity, disability, plan_type, agencies (names separated by ;). Reference and agencies are required.",
    )
    submit = SubmitField("Upload cohort", widget=GovSubmitInput())


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
