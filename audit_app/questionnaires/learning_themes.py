"""The partnership's list of learning themes: the one list review learning points, audit findings and
recommendations are tagged from.

Active themes come first, in the partnership's order; a retired theme is no longer offered for new tags but keeps
the tags it has. A theme is deleted only if nothing was ever tagged with it. Names are unique within the
partnership whatever their capitals or spacing. Renaming a theme renames the recommendation tags that hold it by
name. Services flush and leave the commit to the caller; a refusal names every bad field at once.
"""

from __future__ import annotations

import enum

import sqlalchemy as sa

from ..core.errors import FieldErrors, NotAllowedError
from ..extensions import db
from .models import DEFAULT_LEARNING_THEMES, LearningTheme

NAME_LIMIT = 120
DESCRIPTION_LIMIT = 2000


class Direction(enum.StrEnum):
    UP = "up"
    DOWN = "down"

    @property
    def label(self) -> str:
        return {"up": "Move up", "down": "Move down"}[self.value]


def _fold(name: str) -> str:
    return " ".join(name.split()).casefold()


def themes_of(partnership_id: int, *, active_only: bool = False) -> list[LearningTheme]:
    """The partnership's themes: active ones first, each group in the partnership's order."""
    query = sa.select(LearningTheme).where(LearningTheme.partnership_id == partnership_id)
    if active_only:
        query = query.where(LearningTheme.is_retired.is_(False))
    return list(
        db.session.scalars(
            query.order_by(LearningTheme.is_retired, LearningTheme.position, LearningTheme.name, LearningTheme.id)
        )
    )


def active_theme_names(partnership_id: int) -> list[str]:
    return [t.name for t in themes_of(partnership_id, active_only=True)]


def seed_default_themes(partnership_id: int) -> None:
    """Give a new partnership the usual list (it edits its own afterwards); a no-op if it has themes."""
    if db.session.scalar(sa.select(LearningTheme.id).where(LearningTheme.partnership_id == partnership_id).limit(1)):
        return
    for position, name in enumerate(DEFAULT_LEARNING_THEMES, start=1):
        db.session.add(LearningTheme(partnership_id=partnership_id, name=name, position=position))
    db.session.flush()


def _checked(
    partnership_id: int, name: str | None, description: str | None, *, current: LearningTheme | None = None
) -> tuple[str, str]:
    problems: dict[str, list[str]] = {}
    name = " ".join((name or "").split())
    description = (description or "").strip()
    if not name:
        problems["name"] = ["Enter the name of the learning theme"]
    elif len(name) > NAME_LIMIT:
        problems["name"] = [f"The name must be {NAME_LIMIT} characters or fewer"]
    else:
        for other in themes_of(partnership_id):
            if other is not current and _fold(other.name) == _fold(name):
                problems["name"] = [f"The partnership already has a learning theme called {other.name}"]
                break
    if len(description) > DESCRIPTION_LIMIT:
        problems["description"] = [f"The description must be {DESCRIPTION_LIMIT:,} characters or fewer"]
    if problems:
        raise FieldErrors(problems)
    return name, description


def add_theme(partnership_id: int, name: str | None, description: str | None = "") -> LearningTheme:
    """Add a theme at the end of the active list."""
    name, description = _checked(partnership_id, name, description)
    highest = db.session.scalar(
        sa.select(sa.func.max(LearningTheme.position)).where(LearningTheme.partnership_id == partnership_id)
    )
    theme = LearningTheme(
        partnership_id=partnership_id, name=name, description=description, position=(highest or 0) + 1
    )
    db.session.add(theme)
    db.session.flush()
    return theme


