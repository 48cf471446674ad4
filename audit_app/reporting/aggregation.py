"""Pure aggregation of round findings: DataFrames in, DataFrames out.

No Flask and no database here (reporting/queries.py fetches the rows), so
every figure is tested on hand-built frames. Rules that hold throughout:
unanswered and not-applicable answers never count as zero; every percentage
comes with its numerator and denominator; a group or question nobody answered
still appears (reindexed), with missing kept as missing.
"""

from __future__ import annotations

import pandas as pd

RETURNED = ("submitted", "accepted")
DECLINED = ("declined", "alternative_template")
GOOD_OR_BETTER = ("Outstanding", "Good")


def _share(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    """numerator / denominator as a percentage, missing (not 0) where the denominator is 0."""
    denominator = denominator.astype("float64")
    return (numerator.astype("float64") / denominator.where(denominator > 0)) * 100


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
    table["rate"] = _share(table["returned"], table["expected"])
    table["rate_excluding_declined"] = _share(table["returned"], table["expected"] - table["declined"])
    table.index.name = by
    return table


def grade_distribution(
    answers: pd.DataFrame, questions: list[str], levels: list[str], by: str | None = None
) -> pd.DataFrame:
    """Counts and shares of each grade per question (and per ``by`` group).

    ``answers`` columns: ``question_key``, ``label``, ``is_na`` (and ``by``),
    one row per answer given. Not-applicable answers are counted apart and
    never in the shares. Result: one row per question (per group), columns
    ``<level>`` counts, ``graded`` (answers on a grade), ``not_applicable``,
    ``good_or_better`` and ``good_or_better_pct`` (of graded answers).
    Questions nobody answered appear with zero counts and a missing share.
    """
    keys = ["question_key"] if by is None else [by, "question_key"]
    graded = answers[~answers["is_na"].astype(bool)]
    counts = graded.groupby([*keys, "label"]).size().unstack("label")
    counts = counts.reindex(columns=levels).fillna(0).astype("int64")
    na = answers[answers["is_na"].astype(bool)].groupby(keys).size().rename("not_applicable")
    if by is None:
        index = pd.Index(questions, name="question_key")
    else:
        groups = sorted(answers[by].dropna().unique())
        index = pd.MultiIndex.from_product([groups, questions], names=[by, "question_key"])
    table = counts.reindex(index, fill_value=0)
    table["not_applicable"] = na.reindex(index, fill_value=0).astype("int64")
    table["graded"] = table[levels].sum(axis=1)
    good = [level for level in levels if level in GOOD_OR_BETTER]
    table["good_or_better"] = table[good].sum(axis=1) if good else 0
    table["good_or_better_pct"] = _share(table["good_or_better"], table["graded"])
    return table


def grade_differences(agency: pd.DataFrame, panel: pd.DataFrame) -> pd.DataFrame:
    """Each agency's own grade beside the multi-agency (panel) grade for the same case and section.

    ``agency`` columns: ``case``, ``section_key``, ``agency``, ``label``, ``value``;
    ``panel`` columns: ``case``, ``section_key``, ``label``, ``value``.
    Result adds ``panel_label``, ``panel_value`` and ``difference`` (agency - panel;
    missing where either is missing) and ``differs`` (True, False or missing).
    """
    merged = agency.merge(
        panel.rename(columns={"label": "panel_label", "value": "panel_value"}), on=["case", "section_key"], how="left"
    )
    merged["difference"] = merged["value"].astype("float64") - merged["panel_value"].astype("float64")
    merged["differs"] = (merged["difference"] != 0).astype("boolean").where(merged["difference"].notna())
    return merged
