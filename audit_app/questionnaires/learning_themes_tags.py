"""Tagging a record with the partnership's learning themes: one place for every form and API that tags
(case-audit findings, challenge events).

Only active themes are offered for new tags; a retired theme already on the record stays offered (and
ticked), so saving the record again keeps it. Ids are checked against the partnership's own list.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import sqlalchemy as sa

from ..core.audit import AuditAction, record_event
from ..extensions import db
from .models import LearningTheme

#: the form and API field that carries the chosen themes
FIELD = "learning_theme_ids"


def offered_themes(partnership_id: int, current: Iterable[LearningTheme] = ()) -> list[LearningTheme]:
    """The themes a form offers: the partnership's active ones, and any retired one already tagged."""
    kept = {t.id for t in current}
    query = (
        sa.select(LearningTheme)
        .where(
            LearningTheme.partnership_id == partnership_id,
            sa.or_(LearningTheme.is_retired.is_(False), LearningTheme.id.in_(kept or {-1})),
        )
        .order_by(LearningTheme.position, LearningTheme.name)
    )
    return list(db.session.scalars(query))


def posted_theme_ids(form: Any, name: str = FIELD) -> tuple[list[int], str]:
    """The ticked theme ids of a posted form (field ``name``), and a problem if any is not an id."""
    ids: list[int] = []
    for raw in form.getlist(name):
        raw = (raw or "").strip()
        if not raw:
            continue
        if not raw.isdigit() or len(raw) > 12:
            return [], "Choose learning themes from the list"
        ids.append(int(raw))
    return ids, ""


def chosen_themes(
    partnership_id: int, ids: Sequence[int], current: Iterable[LearningTheme] = ()
) -> tuple[list[LearningTheme], list[str]]:
    """The themes for ``ids`` and the problems (an id not on the partnership's list, or a retired theme that
    was not already tagged): ``(themes, problems)``."""
    wanted = list(dict.fromkeys(ids))
    offered = {t.id: t for t in offered_themes(partnership_id, current)}
    unknown = [i for i in wanted if i not in offered]
    if unknown:
        return [], ["Choose learning themes from the partnership's list (retired themes cannot be added)"]
    return [offered[i] for i in wanted], []


def set_themes(obj: Any, themes: list[LearningTheme], *, partnership_id: int) -> None:
    """Tag ``obj`` (a model with a ``themes`` collection) with ``themes``; a change is written to the audit
    trail (the trail records columns, and a collection is not one)."""
    before = [t.id for t in obj.themes]
    if sorted(before) == sorted(t.id for t in themes):
        return
    obj.themes = themes
    db.session.flush()
    record_event(
        type(obj).__name__,
        obj.id,
        AuditAction.UPDATE,
        partnership_id=partnership_id,
        after={"learning_themes": [t.name for t in themes]},
    )


def theme_refs(themes: Iterable[LearningTheme]) -> list[dict[str, Any]]:
    """Themes as the API gives them: id and name."""
    return [{"id": t.id, "name": t.name} for t in themes]
