"""Pure aggregation of a self-assessment round: DataFrames in, DataFrames out (no Flask, no database).

The figures (docs/self-assessments.md, "Reports"):

- A **criterion** is a scale question of the questionnaire; a **standard** is a section with criteria.
- Each returned return (submitted or accepted) has one **cell** per criterion its agency is asked (by sector and
  show-if conditions): the agency's own level (``self_level_id``) and the moderator's (``moderated_level_id``).
  The **moderated** rating is the moderator's level where there is one, else the agency's own: both are kept
  and reported, the moderator's never replaces the agency's in the self-rated figures.
- A rating is **rated** when its level is not a not-applicable level; **not applicable** and **unanswered** are
  counted apart and never as zero. **Below good** counts rated answers whose level does not count as good
  (Partly met and Not met; Amber and Red), read from the level's flags, never its label.
- Declined, alternative-template and outstanding returns contribute no cells: they are listed, not counted.

Frames (columns):

- ``levels``: ``level_id``, ``position``, ``label``, ``value``, ``is_na``, ``is_good``
- ``criteria``: ``question_id``, ``question_key``, ``section_key``, ``section``, ``section_position``, ``position``
- ``returns``: ``return_id``, ``agency_id``, ``agency``, ``sector_key``, ``sector``, ``status``
- ``cells``: ``return_id``, ``question_id``, ``self_level_id``, ``moderated_level_id`` (missing where none)
"""

from __future__ import annotations

import pandas as pd

from .aggregation import RETURNED, share

BETTER, SAME, WORSE, NEW, NOT_RATED_NOW = "better", "same", "worse", "new", "not_rated_now"
CHANGE_LABELS = {
    BETTER: "Better",
    SAME: "Same",
    WORSE: "Worse",
    NEW: "New (not rated last round)",
    NOT_RATED_NOW: "Rated last round, not now",
}
#: the key of the line counting every sector together
ALL_SECTORS = ""


def returned(returns: pd.DataFrame) -> pd.DataFrame:
    """The returns that count in the figures (submitted or accepted)."""
    return returns[returns["status"].isin(RETURNED)]


def rated_cells(
    cells: pd.DataFrame, returns: pd.DataFrame, criteria: pd.DataFrame, levels: pd.DataFrame
) -> pd.DataFrame:
    """``cells`` of the returned returns, with their agency, sector, standard and each rating's state.

    Columns added: ``agency_id``, ``agency``, ``sector_key``, ``sector``, ``section_key``, ``question_key``,
    ``final_level_id`` (the moderator's level, else the agency's), ``is_moderated`` (a moderator's level that
    differs from the agency's), and for ``self`` and ``final``: ``<which>_state`` (rated / na / unanswered),
    ``<which>_good`` (rated and counts as good), ``<which>_value`` (the level's value)."""
    counted = returned(returns)[["return_id", "agency_id", "agency", "sector_key", "sector"]]
    frame = cells.merge(counted, on="return_id", how="inner").merge(
        criteria[["question_id", "question_key", "section_key"]], on="question_id", how="inner"
    )
    frame["self_level_id"] = frame["self_level_id"].astype("Int64")
    frame["moderated_level_id"] = frame["moderated_level_id"].astype("Int64")
    frame["final_level_id"] = frame["moderated_level_id"].fillna(frame["self_level_id"])
    frame["is_moderated"] = (
        frame["moderated_level_id"].notna() & (frame["moderated_level_id"] != frame["self_level_id"]).fillna(True)
    ).astype(bool)
    flags = levels.set_index("level_id")
    for which in ("self", "final"):
        ids = frame[f"{which}_level_id"]
        is_na = ids.map(flags["is_na"]).astype("boolean")
        is_good = ids.map(flags["is_good"]).astype("boolean")
        frame[f"{which}_state"] = "rated"
        frame.loc[is_na.fillna(False).astype(bool), f"{which}_state"] = "na"
        frame.loc[ids.isna(), f"{which}_state"] = "unanswered"
        frame[f"{which}_good"] = (frame[f"{which}_state"] == "rated") & is_good.fillna(False).astype(bool)
        frame[f"{which}_value"] = ids.map(flags["value"]).astype("float64")
    return frame


