"""API: how often each learning theme appears in each source, per year, and the items behind the counts."""

from __future__ import annotations

from . import bp  # noqa: F401
