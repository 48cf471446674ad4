"""The learning-review files and the annual summary, as :class:`~.tables.Table` s: the register (every review
with its clocks), the learning summary (learning points, recommendations, themes) and the annual summary for
1 April to 31 March (counts by type and decision, timeliness against each clock, publication, themes).

Built from ``review_queries`` (rows) and ``review_aggregation`` (pure figures); the same tables feed the page,
the XLSX files, the PDF and the API.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd
import sqlalchemy as sa

from ..core import clock
from ..reviews.clocks import ClockState
from ..reviews.models import (
    CLOCK_LABELS,
    DECISION_LABELS,
    PUBLICATION_LABELS,
    REVIEW_TYPE_LABELS,
    ClockKind,
    PanelResponse,
    PublicationState,
    ReviewDecision,
    ReviewStatus,
    ReviewType,
)
from . import review_aggregation as agg
from . import review_queries as q
from .exports import tables_xlsx
from .tables import Column, Table, key_column


def _day(value: Any) -> str:
    """A date as people read it ("3 March 2026"), or empty."""
    if value is None or (not isinstance(value, date) and pd.isna(value)):
        return ""
    return f"{value.day} {value:%B %Y}"


def _label(enum_cls: Any, value: Any) -> str:
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else enum_cls(value).label


# ----------------------------------------------------------------------------------------------------------
# The register
# ----------------------------------------------------------------------------------------------------------

_CLOCK_HEADINGS = {
    ClockKind.NOTIFICATION: "Notification",
    ClockKind.RAPID_REVIEW: "Rapid review",
    ClockKind.PRACTICE_REVIEW: "Practice review",
}


def register_table(visible: sa.Select, today: date | None = None) -> Table:
    """Every review ``visible`` selects, one row each, with its dates, decision, each clock's due date and state,
    publication, and how many learning points and recommendations it has."""
    today = today or clock.today()
    reviews = q.reviews(visible)
    clocks = agg.clock_rows(reviews, q.pauses(visible), today)
    points = q.learning_points(visible).drop_duplicates("point_id").groupby("review_id").size()
    recs = q.recommendations(visible).groupby("review_id").size()
    columns = [
        Column("review", "Review"),
        key_column("review_id", "review"),
        Column("type", "Type"),
        key_column("review_type", "type"),
        Column("status", "Status"),
        key_column("status_key", "status"),
        Column("aware_on", "Authority aware"),
        Column("notified_on", "National Panel notified"),
    ]
    for kind in ClockKind:
        columns += [
            Column(f"{kind.value}_due", f"{_CLOCK_HEADINGS[kind]} due"),
            Column(f"{kind.value}_state", f"{_CLOCK_HEADINGS[kind]} clock"),
            key_column(f"{kind.value}_state_key", f"{kind.value}_state"),
        ]
    columns += [
        Column("panel_met_on", "Panel met"),
        Column("decision", "Decision"),
        key_column("decision_key", "decision"),
        Column("decided_on", "Decided"),
        Column("decision_rationale", "Rationale"),
        Column("panel_response", "National Panel"),
        key_column("panel_response_key", "panel_response"),
        Column("completed_on", "Completed"),
        Column("publication", "Publication"),
        key_column("publication_state", "publication"),
        Column("publication_delay_reason", "Reason publication waits"),
        Column("published_on", "Published"),
        Column("published_url", "Link"),
        Column("learning_points", "Learning points", "count"),
        Column("recommendations", "Recommendations", "count"),
    ]
    by_review = dict(list(clocks.groupby("review_id"))) if len(clocks) else {}
    rows = []
    for r in reviews.itertuples(index=False):
        row: dict[str, Any] = {
            "review": r.pseudonym,
            "review_id": r.review_id,
            "type": ReviewType(r.review_type).label,
            "review_type": r.review_type,
            "status": ReviewStatus(r.status).label,
            "status_key": r.status,
            "aware_on": _day(r.aware_on),
            "notified_on": _day(r.notified_on),
            "panel_met_on": _day(r.panel_met_on),
            "decision": _label(ReviewDecision, r.decision),
            "decision_key": r.decision,
            "decided_on": _day(r.decided_on),
            "decision_rationale": r.decision_rationale,
            "panel_response": _label(PanelResponse, r.panel_response),
            "panel_response_key": r.panel_response,
            "completed_on": _day(r.completed_on),
            "publication": PublicationState(r.publication_state).label,
            "publication_state": r.publication_state,
            "publication_delay_reason": r.publication_delay_reason,
            "published_on": _day(r.published_on),
            "published_url": r.published_url,
            "learning_points": int(points.get(r.review_id, 0)),
            "recommendations": int(recs.get(r.review_id, 0)),
        }
        for kind in ClockKind:
            row[f"{kind.value}_due"] = ""
            row[f"{kind.value}_state"] = "Does not apply"
            row[f"{kind.value}_state_key"] = None
        for c in by_review.get(r.review_id, pd.DataFrame(columns=agg.CLOCK_COLUMNS)).itertuples(index=False):
            row[f"{c.clock}_due"] = _day(c.due_on)
            row[f"{c.clock}_state"] = ClockState(c.state).label
            row[f"{c.clock}_state_key"] = c.state
        rows.append(row)
    return Table("review_register", "Register of learning reviews", columns, rows)


# ----------------------------------------------------------------------------------------------------------
# The learning summary
# ----------------------------------------------------------------------------------------------------------


def learning_tables(visible: sa.Select, partnership_id: int) -> list[Table]:
    """The learning points (with their themes), the recommendations and the count of each theme."""
    reviews = q.reviews(visible)
    names = dict(zip(reviews["review_id"], reviews["pseudonym"], strict=True))
    types = dict(zip(reviews["review_id"], reviews["review_type"], strict=True))
    points = q.learning_points(visible)
    point_rows = []
    for point_id, group in points.groupby("point_id", sort=False):
        first = group.iloc[0]
        point_rows.append(
            {
                "review": names[first["review_id"]],
                "review_id": int(first["review_id"]),
                "type": ReviewType(types[first["review_id"]]).label,
                "number": int(first["number"]),
                "point_id": int(point_id),
                "text": first["text"],
                "themes": "; ".join(t for t in group["theme"].tolist() if isinstance(t, str)),
            }
        )
    recs = q.recommendations(visible)
    rec_rows = [
        {
            "review": names[r.review_id],
            "review_id": int(r.review_id),
            "number": int(r.number),
            "recommendation_id": int(r.recommendation_id),
            "text": r.text,
            "themes": r.themes,
            "actions": int(r.actions),
            "open_actions": int(r.open_actions),
        }
        for r in recs.itertuples(index=False)
    ]
    counts = agg.theme_counts(points, q.themes(partnership_id))
    theme_rows = [
        {"theme": row.theme, "theme_id": int(theme_id), "points": int(row.points), "reviews": int(row.reviews)}
        for theme_id, row in counts.iterrows()
    ]
    return [
        Table(
            "learning_points",
            "Key learning points",
            [
                Column("review", "Review"),
                key_column("review_id", "review"),
                Column("type", "Type"),
                Column("number", "Number", "number"),
                key_column("point_id", "number"),
                Column("text", "Learning point"),
                Column("themes", "Learning themes"),
            ],
            point_rows,
        ),
        Table(
            "review_recommendations",
            "Recommendations",
            [
                Column("review", "Review"),
                key_column("review_id", "review"),
                Column("number", "Number", "number"),
                key_column("recommendation_id", "number"),
                Column("text", "Recommendation"),
                Column("themes", "Learning themes"),
                Column("actions", "Actions", "count"),
                Column("open_actions", "Actions still open", "count"),
            ],
            rec_rows,
        ),
        _theme_table(theme_rows, "learning_point_themes", "Learning themes of the learning points"),
    ]


def _theme_table(rows: list[dict[str, Any]], key: str, title: str) -> Table:
    return Table(
        key,
        title,
        [
            Column("theme", "Learning theme"),
            key_column("theme_id", "theme"),
            Column("points", "Learning points", "count"),
            Column("reviews", "Reviews", "count"),
        ],
        rows,
    )


# ----------------------------------------------------------------------------------------------------------
# The annual summary (1 April to 31 March)
# ----------------------------------------------------------------------------------------------------------


@dataclass
class AnnualSummary:
    partnership_id: int
    year: int
    tables: dict[str, Table] = field(default_factory=dict)
    #: headline figures for the page's summary list
    headline: dict[str, int] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return agg.year_label(self.year)

    def add(self, table: Table) -> None:
        self.tables[table.key] = table


def default_year(today: date | None = None) -> int:
    """The last complete reporting year (the one an annual report covers)."""
    return agg.reporting_year(today or clock.today()) - 1


def build_annual_summary(
    visible: sa.Select, partnership_id: int, year: int, today: date | None = None
) -> AnnualSummary:
    """The year's figures: reviews by type, rapid review decisions (with the National Panel's response),
    timeliness against each clock, publication, and the themes of the year's learning points."""
    today = today or clock.today()
    reviews = q.reviews(visible)
    started = agg.reviews_in_year(reviews, year)
    clocks = agg.clock_rows(reviews, q.pauses(visible), today)
    summary = AnnualSummary(partnership_id, year)
    types = agg.by_type(started)
    summary.add(
        Table(
            "reviews_by_type",
            "Reviews started in the year, by type",
            [Column("type", "Type"), key_column("review_type", "type"), Column("reviews", "Reviews", "count")],
            [
                {"type": REVIEW_TYPE_LABELS[ReviewType(key)], "review_type": key, "reviews": int(row.reviews)}
                for key, row in types.iterrows()
            ],
            notes=[
                "A review counts in the year the local authority became aware of the incident, or, without that "
                "date, the year it was commissioned or registered."
            ],
        )
    )
    decisions = agg.by_decision(reviews, year)
    summary.add(
        Table(
            "review_decisions",
            "Rapid review decisions made in the year",
            [
                Column("decision", "Decision"),
                key_column("decision_key", "decision"),
                Column("decisions", "Decisions", "count"),
                Column("agreed", "National Panel agreed", "count"),
                Column("disagreed", "National Panel did not agree", "count"),
                Column("awaiting", "Awaiting the National Panel", "count"),
            ],
            [
                {
                    "decision": DECISION_LABELS[ReviewDecision(key)],
                    "decision_key": key,
                    "decisions": int(row.decisions),
                    "agreed": int(row.agreed),
                    "disagreed": int(row.disagreed),
                    "awaiting": int(row.awaiting),
                }
                for key, row in decisions.iterrows()
            ],
        )
    )
    timely = agg.timeliness(clocks, year)
    summary.add(
        Table(
            "review_timeliness",
            "Timeliness against each statutory clock (clocks due in the year)",
            [
                Column("clock", "Clock"),
                key_column("clock_key", "clock"),
                Column("due", "Due in the year", "count"),
                Column("met", "Met on time", "count"),
                Column("met_pct", "Met on time", "pct", of=("met", "decided"), empty="none due yet"),
                Column("missed", "Met late", "count"),
                Column("overdue", "Overdue, not met", "count"),
                Column("open", "Not yet due or paused", "count"),
                Column("decided", "Met, late or overdue", "count"),
            ],
            [
                {
                    "clock": CLOCK_LABELS[ClockKind(key)],
                    "clock_key": key,
                    **{column: int(row[column]) for column in ("due", "met", "missed", "overdue", "open", "decided")},
                    "met_pct": (100.0 * row["met"] / row["decided"]) if row["decided"] else None,
                }
                for key, row in timely.iterrows()
            ],
            notes=[
                "Notification is due 5 working days after the local authority became aware; a rapid review 15 "
                "working days after notification; a practice review 6 months after the decision that commissioned "
                "it. Working days leave out weekends and bank holidays in England; a paused clock's due date moves "
                "by the time it was paused."
            ],
        )
    )
    published = agg.publication(reviews, year)
    summary.add(
        Table(
            "review_publication",
            "Publication of the year's reviews",
            [
                Column("publication", "Publication"),
                key_column("publication_state", "publication"),
                Column("reviews", "Reviews started in the year", "count"),
                Column("published_in_year", "Published in the year (any review)", "count"),
            ],
            [
                {
                    "publication": PUBLICATION_LABELS[PublicationState(key)],
                    "publication_state": key,
                    "reviews": int(row.reviews),
                    # published in the year counts published reviews only: other states have no such figure
                    "published_in_year": int(row.published_in_year)
                    if key == PublicationState.PUBLISHED.value
                    else None,
                }
                for key, row in published.iterrows()
            ],
        )
    )
    year_ids = set(started["review_id"].tolist())
    points = q.learning_points(visible)
    counts = agg.theme_counts(points[points["review_id"].isin(year_ids)], q.themes(partnership_id))
    summary.add(
        _theme_table(
            [
                {"theme": row.theme, "theme_id": int(theme_id), "points": int(row.points), "reviews": int(row.reviews)}
                for theme_id, row in counts.iterrows()
            ],
            "review_themes",
            "Learning themes of the year's reviews",
        )
    )
    summary.headline = {
        "reviews": len(started),
        "rapid_reviews": int(types.loc[ReviewType.RAPID_REVIEW.value, "reviews"]),
        "decisions": int(decisions["decisions"].sum()),
        "clocks_missed": int(timely["missed"].sum() + timely["overdue"].sum()),
    }
    return summary


def summary_fingerprint(summary: AnnualSummary) -> str:
    """A hash of every figure the summary shows: a kept PDF is current while it is unchanged."""
    data = {key: table.to_json() for key, table in summary.tables.items()}
    return hashlib.sha256(json.dumps([summary.year, data], sort_keys=True, default=str).encode()).hexdigest()


def summary_xlsx(summary: AnnualSummary) -> bytes:
    return tables_xlsx(summary.tables.values(), [("Annual summary of learning reviews", summary.label)])


def register_xlsx(table: Table) -> bytes:
    return tables_xlsx([table], [("Register of learning reviews", "Every review you can see, with its clocks")])


def learning_xlsx(tables: list[Table]) -> bytes:
    return tables_xlsx(tables, [("Learning summary", "Key learning points and recommendations of learning reviews")])
