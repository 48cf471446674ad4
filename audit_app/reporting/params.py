"""Reading a findings request's parameters (filters, years, suppression), for pages and the API alike.

Each returns what was asked for and an error per field for anything it refuses, so
a page shows its error summary and the API answers 400 naming the field.
"""

from __future__ import annotations

from flask import abort, request

from ..case_audits.cohort import CASE_FIELD_CHOICES
from ..rounds.models import Round
from .queries import Filters, round_filter_choices

FILTER_LABELS = {
    "sector": "Sector",
    "plan_type": "Plan type",
    "age_band": "Age band",
    "sex": "Sex",
    "ethnicity": "Ethnicity",
    "disability": "Disability",
}


def filter_rows(filters: Filters, choices: dict[str, list] | None = None) -> list[tuple[str, str]]:
    """The filters set, as people read them: (label, value's label), never a key."""
    rows = []
    for name, value in filters.as_args().items():
        shown = dict(choices.get(name, [])) if choices else {}
        if name in CASE_FIELD_CHOICES:
            shown = CASE_FIELD_CHOICES[name] | shown
        rows.append((FILTER_LABELS[name], shown.get(value, value)))
    return rows


def suppress() -> bool:
    """``suppress=1`` (or ``true``): counts from 1 to 4 read "fewer than 5"."""
    value = request.args.get("suppress", "").strip().lower()
    if value not in ("", "0", "1", "false", "true"):
        abort(400, "Suppress: use 1 to show small counts as \u201cfewer than 5\u201d, or 0")
    return value in ("1", "true")


def filters(round_: Round, scope: frozenset[int] | None) -> tuple[Filters, dict[str, list], dict[str, str]]:
    """The round filters asked for, checked against the values the round has."""
    choices = round_filter_choices(round_.id, scope)
    values, errors = {}, {}
    for name, label in FILTER_LABELS.items():
        value = request.args.get(name, "").strip()
        if value and value not in {key for key, _ in choices[name]}:
            errors[name] = f"{label}: choose one of the values listed"
            value = ""
        values[name] = value
    return Filters(**values), choices, errors


def years() -> tuple[tuple[int, int] | None, dict[str, str], dict[str, str]]:
    raw = {name: request.args.get(name, "").strip() for name in ("from_year", "to_year")}
    errors = {}
    years: dict[str, int] = {}
    for name, label in (("from_year", "From year"), ("to_year", "To year")):
        if raw[name]:
            if not raw[name].isdigit() or not 2000 <= int(raw[name]) <= 2100:
                errors[name] = f"{label}: enter a year such as 2025"
            else:
                years[name] = int(raw[name])
    if not errors and len(years) == 2 and years["from_year"] > years["to_year"]:
        errors["to_year"] = "To year: must be the same as or after the from year"
    if errors or not years:
        return None, raw, errors
    return (years.get("from_year", 2000), years.get("to_year", 2100)), raw, errors
