"""Agency summaries of a rapid review (the returns of its agency_summary round), the panel meeting and the
decision."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("review_summaries", __name__)
