"""Domain errors raised by services and turned into 4xx responses by views."""

from __future__ import annotations


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