def _counts(frame: pd.DataFrame, by: list[str], level_ids: list[int]) -> pd.DataFrame:
    """Per ``by`` group: criteria, and for ``self`` and ``moderated`` (the final rating): rated, not applicable,
    unanswered, below good, its share of rated, and one count per level (``self_<level_id>``,
    ``moderated_<level_id>``); ``moderated_changed``: criteria a moderator rated differently."""
    columns: dict[str, pd.Series] = {name: frame[name] for name in by}
    columns["criteria"] = pd.Series(1, index=frame.index, dtype="int64")
    for which, column in (("self", "self"), ("moderated", "final")):
        state = frame[f"{column}_state"]
        columns[f"{which}_rated"] = state == "rated"
        columns[f"{which}_na"] = state == "na"
        columns[f"{which}_unanswered"] = state == "unanswered"
        columns[f"{which}_below_good"] = (state == "rated") & ~frame[f"{column}_good"]
        levels = frame[f"{column}_level_id"]
        for level_id in level_ids:
            columns[f"{which}_{level_id}"] = (levels == level_id).fillna(False).astype(bool)
    columns["moderated_changed"] = frame["is_moderated"]
    out = pd.DataFrame(columns).groupby(by).sum().astype("int64")
    for which in ("self", "moderated"):
        out[f"{which}_below_good_pct"] = share(out[f"{which}_below_good"], out[f"{which}_rated"])
    return out


def heatmap(rated: pd.DataFrame, agencies: pd.DataFrame, sections: list[str], level_ids: list[int]) -> pd.DataFrame:
    """One row per returned agency and standard (every pair, reindexed: a standard not asked of an agency has
    ``criteria`` 0 and missing shares).

    ``agencies``: ``agency_id``, ``agency``, ``sector_key``, ``sector`` (the returned agencies, in report order).
    Result: a flat frame with ``agency_id``, ``agency``, ``sector_key``, ``sector``, ``section_key`` and the
    columns of ``_counts``."""
    index = pd.MultiIndex.from_product([agencies["agency_id"].tolist(), sections], names=["agency_id", "section_key"])
    counts = pd.DataFrame(index=index) if rated.empty else _counts(rated, ["agency_id", "section_key"], level_ids)
    counts = counts.reindex(index)
    counts = _zero_counts(counts, level_ids)
    flat = counts.reset_index().merge(agencies, on="agency_id", how="left")
    return flat[["agency_id", "agency", "sector_key", "sector", "section_key", *_count_names(level_ids)]]


def _count_names(level_ids: list[int]) -> list[str]:
    names = ["criteria"]
    for which in ("self", "moderated"):
        names += [f"{which}_{k}" for k in ("rated", "na", "unanswered", "below_good", "below_good_pct")]
        names += [f"{which}_{level_id}" for level_id in level_ids]
    return [*names, "moderated_changed"]


def _zero_counts(counts: pd.DataFrame, level_ids: list[int]) -> pd.DataFrame:
    """Counts of a group with no criteria are 0 (nothing was counted); shares stay missing."""
    for name in _count_names(level_ids):
        if name not in counts.columns:
            counts[name] = float("nan")
        if not name.endswith("_pct"):
            counts[name] = counts[name].fillna(0).astype("int64")
        else:
            counts[name] = pd.to_numeric(counts[name], errors="coerce").astype("float64")
    return counts


