"""A review's learning points and recommendations, and the partnership's list of learning themes."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("learning", __name__)
