"""The self-assessment figures on hand-built frames, without a database: heatmap cells, Not met / Partly met by
standard and sector, change since last round; N/A and unanswered apart, declined and alternative returns not
counted, moderation beside the agency's own rating, sector-specific criteria."""

from __future__ import annotations

import pandas as pd
import pytest

from audit_app.reporting import sa_aggregation as agg

FULLY, PARTLY, NOT, NA = 1, 2, 3, 4
LEVELS = pd.DataFrame(
    [
        {"level_id": FULLY, "position": 0, "label": "Fully met", "value": 3.0, "is_na": False, "is_good": True},
        {"level_id": PARTLY, "position": 1, "label": "Partly met", "value": 2.0, "is_na": False, "is_good": False},
        {"level_id": NOT, "position": 2, "label": "Not met", "value": 1.0, "is_na": False, "is_good": False},
        {"level_id": NA, "position": 3, "label": "Not applicable", "value": None, "is_na": True, "is_good": False},
    ]
)
LEVEL_IDS = [FULLY, PARTLY, NOT, NA]
# two standards: lead has 3 criteria (the third for schools only), training has 1
CRITERIA = pd.DataFrame(
    [
        {
            "question_id": 11,
            "question_key": "lead_a",
            "section_key": "lead",
            "section": "Leadership",
            "section_position": 0,
            "position": 0,
        },
        {
            "question_id": 12,
            "question_key": "lead_b",
            "section_key": "lead",
            "section": "Leadership",
            "section_position": 0,
            "position": 1,
        },
        {
            "question_id": 13,
            "question_key": "lead_school",
            "section_key": "lead",
            "section": "Leadership",
            "section_position": 0,
            "position": 2,
        },
        {
            "question_id": 21,
            "question_key": "train_a",
            "section_key": "train",
            "section": "Training",
            "section_position": 1,
            "position": 0,
        },
    ]
)
RETURNS = pd.DataFrame(
    [
        {
            "return_id": 1,
            "agency_id": 100,
            "agency": "Police",
            "sector_key": "police",
            "sector": "Police",
            "status": "submitted",
        },
        {
            "return_id": 2,
            "agency_id": 200,
            "agency": "School A",
            "sector_key": "education",
            "sector": "Education",
            "status": "accepted",
        },
        {
            "return_id": 3,
            "agency_id": 300,
            "agency": "School B",
            "sector_key": "education",
            "sector": "Education",
            "status": "declined",
        },
        {
            "return_id": 4,
            "agency_id": 400,
            "agency": "School C",
            "sector_key": "education",
            "sector": "Education",
            "status": "alternative_template",
        },
        {
            "return_id": 5,
            "agency_id": 500,
            "agency": "Hospital",
            "sector_key": "health",
            "sector": "Health",
            "status": "in_progress",
        },
    ]
)
N = None
CELLS = pd.DataFrame(
    [
        # police: lead_a Partly (moderated to Not met), lead_b unanswered, train_a N/A; not asked lead_school
        {"return_id": 1, "question_id": 11, "self_level_id": PARTLY, "moderated_level_id": NOT},
        {"return_id": 1, "question_id": 12, "self_level_id": N, "moderated_level_id": N},
        {"return_id": 1, "question_id": 21, "self_level_id": NA, "moderated_level_id": N},
        # school A: lead_a Fully, lead_b Not met, lead_school Partly (moderated to Fully), train_a Fully
        {"return_id": 2, "question_id": 11, "self_level_id": FULLY, "moderated_level_id": N},
        {"return_id": 2, "question_id": 12, "self_level_id": NOT, "moderated_level_id": NOT},
        {"return_id": 2, "question_id": 13, "self_level_id": PARTLY, "moderated_level_id": FULLY},
        {"return_id": 2, "question_id": 21, "self_level_id": FULLY, "moderated_level_id": N},
        # the declined school had answered before declining: never counted
        {"return_id": 3, "question_id": 11, "self_level_id": NOT, "moderated_level_id": N},
        {"return_id": 5, "question_id": 11, "self_level_id": NOT, "moderated_level_id": N},
    ]
)


