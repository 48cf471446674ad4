"""The plan's actions as rows people read (the page's table, the XLSX and the PDF), and the plan's chart.

One place decides what each column says, so the page, the spreadsheet and the board paper agree; and what each
filter offers and how a set filter reads, for the page, the API and the files.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from markupsafe import Markup

from ..accounts.models import Agency, PartnershipAgency, User
from ..core import clock
from ..core.permissions import Principal
from ..extensions import db
from ..reporting import charts
from .models import Action, ActionStatus, EvidenceStatus, ImpactEvidence, Rag, Recommendation
from .permissions import actions_query, recommendations_query
from .plan import PlanCounts, PlanFilters, source_choices
from .services import learning_theme_choices

EVIDENCE_ACCEPTED = "Accepted"
EVIDENCE_AWAITING = "Awaiting the QA group"
EVIDENCE_NONE = "No evidence yet"


def rag_text(rag: Rag) -> str:
    """A RAG rating with what it means: "Red (off track)"."""
    return f"{rag.label} ({rag.meaning})"


def _number(value: Decimal | None) -> str:
    if value is None:
        return ""
    return f"{value.normalize():f}"


def _day(value: date | None) -> str:
    return value.strftime("%-d %B %Y") if value else ""


def measure_text(evidence: ImpactEvidence) -> str:
    """A piece of evidence's measure, before and after: "Plans reviewed on time: 40 % (1 March 2026) to 75 %"."""
    if not evidence.measure and evidence.before_value is None and evidence.after_value is None:
        return ""
    unit = f" {evidence.unit}" if evidence.unit else ""
    parts = []
    if evidence.before_value is not None:
        when = f" ({_day(evidence.before_on)})" if evidence.before_on else ""
        parts.append(f"before {_number(evidence.before_value)}{unit}{when}")
    if evidence.after_value is not None:
        when = f" ({_day(evidence.after_on)})" if evidence.after_on else ""
        parts.append(f"after {_number(evidence.after_value)}{unit}{when}")
    name = evidence.measure or "Measure"
    return f"{name}: {', '.join(parts)}" if parts else name


def evidence_state(action: Action) -> str:
    statuses = {e.status for e in action.evidence}
    if EvidenceStatus.ACCEPTED in statuses:
        return EVIDENCE_ACCEPTED
    if EvidenceStatus.PENDING in statuses:
        return EVIDENCE_AWAITING
    return EVIDENCE_NONE


def evidence_text(action: Action) -> str:
    """The accepted pieces of evidence: each description, and its measure before and after."""
    pieces = []
    for evidence in action.evidence:
        if evidence.status != EvidenceStatus.ACCEPTED:
            continue
        measure = measure_text(evidence)
        pieces.append(f"{evidence.description.strip()}{' (' + measure + ')' if measure else ''}")
    return "\n".join(pieces)


def plan_row(action: Action, today: date) -> dict[str, Any]:
    rec = action.recommendation
    update = action.latest_update
    return {
        "action_id": action.id,
        "recommendation_id": rec.id,
        "source": rec.source_label,
        "recommendation_number": rec.number,
        "recommendation_text": rec.text,
        "title": action.title,
        "owner": action.owner_person,
        "agency": action.owner_agency.name if action.owner_agency is not None else "",
        "due_on": action.due_on,
        "original_due_on": action.original_due_on,
        "due_moved": action.due_date_moved,
        "status": action.status.label,
        "rag": action.rag,
        "rag_text": rag_text(action.rag),
        "overdue": action.is_overdue(today),
        "update_on": update.written_on if update is not None else None,
        "update_note": update.note if update is not None else "",
        "evidence_state": evidence_state(action),
        "evidence": evidence_text(action),
        "themes": ", ".join(rec.theme_names),
    }


def plan_rows(actions: list[Action], today: date | None = None) -> list[dict[str, Any]]:
    today = today or clock.today()
    return [plan_row(action, today) for action in actions]


