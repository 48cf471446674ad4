"""Pure figures of learning reviews: the reporting year (1 April to 31 March), counts by type and decision,
timeliness against each statutory clock, publication, and learning themes. DataFrames in, DataFrames out; no
database and no Flask. Every table is reindexed on its full list (every type, decision, clock, theme), so a
row nobody reached shows 0 rather than disappearing."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import pandas as pd

from ..reviews.clocks import ClockState, review_clocks
from ..reviews.models import ClockKind, PanelResponse, PublicationState, ReviewDecision, ReviewType

# -- the reporting year --


def reporting_year(d: date) -> int:
    """The year (1 April to 31 March) ``d`` falls in, named by the year it starts: 31 March 2026 is in 2025."""
    return d.year if d.month >= 4 else d.year - 1


def year_bounds(year: int) -> tuple[date, date]:
    """The first and last day of the reporting year starting in ``year``."""
    return date(year, 4, 1), date(year + 1, 3, 31)


def year_label(year: int) -> str:
    """ "1 April 2025 to 31 March 2026"."""
    return f"1 April {year} to 31 March {year + 1}"


def start_date(row: pd.Series | SimpleNamespace) -> date:
    """The day a review started, for counting it in a year: the day the authority became aware, else the day
    it was commissioned (decided), else the day it was registered."""
    for value in (row.aware_on, row.decided_on, row.created_on):
        if value is not None and not pd.isna(value):
            return value
    raise ValueError("a review always has its registration date")


def in_year(day: date | None, year: int) -> bool:
    if day is None or pd.isna(day):
        return False
    first, last = year_bounds(year)
    return first <= day <= last


# -- clocks --

CLOCK_COLUMNS = ["review_id", "clock", "starts_on", "base_due_on", "due_on", "met_on", "state", "paused_days"]


def clock_rows(reviews: pd.DataFrame, pauses: pd.DataFrame, today: date) -> pd.DataFrame:
    """Every clock of every review as of ``today`` (``reviews`` and ``pauses`` as ``review_queries`` gives
    them), with :data:`CLOCK_COLUMNS`; ``clock`` and ``state`` are keys."""
    by_review: dict[int, list[SimpleNamespace]] = {}
    for pause in pauses.itertuples(index=False):
        by_review.setdefault(pause.review_id, []).append(
            SimpleNamespace(
                clock=ClockKind(pause.clock),
                paused_on=pause.paused_on,
                resumed_on=None if pd.isna(pause.resumed_on) else pause.resumed_on,
            )
        )
    rows = []
    for review in reviews.itertuples(index=False):
        subject = SimpleNamespace(
            review_type=ReviewType(review.review_type),
            decision=None if review.decision is None else ReviewDecision(review.decision),
            aware_on=_date(review.aware_on),
            notified_on=_date(review.notified_on),
            decided_on=_date(review.decided_on),
            completed_on=_date(review.completed_on),
            pauses=by_review.get(review.review_id, []),
        )
        for c in review_clocks(subject, today):
            rows.append(
                (
                    review.review_id,
                    c.kind.value,
                    c.starts_on,
                    c.base_due_on,
                    c.due_on,
                    c.met_on,
                    c.state.value,
                    c.paused_days,
                )
            )
    return pd.DataFrame(rows, columns=CLOCK_COLUMNS)


def _date(value: object) -> date | None:
    return None if value is None or pd.isna(value) else value  # type: ignore[return-value]


# -- the annual summary's figures --


def reviews_in_year(reviews: pd.DataFrame, year: int) -> pd.DataFrame:
    """The reviews that started in the reporting year (:func:`start_date`)."""
    if reviews.empty:
        return reviews
    return reviews[[in_year(start_date(row), year) for row in reviews.itertuples(index=False)]]


def by_type(reviews: pd.DataFrame) -> pd.DataFrame:
    """Reviews per type, every type listed: index ``review_type`` (key), column ``reviews``."""
    counts = reviews.groupby("review_type").size() if len(reviews) else pd.Series(dtype=int)
    keys = [t.value for t in ReviewType]
    return pd.DataFrame({"reviews": counts.reindex(keys, fill_value=0).astype(int)}).rename_axis("review_type")


def by_decision(reviews: pd.DataFrame, year: int) -> pd.DataFrame:
    """Rapid review decisions made in the year, every decision listed, with the National Panel's response:
    index ``decision`` (key); columns ``decisions``, ``agreed``, ``disagreed``, ``awaiting``."""
    decided = reviews[
        (reviews["review_type"] == ReviewType.RAPID_REVIEW.value)
        & reviews["decided_on"].map(lambda d: in_year(d, year))
    ]
    keys = [d.value for d in ReviewDecision]
    frame = pd.DataFrame(index=pd.Index(keys, name="decision"))
    frame["decisions"] = decided.groupby("decision").size().reindex(keys, fill_value=0).astype(int)
    for response in PanelResponse:
        mine = decided[decided["panel_response"] == response.value]
        frame[response.value] = mine.groupby("decision").size().reindex(keys, fill_value=0).astype(int)
    return frame


def timeliness(clocks: pd.DataFrame, year: int) -> pd.DataFrame:
    """Each clock's record in the year, of the clocks due in it: index ``clock`` (key); columns ``due`` (due in
    the year), ``met`` (met by the due date), ``missed`` (met after it), ``overdue`` (not met, past due),
    ``open`` (not yet due, or paused), ``decided`` (met + missed + overdue: the share's denominator)."""
    keys = [k.value for k in ClockKind]
    due = clocks[clocks["due_on"].map(lambda d: in_year(d, year))] if len(clocks) else clocks
    frame = pd.DataFrame(index=pd.Index(keys, name="clock"))
    frame["due"] = (due.groupby("clock").size() if len(due) else pd.Series(dtype=int)).reindex(keys, fill_value=0)
    for column, states in {
        "met": {ClockState.MET},
        "missed": {ClockState.MISSED},
        "overdue": {ClockState.OVERDUE},
        "open": {ClockState.RUNNING, ClockState.DUE_SOON, ClockState.PAUSED},
    }.items():
        mine = due[due["state"].isin([s.value for s in states])] if len(due) else due
        frame[column] = (mine.groupby("clock").size() if len(mine) else pd.Series(dtype=int)).reindex(
            keys, fill_value=0
        )
    frame["decided"] = frame["met"] + frame["missed"] + frame["overdue"]
    return frame.astype(int)


def publication(reviews: pd.DataFrame, year: int) -> pd.DataFrame:
    """Publication, every state listed: index ``publication_state`` (key); columns ``reviews`` (the year's
    reviews in that state now) and ``published_in_year`` (any review published in the year, for "published")."""
    keys = [s.value for s in PublicationState]
    mine = reviews_in_year(reviews, year)
    counts = mine.groupby("publication_state").size() if len(mine) else pd.Series(dtype=int)
    frame = pd.DataFrame({"reviews": counts.reindex(keys, fill_value=0).astype(int)}).rename_axis("publication_state")
    published = reviews[reviews["published_on"].map(lambda d: in_year(d, year))] if len(reviews) else reviews
    frame["published_in_year"] = 0
    frame.loc[PublicationState.PUBLISHED.value, "published_in_year"] = len(published)
    return frame


def theme_counts(points: pd.DataFrame, themes: pd.DataFrame) -> pd.DataFrame:
    """How often each theme tags the learning points given (one row per point and theme): index ``theme_id``
    (the partnership's themes in order; a retired theme only if it was used); columns ``theme``, ``points``,
    ``reviews`` (distinct reviews)."""
    tagged = points.dropna(subset=["theme_id"])
    used = set(tagged["theme_id"].astype(int))
    listed = themes[(~themes["is_retired"].astype(bool)) | themes["theme_id"].isin(used)]
    ids = listed["theme_id"].astype(int).tolist()
    grouped = tagged.assign(theme_id=tagged["theme_id"].astype(int)).groupby("theme_id")
    frame = pd.DataFrame(index=pd.Index(ids, name="theme_id"))
    frame["theme"] = listed.set_index("theme_id")["theme"].reindex(ids)
    frame["points"] = (grouped["point_id"].nunique() if len(tagged) else pd.Series(dtype=int)).reindex(
        ids, fill_value=0
    )
    frame["reviews"] = (grouped["review_id"].nunique() if len(tagged) else pd.Series(dtype=int)).reindex(
        ids, fill_value=0
    )
    return frame.astype({"points": int, "reviews": int})
