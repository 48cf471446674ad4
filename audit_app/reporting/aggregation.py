"""Pure aggregation of findings: DataFrames in, DataFrames out.

No Flask and no database here (reporting/queries.py fetches rows and counts),
so every figure is tested on hand-built frames. Rules that hold throughout:
unanswered and not-applicable answers never count as zero; every percentage
comes with its numerator and denominator; a group or question nobody answered
still appears (reindexed), with missing kept as missing.

Counts arrive either as one row per answer or already counted (an ``n``
column); both give the same figures.
"""

from __future__ import annotations

import pandas as pd

#: the statuses of the returned and declined groups (``ReturnStatus.in_group``; this module imports no model,
#: and tests/test_round_engine.py holds the two to agreeing)
RETURNED = ("submitted", "accepted")
DECLINED = ("declined", "alternative_template")
IMPROVED, SAME, WORSE, NOT_COMPARED = "Improved", "Same", "Worse", "Not graded both times"


def share(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    """numerator / denominator as a percentage, missing (not 0) where the denominator is 0.

    Multiplied before dividing, so a share that is exactly half a tenth stays exact (29 of 200 is 14.5,
    not 14.499999999999998) and rounds half up as people expect."""
    denominator = denominator.astype("float64")
    return (numerator.astype("float64") * 100) / denominator.where(denominator > 0)


def _weights(frame: pd.DataFrame) -> pd.Series:
    return frame["n"] if "n" in frame.columns else pd.Series(1, index=frame.index, dtype="int64")


def with_labels(counts: pd.DataFrame, levels: pd.DataFrame) -> pd.DataFrame:
    """Counts by ``level_id`` joined to their level's ``label``, ``value`` and ``is_na``."""
    return counts.merge(levels[["level_id", "label", "value", "is_na"]], on="level_id", how="inner")


def return_rates(returns: pd.DataFrame, by: str, groups: list[str]) -> pd.DataFrame:
    """Return rates per group.

    ``returns`` columns: ``status`` and the ``by`` column, one row per return.
    Result index: ``groups`` (every group, returned or not); columns:
    ``expected``, ``returned``, ``declined``, ``outstanding``, ``rate``
    (returned / expected, %), ``rate_excluding_declined`` (returned /
    (expected - declined), %).
    """
    frame = returns.assign(
        returned=returns["status"].isin(RETURNED).astype("int64"),
        declined=returns["status"].isin(DECLINED).astype("int64"),
        expected=1,
    )
    table = frame.groupby(by)[["expected", "returned", "declined"]].sum()
    table = table.reindex(groups, fill_value=0)
    table["outstanding"] = table["expected"] - table["returned"] - table["declined"]
    table["rate"] = share(table["returned"], table["expected"])
    table["eligible"] = table["expected"] - table["declined"]
    table["rate_excluding_declined"] = share(table["returned"], table["eligible"])
    table.index.name = by
    return table


def grade_distribution(
    answers: pd.DataFrame,
    questions: list[str],
    levels: list[str],
    by: str | None = None,
    groups: list[str] | None = None,
    *,
    good: list[str],
) -> pd.DataFrame:
    """Counts and shares of each grade per question (and per ``by`` group).

    ``answers`` columns: ``question_key``, ``label``, ``is_na`` (and ``by``,
    and ``n`` if already counted). Not-applicable answers are counted apart and
    never in the shares. ``good``: the labels of the levels that count as good
    (their ``counts_as_good`` flag). Result: one row per question (per group),
    columns ``<level>`` counts, ``graded`` (answers on a grade),
    ``not_applicable``, ``good_or_better`` and ``good_or_better_pct`` (of
    graded answers).
    Questions (and ``groups``) nobody answered appear with zero counts and a
    missing share.
    """
    keys = ["question_key"] if by is None else [by, "question_key"]
    frame = answers.assign(n=_weights(answers), is_na=answers["is_na"].astype(bool))
    graded = frame[~frame["is_na"]]
    counts = graded.groupby([*keys, "label"])["n"].sum().unstack("label")
    counts = counts.reindex(columns=levels).fillna(0).astype("int64")
    na = frame[frame["is_na"]].groupby(keys)["n"].sum().rename("not_applicable")
    if by is None:
        index = pd.Index(questions, name="question_key")
    else:
        if groups is None:
            groups = sorted(frame[by].dropna().unique())
        index = pd.MultiIndex.from_product([groups, questions], names=[by, "question_key"])
    table = counts.reindex(index, fill_value=0)
    table["not_applicable"] = na.reindex(index, fill_value=0).astype("int64")
    table["graded"] = table[levels].sum(axis=1)
    table["good_or_better"] = table[[label for label in levels if label in good]].sum(axis=1)
    table["good_or_better_pct"] = share(table["good_or_better"], table["graded"])
    return table


def grade_differences(agency: pd.DataFrame, panel: pd.DataFrame) -> pd.DataFrame:
    """Each agency's own grade beside the multi-agency (panel) grade for the same case and section.

    ``agency`` columns: ``round_case_id``, ``grade_key``, ``agency``, ``label``, ``value`` (and any others,
    kept); ``panel`` columns: ``round_case_id``, ``grade_key``, ``label``, ``value``. Result adds
    ``panel_label``, ``panel_value``, ``difference`` (agency - panel; missing where either is missing or
    not applicable) and ``differs`` (True, False or missing where there is nothing to compare).
    """
    merged = agency.merge(
        panel[["round_case_id", "grade_key", "label", "value"]].rename(
            columns={"label": "panel_label", "value": "panel_value"}
        ),
        on=["round_case_id", "grade_key"],
        how="left",
    )
    merged["difference"] = merged["value"].astype("float64") - merged["panel_value"].astype("float64")
    merged["differs"] = (merged["difference"] != 0).astype("boolean").where(merged["difference"].notna())
    return merged


def difference_summary(differences: pd.DataFrame, agencies: list, by: str = "agency") -> pd.DataFrame:
    """Per agency (the ``by`` column: a name, or ``agency_id``): grades compared with the panel's, how many
    agree, and how many the agency graded higher or lower. Index: ``agencies``; columns ``compared``,
    ``same``, ``higher``, ``lower``, ``same_pct``."""
    compared = differences[differences["difference"].notna()]
    table = pd.DataFrame(
        {
            "compared": compared.groupby(by).size(),
            "same": compared[compared["difference"] == 0].groupby(by).size(),
            "higher": compared[compared["difference"] > 0].groupby(by).size(),
            "lower": compared[compared["difference"] < 0].groupby(by).size(),
        }
    )
    table = table.reindex(agencies).fillna(0).astype("int64")
    table["same_pct"] = share(table["same"], table["compared"])
    table.index.name = by
    return table


def with_kept_agreement(table: pd.DataFrame, kept: pd.DataFrame) -> pd.DataFrame:
    """A :func:`difference_summary` table by ``agency_id`` with a purged round's kept counts added (``kept``:
    ``agency_id``, ``key`` (same, higher, lower), ``n``); agencies not in the table are left out."""
    if kept.empty:
        return table
    table = table.copy()
    for row in kept.itertuples():
        if row.agency_id in table.index and row.key in ("same", "higher", "lower"):
            table.loc[row.agency_id, row.key] += int(row.n)
            table.loc[row.agency_id, "compared"] += int(row.n)
    table["same_pct"] = share(table["same"], table["compared"])
    return table


def change(before: pd.Series, after: pd.Series) -> pd.Series:
    """Improved, Same or Worse by the levels' values (higher is better); not compared where either is missing."""
    before, after = before.astype("float64"), after.astype("float64")
    result = pd.Series(NOT_COMPARED, index=before.index, dtype="object")
    both = before.notna() & after.notna()
    result[both & (after > before)] = IMPROVED
    result[both & (after == before)] = SAME
    result[both & (after < before)] = WORSE
    return result


def reaudit_comparison(
    cases: pd.DataFrame, now: pd.DataFrame, then: pd.DataFrame, grade_keys: list[str]
) -> pd.DataFrame:
    """Each carried case's grades then and now.

    ``cases``: the round's cases (``round_case_id``, ``previous_round_case_id``, ``case``); only carried
    ones (with a previous round case) are compared. ``now`` and ``then``: grades (``round_case_id``,
    ``grade_key``, ``label``, ``value``) in this round and the earlier one. Result: one row per carried
    case and grade key, columns ``case``, ``grade_key``, ``then_label``, ``now_label``, ``change``.
    """
    carried = cases[cases["previous_round_case_id"].notna()][["round_case_id", "previous_round_case_id", "case"]]
    index = pd.MultiIndex.from_product(
        [carried["round_case_id"].tolist(), grade_keys], names=["round_case_id", "grade_key"]
    )
    frame = pd.DataFrame(index=index).reset_index().merge(carried, on="round_case_id")
    frame["previous_round_case_id"] = frame["previous_round_case_id"].astype("int64")
    frame = frame.merge(
        now[["round_case_id", "grade_key", "label", "value"]].rename(
            columns={"label": "now_label", "value": "now_value"}
        ),
        on=["round_case_id", "grade_key"],
        how="left",
    ).merge(
        then[["round_case_id", "grade_key", "label", "value"]].rename(
            columns={"round_case_id": "previous_round_case_id", "label": "then_label", "value": "then_value"}
        ),
        on=["previous_round_case_id", "grade_key"],
        how="left",
    )
    frame["change"] = change(frame["then_value"], frame["now_value"])
    frame["grade_key"] = pd.Categorical(frame["grade_key"], categories=grade_keys, ordered=True)
    frame = frame.sort_values(["case", "grade_key"]).reset_index(drop=True)
    frame["grade_key"] = frame["grade_key"].astype("object")
    return frame[["round_case_id", "case", "grade_key", "then_label", "now_label", "then_value", "now_value", "change"]]


def change_summary(comparison: pd.DataFrame, grade_keys: list[str]) -> pd.DataFrame:
    """Per grade key: how many carried cases improved, stayed the same, got worse or could not be compared."""
    columns = [IMPROVED, SAME, WORSE, NOT_COMPARED]
    table = comparison.groupby(["grade_key", "change"]).size().unstack("change")
    table = table.reindex(index=grade_keys, columns=columns).fillna(0).astype("int64")
    table["compared"] = table[[IMPROVED, SAME, WORSE]].sum(axis=1)
    table["improved_pct"] = share(table[IMPROVED], table["compared"])
    table.index.name = "grade_key"
    return table


def trend(
    counts: pd.DataFrame,
    rounds: list[int],
    levels: list[str],
    by: str | None = None,
    groups: list[str] | None = None,
    *,
    good: list[str],
) -> pd.DataFrame:
    """Grades by round (and ``by`` group): level counts, ``graded``, ``not_applicable``, ``good_or_better``
    (of the ``good`` levels) and its share. ``counts``: ``round_id``, ``label``, ``is_na`` (``by``, ``n``).
    Every round appears, graded or not."""
    frame = counts.assign(question_key=counts["round_id"])
    table = grade_distribution(frame, questions=rounds, levels=levels, by=by, groups=groups, good=good)
    return table.rename_axis(index={"question_key": "round_id"})


def total_over(table: pd.DataFrame, level: str, keys: list, levels: list[str]) -> pd.DataFrame:
    """A grade table by group and ``level`` summed over the groups: one row per key of ``level``
    (every key, summed or not), the share recomputed from the summed counts."""
    counts = [*levels, "graded", "not_applicable", "good_or_better"]
    total = table[counts].groupby(level=level).sum().reindex(keys, fill_value=0).astype("int64")
    total["good_or_better_pct"] = share(total["good_or_better"], total["graded"])
    return total


def agency_theme_table(
    counts: pd.DataFrame, levels: list[str], agencies: list[str], themes: list[str], *, good: list[str]
) -> pd.DataFrame:
    """Agency by theme: graded overall grades, how many were good or better (of the ``good`` levels),
    and the share. ``counts``: ``agency``, ``theme``, ``label``, ``is_na`` (``n``). Index (agency, theme)."""
    frame = counts.assign(question_key=counts["theme"])
    table = grade_distribution(frame, questions=themes, levels=levels, by="agency", groups=agencies, good=good)
    return table.rename_axis(index={"question_key": "theme"})


def learning_themes(answers: pd.DataFrame, themes: list[str], rounds: list[int]) -> pd.DataFrame:
    """Learning themes ticked, by theme and round.

    ``answers``: one row per returned answer to the learning themes question: ``round_id``, ``return_id``,
    ``round_case_id`` (missing for a return without a case) and ``ticked`` (a list of themes).
    Result indexed by (``theme``, ``round_id``), every theme for every round: ``ticked`` (returns that
    ticked it), ``cases`` (cases on which any return ticked it), ``answered`` (returns in the round that
    ticked any theme) and ``ticked_pct`` (of those answering; missing where none answered).
    """
    index = pd.MultiIndex.from_product([themes, rounds], names=["theme", "round_id"])
    frame = answers[answers["ticked"].map(len) > 0]
    answered = frame.groupby("round_id")["return_id"].nunique()
    ticks = frame.explode("ticked").rename(columns={"ticked": "theme"})
    grouped = ticks.groupby(["theme", "round_id"])
    table = pd.DataFrame(
        {
            "ticked": grouped["return_id"].nunique(),
            "cases": grouped["round_case_id"].nunique(),
        }
    )
    table = table.reindex(index, fill_value=0).astype("int64")
    table["answered"] = answered.reindex(table.index.get_level_values("round_id"), fill_value=0).to_numpy("int64")
    table["ticked_pct"] = share(table["ticked"], table["answered"])
    return table


def learning_themes_total(answers: pd.DataFrame, themes: list[str]) -> pd.DataFrame:
    """Learning themes ticked across every round of ``answers`` (as for :func:`learning_themes`): one row per
    theme, ``ticked``, ``cases`` (a case counts once per round it is in), ``answered`` and ``ticked_pct``."""
    frame = answers[answers["ticked"].map(len) > 0]
    ticks = frame.explode("ticked").rename(columns={"ticked": "theme"})
    grouped = ticks.groupby("theme")
    table = pd.DataFrame(
        {
            "ticked": grouped["return_id"].nunique(),
            "cases": ticks.dropna(subset=["round_case_id"]).groupby("theme")["round_case_id"].nunique(),
        }
    )
    table = table.reindex(pd.Index(themes, name="theme")).fillna(0).astype("int64")
    table["answered"] = frame["return_id"].nunique()
    table["ticked_pct"] = share(table["ticked"], table["answered"])
    return table


def with_kept_themes(table: pd.DataFrame, kept: pd.DataFrame) -> pd.DataFrame:
    """A :func:`learning_themes` table with purged rounds' kept counts added (``kept``: ``round_id``, ``theme``
    ("" for any theme), ``ticked``, ``cases``); themes the table does not offer are left out."""
    if kept.empty:
        return table
    table = table.copy()
    for row in kept.itertuples():
        if row.theme == "":
            rows = table.index.get_level_values("round_id") == row.round_id
            table.loc[rows, "answered"] += int(row.ticked)
        elif (row.theme, row.round_id) in table.index:
            table.loc[(row.theme, row.round_id), "ticked"] += int(row.ticked)
            table.loc[(row.theme, row.round_id), "cases"] += int(row.cases)
    table["ticked_pct"] = share(table["ticked"], table["answered"])
    return table


def with_kept_themes_total(table: pd.DataFrame, kept: pd.DataFrame) -> pd.DataFrame:
    """A :func:`learning_themes_total` table with purged rounds' kept counts added (as :func:`with_kept_themes`)."""
    if kept.empty:
        return table
    table = table.copy()
    for row in kept.itertuples():
        if row.theme == "":
            table["answered"] += int(row.ticked)
        elif row.theme in table.index:
            table.loc[row.theme, "ticked"] += int(row.ticked)
            table.loc[row.theme, "cases"] += int(row.cases)
    table["ticked_pct"] = share(table["ticked"], table["answered"])
    return table


def suppress_small(value: object, threshold: int = 5) -> object:
    """A count from 1 to threshold - 1 becomes "fewer than <threshold>"; others are kept."""
    if isinstance(value, int | float) and not pd.isna(value) and 0 < value < threshold:
        return f"fewer than {threshold}"
    return value
