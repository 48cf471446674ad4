"""Reading the action plan's posted forms: the pages take plain posts (every field's problem shown beside it,
all at once) and hand the service what was given; the self-assessment challenge events read an action the same
way."""

from __future__ import annotations

from typing import Any

from ..core.errors import FieldErrors
from ..core.forms import id_value, posted_date
from . import services
from .models import Rag


def posted_id(raw: str | None) -> int | None:
    """A chosen id, or None when blank; ValueError when it is not one."""
    raw = (raw or "").strip()
    if not raw:
        return None
    return id_value(raw)


def field_errors(error: FieldErrors, ids: dict[str, str] | None = None, prefix: str = "") -> dict[str, str]:
    """A service's refusal as {the page's field id: the first message}: every field at once."""
    ids = ids or {}
    return {ids.get(name, prefix + name): problems[0] for name, problems in error.fields.items()}


def posted_action(form: Any, errors: dict[str, str], *, with_due: bool) -> services.ActionIn:
    """An action as posted (what will be done, owner, owner agency, due date, RAG); a box that cannot be read
    puts its problem in ``errors`` and is given as blank."""
    ids: dict[str, int | None] = {}
    for name, message in (
        ("owner_user_id", "Choose an owner who works in this partnership"),
        ("owner_agency_id", "Choose an agency of this partnership"),
    ):
        try:
            ids[name] = posted_id(form.get(name))
        except ValueError:
            errors[name] = message
            ids[name] = None
    due_on = None
    if with_due:
        due_on, problem = posted_date(form, "due_on", "due date")
        if problem:
            errors["due_on"] = problem
    return services.ActionIn(
        title=form.get("title") or "",
        owner_user_id=ids["owner_user_id"],
        owner_name=form.get("owner_name") or "",
        owner_agency_id=ids["owner_agency_id"],
        due_on=due_on,
        rag=form.get("rag") or Rag.GREEN.value,
    )
