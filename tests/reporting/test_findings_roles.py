"""Findings read roles and level flags, never key endings or labels.

The same known rounds as tests/reporting/test_findings.py, built from a questionnaire
whose keys say nothing (roles given in the file) and with a decoy whose key
ends in ``_grade`` but has no role: the figures come out as the oracle says.
"""

from __future__ import annotations

import copy

import pytest
import sqlalchemy as sa

from audit_app.extensions import db
from audit_app.questionnaires.models import Scale, ScaleLevel
from audit_app.reporting import findings as f
from tests.reporting import test_findings as tf

known = tf.known  # the same known rounds

#: original key -> (new key, role)
RENAMED = {
    "recognition_grade": ("recognition_verdict", "grade"),
    "recognition_good_practice": ("what_worked", "strengths"),
    "recognition_development": ("what_to_improve", "development"),
    "recognition_recommendations": ("what_next", "recommendation"),
    "impact_grade": ("impact_judged", "grade"),
    # a rated question, not a grade, whatever its key says
    "impact_outcome": ("impact_outcome_grade", "none"),
}


@pytest.fixture()
def renamed(world, monkeypatch):
    spec = copy.deepcopy(tf.SPEC)
    for section in spec["sections"]:
        for question in section["questions"]:
            if question["key"] in RENAMED:
                question["key"], question["role"] = RENAMED[question["key"]]
            elif question["key"] == "overall_grade":
                question["role"] = "overall_grade"
    original = tf.answers
    monkeypatch.setattr(tf, "SPEC", spec)
    monkeypatch.setattr(
        tf, "answers", lambda agency, i: {RENAMED.get(k, (k,))[0]: v for k, v in original(agency, i).items()}
    )
    return tf.build(world)


def test_grades_and_texts_come_from_roles(renamed):
    found = f.round_findings(renamed.b)
    grades = tf.rows_by(found.tables["grades"], "grade")
    assert list(grades) == ["Recognition", "Impact", "Overall"]  # the decoy is no grade
    for grade, question in (
        ("Recognition", "recognition_verdict"),
        ("Impact", "impact_judged"),
        ("Overall", "overall_grade"),
    ):
        expected = tf.given(question)
        assert [grades[grade][level] for level in tf.LEVELS] == [expected[level] for level in tf.LEVELS]
        assert grades[grade]["good_or_better"] == expected["Outstanding"] + expected["Good"]
    assert grades["Recognition"]["graded"] == 32
    texts = f.round_texts(renamed.b).tables["texts"].rows
    police = [r["text"] for r in texts if r["source"] == "North Police" and r["kind"] == "Strengths"]
    assert police == [f"Police strength {i}" for i in range(1, 19)]
    assert {r["kind"] for r in texts} == {"Strengths", "Areas for development", "Recommendations"}


def test_good_or_better_counts_the_flagged_levels(known):
    # Flag Partly as good too on the built-in Yes / Partly / No scale (rolled back after the test).
    partly = db.session.scalar(
        sa.select(ScaleLevel).join(Scale).where(Scale.key == "yes_partly_no", ScaleLevel.label == "Partly")
    )
    partly.counts_as_good = True
    db.session.flush()
    row = tf.rows_by(f.round_findings(known.b).tables["questions"], "question")["Signs recognised?"]
    signs = tf.given("recognition_signs")
    assert row["good_label"] == "Yes or Partly"
    assert row["good_or_better"] == signs["Yes"] + signs["Partly"]


def test_good_or_better_title_follows_the_flags():
    assert f.good_title(["Outstanding", "Good", "RI", "Inadequate"], ["Outstanding", "Good"]) == "Good or better"
    assert f.good_title(["Fully met", "Partly met", "Not met"], ["Fully met"]) == "Fully met"
    assert f.good_title(["High", "Medium", "Low"], ["High", "Low"]) == "High or Low"