@pytest.fixture()
def rated():
    return agg.rated_cells(CELLS, RETURNS, CRITERIA, LEVELS)


def _agencies():
    r = agg.returned(RETURNS)
    return r[["agency_id", "agency", "sector_key", "sector"]]


def test_only_submitted_and_accepted_returns_are_counted(rated):
    assert set(rated["return_id"]) == {1, 2}
    assert list(agg.returned(RETURNS)["agency"]) == ["Police", "School A"]


def test_the_moderated_rating_falls_back_to_the_agencys_own_and_both_are_kept(rated):
    police = rated[rated["return_id"] == 1].set_index("question_key")
    assert police.loc["lead_a", "self_level_id"] == PARTLY and police.loc["lead_a", "final_level_id"] == NOT
    assert bool(police.loc["lead_a", "is_moderated"])
    assert police.loc["train_a", "final_level_id"] == NA and not police.loc["train_a", "is_moderated"]
    assert police.loc["lead_b", "self_state"] == "unanswered" and police.loc["train_a", "self_state"] == "na"
    school = rated[rated["return_id"] == 2].set_index("question_key")
    # the same level set again by a moderator is not a change
    assert not school.loc["lead_b", "is_moderated"]


def test_heatmap_cells(rated):
    table = agg.heatmap(rated, _agencies(), ["lead", "train"], LEVEL_IDS).set_index(["agency", "section_key"])
    police_lead = table.loc[("Police", "lead")]
    assert police_lead["criteria"] == 2  # the schools-only criterion is not asked of police
    assert (police_lead["self_rated"], police_lead["self_unanswered"], police_lead["self_na"]) == (1, 1, 0)
    assert (police_lead[f"self_{PARTLY}"], police_lead[f"self_{NOT}"], police_lead["self_below_good"]) == (1, 0, 1)
    assert police_lead["self_below_good_pct"] == 100
    assert (police_lead[f"moderated_{PARTLY}"], police_lead[f"moderated_{NOT}"]) == (0, 1)
    assert police_lead["moderated_changed"] == 1
    police_train = table.loc[("Police", "train")]
    # only N/A: nothing rated, a missing share (never 0%)
    assert police_train["self_rated"] == 0 and police_train["self_na"] == 1
    assert pd.isna(police_train["self_below_good_pct"]) and agg.band(police_train["self_below_good_pct"]) == "none"
    school_lead = table.loc[("School A", "lead")]
    assert school_lead["criteria"] == 3 and school_lead["self_rated"] == 3
    assert (school_lead[f"self_{FULLY}"], school_lead[f"self_{PARTLY}"], school_lead[f"self_{NOT}"]) == (1, 1, 1)
    assert school_lead["self_below_good_pct"] == pytest.approx(200 / 3)
    assert (school_lead[f"moderated_{FULLY}"], school_lead["moderated_below_good"]) == (2, 1)
    assert table.loc[("School A", "train")]["self_below_good_pct"] == 0
    # every returned agency and standard, nothing for the declined or the one still in progress
    assert len(table) == 4


def test_a_standard_not_asked_of_an_agency_is_kept_as_not_asked():
    cells = CELLS[CELLS["question_id"] != 21]
    table = agg.heatmap(agg.rated_cells(cells, RETURNS, CRITERIA, LEVELS), _agencies(), ["lead", "train"], LEVEL_IDS)
    row = table.set_index(["agency", "section_key"]).loc[("Police", "train")]
    assert row["criteria"] == 0 and pd.isna(row["self_below_good_pct"])


