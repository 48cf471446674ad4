"""The round report as a PDF, drawn by WeasyPrint from an HTML page.

The report holds the same tables and charts as the findings pages (built by
reporting/findings.py), in the order a QA chair writes up a round: cover,
method, return rates, grades, the panel's grades and how agencies compared,
re-audit change, strengths and areas for development, each case's panel
judgement, and every recommendation made in returns and by the panel.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import render_template

from ..accounts.models import Partnership
from ..core import clock
from ..extensions import db
from ..rounds.models import Round
from . import charts
from . import findings as f
from . import queries as q
from .tables import plain_records

# WeasyPrint reports every layout step at INFO; only its warnings are worth a log line.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)


def _refuse_fetch(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """The report is self-contained: it never loads anything from a URL."""
    raise ValueError(f"the round report does not load external resources ({url[:40]})")


def round_report_context(round_: Round, *, suppressed: bool = False) -> dict[str, Any]:
    main = f.round_findings(round_)
    texts = f.round_texts(round_)
    reaudit = f.reaudit(round_) if round_.previous_round_id else None
    scale = main.extra["scale"]
    drawn: dict[str, Any] = {}
    if not suppressed:
        drawn["grades"] = charts.stacked_bars(
            "pdf-grades", "Grades given by agencies, by section", main.charts["grades"], scale.colours
        )
        drawn["rates"] = charts.bars(
            "pdf-rates",
            "Return rate by agency",
            [(n, r, f"{ret} of {exp}" if exp else "none asked for") for n, r, ret, exp in main.charts["return_rates"]],
        )
        if reaudit is not None and reaudit.extra["carried"]:
            drawn["reaudit"] = charts.stacked_bars(
                "pdf-reaudit",
                "Carried cases: change in the panel's grade",
                reaudit.charts["reaudit"],
                {"Improved": "#00703c", "Same": "#505a5f", "Worse": "#d4351c"},
                as_share=False,
            )
    if suppressed:
        main, texts = main.suppressed(), texts
        reaudit = reaudit.suppressed() if reaudit is not None else None
    grouped = texts.extra["grouped"]
    recommendations = [
        (section, item) for section, kinds in grouped.items() for item in kinds.get("Recommendations", [])
    ]
    return {
        "round": round_,
        "partnership": db.session.get(Partnership, round_.partnership_id),
        "main": main,
        "texts": grouped,
        "recommendations": recommendations,
        "reaudit": reaudit,
        "judgements": plain_records(q.panel_case_judgements(round_.id)),
        "charts": drawn,
        "suppressed": suppressed,
        "generated": clock.local_now(),
    }


def round_report_html(round_: Round, *, suppressed: bool = False) -> str:
    return render_template("reporting/report.html", **round_report_context(round_, suppressed=suppressed))


def round_report_pdf(round_: Round, *, suppressed: bool = False) -> bytes:
    from weasyprint import HTML

    html = round_report_html(round_, suppressed=suppressed)
    # Drawing takes seconds: end the read transaction first, so it holds no lock meanwhile
    # (on SQLite a reader would block every writer until it ended).
    db.session.rollback()
    return HTML(string=html, url_fetcher=_refuse_fetch).write_pdf()
