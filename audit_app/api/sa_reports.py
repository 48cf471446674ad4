"""Self-assessment reports through the API: the same figures as the pages."""

from __future__ import annotations

from .spec import api_route  # noqa: F401  (routes are declared with api_route, registered on the API blueprint)
