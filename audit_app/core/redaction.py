"""Redaction: a wrongly entered value replaced everywhere the app stores it, the audit trail included.

A case reference typed wrongly (a child's name, an NHS number that slipped past the guard) must go from
every row that holds it, not only from the case. Each domain registers the tables that may hold such text
(:func:`register_place`, with the condition that picks one partnership's rows) or says why a table never
does (:func:`exempt_table`); ``tests/core/test_redaction.py`` fails when a table with a text or JSON column
is neither, so a place added later cannot be forgotten.

:func:`redact_everywhere` rewrites, with plain SQL UPDATEs (so the ORM's audit hook never records the old
value again), every text and JSON column of every registered table, in the partnership's rows only: text
columns by matching the value as a whole reference, ignoring case; JSON at any depth. The audit trail is
rewritten under :func:`core.audit.permit_redaction`, the one way the database lets an event change. Stored
files whose name or content holds the value are rewritten too (``core.storage.redact_files``). The caller
records one event saying who redacted what kind of value, and when, never the old value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from ..extensions import db
from .audit import AuditEvent, permit_redaction

#: characters a reference is made of: a match must not sit inside a longer run of them
_REF_CHARS = "A-Za-z0-9_/"


@dataclass(frozen=True)
class Place:
    """A table that may hold the value, how to pick one partnership's rows, and columns never to touch."""

    table: sa.Table
    scope: Callable[[int], sa.ColumnElement[bool]]
    skip: frozenset[str]
    #: called with the connection and the ids of the rows rewritten (to bump optimistic locks, say)
    on_change: Callable[[sa.Connection, list[Any]], None] | None = None


_PLACES: dict[str, Place] = {}
_EXEMPT: dict[str, str] = {}


def register_place(
    table: sa.Table,
    scope: Callable[[int], sa.ColumnElement[bool]],
    *,
    skip: Iterable[str] = (),
    on_change: Callable[[sa.Connection, list[Any]], None] | None = None,
) -> None:
    """``table``'s text and JSON columns may hold a case reference; ``scope(partnership_id)`` picks its rows of
    one partnership. ``skip`` names text columns that never hold one (hashes, enum-like codes);
    ``on_change(connection, ids)`` runs after its rows ``ids`` were rewritten (a one-column key's values)."""
    _PLACES[table.name] = Place(table, scope, frozenset(skip), on_change)


def exempt_table(table: sa.Table, reason: str) -> None:
    """``table`` has text columns that never hold a case reference, and why."""
    _EXEMPT[table.name] = reason


def places() -> dict[str, Place]:
    return dict(_PLACES)


def exempt_tables() -> dict[str, str]:
    return dict(_EXEMPT)


def text_columns(table: sa.Table) -> list[sa.Column[Any]]:
    """The columns of ``table`` that can hold text: strings, texts and JSON (never enums, keys or numbers)."""
    return [
        column
        for column in table.columns
        if isinstance(column.type, (sa.String, sa.JSON))
        and not isinstance(column.type, sa.Enum)
        and not column.primary_key
        and not column.foreign_keys
    ]


def unclassified_tables(metadata: sa.MetaData) -> list[str]:
    """Tables with a text or JSON column that are neither a registered place nor exempt."""
    return sorted(
        name
        for name, table in metadata.tables.items()
        if text_columns(table) and name not in _PLACES and name not in _EXEMPT
    )


