"""Challenge events: per agency, the date, who attended, the questions asked and what was agreed."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("challenges", __name__)
