"""The application's round and return models, as the benchmark uses them.

This is the one module of ``bench/`` that imports ``audit_app.audits``: that package is being split
into ``audit_app/rounds/`` and ``audit_app/case_audits/``, and when it moves only the import below
needs to follow it. ``generate.py`` and ``run.py`` import these names from here.
"""

from __future__ import annotations

from audit_app.audits.models import ReturnStatus, Round, RoundStatus

__all__ = ["ReturnStatus", "Round", "RoundStatus"]
