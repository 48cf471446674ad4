"""Domain errors raised by services and turned into 4xx responses by views."""

from __future__ import annotations

import re

import sqlalchemy as sa


class DomainError(Exception):
    """A refused state change. ``field`` names the input at fault, if any."""

    status_code = 400

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ConflictError(DomainError):
    """The change clashes with existing data (duplicate, stale version)."""

    status_code = 409


class NotAllowedError(DomainError):
    """The change is not allowed in the object's current state."""

    status_code = 409


class FieldErrors(DomainError):
    """A change refused for several inputs at once: every problem, by field.

    ``fields`` maps each field to its problems (the API returns them as ``error.fields``, a page shows each
    beside its field); ``field`` and ``message`` name the first, for callers that show one error.
    """

    def __init__(self, fields: dict[str, list[str]], what: str = "fields") -> None:
        messages = [m for problems in fields.values() for m in problems]
        if len(messages) == 1:
            message = messages[0]
        else:
            message = f"{len(fields)} {what} need correcting: " + "; ".join(
                f"{key}: {m}" for key, problems in fields.items() for m in problems
            )
        super().__init__(message, field=next(iter(fields)))
        self.fields = fields


# -- conflicts the database detects: unique violations and stale optimistic locks --

#: What a unique constraint or index protects, by its name: (field, message). A unique violation the
#: database reports is answered with a 409 naming this field. Names not listed fall back to the
#: constraint's last column and a generic message.
UNIQUE_CONFLICTS: dict[str, tuple[str, str]] = {
    "uq_partnership_agencies_partnership_id_reference_number": (
        "reference_number",
        "Another agency of this partnership already has this reference number",
    ),
    "uq_recommendations_return_id": ("return_id", "This return's improvement actions already have a recommendation"),
    "uq_partnerships_name": ("name", "A partnership with this name already exists"),
    "uq_users_email": ("email", "Another account already uses this email"),
    "uq_api_tokens_token_hash": ("token", "This token already exists; create another"),
    # account security: two failed sign-ins for one address at the same moment; a session key drawn twice
    "uq_sign_in_failures_email_key": (
        "email",
        "Another sign-in for this address was checked at the same time: try again",
    ),
    "uq_user_sessions_key_hash": ("email", "Signing in did not finish: try again"),
    # two purges of one round at once (flask purge run twice): the second finds it done and stops
    "uq_round_purges_round_id": ("round_id", "This round's case records have already been removed"),
    "uq_memberships_user_id_partnership_id_agency_id_role": ("role", "This person already has this role"),
    "uq_memberships_no_agency": ("role", "This person already has this role"),
    "uq_sectors_partnership_id_key": ("key", "A sector with this key already exists"),
    # learning reviews: learning points and the list of learning themes
    "uq_learning_themes_partnership_id_name": ("name", "The partnership already has a learning theme with this name"),
    "uq_learning_points_review_id_number": (
        "number",
        "Another learning point was given this number at the same time: reload the review and try again",
    ),
    "uq_partnership_agencies_partnership_id_agency_id": ("agency_id", "This agency is already in the partnership"),
    "uq_sectors_partnership_id_name_key": (
        "name",
        "A sector with this name already exists (names differing only in capitals or spaces are the same)",
    ),
    "uq_partnership_agencies_partnership_id_agency_name_key": (
        "name",
        "An agency with this name already exists in the partnership (names differing only in capitals or spaces "
        "are the same)",
    ),
    "uq_partnership_agencies_partnership_id_short_code": (
        "short_code",
        "Short code: another agency of the partnership already has this code",
    ),
    "uq_cases_partnership_id_reference": ("reference", "A case with this reference already exists"),
    "uq_round_cases_round_id_case_id": ("reference", "This case is already in the round"),
    "uq_case_judgements_round_case_id_section_key": ("section_key", "This section already has a judgement"),
    "uq_learning_reviews_partnership_id_pseudonym": (
        "pseudonym",
        "Another review on the register already has this pseudonym: choose another",
    ),
    "uq_themes_partnership_id_name": ("name", "A theme with this name already exists"),
    "uq_scales_partnership_id_key": ("key", "A scale with this key already exists"),
    "uq_scales_builtin_key": ("key", "A built-in scale with this key already exists"),
    "uq_scale_levels_scale_id_position": ("position", "Two levels of this scale have the same position"),
    "uq_scale_levels_scale_id_label": ("label", "Two levels of this scale have the same label"),
    "uq_questionnaires_partnership_id_key": ("key", "A questionnaire with this key already exists"),
    "uq_questionnaire_versions_questionnaire_id_number": (
        "number",
        "Someone else saved a new version of this questionnaire at the same moment; reload and try again",
    ),
    "uq_sections_version_id_key": ("key", "Two sections have the same key"),
    "uq_questions_version_id_key": ("key", "Two questions have the same key"),
    "uq_returns_round_id_agency_id_round_case_id": ("agency_id", "This agency already has a return for this case"),
    "uq_returns_round_agency_no_case": ("agency_id", "This agency already has a return in this round"),
    "uq_answers_return_id_question_id": (
        "question_id",
        "Someone else saved this answer at the same moment; reload and try again",
    ),
    "uq_chair_reports_round_id": (
        "round_id",
        "Someone else saved this round's meeting record or chair's report at the same moment; reload and try again",
    ),
    "uq_report_recommendations_round_id_number": (
        "recommendations",
        "Someone else changed the recommendations at the same moment; reload and try again",
    ),
    "uq_practitioner_involvements_round_case_id_agency_id": (
        "agency_id",
        "Someone else saved this case's practitioners at the same moment; reload and try again",
    ),
    "uq_recommendations_partnership_id_source_key_number": (
        "number",
        "Someone else numbered a recommendation of this source at the same moment; reload and try again",
    ),
    "uq_recommendations_report_recommendation_id": (
        "report_recommendation_id",
        "This recommendation of the chair's report is already in the action plan",
    ),
    "uq_action_reminders_partnership_id_kind_subject_id_sent_on": (
        "sent_on",
        "This reminder was already sent today",
    ),
    "uq_plan_files_partnership_id_user_id_filters_key": (
        "filters",
        "Someone asked for this PDF of the plan at the same moment; reload the page to see its progress",
    ),
    "uq_report_files_round_id_kind_suppressed": (
        "kind",
        "Someone else asked for this report at the same moment; reload the page to see its progress",
    ),
    "uq_sa_report_files_round_id_partnership_id_suppressed": (
        "pdf",
        "Someone else asked for this board summary at the same moment; reload the page to see its progress",
    ),
    "uq_review_summary_files_partnership_id_year": (
        "pdf",
        "Someone else asked for this annual summary at the same moment; reload the page to see its progress",
    ),
    # learning reviews: one round of agency summaries per review, one reminder per clock and due date
    "uq_learning_reviews_summary_round_id": (
        "agency_ids",
        "Someone else asked for this review's agency summaries at the same moment: reload the review and try again",
    ),
    "uq_review_reminders_review_id_clock_kind_due_on": (
        "clock",
        "This reminder about the clock was already sent",
    ),
    # -- self-assessments: scrutiny threads, moderation, follow-up list --
    "uq_round_moderators_round_id_user_id": ("user_id", "This person is already a moderator of this round"),
    "uq_priority_criteria_round_id_question_key": (
        "question_keys",
        "Someone else changed the priority criteria at the same moment; reload and try again",
    ),
    # -- practitioner surveys --
    "uq_practitioner_surveys_round_id": (
        "round_id",
        "Someone else switched on this round's survey at the same moment; reload the page",
    ),
    "uq_survey_links_live": (
        "agency_id",
        "Someone else made a new link for this agency at the same moment; reload the page and make another",
    ),
    "uq_survey_links_token_hash": ("token", "This link already exists; make another"),
    "uq_survey_answers_response_id_question_id": ("question_id", "A question was answered twice"),
}

