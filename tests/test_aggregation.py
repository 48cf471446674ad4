"""Round findings figures from hand-built frames: no database, every number checked."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pandas.testing as pdt

from audit_app.reporting.aggregation import grade_differences, grade_distribution, return_rates

LEVELS = ["Outstanding", "Good", "Requires improvement", "Inadequate"]


def test_return_rates_with_and_without_declined():
    returns = pd.DataFrame(
        {
            "agency": ["Police"] * 5 + ["Health"] * 4 + ["School"] * 2,
            "status": [
                "accepted",
                "submitted",
                "in_progress",
                "declined",
                "not_started",
                "accepted",
                "accepted",
                "declined",
                "declined",
                "not_started",
                "in_progress",
            ],
        }
    )
    table = return_rates(returns, by="agency", groups=["Health", "Police", "School", "Youth Justice"])
    assert table.loc["Police", ["expected", "returned", "declined", "outstanding"]].tolist() == [5, 2, 1, 2]
    assert table.loc["Police", "rate"] == 40.0
    assert table.loc["Police", "rate_excluding_declined"] == 50.0
    assert table.loc["Health", "rate"] == 50.0 and table.loc["Health", "rate_excluding_declined"] == 100.0
    assert table.loc["School", "rate"] == 0.0
    # A group with no returns at all is listed, with no rate rather than 0 %.
    assert table.loc["Youth Justice", "expected"] == 0
    assert np.isnan(table.loc["Youth Justice", "rate"])


def test_grade_distribution_never_counts_na_or_missing_as_zero():
    answers = pd.DataFrame(
        {
            "question_key": ["q1", "q1", "q1", "q1", "q2", "q2"],
            "label": ["Good", "Good", "Inadequate", "Not applicable", "Outstanding", "Requires improvement"],
            "is_na": [False, False, False, True, False, False],
        }
    )
    table = grade_distribution(answers, questions=["q1", "q2", "q3"], levels=LEVELS)
    expected = pd.DataFrame(
        {
            "Outstanding": [0, 1, 0],
            "Good": [2, 0, 0],
            "Requires improvement": [0, 1, 0],
            "Inadequate": [1, 0, 0],
            "not_applicable": [1, 0, 0],
            "graded": [3, 2, 0],
            "good_or_better": [2, 1, 0],
            "good_or_better_pct": [200 / 3, 50.0, np.nan],
        },
        index=pd.Index(["q1", "q2", "q3"], name="question_key"),
    )
    pdt.assert_frame_equal(table, expected, check_names=False, check_dtype=False)


def test_grade_distribution_by_agency_lists_every_question_for_every_agency():
    answers = pd.DataFrame(
        {
            "agency": ["Police", "Police", "Health"],
            "question_key": ["q1", "q2", "q1"],
            "label": ["Good", "Inadequate", "Outstanding"],
            "is_na": [False, False, False],
        }
    )
    table = grade_distribution(answers, questions=["q1", "q2"], levels=LEVELS, by="agency")
    assert list(table.index) == [("Health", "q1"), ("Health", "q2"), ("Police", "q1"), ("Police", "q2")]
    assert table.loc[("Health", "q2"), "graded"] == 0
    assert np.isnan(table.loc[("Health", "q2"), "good_or_better_pct"])
    assert table.loc[("Police", "q1"), "good_or_better_pct"] == 100.0


def test_agency_grades_beside_the_panel_grade():
    agency = pd.DataFrame(
        {
            "case": ["C1", "C1", "C2"],
            "section_key": ["s1", "s1", "s1"],
            "agency": ["Police", "Health", "Police"],
            "label": ["Good", "Inadequate", "Good"],
            "value": [3, 1, 3],
        }
    )
    panel = pd.DataFrame({"case": ["C1"], "section_key": ["s1"], "label": ["Requires improvement"], "value": [2]})
    table = grade_differences(agency, panel)
    assert table["difference"].tolist()[:2] == [1.0, -1.0]
    assert table["differs"].tolist()[:2] == [True, True]
    assert table["differs"].isna().tolist() == [False, False, True]  # no panel grade yet for C2


def test_queries_feed_the_aggregation_from_a_real_round(world):
    """A small round with known answers, through the database and back as figures."""
    from audit_app.audits import services
    from audit_app.audits.models import RoundStatus
    from audit_app.extensions import db
    from audit_app.questionnaires import services as questionnaires
    from audit_app.reporting.queries import round_returns, round_scale_answers

    from .test_questionnaire_spec import EXAMPLE

    version = questionnaires.import_questionnaire(world.partnership.id, EXAMPLE, publish=True)
    round_ = services.plan_round(world.partnership.id, title="Known", version=version, opens_on=None, due_on=None)
    services.add_case(round_, agency_ids=[world.police.agency_id, world.health.agency_id], reference="CS-1")
    services.add_case(round_, agency_ids=[world.police.agency_id], reference="CS-2")
    services.move_round(round_, RoundStatus.OPEN)
    by_key = {}
    import sqlalchemy as sa

    from audit_app.audits.models import Return

    for ret in db.session.scalars(sa.select(Return).where(Return.round_id == round_.id)):
        by_key[(ret.round_case.case.reference, ret.agency.name)] = ret
    lead = world.user("agency_lead")
    given = {
        ("CS-1", "North Police"): {"signs_recognised": "Yes", "recognition_grade": "Good"},
        ("CS-1", "North Hospital"): {"signs_recognised": "Not applicable", "recognition_grade": "Inadequate"},
        ("CS-2", "North Police"): {"signs_recognised": "No", "recognition_grade": "Good"},
    }
    for key, answers in given.items():
        services.save_answers(by_key[key], answers, by=lead, expected_version=by_key[key].lock_version)
    services.submit_return(by_key[("CS-1", "North Police")], by=lead, as_lead=True)
    services.decline_return(by_key[("CS-2", "North Police")], by=lead, reason="No involvement")
    db.session.commit()

    rates = return_rates(round_returns(round_.id), by="agency", groups=["North Hospital", "North Police"])
    assert rates.loc["North Police", ["expected", "returned", "declined"]].tolist() == [2, 1, 1]
    assert rates.loc["North Police", "rate_excluding_declined"] == 100.0
    assert rates.loc["North Hospital", "returned"] == 0

    answers = round_scale_answers(round_.id)
    grades = grade_distribution(answers, questions=["recognition_grade", "impact_rating"], levels=LEVELS)
    assert grades.loc["recognition_grade", ["Good", "Inadequate", "graded"]].tolist() == [2, 1, 3]
    assert round(grades.loc["recognition_grade", "good_or_better_pct"], 2) == 66.67
    assert grades.loc["impact_rating", "graded"] == 0  # nobody answered it: listed, not dropped
    yes_no = grade_distribution(answers, questions=["signs_recognised"], levels=["Yes", "Partly", "No"])
    assert yes_no.loc["signs_recognised", ["Yes", "No", "not_applicable", "graded"]].tolist() == [1, 1, 1, 2]
