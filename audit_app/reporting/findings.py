"""Findings as tables: queries (database) -> aggregation (pandas) -> :class:`Table`.

Each function here builds the tables of one page, and the same tables feed
the page, its CSV/XLSX downloads, the PDF report and the API, so a figure is
computed once. ``agency_ids`` is the caller's access scope (None for the
partnership-wide roles): it goes into every query.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..rounds.models import Round, RoundStatus
from . import aggregation as agg
from . import queries as q
from .queries import OVERALL, Filters
from .tables import Column, LevelCount, Table, key_column

KIND_TITLES = {
    "strengths": "Strengths",
    "development": "Areas for development",
    "recommendations": "Recommendations",
}
PANEL = "Multi-agency panel"
VERDICTS = {
    "no_panel_grade": "No panel grade",
    "higher": "Agency graded higher",
    "lower": "Agency graded lower",
    "same": "Same",
}
CHANGE_KEYS = {agg.IMPROVED: "improved", agg.SAME: "same", agg.WORSE: "worse", agg.NOT_COMPARED: "not_compared"}


@dataclass
class Scale:
    labels: list[str]
    colours: dict[str, str]
    good: list[str]
    #: each label's value on the scale (its stable key)
    values: dict[str, float] = field(default_factory=dict)


@dataclass
class Findings:
    tables: dict[str, Table] = field(default_factory=dict)
    #: chart inputs: plain lists, drawn by reporting/charts.py
    charts: dict[str, Any] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    def add(self, table: Table) -> None:
        self.tables[table.key] = table

    def suppressed(self) -> Findings:
        return Findings(
            {k: t.suppress() for k, t in self.tables.items()}, self.charts, {**self.extra, "suppressed": True}
        )


def _none(value: Any) -> Any:
    return None if pd.isna(value) else value


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{k: _none(v) for k, v in row.items()} for row in frame.to_dict("records")]


def _scale(levels: pd.DataFrame) -> Scale:
    graded = levels[~levels["is_na"].astype(bool)]
    labels = graded["label"].tolist()
    good = graded.loc[graded["is_good"].astype(bool), "label"].tolist()
    return Scale(
        labels,
        dict(zip(graded["label"], graded["colour"], strict=True)),
        good,
        dict(zip(graded["label"], graded["value"], strict=True)),
    )


def good_title(labels: list[str], good: list[str]) -> str:
    """What "good or better" means on a scale, from its flagged levels: "Good or better" when they are
    the top levels down to Good, "Yes" when only Yes counts, else the labels joined with "or"."""
    if len(good) > 1 and labels[: len(good)] == good:
        return f"{good[-1]} or better"
    return " or ".join(good)


def _grade_columns(scale: Scale, first: list[Column]) -> list[Column]:
    columns = list(first)
    for label in scale.labels:
        level = (("level_value", _value(scale.values.get(label))),)
        columns += [
            Column(label, label, "count", meta=level),
            Column(f"{label} %", f"{label}", "pct", of=(label, "graded"), meta=level),
        ]
    good = good_title(scale.labels, scale.good)
    return [
        *columns,
        Column("graded", "Graded", "count"),
        Column("not_applicable", "Not applicable", "count"),
        Column("good_or_better", good, "count"),
        Column("good_or_better_pct", good, "pct", of=("good_or_better", "graded")),
    ]


def _pct(numerator: Any, denominator: Any) -> float | None:
    return numerator * 100.0 / denominator if denominator else None


def _value(value: Any) -> Any:
    """A level's value as a plain number (4, not 4.0 or numpy's), None where there is none."""
    if value is None or pd.isna(value):
        return None
    value = float(value)
    return int(value) if value.is_integer() else value


def _id(value: Any) -> Any:
    return None if value is None or pd.isna(value) else int(value)


#: the label column and key column of each kind of row index, in a grade table
AGENCY = ("agency", "agency_id")
SECTION = ("grade", "section_key")
ROUND = ("round", "round_id")


def _index_columns(parts: list[tuple[str, str]]) -> list[Column]:
    headings = {"agency": "Agency", "grade": "Section", "round": "Round"}
    columns: list[Column] = []
    for label, key in parts:
        columns += [Column(label, headings[label]), key_column(key, label)]
    return columns


def _grade_rows(
    table: pd.DataFrame, scale: Scale, index: list[tuple[tuple[str, str], dict[Any, str]]]
) -> list[dict[str, Any]]:
    """One row per index entry of ``table``: each index part as its label (from its names) and its key."""
    rows = []
    counts = [*scale.labels, "graded", "not_applicable", "good_or_better"]
    for entry, values in zip(table.index, table[counts].to_numpy().tolist(), strict=True):
        keys = entry if isinstance(entry, tuple) else (entry,)
        row: dict[str, Any] = {}
        for ((label, key_name), names), key in zip(index, keys, strict=True):
            row[label] = names.get(key, key)
            row[key_name] = key.item() if hasattr(key, "item") else key
        figures = dict(zip(counts, (int(v) for v in values), strict=True))
        for label in scale.labels:
            row[label] = figures[label]
            row[f"{label} %"] = _pct(figures[label], figures["graded"])
        row.update(graded=figures["graded"], not_applicable=figures["not_applicable"])
        row.update(
            good_or_better=figures["good_or_better"],
            good_or_better_pct=_pct(figures["good_or_better"], figures["graded"]),
        )
        rows.append(row)
    return rows


def _rate_table(key: str, title: str, rates: pd.DataFrame, first: list[Column], labels: dict[Any, dict]) -> Table:
    """Return rates, one row per group of ``rates``; ``labels`` gives each group's label and key cells."""
    rows = []
    for group, values in rates.iterrows():
        row = dict(labels[group])
        row.update({k: int(values[k]) for k in ("expected", "returned", "declined", "outstanding", "eligible")})
        row["rate"] = _none(values["rate"])
        row["rate_excluding_declined"] = _none(values["rate_excluding_declined"])
        rows.append(row)
    columns = [
        *first,
        Column("expected", "Returns asked for", "count"),
        Column("returned", "Returned", "count"),
        Column("declined", "Declined", "count"),
        Column("outstanding", "Outstanding", "count"),
        Column("rate", "Return rate", "pct", of=("returned", "expected"), empty="none asked for"),
        Column("eligible", "Asked for, less declined", "count"),
        Column(
            "rate_excluding_declined",
            "Return rate without declined",
            "pct",
            of=("returned", "eligible"),
            empty="none due",
        ),
    ]
    return Table(key, title, columns, rows)


