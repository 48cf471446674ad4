"""The application's round and return models, as the benchmark uses them.

The one module of ``bench/`` that imports the round engine's models: ``generate.py`` and ``run.py``
import these names from here, so a move of the engine changes one line.
"""

from __future__ import annotations

from audit_app.rounds.models import ReturnStatus, Round, RoundStatus

__all__ = ["ReturnStatus", "Round", "RoundStatus"]
