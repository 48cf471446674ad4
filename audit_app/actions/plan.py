"""The composite action plan: every action the principal may see, whatever its source, with filters and counts.

``plan_actions()`` is the one query behind the plan's page, its XLSX and PDF, the API and the dashboards;
``plan_counts()`` counts what it returns (computed from the records, never stored).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, fields
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from ..core import clock
from ..core.permissions import Principal
from ..extensions import db
from .models import Action, ActionStatus, Rag, Recommendation, RecommendationTheme
from .permissions import actions_query

FINISHED = (ActionStatus.COMPLETE, ActionStatus.CLOSED)
#: what needs attention first: overdue, then red, amber, green, blue; then the earliest due
RAG_ORDER = {Rag.RED: 0, Rag.AMBER: 1, Rag.GREEN: 2, Rag.BLUE: 3}
NO_AGENCY = "No agency named"


@dataclass(frozen=True)
class PlanFilters:
    """The plan's filters, as the page's query string and the API's parameters give them ("" or None: all)."""

    #: a source's key ("round:12", "other:ofsted jtai") or a kind of source ("round", "other")
    source: str = ""
    agency_id: int | None = None
    owner_user_id: int | None = None
    status: str = ""
    rag: str = ""
    theme: str = ""
    overdue: bool = False
    recommendation_id: int | None = None

    @property
    def active(self) -> bool:
        return any(getattr(self, f.name) for f in fields(self))

    def as_args(self) -> dict[str, str]:
        """The filters as query-string arguments (links keep them)."""
        args = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value:
                args[f.name] = "yes" if value is True else str(value)
        return args


def overdue_clause(today: date) -> sa.ColumnElement[bool]:
    return sa.and_(Action.due_on < today, Action.status.not_in(FINISHED))


def filtered(query: sa.Select, filters: PlanFilters, today: date) -> sa.Select:
    if filters.source in ("round", "review", "other"):
        query = query.where(Recommendation.source == filters.source)
    elif filters.source:
        query = query.where(Recommendation.source_key == filters.source)
    if filters.agency_id is not None:
        query = query.where(Action.owner_agency_id == filters.agency_id)
    if filters.owner_user_id is not None:
        query = query.where(Action.owner_user_id == filters.owner_user_id)
    if filters.status:
        query = query.where(Action.status == filters.status)
    if filters.rag:
        query = query.where(Action.rag == filters.rag)
    if filters.theme:
        query = query.where(
            Recommendation.id.in_(
                sa.select(RecommendationTheme.recommendation_id).where(RecommendationTheme.name == filters.theme)
            )
        )
    if filters.overdue:
        query = query.where(overdue_clause(today))
    if filters.recommendation_id is not None:
        query = query.where(Action.recommendation_id == filters.recommendation_id)
    return query


def sort_key(action: Action, today: date) -> tuple:
    return (not action.is_overdue(today), RAG_ORDER[action.rag], action.due_on, action.id)


def plan_actions(p: Principal, filters: PlanFilters = PlanFilters(), today: date | None = None) -> list[Action]:
    """The actions of the plan the principal may see, filtered, what needs attention first."""
    today = today or clock.today()
    query = filtered(actions_query(p), filters, today).options(
        selectinload(Action.recommendation).selectinload(Recommendation.round),
        selectinload(Action.recommendation).selectinload(Recommendation.themes),
        selectinload(Action.owner_user),
        selectinload(Action.owner_agency),
        selectinload(Action.updates),
        selectinload(Action.evidence),
    )
    actions = list(db.session.scalars(query))
    return sorted(actions, key=lambda a: sort_key(a, today))


@dataclass
class PlanCounts:
    total: int
    overdue: int
    #: every RAG rating, in order, with its count (zeros kept)
    by_rag: list[tuple[Rag, int]]
    #: the owner agencies, by name, with their counts by RAG and overdue
    by_agency: list[tuple[str, dict[Rag, int], int]]
    #: complete actions, and how many of the plan's recommendations have accepted evidence of impact
    complete: int


def plan_counts(actions: list[Action], today: date | None = None) -> PlanCounts:
    """Counts of the listed actions by RAG and by owner agency (computed from the records)."""
    today = today or clock.today()
    rag = Counter(a.rag for a in actions)
    agencies: dict[str, Counter] = {}
    overdue_by_agency: Counter = Counter()
    for action in actions:
        name = action.owner_agency.name if action.owner_agency is not None else NO_AGENCY
        agencies.setdefault(name, Counter())[action.rag] += 1
        overdue_by_agency[name] += action.is_overdue(today)
    return PlanCounts(
        total=len(actions),
        overdue=sum(a.is_overdue(today) for a in actions),
        by_rag=[(r, rag[r]) for r in Rag],
        by_agency=[
            (name, {r: agencies[name][r] for r in Rag}, overdue_by_agency[name])
            for name in sorted(agencies, key=lambda n: (n == NO_AGENCY, n.casefold()))
        ],
        complete=sum(a.status == ActionStatus.COMPLETE for a in actions),
    )


def source_choices(p: Principal) -> list[tuple[str, str]]:
    """The plan's sources the principal can filter by: (key, label), rounds first, then learning reviews, then other
    sources."""
    from .permissions import recommendations_query

    recs = db.session.scalars(
        recommendations_query(p).options(selectinload(Recommendation.round), selectinload(Recommendation.review))
    )
    seen: dict[str, str] = {}
    for rec in recs:
        seen.setdefault(rec.source_key, rec.source_label)
    order = {"round": 0, "review": 1}
    return sorted(seen.items(), key=lambda kv: (order.get(kv[0].split(":")[0], 2), kv[1].casefold()))