def panel_shared(round_: Round) -> bool:
    """Agencies see the panel's grades on their cases once the round shares answers in its discussion,
    as on the discussion page itself."""
    return round_.shares_answers_in_discussion and round_.status in (RoundStatus.IN_DISCUSSION, RoundStatus.REPORTED)


SUMMARY, AGENCIES = "summary", "agencies"


def _graded_sections(questions: pd.DataFrame) -> tuple[pd.DataFrame, list[str], dict[str, str]]:
    """A version's grade questions, the sections they grade (in order) and each one's name."""
    grade_questions = questions[questions["grade_key"] != ""]
    names = {
        row.grade_key: ("Overall" if row.grade_key == OVERALL else row.section) for row in grade_questions.itertuples()
    }
    return grade_questions, grade_questions["grade_key"].tolist(), names


def round_findings(
    round_: Round,
    agency_ids: frozenset[int] | None = None,
    filters: Filters = Filters(),
    parts: frozenset[str] = frozenset({SUMMARY, AGENCIES}),
) -> Findings:
    """A round's figures. ``summary``: return rates, grade distributions (all agencies and the panel's)
    and every rated question; ``agencies``: each agency's grades, and beside the panel's. Each page
    asks only for its part; the API and the PDF take both."""
    found = Findings()
    summary_part, agencies_part = SUMMARY in parts, AGENCIES in parts
    whose = "all agencies" if agency_ids is None else "your agency"
    questions = q.round_questions(round_.questionnaire_version_id)
    grade_questions, grade_keys, names = _graded_sections(questions)

    # Return rates, by agency and by sector
    returns = q.round_returns(round_.id, agency_ids, filters)
    agencies = q.round_agencies(round_.id, agency_ids)
    if filters.sector:
        agencies = agencies[agencies["agency_id"].isin(returns["agency_id"])]
    agency_ids_in_view = [int(a) for a in agencies["agency_id"]]  # ordered by name
    agency_names = dict(zip(agency_ids_in_view, agencies["agency"], strict=True))
    agency_labels = {
        int(row.agency_id): {
            "agency": row.agency,
            "agency_id": int(row.agency_id),
            "sector": row.sector,
            "sector_key": row.sector_key,
        }
        for row in agencies.itertuples()
    }
    sector_labels = {
        row.sector_key: {"sector": row.sector, "sector_key": row.sector_key}
        for row in agencies.sort_values(["sector", "sector_key"]).itertuples()
    }
    if summary_part:
        found.add(
            _rate_table(
                "return_rate_overall",
                f"Return rate for the round ({whose})",
                agg.return_rates(returns.assign(round_id=round_.id), by="round_id", groups=[round_.id]),
                [Column("round", "Round"), key_column("round_id", "round")],
                {round_.id: {"round": round_.title, "round_id": round_.id}},
            )
        )
        found.add(
            _rate_table(
                "return_rates_agency",
                "Return rates by agency",
                agg.return_rates(returns, by="agency_id", groups=agency_ids_in_view),
                [
                    *_index_columns([AGENCY]),
                    Column("sector", "Sector"),
                    key_column("sector_key", "sector"),
                ],
                agency_labels,
            )
        )
        found.add(
            _rate_table(
                "return_rates_sector",
                "Return rates by sector",
                agg.return_rates(returns, by="sector_key", groups=list(sector_labels)),
                [Column("sector", "Sector"), key_column("sector_key", "sector")],
                sector_labels,
            )
        )
        found.charts["return_rates"] = [
            (row["agency"], row["rate"], row["returned"], row["expected"])
            for row in found.tables["return_rates_agency"].rows
        ]
    found.extra["totals"] = {
        # a purged round's cases are counted from what it kept (case_audits.retention)
        "cases": int(returns["case"].nunique()) + q.kept_cases(round_.id, agency_ids, filters),
        "expected": len(returns),
        "returned": int(returns["status"].isin(agg.RETURNED).sum()),
        "declined": int(returns["status"].isin(agg.DECLINED).sum()),
    }

    # Grade distributions
    levels = q.scale_levels(sorted({int(s) for s in questions["scale_id"].dropna()}))
    counts = agg.with_labels(q.round_answer_counts(round_.id, agency_ids, filters), levels)
    grade_ids = set(grade_questions["scale_id"])
    grade_levels = levels[levels["scale_id"].isin(grade_ids)] if grade_ids else levels.iloc[0:0]
    scale = _scale(grade_levels.drop_duplicates("label"))
    found.extra["scale"] = scale
    grade_key_of = dict(zip(grade_questions["question_key"], grade_questions["grade_key"], strict=True))
    grade_counts = counts[counts["question_key"].isin(grade_key_of)].assign(
        question_key=lambda f: f["question_key"].map(grade_key_of)
    )
    if summary_part:
        overall = agg.grade_distribution(grade_counts, grade_keys, scale.labels, good=scale.good)
        found.add(
            Table(
                "grades",
                f"Grades given by agencies, by section ({whose})",
                _grade_columns(scale, _index_columns([SECTION])),
                _grade_rows(overall, scale, [(SECTION, names)]),
            )
        )
        found.charts["grades"] = [
            (names[key], [(label, int(overall.loc[key, label])) for label in scale.labels]) for key in grade_keys
        ]
        # Every rated question
        found.add(_question_table(questions, levels, counts, whose))
        _round_learning_themes(found, round_, agency_ids, filters, whose)
    if agencies_part:
        by_agency_grades = agg.grade_distribution(
            grade_counts, grade_keys, scale.labels, by="agency_id", groups=agency_ids_in_view, good=scale.good
        )
        found.add(
            Table(
                "grades_by_agency",
                "Grades given by each agency, by section",
                _grade_columns(scale, _index_columns([AGENCY, SECTION])),
                _grade_rows(by_agency_grades, scale, [(AGENCY, agency_names), (SECTION, names)]),
            )
        )

    # the panel's grades on the cases in view (an agency's own cases; a sector's)
    case_ids = None
    if agency_ids is not None or filters.sector:
        case_ids = sorted({int(v) for v in returns["round_case_id"].dropna()})
    if agency_ids is not None and not panel_shared(round_):
        case_ids = []
    found.extra["panel_shown"] = agency_ids is None or panel_shared(round_)
    panel = q.panel_grades([round_.id], filters, round_case_ids=case_ids)
    if summary_part:
        shown = agency_ids is None or panel_shared(round_)
        counted = _with_kept(panel, q.kept_panel_counts([round_.id], agency_ids, filters) if shown else None)
        panel_dist = agg.grade_distribution(
            counted.assign(question_key=counted["grade_key"], is_na=False), grade_keys, scale.labels, good=scale.good
        )
        found.add(
            Table(
                "panel_grades",
                "Multi-agency panel grades, by section",
                _grade_columns(scale, _index_columns([SECTION])),
                _grade_rows(panel_dist, scale, [(SECTION, names)]),
            )
        )
    if not agencies_part:
        return found
    # Agencies' own grades beside the multi-agency panel's
    agency_grades = q.round_agency_grades(round_.id, agency_ids, filters)
    graded = agency_grades[~agency_grades["is_na"].astype(bool)]
    differences = agg.grade_differences(graded, panel)
    found.add(_differences_table(differences, names))
    summary = agg.difference_summary(differences, agency_ids_in_view, by="agency_id")
    if (agency_ids is None or panel_shared(round_)) and not filters.active:
        summary = agg.with_kept_agreement(summary, q.kept_agreement(round_.id, agency_ids))
    found.charts["panel_agreement"] = [
        (agency_names[agency_id], [(VERDICTS[k], int(row[k])) for k in ("same", "higher", "lower")])
        for agency_id, row in summary.iterrows()
    ]
    found.add(
        Table(
            "panel_agreement",
            "How often each agency's grade matched the panel's",
            [
                *_index_columns([AGENCY]),
                Column("compared", "Grades compared", "count"),
                Column("same", "Same as the panel", "count"),
                Column("higher", "Agency graded higher", "count"),
                Column("lower", "Agency graded lower", "count"),
                Column("same_pct", "Same as the panel", "pct", of=("same", "compared"), empty="none compared"),
            ],
            [
                {
                    "agency": agency_names[agency_id],
                    "agency_id": int(agency_id),
                    **{k: int(row[k]) for k in ("compared", "same", "higher", "lower")},
                    "same_pct": _pct(int(row["same"]), int(row["compared"])),
                }
                for agency_id, row in summary.iterrows()
            ],
        )
    )
    return found