def plan_charts(counts: PlanCounts) -> dict[str, Markup]:
    """The plan's charts (none when it is empty): every action by RAG rating, as one stacked bar; and each
    owner agency's actions by RAG rating, when there is more than one agency. The figures are in the tables of
    counts."""
    if not counts.total:
        return {}
    colours = {rag.label: rag.colour for rag in Rag}
    drawn = {
        "rag": charts.stacked_bars(
            "plan-rag-chart",
            "Actions by RAG rating",
            [("All actions", [(rag.label, n) for rag, n in counts.by_rag])],
            colours,
            as_share=False,
        )
    }
    if len(counts.by_agency) > 1:
        drawn["agency"] = charts.stacked_bars(
            "plan-agency-chart",
            "Actions by owner agency and RAG rating",
            [(name, [(rag.label, by_rag[rag]) for rag in Rag]) for name, by_rag, _ in counts.by_agency],
            colours,
            as_share=False,
        )
    return drawn


# -- the filters --

SOURCE_KINDS = [("round", "Any audit round"), ("review", "Any learning review"), ("other", "Any other source")]
OVERDUE_CHOICES = [("", "All actions"), ("yes", "Overdue only")]


def filter_choices(p: Principal) -> dict[str, list[tuple[str, str]]]:
    """What each filter offers: (value, label), with "" for all."""
    agencies = db.session.execute(
        sa.select(Agency.id, Agency.name)
        .join(PartnershipAgency, PartnershipAgency.agency_id == Agency.id)
        .where(PartnershipAgency.partnership_id == p.partnership_id)
        .order_by(Agency.name)
    ).all()
    owners = db.session.execute(
        sa.select(User.id, User.name)
        .where(User.id.in_(actions_query(p).with_only_columns(Action.owner_user_id).order_by(None)))
        .order_by(User.name, User.id)
    ).all()
    assert p.partnership_id is not None
    return {
        "source": [("", "All sources"), *SOURCE_KINDS, *source_choices(p)],
        "agency_id": [("", "All agencies"), *((str(i), name) for i, name in agencies)],
        "owner_user_id": [("", "All owners"), *((str(i), name) for i, name in owners)],
        "status": [("", "All statuses"), *((s.value, s.label) for s in ActionStatus)],
        "rag": [("", "All ratings"), *((r.value, rag_text(r)) for r in Rag)],
        "theme": [("", "All themes"), *((t, t) for t in learning_theme_choices(p.partnership_id))],
        "overdue": OVERDUE_CHOICES,
    }


FILTER_LABELS = {
    "source": "Source",
    "agency_id": "Owner agency",
    "owner_user_id": "Owner",
    "status": "Status",
    "rag": "RAG rating",
    "theme": "Learning theme",
    "overdue": "Overdue",
}


def refused_filters(
    p: Principal, given: dict[str, str], choices: dict[str, list[tuple[str, str]]] | None = None
) -> dict[str, str]:
    """Each filter given a value it does not offer (an agency of another partnership, an unknown source...):
    field -> message. ``given`` holds the filters as query-string values ("" or absent: all)."""
    choices = choices if choices is not None else filter_choices(p)
    errors = {}
    for name, label in FILTER_LABELS.items():
        value = given.get(name, "")
        if value and value not in {key for key, _ in choices[name]}:
            errors[name] = f"{label}: choose one of the options listed"
    if given.get("recommendation_id") and _recommendation(p, given["recommendation_id"]) is None:
        errors["recommendation_id"] = "Recommendation: no such recommendation in the plan you can see"
    return errors


def _recommendation(p: Principal, value: str) -> Recommendation | None:
    if not value.isdigit():
        return None
    return db.session.scalar(recommendations_query(p).where(Recommendation.id == int(value)))


def filter_labels(
    p: Principal, filters: PlanFilters, choices: dict[str, list[tuple[str, str]]] | None = None
) -> list[tuple[str, str]]:
    """The filters set, as people read them: (filter, chosen option's label); ``choices`` are
    :func:`filter_choices`, when the caller has them already."""
    choices = choices if choices is not None else filter_choices(p)
    rows = []
    for name, value in filters.as_args().items():
        if name in FILTER_LABELS:
            rows.append((FILTER_LABELS[name], dict(choices[name]).get(value, value)))
    rec = _recommendation(p, str(filters.recommendation_id)) if filters.recommendation_id else None
    if rec is not None:
        rows.append(("Recommendation", f"{rec.source_label}, recommendation {rec.number}"))
    return rows
