"""Base mixins and column helpers shared by every domain's models."""

from __future__ import annotations

import enum
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from . import clock


def utcnow() -> datetime:
    """Timezone-aware now (from :mod:`.clock`); pass the callable, never its value, as a default."""
    return clock.now()


class UTCDateTime(sa.TypeDecorator):
    """A timezone-aware datetime stored as UTC on every database.

    SQLite drops the offset on the way in; this puts it back on the way out so
    that comparisons never mix naive and aware values.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use utcnow()")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def enum_type(enum_cls: type[enum.Enum], name: str) -> sa.Enum:
    """Store a StrEnum by its value, as a plain string the database checks.

    ``name`` is the column's name: the CHECK constraint is ``ck_<table>_<name>``, so two columns of one
    table on the same enum (a move's from and to status) get a constraint each. A new member needs a
    migration that widens the constraint.
    """
    return sa.Enum(
        enum_cls,
        native_enum=False,
        create_constraint=True,
        name=name,
        length=32,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class TimestampMixin:
    #: set once, when the row is first written
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: moves on every update
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