def _with_kept(live: pd.DataFrame, kept: pd.DataFrame | None) -> pd.DataFrame:
    """Live rows (one per grade) and a purged round's kept counts (``n`` each) in one frame to count."""
    if kept is None or kept.empty:
        return live
    if live.empty:
        return kept
    return pd.concat([live.assign(n=1), kept], ignore_index=True)


def theme_key(label: str) -> str:
    """A learning theme's stable key, from the option's text ("Voice of the child" -> ``voice_of_the_child``):
    the same theme ticked in different rounds and questionnaires has the same key."""
    return re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_") or "theme"


def _ticked(values: pd.Series) -> pd.Series:
    """Stored multiple-choice answers (JSON lists) as lists of the themes ticked."""
    return values.map(lambda v: [t for t in json.loads(v) if isinstance(t, str)] if v else [])


def _offered(options: pd.Series) -> list[str]:
    """The themes the rounds offered, each once, in the order the questionnaires list them."""
    themes: list[str] = []
    for listed in options:
        themes += [t for t in (listed or []) if t not in themes]
    return themes


def _theme_columns(first: list[Column]) -> list[Column]:
    return [
        Column("theme", "Learning theme"),
        key_column("theme_key", "theme"),
        *first,
        Column("ticked", "Returns ticking it", "count"),
        Column("ticked_pct", "Returns ticking it", "pct", of=("ticked", "answered"), empty="no themes ticked"),
        Column("cases", "Cases", "count"),
        Column("answered", "Returns that ticked any theme", "count"),
    ]


