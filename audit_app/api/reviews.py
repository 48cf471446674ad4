"""API: the review register, each review's clocks and their pauses."""

from __future__ import annotations

from . import bp  # noqa: F401
