"""The round's PDFs, drawn by WeasyPrint from HTML pages: the chair's report, the full report and the
one-page learning briefing.

The chair's report leads with what the chair wrote (executive summary, key findings, themes, the numbered
partnership recommendations) with the figures beside them, then the method (audit period, how cases were
chosen, the meeting), return rates and grades. The full report adds the appendices: each case's panel
judgement and practitioners' views, the detailed grade tables, and every text written in returns and by
the panel, each identical text printed once with its count. The briefing puts the same fields on one page.

Drawing takes seconds, so it is never done inside a request: ``report_files.py`` runs it as a job and
keeps the file until the round's :func:`round_fingerprint` changes.
"""

from __future__ import annotations

import hashlib
import logging
import re
from typing import Any

import sqlalchemy as sa
from flask import render_template

from ..accounts.models import Agency, Partnership
from ..case_audits.models import (
    Case,
    CaseJudgement,
    ChairReport,
    PractitionerInvolvement,
    ReportRecommendation,
    RoundCase,
)
from ..case_audits.retention import purge_of
from ..core import clock
from ..extensions import db
from ..rounds.models import Answer, Return, Round
from . import charts
from . import findings as f
from . import queries as q
from .models import ReportKind
from .tables import plain_records

# WeasyPrint reports every layout step at INFO; only its warnings are worth a log line.
logging.getLogger("weasyprint.progress").setLevel(logging.WARNING)

#: part of every fingerprint: a change to how reports are drawn makes every kept file stale
LAYOUT_VERSION = "chair-report-1"


