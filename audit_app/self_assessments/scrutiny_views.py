"""Scrutiny threads, moderation and the follow-up list of a self-assessment round."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("scrutiny", __name__)
