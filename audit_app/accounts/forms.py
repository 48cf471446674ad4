"""Forms for signing in, accounts, agencies, sectors and tokens."""

from __future__ import annotations

from flask_wtf import FlaskForm
from govuk_frontend_wtf.wtforms_widgets import (
    GovCheckboxInput,
    GovPasswordInput,
    GovRadioInput,
    GovSelect,
    GovSubmitInput,
    GovTextInput,
)
from wtforms import BooleanField, IntegerField, PasswordField, StringField, SubmitField
from wtforms.validators import (
    DataRequired,
    Email,
    EqualTo,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    StopValidation,
    ValidationError,
)

from ..core.forms import OptionRadioField, OptionSelectField, strip_filter
from ..core.roles import ROLE_LABELS, Role
from .services import PASSWORD_MAX, PASSWORD_MIN, RETENTION_MAX_MONTHS, RETENTION_MIN_MONTHS


def _coerce_optional_int(value: object) -> int | None:
    if value in (None, "", "None"):
        return None
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError("Select a valid option") from None


class LoginForm(FlaskForm):
    email = StringField(
        "Email address",
        widget=GovTextInput(),
        filters=[strip_filter],
        validators=[DataRequired("Enter your email address"), Length(max=320, message="Email address is too long")],
    )
    password = PasswordField(
        "Password",
        widget=GovPasswordInput(),
        validators=[InputRequired("Enter your password"), Length(max=PASSWORD_MAX, message="Password is too long")],
    )
    submit = SubmitField("Sign in", widget=GovSubmitInput())


class TwoFactorCodeForm(FlaskForm):
    """The second step of signing in: a code from the app, or a recovery code."""

    code = StringField(
        "Code",
        widget=GovTextInput(),
        filters=[strip_filter],
        description="The 6-digit code your authenticator app shows, or one of your recovery codes.",
        validators=[
            DataRequired("Enter the code from your authenticator app, or a recovery code"),
            Length(max=40, message="The code must be 40 characters or fewer"),
        ],
    )
    submit = SubmitField("Continue", widget=GovSubmitInput())


class TwoFactorEnrolForm(FlaskForm):
    """Confirm a new authenticator app with the code it shows."""

    code = StringField(
        "Code from your app",
        widget=GovTextInput(),
        filters=[strip_filter],
        description="6 digits, such as 123456.",
        validators=[
            DataRequired("Enter the 6-digit code from your authenticator app"),
            Length(max=40, message="The code must be 40 characters or fewer"),
        ],
    )
    submit = SubmitField("Turn on two-factor sign-in", widget=GovSubmitInput())


class ConfirmIdentityForm(FlaskForm):
    """Your password or a current code, before turning two-factor sign-in off or making new recovery codes."""

    answer = PasswordField(
        "Your password, or a code from your authenticator app",
        widget=GovPasswordInput(),
        validators=[
            InputRequired("Enter your password or a code from your authenticator app"),
            Length(max=PASSWORD_MAX, message="That is too long to be your password"),
        ],
    )
    submit = SubmitField("Continue", widget=GovSubmitInput())


class SetPasswordForm(FlaskForm):
    password = PasswordField(
        "New password",
        widget=GovPasswordInput(),
        description=f"At least {PASSWORD_MIN} characters. A phrase of several words is easy to remember.",
        validators=[
            InputRequired("Enter a new password"),
            Length(
                min=PASSWORD_MIN,
                max=PASSWORD_MAX,
                message=f"Password must be between {PASSWORD_MIN} and {PASSWORD_MAX} characters",
            ),
        ],
    )
    confirm = PasswordField(
        "Confirm new password",
        widget=GovPasswordInput(),
        validators=[InputRequired("Enter the password again"), EqualTo("password", "The passwords do not match")],
    )
    submit = SubmitField("Set password", widget=GovSubmitInput())


class SectorForm(FlaskForm):
    name = StringField(
        "Sector name",
        widget=GovTextInput(),
        filters=[strip_filter],
        validators=[
            DataRequired("Enter a sector name"),
            Length(max=120, message="Sector name must be 120 characters or fewer"),
        ],
    )
    submit = SubmitField("Save sector", widget=GovSubmitInput())