def _refuse_fetch(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """The report is self-contained: it never loads anything from a URL."""
    raise ValueError(f"the round report does not load external resources ({url[:40]})")


# -- when a kept file is still current --


def round_fingerprint(round_id: int) -> str:
    """A digest of everything a round's PDFs are drawn from, in a few aggregate queries.

    For the round itself, its cases, returns, answers, the panel's judgements, the meeting record and
    chair's report, its recommendations and the practitioners' involvement: the number of rows, the latest
    ``updated_at`` and (returns) the sum of their lock versions. Adding, changing or removing any of them
    changes the digest. A renamed agency or partnership does not (the file keeps the name it was drawn with
    until the round's own data changes)."""
    round_cases = sa.select(RoundCase.id).where(RoundCase.round_id == round_id).scalar_subquery()
    returns = sa.select(Return.id).where(Return.round_id == round_id).scalar_subquery()

    def stamp(model: Any, *where: Any, extra: Any = None) -> tuple[Any, ...]:
        columns = [sa.func.count(), sa.func.max(model.updated_at)]
        if extra is not None:
            columns.append(sa.func.sum(extra))
        return tuple(db.session.execute(sa.select(*columns).where(*where)).one())

    parts = [
        LAYOUT_VERSION,
        tuple(db.session.execute(sa.select(Round.updated_at, Round.status).where(Round.id == round_id)).one()),
        stamp(RoundCase, RoundCase.round_id == round_id),
        stamp(Return, Return.round_id == round_id, extra=Return.lock_version),
        stamp(Answer, Answer.return_id.in_(returns)),
        stamp(CaseJudgement, CaseJudgement.round_case_id.in_(round_cases)),
        stamp(ChairReport, ChairReport.round_id == round_id),
        stamp(ReportRecommendation, ReportRecommendation.round_id == round_id),
        stamp(PractitionerInvolvement, PractitionerInvolvement.round_case_id.in_(round_cases)),
    ]
    return hashlib.sha256(repr(parts).encode()).hexdigest()


# -- what the reports show --


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", text or "").strip().casefold()


def once_each(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Identical texts (ignoring case and spacing) once each, in first-seen order, with how many times and
    by whom they were written: ``[{"text", "count", "sources"}]``."""
    merged: dict[str, dict[str, Any]] = {}
    for item in items:
        key = _normal(item["text"])
        if not key:
            continue
        source = item["source"] + (f", case {item['case']}" if item.get("case") else "")
        entry = merged.setdefault(key, {"text": item["text"].strip(), "count": 0, "sources": []})
        entry["count"] += 1
        if source not in entry["sources"]:
            entry["sources"].append(source)
    return list(merged.values())


def _share(numerator: int, denominator: int) -> str:
    if not denominator:
        return "none to count"
    pct = int(numerator * 100 / denominator + 0.5)
    return f"{numerator} of {denominator} ({pct}%)"


def key_figures(main: f.Findings, judgements: list[dict[str, Any]], suppressed: bool) -> list[tuple[str, str]]:
    """The figures printed beside the chair's findings: (what, how many), computed from the records."""
    totals = main.extra["totals"]
    scale = main.extra["scale"]
    good = f.good_title(scale.labels, scale.good).lower() if scale.good else "good or better"
    graded = sum(int(r.get("graded") or 0) for r in main.tables["grades"].rows)
    good_count = sum(int(r.get("good_or_better") or 0) for r in main.tables["grades"].rows)
    panel_graded = [j for j in judgements if j.get("grade")]
    panel_good = [j for j in panel_graded if j["grade"] in scale.good]
    panel = _share(len(panel_good), len(panel_graded))
    overall = [r for r in main.tables["panel_grades"].rows if r.get("section_key") == "overall"]
    if not judgements and overall:  # a purged round: its cases are gone, its panel's grades counted
        panel = _share(int(overall[0].get("good_or_better") or 0), int(overall[0].get("graded") or 0))
    figures = [
        ("Cases audited", str(totals["cases"])),
        ("Returns received", _share(totals["returned"], totals["expected"])),
        (f"Agencies' section grades {good}", _share(good_count, graded)),
        (f"Cases the panel graded {good} overall", panel),
    ]
    if suppressed:
        figures = [(what, _small_text(value)) for what, value in figures]
    return figures


def _small_text(value: str) -> str:
    """A figure in words with each count from 1 to 4 withheld."""
    return re.sub(r"\b([1-4])\b(?!%)", "fewer than 5", value)


def _practitioners(round_id: int) -> tuple[dict[str, list[dict[str, Any]]], dict[str, int]]:
    rows = db.session.execute(
        sa.select(
            RoundCase.id,
            PractitionerInvolvement.invited,
            PractitionerInvolvement.attended,
            PractitionerInvolvement.view,
            Agency.name,
        )
        .join(RoundCase, RoundCase.id == PractitionerInvolvement.round_case_id)
        .join(Agency, Agency.id == PractitionerInvolvement.agency_id)
        .where(RoundCase.round_id == round_id)
        .order_by(Agency.name)
    ).all()
    references = dict(
        db.session.execute(
            sa.select(RoundCase.id, Case.reference)
            .join(Case, Case.id == RoundCase.case_id)
            .where(RoundCase.round_id == round_id)
        ).all()
    )
    by_case: dict[str, list[dict[str, Any]]] = {}
    for rc_id, invited, attended, view, agency in rows:
        by_case.setdefault(references[rc_id], []).append(
            {"agency": agency, "invited": invited, "attended": attended, "view": view}
        )
    counts = {
        "invited": sum(1 for r in rows if r.invited),
        "attended": sum(1 for r in rows if r.attended),
        "views": sum(1 for r in rows if (r.view or "").strip()),
        "cases": len({r[0] for r in rows if r.attended}),
    }
    return by_case, counts


def round_report_context(
    round_: Round, *, suppressed: bool = False, kind: ReportKind = ReportKind.FULL
) -> dict[str, Any]:
    """Everything the report template needs. ``kind``: the chair's report alone, or with the appendices."""
    appendices = kind == ReportKind.FULL
    main = f.round_findings(round_)
    reaudit = f.reaudit(round_) if round_.previous_round_id else None
    scale = main.extra["scale"]
    judgements = plain_records(q.panel_case_judgements(round_.id))
    figures = key_figures(main, judgements, suppressed)
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
        main = main.suppressed()
        reaudit = reaudit.suppressed() if reaudit is not None else None
    texts: dict[str, dict[str, list[dict[str, Any]]]] = {}
    recommendations: list[tuple[str, list[dict[str, Any]]]] = []
    if appendices:
        grouped = f.round_texts(round_).extra["grouped"]
        for section, kinds in grouped.items():
            for kind_title, items in kinds.items():
                if kind_title == "Recommendations":
                    recommendations.append((section, once_each(items)))
                else:
                    texts.setdefault(section, {})[kind_title] = once_each(items)
    report = db.session.scalar(sa.select(ChairReport).where(ChairReport.round_id == round_.id))
    practitioners, practitioner_counts = _practitioners(round_.id)
    return {
        "round": round_,
        "kind": kind,
        "appendices": appendices,
        "partnership": db.session.get(Partnership, round_.partnership_id),
        "report": report,
        "chair_recommendations": db.session.scalars(
            sa.select(ReportRecommendation)
            .where(ReportRecommendation.round_id == round_.id)
            .order_by(ReportRecommendation.number)
        ).all(),
        "figures": figures,
        "main": main,
        "texts": texts,
        "recommendations": recommendations,
        "reaudit": reaudit,
        "judgements": judgements,
        "purged": purge_of(round_.id),
        "practitioners": practitioners,
        "practitioner_counts": practitioner_counts,
        "charts": drawn,
        "suppressed": suppressed,
        "generated": clock.local_now(),
    }


def round_report_html(round_: Round, *, suppressed: bool = False, kind: ReportKind = ReportKind.FULL) -> str:
    if kind == ReportKind.BRIEFING:
        return briefing_html(round_, suppressed=suppressed)
    return render_template("reporting/report.html", **round_report_context(round_, suppressed=suppressed, kind=kind))


def briefing_context(round_: Round, *, suppressed: bool = False) -> dict[str, Any]:
    """The learning briefing: why it matters, what we found, what good looks like, what to do now."""
    main = f.round_findings(round_, parts=frozenset({f.SUMMARY}))
    judgements = plain_records(q.panel_case_judgements(round_.id))
    return {
        "round": round_,
        "partnership": db.session.get(Partnership, round_.partnership_id),
        "report": db.session.scalar(sa.select(ChairReport).where(ChairReport.round_id == round_.id)),
        "chair_recommendations": db.session.scalars(
            sa.select(ReportRecommendation)
            .where(ReportRecommendation.round_id == round_.id)
            .order_by(ReportRecommendation.number)
        ).all(),
        "figures": key_figures(main, judgements, suppressed),
        "generated": clock.local_now(),
    }


def briefing_html(round_: Round, *, suppressed: bool = False) -> str:
    return render_template("reporting/briefing.html", **briefing_context(round_, suppressed=suppressed))


def draw_pdf(html: str, progress: Any = None) -> tuple[bytes, int]:
    """Lay out and write a PDF: its bytes and number of pages. ``progress(percent, stage)`` is told when the
    layout is done and the writing starts."""
    from weasyprint import HTML

    document = HTML(string=html, url_fetcher=_refuse_fetch).render()
    if progress is not None:
        progress(75, "Writing the PDF")
    return document.write_pdf(), len(document.pages)


def round_report_pdf(round_: Round, *, suppressed: bool = False, kind: ReportKind = ReportKind.FULL) -> bytes:
    """The PDF drawn now (jobs, the benchmark and tests; pages ask ``report_files`` for a kept one)."""
    html = round_report_html(round_, suppressed=suppressed, kind=kind)
    # Drawing takes seconds: end the read transaction first, so it holds no lock meanwhile
    # (on SQLite a reader would block every writer until it ended).
    db.session.rollback()
    return draw_pdf(html)[0]