def test_not_met_and_partly_met_by_standard_and_sector(rated):
    table = agg.below_good_by_sector(rated, ["lead", "train"], ["education", "police"], LEVEL_IDS)
    table = table.set_index(["section_key", "sector_key"])
    education = table.loc[("lead", "education")]
    assert (education["agencies"], education[f"self_{PARTLY}"], education[f"self_{NOT}"]) == (1, 1, 1)
    assert (education[f"moderated_{PARTLY}"], education[f"moderated_{NOT}"]) == (0, 1)
    every = table.loc[("lead", agg.ALL_SECTORS)]
    assert (every["agencies"], every["self_rated"], every["self_below_good"], every["moderated_below_good"]) == (
        2,
        4,
        3,
        2,
    )
    assert every["self_unanswered"] == 1
    assert table.loc[("train", "police")]["self_rated"] == 0


def test_empty_round_gives_every_group_with_zero_counts_and_missing_shares():
    empty = agg.rated_cells(CELLS.iloc[0:0], RETURNS, CRITERIA, LEVELS)
    table = agg.below_good_by_sector(empty, ["lead"], ["police"], LEVEL_IDS)
    assert len(table) == 2 and table["self_rated"].tolist() == [0, 0] and table["self_below_good_pct"].isna().all()


def test_change_since_last_round(rated):
    previous = pd.DataFrame(
        [
            # police lead_a was Not met (final now Not met after moderation): same
            {
                "agency_id": 100,
                "question_key": "lead_a",
                "self_value": 1.0,
                "self_na": False,
                "moderated_value": None,
                "moderated_na": None,
            },
            # school A lead_a was Partly: now Fully, better
            {
                "agency_id": 200,
                "question_key": "lead_a",
                "self_value": 2.0,
                "self_na": False,
                "moderated_value": None,
                "moderated_na": None,
            },
            # school A lead_b was self Fully but moderated to Partly: now Not met, worse
            {
                "agency_id": 200,
                "question_key": "lead_b",
                "self_value": 3.0,
                "self_na": False,
                "moderated_value": 2.0,
                "moderated_na": False,
            },
            # school A train_a was N/A: now Fully, new
            {
                "agency_id": 200,
                "question_key": "train_a",
                "self_value": None,
                "self_na": True,
                "moderated_value": None,
                "moderated_na": None,
            },
            # police train_a was Partly, now N/A: rated then, not now
            {
                "agency_id": 100,
                "question_key": "train_a",
                "self_value": 2.0,
                "self_na": False,
                "moderated_value": None,
                "moderated_na": None,
            },
            # a question no longer asked: ignored
            {
                "agency_id": 200,
                "question_key": "gone",
                "self_value": 1.0,
                "self_na": False,
                "moderated_value": None,
                "moderated_na": None,
            },
        ]
    )
    compared = agg.compare_ratings(rated, previous).set_index(["agency_id", "question_key"])["change"]
    assert compared[(100, "lead_a")] == agg.SAME
    assert compared[(200, "lead_a")] == agg.BETTER
    assert compared[(200, "lead_b")] == agg.WORSE
    assert compared[(200, "train_a")] == agg.NEW
    assert compared[(100, "train_a")] == agg.NOT_RATED_NOW
    # school A's schools-only criterion had no answer last round: new
    assert compared[(200, "lead_school")] == agg.NEW
    assert (100, "lead_b") not in compared.index  # unanswered now and never rated
    summary = agg.change_summary(agg.compare_ratings(rated, previous), _agencies(), ["lead", "train"])
    school = summary.set_index(["agency", "section_key"]).loc[("School A", "lead")]
    assert (school["better"], school["same"], school["worse"], school["new"]) == (1, 0, 1, 1)
    assert summary.set_index(["agency", "section_key"]).loc[("Police", "train")]["not_rated_now"] == 1


def test_bands():
    assert [agg.band(v) for v in (None, 0, 10, 25, 40, 50, 60, 100)] == [
        "none",
        "all_good",
        "some",
        "some",
        "many",
        "many",
        "most",
        "most",
    ]