class AgencyForm(FlaskForm):
    name = StringField(
        "Agency name",
        widget=GovTextInput(),
        filters=[strip_filter],
        validators=[
            DataRequired("Enter the agency's name"),
            Length(max=200, message="Agency name must be 200 characters or fewer"),
        ],
    )
    sector_id = OptionSelectField(
        "Sector", widget=GovSelect(), coerce=_coerce_optional_int, validators=[InputRequired("Select a sector")]
    )
    short_code = StringField(
        "Short code (optional)",
        widget=GovTextInput(),
        filters=[strip_filter],
        description="The partnership's own abbreviation, such as MPS or GOSH. Cohort files may name the agency by it.",
        validators=[Length(max=20, message="Short code must be 20 characters or fewer")],
    )
    reference_number = StringField(
        "Reference number (optional)",
        widget=GovTextInput(),
        filters=[strip_filter],
        description="An official number for the setting, such as a school's URN or an Ofsted number. The settings "
        "CSV import matches on it.",
        validators=[Length(max=40, message="Reference number must be 40 characters or fewer")],
    )
    contact_email = StringField(
        "Contact email (optional)",
        widget=GovTextInput(),
        filters=[strip_filter],
        description="The setting's safeguarding contact, for a setting whose staff have no account yet.",
        validators=[Length(max=320, message="Contact email must be 320 characters or fewer")],
    )
    submit = SubmitField("Save agency", widget=GovSubmitInput())


class LinkAgencyForm(FlaskForm):
    agency_id = OptionSelectField(
        "Agency",
        widget=GovSelect(),
        coerce=_coerce_optional_int,
        description="Agencies that already belong to another partnership, such as a police force or trust covering several areas.",
        validators=[InputRequired("Select an agency")],
    )
    sector_id = OptionSelectField(
        "Sector in this partnership",
        widget=GovSelect(),
        coerce=_coerce_optional_int,
        validators=[InputRequired("Select a sector")],
    )
    submit = SubmitField("Add agency to this partnership", widget=GovSubmitInput())


ROLE_CHOICES = [(role.value, ROLE_LABELS[role]) for role in Role]


class _RoleFields(FlaskForm):
    role = OptionRadioField(
        "Role", widget=GovRadioInput(), choices=ROLE_CHOICES, validators=[InputRequired("Select a role")]
    )
    agency_id = OptionSelectField(
        "Agency",
        widget=GovSelect(),
        coerce=_coerce_optional_int,
        description="Needed for agency leads and auditors.",
    )

    def validate_agency_id(self, field: OptionSelectField) -> None:
        if self.role.data in (Role.AGENCY_LEAD.value, Role.AUDITOR.value) and field.data is None:
            raise ValidationError("Select the agency this person works for")


class MembershipForm(_RoleFields):
    submit = SubmitField("Add role", widget=GovSubmitInput())


def _name_field() -> StringField:
    return StringField(
        "Full name",
        widget=GovTextInput(),
        filters=[strip_filter],
        validators=[
            DataRequired("Enter the person's name"),
            Length(max=200, message="Name must be 200 characters or fewer"),
        ],
    )


def _email_field() -> StringField:
    return StringField(
        "Email address",
        widget=GovTextInput(),
        filters=[strip_filter],
        validators=[
            DataRequired("Enter an email address"),
            Length(max=320, message="Email address must be 320 characters or fewer"),
            Email("Enter an email address in the correct format, like name@example.org", check_deliverability=False),
        ],
    )


class UserCreateForm(_RoleFields):
    name = _name_field()
    email = _email_field()
    method = OptionRadioField(
        "How will they get a password?",
        widget=GovRadioInput(),
        choices=[("invite", "Email them an invitation to set their own password"), ("password", "Set a password now")],
        default="invite",
        validators=[InputRequired("Choose how they will get a password")],
    )
    password = PasswordField(
        "Password",
        widget=GovPasswordInput(),
        description=f"Only if you chose to set a password now. At least {PASSWORD_MIN} characters.",
    )
    submit = SubmitField("Create user", widget=GovSubmitInput())

    def validate_password(self, field: PasswordField) -> None:
        if self.method.data != "password":
            return
        if not field.data:
            raise ValidationError("Enter a password, or choose to send an invitation")
        if not PASSWORD_MIN <= len(field.data) <= PASSWORD_MAX:
            raise ValidationError(f"Password must be between {PASSWORD_MIN} and {PASSWORD_MAX} characters")


class UserEditForm(FlaskForm):
    name = _name_field()
    email = _email_field()
    submit = SubmitField("Save changes", widget=GovSubmitInput())


class ApiTokenForm(FlaskForm):
    name = StringField(
        "Token name",
        widget=GovTextInput(),
        filters=[strip_filter],
        description="What the token is for, such as 'monthly returns report'.",
        validators=[
            DataRequired("Enter a name for the token"),
            Length(max=100, message="Token name must be 100 characters or fewer"),
        ],
    )
    expires_in_days = OptionSelectField(
        "Expires after",
        widget=GovSelect(),
        coerce=_coerce_optional_int,
        choices=[("30", "30 days"), ("90", "90 days"), ("365", "1 year"), ("", "Never")],
        default="90",
        validators=[Optional()],
    )
    submit = SubmitField("Create token", widget=GovSubmitInput())