def _rename_recommendation_tags(partnership_id: int, old: str, new: str) -> None:
    """Recommendations hold their themes by name: move their tags to the new name (dropping a duplicate)."""
    from ..actions.models import Recommendation, RecommendationTheme

    table = RecommendationTheme.__table__
    ids = sa.select(Recommendation.id).where(Recommendation.partnership_id == partnership_id)
    rows = db.session.execute(
        sa.select(table.c.recommendation_id, table.c.name).where(table.c.recommendation_id.in_(ids))
    ).all()
    by_rec: dict[int, set[str]] = {}
    for rec_id, tag in rows:
        by_rec.setdefault(rec_id, set()).add(tag)
    for rec_id, tags in by_rec.items():
        olds = [t for t in tags if _fold(t) == _fold(old)]
        if not olds:
            continue
        has_new = new in tags
        for tag in olds:
            if tag == new:
                continue
            if has_new:
                db.session.execute(sa.delete(table).where(table.c.recommendation_id == rec_id, table.c.name == tag))
            else:
                db.session.execute(
                    sa.update(table).where(table.c.recommendation_id == rec_id, table.c.name == tag).values(name=new)
                )
                has_new = True
    db.session.expire_all()


def update_theme(theme: LearningTheme, name: str | None, description: str | None) -> LearningTheme:
    """Rename a theme or change its description; its recommendation tags follow the new name."""
    old = theme.name
    name, description = _checked(theme.partnership_id, name, description, current=theme)
    theme.name = name
    theme.description = description
    db.session.flush()
    if name != old:
        _rename_recommendation_tags(theme.partnership_id, old, name)
    return theme


def move_theme(theme: LearningTheme, direction: Direction | str) -> LearningTheme:
    """Swap a theme with its neighbour above or below (among the active, or among the retired themes)."""
    try:
        direction = Direction(direction)
    except ValueError:
        raise FieldErrors({"direction": ["Choose to move the theme up or down"]}) from None
    group = [t for t in themes_of(theme.partnership_id) if t.is_retired == theme.is_retired]
    ordered = themes_of(theme.partnership_id)
    for position, each in enumerate(ordered, start=1):
        each.position = position
    index = group.index(theme)
    other_index = index - 1 if direction == Direction.UP else index + 1
    if 0 <= other_index < len(group):
        other = group[other_index]
        theme.position, other.position = other.position, theme.position
    db.session.flush()
    return theme


def retire_theme(theme: LearningTheme) -> LearningTheme:
    """No longer offer the theme for new tags; what is tagged with it keeps the tag."""
    theme.is_retired = True
    db.session.flush()
    return theme


def restore_theme(theme: LearningTheme) -> LearningTheme:
    """Offer a retired theme again, at the end of the active list."""
    if theme.is_retired:
        highest = db.session.scalar(
            sa.select(sa.func.max(LearningTheme.position)).where(LearningTheme.partnership_id == theme.partnership_id)
        )
        theme.is_retired = False
        theme.position = (highest or 0) + 1
        db.session.flush()
    return theme


def theme_uses(theme: LearningTheme) -> int:
    """How many things are tagged with the theme: rows of any table that points at it, and recommendations that
    hold its name."""
    from ..actions.models import Recommendation, RecommendationTheme

    total = 0
    for table in db.metadata.tables.values():
        for fk in table.foreign_keys:
            if fk.column.table.name == LearningTheme.__tablename__ and fk.column.name == "id":
                total += (
                    db.session.scalar(sa.select(sa.func.count()).select_from(table).where(fk.parent == theme.id)) or 0
                )
    names = db.session.scalars(
        sa.select(RecommendationTheme.name)
        .join(Recommendation, Recommendation.id == RecommendationTheme.recommendation_id)
        .where(Recommendation.partnership_id == theme.partnership_id)
    )
    total += sum(1 for n in names if _fold(n) == _fold(theme.name))
    return total


def delete_theme(theme: LearningTheme) -> None:
    """Delete a theme added by mistake; one ever used is retired instead."""
    if theme_uses(theme):
        raise NotAllowedError(
            f"{theme.name} has been used to tag learning or recommendations, so it cannot be deleted: retire it "
            "instead (its past tags are kept)"
        )
    db.session.delete(theme)
    db.session.flush()
