"""The self-assessment reports: heatmap, counts by standard and sector, change since last round, return rates."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("sa_reports", __name__)
