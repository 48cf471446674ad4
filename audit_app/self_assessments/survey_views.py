"""The practitioner survey: its set-up for the QA group, and the anonymous pages front-line staff open by link."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("surveys", __name__)
