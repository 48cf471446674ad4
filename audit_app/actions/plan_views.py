"""The composite action plan's pages: the plan with its filters, counts and chart, and its XLSX and PDF."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("plan", __name__)
