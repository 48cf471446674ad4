"""API: learning points of a review, and the partnership's list of learning themes."""

from __future__ import annotations

from . import bp  # noqa: F401
