"""Limits on what a request may carry, shared by pages and the API.

PostgreSQL refuses a NUL character in text and an integer past 2**31 - 1 in an
``integer`` column; both used to surface as 500s. These are the checks every
route inherits: the app's ``int`` URL converter, the request guard in
``core/web.py`` and the API's body parser (``api/helpers.py``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Annotated, Any

from pydantic import Field
from werkzeug.routing import IntegerConverter

#: the largest value of a PostgreSQL ``integer`` (every id column)
MAX_ID = 2**31 - 1
#: JSON bodies nested deeper than this are refused before they are parsed
MAX_JSON_DEPTH = 32
UNSTORABLE = "contains a character that cannot be stored"

#: an id in an API body: a JSON integer (not true, not "3") from 1 to MAX_ID
Id = Annotated[int, Field(strict=True, ge=1, le=MAX_ID)]
#: any other whole number in an API body that reaches an integer column (a lock version)
Int32 = Annotated[int, Field(strict=True, ge=0, le=MAX_ID)]


def _up_to(limit: str) -> str:
    """A regular expression for the whole numbers 1 to ``limit`` (no leading zeros)."""
    parts = [rf"[1-9]\d{{0,{len(limit) - 2}}}"] if len(limit) > 1 else []
    for i, digit in enumerate(limit):
        if i == len(limit) - 1:
            low = "1" if len(limit) == 1 else "0"
            parts.append(limit[:i] + f"[{low}-{digit}]")
        elif int(digit) > (1 if i == 0 else 0):
            low = "1" if i == 0 else "0"
            parts.append(limit[:i] + f"[{low}-{int(digit) - 1}]" + rf"\d{{{len(limit) - i - 1}}}")
    return "(?:" + "|".join(parts) + ")"


class IdConverter(IntegerConverter):
    """``<int:...>`` for ids: 1 to MAX_ID, anything else is 404 (never a query PostgreSQL refuses).

    The bound is in the pattern itself, not a check after matching: a number out of range then matches no
    route at all, for every method (a refused match made Werkzeug answer 405 for some methods).
    """

    regex = _up_to(str(MAX_ID))

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def whole_number(text: str | None, *, low: int = 1, high: int = MAX_ID) -> int | None:
    """``text`` as an int from ``low`` to ``high`` (ASCII digits only), or None.

    Use it for every id or count read from a query string or form by hand: ``str.isdigit()`` also
    passes "²", which ``int()`` refuses, and does not stop a number PostgreSQL cannot hold.
    """
    if not text or not (text.isascii() and text.isdigit()) or len(text) > len(str(high)):
        return None
    number = int(text)
    return number if low <= number <= high else None


def nul_field(pairs: Iterable[tuple[str, str]]) -> str | None:
    """The first name whose name or value holds a NUL character, or None."""
    for name, value in pairs:
        name = name or ""  # a multipart part may come without a name
        if "\x00" in name or (isinstance(value, str) and "\x00" in value):
            return name.replace("\x00", "")
    return None


def json_nul_path(data: Any, root: str = "body") -> str | None:
    """The dotted path (``answers.q1.0``) of the first string, key or value at any depth, holding a NUL
    character; ``root`` for the top level itself; None if there is none."""
    stack: list[tuple[Any, str]] = [(data, root)]
    while stack:
        item, where = stack.pop()
        prefix = "" if where == root else f"{where}."
        if isinstance(item, str):
            if "\x00" in item:
                return where
        elif isinstance(item, dict):
            for key, value in item.items():
                if isinstance(key, str) and "\x00" in key:
                    return where
                stack.append((value, f"{prefix}{key}"))
        elif isinstance(item, list):
            stack.extend((value, f"{prefix}{i}") for i, value in enumerate(item))
    return None


_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")


def json_too_deep(raw: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether a JSON text nests arrays/objects deeper than ``limit``, found without parsing it.

    Strings are dropped (a bracket inside one does not nest), then only the brackets are walked.
    """
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False
    depth = 0
    for byte in _JSON_STRING.sub(b"", raw).translate(None, _NOT_BRACKETS):
        depth += 1 if byte in (0x5B, 0x7B) else -1
        if depth > limit:
            return True
    return False