class Replacer:
    """Replaces ``old`` by ``new`` in text and JSON, as a whole reference and ignoring case.

    A longer reference that contains ``old`` ("CS-12" when "12" is redacted, or another case's "C12 A" when
    "C12" is) is left alone: ``keep`` lists other cases' references, matched first and kept as they are.
    When another case's reference differs from ``old`` only in case, matching respects case.
    """

    def __init__(self, old: str, new: str, keep: Iterable[str] = ()) -> None:
        self.old = old
        self.new = new
        kept = sorted({k for k in keep if k != old and old.lower() in k.lower()}, key=len, reverse=True)
        flags = 0 if any(k.lower() == old.lower() for k in kept) else re.IGNORECASE
        self._kept = {k.lower() if flags else k for k in kept}
        alternatives = "|".join(re.escape(k) for k in [*kept, old])
        self._pattern = re.compile(rf"(?<![{_REF_CHARS}.-])(?:{alternatives})(?![{_REF_CHARS}-]|\.[A-Za-z0-9])", flags)
        self._ignore_case = bool(flags)

    def _one(self, match: re.Match[str]) -> str:
        found = match.group(0)
        if (found.lower() if self._ignore_case else found) in self._kept:
            return found
        return self.new

    def text(self, value: str) -> str:
        return self._pattern.sub(self._one, value)

    def json(self, value: Any) -> Any:
        """``value`` with every string in it (keys too) replaced, at any depth."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.json(item) for item in value]
        if isinstance(value, dict):
            return {self.text(str(key)): self.json(item) for key, item in value.items()}
        return value


def _rewrite(connection: sa.Connection, place: Place, partnership_id: int, replacer: Replacer) -> int:
    """Rewrite one table's matching rows of the partnership; how many values changed."""
    table = place.table
    key = list(table.primary_key.columns)
    changed = 0
    rewritten: set[Any] = set()
    for column in text_columns(table):
        if column.name in place.skip:
            continue
        is_json = isinstance(column.type, sa.JSON)
        searched = sa.cast(column, sa.Text) if is_json else column
        rows = connection.execute(
            sa.select(*key, column).where(
                place.scope(partnership_id), searched.icontains(replacer.old, autoescape=True)
            )
        ).all()
        for row in rows:
            value = row[-1]
            new_value = replacer.json(value) if is_json else replacer.text(value)
            if new_value == value:
                continue
            condition = sa.and_(*(k == row[i] for i, k in enumerate(key)))
            connection.execute(sa.update(table).where(condition).values({column.name: new_value}))
            changed += 1
            rewritten.add(row[0])
    if rewritten and place.on_change is not None:
        place.on_change(connection, sorted(rewritten))
    return changed


def redact_everywhere(partnership_id: int, old: str, new: str, *, keep: Iterable[str] = ()) -> dict[str, int]:
    """Replace ``old`` by ``new`` in every registered place of the partnership, the audit trail and stored files
    included; rows changed per table. Flushes first; expires the session's objects after, so they reload."""
    from .storage import redact_files

    db.session.flush()
    replacer = Replacer(old, new, keep)
    connection = db.session.connection()
    counts: dict[str, int] = {}
    for name, place in sorted(_PLACES.items()):
        if name == AuditEvent.__tablename__:
            continue
        counts[name] = _rewrite(connection, place, partnership_id, replacer)
    counts["stored files"] = redact_files(partnership_id, replacer.text)
    with permit_redaction(partnership_id) as permitted:
        counts[AuditEvent.__tablename__] = _rewrite(
            permitted, _PLACES[AuditEvent.__tablename__], partnership_id, replacer
        )
    db.session.expire_all()
    return counts


# The audit trail is a place like any other, rewritten under a permit; only its JSON may change.
_events = AuditEvent.__table__


def _events_of(partnership_id: int) -> sa.ColumnElement[bool]:
    """The partnership's events, and those recorded without a partnership about rows of the partnership
    (events of new returns, round cases and judgements were once recorded so)."""
    owned = []
    for mapper in db.Model.registry.mappers:
        place = _PLACES.get(getattr(mapper.local_table, "name", ""))
        key = list(mapper.local_table.primary_key.columns) if place else []
        if place is None or place.table is _events or len(key) != 1:
            continue
        owned.append(
            sa.and_(
                _events.c.entity_type == mapper.class_.__name__,
                _events.c.entity_id.in_(sa.select(key[0]).where(place.scope(partnership_id))),
            )
        )
    return sa.or_(
        _events.c.partnership_id == partnership_id, sa.and_(_events.c.partnership_id.is_(None), sa.or_(*owned))
    )


register_place(_events, _events_of, skip={"actor_label", "entity_type", "action", "request_id"})