def _theme_row(theme: str, values: Any) -> dict[str, Any]:
    return {
        "theme": theme,
        "theme_key": theme_key(theme),
        "ticked": int(values["ticked"]),
        "ticked_pct": _none(values["ticked_pct"]),
        "cases": int(values["cases"]),
        "answered": int(values["answered"]),
    }


def _round_learning_themes(
    found: Findings, round_: Round, agency_ids: frozenset[int] | None, filters: Filters, whose: str
) -> None:
    """The learning themes ticked in a round's returns: one row per theme the questionnaire offers."""
    offered = q.learning_theme_rounds([round_.partnership_id], None, round_ids=[round_.id])
    if offered.empty:
        return  # the questionnaire asks for no learning themes
    themes = _offered(offered["options"])
    answers = q.round_learning_themes(round_.id, agency_ids, filters)
    table = agg.learning_themes(answers.assign(ticked=_ticked(answers["value"])), themes, [round_.id])
    table = agg.with_kept_themes(table, q.kept_learning_themes([round_.id], agency_ids, filters))
    rows = [_theme_row(theme, table.loc[(theme, round_.id)]) for theme in themes]
    found.add(Table("learning_themes", f"Learning themes ticked ({whose})", _theme_columns([]), rows))
    found.charts["learning_themes"] = [
        (row["theme"], row["ticked_pct"], f"{row['ticked']} of {row['answered']} returns") for row in rows
    ]


