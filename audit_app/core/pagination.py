"""One way to page a list, on pages and in the API: counted and sliced in SQL, never in Python."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import abort, request

from ..extensions import db
from .inputs import MAX_ID, whole_number

PER_PAGE = 50
MAX_PER_PAGE = 200


@dataclass(frozen=True)
class Page:
    items: list[Any]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def first_index(self) -> int:
        """1-based position of the first item shown (0 when there are none)."""
        return (self.page - 1) * self.per_page + 1 if self.items else 0

    @property
    def last_index(self) -> int:
        return self.first_index + len(self.items) - 1 if self.items else 0

    def as_json(self) -> dict[str, int]:
        return {"total": self.total, "page": self.page, "per_page": self.per_page, "pages": self.pages}


def _whole_number(name: str, default: int, *, low: int, high: int) -> int:
    raw = request.args.get(name, "")
    if raw == "":
        return default
    number = whole_number(raw, low=low, high=high)
    if number is None:
        abort(400, f"{name} must be a whole number from {low} to {high}")
    return number


def paginate(query: sa.Select, *, per_page: int = PER_PAGE, unique: bool = False) -> Page:
    """The page of ``query`` named by the request's ``page`` (and, in the API, ``per_page``) arguments.

    Two queries: the count, and the page's rows. A page past the end is 404; a bad number is 400, naming it.
    """
    page = _whole_number("page", 1, low=1, high=MAX_ID)
    per_page = _whole_number("per_page", per_page, low=1, high=MAX_PER_PAGE)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.order_by(None).subquery())) or 0
    if page > 1 and (page - 1) * per_page >= total:
        abort(404)
    result = db.session.scalars(query.limit(per_page).offset((page - 1) * per_page))
    items = list(result.unique() if unique else result)
    return Page(items=items, total=total, page=page, per_page=per_page)