def below_good_by_sector(
    rated: pd.DataFrame, sections: list[str], sectors: list[str], level_ids: list[int]
) -> pd.DataFrame:
    """Per standard and sector (``sector_key``), then per standard for all sectors (``sector_key`` ``""``):
    ``agencies`` (returned agencies asked any of the standard's criteria) and the counts of ``_counts``.

    Every standard and sector appears (reindexed), in the order given."""
    index = pd.MultiIndex.from_product([sections, [*sectors, ALL_SECTORS]], names=["section_key", "sector_key"])
    if rated.empty:
        out = pd.DataFrame(index=index)
        agencies = pd.Series(dtype="int64")
    else:
        by_sector = _counts(rated, ["section_key", "sector_key"], level_ids)
        overall = _counts(rated.assign(sector_key=ALL_SECTORS), ["section_key", "sector_key"], level_ids)
        out = pd.concat([by_sector, overall])
        agencies = pd.concat(
            [
                rated.groupby(["section_key", "sector_key"])["agency_id"].nunique(),
                rated.assign(sector_key=ALL_SECTORS).groupby(["section_key", "sector_key"])["agency_id"].nunique(),
            ]
        )
    out = _zero_counts(out.reindex(index), level_ids)
    out.insert(0, "agencies", agencies.reindex(index).fillna(0).astype("int64"))
    return out.reset_index()


def compare_ratings(rated: pd.DataFrame, previous: pd.DataFrame) -> pd.DataFrame:
    """Each current cell's final rating against the same agency's final rating last round on the question with
    the same key: ``change`` is better / same / worse (by the levels' values, higher is better), new (rated now,
    not last round: no answer, not applicable, or no returned return), or not_rated_now (rated last round, not
    applicable or unanswered now).

    ``previous``: ``agency_id``, ``question_key``, ``self_value``, ``self_na``, ``moderated_value``,
    ``moderated_na`` (the previous round's returned answers). Cells rated neither time are left out."""
    before = previous.copy()
    moderated = before["moderated_value"].notna() | before["moderated_na"].fillna(False).astype(bool)
    before["before_value"] = before["moderated_value"].where(moderated, before["self_value"]).astype("float64")
    before_na = before["moderated_na"].where(moderated, before["self_na"]).fillna(False).astype(bool)
    before.loc[before_na, "before_value"] = float("nan")
    frame = rated.merge(
        before[["agency_id", "question_key", "before_value"]], on=["agency_id", "question_key"], how="left"
    )
    now = frame["final_value"].where(frame["final_state"] == "rated")
    was = frame["before_value"]
    frame["change"] = pd.Series(pd.NA, index=frame.index, dtype="object")
    frame.loc[now.notna() & was.isna(), "change"] = NEW
    frame.loc[now.isna() & was.notna(), "change"] = NOT_RATED_NOW
    both = now.notna() & was.notna()
    frame.loc[both & (now > was), "change"] = BETTER
    frame.loc[both & (now == was), "change"] = SAME
    frame.loc[both & (now < was), "change"] = WORSE
    return frame[frame["change"].notna()]


def change_summary(compared: pd.DataFrame, agencies: pd.DataFrame, sections: list[str]) -> pd.DataFrame:
    """Per returned agency and standard (every pair): how many criteria are better, same, worse, new, or rated
    last round but not now. Columns: ``agency_id``, ``agency``, ``sector_key``, ``sector``, ``section_key`` and
    one count per change."""
    index = pd.MultiIndex.from_product([agencies["agency_id"].tolist(), sections], names=["agency_id", "section_key"])
    changes = [BETTER, SAME, WORSE, NEW, NOT_RATED_NOW]
    if compared.empty:
        table = pd.DataFrame(0, index=index, columns=changes)
    else:
        table = compared.groupby(["agency_id", "section_key", "change"]).size().unstack("change")
        table = table.reindex(index=index, columns=changes).fillna(0).astype("int64")
    flat = table.reset_index().merge(agencies, on="agency_id", how="left")
    return flat[["agency_id", "agency", "sector_key", "sector", "section_key", *changes]]


def band(share_below_good: float | None) -> str:
    """The heatmap colour band of a cell, by its share of rated criteria below good: ``none`` (nothing rated),
    ``all_good`` (0%), ``some`` (up to a quarter), ``many`` (up to a half), ``most`` (more than half)."""
    if share_below_good is None or pd.isna(share_below_good):
        return "none"
    if share_below_good == 0:
        return "all_good"
    if share_below_good <= 25:
        return "some"
    if share_below_good <= 50:
        return "many"
    return "most"