def learning_themes(
    partnership_ids: list[int], agency_ids: frozenset[int] | None = None, years: tuple[int, int] | None = None
) -> Findings:
    """The learning themes auditors ticked across rounds: each theme's count over every round in view, and
    round by round (every round that asks for them, oldest first)."""
    found = Findings()
    whose = "all agencies" if agency_ids is None else "your agency"
    rounds = q.learning_theme_rounds(partnership_ids, agency_ids, years)
    round_ids = rounds["round_id"].tolist()
    labels = {row.round_id: _round_label(row) for row in rounds.itertuples()}
    themes = _offered(rounds["options"])
    answers = q.learning_theme_answers(partnership_ids, agency_ids, years)
    answers = answers[answers["round_id"].isin(round_ids)]
    answers = answers.assign(ticked=_ticked(answers["value"]))
    kept = q.kept_learning_themes(round_ids, agency_ids)
    total = agg.with_kept_themes_total(agg.learning_themes_total(answers, themes), kept)
    found.add(
        Table(
            "learning_themes_overall",
            f"Learning themes ticked across rounds ({whose})",
            _theme_columns([]),
            [_theme_row(theme, total.loc[theme]) for theme in themes],
        )
    )
    by_round = agg.with_kept_themes(agg.learning_themes(answers, themes, round_ids), kept)
    found.add(
        Table(
            "learning_themes_by_round",
            "Learning themes ticked, by round",
            _theme_columns([Column("round", "Round"), key_column("round_id", "round")]),
            [
                {**_theme_row(theme, by_round.loc[(theme, round_id)]), "round": labels[round_id], "round_id": round_id}
                for theme in themes
                for round_id in round_ids
            ],
        )
    )
    found.extra["rounds"] = [labels[r] for r in round_ids]
    found.charts["learning_themes"] = [
        (
            theme,
            [
                (row["ticked_pct"], f"{row['ticked']} of {row['answered']}")
                for row in found.tables["learning_themes_by_round"].rows
                if row["theme"] == theme
            ],
        )
        for theme in themes
    ]
    return found


def _question_table(questions: pd.DataFrame, levels: pd.DataFrame, counts: pd.DataFrame, whose: str) -> Table:
    """One row per rated question, answered or not. Counts come summed per question and level at once."""
    totals = counts.groupby(["question_key", "label"])["n"].sum().to_dict() if len(counts) else {}
    na = counts[counts["is_na"].astype(bool)].groupby("question_key")["n"].sum().to_dict() if len(counts) else {}
    graded_levels = levels[~levels["is_na"].astype(bool)]
    labels_of = graded_levels.groupby("scale_id")["label"].apply(list).to_dict()
    values_of = {
        (row.scale_id, row.label): _value(row.value)
        for row in graded_levels[["scale_id", "label", "value"]].itertuples()
    }
    good_of = graded_levels[graded_levels["is_good"].astype(bool)].groupby("scale_id")["label"].apply(list).to_dict()
    rows = []
    for question in questions.itertuples():
        labels = labels_of.get(question.scale_id, [])
        good = good_of.get(question.scale_id, [])
        per_level = {label: int(totals.get((question.question_key, label), 0)) for label in labels}
        graded = sum(per_level.values())
        positive = sum(per_level[label] for label in good)
        rows.append(
            {
                "section": question.section,
                "section_key": question.section_key,
                "question": question.question,
                "question_key": question.question_key,
                "answers": [
                    LevelCount(label, n, values_of.get((question.scale_id, label))) for label, n in per_level.items()
                ],
                "good_label": " or ".join(good),
                "good_or_better": positive,
                "graded": graded,
                "not_applicable": int(na.get(question.question_key, 0)),
                "good_or_better_pct": _pct(positive, graded),
            }
        )
    return Table(
        "questions",
        f"Every rated question ({whose})",
        [
            Column("section", "Section"),
            key_column("section_key", "section"),
            Column("question", "Question"),
            key_column("question_key", "question"),
            Column("answers", "Answers by level", "levels"),
            Column("good_label", "Counted as positive"),
            Column("good_or_better", "Positive", "count"),
            Column("graded", "Rated", "count"),
            Column("not_applicable", "Not applicable", "count"),
            Column("good_or_better_pct", "Positive", "pct", of=("good_or_better", "graded")),
        ],
        rows,
    )