STALE_MESSAGE = (
    "Someone else changed this {what} at the same moment, so your change was not saved. Reload the page and try again."
)

#: how a conflict message names the object, by table
STALE_NOUNS = {"returns": "return"}


def stale_conflict(error: Exception) -> ConflictError:
    """The 409 for an optimistic-lock conflict (SQLAlchemy's ``StaleDataError``)."""
    match = re.search(r"on table '(\w+)'", str(error))
    what = STALE_NOUNS.get(match.group(1), "record") if match else "record"
    return ConflictError(STALE_MESSAGE.format(what=what), field="lock_version")


def unique_violation_name(error: Exception, metadata: sa.MetaData) -> str | None:
    """The name of the unique constraint or index an ``IntegrityError`` broke, or None if it is no
    unique violation. PostgreSQL names it; SQLite names the table's columns (or an expression index)."""
    orig = getattr(error, "orig", None)
    if orig is None:
        return None
    if getattr(orig, "sqlstate", None) is not None:  # psycopg
        if orig.sqlstate != "23505":
            return None
        diag = getattr(orig, "diag", None)
        return getattr(diag, "constraint_name", None) or ""
    text = str(orig)
    if not text.startswith("UNIQUE constraint failed"):
        return None
    named = re.search(r"index '(\w+)'", text)
    if named:
        return named.group(1)
    columns = [part.strip() for part in text.split(":", 1)[1].split(",")]
    table_name = columns[0].split(".")[0] if columns else ""
    names = [c.split(".", 1)[-1] for c in columns]
    table = metadata.tables.get(table_name)
    if table is None:
        return ""
    candidates = [c for c in table.constraints if isinstance(c, sa.UniqueConstraint)]
    candidates += [i for i in table.indexes if i.unique]
    for candidate in candidates:
        if [c.name for c in candidate.columns] == names:
            return str(candidate.name)
    return ""


def unique_conflict(name: str, metadata: sa.MetaData) -> ConflictError:
    """The 409 for a broken unique constraint or index ``name``, naming the field it protects."""
    if name in UNIQUE_CONFLICTS:
        field, message = UNIQUE_CONFLICTS[name]
        return ConflictError(message, field=field)
    field = None
    for table in metadata.tables.values():
        for candidate in [*table.constraints, *table.indexes]:
            if candidate.name == name and list(candidate.columns):
                field = list(candidate.columns)[-1].name
    what = field.replace("_", " ") if field else "these details"
    return ConflictError(
        f"Something with this {what} already exists (it may have just been added): reload and check", field=field
    )
