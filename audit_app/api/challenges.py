"""Challenge events through the API."""

from __future__ import annotations

from .spec import api_route  # noqa: F401  (routes are declared with api_route, registered on the API blueprint)