def _differences_table(differences: pd.DataFrame, names: dict[str, str]) -> Table:
    difference = differences["difference"]
    verdict_keys = np.select(
        [difference.isna(), difference > 0, difference < 0], ["no_panel_grade", "higher", "lower"], default="same"
    )
    panel_labels = differences["panel_label"].astype("object").where(differences["panel_label"].notna(), None)
    rows = [
        {
            "case": case,
            "round_case_id": _id(round_case_id),
            "grade": names.get(key, key),
            "section_key": key,
            "agency": agency,
            "agency_id": _id(agency_id),
            "agency_grade": label,
            "agency_grade_value": _value(value),
            "panel_grade": panel,
            "panel_grade_value": _value(panel_value),
            "verdict": VERDICTS[verdict],
            "verdict_key": str(verdict),
        }
        for case, round_case_id, key, agency, agency_id, label, value, panel, panel_value, verdict in zip(
            differences["case"],
            differences["round_case_id"],
            differences["grade_key"],
            differences["agency"],
            differences["agency_id"],
            differences["label"],
            differences["value"],
            panel_labels,
            differences["panel_value"],
            verdict_keys,
            strict=True,
        )
    ]
    return Table(
        "panel_vs_agency",
        "Each agency's grade beside the multi-agency panel's",
        [
            Column("case", "Case"),
            key_column("round_case_id", "case"),
            *_index_columns([SECTION, AGENCY]),
            Column("agency_grade", "Agency's grade"),
            key_column("agency_grade_value", "agency_grade"),
            Column("panel_grade", "Panel's grade"),
            key_column("panel_grade_value", "panel_grade"),
            Column("verdict", "Compared"),
            key_column("verdict_key", "verdict"),
        ],
        rows,
    )


def round_texts(round_: Round, agency_ids: frozenset[int] | None = None, filters: Filters = Filters()) -> Findings:
    """Every strength, area for development and recommendation written in returns (and, for the
    partnership-wide roles, agreed by the panel), collated by section and labelled with agency and case."""
    found = Findings()
    texts = q.round_texts(round_.id, agency_ids, filters)
    sections = q.round_sections(round_.questionnaire_version_id)
    rows = [
        {
            "section": row.section,
            "section_key": row.section_key,
            "kind": KIND_TITLES[row.kind],
            "kind_key": row.kind,
            "source": row.agency,
            "agency_id": _id(row.agency_id),
            "case": row.case or "",
            "round_case_id": _id(row.round_case_id),
            "text": row.text,
        }
        for row in texts.itertuples()
    ]
    if agency_ids is None:
        titles = dict(zip(sections["section_key"], sections["section"], strict=True))
        panel = q.panel_texts(round_.id, filters)
        for row in panel.itertuples():
            section = "Overall" if row.section_key == OVERALL and OVERALL not in titles else titles.get(row.section_key)
            if section is None:
                continue
            rows.append(
                {
                    "section": section,
                    "section_key": row.section_key,
                    "kind": KIND_TITLES[row.kind],
                    "kind_key": row.kind,
                    "source": PANEL,
                    "agency_id": None,  # written by the panel
                    "case": row.case,
                    "round_case_id": _id(row.round_case_id),
                    "text": row.text,
                }
            )
    order = {title: i for i, title in enumerate(sections["section"])}
    kinds = list(KIND_TITLES.values())
    rows.sort(
        key=lambda r: (
            order.get(r["section"], len(order)),
            kinds.index(r["kind"]),
            r["source"] == PANEL,
            r["case"],
            r["source"],
        )
    )
    found.add(
        Table(
            "texts",
            "Strengths, areas for development and recommendations",
            [
                Column("section", "Section"),
                key_column("section_key", "section"),
                Column("kind", "Kind"),
                key_column("kind_key", "kind"),
                Column("source", "Written by"),
                key_column("agency_id", "source"),
                Column("case", "Case"),
                key_column("round_case_id", "case"),
                Column("text", "Text"),
            ],
            rows,
        )
    )
    grouped: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for row in rows:
        grouped.setdefault(row["section"], {}).setdefault(row["kind"], []).append(row)
    found.extra["grouped"] = grouped
    return found


