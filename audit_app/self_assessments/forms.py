"""The forms of a self-assessment round's pages, one block per part of the workflow."""

from __future__ import annotations

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import GovDateInput, GovSelect, GovSubmitInput
from wtforms import SubmitField
from wtforms.validators import DataRequired

from ..core.forms import GovDateField, OptionSelectField, optional_id

# ----------------------------------------------------------------------------------------------------------
# Scrutiny threads, moderators, priority criteria
# ----------------------------------------------------------------------------------------------------------


# ----------------------------------------------------------------------------------------------------------
# Practitioner surveys
# ----------------------------------------------------------------------------------------------------------


class SurveySetUpForm(FlaskForm):
    """Switch on a round's practitioner survey, or change its questions and closing date."""

    version_id = OptionSelectField(
        "Survey questions",
        widget=GovSelect(),
        coerce=optional_id,
        description="A published practitioner survey of the partnership (start one from the library's "
        "“Practitioner survey (Section 11)” under Questionnaires).",
        validators=[DataRequired("Choose the survey's questions")],
    )
    closes_on = GovDateField(
        "Closing date",
        widget=GovDateInput(),
        format="%d %m %Y",
        description="The last day practitioners can answer. Leave it empty to close on the round's due date.",
    )
    submit = SubmitField("Save the survey", widget=GovSubmitInput())


# ----------------------------------------------------------------------------------------------------------
# Reports
# ----------------------------------------------------------------------------------------------------------


# ----------------------------------------------------------------------------------------------------------
# Challenge events
# ----------------------------------------------------------------------------------------------------------
