"""Learning themes across every source: per theme and year, how often it appears in review learning points,
case-audit findings and returns, self-assessment findings and recommendations, with links to every item."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("themes", __name__)