def reaudit(round_: Round) -> Findings:
    """For a round that re-audits an earlier one: each carried case's panel grades then and now,
    per section and overall, with counts of improved, same and worse, and the new cases apart."""
    found = Findings()
    _grade_questions, grade_keys, names = _graded_sections(q.round_questions(round_.questionnaire_version_id))
    cases = q.round_cases(round_.id)
    round_ids = [round_.id] + ([round_.previous_round_id] if round_.previous_round_id else [])
    grades = q.panel_grades(round_ids)
    now = grades[grades["round_id"] == round_.id]
    then = grades[grades["round_id"] == round_.previous_round_id]
    comparison = agg.reaudit_comparison(cases, now, then, grade_keys)
    summary = agg.change_summary(comparison, grade_keys)
    found.add(
        Table(
            "reaudit_summary",
            "Carried cases: change in the panel's grade, by section",
            [
                *_index_columns([SECTION]),
                Column(agg.IMPROVED, agg.IMPROVED, "count"),
                Column(agg.SAME, agg.SAME, "count"),
                Column(agg.WORSE, agg.WORSE, "count"),
                Column(agg.NOT_COMPARED, agg.NOT_COMPARED, "count"),
                Column("compared", "Compared", "count"),
                Column("improved_pct", "Improved", "pct", of=(agg.IMPROVED, "compared"), empty="none compared"),
            ],
            [
                {
                    "grade": names[key],
                    "section_key": key,
                    **{k: int(row[k]) for k in (agg.IMPROVED, agg.SAME, agg.WORSE, agg.NOT_COMPARED, "compared")},
                    "improved_pct": _pct(int(row[agg.IMPROVED]), int(row["compared"])),
                }
                for key, row in summary.iterrows()
            ],
        )
    )
    found.add(
        Table(
            "reaudit_cases",
            "Carried cases: panel grades then and now",
            [
                Column("case", "Case"),
                key_column("round_case_id", "case"),
                *_index_columns([SECTION]),
                Column("then", "Then"),
                key_column("then_value", "then"),
                Column("now", "Now"),
                key_column("now_value", "now"),
                Column("change", "Change"),
                key_column("change_key", "change"),
            ],
            [
                {
                    "case": row.case,
                    "round_case_id": _id(row.round_case_id),
                    "grade": names[row.grade_key],
                    "section_key": row.grade_key,
                    "then": _none(row.then_label) or "Not graded",
                    "then_value": _value(row.then_value),
                    "now": _none(row.now_label) or "Not graded",
                    "now_value": _value(row.now_value),
                    "change": row.change,
                    "change_key": CHANGE_KEYS[row.change],
                }
                for row in comparison.itertuples()
            ],
        )
    )
    new = cases[cases["previous_round_case_id"].isna()]
    overall_now = now[now["grade_key"] == OVERALL].set_index("round_case_id")
    overall_label, overall_value = overall_now["label"], overall_now["value"]
    found.add(
        Table(
            "reaudit_new_cases",
            "New cases (not in the earlier round)",
            [
                Column("case", "Case"),
                key_column("round_case_id", "case"),
                Column("plan_type", "Plan type"),
                Column("age_band", "Age band"),
                Column("overall", "Panel's overall grade"),
                key_column("overall_value", "overall"),
            ],
            [
                {
                    "case": row.case,
                    "round_case_id": _id(row.round_case_id),
                    "plan_type": row.plan_type,
                    "age_band": row.age_band,
                    "overall": overall_label.get(row.round_case_id, "Not graded"),
                    "overall_value": _value(overall_value.get(row.round_case_id)),
                }
                for row in new.itertuples()
            ],
        )
    )
    found.extra["carried"] = int(cases["previous_round_case_id"].notna().sum())
    found.extra["new"] = len(new)
    found.charts["reaudit"] = [
        (names[key], [(label, int(row[label])) for label in (agg.IMPROVED, agg.SAME, agg.WORSE)])
        for key, row in summary.iterrows()
    ]
    return found


def _round_label(row: Any) -> str:
    when = row.opens_on or (row.created_at.date() if row.created_at is not None else None)
    return f"{row.title} ({when:%b %Y})" if when else row.title


def _agency_names(counts: pd.DataFrame) -> dict[int, str]:
    """The agencies in ``counts`` (``agency_id``, ``agency``), id -> name, in order of name."""
    pairs = {(int(i), name) for i, name in zip(counts["agency_id"], counts["agency"], strict=True)}
    return dict(sorted(pairs, key=lambda pair: (pair[1], pair[0])))


