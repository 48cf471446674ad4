"""API: a rapid review's agency summaries, panel meeting and decision."""

from __future__ import annotations

from . import bp  # noqa: F401