#: the most days an action reminder setting may be
REMINDER_DAYS_MAX = 90


class SettingNumberField(IntegerField):
    """A whole number setting, or empty; a value that is not one is named in the error (``not_a_number``), never
    a 500."""

    not_a_number = "Enter a whole number"

    def process_formdata(self, valuelist: list[str]) -> None:
        self.raw_data = valuelist
        if not valuelist or not (valuelist[0] or "").strip():
            self.data = None
            return
        text = valuelist[0].strip()
        if not text.isascii() or not text.isdigit() or len(text) > 6:
            self.data = None
            raise ValueError(self.not_a_number)
        self.data = int(text)

    @property
    def submitted(self) -> bool:
        """It was in the submission (empty or not): left out altogether, the setting stays as it is."""
        return bool(self.raw_data)


class ReminderDaysField(SettingNumberField):
    """A whole number of days."""

    not_a_number = f"Enter a whole number of days from 0 to {REMINDER_DAYS_MAX}, like 7"


def _days_given_or_kept(form: FlaskForm, field: ReminderDaysField) -> None:
    """Left out of the submission altogether: the setting stays as it is; sent empty: named as an error."""
    if field.raw_data is None or field.raw_data == []:
        field.errors[:] = []
        raise StopValidation()
    if field.data is None and not field.errors:
        raise StopValidation(f"Enter a number of days from 0 to {REMINDER_DAYS_MAX} (0 for never)")


class RetentionMonthsField(SettingNumberField):
    """A retention period in whole months, or empty for none."""

    not_a_number = (
        f"Enter a whole number of months from {RETENTION_MIN_MONTHS} to {RETENTION_MAX_MONTHS}, "
        "or leave it empty to keep records, like 72"
    )


RETENTION_MESSAGE = (
    f"Enter a whole number of months from {RETENTION_MIN_MONTHS} to {RETENTION_MAX_MONTHS}, "
    "or leave it empty to keep records"
)


class PartnershipSettingsForm(FlaskForm):
    qa_group_name = StringField(
        "What does your partnership call its quality assurance group?",
        widget=GovTextInput(),
        filters=[strip_filter],
        description="For example 'Learning from Practice Group' or 'Performance, Challenge and Impact subgroup'. Used on pages and reports.",
        validators=[
            DataRequired("Enter the group's name"),
            Length(max=200, message="The name must be 200 characters or fewer"),
        ],
    )
    auditors_can_submit = BooleanField(
        "Let agency auditors submit returns themselves, without an agency lead's sign-off",
        widget=GovCheckboxInput(),
    )
    require_two_factor = BooleanField(
        "Require two-factor sign-in for administrators and QA members",
        widget=GovCheckboxInput(),
        description="They sign in with a code from an authenticator app as well as their password. Anyone "
        "not yet set up is asked to set it up the next time they sign in. API tokens are not affected.",
    )
    action_remind_days_before = ReminderDaysField(
        "Remind an action's owner this many days before its due date",
        widget=GovTextInput(),
        description="A whole number from 0 to 90; 0 for no reminder. Owners without an account: the leads of "
        "their agency are reminded.",
        validators=[
            _days_given_or_kept,
            NumberRange(
                min=0, max=REMINDER_DAYS_MAX, message="Enter a number of days from 0 to 90, before the due date"
            ),
        ],
    )
    action_overdue_every_days = ReminderDaysField(
        "While an action is overdue, remind its owner every this many days",
        widget=GovTextInput(),
        description="A whole number from 0 to 90; 0 for never. The QA group also gets a weekly digest of overdue "
        "and red actions.",
        validators=[
            _days_given_or_kept,
            NumberRange(min=0, max=REMINDER_DAYS_MAX, message="Enter a number of days from 0 to 90, between reminders"),
        ],
    )
    retention_months = RetentionMonthsField(
        "Remove case records this many months after a case audit round is reported",
        widget=GovTextInput(),
        description="A whole number from 12 to 600; leave it empty to keep them until you choose. The nightly "
        "purge then removes the round's cases, returns, answers, the panel's judgements and files, and keeps its "
        "figures. Self-assessments and learning reviews are not affected.",
        validators=[
            Optional(),
            NumberRange(min=RETENTION_MIN_MONTHS, max=RETENTION_MAX_MONTHS, message=RETENTION_MESSAGE),
        ],
    )
    submit = SubmitField("Save settings", widget=GovSubmitInput())


class SwitchPartnershipForm(FlaskForm):
    partnership_id = OptionRadioField(
        "Which partnership do you want to work in?",
        widget=GovRadioInput(),
        coerce=_coerce_optional_int,
        validators=[InputRequired("Select a partnership")],
    )
    submit = SubmitField("Continue", widget=GovSubmitInput())
