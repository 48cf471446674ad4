"""Pages of recommendations, actions, progress updates and evidence of impact (the plan itself: plan_views)."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("actions", __name__)
