"""Forms for a case-audit round's cases and cohort files."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxesInput,
    GovCheckboxInput,
    GovFileInput,
    GovSelect,
    GovSubmitInput,
    GovTextInput,
)
from wtforms import BooleanField, StringField, SubmitField
from wtforms.validators import DataRequired, Length, ValidationError

from ..core.forms import OptionSelectField, OptionSelectMultipleField, id_value, strip_filter
from .cohort import AGE_BANDS, DISABILITY, ETHNICITIES, PLAN_TYPES, SEXES, reference_problem


def _blank_first(values: list[str]) -> list[tuple[str, str]]:
    return [("", "Not recorded")] + [(v, v) for v in values]


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
    ethnicity = OptionSelectField(
        "Ethnicity",
        widget=GovSelect(),
        description="The 2021 Census categories.",
        choices=[("", "Not recorded"), *list(ETHNICITIES.items())],
        coerce=lambda v: v or "",
    )
    disability = OptionSelectField(
        "Disability", widget=GovSelect(), choices=_blank_first(DISABILITY), coerce=lambda v: v or ""
    )
    plan_type = OptionSelectField(
        "Plan type", widget=GovSelect(), choices=_blank_first(PLAN_TYPES), coerce=lambda v: v or ""
    )
    agency_ids = OptionSelectMultipleField(
        "Agencies involved with the case", widget=GovCheckboxesInput(), coerce=id_value, choices=[]
    )
    submit = SubmitField("Add case", widget=GovSubmitInput())


class CohortForm(FlaskForm):
    file = FileField(
        "Cohort file (CSV or Excel)",
        widget=GovFileInput(),
        description="Columns: reference, age_band, sex, ethnicity, disability, plan_type, agencies (names or short codes separated by ;). Reference and agencies are required. Download the template for the values each column takes.",
    )
    submit = SubmitField("Upload cohort", widget=GovSubmitInput())


class CaseAgenciesForm(FlaskForm):
    """The agencies involved with a case (changed on its own page)."""

    agency_ids = OptionSelectMultipleField(
        "Agencies involved with the case", widget=GovCheckboxesInput(), coerce=id_value, choices=[]
    )
    submit = SubmitField("Save agencies", widget=GovSubmitInput())


class CarryForm(FlaskForm):
    """Re-audit: the earlier round's cases to carry into this one."""

    round_case_ids = OptionSelectMultipleField("Cases to carry", coerce=id_value, choices=[])


class RedactReferenceForm(FlaskForm):
    """Replace a wrongly entered reference everywhere, the audit trail included (admins)."""

    reference = StringField(
        "New reference or pseudonym",
        widget=GovTextInput(),
        description="What the case will be called from now on: the case number in your system, or a pseudonym "
        "such as Child K. Never a name or a date of birth.",
        validators=[DataRequired("Enter the new reference or pseudonym")],
    )
    confirm = BooleanField(
        "I understand that the current reference will be replaced everywhere it is stored, including the audit "
        "trail and every history page, and that it cannot be recovered afterwards",
        widget=GovCheckboxInput(),
        validators=[DataRequired("Confirm that the current reference will be removed everywhere for good")],
    )
    submit = SubmitField("Redact reference", widget=GovSubmitInput())

    def validate_reference(self, field: StringField) -> None:
        problem = reference_problem(field.data or "")
        if problem:
            raise ValidationError(problem)