def theme_trend(partnership_id: int, theme_id: int, agency_ids: frozenset[int] | None = None) -> Findings:
    """For a theme: the overall grades agencies gave, by round over the years, overall and by agency."""
    found = Findings()
    rounds = q.theme_rounds(partnership_id, theme_id, agency_ids)
    round_ids = rounds["round_id"].tolist()
    labels = {row.round_id: _round_label(row) for row in rounds.itertuples()}
    levels = q.scale_levels(q.overall_grade_scale_ids([partnership_id]))
    scale = _scale(levels.drop_duplicates("label"))
    counts = agg.with_labels(q.theme_grade_counts(partnership_id, theme_id, agency_ids), levels)
    agency_names = _agency_names(counts)
    agencies = list(agency_names)
    by_agency = agg.trend(counts, round_ids, scale.labels, by="agency_id", groups=agencies, good=scale.good)
    overall = agg.total_over(by_agency, "round_id", round_ids, scale.labels)
    found.add(
        Table(
            "trend",
            f"Overall grades by round ({'all agencies' if agency_ids is None else 'your agency'})",
            _grade_columns(scale, _index_columns([ROUND])),
            _grade_rows(overall, scale, [(ROUND, labels)]),
        )
    )
    found.add(
        Table(
            "trend_by_agency",
            "Overall grades by round and agency",
            _grade_columns(scale, _index_columns([AGENCY, ROUND])),
            _grade_rows(by_agency, scale, [(AGENCY, agency_names), (ROUND, labels)]) if agencies else [],
        )
    )
    # Shares where nothing was graded stay missing, not 0 %
    for row in found.tables["trend_by_agency"].rows:
        if not row["graded"]:
            row["good_or_better_pct"] = None
    # The overall grades the multi-agency panel agreed, beside the agencies' own: for an agency, on its own
    # cases in the rounds that share the panel's grades with agencies (as on a round's findings)
    panel_rounds, case_ids = round_ids, None
    if agency_ids is not None:
        shown = rounds["shares_answers"].astype(bool) & rounds["status"].isin(
            [RoundStatus.IN_DISCUSSION.value, RoundStatus.REPORTED.value]
        )
        panel_rounds = rounds.loc[shown, "round_id"].tolist()
        case_ids = q.agency_round_cases(panel_rounds, agency_ids)
    panel = q.panel_grades(panel_rounds, round_case_ids=case_ids)
    panel = _with_kept(panel, q.kept_panel_counts(panel_rounds, agency_ids))
    panel = panel[panel["grade_key"] == OVERALL].assign(is_na=False)
    panel_trend = agg.trend(panel, round_ids, scale.labels, good=scale.good)
    found.add(
        Table(
            "trend_panel",
            "Overall grades the multi-agency panel agreed, by round",
            _grade_columns(scale, _index_columns([ROUND])),
            _grade_rows(panel_trend, scale, [(ROUND, labels)]),
        )
    )
    found.extra["panel_rounds"] = len(panel_rounds)
    found.extra["scale"] = scale
    return found


def agency_theme(
    partnership_ids: list[int], agency_ids: frozenset[int] | None = None, years: tuple[int, int] | None = None
) -> Findings:
    """Agency by theme across rounds and years: overall grades graded and the share good or better."""
    found = Findings()
    levels = q.scale_levels(q.overall_grade_scale_ids(partnership_ids))
    scale = _scale(levels.drop_duplicates("label"))
    counts = agg.with_labels(q.agency_theme_counts(partnership_ids, agency_ids, years), levels)
    agency_names = _agency_names(counts)
    theme_names = dict(sorted({(int(i), n) for i, n in zip(counts["theme_id"], counts["theme"], strict=True)}))
    themes = sorted(theme_names, key=lambda i: (theme_names[i], i))
    agencies = list(agency_names)
    table = agg.agency_theme_table(
        counts.drop(columns=["agency", "theme"]).rename(columns={"agency_id": "agency", "theme_id": "theme"}),
        scale.labels,
        agencies,
        themes,
        good=scale.good,
    )
    columns = _index_columns([AGENCY])
    rows = []
    for theme_id in themes:
        # columns are keyed by the theme's id (its name can change); the headings carry the name
        name, key, meta = theme_names[theme_id], f"theme_{theme_id}", (("theme_id", theme_id),)
        columns += [
            Column(f"{key}_good", f"{name}: good or better", "count", meta=meta),
            Column(f"{key}_graded", f"{name}: graded", "count", meta=meta),
            Column(f"{key}_pct", f"{name}", "pct", of=(f"{key}_good", f"{key}_graded"), meta=meta),
        ]
    for agency_id in agencies:
        row: dict[str, Any] = {"agency": agency_names[agency_id], "agency_id": agency_id}
        for theme_id in themes:
            values = table.loc[(agency_id, theme_id)]
            row[f"theme_{theme_id}_good"] = int(values["good_or_better"])
            row[f"theme_{theme_id}_graded"] = int(values["graded"])
            row[f"theme_{theme_id}_pct"] = _none(values["good_or_better_pct"])
        rows.append(row)
    found.add(Table("agency_theme", "Overall grades good or better, by agency and theme", columns, rows))
    found.extra["themes"] = [theme_names[i] for i in themes]
    found.extra["scale"] = scale
    return found
