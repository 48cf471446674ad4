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
